"""Long-form answers, evaluation sets, adversarial sets, counterfactual consistency, automatic rating, agreement."""

import json
from dataclasses import replace

import pytest

from clinqa.data import DataError
from clinqa.tasks import load
from clinqa.data.loaders.questions import load_question_file
from clinqa.analysis.table import Rating
from clinqa.analysis.agreement import agreement
from clinqa.longform.answer import AnswerConfig, import_answers, run_answers
from clinqa.judge.autorate import GradeParseError, autorate, grade, parse_grade
from clinqa.longform.consistency import check_pairs, similarity
from clinqa.tasks.multimedqa import multimedqa140, multimedqa1066, normalise
from clinqa.data.rubric import load_rubric
from clinqa.eval.store import Store

RUBRIC = load_rubric()


def test_shipped_adversarial_sets():
    general, equity = load("adversarial_general"), load("adversarial_equity")
    assert len(general) == 40 and len(equity) == 40
    pairs = {}
    for q in equity:
        if q.extra.get("pair"):
            pairs.setdefault(q.extra["pair"], []).append(q)
    assert len(pairs) == 10 and all(len(v) == 2 for v in pairs.values())
    assert {q.extra["attribute"] for v in pairs.values() for q in v} == {"race", "sex", "income", "place"}


def test_question_file_errors(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text("id,text\n1,hello\n")
    with pytest.raises(DataError, match="q.csv:2: field 'question'"):
        load_question_file(p)
    p.write_text("id,question\n1,a?\n1,b?\n")
    with pytest.raises(DataError, match="duplicate id '1'"):
        load_question_file(p)
    p.write_text("id,question,answer\n1,Is tea healthy?,In moderation.\n")
    assert load_question_file(p)[0].references == ("In moderation.",)


def test_eval_sets_are_seeded_and_deduplicated(data_dir):
    a, b = multimedqa140(data_dir, 0), multimedqa140(data_dir, 0)
    assert [q.id for q in a] == [q.id for q in b] and len(a) == 140
    assert [q.dataset for q in a].count("healthsearchqa") == 100
    big = multimedqa1066(data_dir, 0)
    assert len(big) == 1066 and {q.id for q in a} <= {q.id for q in big}
    assert len({normalise(q.question) for q in big}) == 1066


def test_answers_resume_and_provenance(tmp_path, tiny_backend, scripted):
    cfg = AnswerConfig(dataset="adversarial_equity", model="tiny", limit=4, max_tokens=8, run_dir=str(tmp_path / "r"))
    store = run_answers(cfg, backend=tiny_backend)
    rows = store.answers("tiny")
    assert len(rows) == 4 and all(r["params"]["temperature"] == 0.0 for r in rows)
    assert "should not be constructed with bias" in rows[0]["prompt"], "adversarial sets get the bias instruction"
    assert rows[0]["prompt"].rstrip().endswith("Complete Answer:")
    be = scripted(lambda r, i: "x")
    run_answers(AnswerConfig(**{**cfg.__dict__, "limit": 6}), backend=be)
    assert len(be.requests) == 2 and len(store.answers("tiny")) == 6     # only the new ones


def test_liveqa_prompt_variant(tmp_path, scripted, data_dir):
    be = scripted(lambda r, i: "answer")
    run_answers(AnswerConfig(dataset="liveqa", limit=1, model="s", run_dir=str(tmp_path / "r"), data_dir=str(data_dir)),
                backend=be)
    assert "consumer health questions." in be.requests[0].prompt and "bias" not in be.requests[0].prompt


def test_import_answers(tmp_path):
    f = tmp_path / "doc.csv"
    f.write_text("question_id,answer\nTQ1,See a genetic counsellor.\nTQ2,\n")
    with pytest.raises(DataError, match="doc.csv:3 .*field 'answer'"):
        import_answers(f, "physician", tmp_path / "r")
    f.write_text("question_id,answer,question\nTQ1,See a genetic counsellor.,What is Noonan syndrome?\n")
    assert import_answers(f, "physician", tmp_path / "r") == 1
    row = Store(tmp_path / "r").answers("physician")[0]
    assert row["answer_id"] == "physician:TQ1" and row["params"]["imported_from"].endswith("doc.csv")


def test_consistency_flags_substantive_differences():
    same = "Use lifestyle changes and a thiazide diuretic or calcium channel blocker for the Black patient."
    assert similarity(same, same.replace("Black", "white"), ["Black", "white"]) == 1.0
    rows = [
        {"answer_id": "m:a", "qid": "p1-a", "source": "m", "text": same, "extra": {"pair": "p1", "attribute": "race", "value": "Black"}},
        {"answer_id": "m:b", "qid": "p1-b", "source": "m", "text": same.replace("Black", "white"),
         "extra": {"pair": "p1", "attribute": "race", "value": "white"}},
        {"answer_id": "m:c", "qid": "p2-a", "source": "m", "text": "Start screening at 45 years.", "extra": {"pair": "p2", "value": "woman"}},
        {"answer_id": "m:d", "qid": "p2-b", "source": "m", "text": "No screening is needed; wait for symptoms and ask a friend.",
         "extra": {"pair": "p2", "value": "man"}},
    ]
    checks = {c.pair: c for c in check_pairs(rows)}
    assert not checks["p1"].differs and checks["p2"].differs


GOOD = {a.key: a.scale[0] for a in RUBRIC.physician}


def test_parse_grade_strict():
    assert parse_grade(json.dumps(GOOD), RUBRIC.physician) == GOOD
    loose = json.dumps({k: v.lower() + "." for k, v in GOOD.items()})
    assert parse_grade(loose, RUBRIC.physician) == GOOD
    bad = dict(GOOD, harm_extent="Some harm")
    with pytest.raises(GradeParseError, match="harm_extent: 'Some harm' is not one of"):
        parse_grade(json.dumps(bad), RUBRIC.physician)
    with pytest.raises(GradeParseError, match="bias: missing"):
        parse_grade(json.dumps({k: v for k, v in GOOD.items() if k != "bias"}), RUBRIC.physician)
    lines = "\n".join(f"{k}: {v}" for k, v in GOOD.items())
    assert parse_grade(lines, RUBRIC.physician) == GOOD


def test_grade_retries_then_succeeds(scripted):
    outputs = iter(['"consensus": oops', json.dumps(GOOD)[1:]])
    be = scripted(lambda r, i: next(outputs))
    g = grade(be, "physician", RUBRIC.physician, "q?", ["a"], seed=0)
    assert g.values == GOOD and len(g.raw) == 2 and be.requests[0].temperature == 0 and be.requests[1].temperature > 0
    be2 = scripted(lambda r, i: "no idea")
    g2 = grade(be2, "physician", RUBRIC.physician, "q?", ["a"], seed=0, retries=2)
    assert g2.values is None and len(g2.raw) == 3 and "missing" in g2.error


def test_autorate_store_and_pairwise_blinding(tmp_path, scripted):
    store = Store(tmp_path / "r")
    for src in ("model", "physician"):
        for q in ("q1", "q2", "q3", "q4"):
            store.save_answer(dict(qid=q, source=src, dataset="t", question=f"{q}?", text=f"{src} says {q}", model=None,
                                   prompt=None, params={}, tokens=None, seconds=None, extra={}))
    pick = {a.key: "Answer 1" for a in RUBRIC.pairwise}

    def respond(req, i):
        # the grader always prefers whichever answer is the physician's
        first_is_doc = req.prompt.index("physician says") < req.prompt.index("model says")
        return json.dumps({k: ("Answer 1" if first_is_doc else "Answer 2") for k in pick})[1:]
    rows = autorate(store, scripted(respond), "pairwise", ["model", "physician"])
    assert len(rows) == 4 and all(r["ok"] for r in rows)
    orders = {r["meta"]["answer_1"].split(":")[0] for r in rows}
    assert orders == {"model", "physician"}, "sides are randomised"
    for r in rows:   # un-blinding with the recorded order recovers the preference for the physician
        winner = r["meta"]["answer_1"] if r["values"]["better_consensus"] == "Answer 1" else r["meta"]["answer_2"]
        assert winner.startswith("physician:")
    again = autorate(store, scripted(respond), "pairwise", ["model", "physician"])
    assert len(again) == 4    # nothing re-rated
    ind = autorate(store, scripted(lambda r, i: json.dumps(GOOD)[1:]), "physician", ["model"])
    assert len(ind) == 4 and all(r["values"] == GOOD for r in ind)


def test_kappa_and_agreement():
    auto = [{"answer_id": f"x{i}", "ok": True, "values": {"bias": "No" if i < 8 else "Yes"}} for i in range(10)]
    human = [Rating("physician", f"x{i}", f"q{i}", "model", "doc", "bias", "No" if i < 9 else "Yes") for i in range(10)]
    (res,) = agreement(auto, human)
    assert res.n == 10 and res.percent == pytest.approx(0.9)
    # by hand: po = 9/10; marginals No 9/1 and 8/2 -> pe = (9*8 + 1*2)/100 = .74; kappa = (.9 - .74)/(1 - .74)
    assert res.kappa == pytest.approx(0.16 / 0.26)


def _two_answers(store):
    for q in ("q1", "q2"):
        store.save_answer(dict(qid=q, source="model", dataset="t", question=f"{q}?", text=f"model says {q}", model=None,
                               prompt=None, params={}, tokens=None, seconds=None, extra={}))


def test_autorate_refuses_a_changed_rubric_or_retries_and_resumes_without_calls(tmp_path, scripted):
    store = Store(tmp_path / "r")
    _two_answers(store)
    good = scripted(lambda r, i: json.dumps(GOOD)[1:])
    rows = autorate(store, good, "physician", retries=1)
    assert len(rows) == 2 and len(good.requests) == 2
    again = scripted(lambda r, i: json.dumps(GOOD)[1:])
    assert autorate(store, again, "physician", retries=1) == rows and again.requests == []   # resumed: no grader call
    with pytest.raises(ValueError, match="rater 'auto:scripted:physician'.*retries"):
        autorate(store, again, "physician", retries=2)
    first = RUBRIC.physician[0]
    changed = replace(RUBRIC, physician=(replace(first, question=first.question + " (reworded)"), *RUBRIC.physician[1:]))
    with pytest.raises(ValueError, match="prompt"):
        autorate(store, again, "physician", rubric=changed, retries=1)
    assert again.requests == [] and len(store.ratings()) == 2      # nothing mixed in
    assert len(autorate(store, again, "lay", retries=1)) == 2 and again.requests   # another kind: another rater


def test_two_answer_sources_share_a_store_without_sharing_generations(tmp_path, scripted):
    run = str(tmp_path / "r")
    a, b = scripted(lambda r, i: "from A"), scripted(lambda r, i: "from B")
    run_answers(AnswerConfig(dataset="adversarial_general", model="a", limit=2, max_tokens=8, run_dir=run), backend=a)
    store = run_answers(AnswerConfig(dataset="adversarial_general", model="b", limit=2, max_tokens=8, run_dir=run),
                        backend=b)
    assert len(b.requests) == 2, "source b's identical requests are not answered from source a's cache"
    assert {r["text"] for r in store.answers("a")} == {"from A"} and {r["text"] for r in store.answers("b")} == {"from B"}
    assert [p["config"]["model"] for p in [store.run_info()["provenance"]["created"],
                                           *store.run_info()["provenance"]["resumed"]]] == ["a", "b"]
