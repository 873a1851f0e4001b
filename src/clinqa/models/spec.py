"""A model string parsed once: `ModelSpec.parse("llamacpp:smollm2-135m-instruct?threads=2")` gives the backend
(`llamacpp`), the target (a path, hub id, embedded name, or `model@base_url`) and its options. Every place that needs
to know what a model string means asks the spec: which backend serves it (the `BACKENDS` registry, read without
importing the engine), its identity in a run (options that do not change results, such as CPU threads, left out), and
its options checked in one place.

Forms: `openai:<model>[@<base_url>]`, `llamacpp:<gguf or embedded name>[?threads=N&seqs=N]`,
`vllm:<model>[?tp=N&dp=N&dtype=...]`, `random:<size>`, `hf:<id or path>`, or a bare embedded name, path or hub id
(the hf backend).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from urllib.parse import parse_qs

# backend -> the class that serves it, as "module:Class" (imported only when asked: engines are optional extras)
BACKENDS = {
    "hf": "clinqa.models.hf:HFBackend",
    "random": "clinqa.models.hf:HFBackend",
    "openai": "clinqa.models.openai_backend:OpenAIBackend",
    "llamacpp": "clinqa.models.llamacpp:LlamaCppBackend",
    "vllm": "clinqa.models.vllm_backend:VLLMBackend",
}
OPTIONS = {"llamacpp": ("threads", "seqs")}          # whole-number options checked here; vLLM checks its own
NOT_IDENTITY = {"threads"}                           # options that do not change results


class ModelSpecError(ValueError):
    pass


@dataclass(frozen=True)
class ModelSpec:
    raw: str
    backend: str
    target: str
    options: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: str) -> "ModelSpec":
        prefix, sep, rest = raw.partition(":")
        if not sep or prefix not in BACKENDS or (prefix == "hf" and not rest):
            return cls(raw, "hf", raw)
        target, _, query = rest.partition("?")
        options = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        spec = cls(raw, prefix, target, options)
        spec.check()
        return spec

    def check(self) -> None:
        allowed = OPTIONS.get(self.backend)
        if allowed is None:
            return
        unknown = sorted(set(self.options) - set(allowed))
        if unknown:
            raise ModelSpecError(f"unknown {self.backend} option(s) {unknown} in {self.raw!r}: the options are "
                                 + " and ".join(f"{o}=N" for o in allowed))
        for key, value in self.options.items():
            if not value.strip().isdigit():
                raise ModelSpecError(f"{self.backend} option {key}={value!r} in {self.raw!r} is not a whole number")

    def identity(self) -> str:
        """The spec as it identifies a run: options that do not change results (threads) left out."""
        kept = [f"{k}={v}" for k, v in self.options.items() if k not in NOT_IDENTITY]
        head = self.raw.partition("?")[0]
        return head + ("?" + "&".join(kept) if kept else "")

    def backend_class(self):
        """The class that serves this spec, for its declared capabilities (nothing is loaded)."""
        module, _, name = BACKENDS[self.backend].partition(":")
        return getattr(importlib.import_module(module), name)
