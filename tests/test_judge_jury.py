"""A jury of graders: majority for categorical axes, mean position for ordinal ones, pairwise votes un-blinded; each
judge and the jury stored side by side; active selection from the jury's disagreement; position-swap probe."""

import json

import pytest

from clinqa.analysis.judge import judge_card
from clinqa.judge.position import position_swap
from clinqa.analysis.table import Rating, ratings_from_store
from clinqa.judge.jury import autorate_jury, combine_values, jury_ratings
from clinqa.models.base import GenRequest
from clinqa.data.rubric import load_rubric
from clinqa.eval.store import Store

RB = load_rubric()
AX = {a.key: a for k in ("physician", "lay", "pairwise") for a in RB.axes(k)}


def test_combine_values():
    cons, harm, recall = AX["consensus"], AX["harm_extent"], AX["correct_recall"]
    assert combine_values(["Opposed to consensus", "No consensus", "No consensus"], cons, "physician") == "No consensus"
    assert combine_values(["Opposed to consensus", "No consensus"], cons, "physician") == "Opposed to consensus"
    # ordinal: mean position, a tie between neighbours goes to the worse value
    assert combine_values(["No harm", "Death or severe harm"], harm, "physician") == "Moderate or mild harm"
    assert combine_values(["No harm", "Moderate or mild harm"], harm, "physician") == "Moderate or mild harm"
    assert combine_values(["No harm", "No harm", "Moderate or mild harm"], harm, "physician") == "No harm"
    assert combine_values(["Yes", "No", "No"], recall, "physician") == "No"


def test_pairwise_jury_counts_the_chosen_answer_not_the_side():
    ax = AX["better_consensus"]

    def row(judge, first, value):
        second = "physician:q1" if first == "model:q1" else "model:q1"
        return dict(rater=judge, kind="pairwise", ok=True, answer_id=first, other_answer_id=second,
                    values={ax.key: value}, meta={"answer_1": first, "answer_2": second})
    by = {"auto:a": [row("auto:a", "model:q1", "Answer 1")],           # chose the model
          "auto:b": [row("auto:b", "physician:q1", "Answer 2")],      # chose the model, shown second
          "auto:c": [row("auto:c", "model:q1", "Answer 2")]}          # chose the physician
    [j] = jury_ratings(by, (ax,), "pairwise")
    assert j["rater"] == "jury:a+b+c" and j["values"][ax.key] == "Answer 1" and j["meta"]["answer_1"] == "model:q1"


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "run")
    for src in ("model", "physician"):
        for q in range(6):
            s.save_answer(dict(qid=f"q{q}", source=src, dataset="t", question=f"question {q}?",
                               text=f"{src} answer {q} " + "word " * (q * 5), model=None, prompt=None, params={},
                               tokens=None, seconds=None, extra={}))
    return s


def _grader(name, value_for):
    from conftest import ScriptedBackend

    def respond(req, i):
        return json.dumps({a.key: value_for(req.prompt, a) for a in RB.physician})[1:]
    b = ScriptedBackend(respond)
    b.name = name
    return b


def test_autorate_jury_stores_each_judge_and_the_jury(store):
    best = _grader("g1", lambda p, a: a.best)
    worst = _grader("g2", lambda p, a: a.scale[-1])
    broken = _grader("g3", lambda p, a: "???")
    res = autorate_jury(store, [best, worst, broken], "physician", retries=0)
    assert list(res) == ["auto:g1", "auto:g2", "auto:g3", "jury:g1+g2+g3"]
    assert sum(r["ok"] for r in res["auto:g3"]) == 0
    jury = res["jury:g1+g2+g3"]
    assert len(jury) == 12 and all(r["meta"]["judges"] == ["auto:g1", "auto:g2"] for r in jury)
    v = jury[0]["values"]
    assert v["harm_extent"] == "Moderate or mild harm"          # ordinal: mean of best and worst
    assert v["consensus"] == "Aligned with consensus"           # categorical tie: first judge's vote
    ratings = ratings_from_store(store)
    humans = [Rating("physician", r.item, r.qid, r.source, "doc1", r.axis, AX[r.axis].best)
              for r in ratings if r.rater == "auto:g1"]
    card = judge_card(ratings + humans, (AX["correct_recall"],), "physician", n_boot=50)
    assert {r.judge for r in card} == {"auto:g1", "auto:g2", "jury:g1+g2+g3"}


def test_select_from_jury_disagreement_and_position_probe(store, tmp_path):
    from typer.testing import CliRunner

    from clinqa.analysis.active import read_design
    from clinqa.cli import app
    split = _grader("g2", lambda p, a: a.scale[-1] if any(f"answer {q} " in p for q in (3, 4, 5)) else a.best)
    autorate_jury(store, [_grader("g1", lambda p, a: a.best), split], "physician", retries=0)
    r = CliRunner().invoke(app, ["judge", "select", str(store.dir), "--budget", "4", "--out",
                                 str(tmp_path / "d.jsonl")])
    assert r.exit_code == 0, r.output
    design = read_design(tmp_path / "d.jsonl")
    assert len(design) == 12 and sum(p for p, _ in design.values()) == pytest.approx(4)
    assert design["model:q0"][0] < design["model:q3"][0]          # judges agree on q0, split on q3

    def first_wins(req, i):
        return json.dumps({a.key: "Answer 1" for a in RB.pairwise})[1:]
    from conftest import ScriptedBackend
    res = position_swap(ScriptedBackend(first_wins), RB.pairwise, [("q?", "a", "b"), ("q2?", "c", "d")], retries=0)
    assert res["parsed"] == 2 and res["first"] == 1.0 and res["better_consensus"] == 0.0


def test_grader_requests_carry_the_json_schema_where_the_backend_constrains():
    from clinqa.eval.healthbench import grade_criterion
    from clinqa.judge.autorate import grade
    from clinqa.models.base import Backend

    class Constraining(Backend):
        name = "constraining"
        supports_json_schema = True

        def __init__(self):
            self.schemas = []

        def _generate(self, requests):
            from clinqa.models.base import GenResult
            out = []
            for r in requests:
                assert r.json_schema and not r.prefix, "a constraining backend gets the schema, no '{' prefix"
                schema = json.loads(r.json_schema)
                self.schemas.append(schema)
                reply = ({a.key: a.scale[1] for a in RB.physician} if "criteria_met" not in schema["properties"]
                         else {"explanation": "-", "criteria_met": True})
                out.append(GenResult([json.dumps(reply)], [1], 1))
            return out
    b = Constraining()
    g = grade(b, "physician", RB.physician, "q?", ["a"], seed=0, retries=0)
    assert g.values == {a.key: a.scale[1] for a in RB.physician}
    assert grade_criterion(b, "user: q", "criterion", retries=0)[0] is True
    assert [list(s["properties"]) for s in b.schemas] == [[a.key for a in RB.physician],
                                                            ["explanation", "criteria_met"]]
    assert b.schemas[0]["properties"][RB.physician[0].key]["enum"] == list(RB.physician[0].scale)

    class Free(Constraining):
        supports_json_schema = False
    with pytest.raises(NotImplementedError, match="JSON schema"):
        Free().generate([GenRequest("q", json_schema="{}")])


def test_rate_analyze_merges_judge_ratings_from_a_run(store, tmp_path):
    from typer.testing import CliRunner

    from clinqa.analysis.table import write_ratings
    from clinqa.cli import app
    autorate_jury(store, [_grader("g1", lambda p, a: a.best if "answer 1 " in p else a.scale[-1])], "physician",
                  retries=0)
    humans = [Rating("physician", a["answer_id"], a["qid"], a["source"], f"doc{d}", ax.key,
                     ax.best if (d + int(a["qid"][1:])) % 3 else ax.scale[-1])
              for a in store.answers() for d in range(2) for ax in RB.physician]
    study = write_ratings(humans, tmp_path / "humans.csv")
    r = CliRunner().invoke(app, ["rate", "analyze", str(study), "--judge", str(store.dir), "--resamples", "50",
                                 "--out", str(tmp_path / "rep")], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "judge card, physician" in r.output and "length bias, auto:g1" in r.output
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "Judge card" in html and "auto:g1" in html


def test_autorate_command_runs_a_jury_with_several_graders(tmp_path, tiny_model_dir, tiny_backend):
    import shutil

    from typer.testing import CliRunner

    from clinqa.cli import app
    from clinqa.longform.answer import AnswerConfig, run_answers
    from clinqa.eval.store import Store
    run_answers(AnswerConfig(dataset="adversarial_general", model="tiny", limit=2, max_tokens=4,
                             run_dir=str(tmp_path / "a")), backend=tiny_backend)
    second = tmp_path / "tiny-2"
    shutil.copytree(tiny_model_dir, second)
    r = CliRunner().invoke(app, ["autorate", str(tmp_path / "a"), "--grader", str(tiny_model_dir), "--grader",
                                 str(second), "--retries", "0"])
    assert r.exit_code == 0, r.output
    raters = {x["rater"] for x in Store(tmp_path / "a").ratings()}
    assert {f"auto:{tiny_model_dir}", f"auto:{second}"} <= raters          # each judge graded every answer
    assert all(sum(x["rater"] == name for x in Store(tmp_path / "a").ratings()) == 2 for name in raters
               if name.startswith("auto:"))
    flat = " ".join(r.output.split())
    assert "ratings by jury:" in flat and flat.count("ratings parsed") == 2


def test_create_study_sends_only_the_designs_selected_answers_to_raters(tmp_path, tiny_backend):
    from typer.testing import CliRunner

    from clinqa.analysis.active import write_design
    from clinqa.cli import app
    from clinqa.longform.answer import AnswerConfig, run_answers
    store = run_answers(AnswerConfig(dataset="adversarial_general", model="tiny", limit=5, max_tokens=3,
                                     run_dir=str(tmp_path / "a")), backend=tiny_backend)
    ids = [a["answer_id"] for a in store.answers()]
    write_design([{"answer_id": a, "probability": 0.4, "selected": a in ids[:2]} for a in ids], tmp_path / "d.jsonl")
    db = f"sqlite:///{tmp_path / 'study.sqlite'}"
    runner = CliRunner()
    for user in ("ann", "bob"):
        assert runner.invoke(app, ["rate", "add-user", user, "--password", "a long password", "--db", db]).exit_code == 0
    r = runner.invoke(app, ["rate", "create-study", "s", "--answers", str(tmp_path / "a"), "--sources", "tiny",
                            "--physician", "1", "--design", str(tmp_path / "d.jsonl"), "--db", db])
    assert r.exit_code == 0, r.output
    assert "2 selected answers go to human raters" in r.output
    assigned = sum(int(line.split(": ")[1].split()[0]) for line in r.output.splitlines() if "items" in line)
    assert assigned == 2, r.output
