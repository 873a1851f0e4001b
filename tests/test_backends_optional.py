"""Optional backends: llama.cpp (llama-cpp-python, and its OpenAI-compatible server on loopback) and vLLM (GPU).
Each test skips cleanly where its package (or a GPU) is missing; CI installs llama-cpp-python, never vLLM."""

import importlib.util
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from clinqa.models.base import GenRequest
from clinqa.models.chat import render_with_template

TEMPLATE = ("{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{{ eos_token }}{% endfor %}"
            "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def test_chat_rendering_matches_transformers(tiny_model_dir):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.chat_template = TEMPLATE
    req = GenRequest("Which drug?", prefix="Explanation:")
    ref = tok.apply_chat_template([{"role": "user", "content": "Which drug?"}], tokenize=False, add_generation_prompt=True)
    assert render_with_template(TEMPLATE, req, "", tok.eos_token) == ref + "Explanation:"
    assert render_with_template(None, req) == "Which drug?Explanation:"


needs_llamacpp = pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python not installed")


@pytest.fixture(scope="module")
def smollm_gguf():
    from clinqa.models.resolve import ModelNotFound, embedded_gguf
    try:
        return embedded_gguf("smollm2-135m-instruct")
    except ModelNotFound as e:
        pytest.skip(str(e))


@needs_llamacpp
def test_llamacpp_samples_and_seeds(smollm_gguf):
    from clinqa.models import load_model
    be = load_model("llamacpp:smollm2-135m-instruct")
    assert be.chat, "the GGUF carries a chat template"
    req = GenRequest("Name one symptom of influenza.", n=4, temperature=1.0, max_tokens=16, seed=5)
    a, b = be.generate([req])[0], be.generate([req])[0]
    assert len(set(a.texts)) > 1, "n samples at T>0 must differ"
    assert a.texts == b.texts, "a fixed seed reproduces the set"
    g = be.generate([GenRequest("Say hello.", n=3, max_tokens=8)])[0]
    assert len(set(g.texts)) == 1 and len(g.texts) == 3 and g.prompt_tokens > 0
    assert "".join(be.stream(GenRequest("Say hello.", max_tokens=8))) == g.texts[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_llamacpp
def test_openai_backend_against_llama_cpp_server(smollm_gguf, tmp_path):
    pytest.importorskip("uvicorn")
    port = _free_port()
    log = open(tmp_path / "server.log", "w")
    srv = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(smollm_gguf), "--host", "127.0.0.1",
                            "--port", str(port), "--n_ctx", "2048", "--model_alias", "smol"], stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            pytest.fail("llama.cpp server did not start: " + (tmp_path / "server.log").read_text()[-2000:])
        from clinqa.models import load_model
        be = load_model(f"openai:smol@{base}", chat_template=False)     # /v1/completions
        r = be.generate([GenRequest("Question: what is a fever?\nAnswer:", n=3, temperature=1.0, max_tokens=12,
                                    seed=7)])[0]
        assert len(r.texts) == 3 and len(set(r.texts)) > 1, "samples from the server must differ"
        chat = load_model(f"openai:smol@{base}")                        # /v1/chat/completions
        c = chat.generate([GenRequest("Say hello in one word.", max_tokens=8)])[0]
        assert c.texts[0].strip()
    finally:
        srv.terminate()
        srv.wait(timeout=30)
        log.close()


def _gpu() -> bool:
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


@pytest.mark.skipif(importlib.util.find_spec("vllm") is None or not _gpu(), reason="vLLM and a GPU are needed")
def test_vllm_samples_differ_and_prefix_cache(tiny_model_dir):
    from clinqa.models import load_model
    be = load_model(f"vllm:{os.environ.get('CLINQA_VLLM_TEST_MODEL', tiny_model_dir)}")
    req = GenRequest("Question: which drug?", n=8, temperature=1.0, max_tokens=12, seed=3)
    a, b = be.generate([req])[0], be.generate([req])[0]
    assert len(set(a.texts)) > 1 and a.texts == b.texts
    assert len(be.loglikelihood([("Question: which drug? Answer:", " (A)")])) == 1
