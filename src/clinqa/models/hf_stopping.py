"""When each row of a batched decode ends: its end-of-sequence token, its own `max_tokens`, or a stop string.

`ends[r]` holds the number of tokens row r keeps (initially its token limit). End-of-sequence tokens are checked on
the device after every step, for all rows at once; stop strings need text, so they are checked on the host every few
steps (`RowStops.sync`) by decoding only the tail of each live row that the new tokens could have completed. A row
that hit a stop string keeps the tokens up to the one that completed it. Every decision depends only on the row's own
tokens and on the step count, so a row ends at the same token whatever else is in its batch.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch


class RowStops:
    def __init__(self, limits: Sequence[int], eos_ids: Sequence[int], stop: Sequence[str],
                 decode_batch: Callable[[list[list[int]]], list[str]], device):
        self.ends = torch.tensor(list(limits), dtype=torch.long, device=device)
        self.eos = torch.tensor(sorted(set(eos_ids)) or [-1], dtype=torch.long, device=device)
        self.stop = [s for s in stop if s]
        self.decode_batch = decode_batch
        self.device = device
        self.tokens: list[list[int]] = [[] for _ in limits]        # host copy of each row's tokens so far
        self.checked = 0                                              # tokens per row already searched for stops
        self.margin = 4 * max((len(s) for s in self.stop), default=0) + 4   # tokens a stop string can span

    def after_step(self, token: torch.Tensor, step: int) -> None:
        """Device-side: a row whose token at `step` is end-of-sequence keeps `step + 1` tokens (if not ended yet)."""
        hit = torch.isin(token, self.eos) & (self.ends > step)
        self.ends = torch.where(hit, step + 1, self.ends)

    def sync(self, out: torch.Tensor, steps_done: int) -> bool:
        """Host-side, after `steps_done` steps (`out[:, :steps_done]` holds the tokens): check stop strings in the new
        tokens; True when every row has ended."""
        if self.stop:
            ends = self.ends.tolist()
            for row, tail in zip(self.tokens, out[:, self.checked:steps_done].tolist()):
                row.extend(tail)
            live = [r for r in range(len(ends)) if ends[r] > self.checked]
            start = max(0, self.checked - self.margin)
            tails = self.decode_batch([self.tokens[r][start:min(ends[r], steps_done)] for r in live])
            hits = [r for r, text in zip(live, tails) if any(s in text for s in self.stop)]
            for r in hits:
                ends[r] = self._stop_end(self.tokens[r], start, min(ends[r], steps_done))
            self.checked = steps_done
            if hits:
                self.ends = torch.tensor(ends, dtype=torch.long, device=self.device)
        return bool((self.ends <= steps_done).all())

    def _stop_end(self, row: list[int], start: int, upto: int) -> int:
        """The smallest k in (checked, upto] such that row[start:k] holds a stop string (row[start:upto] does)."""
        texts = self.decode_batch([row[start:k] for k in range(self.checked + 1, upto + 1)])
        return next((k for k, text in zip(range(self.checked + 1, upto + 1), texts)
                     if any(s in text for s in self.stop)), upto)

    def rows(self, out: torch.Tensor, steps_done: int) -> list[list[int]]:
        """Each row's kept tokens."""
        ends = self.ends.clamp(max=steps_done).tolist()
        return [row[:k] for row, k in zip(out[:, :steps_done].tolist(), ends)]
