"""Per-row sampling for batched decoding, in one vectorised operation, so that a row's output does not depend on which
other rows share its batch.

Every row has its own temperature, top-p and seed. A sampled row draws its token by Gumbel-max: the argmax of
logits / temperature (tokens outside its top-p nucleus masked) plus Gumbel noise, and the noise of (row, step, token)
comes from a counter-based hash of (the row's seed, the step, the token id) — no random stream is consumed, so the
draw depends on nothing but the row itself, whatever the batch holds and on any device (integer hashing is exact).
Greedy rows (temperature 0) take the argmax of their logits, as transformers' greedy search does.

transformers' own sampling draws the whole batch from one global random stream, which would make a sample depend on
its neighbours; the former per-row `torch.Generator` loop (a softmax, sort and multinomial per row per step) kept
rows apart but cost a dozen kernel launches per row per step.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import torch

_MASK32 = 0xFFFFFFFF
_HASH_MUL = 0x45D9F3B        # x * _HASH_MUL stays below 2**59 for x < 2**32: no int64 overflow on any device
_STEP_MUL = 0x9E3779B9


@dataclass(frozen=True)
class RowSpec:
    temperature: float
    top_p: float
    seed: int | None
    max_tokens: int


def mix32(x):
    """A 32-bit avalanche hash of each value in [0, 2**32) (ints or int64 tensors): equal inputs, equal outputs."""
    x = ((x >> 16) ^ x) * _HASH_MUL & _MASK32
    x = ((x >> 16) ^ x) * _HASH_MUL & _MASK32
    return (x >> 16) ^ x


def row_key(seed: int) -> int:
    """A row's 32-bit key from a seed of any size (negative seeds included)."""
    seed &= (1 << 64) - 1
    return mix32(mix32(seed & _MASK32) ^ (seed >> 32))


def gumbel_noise(keys: torch.Tensor, step: int, vocab_salt: torch.Tensor) -> torch.Tensor:
    """Gumbel(0, 1) noise of shape (rows, vocab), a pure function of (row key, step, token id)."""
    step_keys = mix32((keys + (step + 1) * _STEP_MUL) & _MASK32)
    cells = mix32(step_keys[:, None] ^ vocab_salt[None, :])
    # 23 bits, so that (k + 0.5) / 2**23 is exact in float32 and never rounds to 1 (which would give infinite noise)
    uniform = ((cells >> 9).to(torch.float32) + 0.5) * (1.0 / (1 << 23))
    return -torch.log(-torch.log(uniform))


class BatchSampler:
    """Draws the next token of every row at once: `sampler(logits, step)` -> token ids (rows,)."""

    def __init__(self, rows: list[RowSpec], device):
        self.device = device
        self.sampled = torch.tensor([i for i, r in enumerate(rows) if r.temperature > 0], dtype=torch.long,
                                    device=device)
        picked = [rows[i] for i in self.sampled.tolist()]
        seeds = [r.seed if r.seed is not None else secrets.randbits(64) for r in picked]
        self.keys = torch.tensor([row_key(s) for s in seeds], dtype=torch.long, device=device)
        self.temperature = torch.tensor([r.temperature for r in picked], dtype=torch.float32, device=device)[:, None]
        self.top_p = torch.tensor([r.top_p for r in picked], dtype=torch.float32, device=device)[:, None]
        self.any_top_p = any(r.top_p < 1.0 for r in picked)
        self.all_sampled = len(picked) == len(rows)
        self._salt: torch.Tensor | None = None

    def __call__(self, logits: torch.Tensor, step: int) -> torch.Tensor:
        tokens = logits.argmax(-1)
        if not len(self.sampled):
            return tokens
        scores = (logits if self.all_sampled else logits.index_select(0, self.sampled)).float() / self.temperature
        if self.any_top_p:
            scores = self._nucleus(scores)
        if self._salt is None or self._salt.shape[0] != scores.shape[1]:
            self._salt = mix32(torch.arange(scores.shape[1], dtype=torch.long, device=self.device))
        drawn = (scores + gumbel_noise(self.keys, step, self._salt)).argmax(-1)
        return drawn if self.all_sampled else tokens.index_copy(0, self.sampled, drawn)

    def _nucleus(self, scores: torch.Tensor) -> torch.Tensor:
        """Mask tokens outside each row's top-p nucleus (the smallest prefix of the sorted distribution whose mass
        reaches top_p); rows with top_p = 1 keep every token."""
        probs = torch.softmax(scores, -1)
        sorted_p, order = torch.sort(probs, dim=-1, descending=True, stable=True)
        drop_sorted = (sorted_p.cumsum(-1) - sorted_p > self.top_p) & (self.top_p < 1.0)
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        return scores.masked_fill(drop, float("-inf"))
