import numpy as np
import pytest
from scipy import stats as st

from sklearn.metrics import cohen_kappa_score

from clinqa.stats import (bootstrap, bootstrap_mean, bootstrap_replicates, clopper_pearson, cohen_kappa, label_table,
                          mcnemar_exact, mean_of_units, paired_compare)


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


def _ratio_of_sums(x):
    return x[..., 0].sum(1) / x[..., 1].sum(1)


def test_clustered_bootstrap_resamples_whole_clusters():
    # answer A: three ratings in the best bin; answer B: one rating, not; the share over ratings is 3/4
    rows = np.array([[1, 1], [1, 1], [1, 1], [0, 1]])
    answers = ["A", "A", "A", "B"]
    reps = bootstrap_replicates(_ratio_of_sums, rows, clusters=answers, n_boot=400, seed=3)
    # two answers drawn with replacement: AA (1), AB or BA (3/4), BB (0); resampling single ratings would also
    # give 1/4 and 1/2
    assert set(np.round(reps, 9)) == {0.0, 0.75, 1.0}
    assert 0.4 < np.mean(reps == 0.75) < 0.6
    single = bootstrap_replicates(_ratio_of_sums, rows, n_boot=400, seed=3)
    assert {0.25, 0.5} <= set(np.round(single, 9))
    iv = bootstrap(_ratio_of_sums, rows, clusters=answers, n_boot=400, seed=3)
    assert iv.estimate == 0.75 and (iv.low, iv.high) == (0.0, 1.0)
    with pytest.raises(ValueError, match="one label per unit"):
        bootstrap_replicates(_ratio_of_sums, rows, clusters=answers[:3])


def test_bootstrap_pairs_units_and_is_seeded():
    x = np.arange(20.0)
    def diff(a, b):
        return mean_of_units(a) - mean_of_units(b)
    assert np.all(bootstrap_replicates(diff, x, x, paired=True, n_boot=200) == 0)
    unpaired = bootstrap_replicates(diff, x, x, n_boot=200)
    assert np.std(unpaired) > 1
    assert np.array_equal(unpaired, bootstrap_replicates(diff, x, x, n_boot=200))
    assert not np.array_equal(unpaired, bootstrap_replicates(diff, x, x, n_boot=200, seed=1))
    with pytest.raises(ValueError, match="same units"):
        bootstrap_replicates(diff, x, x[:5], paired=True)
    iv = bootstrap(mean_of_units, x, n_boot=2000)
    assert iv.estimate == pytest.approx(9.5) and iv.low < 9.5 < iv.high
    assert np.isnan(bootstrap(mean_of_units, []).estimate)


def test_kappa_by_hand_and_against_sklearn():
    # raters a and b on 10 items: agree on 9; a says "x" 6 times, b 7 times
    a, b = list("xxxyyxxxyy"), list("xxxyxxxxyy")
    table = label_table(a, b)
    assert table.tolist() == [[6, 0], [1, 3]]
    # by hand: po = 9/10, pe = (6*7 + 4*3)/100 = .54
    assert cohen_kappa(table) == pytest.approx((0.9 - 0.54) / (1 - 0.54))
    assert cohen_kappa(table) == pytest.approx(cohen_kappa_score(a, b))
    # linearly weighted, 3 ordered values: disagreement weights |i - j|; observed 2/7, expected 40/49
    ordinal = np.array([[2, 1, 0], [0, 2, 1], [0, 0, 1]])
    assert cohen_kappa(ordinal, weighted=True) == pytest.approx(1 - (2 / 7) / (40 / 49))
    ra = np.repeat([0, 1, 2], ordinal.sum(1))
    rb = np.concatenate([np.repeat([0, 1, 2], row) for row in ordinal])
    assert cohen_kappa(ordinal, weighted=True) == pytest.approx(cohen_kappa_score(ra, rb, weights="linear"))
    assert np.isnan(cohen_kappa([[5, 0], [0, 0]]))        # one value only: kappa undefined


def test_kappa_of_many_tables_at_once_equals_statsmodels_table_by_table():
    import numpy as np

    from clinqa.stats import cohen_kappa, cohen_kappa_tables
    rng = np.random.default_rng(0)
    for k in (2, 3, 5):
        tables = rng.integers(0, 20, (40, k, k)).astype(float)
        for weighted in (False, True):
            at_once = cohen_kappa_tables(tables, weighted)
            one_by_one = np.array([cohen_kappa(t, weighted) for t in tables])
            assert np.allclose(at_once, one_by_one, atol=1e-12, equal_nan=True)
    assert np.isnan(cohen_kappa_tables(np.array([[5.0, 0.0], [0.0, 0.0]])))
