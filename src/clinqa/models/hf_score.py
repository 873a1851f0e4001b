"""Log-likelihood scoring for the hf backend: lm-evaluation-harness's numbers (its tokenisation of each
(context, continuation) pair, the sum of the continuation tokens' log-probabilities), computed with less work.

lm-eval runs every pair's whole sequence context + continuation[:-1] and keeps logits at every position. Here each
distinct context is run once (less its last token) into a KV cache, in left-padded batches sorted by length; the
cache is gathered into one row per distinct continuation of that context, and only the continuation part —
[last context token] + continuation[:-1], right-padded — is run on top of it, with logits for those positions only.
A multiple-choice question's options thus share one pass over its long prompt. Scores equal a full forward pass up to
float rounding (tested against one; `benchmarks/loglik_vs_lmeval.py` compares with lm-eval itself).
"""

from __future__ import annotations

import torch
from transformers import DynamicCache

from clinqa.models.hf_cache import rows_cache
from clinqa.models.hf_memory import plan_batches


@torch.no_grad()
def score_pairs(backend, encoded: list[tuple[list[int], list[int]]], max_tokens: int, max_bytes: int) -> list[float]:
    """Sum of log p(continuation | context) for each encoded (context ids, continuation ids) pair. `backend` is an
    HFBackend (its model, padding and cache keyword)."""
    eos = backend.tok.eos_token_id
    contexts: dict[tuple, dict[tuple, list[int]]] = {}      # context -> continuation input -> pair indices
    for i, (ctx, cont) in enumerate(encoded):
        ctx = tuple(ctx or [eos])
        contexts.setdefault(ctx, {}).setdefault(tuple([ctx[-1]] + cont[:-1]), []).append(i)
    order = sorted(contexts, key=len, reverse=True)
    items = [(g, len(ctx), len(contexts[ctx]), max(len(c) for c in contexts[ctx])) for g, ctx in enumerate(order)]
    vocab = backend.model.config.get_text_config(decoder=True).vocab_size
    out = [0.0] * len(encoded)
    for chunk in plan_batches(items, max_tokens, max_bytes, backend.kv_per_token, vocab):
        _score_batch(backend, [order[g] for g in chunk], contexts, encoded, out)
    return out


def _score_batch(backend, ctxs: list[tuple], contexts: dict, encoded: list, out: list[float]) -> None:
    """Score every pair whose context is in `ctxs` (one batch), writing into `out`."""
    device, pad = backend.device, backend.tok.pad_token_id
    prefix, prefix_mask = backend._left_pad([list(c[:-1]) or [pad] for c in ctxs])
    prefix_mask[[i for i, c in enumerate(ctxs) if len(c) == 1], :] = 0        # a one-token context has no prefix
    rows, conts = [], []
    for g, ctx in enumerate(ctxs):
        for cont_input in contexts[ctx]:
            rows.append(g)
            conts.append(cont_input)
    cache = DynamicCache(config=backend.model.config)
    backend.model(prefix, attention_mask=prefix_mask, position_ids=backend._positions(prefix_mask), use_cache=True,
                  **backend._forward_kw(cache))
    width = max(len(c) for c in conts)
    row_index = torch.tensor(rows, device=device)
    cache = rows_cache(cache, row_index, prefix.shape[1] + width)
    ids = torch.tensor([list(c) + [pad] * (width - len(c)) for c in conts], device=device)
    cont_mask = torch.tensor([[1] * len(c) + [0] * (width - len(c)) for c in conts], device=device)
    mask = torch.cat([prefix_mask[row_index], cont_mask], 1)
    positions = prefix_mask.sum(-1)[row_index, None] + torch.arange(width, device=device)
    kw = {backend._cache_kw: cache}
    logits = backend.model(ids, attention_mask=mask, position_ids=positions, use_cache=True, **kw).logits
    logp = torch.log_softmax(logits.float(), -1)
    for r, (g, cont_input) in enumerate(zip(rows, conts)):
        for p in contexts[ctxs[g]][cont_input]:
            cont = torch.tensor(encoded[p][1], device=device)
            out[p] = float(logp[r, torch.arange(len(cont), device=device), cont].sum())
