"""Checks that run inside the vLLM CPU venv (scripts/vllm_cpu_env.sh), driven by tests/test_vllm_cpu.py: one engine
start, several checks, one JSON object on the last line of stdout. Not a test module itself (pytest runs in the
project's own environment, where vLLM is not installed).

    python tests/vllm_checks.py MODEL_DIR DATA_DIR RUN_DIR
"""

from __future__ import annotations

import json
import sys
import time


def diagnosis_prompts():
    from clinqa.models.base import GenRequest
    return [GenRequest(f"Question: a patient aged {20 + 7 * i} has a fever and a cough. What is the most likely "
                       "diagnosis?", max_tokens=24, stop=("\n\n",)) for i in range(6)]


def data_parallel(model: str) -> dict:
    """vLLM's own data parallelism (dp=2: two engine replicas behind AsyncLLM): greedy texts of the same prompts,
    and n seeded samples twice."""
    from clinqa.models.base import GenRequest
    from clinqa.models.vllm_backend import VLLMBackend
    be = VLLMBackend(model, dtype="float32", enforce_eager=True, max_model_len=4096, data_parallel_size=2)
    sample = GenRequest("Name one symptom of influenza.", n=6, temperature=1.0, max_tokens=12, seed=11)
    return {"greedy": [r.texts[0] for r in be.generate(diagnosis_prompts())], "samples": be.generate([sample])[0].texts,
            "again": be.generate([sample])[0].texts, "describe": be.describe()}


def main(model: str, data_dir: str, run_dir: str) -> dict:
    from clinqa.models.base import GenRequest
    from clinqa.models.vllm_backend import VLLMBackend
    from clinqa.eval import EvalConfig, run_eval

    t0 = time.perf_counter()
    be = VLLMBackend(model, dtype="float32", enforce_eager=True, max_model_len=4096)
    out: dict = {"load_seconds": time.perf_counter() - t0, "chat": be.chat}

    # n samples: distinct, reproducible with a seed, different with another seed; greedy n copies one decode
    sample = GenRequest("Name one symptom of influenza.", n=6, temperature=1.0, max_tokens=12, seed=11)
    a, b = be.generate([sample])[0], be.generate([sample])[0]
    c = be.generate([GenRequest(**{**sample.__dict__, "seed": 12})])[0]
    out["samples"] = {"a": a.texts, "b": b.texts, "other_seed": c.texts, "tokens": a.completion_tokens}
    g = be.generate([GenRequest("Say hello.", n=3, max_tokens=8)])[0]
    out["greedy_n"] = g.texts

    # greedy decoding does not depend on the batch: one call with all prompts equals one call per prompt
    prompts = diagnosis_prompts()
    out["batched"] = [r.texts[0] for r in be.generate(prompts)]
    out["single"] = [be.generate([p])[0].texts[0] for p in prompts]

    # a JSON schema constrains every reply (structured outputs), greedy and sampled, in one call
    schema = json.dumps({"type": "object", "properties": {"verdict": {"type": "string", "enum": ["yes", "no"]}},
                         "required": ["verdict"], "additionalProperties": False})
    constrained = be.generate([GenRequest("Is aspirin an NSAID? Reply in JSON.", max_tokens=24, json_schema=schema),
                               GenRequest("Is insulin an NSAID?", n=3, temperature=1.0, seed=2, max_tokens=24,
                                          json_schema=schema)])
    out["json_schema"] = [t for r in constrained for t in r.texts]

    # the prefix cache: a long prompt sent again is served from the cache; per-call stats in meta
    long = GenRequest("Patient history: " + "fever, cough, fatigue, headache; " * 60 + "Diagnosis?", max_tokens=4)
    first, second = be.generate([long])[0], be.generate([long])[0]
    out["prefix_cache"] = {"first": first.meta["batch"]["prefix_cache"], "second": second.meta["batch"]["prefix_cache"],
                           "describe": be.describe()["prefix_cache"]}

    # loglik strategy on 20 MedQA questions (predictions and option scores, compared with hf by the test)
    t = time.perf_counter()
    store = run_eval(config=EvalConfig(dataset="medqa", strategy="loglik", limit=20, k_shot=0, seed=3,
                                  run_dir=f"{run_dir}/loglik", data_dir=data_dir), model=be)
    out["loglik"] = [{"qid": r["qid"], "prediction": r["prediction"], "scores": r["scores"]} for r in store.results()]
    out["loglik_seconds"] = time.perf_counter() - t
    out["describe"] = be.describe()
    return out


if __name__ == "__main__":
    if sys.argv[1] == "--dp":
        print(json.dumps(data_parallel(sys.argv[2]), default=str))
    else:
        print(json.dumps(main(*sys.argv[1:4]), default=str))
