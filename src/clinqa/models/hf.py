"""Hugging Face transformers backend (CPU or GPUs), including GGUF files loaded through transformers.

Batches: a `generate` call decodes all its requests together. Prompts are left-padded; each distinct prompt is
prefilled once (less its last token) and its KV cache is gathered into as many rows as the request has samples, so
n samples share one prefill; the rows' cache is allocated once for the whole decode (`hf_cache.py`). clinqa's own
decode loop (`hf_decode.py`) samples every row in one vectorised operation whose randomness depends only on the row's
seed and the step (`hf_sampling.py`) and stops each row at its own end-of-sequence, token limit or stop string
(`hf_stopping.py`), so a request's texts do not depend on the batch it was in. Requests are grouped by stop strings,
sorted by prompt length and cut into batches by `max_batch_tokens` prompt tokens and by the bytes their KV cache will
reach (`hf_memory.py`: `max_batch_bytes`, default 70% of free memory); a batch that still runs out of CUDA memory is
split in two (a single request by its samples) and retried.

`loglikelihood` tokenises the way lm-evaluation-harness does, so option scores match lm-eval's; each distinct context
of a call is run once and its continuations on top of its cache (`hf_score.py`).

Loading (`models/resolve.py`): `dtype` auto|bfloat16|float16|float32 (auto: float32 on CPU, the checkpoint's own
dtype or bfloat16 on GPUs) and `device_map` (`auto` on GPUs: accelerate spreads a large model over all GPUs).
`CLINQA_HF_MAX_BATCH_BYTES` (e.g. `20e9`) sets the batch memory budget where the constructor is not called directly.
"""

from __future__ import annotations

import inspect
import os
import threading
import time
from dataclasses import replace
from typing import Iterator, Sequence

import torch
from transformers import DynamicCache

from clinqa.models.base import Backend, GenRequest, GenResult, encode_pair, stream_until_stop
from clinqa.models.hf_cache import rows_cache
from clinqa.models.hf_decode import decode, decode_steps
from clinqa.models.hf_memory import (budget_bytes, kv_bytes_per_token, memory_report, plan_batches,
                                     release_cached)
from clinqa.models.hf_sampling import BatchSampler, RowSpec
from clinqa.models.hf_score import score_pairs
from clinqa.models.hf_stopping import RowStops


class HFBackend(Backend):
    supports_loglikelihood = True
    supports_batching = True
    thread_safe = True                  # a lock serialises calls on the one model
    default_concurrency = 16            # on GPUs; 1 on CPUs (set per instance)

    def __init__(self, model, tokenizer, name: str = "hf", chat_template: bool | None = None, device: str | None = None,
                 max_batch_tokens: int | None = None, max_batch_bytes: int | None = None):
        self.model, self.tok, self.name = model, tokenizer, name
        self._lock = threading.Lock()
        if getattr(model, "hf_device_map", None):           # placed by accelerate (device_map): leave it there
            self.device = str(next(model.parameters()).device)
        else:
            self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
            self.model.to(self.device)
        self.model.eval()
        gpu = self.device.startswith("cuda")
        self.max_batch_tokens = max_batch_tokens or (262_144 if gpu else 16_384)
        env_bytes = os.environ.get("CLINQA_HF_MAX_BATCH_BYTES")
        self.max_batch_bytes = max_batch_bytes or (int(float(env_bytes)) if env_bytes else None)
        self.kv_per_token = kv_bytes_per_token(model.config, next(model.parameters()).dtype)
        # on CPUs a forward pass is compute-bound and padding costs more than batching saves (benchmarks/batching.py)
        self.default_concurrency = 16 if gpu else 1
        # the host reads tokens every few steps on GPUs (each read waits for the device); on CPUs it costs nothing
        self.sync_every = 8 if gpu else 1
        has_template = bool(getattr(tokenizer, "chat_template", None))
        self.chat = has_template if chat_template is None else (chat_template and has_template)
        if self.tok.pad_token_id is None:
            self.tok.pad_token = self.tok.eos_token
        # transformers >= 5.2x names the KV-cache argument `cache`; older releases `past_key_values`
        params = inspect.signature(self.model.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        # a prefill needs no logits: computing them all (positions x vocabulary) cost more than the prefill itself
        self._no_logits = {"logits_to_keep": 1} if "logits_to_keep" in params else {}

    def apply_chat_template(self, messages: list[dict]) -> str:
        return self.tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def _ids(self, text: str) -> list[int]:
        # a rendered chat template already carries its special tokens
        return self.tok(text, add_special_tokens=not self.chat).input_ids

    def _left_pad(self, seqs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(s) for s in seqs)
        pad = self.tok.pad_token_id
        ids = torch.tensor([[pad] * (width - len(s)) + s for s in seqs], device=self.device)
        mask = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in seqs], device=self.device)
        return ids, mask

    @staticmethod
    def _positions(mask: torch.Tensor) -> torch.Tensor:
        return (mask.long().cumsum(-1) - 1).clamp(min=0)

    def _forward_kw(self, cache) -> dict:
        return {self._cache_kw: cache, **self._no_logits}

    # -- generation ------------------------------------------------------------------------------------------------
    def _generate(self, requests: Sequence[GenRequest]) -> list[GenResult]:
        with self._lock:
            results: list[GenResult | None] = [None] * len(requests)
            by_stop: dict[tuple, list[int]] = {}
            for i, r in enumerate(requests):
                by_stop.setdefault(r.stop, []).append(i)
            texts = [self.render(r) for r in requests]
            prompts = [self._ids(t) for t in texts]
            budget = budget_bytes(self.device, self.max_batch_bytes)
            for idxs in by_stop.values():
                items = sorted(((i, len(prompts[i]), requests[i].n, requests[i].max_tokens) for i in idxs),
                               key=lambda item: item[1])          # similar lengths together: less padding
                for chunk in plan_batches(items, self.max_batch_tokens, budget, self.kv_per_token,
                                          self.model.config.get_text_config(decoder=True).vocab_size):
                    batch = self._generate_fitting([requests[i] for i in chunk], [texts[i] for i in chunk],
                                                   [prompts[i] for i in chunk])
                    for i, res in zip(chunk, batch):
                        results[i] = res
            return results

    def _generate_fitting(self, reqs: list[GenRequest], texts: list[str], prompts: list[list[int]]) -> list[GenResult]:
        """`_generate_batch`, split in two and retried on out-of-memory (a single request by its samples: sample k
        of a request has seed + k, so the halves draw what the whole would have drawn)."""
        try:
            return self._generate_batch(reqs, texts, prompts)
        except torch.OutOfMemoryError:
            if len(reqs) == 1 and reqs[0].n == 1:
                raise
        release_cached(self.device)                   # outside the except block: the traceback no longer pins memory
        if len(reqs) > 1:
            h = len(reqs) // 2
            return (self._generate_fitting(reqs[:h], texts[:h], prompts[:h])
                    + self._generate_fitting(reqs[h:], texts[h:], prompts[h:]))
        r, h = reqs[0], reqs[0].n // 2
        second = replace(r, n=r.n - h, seed=None if r.seed is None else r.seed + h)
        a = self._generate_fitting([replace(r, n=h)], texts, prompts)[0]
        b = self._generate_fitting([second], texts, prompts)[0]
        return [GenResult(a.texts + b.texts, a.completion_tokens + b.completion_tokens, a.prompt_tokens,
                          a.seconds + b.seconds, rendered_prompt=a.rendered_prompt)]

    @torch.no_grad()
    def _generate_batch(self, reqs: list[GenRequest], texts: list[str], prompts: list[list[int]]) -> list[GenResult]:
        """Decode one batch; `texts` are the rendered prompts and `prompts` their token ids."""
        t0 = time.perf_counter()
        ids, mask = self._left_pad(prompts)
        rows, specs = [], []
        for j, r in enumerate(reqs):
            for k in range(r.n):
                rows.append(j)
                specs.append(RowSpec(r.temperature, r.top_p, None if r.seed is None else r.seed + k, r.max_tokens))
        max_steps = max(s.max_tokens for s in specs)
        cache = DynamicCache(config=self.model.config)
        if ids.shape[1] > 1:                # prefill each prompt once, then gather its cache into its sample rows
            self.model(ids[:, :-1], attention_mask=mask[:, :-1], position_ids=self._positions(mask[:, :-1]),
                       use_cache=True, **self._forward_kw(cache))
        row_index = torch.tensor(rows, device=self.device)
        cache = rows_cache(cache, row_index, ids.shape[1] - 1 + max_steps)
        stops = RowStops([s.max_tokens for s in specs], self._eos_ids(), reqs[0].stop,
                         lambda rows: self.tok.batch_decode(rows, skip_special_tokens=True), self.device)
        sync_every = self.sync_every if self.sync_every > 1 or not stops.stop else 4
        kept = decode(self.model, self._forward_kw, cache, ids[row_index, -1], mask[row_index],
                      BatchSampler(specs, self.device), stops, max_steps, sync_every)
        seconds = (time.perf_counter() - t0) / len(reqs)
        results = [GenResult([], [], len(p), seconds, rendered_prompt=t) for p, t in zip(prompts, texts)]
        for j, tokens in zip(rows, kept):
            results[j].texts.append(self._decode(tokens))
            results[j].completion_tokens.append(len(tokens))
        return results

    def _decode(self, tokens: list[int]) -> str:
        return self.tok.decode(tokens, skip_special_tokens=True)

    def _eos_ids(self) -> list[int]:
        eos = self.model.generation_config.eos_token_id
        eos = eos if isinstance(eos, list) else [eos]
        return [e for e in eos + [self.tok.eos_token_id] if e is not None]

    def stream(self, req: GenRequest) -> Iterator[str]:
        pieces = self._stream_pieces(req)
        try:
            yield from stream_until_stop(pieces, req.stop)
        finally:
            pieces.close()                            # releases the lock at once when a stop string ended the stream

    @torch.no_grad()
    def _stream_pieces(self, req: GenRequest) -> Iterator[str]:
        """The greedy or sampled text of one request, a token at a time (the same tokens `generate` decodes)."""
        with self._lock:
            ids = self._ids(self.render(req))
            cache = DynamicCache(config=self.model.config)
            if len(ids) > 1:
                self.model(torch.tensor([ids[:-1]], device=self.device), use_cache=True, **self._forward_kw(cache))
            cache = rows_cache(cache, torch.zeros(1, dtype=torch.long, device=self.device), len(ids) + req.max_tokens)
            mask = torch.ones((1, len(ids)), dtype=torch.long, device=self.device)
            sampler = BatchSampler([RowSpec(req.temperature, req.top_p, req.seed, req.max_tokens)], self.device)
            eos, tokens, said = set(self._eos_ids()), [], ""
            for token in decode_steps(self.model, self._forward_kw, cache, torch.tensor([ids[-1]], device=self.device),
                                      mask, sampler, req.max_tokens):
                tokens.append(int(token[0]))
                text = self._decode(tokens)
                if not text.endswith("\ufffd") and text.startswith(said):   # hold back a partial character
                    yield text[len(said):]
                    said = text
                if tokens[-1] in eos:
                    break
            if text.startswith(said) and text != said:
                yield text[len(said):]

    # -- scoring ---------------------------------------------------------------------------------------------------
    def _encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        # the tokenizer's own special-token default, as lm-eval
        return encode_pair(lambda text: self.tok(text).input_ids, context, continuation)

    def _loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        with self._lock:
            return self._score(pairs)

    def _score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        encoded = [self._encode_pair(c, x) for c, x in pairs]
        return score_pairs(self, encoded, self.max_batch_tokens, budget_bytes(self.device, self.max_batch_bytes))

    def describe(self) -> dict:
        return {"backend": "hf", "name": self.name, "chat_template": self.chat, "device": self.device,
                "dtype": str(next(self.model.parameters()).dtype).removeprefix("torch."),
                "parameters": sum(p.numel() for p in self.model.parameters()),
                "kv_bytes_per_token": self.kv_per_token, "max_batch_bytes": self.max_batch_bytes,
                **({"memory": memory_report(self.device)} if self.device.startswith("cuda") else {})}
