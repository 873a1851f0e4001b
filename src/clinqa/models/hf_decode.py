"""The decode loop of the hf backend: one forward pass per step for all rows, then sampling and stop checks as
whole-batch tensor operations. It replaces `model.generate`, whose per-step logits processors, stopping criteria and
host syncs cost more than the forward pass of a small model.

The loop starts from a cache that holds every row's prompt but its last token (`hf_cache.rows_cache`) and feeds that
token first, with the same attention mask and position ids transformers' `generate` would use, so greedy tokens are
the ones `generate` picks. Tokens go into a buffer allocated once; the attention mask is a view of a mask allocated
once. The host looks at the tokens only every `sync_every` steps (stop strings, and whether every row has ended).
"""

from __future__ import annotations

from typing import Callable, Iterator

import torch

from clinqa.models.hf_sampling import BatchSampler
from clinqa.models.hf_stopping import RowStops


def decode_steps(model, forward_kw: Callable[[object], dict], cache, last: torch.Tensor, mask: torch.Tensor,
                 sampler: BatchSampler, max_steps: int) -> Iterator[torch.Tensor]:
    """Yield each step's tokens (rows,). `last` holds each row's last prompt token, `mask` (rows, width) the prompt's
    attention mask whose first width - 1 positions are in `cache`; `forward_kw(cache)` gives the model's keyword
    arguments for the cache (its name differs between transformers releases) and the logits to keep."""
    rows, width = mask.shape
    full = torch.ones((rows, width + max_steps), dtype=mask.dtype, device=mask.device)
    full[:, :width] = mask
    position = mask.long().sum(-1, keepdim=True) - 1
    token = last
    for step in range(max_steps):
        logits = model(input_ids=token[:, None], attention_mask=full[:, :width + step], position_ids=position,
                       use_cache=True, **forward_kw(cache)).logits[:, -1]
        token = sampler(logits, step)
        position = position + 1
        yield token


@torch.no_grad()
def decode(model, forward_kw, cache, last: torch.Tensor, mask: torch.Tensor, sampler: BatchSampler, stops: RowStops,
           max_steps: int, sync_every: int) -> list[list[int]]:
    """Decode every row until it ends; returns each row's kept tokens."""
    out = torch.empty((len(last), max_steps), dtype=torch.long, device=last.device)
    steps = 0
    for step, token in enumerate(decode_steps(model, forward_kw, cache, last, mask, sampler, max_steps)):
        out[:, step] = token
        stops.after_step(token, step)
        steps = step + 1
        if (steps % sync_every == 0 or steps == max_steps) and stops.sync(out, steps):
            break
    return stops.rows(out, steps)
