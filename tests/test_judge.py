"""The judge card (agreement with physicians vs their leave-one-rater-out ceiling), its bias probes, the judged
estimates in `rate analyze`, and the `clinqa judge` commands, on hand-made and simulated studies."""

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score
from typer.testing import CliRunner

from clinqa.analysis.judge import balanced_f1_from, judge_card, kappa_from
from clinqa.analysis.judge_probes import first_position_share, length_bias, self_preference
from clinqa.analysis.judge_sim import keep_humans_on, simulated_judged_study
from clinqa.analysis.judged import judged_estimates
from clinqa.analysis.report import analyze, number_rows, write_report
from clinqa.analysis.table import Rating, write_ratings
from clinqa.cli import app
from clinqa.data.rubric import load_rubric

RB = load_rubric()
AX = {a.key: a for k in ("physician", "lay", "pairwise") for a in RB.axes(k)}


def _study(judge_values, human_values, axis="harm_extent", kind="physician"):
    """human_values: per item a list of values (one per rater); judge_values: one per item."""
    out = []
    for i, (jv, hs) in enumerate(zip(judge_values, human_values)):
        item = f"model:q{i}"
        out += [Rating(kind, item, f"q{i}", "model", f"doc{r}", axis, v) for r, v in enumerate(hs)]
        out.append(Rating(kind, item, f"q{i}", "model", "auto:g", axis, jv))
    return out


def test_kappa_and_balanced_f1_match_sklearn():
    rng = np.random.default_rng(0)
    scale = AX["harm_extent"].scale
    h = [scale[i] for i in rng.integers(0, 3, 200)]
    j = [x if rng.random() < 0.6 else scale[rng.integers(0, 3)] for x in h]
    row = judge_card(_study(j, [[x] for x in h]), (AX["harm_extent"],), "physician", n_boot=200)[0]
    assert row.weighted
    assert row.kappa.estimate == pytest.approx(cohen_kappa_score(h, j, labels=list(scale), weights="linear"))
    hb, jb = [x == scale[0] for x in h], [x == scale[0] for x in j]
    assert row.f1.estimate == pytest.approx(f1_score(hb, jb, average="macro"))
    assert row.kappa.low < row.kappa.estimate < row.kappa.high
    conf = np.array([[5.0, 1.0], [2.0, 4.0]])
    ref, rater = [0] * 6 + [1] * 6, [0] * 5 + [1] + [0] * 2 + [1] * 4
    assert kappa_from(conf, False) == pytest.approx(cohen_kappa_score(ref, rater))
    assert balanced_f1_from(conf, True) == pytest.approx(np.mean([10 / 13, 8 / 11]))


def test_ceiling_is_leave_one_rater_out_and_a_random_judge_falls_below_it():
    rng = np.random.default_rng(1)
    scale = AX["correct_recall"].scale
    truth = rng.random(150) < 0.6
    humans = [[scale[0] if (t if rng.random() < 0.9 else not t) else scale[1] for _ in range(3)] for t in truth]
    judge = [scale[int(rng.integers(0, 2))] for _ in truth]
    row = judge_card(_study(judge, humans, "correct_recall"), (AX["correct_recall"],), "physician", n_boot=300)[0]
    assert row.n_pairs == 450 and row.n_ceiling_pairs == 900      # 3 raters: 6 ordered pairs of distinct raters
    # ceiling kappa 0.61 on 150 answers: its lower 2.5% bound is about 0.50 give or take the Monte Carlo noise of 300
    # resamples (0.495-0.524 over seeds 0-5), so the check is that it stays well above zero and above the judge's
    assert row.ceiling_kappa.low > 0.45 and row.kappa.high < row.ceiling_kappa.low
    assert row.kappa.low < 0 < row.kappa.high
    copy = judge_card(_study([h[0] for h in humans], humans, "correct_recall"), (AX["correct_recall"],),
                      "physician", n_boot=100)[0]
    assert copy.kappa.estimate > row.kappa.estimate + 0.5


def test_pairwise_agreement_is_unblinded():
    axis = AX["better_consensus"]
    out = []
    for i in range(20):
        pair = f"q{i}:model|physician"
        # the physician saw model first and chose it; the judge saw the swapped order and chose the model too
        out.append(Rating("pairwise", pair, f"q{i}", "model", "doc1", axis.key, "Answer 1", "physician"))
        out.append(Rating("pairwise", pair, f"q{i}", "physician", "auto:g", axis.key,
                          "Answer 2" if i % 3 else "Answer 1", "model"))
    row = judge_card(out, (axis,), "pairwise", n_boot=100)[0]
    agree = np.mean([i % 3 != 0 for i in range(20)])
    assert row.n_pairs == 20 and row.f1.estimate < 1
    shares = first_position_share(out)
    assert shares["physicians"] == (1.0, 20) and shares["auto:g"][0] == pytest.approx(1 - agree)


def test_judged_estimates_and_probes_on_a_simulated_study():
    ratings = keep_humans_on(simulated_judged_study(seed=2, skill=0.8, leniency=0.9), 0.4, seed=2)
    rows = judged_estimates(ratings, RB.axes("physician"), "physician")
    r = next(x for x in rows if x.axis == "missing_content" and x.source == "model")
    assert r.ppi.n_judged == 140 and 30 < r.ppi.n_labeled < 80
    assert r.judge_only.estimate > r.human.estimate            # the lenient judge overrates
    assert 0 <= r.ppi.lam <= 1 and r.ppi.width <= r.human.width * 1.01
    lengths = {x.item: (500 if x.source == "model" else 100) + i for i, x in enumerate(ratings)}
    bins, rho = length_bias(ratings, lengths, RB.axes("physician"))
    assert [b.bin.split()[0] for b in bins] == ["short", "medium", "long"] and "auto:simulated-judge" in rho
    sp = self_preference(ratings, RB.axes("physician"), own={"auto:simulated-judge": "model"}, n_boot=200)
    src, gap, lo, hi = sp["auto:simulated-judge"]
    assert src == "model" and lo <= gap <= hi


def test_analyze_report_shows_the_judge_card_and_ppi(tmp_path):
    ratings = keep_humans_on(simulated_judged_study(seed=3), 0.5, seed=3)
    a = analyze(ratings, RB, n_resamples=200)
    assert a.judge is not None and set(a.judge.card) == {"physician", "lay", "pairwise"}
    assert all(not r.startswith("auto:") for s in a.summaries.values() for r in [x.source for x in s])
    stats = {r["statistic"] for r in number_rows(a)}
    assert {"weighted_kappa", "ceiling_balanced_f1", "best_bin_share:PPI++"} <= stats
    html = write_report(a, RB, tmp_path / "rep").read_text()
    assert "Judge card" in html and "PPI++" in html and (tmp_path / "rep" / "judge_physician.png").exists()


def test_judge_commands(tmp_path):
    runner = CliRunner()
    study = tmp_path / "s.csv"
    r = runner.invoke(app, ["judge", "simulate", str(study), "--questions", "30"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["judge", "card", str(study), "--resamples", "100", "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    assert "judge card" in r.output and (tmp_path / "c" / "judge_card.html").exists()
    humans_only = tmp_path / "h.csv"
    write_ratings([x for x in simulated_judged_study(seed=0) if not x.rater.startswith("auto:")][:50], humans_only)
    r = runner.invoke(app, ["judge", "card", str(humans_only)])
    assert r.exit_code == 2 and "needs both human ratings and judge ratings" in r.output
    r = runner.invoke(app, ["rate", "analyze", str(study), "--resamples", "100", "--design", str(tmp_path / "x.jsonl")])
    assert r.exit_code == 2 and "x.jsonl: no such file" in r.output


def test_judged_estimates_with_a_design_use_the_recorded_probabilities():
    from clinqa.analysis.active import select
    ratings = simulated_judged_study(seed=4)
    items = sorted({r.item for r in ratings if r.kind == "physician"})
    rng = np.random.default_rng(4)
    design = {d["answer_id"]: (d["probability"], d["selected"])
              for d in select(items, rng.random(len(items)), budget=100, seed=4)}
    kept = [r for r in ratings if r.rater.startswith("auto:") or design.get(r.item, (0, False))[1]]
    rows = judged_estimates(kept, RB.axes("physician"), "physician", design)
    n_sel = {s: sum(design[i][1] for i in items if i.startswith(s)) for s in ("model", "physician")}
    for r in rows:
        assert r.human.method == "human-only (weighted)" and r.ppi.method == "active PPI++"
        assert r.ppi.n_labeled == n_sel[r.source] and r.ppi.n_judged == 140
        assert 0 <= r.ppi.low <= r.ppi.estimate <= r.ppi.high <= 1
    with pytest.raises(ValueError, match="no sampling probability"):
        judged_estimates(kept, RB.axes("physician"), "physician", {k: v for k, v in list(design.items())[1:]})
