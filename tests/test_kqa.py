"""K-QA: the metrics on a hand-made fixture, the NLI judge's protocol (batched, retried, seeded by pair) on a scripted
backend, the NLI scorer in the eval core on a K-QA-like fixture task (values, hallucination flags, one grader call per
round, resume, identity), the NLI judge card against a hand computation, the commands end to end, and the task on the
shared data."""

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from typer.testing import CliRunner

from clinqa.analysis.kqa import answer_counts, kqa_metrics, kqa_scores, nli_card
from clinqa.data.loaders.kqa import NLI_LABELS, QUESTIONS, LabelledPair, load_kqa, load_nli_labels
from clinqa.eval import EvalConfig, Store, run_eval
from clinqa.eval.nli import NLIStatementScorer, nli_verdicts, parse_label
from clinqa.prompts.nli import NLI_PROMPT
from clinqa.tasks import get_task
from conftest import DATA

KQA4 = f"{Path(__file__).parent / 'fixtures' / 'tasks' / 'fixture_tasks.py'}:kqa4"

M, N = "must_have", "nice_to_have"


def stmt(req):
    """The statement a request asks about."""
    return req.prompt.split("Statement:\n")[1].split("\n\n")[0]


def test_metrics_on_a_hand_made_fixture():
    verdicts = [("a1", M, "entailment"), ("a1", M, "neutral"), ("a1", N, "contradiction"), ("a1", M, None),
                ("a2", M, "entailment"), ("a2", M, "entailment"), ("a2", N, "neutral"), ("a2", N, "entailment"),
                ("a3", N, "contradiction"), ("a3", M, "contradiction")]
    counts, unjudged = answer_counts(verdicts)
    assert counts == {"a1": [1, 2, 1, 3], "a2": [2, 2, 0, 4], "a3": [0, 1, 2, 2]} and unjudged == 1
    s = kqa_metrics(verdicts, "m", n_boot=2000)
    # comprehensiveness: mean over answers of must-have entailed shares (1/2, 2/2, 0/1)
    assert s.comprehensiveness.estimate == pytest.approx((0.5 + 1 + 0) / 3)
    # hallucination rate: contradicted statements / judged statements, pooled
    assert s.hallucination.estimate == pytest.approx(3 / 9)
    assert (s.n_answers, s.n_statements, s.n_unjudged) == (3, 9, 1)
    assert 0 <= s.comprehensiveness.low < s.comprehensiveness.estimate < s.comprehensiveness.high <= 1
    two = kqa_scores([("x", *v) for v in verdicts] + [("y", "b1", M, "entailment")], n_boot=200)
    assert [(t.source, t.n_answers) for t in two] == [("x", 3), ("y", 1)]


def test_nli_verdicts_batch_retry_and_seed_by_pair(scripted):
    calls = []

    def respond(req, i):
        if "bad statement" in req.prompt:
            return '"label": "maybe"}'                      # never parses
        if "flaky" in req.prompt and req.temperature == 0:
            return "not json"
        return '"label": "contradiction"}' if stmt(req).startswith("no") else '"label": "entailment"}'
    backend = scripted(respond)
    orig = backend._generate
    backend._generate = lambda reqs: calls.append(len(reqs)) or orig(reqs)
    pairs = [("The answer.", "yes it is"), ("The answer.", "no it is not"), ("The answer.", "flaky one"),
             ("The answer.", "bad statement")]
    got = nli_verdicts(backend, pairs, seed=1, retries=2, chunk=3)
    assert got == ["entailment", "contradiction", "entailment", None]
    assert calls == [3, 1, 1, 1, 1]     # each chunk of 3 (then 1): its pairs, then only its unparsed pairs again
    seeds = {stmt(r): r.seed for r in backend.requests if r.temperature == 0}
    again = scripted(respond)
    nli_verdicts(again, pairs[::-1], seed=1, retries=0)
    assert {stmt(r): r.seed for r in again.requests} == seeds    # order does not matter


def test_nli_card_equals_hand_computation():
    labels = [("entailment", "entailment", "neutral"), ("neutral", "neutral", "neutral"),
              ("contradiction", "neutral", "contradiction"), ("entailment", "entailment", "entailment"),
              ("neutral", "contradiction", "neutral"), ("neutral", "neutral", "entailment")]
    pairs = [LabelledPair(f"ans{i // 2}", "q", "a", f"s{i}", M, lab, max(set(lab), key=lab.count))
             for i, lab in enumerate(labels)]
    judge = ["entailment", "neutral", "neutral", "entailment", None, "entailment"]
    c = nli_card(pairs, judge, n_boot=300)
    ok = [i for i, v in enumerate(judge) if v]
    for k in range(3):
        assert c.per_physician[k][1].estimate == pytest.approx(
            cohen_kappa_score([labels[i][k] for i in ok], [judge[i] for i in ok]))
    ref = [labels[i][k] for k in range(3) for i in ok]
    assert c.kappa.estimate == pytest.approx(cohen_kappa_score(ref, [judge[i] for _ in range(3) for i in ok]))
    cref = [labels[i][k] for k in range(3) for i in range(6) for m in range(3) if m != k]
    coth = [labels[i][m] for k in range(3) for i in range(6) for m in range(3) if m != k]
    assert c.ceiling_kappa.estimate == pytest.approx(cohen_kappa_score(cref, coth))
    assert c.n_judged == 5 and c.unjudged_by_majority == {"entailment": 0, "neutral": 1, "contradiction": 0}
    # majority contradiction on pair 2 was judged neutral: the dangerous miss shows in the matrix
    assert c.confusion.tolist() == [[2, 0, 0], [1, 1, 0], [0, 1, 0]]
    assert c.label_f1["contradiction"] == 0.0


def test_kqa_cli_scores_stored_and_physician_answers(tmp_path, scripted, monkeypatch):
    """`clinqa judge kqa` on K-QA answers stored elsewhere: one eval-core run per source, resumed without a call."""
    from clinqa.cli import judge_kqa as judge_kqa_cli
    from clinqa.cli import app
    data = tmp_path / "data"
    (data / "kqa").mkdir(parents=True)
    rows = [{"Question": "Is tea good?", "Free_form_answer": "Tea is fine in moderation.",
             "Must_have": ["Tea is fine in moderation", "Too much caffeine causes insomnia"], "Nice_to_have": ["Tea has flavonoids"],
             "Sources": "", "ICD_10_diag": "none"},
            {"Question": "Can I run with a cold?", "Free_form_answer": "Light exercise is fine.",
             "Must_have": ["Light exercise is fine", " "], "Nice_to_have": [], "Sources": "", "ICD_10_diag": "none"}]
    (data / QUESTIONS).write_text("".join(json.dumps(r) + "\n" for r in rows))
    backend = scripted(lambda r, i: '"label": "entailment"}' if "fine" in stmt(r)
                       else '"label": "neutral"}')
    monkeypatch.setattr(judge_kqa_cli, "_load", lambda name: backend)
    run = tmp_path / "run"
    args = ["judge", "kqa", str(run), "--grader", "scripted", "--physician", "--data-dir", str(data),
            "--resamples", "200"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "physician" in res.output and "75.0" in res.output       # (1/2 + 1/1) / 2 must-haves entailed
    assert len(backend.requests) == 4                              # the blank must-have is not a statement
    res = CliRunner().invoke(app, args)                            # resumes: nothing judged again
    assert res.exit_code == 0 and len(backend.requests) == 4, res.output
    assert "physician: 2 answers, 0 to judge" in res.output
    res = CliRunner().invoke(app, args[:-2] + ["--retries", "0"])   # a changed judge is not mixed into the run
    assert res.exit_code == 2 and "different configuration" in res.output
    res = CliRunner().invoke(app, ["judge", "kqa", str(tmp_path / "none"), "--grader", "x", "--data-dir", str(data)])
    assert res.exit_code == 2 and "no results.sqlite" in res.output


def fixture_grader(scripted, calls: list, contradicted: str = "usually"):
    """A scripted NLI judge: a statement naming a number or "urgent" is entailed, one containing `contradicted` is
    contradicted, the rest neutral; statements with "pharmacist" parse only when retried. Records each call's size."""
    def label(statement: str) -> str:
        if contradicted in statement:
            return "contradiction"
        return "entailment" if any(w in statement for w in ("urgent", "fracture", "first", "several")) else "neutral"

    def respond(req, i):
        if "pharmacist" in stmt(req) and req.temperature == 0:
            return "I am not sure."
        return f'"label": "{label(stmt(req))}"}}'
    grader = scripted(respond)
    orig = grader._generate
    grader._generate = lambda reqs: calls.append(len(reqs)) or orig(reqs)
    grader.label = label
    return grader


def answering_model(scripted):
    return scripted(lambda r, i: f"An answer to: {r.conversation()[-1]['content'][:30]}")


def test_nli_scorer_values_hallucination_and_one_call_per_round(scripted, tmp_path):
    calls = []
    grader = fixture_grader(scripted, calls)
    store = run_eval(get_task(KQA4), answering_model(scripted), EvalConfig(run_dir=str(tmp_path / "r"), order="id"),
                     grader=grader)
    rows = sorted(store.results(), key=lambda r: r["qid"])
    records = sorted(get_task(KQA4).load(), key=lambda q: q.id)
    assert [r["qid"] for r in rows] == [q.id for q in records]
    for row, q in zip(rows, records):
        score = row["score"]["nli"]
        must = [grader.label(s) for s in q.extra["must_have"]]
        labels = must + [grader.label(s) for s in q.extra["nice_to_have"]]
        assert score["value"] == pytest.approx(must.count("entailment") / len(must))
        assert score["metadata"]["hallucination"] == ("contradiction" in labels)
        assert [v["label"] for v in score["metadata"]["verdicts"]] == labels      # the retried one parsed too
        assert score["metadata"]["counts"] == dict(
            must_entailed=must.count("entailment"), must_judged=len(must), contradicted=labels.count("contradiction"),
            judged=len(labels), unjudged=0)
    assert [r["score"]["nli"]["metadata"]["hallucination"] for r in rows] == [False, True, True, True]
    # one call per sample with all its statements, then one call per retry round with only the unparsed statement
    sizes = [len(q.extra["must_have"]) + len(q.extra["nice_to_have"]) for q in records]
    assert calls == [sizes[0], sizes[1], sizes[2], 1, sizes[3]]


def test_nli_scorer_resumes_without_new_grader_calls(scripted, tmp_path):
    """A run interrupted while judging the third answer: the rerun asks the model only for the fourth answer and the
    grader only for the statements of the two unfinished answers."""
    run = EvalConfig(run_dir=str(tmp_path / "r"), order="id")
    records = sorted(get_task(KQA4).load(), key=lambda q: q.id)
    calls = []
    grader = fixture_grader(scripted, calls)
    orig = grader._generate

    def interrupted(reqs):
        if len(calls) == 2:
            raise KeyboardInterrupt
        return orig(reqs)
    grader._generate = interrupted
    with pytest.raises(KeyboardInterrupt):
        run_eval(get_task(KQA4), answering_model(scripted), run, grader=grader)
    assert len(Store(run.run_dir).done_ids()) == 2
    model, calls = answering_model(scripted), []
    again = fixture_grader(scripted, calls)
    store = run_eval(get_task(KQA4), model, run, grader=again)
    assert len(store.results()) == 4
    assert [records[3].question in r.prompt for r in model.requests] == [True]      # answer 3 was kept
    unfinished = {s for q in records[2:] for s in q.extra["must_have"] + q.extra["nice_to_have"]}
    asked = [stmt(r) for r in again.requests]
    assert set(asked) == unfinished and len(asked) == len(unfinished) + 1          # + the pharmacist's retry
    again.requests.clear()
    run_eval(get_task(KQA4), answering_model(scripted), run, grader=again)
    assert again.requests == []                                                    # finished: nothing asked


def test_a_changed_nli_prompt_is_a_different_run(scripted, tmp_path):
    run = EvalConfig(run_dir=str(tmp_path / "r"), order="id", limit=1)
    run_eval(get_task(KQA4), answering_model(scripted), run, grader=fixture_grader(scripted, []))
    stricter = NLIStatementScorer(prompt=NLI_PROMPT + "Be strict: a statement implied only vaguely is neutral.\n")
    with pytest.raises(ValueError, match="different configuration"):
        run_eval(get_task(KQA4), answering_model(scripted), run, scorers=[stricter],
                 grader=fixture_grader(scripted, []))
    with pytest.raises(ValueError, match="different configuration"):
        run_eval(get_task(KQA4), answering_model(scripted), run, scorers=[NLIStatementScorer(retries=0)],
                 grader=fixture_grader(scripted, []))
    assert NLIStatementScorer().identity() == NLIStatementScorer(retries=2).identity() != stricter.identity()


def test_parse_label():
    assert parse_label('{"label": "Contradiction"}') == "contradiction"
    assert parse_label("label: neutral.") == "neutral"
    for bad in ('{"label": "entailment, mostly"}', "entailment", '{"label": "maybe"}'):
        with pytest.raises(ValueError):
            parse_label(bad)


def test_bench_runs_kqa_as_a_task(scripted, tmp_path, monkeypatch):
    """`clinqa bench --task <kqa-like> --model M --grader G`: answered, judged and reported in one run."""
    import clinqa.eval.run as run_module
    from clinqa.cli import app
    calls = []
    backends = {"answerer": answering_model(scripted), "judge": fixture_grader(scripted, calls)}
    monkeypatch.setattr(run_module, "load_model", lambda name, **kw: backends[name])
    args = ["bench", "--task", KQA4, "--model", "answerer", "--grader", "judge", "--limit", "3", "--order", "id",
            "--run-dir", str(tmp_path / "b")]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "comprehensiveness" in res.output and "hallucination rate" in res.output
    records = sorted(get_task(KQA4).load(), key=lambda q: q.id)[:3]
    n_statements = sum(len(q.extra["must_have"]) + len(q.extra["nice_to_have"]) for q in records)
    assert f"grader parse rate: {n_statements}/{n_statements} statements" in res.output
    shares = [sum(backends["judge"].label(s) == "entailment" for s in q.extra["must_have"]) / len(q.extra["must_have"])
              for q in records]
    assert f"{100 * sum(shares) / 3:.1f}" in res.output          # comprehensiveness: mean over the answers
    n = len(backends["judge"].requests)
    assert CliRunner().invoke(app, args).exit_code == 0 and len(backends["judge"].requests) == n


needs_data = pytest.mark.skipif(not (DATA / QUESTIONS).is_file(), reason="needs ../shared/data/kqa")


@needs_data
def test_kqa_task_and_physician_labels_on_shared_data():
    from clinqa.tasks import get_task
    qs = get_task("kqa").load(root=DATA)
    assert len(qs) == 201 and all(q.references[0] and q.extra["must_have"] for q in qs)
    assert sum(len(q.extra["must_have"]) for q in qs) == 889           # 892 in the file, 3 blank
    pairs = load_nli_labels(DATA / NLI_LABELS)
    assert len(pairs) == 399 and len({p.answer_id for p in pairs}) == 50
    assert all(len(p.labels) == 3 for p in pairs)
    counts = {lab: sum(p.majority == lab for p in pairs) for lab in ("neutral", "entailment", "contradiction")}
    assert counts == {"neutral": 234, "entailment": 153, "contradiction": 12}
    assert np.isfinite(nli_card(pairs, [p.labels[0] for p in pairs], n_boot=50).ceiling_kappa.estimate)
