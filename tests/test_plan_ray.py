"""`clinqa run --ray`: cells as Ray tasks on a local cluster this test starts (two CPU worker slots). One cell's worker
is killed (SIGKILL) halfway through; the cell is retried and finishes with every item written exactly once (nothing
lost, nothing written twice), the cell that always fails is reported after its last try, and the others finish.
The cell runner is a fast fake that writes answers into an ordinary run directory one by one, resuming like the
real cells do."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

import clinqa

ray = pytest.importorskip("ray", reason="the ray extra (pip install 'clinqa[ray]')")

from clinqa.plan.execute import Executor  # noqa: E402
from clinqa.plan.expand import Cell  # noqa: E402
from clinqa.plan.ray_pool import RayPool  # noqa: E402
from clinqa.eval.store import Store  # noqa: E402

ITEMS = 6


def fake_cell(cell: dict, root: str, progress) -> str:
    """Writes ITEMS answers, skipping those already in the store; the victim stops halfway on its first try and
    waits to be killed; "broken" always raises."""
    run_dir = Path(root) / cell["run_dir"]
    if cell["id"] == "broken":
        raise RuntimeError("backend error")
    store = Store(run_dir)
    done = store.done_answers("fake")
    for i in range(ITEMS):
        qid = f"q{i}"
        if qid in done:
            continue
        store.save_answer(dict(qid=qid, source="fake", dataset="t", question="?", text=f"answer {i}", model=None,
                               prompt=None, params={}, tokens=1, seconds=0.0, extra={}))
        with open(run_dir / "writes.log", "a") as fh:            # every write, to count duplicates
            fh.write(f"{qid}\n")
        if cell["id"] == "victim" and i == ITEMS // 2 - 1 and not (run_dir / "pid").exists():
            (run_dir / "pid").write_text(str(os.getpid()))
            time.sleep(60)                                        # the test kills this worker here
    return cell["id"]


@pytest.fixture
def local_cluster():
    src = str(Path(clinqa.__file__).parents[1])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}})
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])   # the fake runner travels by value
    yield
    ray.shutdown()


def kill_when_ready(pid_file: Path, killed: list) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if pid_file.is_file() and pid_file.read_text():
            pid = int(pid_file.read_text())
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            return
        time.sleep(0.1)


def test_worker_killed_mid_cell_finishes_on_retry(tmp_path, local_cluster):
    cells = [Cell(name, "answers", name, {}, gpus=0.0) for name in ("victim", "fine-1", "fine-2", "broken")]
    killed: list = []
    watcher = threading.Thread(target=kill_when_ready, args=(tmp_path / "victim" / "pid", killed))
    watcher.start()
    runs = Executor(cells, RayPool(tmp_path, fake_cell), tries=3, backoff_s=0.1).run()
    watcher.join()
    assert killed, "the victim's worker was never killed"
    assert {k: r.status for k, r in runs.items()} == {"victim": "done", "fine-1": "done", "fine-2": "done",
                                                      "broken": "failed"}
    assert runs["victim"].attempts == 2 and runs["fine-1"].attempts == 1 and runs["broken"].attempts == 3
    assert "backend error" in runs["broken"].error
    for name in ("victim", "fine-1", "fine-2"):
        writes = (tmp_path / name / "writes.log").read_text().split()
        assert sorted(writes) == [f"q{i}" for i in range(ITEMS)]          # each item written once: none lost or redone
        assert sorted(a["qid"] for a in Store.open_existing(tmp_path / name).answers()) == sorted(writes)
