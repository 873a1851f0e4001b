"""llama.cpp backend (llama-cpp-python, optional: `pip install clinqa[llamacpp]`, see the README for the CPU build).

Threads: `llamacpp:<model>?threads=N` (the only way to set them). The default is 1 thread for decode and prefill: on
shared CPUs (CI, the 2-core machines this project runs on) llama.cpp's threads spin-wait on each other, and with 2
threads under load decode fell from ~16 to 1.6 tokens/s while 1 thread kept 12-19 (docs: engines-here). On a machine
of your own, raise it.

Generation runs on a second context over the same weights (`llamacpp_batch.SequenceBatcher`) with `seqs` KV streams
(`llamacpp:<model>?seqs=M`, default 16): a request's n samples share one prefill of its prompt and decode together,
and so do the requests of every question in flight (the backend declares `supports_batching`, so `clinqa bench
--concurrency N` hands it N questions' requests in one call). A sample's text does not depend on what it was batched
with (each sequence has its own KV stream; tested), so answers are the same at any concurrency. Memory: seqs x n_ctx
KV cells (16 x 4096 cells: 1.5 GB for SmolLM2-135M, 1.9 GB for Qwen2.5-1.5B, in f16).
Measured on this project's 2-core machine, 1 thread, SmolLM2-135M: single-stream decode ~65 tokens/s, 11 samples of
one prompt ~100 tokens/s together (`benchmarks/batching.py` for questions/s).

A lock serialises `generate`, `loglikelihood` and `stream`, so calls from several threads are safe (concurrent calls
on one context aborted the process with a GGML_ASSERT).

`loglikelihood` tokenises as lm-evaluation-harness (and the hf backend) do, prefills each distinct context once and
scores every continuation from that context's KV cache. llama-cpp-python 0.3.36 leaves `Llama.scores` zeroed unless
the model is created with `logits_all=True` (which would hold n_ctx x n_vocab floats), so the logits of the last
evaluated position are read directly with `llama_get_logits_ith(ctx, -1)`, one continuation token at a time.
"""

from __future__ import annotations

import functools
import threading
import time
import weakref
from typing import Iterator, Sequence

import numpy as np

from clinqa.models.base import Backend, GenRequest, GenResult, encode_pair
from clinqa.models.llamacpp_batch import Job, SequenceBatcher

DEFAULT_THREADS = 1
DEFAULT_SEQS = 16          # sequences decoded together, each with its own n_ctx KV cells


class LlamaCppBackend(Backend):
    supports_loglikelihood = True
    supports_batching = True    # one call decodes all its requests' samples together
    supports_json_schema = True  # a request's json_schema becomes a grammar in its sequences' samplers
    thread_safe = True          # calls from several threads are serialised by a lock
    default_concurrency = 8

    def __init__(self, model_path: str, name: str | None = None, n_ctx: int = 4096, n_threads: int | None = None,
                 chat_template: bool | None = None, max_seqs: int = DEFAULT_SEQS):
        try:
            from llama_cpp import Llama
        except ImportError as e:
            raise RuntimeError("the llamacpp backend needs llama-cpp-python (see README: llama.cpp backend)") from e
        self.n_threads = int(n_threads or DEFAULT_THREADS)
        if self.n_threads < 1:
            raise ValueError(f"threads must be >= 1, not {self.n_threads}")
        self.n_ctx, self.max_seqs = n_ctx, int(max_seqs)
        if not 1 <= self.max_seqs <= 256:
            raise ValueError(f"seqs must be between 1 and 256 (llama.cpp's limit), not {self.max_seqs}")
        self.llm = Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=self.n_threads,
                         n_threads_batch=self.n_threads, verbose=False)
        self._lock = threading.Lock()
        # free the model while the interpreter is intact (llama-cpp-python's own __del__ at exit raises a TypeError)
        weakref.finalize(self, self.llm.close)
        self.name = name or f"llamacpp:{model_path}"
        self.template = self.llm.metadata.get("tokenizer.chat_template")
        self.chat = bool(self.template) if chat_template is None else (chat_template and bool(self.template))

    @functools.cached_property
    def _chat_formatter(self):
        """llama-cpp-python's own renderer of the GGUF's template (what its chat completion uses), built once."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        bos = self.llm.detokenize([self.llm.token_bos()]).decode(errors="ignore") if self.llm.token_bos() >= 0 else ""
        eos = self.llm.detokenize([self.llm.token_eos()]).decode(errors="ignore")
        return Jinja2ChatFormatter(self.template, eos_token=eos, bos_token=bos, add_generation_prompt=True)

    def apply_chat_template(self, messages: list[dict]) -> str:
        return self._chat_formatter(messages=messages).prompt

    @functools.cached_property
    def _sequences(self) -> SequenceBatcher:
        """The context that decodes n samples, and the requests of a batch, together (built on first use)."""
        seqs = SequenceBatcher(self.llm, seq_ctx=self.n_ctx, n_seq_max=self.max_seqs)
        weakref.finalize(self, seqs.close)        # runs before the model's own finalizer (registered earlier)
        return seqs

    def _job(self, req: GenRequest, text: str) -> Job:
        """The request, its prompt rendered as `text`, as the sequence batcher's job."""
        return Job(self._tokenize(text), req.n, req.temperature, req.top_p, req.max_tokens,
                   tuple(req.stop), req.seed, grammar=_grammar(req.json_schema) if req.json_schema else None)

    def _text(self, tokens: list[int]) -> str:
        return self.llm.detokenize(tokens).decode("utf-8", errors="ignore")

    def _generate(self, requests: Sequence[GenRequest]) -> list[GenResult]:
        t0 = time.perf_counter()
        texts = [self.render(r) for r in requests]
        with self._lock:
            jobs = [self._job(r, text) for r, text in zip(requests, texts)]
            self._sequences.run(jobs)
        seconds = (time.perf_counter() - t0) / max(1, len(requests))
        return [GenResult([self._text(t) for t in job.tokens], [len(t) for t in job.tokens], len(job.prompt), seconds,
                          rendered_prompt=text) for text, job in zip(texts, jobs)]

    def stream(self, req: GenRequest) -> Iterator[str]:
        with self._lock:    # held until the stream ends or is closed
            job, shown = self._job(req, self.render(req)), ""
            for _ in self._sequences.stream(job):
                text = self._text(job.tokens[0])
                if len(text) > len(shown) and text.startswith(shown):
                    yield text[len(shown):]
                    shown = text

    # -- scoring ---------------------------------------------------------------------------------------------------
    def _tokenize(self, text: str) -> list[int]:
        # add_bos=True adds the model's own default special tokens (none where the GGUF says add_bos_token=false),
        # as a transformers tokenizer does by default; special=True parses special-token text as transformers does
        return self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)

    def _encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        return encode_pair(self._tokenize, context, continuation)

    def _last_logprobs(self) -> np.ndarray:
        """Log-softmax of the logits at the last evaluated position (valid without logits_all)."""
        import llama_cpp
        ptr = llama_cpp.llama_get_logits_ith(self.llm.ctx, -1)
        logits = np.ctypeslib.as_array(ptr, shape=(self.llm.n_vocab(),)).astype(np.float64)
        m = logits.max()
        return logits - (m + np.log(np.exp(logits - m).sum()))

    def _loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        with self._lock:
            return self._score(pairs)

    def _score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        encoded = [self._encode_pair(c, x) for c, x in pairs]
        out: list[float] = [0.0] * len(pairs)
        groups: dict[tuple, list[int]] = {}
        for i, (ctx, _) in enumerate(encoded):
            groups.setdefault(tuple(ctx) or (self.llm.token_eos(),), []).append(i)
        n_ctx = self.llm.n_ctx()
        for ctx, idxs in groups.items():
            longest = max(len(encoded[i][1]) for i in idxs)
            if len(ctx) + longest > n_ctx:
                raise ValueError(f"a scoring request of {len(ctx) + longest} tokens exceeds the context of {n_ctx}")
            self.llm.reset()
            self.llm.eval(list(ctx))
            first = self._last_logprobs()
            for i in idxs:
                cont = encoded[i][1]
                total, logp = 0.0, first
                for j, tok in enumerate(cont):
                    total += float(logp[tok])
                    if j + 1 < len(cont):
                        self.llm.eval([tok])      # appends at n_tokens, dropping any KV beyond it
                        logp = self._last_logprobs()
                out[i] = total
                self.llm.n_tokens = len(ctx)      # back to the shared context for the next continuation
        self.llm.reset()
        return out

    def describe(self) -> dict:
        return {"backend": "llamacpp", "name": self.name, "chat_template": self.chat, "threads": self.n_threads,
                "seqs": self.max_seqs}


@functools.lru_cache(maxsize=64)
def _grammar(schema: str):
    """llama-cpp-python's GBNF grammar for a JSON schema (what its own `response_format` uses), built once."""
    from llama_cpp import LlamaGrammar
    return LlamaGrammar.from_json_schema(schema, verbose=False)
