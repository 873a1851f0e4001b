"""Hugging Face transformers backend (CPU or GPUs), including GGUF files loaded through transformers.

Batches: a `generate` call decodes all its requests together. Prompts are left-padded; each distinct prompt is
prefilled once (less its last token) and its KV cache is gathered into as many rows as the request has samples, so
n samples share one prefill. Rows draw from their own seeded random streams and stop at their own token limits
(`hf_sampling.py`), so a request's texts do not depend on the batch it was in. Requests are grouped by stop strings and
cut into batches of at most `max_batch_tokens` prompt tokens.

`loglikelihood` tokenises the way lm-evaluation-harness does, so option scores match lm-eval's; all pairs of a call
are scored in left-padded batches, keeping only the logits of the continuation positions.

Loading (`models/resolve.py`): `dtype` auto|bfloat16|float16|float32 (auto: float32 on CPU, the checkpoint's own
dtype or bfloat16 on GPUs) and `device_map` (`auto` on GPUs: accelerate spreads a large model over all GPUs).
"""

from __future__ import annotations

import threading
import time
from typing import Iterator, Sequence

import torch

from clinqa.models.base import Backend, GenRequest, GenResult, encode_pair, stream_until_stop
from clinqa.models.hf_sampling import RowMaxTokens, RowSampler, RowSpec


class HFBackend(Backend):
    supports_loglikelihood = True
    supports_batching = True
    thread_safe = True                  # a lock serialises calls on the one model
    default_concurrency = 16            # on GPUs; 1 on CPUs (set per instance)

    def __init__(self, model, tokenizer, name: str = "hf", chat_template: bool | None = None, device: str | None = None,
                 max_batch_tokens: int | None = None):
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
        # on CPUs a forward pass is compute-bound and padding costs more than batching saves (benchmarks/batching.py)
        self.default_concurrency = 16 if gpu else 1
        has_template = bool(getattr(tokenizer, "chat_template", None))
        self.chat = has_template if chat_template is None else (chat_template and has_template)
        if self.tok.pad_token_id is None:
            self.tok.pad_token = self.tok.eos_token
        # transformers >= 5.2x names the KV-cache argument `cache`; older releases `past_key_values`
        import inspect
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

    # -- generation ------------------------------------------------------------------------------------------------
    def _generate(self, requests: Sequence[GenRequest]) -> list[GenResult]:
        with self._lock:
            results: list[GenResult | None] = [None] * len(requests)
            by_stop: dict[tuple, list[int]] = {}
            for i, r in enumerate(requests):
                by_stop.setdefault(r.stop, []).append(i)
            texts = [self.render(r) for r in requests]
            prompts = [self._ids(t) for t in texts]
            for idxs in by_stop.values():
                for chunk in self._chunks(idxs, [len(prompts[i]) for i in idxs]):
                    batch = self._generate_batch([requests[i] for i in chunk], [texts[i] for i in chunk],
                                                 [prompts[i] for i in chunk])
                    for i, res in zip(chunk, batch):
                        results[i] = res
            return results

    def _chunks(self, idxs: list[int], lengths: list[int]) -> list[list[int]]:
        """Consecutive groups whose padded prompt tokens stay within the budget (a prompt over it forms its own group)."""
        out, cur, width = [], [], 0
        for i, n in zip(idxs, lengths):
            if cur and max(width, n) * (len(cur) + 1) > self.max_batch_tokens:
                out.append(cur)
                cur, width = [], 0
            cur.append(i)
            width = max(width, n)
        return out + ([cur] if cur else [])

    @torch.no_grad()
    def _generate_batch(self, reqs: list[GenRequest], texts: list[str], prompts: list[list[int]]) -> list[GenResult]:
        """Decode one batch; `texts` are the rendered prompts and `prompts` their token ids."""
        from transformers import DynamicCache
        t0 = time.perf_counter()
        ids, mask = self._left_pad(prompts)
        rows, specs = [], []
        for j, r in enumerate(reqs):
            for k in range(r.n):
                rows.append(j)
                specs.append(RowSpec(r.temperature, r.top_p, None if r.seed is None else r.seed + k, r.max_tokens))
        cache = DynamicCache(config=self.model.config)
        if ids.shape[1] > 1:                # prefill each prompt once, then gather its cache into its sample rows
            self.model(ids[:, :-1], attention_mask=mask[:, :-1], position_ids=self._positions(mask[:, :-1]),
                       use_cache=True, **{self._cache_kw: cache}, **self._no_logits)
            cache.batch_select_indices(torch.tensor(rows, device=self.device))
        row_ids, row_mask = ids[rows], mask[rows]
        stop = reqs[0].stop
        kw = dict(max_new_tokens=max(s.max_tokens for s in specs), pad_token_id=self.tok.pad_token_id,
                  do_sample=False, temperature=None, top_p=None, top_k=None)
        if stop:
            kw.update(stop_strings=list(stop), tokenizer=self.tok)
        from transformers import LogitsProcessorList, StoppingCriteriaList
        out = self.model.generate(row_ids, attention_mask=row_mask, **{self._cache_kw: cache},
                                  logits_processor=LogitsProcessorList([RowSampler(specs, self.device)]),
                                  stopping_criteria=StoppingCriteriaList([RowMaxTokens(ids.shape[1],
                                                                          [s.max_tokens for s in specs], self.device)]),
                                  **kw)
        eos = set(self._eos_ids())
        seconds = (time.perf_counter() - t0) / len(reqs)
        results = [GenResult([], [], len(p), seconds, rendered_prompt=t) for p, t in zip(prompts, texts)]
        for j, spec, row in zip(rows, specs, out[:, ids.shape[1]:].tolist()):
            row = row[:spec.max_tokens]
            k = next((i + 1 for i, t in enumerate(row) if t in eos), len(row))
            results[j].texts.append(self.tok.decode(row[:k], skip_special_tokens=True))
            results[j].completion_tokens.append(k)
        return results

    def _eos_ids(self) -> list[int]:
        eos = self.model.generation_config.eos_token_id
        eos = eos if isinstance(eos, list) else [eos]
        return [e for e in eos + [self.tok.eos_token_id] if e is not None]

    def stream(self, req: GenRequest) -> Iterator[str]:
        from transformers import TextIteratorStreamer
        ids = torch.tensor([self._ids(self.render(req))], device=self.device)
        streamer = TextIteratorStreamer(self.tok, skip_prompt=True, skip_special_tokens=True)
        kw = dict(max_new_tokens=req.max_tokens, pad_token_id=self.tok.pad_token_id, do_sample=False,
                  temperature=None, top_p=None, top_k=None,
                  logits_processor=[RowSampler([RowSpec(req.temperature, req.top_p, req.seed, req.max_tokens)],
                                               self.device)])
        th = threading.Thread(target=self._stream_worker, kwargs=dict(input_ids=ids, streamer=streamer,
                              attention_mask=torch.ones_like(ids), **kw))
        th.start()
        yield from stream_until_stop(streamer, req.stop)
        th.join()

    def _stream_worker(self, **kw) -> None:
        with self._lock:
            self.model.generate(**kw)

    # -- scoring ---------------------------------------------------------------------------------------------------
    def _encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        # the tokenizer's own special-token default, as lm-eval
        return encode_pair(lambda text: self.tok(text).input_ids, context, continuation)

    def _loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        with self._lock:
            return self._score(pairs)

    @torch.no_grad()
    def _score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Each pair needs the logits of the positions before its continuation tokens: the sequence context +
        continuation[:-1] is run once (options whose continuation is one token share it), left-padded in batches,
        and only the last `len(continuation)` positions' logits are kept."""
        encoded = [self._encode_pair(c, x) for c, x in pairs]
        seqs: dict[tuple, list[int]] = {}
        for i, (ctx, cont) in enumerate(encoded):
            seqs.setdefault(tuple((ctx or [self.tok.eos_token_id]) + cont[:-1]), []).append(i)
        order = sorted(seqs, key=len, reverse=True)
        out: list[float] = [0.0] * len(pairs)
        for chunk in self._chunks(list(range(len(order))), [len(order[i]) for i in range(len(order))]):
            batch = [list(order[i]) for i in chunk]
            keep = max(len(encoded[p][1]) for i in chunk for p in seqs[order[i]])
            ids, mask = self._left_pad(batch)
            logits = self.model(ids, attention_mask=mask, position_ids=self._positions(mask),
                                logits_to_keep=keep).logits[:, -keep:].float()
            logp = torch.log_softmax(logits, -1)
            for b, i in enumerate(chunk):
                for p in seqs[order[i]]:
                    cont = encoded[p][1]
                    pos = range(keep - len(cont), keep)
                    out[p] = float(sum(logp[b, q, t] for q, t in zip(pos, cont)))
        return out

    def describe(self) -> dict:
        return {"backend": "hf", "name": self.name, "chat_template": self.chat, "device": self.device,
                "dtype": str(next(self.model.parameters()).dtype).removeprefix("torch."),
                "parameters": sum(p.numel() for p in self.model.parameters())}
