"""Logs for other tools: a bench run exported to inspect_ai (read back with inspect's own reader and listed as inspect
view lists logs) and to lm-eval's results/samples files (compared with files lm-eval itself writes); answers imported
from an inspect log and from a real lm-eval samples file."""

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinqa.cli import app
from clinqa.eval import EvalConfig, run_eval
from clinqa.eval.store import Store

@pytest.fixture
def bench_run(tmp_path, data_dir, scripted):
    from clinqa.tasks import load
    gold = {q.question: q.answer for q in load("medqa", "test", str(data_dir))}

    def reply(r, i):        # right on every other question, one unparseable sample in each vote
        q = r.prompt.rsplit("Question:", 1)[1].split("\n")[0].strip()
        right = gold.get(q, "A")
        letter = right if len(q) % 2 else "ABCD"[("ABCD".index(right) + 1) % 4]
        return ["Explanation: because. Answer: ({})", "so the answer is ({})", "I am not sure."][i].format(letter)
    be = scripted(reply)
    cfg = EvalConfig(dataset="medqa", strategy="sc", n_samples=3, limit=5, run_dir=str(tmp_path / "run"),
                      data_dir=str(data_dir))
    return run_eval(config=cfg, model=be)


def test_inspect_export_reads_back_with_inspects_reader(bench_run, tmp_path):
    from inspect_ai.log import list_eval_logs, read_eval_log
    res = CliRunner().invoke(app, ["export", "inspect", str(bench_run.dir), "--out", str(tmp_path / "logs")])
    assert res.exit_code == 0, res.output
    [info] = list_eval_logs(str(tmp_path / "logs"))          # what `inspect view` lists
    log = read_eval_log(info.name)
    rows = bench_run.results()
    assert log.status == "success" and log.eval.model == bench_run.run_info()["config"]["model"]
    assert log.eval.task == "clinqa/medqa" and log.eval.task_args["strategy"] == "sc"
    assert sorted(s.id for s in log.samples) == sorted(r["qid"] for r in rows)   # inspect orders samples itself
    by_id = {s.id: s for s in log.samples}
    for r in rows:
        s = by_id[r["qid"]]
        assert s.metadata["position"] == r["position"]
        assert s.target == r["gold"] and s.input == r["meta"]["question"]
        assert s.choices == list(r["meta"]["options"].values())
        assert s.scores["choice"].value == ("C" if r["correct"] else "I")
        assert s.scores["choice"].answer == (r["prediction"] or "")
        assert [m.text for m in s.messages if m.role == "assistant"] == [x["text"] for x in r["samples"]]
    acc = sum(bool(r["correct"]) for r in rows) / len(rows)
    metrics = log.results.scores[0].metrics
    assert metrics["accuracy"].value == pytest.approx(acc) and log.results.completed_samples == len(rows)
    assert 0 < acc < 1, "the scripted replies must give a mix of right and wrong answers"


def test_inspect_log_imports_as_answer_source(bench_run, tmp_path):
    from clinqa.logs.inspect_log import export_inspect
    log = export_inspect(bench_run.dir, tmp_path / "x.eval")
    res = CliRunner().invoke(app, ["import-answers", str(log), "--source", "from-inspect", "--run-dir", str(tmp_path / "a")])
    assert res.exit_code == 0 and "imported 5 answers (inspect)" in res.output, res.output
    got = {a["qid"]: a for a in Store(tmp_path / "a").answers("from-inspect")}
    for r in bench_run.results():
        a = got[r["qid"]]
        assert a["question"] == r["meta"]["question"] and a["model"] == "smollm2-135m-instruct"
        assert a["text"] in [x["text"] for x in r["samples"]] and a["params"]["format"] == "inspect"


@pytest.fixture(scope="module")
def real_lmeval(tmp_path_factory):
    """Files written by lm-eval itself: a generation task over a local JSONL, its DummyLM, its EvaluationTracker."""
    import lm_eval
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.models.dummy import DummyLM
    from lm_eval.tasks import TaskManager
    d = tmp_path_factory.mktemp("lmeval")
    (d / "q.jsonl").write_text("\n".join(json.dumps({"id": f"lq-{i}", "question": q, "answer": "ok"}) for i, q in
                                         enumerate(["Is ibuprofen safe for children?", "Can I drink on antibiotics?"])))
    (d / "tasks").mkdir()
    (d / "tasks" / "t.yaml").write_text(f"""task: longform_demo
dataset_path: json
dataset_kwargs: {{data_files: {d / 'q.jsonl'}}}
test_split: train
output_type: generate_until
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: answer
generation_kwargs: {{until: ["\\n\\n"], max_gen_toks: 8}}
metric_list: [{{metric: exact_match, aggregation: mean, higher_is_better: true}}]
metadata: {{version: 1.0}}
""")
    r = lm_eval.simple_evaluate(model=DummyLM(), tasks=["longform_demo"], log_samples=True,
                                task_manager=TaskManager(include_path=str(d / "tasks")))
    samples = r.pop("samples")
    t = EvaluationTracker(output_path=str(d / "out"))
    t.general_config_tracker.log_experiment_args("dummy", "pretrained=dummy-model", None, None, False)
    t.save_results_aggregated(results=r, samples=samples)
    t.save_results_samples(task_name="longform_demo", samples=samples["longform_demo"])
    return d / "out" / "dummy-model"


def test_lmeval_export_has_lmevals_layout_and_fields(bench_run, tmp_path, real_lmeval):
    from lm_eval.utils import get_file_datetime, get_file_task_name, hash_string
    res = CliRunner().invoke(app, ["export", "lm-eval", str(bench_run.dir), "--out", str(tmp_path / "lm")])
    assert res.exit_code == 0, res.output
    [folder] = (tmp_path / "lm").iterdir()
    assert folder.name == "smollm2-135m-instruct"
    [results] = folder.glob("results_*.json")
    [samples] = folder.glob("samples_*.jsonl")
    assert get_file_task_name(samples.name) == "clinqa_medqa_sc"
    assert get_file_datetime(results.name).removesuffix(".json") == get_file_datetime(samples.name)
    ours, real = json.loads(results.read_text()), json.loads(next(real_lmeval.glob("results_*.json")).read_text())
    assert set(real) <= set(ours) and set(real["config"]) <= set(ours["config"])
    lines = [json.loads(x) for x in samples.read_text().splitlines()]
    real_line = json.loads(next(real_lmeval.glob("samples_*.jsonl")).read_text().splitlines()[0])
    assert set(real_line) - {"exact_match"} <= set(lines[0])
    rows = bench_run.results()
    assert [x["doc"]["id"] for x in lines] == [r["qid"] for r in rows]
    assert [x["acc"] for x in lines] == [1.0 if r["correct"] else 0.0 for r in rows]
    assert [x["resps"][0] for x in lines] == [[s["text"] for s in r["samples"]] for r in rows]
    task = "clinqa_medqa_sc"
    acc = sum(x["acc"] for x in lines) / len(lines)
    assert ours["results"][task]["acc,majority_vote"] == pytest.approx(acc)
    assert ours["n-samples"][task] == {"original": 5, "effective": 5}
    assert ours["task_hashes"][task] == hash_string("".join(x["doc_hash"] + x["prompt_hash"] + x["target_hash"]
                                                            for x in lines))


def test_real_lmeval_samples_import_as_answer_source(real_lmeval, tmp_path):
    [samples] = real_lmeval.glob("samples_*.jsonl")
    res = CliRunner().invoke(app, ["import-answers", str(samples), "--source", "lm", "--run-dir", str(tmp_path / "a")])
    assert res.exit_code == 0 and "imported 2 answers (lm-eval)" in res.output, res.output
    got = Store(tmp_path / "a").answers("lm")
    lines = [json.loads(x) for x in samples.read_text().splitlines()]
    assert [a["qid"] for a in got] == ["lq-0", "lq-1"]
    assert [a["text"] for a in got] == [x["resps"][0][0].strip() for x in lines]
    assert got[0]["question"] == "Is ibuprofen safe for children?" and got[0]["model"] == "dummy-model"
    assert got[0]["prompt"] == lines[0]["arguments"]["gen_args_0"]["arg_0"]


def test_loglikelihood_samples_are_refused(tmp_path):
    f = tmp_path / "samples_mc_2026-01-01T00-00-00.jsonl"
    f.write_text(json.dumps({"doc_id": 0, "doc": {}, "resps": [[["-1.5", "False"]], [["-0.2", "True"]]]}) + "\n")
    res = CliRunner().invoke(app, ["import-answers", str(f), "--source", "x", "--run-dir", str(tmp_path / "a")])
    assert res.exit_code == 2 and f"{f}:1: field 'resps': no generated text" in res.output.replace("\n", "")


def test_table_answers_still_import_through_the_cli(tmp_path):
    f = tmp_path / "doctor.csv"
    f.write_text("question_id,answer,question\nq1,Rest and fluids.,What helps a cold?\n")
    res = CliRunner().invoke(app, ["import-answers", str(f), "--source", "doc", "--run-dir", str(tmp_path / "a")])
    assert res.exit_code == 0 and "imported 1 answers (table)" in res.output, res.output
    [a] = Store(tmp_path / "a").answers("doc")
    assert (a["qid"], a["text"], a["question"]) == ("q1", "Rest and fluids.", "What helps a cold?")
