"""Hugging Face transformers backend (CPU or GPU), including GGUF files loaded through transformers.

n samples of one prompt share one prefill: the prompt (less its last token) is run once into a KV cache, the cache is
repeated n times, and `generate` decodes the n continuations from it. Each row draws from its own slice of the
seeded random stream, so samples differ at temperature > 0 and a fixed seed reproduces the same set.
`loglikelihood` tokenises the way lm-evaluation-harness does, so option scores match lm-eval's.
"""

from __future__ import annotations

import threading
import time
from typing import Iterator, Sequence

import torch

from clinqa.models.base import Backend, GenRequest, GenResult, truncate_at_stop


class HFBackend(Backend):
    supports_loglikelihood = True

    def __init__(self, model, tokenizer, name: str = "hf", chat_template: bool | None = None, device: str | None = None):
        self.model, self.tok, self.name = model, tokenizer, name
        self._lock = threading.Lock()   # one model, one call at a time (torch's global RNG is seeded per call)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()
        has_template = bool(getattr(tokenizer, "chat_template", None))
        self.chat = has_template if chat_template is None else (chat_template and has_template)
        if self.tok.pad_token_id is None:
            self.tok.pad_token = self.tok.eos_token
        # transformers >= 5.2x names the KV-cache argument `cache`; older releases `past_key_values`
        import inspect
        self._cache_kw = "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"

    # -- prompts ---------------------------------------------------------------------------------------------------
    def render(self, req: GenRequest) -> str:
        if self.chat:
            text = self.tok.apply_chat_template([{"role": "user", "content": req.prompt}], tokenize=False,
                                                add_generation_prompt=True)
            return text + req.prefix
        return req.prompt + req.prefix

    def _encode(self, text: str) -> torch.Tensor:
        # a rendered chat template already carries its special tokens
        ids = self.tok(text, return_tensors="pt", add_special_tokens=not self.chat).input_ids
        return ids.to(self.device)

    # -- generation ------------------------------------------------------------------------------------------------
    def _gen_kwargs(self, req: GenRequest) -> dict:
        kw = dict(max_new_tokens=req.max_tokens, pad_token_id=self.tok.pad_token_id)
        if req.temperature > 0:
            kw.update(do_sample=True, temperature=req.temperature, top_p=req.top_p, top_k=0)
        else:
            kw.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if req.stop:
            kw.update(stop_strings=list(req.stop), tokenizer=self.tok)
        return kw

    @torch.no_grad()
    def _generate_one(self, req: GenRequest) -> GenResult:
        t0 = time.perf_counter()
        text = self.render(req)
        ids = self._encode(text)
        n = req.n if req.temperature > 0 else 1   # greedy samples are identical: decode once, copy
        from transformers import DynamicCache
        cache = DynamicCache(config=self.model.config)
        if ids.shape[1] > 1:
            self.model(ids[:, :-1], use_cache=True, **{self._cache_kw: cache})
            if n > 1:
                cache.batch_repeat_interleave(n)
        if req.seed is not None:
            torch.manual_seed(req.seed)
        out = self.model.generate(ids.repeat(n, 1), attention_mask=torch.ones(n, ids.shape[1], dtype=torch.long,
                                  device=self.device), **{self._cache_kw: cache}, **self._gen_kwargs(req))
        texts, counts = [], []
        eos = set(self._eos_ids())
        for row in out[:, ids.shape[1]:].tolist():
            k = next((i + 1 for i, t in enumerate(row) if t in eos), len(row))
            counts.append(k)
            texts.append(truncate_at_stop(self.tok.decode(row[:k], skip_special_tokens=True), req.stop))
        if n < req.n:
            texts, counts = texts * req.n, counts * req.n
        return GenResult(texts, counts, int(ids.shape[1]), time.perf_counter() - t0, rendered_prompt=text)

    def _eos_ids(self) -> list[int]:
        eos = self.model.generation_config.eos_token_id
        eos = eos if isinstance(eos, list) else [eos]
        return [e for e in eos + [self.tok.eos_token_id] if e is not None]

    def generate(self, requests: Sequence[GenRequest]) -> list[GenResult]:
        with self._lock:
            return [self._generate_one(r) for r in requests]

    def stream(self, req: GenRequest) -> Iterator[str]:
        from transformers import TextIteratorStreamer
        ids = self._encode(self.render(req))
        streamer = TextIteratorStreamer(self.tok, skip_prompt=True, skip_special_tokens=True)
        kw = self._gen_kwargs(req)
        if req.seed is not None:
            torch.manual_seed(req.seed)
        th = threading.Thread(target=self.model.generate, kwargs=dict(input_ids=ids, streamer=streamer,
                              attention_mask=torch.ones_like(ids), **kw))
        th.start()
        shown = ""
        for piece in streamer:
            cut = truncate_at_stop(shown + piece, req.stop)
            if len(cut) < len(shown + piece):
                yield cut[len(shown):]
                break
            shown += piece
            yield piece
        th.join()

    # -- scoring ---------------------------------------------------------------------------------------------------
    def _encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """lm-evaluation-harness's `_encode_pair`: trailing spaces move to the continuation; split after encoding."""
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces:
            continuation, context = context[-n_spaces:] + continuation, context[:-n_spaces]
        whole = self.tok(context + continuation).input_ids       # the tokenizer's own special-token default, as lm-eval
        ctx = self.tok(context).input_ids
        return whole[:len(ctx)], whole[len(ctx):]

    def loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        with self._lock:
            return self._loglikelihood(pairs)

    @torch.no_grad()
    def _loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Options of one question share their context: it is prefilled once and each continuation is scored from a
        copy of its KV cache (same numbers as scoring each full sequence, at a fraction of the cost)."""
        import copy

        from transformers import DynamicCache
        encoded = [self._encode_pair(c, x) for c, x in pairs]
        out: list[float] = [0.0] * len(pairs)
        groups: dict[tuple, list[int]] = {}
        for i, (ctx, _) in enumerate(encoded):
            groups.setdefault(tuple(ctx) or (self.tok.eos_token_id,), []).append(i)
        for ctx, idxs in groups.items():
            cache = DynamicCache(config=self.model.config)
            last = self.model(torch.tensor([list(ctx)], device=self.device), use_cache=True,
                              **{self._cache_kw: cache}).logits[0, -1].float()
            for i in idxs:
                cont = encoded[i][1]
                logp = [torch.log_softmax(last, -1)]
                if len(cont) > 1:
                    more = self.model(torch.tensor([cont[:-1]], device=self.device), use_cache=True,
                                      **{self._cache_kw: copy.deepcopy(cache)}).logits[0].float()
                    logp += list(torch.log_softmax(more, -1))
                out[i] = float(sum(lp[t] for lp, t in zip(logp, cont)))
        return out

    def describe(self) -> dict:
        return {"backend": "hf", "name": self.name, "chat_template": self.chat, "device": self.device,
                "parameters": sum(p.numel() for p in self.model.parameters())}
