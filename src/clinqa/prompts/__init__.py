"""Every prompt in clinqa, in one place: the paper's (medpalm2.py: few-shot, CoT, ER, log-likelihood, long-form) and
other harnesses' protocols (lmeval.py, simple_evals.py), each a `Protocol` (protocol.py) chosen by name."""

from __future__ import annotations

from clinqa.prompts.lmeval import LMEvalProtocol
from clinqa.prompts.medpalm2 import (ANSWER_LEAD, BIAS_INSTRUCTION, COT_INSTRUCTION, COT_LEAD, ER_SUFFIX,  # noqa: F401
                                     FEWSHOT_INSTRUCTION, LONGFORM_AUDIENCE, STOP, MedPaLM2Protocol, cot_prompt,
                                     er_prompt, fewshot_prompt, format_question, loglik_context, longform_prompt)
from clinqa.prompts.protocol import Protocol, ProtocolError
from clinqa.prompts.simple_evals import SimpleEvalsProtocol

PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (MedPaLM2Protocol(), LMEvalProtocol(), SimpleEvalsProtocol())}


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise ProtocolError(f"unknown protocol {name!r}; one of {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]
