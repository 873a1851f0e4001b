"""Shared fixtures: a tiny randomly initialised Llama with a byte-level BPE tokenizer trained here, saved to disk so
that subprocess tests can load it by path, and a scripted backend for strategy tests."""

from __future__ import annotations

import multiprocessing
import os
import socket
from pathlib import Path

import pytest

# tests never reach a model or dataset hub
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from clinqa.models.base import Backend, GenRequest, GenResult

DATA = Path(os.environ.get("CLINQA_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def free_port() -> int:
    """A TCP port free on loopback now (for servers the tests start)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(base: str, proc, log: Path, name: str, timeout: float) -> None:
    """Poll an OpenAI-compatible server started by a test (`proc`) until `{base}/models` answers 200; fail the test
    with the tail of its log if it exits or does not answer within `timeout` seconds."""
    import time

    import httpx
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{name} server exited (rc {proc.returncode}): " + log.read_text()[-3000:])
        try:
            if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.5)
    pytest.fail(f"{name} server did not start in {timeout:.0f} s: " + log.read_text()[-3000:])


def exit_codes_at_once(target, *args, processes: int = 4) -> list[int]:
    """Start `processes` forked processes running `target(*args)`, released together by a barrier; their exit codes."""
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(processes)

    def released():
        barrier.wait()
        target(*args)
    procs = [ctx.Process(target=released) for _ in range(processes)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    return [p.exitcode for p in procs]


def build_tiny_model(folder: Path, seed: int = 0) -> Path:
    from clinqa.models.random_model import build_random_model
    return build_random_model(folder, "tiny", seed)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_backend(tiny_model_dir):
    from clinqa.models import load_model
    return load_model(str(tiny_model_dir), dtype="float32")     # float32 on GPUs too: tests compare exactly


class ScriptedBackend(Backend):
    """Returns texts from a function of the request; records every request it saw."""

    name = "scripted"

    def __init__(self, respond):
        self.respond, self.requests = respond, []

    def _generate(self, requests):
        out = []
        for r in requests:
            self.requests.append(r)
            texts = [self.respond(r, i) for i in range(r.n)]
            out.append(GenResult(texts, [len(t.split()) for t in texts], 10, 0.0, rendered_prompt=r.prompt + r.prefix))
        return out


@pytest.fixture
def scripted():
    return ScriptedBackend


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"benchmark data not found at {DATA}")
    return DATA
