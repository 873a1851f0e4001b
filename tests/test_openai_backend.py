"""The OpenAI-compatible backend (official SDK) against a small HTTP server on loopback started by the test: n in one
request, assistant-turn prefill with fallback, retries, exact per-sample token counts, streaming, a batch run
concurrently up to `max_concurrency`, log-likelihoods from echoed prompt log-probabilities (span found by text
offsets) and the one-line refusal of servers that cannot echo; then, slow, the same scores from a real llama.cpp
server against the hf backend on MedQA."""

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clinqa.models.base import GenRequest
from clinqa.models.openai_backend import LoglikelihoodUnsupported, OpenAIBackend, ServerUnreachable


def fake_tokens(text: str) -> list[str]:
    """The fake server's tokeniser: each run of non-space characters with the white space before it."""
    return re.findall(r"\s*\S+|\s+$", text)


class FakeServer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    supports_n = supports_prefill = supports_logprobs = supports_echo = supports_response_format = True
    chat_only = False
    delay = 0.0
    bodies: list = []
    fail_first: list = []
    in_flight = peak = 0
    lock = threading.Lock()

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
        with cls.lock:
            cls.bodies.append((self.path, body))
            cls.in_flight += 1
            cls.peak = max(cls.peak, cls.in_flight)
        try:
            time.sleep(cls.delay)
            self._answer(body)
        finally:
            with cls.lock:
                cls.in_flight -= 1

    def _answer(self, body):
        cls = type(self)
        if cls.chat_only and self.path.endswith("/v1/completions"):
            return self._send(404, {"detail": "Not Found"})
        if body.get("echo"):
            return self._echo(body) if cls.supports_echo else self._send(
                400, {"error": {"message": "echo is not supported\nwith this model", "type": "invalid_request_error"}})
        if cls.fail_first:
            cls.fail_first.pop()
            return self._send(503, headers={"Retry-After": "0"})
        if body.get("n", 1) > 1 and not cls.supports_n:
            return self._send(400)
        if body.get("continue_final_message") and not cls.supports_prefill:
            return self._send(400)
        if body.get("logprobs") is not None and not cls.supports_logprobs:
            return self._send(400)
        if body.get("response_format") and not cls.supports_response_format:
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

    def _echo(self, body):
        """The prompt's tokens with log-probability -(i + 1) for token i (None for the first), then one new token."""
        toks = fake_tokens(body["prompt"]) + [" new"]
        offsets = [sum(map(len, toks[:i])) for i in range(len(toks))]
        lps = [None] + [-float(i + 1) for i in range(1, len(toks))]
        choice = {"index": 0, "finish_reason": "length", "text": body["prompt"] + " new",
                  "logprobs": {"tokens": toks, "token_logprobs": lps, "text_offset": offsets,
                               "top_logprobs": [None] + [{t: lp} for t, lp in zip(toks[1:], lps[1:])]}}
        self._send(200, {"id": "x", "object": "text_completion", "created": 0, "model": body["model"],
                         "choices": [choice], "usage": {"prompt_tokens": len(toks) - 1, "completion_tokens": 1,
                                                        "total_tokens": len(toks)}})

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
    FakeServer.supports_n = FakeServer.supports_prefill = FakeServer.supports_logprobs = FakeServer.supports_echo = True
    FakeServer.supports_response_format = True
    FakeServer.chat_only, FakeServer.delay, FakeServer.in_flight, FakeServer.peak = False, 0.0, 0, 0
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


def test_chat_render_shows_the_messages_sent(server):
    be = OpenAIBackend("m", server, mode="chat")
    r = be.generate([GenRequest("q?", prefix="Explanation:")])[0]
    assert r.rendered_prompt == be.render(GenRequest("q?", prefix="Explanation:")) == \
        "[user]\nq?\n[assistant (continued)]\nExplanation:"
    assert OpenAIBackend("m", server, mode="completions").render(GenRequest("q?", prefix="A:")) == "q?A:"


def test_greedy_copies_and_stop_strings_come_from_the_base_class(server):
    be = OpenAIBackend("m", server, mode="completions")
    r = be.generate([GenRequest("q", n=3, temperature=0.0, seed=5, stop=("Answer:",))])[0]
    assert [b["n"] for _, b in FakeServer.bodies] == [1], "a greedy request is decoded once"
    assert r.texts == ["sample 5-0 "] * 3 and len(r.completion_tokens) == 3


def test_a_batch_runs_concurrently_up_to_max_concurrency(server):
    FakeServer.delay = 0.3
    be = OpenAIBackend("m", server, mode="completions", max_concurrency=3)
    t0 = time.perf_counter()
    out = be.generate([GenRequest(f"q{i}", seed=i) for i in range(6)])
    took = time.perf_counter() - t0
    assert [r.texts[0] for r in out] == [f"sample {i}-0 Answer: (B)" for i in range(6)], "results in request order"
    assert FakeServer.peak == 3, "at most max_concurrency requests in flight, and that many used"
    assert took < 6 * 0.3 * 0.75, took
    assert OpenAIBackend.thread_safe and OpenAIBackend.supports_batching and OpenAIBackend.default_concurrency == 8


def test_concurrency_limit_holds_across_threads_and_sample_top_ups(server):
    FakeServer.delay, FakeServer.supports_n = 0.1, False
    be = OpenAIBackend("m", server, mode="chat", max_concurrency=2)
    threads = [threading.Thread(target=be.generate, args=([GenRequest("q", n=3, temperature=0.7, seed=s)],))
               for s in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert FakeServer.peak == 2 and sum(b["n"] == 1 for _, b in FakeServer.bodies) == 9


def test_loglikelihood_sums_exactly_the_continuation_tokens(server):
    be = OpenAIBackend("m", server, mode="chat")      # scoring always goes to /v1/completions, raw text
    ctx = "Question: fever?\nAnswer:"                  # tokens 0..2; the continuation starts at token 3 (-4.0)
    got = be.loglikelihood([(ctx, " (B)"), (ctx, " (B) amoxicillin"), (ctx + " ", "(B)")])
    assert got == [-4.0, -4.0 - 5.0, -4.0], "the echoed new token (-5 or -6) is never counted"
    assert sorted(b["prompt"] for _, b in FakeServer.bodies) == sorted([ctx + " (B)", ctx + " (B) amoxicillin", ctx + " (B)"])
    assert all(p == "/v1/completions" and b["echo"] is True and b["logprobs"] == 1 and b["max_tokens"] == 1
               and b["temperature"] == 0 for p, b in FakeServer.bodies)
    # a server token that spans the boundary ("Answer: (" | "B)" -> " (B)") holds continuation text: it is counted
    assert be.loglikelihood([("Question: fever?\nAnswer: (", "B)")]) == [-4.0]


@pytest.mark.parametrize("server_kind", ["refuses echo", "chat only"])
def test_loglikelihood_refused_in_one_line_naming_the_server(server, server_kind):
    FakeServer.supports_echo = server_kind != "refuses echo"
    FakeServer.chat_only = server_kind == "chat only"
    be = OpenAIBackend("gpt-x", server, mode="chat", retries=0)
    with pytest.raises(LoglikelihoodUnsupported) as e:
        be.loglikelihood([("Answer:", " A"), ("Answer:", " B")])
    msg = str(e.value)
    assert "\n" not in msg and server in msg and "gpt-x" in msg and "cannot score log-likelihoods" in msg
    assert ("HTTP 400" in msg and "echo is not supported with this model" in msg) if server_kind == "refuses echo" \
        else "HTTP 404" in msg
    n = len(FakeServer.bodies)
    with pytest.raises(LoglikelihoodUnsupported):
        be.loglikelihood([("Answer:", " C")])
    assert len(FakeServer.bodies) == n, "the refusal is remembered, not asked again"
    from clinqa.models.resolve import check_capabilities
    check_capabilities(f"openai:gpt-x@{server}", loglikelihood=True)     # per class, before loading: allowed


def test_loglik_bench_through_the_backend_refuses_in_one_line(server, tmp_path, data_dir):
    FakeServer.chat_only = True
    from typer.testing import CliRunner

    from clinqa.cli import app
    res = CliRunner().invoke(app, ["bench", "--task", "medqa", "--strategy", "loglik", "--limit", "1", "--model",
                                   f"openai:m@{server}", "--data-dir", str(data_dir), "--run-dir", str(tmp_path / "r")])
    assert res.exit_code == 2 and "cannot score log-likelihoods" in res.output and "Traceback" not in res.output


def test_an_unreachable_server_is_one_line():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/v1"      # bound, not listening: connection refused
        be = OpenAIBackend("m", url, mode="completions", retries=0)
        for call in (lambda: be.generate([GenRequest("q")]), lambda: be.loglikelihood([("Answer:", " A")])):
            with pytest.raises(ServerUnreachable, match="is not reachable") as e:
                call()
            assert url in str(e.value) and "\n" not in str(e.value)


def test_json_schema_goes_as_response_format_and_falls_back_once(server):
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    req = GenRequest("Rate it.", max_tokens=8, json_schema=json.dumps(schema))
    be = OpenAIBackend("m", server, mode="chat")
    assert be.supports_json_schema and not OpenAIBackend("m", server, mode="completions").supports_json_schema
    be.generate([req])
    sent = FakeServer.bodies[-1][1]["response_format"]
    assert sent == {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema, "strict": True}}
    assert be.describe()["json_schema"] == "response_format"
    FakeServer.supports_response_format = False
    try:
        refusing = OpenAIBackend("m", server, mode="chat")
        assert refusing.generate([req])[0].texts[0].startswith("sample")
        assert refusing.generate([req])[0].texts
        assert [("response_format" in b) for _, b in FakeServer.bodies[-3:]] == [True, False, False]
        assert refusing.describe()["json_schema"] == "refused by the server: free text"
    finally:
        FakeServer.supports_response_format = True
