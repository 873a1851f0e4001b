"""Our `loglik` strategy against lm-evaluation-harness on the same model, prompts and MedQA questions: the
per-question predictions must be identical (lm-eval reads a custom task from local files; nothing is downloaded)."""

import json

import numpy as np
import pytest

from clinqa.eval import EvalConfig, run_eval

lm_eval = pytest.importorskip("lm_eval")

TASK = """task: clinqa_parity
dataset_path: json
dataset_kwargs:
  data_files:
    test: {docs}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{context}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: "{{{{gold}}}}"
target_delimiter: ""
metric_list:
  - metric: acc
"""


def test_loglik_predictions_equal_lm_eval(tmp_path, tiny_model_dir, tiny_backend, data_dir, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    store = run_eval(config=EvalConfig(dataset="medqa", strategy="loglik", limit=25, k_shot=2,
                                  run_dir=str(tmp_path / "run"), data_dir=str(data_dir)), model=tiny_backend)
    rows = store.results()
    docs = tmp_path / "docs.jsonl"
    with docs.open("w") as fh:
        for r in rows:
            letters = list(r["meta"]["options"])
            fh.write(json.dumps({"context": r["prompts"]["loglik"], "choices": [f" ({L})" for L in letters],
                                 "gold": letters.index(r["gold"])}) + "\n")
    (tmp_path / "task").mkdir()
    (tmp_path / "task" / "clinqa_parity.yaml").write_text(TASK.format(docs=docs))

    lm = HFLM(pretrained=str(tiny_model_dir), batch_size=4, device="cpu")
    out = simple_evaluate(model=lm, tasks=["clinqa_parity"], task_manager=TaskManager(include_path=str(tmp_path / "task")),
                          log_samples=True)
    samples = sorted(out["samples"]["clinqa_parity"], key=lambda s: s["doc_id"])
    theirs = [list(r["meta"]["options"])[int(np.argmax([ll for ll, _ in s["filtered_resps"]]))]
              for s, r in zip(samples, rows)]
    ours = [r["prediction"] for r in rows]
    assert len(samples) == 25
    assert ours == theirs
    for s, r in zip(samples, rows):   # the scores themselves agree, not only the argmax
        np.testing.assert_allclose([ll for ll, _ in s["filtered_resps"]], list(r["scores"].values()), atol=1e-3)
    assert out["results"]["clinqa_parity"]["acc,none"] == pytest.approx(sum(r["correct"] for r in rows) / 25)
