"""llama.cpp backend (llama-cpp-python, optional: `pip install clinqa[llamacpp]`, see the README for the CPU build).

n samples of one prompt share the prompt: llama-cpp-python keeps the KV cache of the last evaluated tokens and only
evaluates the part of a new prompt that differs, so after the first sample the prompt is not prefilled again and each
further sample decodes from the cached prefix. Every sample gets its own seed (seed + i). The cache is reset at the
start of each request: reusing a previous request's cache re-evaluates the last prompt token and changes the logits
slightly, which broke seed reproducibility.
"""

from __future__ import annotations

import os
import time
from typing import Iterator, Sequence

from clinqa.models.base import Backend, GenRequest, GenResult, truncate_at_stop
from clinqa.models.chat import render_with_template


class LlamaCppBackend(Backend):
    def __init__(self, model_path: str, name: str | None = None, n_ctx: int = 4096, n_threads: int | None = None,
                 chat_template: bool | None = None):
        try:
            from llama_cpp import Llama
        except ImportError as e:
            raise RuntimeError("the llamacpp backend needs llama-cpp-python (see README: llama.cpp backend)") from e
        self.llm = Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=n_threads or os.cpu_count(),
                         verbose=False)
        self.name = name or f"llamacpp:{model_path}"
        self.template = self.llm.metadata.get("tokenizer.chat_template")
        self.chat = bool(self.template) if chat_template is None else (chat_template and bool(self.template))

    def render(self, req: GenRequest) -> str:
        if not self.chat:
            return req.prompt + req.prefix
        bos = self.llm.detokenize([self.llm.token_bos()]).decode(errors="ignore") if self.llm.token_bos() >= 0 else ""
        eos = self.llm.detokenize([self.llm.token_eos()]).decode(errors="ignore")
        return render_with_template(self.template, req, bos, eos)

    def _complete(self, text: str, req: GenRequest, seed: int | None, stream: bool = False):
        return self.llm.create_completion(text, max_tokens=req.max_tokens, temperature=req.temperature,
                                          top_p=req.top_p, top_k=0 if req.temperature > 0 else 1,
                                          stop=list(req.stop) or None, seed=seed, stream=stream)

    def generate(self, requests: Sequence[GenRequest]) -> list[GenResult]:
        out = []
        for req in requests:
            t0 = time.perf_counter()
            text = self.render(req)
            n = req.n if req.temperature > 0 else 1
            texts, counts, prompt_tokens = [], [], 0
            # each request prefills its prompt once from an empty cache (so a seed reproduces the same samples);
            # its later samples reuse that prompt's KV cache
            self.llm.reset()
            for i in range(n):
                r = self._complete(text, req, None if req.seed is None else req.seed + i)
                texts.append(truncate_at_stop(r["choices"][0]["text"], req.stop))
                counts.append(r["usage"]["completion_tokens"])
                prompt_tokens = r["usage"]["prompt_tokens"]
            if n < req.n:
                texts, counts = texts * req.n, counts * req.n
            out.append(GenResult(texts, counts, prompt_tokens, time.perf_counter() - t0, rendered_prompt=text))
        return out

    def stream(self, req: GenRequest) -> Iterator[str]:
        for chunk in self._complete(self.render(req), req, req.seed, stream=True):
            yield chunk["choices"][0]["text"]

    def describe(self) -> dict:
        return {"backend": "llamacpp", "name": self.name, "chat_template": self.chat}
