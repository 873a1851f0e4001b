"""Study planning and non-inferiority: `clinqa rate plan` prints minimum detectable differences that an independent
simulation confirms (power within 5 points of 80%), and the non-inferiority test holds its level at the margin,
detects a source that is as good, and reaches the report and numbers.csv."""

import re

import numpy as np
import pytest
from typer.testing import CliRunner

from clinqa.analysis.independent import noninferiority
from clinqa.analysis.power import Design, power
from clinqa.analysis.simulate import simulate_study
from clinqa.analysis.table import Rating
from clinqa.cli import app as cli
from clinqa.data.rubric import Rubric, load_rubric

RUBRIC = load_rubric()


def printed_mde(output: str, label: str) -> float:
    row = next(line for line in output.splitlines() if label in line)
    return float(re.findall(r"(\d+\.\d)", row)[-1]) / 100


def test_plan_prints_mdes_that_an_independent_simulation_confirms():
    r = CliRunner().invoke(cli, ["rate", "plan", "--questions", "40", "--raters", "2", "--baseline",
                                 "consensus=0.8,bias=0.92", "--sims", "1000", "--seed", "0"])
    assert r.exit_code == 0, r.output
    design = Design(n_questions=40, raters=2)
    for label, baseline in (("consensus", 0.8), ("Possibility of bias", 0.92)):
        m = printed_mde(r.output, label)
        assert 0.05 < m < 0.5
        got = power(design, baseline, m, n_sims=400, seed=12345)      # new studies, not the planner's
        assert abs(got - 0.80) <= 0.05, (label, m, got)
        assert power(design, baseline, 0.6 * m, n_sims=400, seed=12345) < 0.65    # and not a needlessly large MDE
    r = CliRunner().invoke(cli, ["rate", "plan", "--target", "0.3", "--raters", "2", "--baseline", "0.8",
                                 "--sims", "200"])
    assert r.exit_code == 0 and re.search(r"│\s+80\.0 │\s+\d+ │", r.output), r.output
    r = CliRunner().invoke(cli, ["rate", "plan", "--baseline", "1.5"])
    assert r.exit_code == 2 and "baseline" in r.output


def one_axis_study(n_questions, model, physician, seed, raters=2, concentration=6.0):
    """Ratings of one axis: every answer's quality Beta-distributed around its source's share, `raters` each."""
    axis = RUBRIC.axes("physician")[0]                           # consensus
    rng = np.random.default_rng(seed)
    out = []
    for source, p in (("model", model), ("physician", physician)):
        quality = rng.beta(p * concentration, (1 - p) * concentration, n_questions)
        for q in range(n_questions):
            for r in range(raters):
                value = axis.scale[0] if rng.random() < quality[q] else axis.scale[1]
                out.append(Rating("physician", f"{source}:q{q}", f"q{q}", source, f"r{r}", axis.key, value))
    return out, Rubric("one", (axis,), (), ())


def test_noninferiority_holds_its_level_at_the_margin_and_finds_an_equal_source():
    at_margin, equal = [], []
    for seed in range(300):
        ratings, rb = one_axis_study(60, 0.75, 0.85, seed)      # the model is exactly the margin worse: H0 holds
        at_margin.append(noninferiority(ratings, rb.physician, "physician", "physician", 0.10, 400, seed)[0].p_value)
        ratings, rb = one_axis_study(60, 0.85, 0.85, seed)
        equal.append(noninferiority(ratings, rb.physician, "physician", "physician", 0.10, 400, seed)[0].p_value)
    assert np.mean(np.array(at_margin) < 0.05) <= 0.09           # about alpha at the boundary
    assert np.mean(np.array(equal) < 0.05) >= 0.5                # power against an equally good source


def test_noninferiority_with_holm_in_the_analysis(tmp_path):
    ratings = simulate_study()
    rows = {x.axis: x for x in noninferiority(ratings, RUBRIC.physician, "physician", "physician", 0.05, 2000)}
    assert rows["consensus"].non_inferior and rows["consensus"].lower > 0          # model truly better
    assert not rows["missing_content"].non_inferior and rows["missing_content"].difference < -0.1
    from statsmodels.stats.multitest import multipletests
    assert np.allclose([x.p_holm for x in rows.values()],
                       multipletests([x.p_value for x in rows.values()], method="holm")[1])
    with pytest.raises(ValueError, match="reference source 'nobody'"):
        noninferiority(ratings, RUBRIC.physician, "physician", "nobody", 0.05)
    from clinqa.analysis.table import write_ratings
    study = write_ratings(ratings, tmp_path / "s.csv")
    r = CliRunner().invoke(cli, ["rate", "analyze", str(study), "--resamples", "300", "--margin", "0.05",
                                 "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert "non-inferiority against physician" in r.output
    assert "Non-inferiority (margin 5.0 points)" in (tmp_path / "out" / "report.html").read_text()
    assert ",noninferiority,physician,consensus,model,physician,p_holm," in \
        "," + (tmp_path / "out" / "numbers.csv").read_text().replace("\n", "\n,")
