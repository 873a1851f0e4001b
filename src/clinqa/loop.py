"""The one run loop behind `bench`, `answer` and `autorate`: items whose results are already stored are skipped, the
rest are computed (one at a time, or `concurrency` at once), each result is saved as soon as it is done and progress
is reported after each. A Ctrl-C or kill -9 loses at most the items in flight; re-running the same command resumes.
Results must not depend on the order or concurrency (callers derive seeds from each item's own key)."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")
ProgressFn = Callable[[int, int, dict], None]


def derive_seed(base: int, key: str, stage: str) -> int:
    """A seed for one item and stage, independent of which items ran before (so resumed runs reproduce)."""
    return int(hashlib.sha256(f"{base}:{key}:{stage}".encode()).hexdigest()[:8], 16)


def run_items(items: Sequence[T], key: Callable[[T], str], done: set[str], work: Callable[[T], R],
              save: Callable[[R], None], progress: ProgressFn | None = None, concurrency: int = 1,
              describe: Callable[[R], dict] = lambda r: {}) -> int:
    """Compute and save every item whose key is not in `done`; returns how many were computed."""
    todo = [it for it in items if key(it) not in done]
    total, finished = len(items), len(items) - len(todo)
    if progress:
        progress(finished, total, {})

    def finish(result: R) -> None:
        nonlocal finished
        save(result)
        finished += 1
        if progress:
            progress(finished, total, describe(result))

    if concurrency <= 1:
        for it in todo:
            finish(work(it))
        return len(todo)
    pool = ThreadPoolExecutor(max_workers=concurrency)
    try:
        for fut in as_completed([pool.submit(work, it) for it in todo]):
            finish(fut.result())
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return len(todo)
