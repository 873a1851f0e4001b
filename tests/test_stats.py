import numpy as np
import pytest
from scipy import stats as st

from clinqa.stats import bootstrap_mean, clopper_pearson, mcnemar_exact, paired_compare


def test_clopper_pearson_known_values():
    ci = clopper_pearson(5, 10)
    assert ci.estimate == 0.5
    assert ci.low == pytest.approx(0.187086, abs=1e-5) and ci.high == pytest.approx(0.812914, abs=1e-5)
    assert clopper_pearson(0, 20).low == 0.0
    assert clopper_pearson(20, 20).high == 1.0
    # the exact interval via beta quantiles
    k, n = 37, 80
    assert clopper_pearson(k, n).low == pytest.approx(st.beta.ppf(0.025, k, n - k + 1))


def test_mcnemar_exact_by_hand():
    assert mcnemar_exact(1, 9) == pytest.approx(2 * (1 + 10) / 1024)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == pytest.approx(1.0)


def test_paired_compare():
    a = np.array([1, 1, 0, 0, 1, 0, 1, 0, 0, 0] * 5)
    b = np.array([1, 1, 1, 1, 1, 0, 1, 1, 0, 0] * 5)
    c = paired_compare(a, b)
    assert (c.only_a, c.only_b) == (0, 15) and c.diff.estimate == pytest.approx(0.3)
    assert c.diff.low < 0.3 < c.diff.high and c.diff.low > 0
    assert c.mcnemar_p == pytest.approx(2 * 0.5 ** 15)
    with pytest.raises(ValueError):
        paired_compare([1, 0], [1])


def test_bootstrap_coverage_simulation():
    """The percentile bootstrap interval of accuracy covers the true p in about 95% of simulated runs."""
    rng = np.random.default_rng(1)
    hits = 0
    sims = 300
    for i in range(sims):
        x = rng.random(200) < 0.6
        ci = bootstrap_mean(x, n_boot=2000, seed=i)
        hits += ci.low <= 0.6 <= ci.high
    assert 0.91 <= hits / sims <= 0.98
