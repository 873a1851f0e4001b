"""Per-row decoding controls for batched `transformers` generation, so that a row's output does not depend on which
other rows share its batch.

- `RowSampler` (a logits processor, run last): each sampled row draws from its own `torch.Generator`, seeded once per
  sample (request seed + sample index), with its own temperature and top-p; it leaves only the drawn token possible,
  so `generate` runs greedy search and greedy rows (temperature 0) are left untouched. transformers' own sampling
  uses the one global random stream for the whole batch, which would make a sample depend on its neighbours.
- `RowMaxTokens` (a stopping criterion): each row stops at its own `max_tokens`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import LogitsProcessor, StoppingCriteria


@dataclass(frozen=True)
class RowSpec:
    temperature: float
    top_p: float
    seed: int | None
    max_tokens: int


class RowSampler(LogitsProcessor):
    def __init__(self, rows: list[RowSpec], device):
        self.rows = rows
        self.generators = []
        for r in rows:
            g = None
            if r.temperature > 0:
                g = torch.Generator(device=device)
                g.manual_seed(r.seed if r.seed is not None else int(torch.seed()) % (2 ** 63))
            self.generators.append(g)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        out = scores
        for i, (r, g) in enumerate(zip(self.rows, self.generators)):
            if g is None:
                continue
            logits = scores[i].float() / r.temperature
            probs = torch.softmax(logits, -1)
            if r.top_p < 1.0:
                sorted_p, order = torch.sort(probs, descending=True)
                cum = sorted_p.cumsum(-1)
                drop = cum - sorted_p > r.top_p          # keep the smallest prefix whose mass reaches top_p
                sorted_p[drop] = 0.0
                probs = torch.zeros_like(probs).scatter(0, order, sorted_p)
            token = torch.multinomial(probs, 1, generator=g)
            if out is scores:
                out = scores.clone()
            out[i] = float("-inf")
            out[i, token] = 0.0
        return out


class RowMaxTokens(StoppingCriteria):
    def __init__(self, prompt_len: int, limits: list[int], device):
        self.prompt_len = prompt_len
        self.limits = torch.tensor(limits, device=device)

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        return (input_ids.shape[1] - self.prompt_len) >= self.limits
