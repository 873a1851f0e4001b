"""The scheduler between many questions in flight and one backend: it gathers their requests into backend batches.

Each question runs in its own worker thread and calls `generate` / `loglikelihood` as if it had the model to itself;
the call waits while a dispatcher thread collects requests. Once every live worker is waiting (or `max_batch`
requests are queued), all queued generation requests go to the backend in one `generate` call and all queued scoring
pairs in one `loglikelihood` call, so ER stage 1 of one question is decoded beside stage 2 of another. The backend
cuts a call into batches by its own memory budget.

Results do not depend on batching: every request carries its own seed, and the backends decode each row
independently of its neighbours (tested). Only the dispatcher thread calls the backend, so backends that are not
thread safe are safe here. An exception inside the backend is raised in every question whose request was in the
failing call. One batcher can serve several backends (the model under test and its grader): `channel(backend)` is
the grader's way in, and a dispatch sends each backend's queued requests in one call of its own.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import Future
from typing import Iterator, Sequence

from clinqa.models.base import Backend, GenRequest, GenResult


@contextlib.contextmanager
def batched(backend: Backend | None, concurrency: int | None) -> Iterator[tuple[int, "Batcher | None"]]:
    """Yield (questions in flight, batcher): `concurrency`, or the backend's own `default_concurrency`, and a Batcher
    over the backend when more than one question is in flight (else None: questions call the backend directly).
    The batcher is closed on the way out; after Ctrl-C or a failure without waiting for a batch still in the engine."""
    conc = concurrency or (backend.default_concurrency if backend is not None else 1)
    batcher = Batcher(backend) if conc > 1 and backend is not None else None
    try:
        yield conc, batcher
    except BaseException:
        if batcher is not None:
            batcher.close(wait=False)
        raise
    if batcher is not None:
        batcher.close()


class Channel:
    """A backend as the questions in flight see it: its calls queue in the batcher; its other attributes (name,
    capabilities) are the backend's own."""

    def __init__(self, batcher: "Batcher", backend: Backend):
        self._batcher, self._backend = batcher, backend

    def generate(self, requests: Sequence[GenRequest]) -> list[GenResult]:
        return self._batcher._call(self._backend, "gen", list(requests))

    def loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return self._batcher._call(self._backend, "ll", list(pairs))

    def __getattr__(self, name):
        return getattr(self._backend, name)


class Batcher:
    def __init__(self, backend: Backend, max_batch: int = 1024):
        self.backend, self.max_batch = backend, max_batch
        self._cv = threading.Condition()
        self._queue: list[tuple[Backend, str, object, Future]] = []
        self._workers = 0                 # registered worker threads that have not retired
        self._closed = False
        self._thread = threading.Thread(target=self._dispatch, name="clinqa-batcher", daemon=True)
        self._thread.start()

    def __getattr__(self, name):
        """Capabilities and name are the backend's: the batcher stands in for it."""
        if name == "backend":
            raise AttributeError(name)
        return getattr(self.backend, name)

    # -- what questions call ---------------------------------------------------------------------------------------
    def generate(self, requests: Sequence[GenRequest]) -> list[GenResult]:
        return self._call(self.backend, "gen", list(requests))

    def loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return self._call(self.backend, "ll", list(pairs))

    def channel(self, backend: Backend) -> Channel:
        """Another backend (a grader) whose requests wait for the same dispatch as the model's."""
        return Channel(self, backend)

    def _call(self, backend: Backend, kind: str, payload):
        fut: Future = Future()
        with self._cv:
            if self._closed:
                raise RuntimeError("batcher is closed")
            self._queue.append((backend, kind, payload, fut))
            self._cv.notify_all()
        return fut.result()

    def register(self, k: int) -> None:
        """`k` worker threads will submit requests (registered before they start, so none is missed)."""
        with self._cv:
            self._workers += k

    def retire(self) -> None:
        """A registered worker has finished and will submit nothing more."""
        with self._cv:
            self._workers -= 1
            self._cv.notify_all()

    def close(self, wait: bool = True) -> None:
        """No more requests; with `wait`, return once the dispatcher has delivered what it holds."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        if wait:
            self._thread.join()

    # -- the dispatcher --------------------------------------------------------------------------------------------
    def _ready(self) -> bool:
        return self._closed or (bool(self._queue) and (len(self._queue) >= max(1, self._workers)
                                                        or len(self._queue) >= self.max_batch))

    def _dispatch(self) -> None:
        while True:
            with self._cv:
                self._cv.wait_for(self._ready)
                batch, self._queue = self._queue, []
                if not batch and self._closed:
                    return
            self._run(batch)

    def _run(self, batch: list[tuple[Backend, str, object, Future]]) -> None:
        backends = list({id(b): b for b, *_ in batch}.values())
        for backend in backends:
            gens = [(p, f) for b, k, p, f in batch if b is backend and k == "gen"]
            scores = [(p, f) for b, k, p, f in batch if b is backend and k == "ll"]
            if gens:
                self._deliver(gens, backend.generate)
            if scores:
                self._deliver(scores, backend.loglikelihood)

    def _deliver(self, items: list[tuple[list, Future]], call) -> None:
        """One backend call for the requests of all `items`; each item gets back its own slice of the results."""
        flat, spans = [], []
        for payload, _ in items:
            spans.append((len(flat), len(flat) + len(payload)))
            flat.extend(payload)
        try:
            out = call(flat)
        except BaseException as e:        # every waiting question sees the failure
            for _, fut in items:
                fut.set_exception(e)
            return
        for (_, fut), (a, b) in zip(items, spans):
            fut.set_result(out[a:b])
