"""The one run loop behind `bench`, `answer` and `autorate`: items whose results are already stored are skipped, the
rest are computed (one at a time, or `concurrency` at once, their model requests gathered into batches by
`batching.Batcher`), each result is saved as soon as it is done and progress
is reported after each. A Ctrl-C or kill -9 loses at most the items in flight; re-running the same command resumes.
Results must not depend on the order or concurrency (callers derive seeds from each item's own key)."""

from __future__ import annotations

import hashlib
import threading
from typing import TYPE_CHECKING, Callable, Sequence, TypeVar

if TYPE_CHECKING:
    from clinqa.eval.batching import Batcher

T = TypeVar("T")
R = TypeVar("R")
ProgressFn = Callable[[int, int, dict], None]


def derive_seed(base: int, key: str, stage: str) -> int:
    """A seed for one item and stage, independent of which items ran before (so resumed runs reproduce)."""
    return int(hashlib.sha256(f"{base}:{key}:{stage}".encode()).hexdigest()[:8], 16)


def run_items(items: Sequence[T], key: Callable[[T], str], done: set[str], work: Callable[[T], R],
              save: Callable[[R], None], progress: ProgressFn | None = None, concurrency: int = 1,
              describe: Callable[[R], dict] = lambda r: {}, batcher: "Batcher | None" = None) -> int:
    """Compute and save every item whose key is not in `done`; returns how many were computed.

    With `concurrency` > 1, that many worker threads take items in order; they are registered with the `batcher`
    until they run out of items, so it knows when every live worker is waiting and sends their requests together."""
    todo = [it for it in items if key(it) not in done]
    total, finished = len(items), len(items) - len(todo)
    if progress:
        progress(finished, total, {})
    lock = threading.Lock()

    def finish(result: R) -> None:
        nonlocal finished
        with lock:
            save(result)
            finished += 1
            if progress:
                progress(finished, total, describe(result))

    if concurrency <= 1:
        for it in todo:
            finish(work(it))
        return len(todo)
    pending = iter(todo)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while not errors:
                with lock:
                    it = next(pending, None)
                if it is None:
                    return
                try:
                    finish(work(it))
                except BaseException as e:       # stop the others from taking new items; re-raised below
                    errors.append(e)
        finally:
            if batcher is not None:
                batcher.retire()

    threads = [threading.Thread(target=worker, daemon=True, name=f"clinqa-worker-{i}")
               for i in range(min(concurrency, len(todo)))]
    if batcher is not None:
        batcher.register(len(threads))
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.2)
    except KeyboardInterrupt:
        errors.append(KeyboardInterrupt())       # workers stop; results already saved stay saved
        raise
    if errors:
        raise errors[0]
    return len(todo)
