"""The OpenAI-compatible backend (official SDK) against a small HTTP server on loopback started by the test: n in one
request, assistant-turn prefill with fallback, retries, exact per-sample token counts, streaming."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clinqa.models.base import GenRequest
from clinqa.models.openai_backend import OpenAIBackend


class FakeServer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    supports_n = supports_prefill = supports_logprobs = True
    bodies: list = []
    fail_first: list = []

    def _send(self, status: int, payload: dict | None = None, headers: dict | None = None):
        data = json.dumps(payload or {"error": {"message": "refused"}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        cls = type(self)
        cls.bodies.append((self.path, body))
        if cls.fail_first:
            cls.fail_first.pop()
            return self._send(503, headers={"Retry-After": "0"})
        if body.get("n", 1) > 1 and not cls.supports_n:
            return self._send(400)
        if body.get("continue_final_message") and not cls.supports_prefill:
            return self._send(400)
        if body.get("logprobs") is not None and not cls.supports_logprobs:
            return self._send(400)
        chat = self.path.endswith("/chat/completions")
        texts = [f"sample {body.get('seed')}-{i} " + "word " * i + "Answer: (B)" for i in range(body.get("n", 1))]
        if body.get("stream"):
            return self._stream(texts[0], chat)
        choices = []
        for i, t in enumerate(texts):
            toks = t.split(" ")
            c = {"index": i, "finish_reason": "stop"}
            if chat:
                c["message"] = {"role": "assistant", "content": t}
                c["logprobs"] = {"content": [{"token": w, "logprob": -1.0, "bytes": None, "top_logprobs": []}
                                             for w in toks]} if body.get("logprobs") else None
            else:
                c["text"] = t
                c["logprobs"] = {"tokens": toks, "token_logprobs": [-1.0] * len(toks), "top_logprobs": None,
                                 "text_offset": []} if body.get("logprobs") is not None else None
            choices.append(c)
        total = sum(len(t.split(" ")) for t in texts)
        self._send(200, {"id": "x", "object": "chat.completion" if chat else "text_completion", "created": 0,
                         "model": body["model"], "choices": choices,
                         "usage": {"prompt_tokens": 5, "completion_tokens": total, "total_tokens": total + 5}})

    def _stream(self, text: str, chat: bool):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for w in text.split(" "):
            piece = w + " "
            c = {"index": 0, "delta": {"content": piece}} if chat else {"index": 0, "text": piece}
            chunk = {"id": "x", "object": "chat.completion.chunk" if chat else "text_completion", "created": 0,
                     "model": "m", "choices": [c]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *a):
        pass


@pytest.fixture
def server():
    FakeServer.bodies, FakeServer.fail_first = [], []
    FakeServer.supports_n = FakeServer.supports_prefill = FakeServer.supports_logprobs = True
    srv = ThreadingHTTPServer(("127.0.0.1", 0), FakeServer)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()


def test_n_in_one_request_with_assistant_prefill(server):
    be = OpenAIBackend("m", server, mode="chat")
    r = be.generate([GenRequest("q", prefix="Explanation:", n=5, temperature=0.7, seed=3, stop=("\nQuestion:",))])[0]
    assert len(r.texts) == 5 and len(FakeServer.bodies) == 1
    path, body = FakeServer.bodies[0]
    assert path == "/v1/chat/completions" and body["n"] == 5
    # the CoT lead starts the assistant's turn; it is not appended to the question
    assert body["messages"] == [{"role": "user", "content": "q"}, {"role": "assistant", "content": "Explanation:"}]
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert "assistant prefill" in be.describe()["prefill"] and "assistant prefill" in r.meta["prefill"]


def test_prefill_falls_back_to_the_user_turn_and_says_so(server):
    FakeServer.supports_prefill = False
    be = OpenAIBackend("m", server, mode="chat")
    r = be.generate([GenRequest("q", prefix="Explanation:")])[0]
    assert r.texts[0].endswith("Answer: (B)")
    assert FakeServer.bodies[-1][1]["messages"] == [{"role": "user", "content": "qExplanation:"}]
    assert "user turn" in be.describe()["prefill"]
    be.generate([GenRequest("q2", prefix="Explanation:")])        # no second attempt at prefill
    assert "continue_final_message" not in FakeServer.bodies[-1][1]


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
    assert be.generate([GenRequest("q")])[0].texts[0].endswith("Answer: (B)")
    assert len(FakeServer.bodies) == 3


@pytest.mark.parametrize("mode", ["chat", "completions"])
def test_per_sample_token_counts_are_exact(server, mode):
    r = OpenAIBackend("m", server, mode=mode).generate([GenRequest("q", n=3, temperature=0.7, seed=1)])[0]
    assert r.completion_tokens == [len(t.split(" ")) for t in r.texts]
    assert len(set(r.completion_tokens)) == 3 and r.meta["token_counts"] == "exact"


def test_token_counts_marked_as_averages_without_logprobs(server):
    FakeServer.supports_logprobs = False
    r = OpenAIBackend("m", server, mode="chat").generate([GenRequest("q", n=3, temperature=0.7, seed=1)])[0]
    assert len(set(r.completion_tokens)) == 1 and r.meta["token_counts"] == "average"


@pytest.mark.parametrize("mode", ["chat", "completions"])
def test_streaming_yields_pieces_as_they_arrive(server, mode):
    be = OpenAIBackend("m", server, mode=mode)
    pieces = list(be.stream(GenRequest("q", seed=7, stop=("Answer:",))))
    assert len(pieces) >= 2, "the answer must arrive in pieces, not whole"
    assert "".join(pieces) == "sample 7-0 " and FakeServer.bodies[-1][1]["stream"] is True


def test_name_resolution(server):
    from clinqa.models import load_model
    be = load_model(f"openai:my-model@{server}")
    assert isinstance(be, OpenAIBackend) and be.model == "my-model" and be.base_url == server
