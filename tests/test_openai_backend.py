"""The OpenAI-compatible backend against a small HTTP server on loopback started by the test."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clinqa.models.base import GenRequest
from clinqa.models.openai_backend import OpenAIBackend


class FakeServer(BaseHTTPRequestHandler):
    supports_n = True
    bodies: list = []
    fail_first: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append((self.path, body))
        if type(self).fail_first:
            type(self).fail_first.pop()
            self.send_response(503)
            self.end_headers()
            return
        if body["n"] > 1 and not type(self).supports_n:
            self.send_response(400)
            self.end_headers()
            self.wfile.write(b'{"error": "n must be 1"}')
            return
        key = "text" if self.path.endswith("/completions") and "messages" not in body else "message"
        choices = [{"text": f"sample {body.get('seed')}-{i} Answer: (B)"} if key == "text" else
                   {"message": {"content": f"sample {body.get('seed')}-{i} Answer: (B)"}} for i in range(body["n"])]
        data = json.dumps({"choices": choices, "usage": {"prompt_tokens": 5, "completion_tokens": 4 * body["n"]}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data.encode())

    def log_message(self, *a):
        pass


@pytest.fixture
def server():
    FakeServer.bodies, FakeServer.supports_n, FakeServer.fail_first = [], True, []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), FakeServer)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()


def test_n_in_one_request(server):
    be = OpenAIBackend("m", server, mode="chat")
    r = be.generate([GenRequest("q", prefix="Explanation:", n=5, temperature=0.7, seed=3, stop=("\nQuestion:",))])[0]
    assert len(r.texts) == 5 and len(FakeServer.bodies) == 1
    path, body = FakeServer.bodies[0]
    assert path == "/v1/chat/completions" and body["messages"][0]["content"] == "qExplanation:" and body["n"] == 5


def test_fallback_to_concurrent_requests_with_distinct_seeds(server):
    FakeServer.supports_n = False
    be = OpenAIBackend("m", server, mode="completions")
    r = be.generate([GenRequest("q", n=4, temperature=0.7, seed=10)])[0]
    assert len(r.texts) == 4 and len(set(r.texts)) == 4
    seeds = sorted(b["seed"] for _, b in FakeServer.bodies if b["n"] == 1)
    assert seeds == [10, 11, 12, 13], "one seed for every sample would make them identical"
    assert all(p == "/v1/completions" for p, _ in FakeServer.bodies)


def test_retries_on_503(server):
    FakeServer.fail_first = [1, 1]
    be = OpenAIBackend("m", server, mode="chat", retries=3)
    be_sleep = __import__("clinqa.models.openai_backend", fromlist=["time"]).time
    orig = be_sleep.sleep
    be_sleep.sleep = lambda s: None
    try:
        assert be.generate([GenRequest("q")])[0].texts[0].endswith("Answer: (B)")
    finally:
        be_sleep.sleep = orig
    assert len(FakeServer.bodies) == 3


def test_name_resolution(server):
    from clinqa.models import load_model
    be = load_model(f"openai:my-model@{server}")
    assert isinstance(be, OpenAIBackend) and be.model == "my-model" and be.base_url == server
