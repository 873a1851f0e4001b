"""K-QA: the metrics on a hand-made fixture, the NLI judge's protocol (batched, retried, seeded by pair) on a scripted
backend, the NLI judge card against a hand computation, the CLI end to end, and the task on the shared data."""

import json

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from typer.testing import CliRunner

from clinqa.analysis.kqa import answer_counts, kqa_metrics, kqa_scores, nli_card
from clinqa.data.loaders.kqa import NLI_LABELS, QUESTIONS, LabelledPair, load_kqa, load_nli_labels
from clinqa.judge.nli import nli_verdicts
from conftest import DATA

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
    lines = (run / "kqa-nli.jsonl").read_text().splitlines()
    assert len(lines) == 4                                         # the blank must-have is not a statement
    n_requests = len(backend.requests)
    res = CliRunner().invoke(app, args)                            # resumes: nothing judged again
    assert res.exit_code == 0 and len(backend.requests) == n_requests


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
