"""Optional backends: llama.cpp (llama-cpp-python, and its OpenAI-compatible server on loopback) and vLLM (GPU).
Each test skips cleanly where its package (or a GPU) is missing; CI installs llama-cpp-python, never vLLM."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import free_port, wait_for_server

from clinqa.models.base import GenRequest


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


@needs_llamacpp
def test_llamacpp_samples_do_not_depend_on_their_batch(smollm_gguf):
    """Requests decoded together (what --concurrency N hands the backend), alone, and in waves of 2 sequences give the
    same texts; a sample on the prompt's copied KV cache equals the same seed drawn on a fresh prefill."""
    from clinqa.models import load_model
    be, narrow = load_model("llamacpp:smollm2-135m-instruct"), load_model("llamacpp:smollm2-135m-instruct?seqs=2")
    reqs = [GenRequest("What is the first-line drug for hypertension?", n=3, temperature=0.7, max_tokens=40, seed=1),
            GenRequest("Explain asthma in one sentence.", n=5, temperature=0.7, max_tokens=40, seed=9),
            GenRequest("List three antibiotics.", max_tokens=40)]
    together = [r.texts for r in be.generate(reqs)]
    assert together == [be.generate([r])[0].texts for r in reqs] == [r.texts for r in narrow.generate(reqs)]
    assert len(set(together[1])) == 5
    fresh = be.generate([GenRequest("Explain asthma in one sentence.", temperature=0.7, max_tokens=40, seed=12)])[0]
    assert fresh.texts[0] == together[1][3]
    assert narrow.describe()["seqs"] == 2


CONCURRENT = r"""
import json
from concurrent.futures import ThreadPoolExecutor
from clinqa.models import load_model
from clinqa.models.base import GenRequest
be = load_model("llamacpp:smollm2-135m-instruct")
reqs = [GenRequest(f"Name one symptom of disease number {i}.", max_tokens=10) for i in range(6)]
reqs += [GenRequest("Name a fruit.", n=3, temperature=1.0, max_tokens=8, seed=s) for s in (1, 2)]
ctxs = [f"Question: patient {i} has a fever. Which drug?\n(A) aspirin (B) insulin\nAnswer:" for i in range(4)]
def gen(r):
    return be.generate([r])[0].texts
def score(c):
    return be.loglikelihood([(c, " (A)"), (c, " (B)")])
seq = [gen(r) for r in reqs], [score(c) for c in ctxs]
with ThreadPoolExecutor(3) as pool:
    jobs = [pool.submit(gen, r) for r in reqs] + [pool.submit(score, c) for c in ctxs]
    par = [j.result() for j in jobs[:len(reqs)]], [j.result() for j in jobs[len(reqs):]]
print(json.dumps({"seq": seq, "par": par}))
"""


@needs_llamacpp
def test_llamacpp_is_safe_and_unchanged_under_concurrent_calls(smollm_gguf):
    """Several threads on one backend (what `clinqa bench --concurrency 3` does): no abort, and every result equals the
    one-at-a-time result. Runs in a child process, since the unguarded failure is a GGML_ASSERT that kills it."""
    p = subprocess.run([sys.executable, "-c", CONCURRENT], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"concurrent calls crashed the process (rc {p.returncode}): {p.stderr[-1500:]}"
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["par"][0] == out["seq"][0]
    np.testing.assert_allclose(out["par"][1], out["seq"][1], rtol=0, atol=1e-4)
    assert len(set(map(tuple, out["seq"][1]))) == 4, "each context has its own scores"


@needs_llamacpp
def test_llamacpp_threads_default_and_option(smollm_gguf):
    from clinqa.models import load_model
    assert load_model("llamacpp:smollm2-135m-instruct").llm.n_threads == 1   # shared CPUs: spin-waiting threads collapse
    be = load_model("llamacpp:smollm2-135m-instruct?threads=2")
    assert (be.llm.n_threads, be.llm.n_threads_batch, be.describe()["threads"]) == (2, 2, 2)


@pytest.fixture(scope="module")
def smollm_llamacpp(smollm_gguf):
    from clinqa.models import load_model
    return load_model("llamacpp:smollm2-135m-instruct")


@needs_llamacpp
def test_llamacpp_loglikelihood_equals_a_full_forward(smollm_llamacpp, smollm_gguf):
    """Against llama.cpp itself with logits for every position (logits_all=True), scoring whole sequences."""
    from llama_cpp import Llama
    ref = Llama(model_path=str(smollm_gguf), n_ctx=512, n_threads=1, logits_all=True, verbose=False)
    ctx = "Question: A 30-year-old woman has a fever and a cough. Which drug?\n(A) amoxicillin (B) insulin\nAnswer:"
    conts = [" (A)", " (B)", " (A) amoxicillin", " insulin is the answer"]
    got = smollm_llamacpp.loglikelihood([(ctx, c) for c in conts] + [(ctx + " ", "(B)")])
    for c, g in zip(conts + [" (B)"], got):
        whole = ref.tokenize((ctx + c).encode(), add_bos=True, special=True)
        n_ctx_tokens = len(ref.tokenize(ctx.encode(), add_bos=True, special=True))
        ref.reset()
        ref.eval(whole)
        logits = np.asarray(ref.scores[:len(whole)], dtype=np.float64)
        m = logits.max(-1, keepdims=True)
        logp = logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True))
        want = sum(logp[i - 1, whole[i]] for i in range(n_ctx_tokens, len(whole)))
        assert g == pytest.approx(want, rel=5e-3, abs=5e-3), c   # batched vs token-by-token arithmetic
    assert got[-1] == pytest.approx(got[1], abs=1e-6), "a trailing space moves to the continuation (as lm-eval)"
    assert got[0] < 0 and got[2] < got[0], "a longer continuation is less likely"


@needs_llamacpp
def test_llamacpp_renders_chat_as_transformers_does(smollm_llamacpp):
    """llama.cpp renders the GGUF's template with its own formatter; it must give the text transformers gives."""
    from transformers import AutoTokenizer

    from clinqa.models.resolve import converted_dir
    tok = AutoTokenizer.from_pretrained(converted_dir("smollm2-135m-instruct"))
    req = GenRequest("Which drug?", prefix="Explanation:")
    ref = tok.apply_chat_template([{"role": "user", "content": "Which drug?"}], tokenize=False, add_generation_prompt=True)
    assert smollm_llamacpp.chat and smollm_llamacpp.render(req) == ref + "Explanation:"
    smollm_llamacpp.chat = False
    try:
        assert smollm_llamacpp.render(req) == "Which drug?Explanation:"
    finally:
        smollm_llamacpp.chat = True


def test_llamacpp_json_schema_constrains_batched_replies(smollm_llamacpp):
    schema = {"type": "object", "properties": {"verdict": {"type": "string", "enum": ["yes", "no"]}},
              "required": ["verdict"], "additionalProperties": False}
    reqs = [GenRequest(f"Is {drug} an NSAID? Reply in JSON.", max_tokens=24, json_schema=json.dumps(schema))
            for drug in ("aspirin", "insulin", "ibuprofen")]
    reqs.append(GenRequest("Is aspirin an NSAID?", n=3, temperature=1.0, seed=4, max_tokens=24,
                           json_schema=json.dumps(schema)))
    outs = smollm_llamacpp.generate(reqs)
    for text in [t for r in outs for t in r.texts]:
        assert set(json.loads(text)) == {"verdict"} and json.loads(text)["verdict"] in ("yes", "no"), text
    assert [r.texts for r in outs[:3]] == [smollm_llamacpp.generate([r])[0].texts for r in reqs[:3]]
    free = smollm_llamacpp.generate([GenRequest("Is aspirin an NSAID? Reply in JSON.", max_tokens=24)])[0].texts[0]
    assert free != outs[0].texts[0], "without the schema the model writes something else"


@pytest.mark.slow
@needs_llamacpp
def test_llamacpp_loglik_predictions_equal_hf(smollm_llamacpp, data_dir, tmp_path):
    """The loglik strategy on 10 MedQA questions: llama.cpp (quantised weights) and hf (the same GGUF dequantised)
    pick the same option on every question, with scores close."""
    from clinqa.models import load_model
    from clinqa.eval import EvalConfig, run_eval
    runs = {}
    for key, be in (("llamacpp", smollm_llamacpp), ("hf", load_model("smollm2-135m-instruct"))):
        runs[key] = run_eval(config=EvalConfig(dataset="medqa", strategy="loglik", limit=10, k_shot=1, seed=3,
                                          run_dir=str(tmp_path / key), data_dir=str(data_dir)), model=be).results()
    assert [r["qid"] for r in runs["llamacpp"]] == [r["qid"] for r in runs["hf"]]
    assert [r["prediction"] for r in runs["llamacpp"]] == [r["prediction"] for r in runs["hf"]]
    for a, b in zip(runs["llamacpp"], runs["hf"]):
        # Q4_1 weights with 8-bit activations against the same weights dequantised to fp32: measured max 0.14 nats
        np.testing.assert_allclose(list(a["scores"].values()), list(b["scores"].values()), atol=0.25)
        assert len(set(a["scores"].values())) == len(a["scores"]), "each option has its own score"


@needs_llamacpp
def test_openai_backend_against_llama_cpp_server(smollm_gguf, tmp_path):
    pytest.importorskip("uvicorn")
    port = free_port()
    log = open(tmp_path / "server.log", "w")
    srv = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(smollm_gguf), "--host", "127.0.0.1",
                            "--port", str(port), "--n_ctx", "2048", "--model_alias", "smol"], stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        wait_for_server(base, srv, tmp_path / "server.log", "llama.cpp", 120)
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


@pytest.mark.slow
@needs_llamacpp
def test_llamacpp_bench_at_concurrency_4_batches_and_gives_the_same_results(smollm_llamacpp, data_dir, tmp_path):
    """`clinqa bench --concurrency 4` on llama.cpp: SC samples of 4 questions reach the backend in shared calls, and
    every prediction and sample text equals the one-question-at-a-time run."""
    from clinqa.eval import EvalConfig, run_eval
    sizes = []
    inner = smollm_llamacpp._generate

    def spy(requests):
        sizes.append(len(requests))
        return inner(requests)

    smollm_llamacpp._generate = spy
    try:
        runs = [run_eval(config=EvalConfig(dataset="medqa", strategy="sc", limit=4, n_samples=3, max_tokens=24, k_shot=1,
                                      seed=7, concurrency=c, run_dir=str(tmp_path / f"c{c}"), data_dir=str(data_dir)),
                          model=smollm_llamacpp).results() for c in (1, 4)]
    finally:
        del smollm_llamacpp._generate
    key = lambda rows: [(r["qid"], r["prediction"], [s["text"] for s in r["samples"]]) for r in rows]  # noqa: E731
    assert key(runs[0]) == key(runs[1])
    assert len({t for r in runs[0] for t in key([r])[0][2]}) > 4, "samples at T>0 differ"
    assert sizes[:4] == [1, 1, 1, 1] and max(sizes[4:]) > 1, "concurrency 4 sends several questions' requests at once"
