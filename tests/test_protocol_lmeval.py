"""`--protocol lm-eval` against lm-evaluation-harness itself: lm-eval runs its OWN task definitions (medqa_4options,
medmcqa, pubmedqa, mmlu_clinical_knowledge, included from the installed package) on local copies of the same questions
(written to a temp dir in the schema of each task's hub dataset), and both must score every option identically."""

import json
from pathlib import Path

import numpy as np
import pytest

from clinqa.eval import EvalConfig, run_eval
from clinqa.strategies.exemplars import read_exemplar_file

lm_eval = pytest.importorskip("lm_eval")
N = 30


def medqa_doc(q):
    return {"sent1": q.question, **{f"ending{i}": q.options[L] for i, L in enumerate("ABCD")}, "label": "ABCD".index(q.answer)}


def medmcqa_doc(q):
    return {"question": q.question, **{f"op{x}": q.options[L] for x, L in zip("abcd", "ABCD")}, "cop": "ABCD".index(q.answer)}


def pubmedqa_doc(q):
    return {"QUESTION": q.question, "CONTEXTS": q.context.split("\n"), "final_decision": q.options[q.answer]}


def mmlu_doc(q):
    return {"question": q.question, "choices": [q.options[L] for L in "ABCD"], "answer": "ABCD".index(q.answer)}


# clinqa dataset -> (lm-eval's yaml under lm_eval/tasks, converter, k, the few-shot pool clinqa uses)
CASES = {
    "medqa": ("medqa/medqa.yaml", medqa_doc, 2, "exemplars"),
    "medmcqa": ("medmcqa/medmcqa.yaml", medmcqa_doc, 0, None),
    "pubmedqa": ("pubmedqa/pubmedqa.yaml", pubmedqa_doc, 0, None),
    "mmlu_clinical_knowledge": ("mmlu/default/mmlu_clinical_knowledge.yaml", mmlu_doc, 5, "dev"),
}


def write_task(folder: Path, dataset: str, rows: list[dict], data_dir: Path) -> str:
    from clinqa.tasks import load
    upstream, convert, k, pool = CASES[dataset]
    qs = {q.id: q for q in load(dataset, None, data_dir)}
    test = folder / f"{dataset}-test.jsonl"
    test.write_text("".join(json.dumps(convert(qs[r["qid"]])) + "\n" for r in rows))
    files = {"test": str(test)}
    extra = ""
    if pool:
        shots = read_exemplar_file(None, 4) if pool == "exemplars" else load(dataset, "dev", data_dir)
        f = folder / f"{dataset}-shots.jsonl"
        f.write_text("".join(json.dumps(convert(e)) + "\n" for e in shots))
        files["train"] = str(f)
        extra = "fewshot_split: train\nfewshot_config:\n  sampler: first_n\n"
    name = f"clinqa_{dataset}"
    upstream_path = Path(lm_eval.__file__).parent / "tasks" / upstream
    (folder / f"{name}.yaml").write_text(
        f"include: {upstream_path}\ntask: {name}\ndataset_path: json\ndataset_name: null\n"
        f"dataset_kwargs:\n  data_files: {json.dumps(files)}\ntest_split: test\nvalidation_split: null\n"
        f"training_split: {'train' if pool else 'null'}\ntag: []\n{extra}")
    return name


@pytest.mark.parametrize("dataset", list(CASES))
def test_lm_eval_protocol_predictions_equal_lm_eval(dataset, tmp_path, tiny_model_dir, tiny_backend, data_dir,
                                                   monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    k = CASES[dataset][2]
    store = run_eval(config=EvalConfig(dataset=dataset, strategy="loglik", protocol="lm-eval", limit=N, k_shot=k,
                                  run_dir=str(tmp_path / "run"), data_dir=str(data_dir)), model=tiny_backend)
    rows = store.results()
    assert len(rows) == N
    (tmp_path / "task").mkdir()
    name = write_task(tmp_path / "task", dataset, rows, data_dir)

    lm = HFLM(pretrained=str(tiny_model_dir), batch_size=8, device="cpu")
    out = simple_evaluate(model=lm, tasks=[name], num_fewshot=k or None, log_samples=True,
                          task_manager=TaskManager(include_path=str(tmp_path / "task")))
    samples = sorted(out["samples"][name], key=lambda s: s["doc_id"])
    assert len(samples) == N
    theirs = [list(r["meta"]["options"])[int(np.argmax([ll for ll, _ in s["filtered_resps"]]))]
              for s, r in zip(samples, rows)]
    assert [r["prediction"] for r in rows] == theirs
    for s, r in zip(samples, rows):   # the same prompt: every option's score agrees, not only the argmax
        assert [tuple(a) for a in s["arguments"]] == [(r["prompts"]["loglik"], c) for c in r["meta"]["continuations"]]
        np.testing.assert_allclose([ll for ll, _ in s["filtered_resps"]], list(r["scores"].values()), atol=1e-3)
