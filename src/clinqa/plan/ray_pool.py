"""Cells as Ray tasks (`clinqa run plan.yaml --ray ADDRESS|auto`): each cell is one task with the resources it needs
(a GPU for a local engine where the cluster has GPUs, none for a cell that calls a server), writing into the run root,
which every node must see (a shared file system). Ray itself does not retry: a task that raised, a worker that died
and a cell that ran past `cell_timeout_s` (cancelled) all come back as errors and the executor retries them with
backoff, so every try is counted and reported. A cell resumes from its run directory, so a retry redoes nothing that
was committed before the failure. Needs the `ray` extra (`pip install clinqa[ray]`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import ray

from clinqa.plan.execute import CellRun
from clinqa.plan.state import run_cell


def connect(address: str | None) -> None:
    """Join the cluster at `address` ("auto": the one this machine belongs to); a Ray already initialised here (a
    test's local cluster) is used as it is."""
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False)


def cluster_gpus() -> float:
    return float(ray.cluster_resources().get("GPU", 0))


def _remote_cell(runner: Callable, cell: dict, root: str) -> str:
    return runner(cell, root, None)


class RayPool:
    def __init__(self, root: Path, runner: Callable = run_cell, timeout_s: float | None = None):
        self.root, self.runner, self.timeout_s = root, runner, timeout_s
        self.task = ray.remote(max_retries=0, retry_exceptions=False)(_remote_cell)
        self.gpus = cluster_gpus()
        self.refs: dict = {}            # ObjectRef -> (cell id, started)

    def free(self) -> int:
        return 1_000_000                # Ray queues tasks until their resources are free

    def start(self, run: CellRun) -> None:
        gpus = run.cell.gpus if run.cell.gpus is not None else (1.0 if self.gpus else 0.0)
        ref = self.task.options(num_cpus=1, num_gpus=gpus, name=run.cell.id).remote(
            self.runner, run.cell.to_dict(), str(self.root.resolve()))
        self.refs[ref] = (run.cell.id, time.monotonic())

    def finished(self, timeout: float) -> list[tuple[str, str | None]]:
        if not self.refs:
            return []
        ready, _ = ray.wait(list(self.refs), num_returns=len(self.refs), timeout=timeout)
        out = []
        for ref in ready:
            cell_id, _ = self.refs.pop(ref)
            try:
                ray.get(ref)
                out.append((cell_id, None))
            except Exception as e:     # noqa: BLE001 - RayTaskError, WorkerCrashedError, TaskCancelledError ...
                out.append((cell_id, f"{type(e).__name__}: {str(e).strip().splitlines()[-1][:300]}"))
        if self.timeout_s:
            for ref, (cell_id, started) in list(self.refs.items()):
                if time.monotonic() - started > self.timeout_s:
                    ray.cancel(ref, force=True)
                    self.refs.pop(ref)
                    out.append((cell_id, f"timeout: running longer than {self.timeout_s:g}s (cancelled)"))
        return out

    def close(self) -> None:
        for ref in self.refs:
            ray.cancel(ref, force=True)
