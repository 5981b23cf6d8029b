"""Known-answer tests for outcomes.stats.paired."""

import numpy as np
import pytest
from scipy import stats

from outcomes.errors import OutcomesError
from outcomes.stats import hodges_lehmann, paired_change
from outcomes.stats import paired as paired_module

# Hollander & Wolfe (1973, p. 29) depression data, the R help example of wilcox.test:
X = np.array([1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30])
Y = np.array([0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29])
D = X - Y


def _walsh(d):
    i, j = np.triu_indices(d.size)
    return np.sort((d[i] + d[j]) / 2)


def test_wilcoxon_p_matches_published_r_output():
    # R:  wilcox.test(x, y, paired = TRUE)
    #     Wilcoxon signed rank exact test
    #     V = 40, p-value = 0.03906
    row = paired_change(D).set_index("statistic").loc["hodges_lehmann"]
    assert row.p_value == pytest.approx(0.03906, abs=5e-6)
    assert row.method == "walsh_exact+wilcoxon"


def test_hodges_lehmann_exact_interval_is_r_algorithm_and_inverts_the_exact_test():
    # R: wilcox.test(x, y, paired = TRUE, conf.int = TRUE) takes
    #   qu <- qsignrank(alpha/2, n); interval c(diffs[qu], diffs[n(n+1)/2 - qu + 1]),
    #   estimate median(diffs), diffs = sorted Walsh averages.
    # For n = 9: qsignrank(0.025, 9) = 6 (P(V <= 5) = 10/512 < 0.025 <= P(V <= 6) = 14/512).
    w = _walsh(D)
    hl = hodges_lehmann(D).iloc[0]
    assert hl.estimate == pytest.approx(np.median(w)) and hl.estimate == pytest.approx(0.46)
    assert (hl.ci_low, hl.ci_high) == pytest.approx((w[5], w[39]))  # (0.010, 0.786)
    # Independent check with scipy's exact signed-rank test: mu inside the interval is
    # not rejected at 5%, mu just outside is.
    eps = 1e-6
    p = lambda mu: stats.wilcoxon(D - mu, method="exact").pvalue
    assert p(hl.ci_low + eps) > 0.05 and p(hl.ci_high - eps) > 0.05
    assert p(hl.ci_low - eps) < 0.05 and p(hl.ci_high + eps) < 0.05


def test_signed_rank_cdf_matches_enumeration():
    n = 8
    sums = np.array([sum(k + 1 for k in range(n) if mask >> k & 1) for mask in range(2**n)])
    expected = np.array([(sums <= v).mean() for v in range(n * (n + 1) // 2 + 1)])
    np.testing.assert_allclose(paired_module._signrank_cdf(n), expected, rtol=1e-12)


@pytest.mark.parametrize("seed", range(20))
def test_count_table_hodges_lehmann_equals_brute_force_walsh_averages(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 150))
    d = rng.integers(-6, 5, size=n).astype(float)
    w = _walsh(d)
    hl = hodges_lehmann(d).iloc[0]
    assert hl.estimate == np.median(w)
    m = w.size
    z = stats.norm.ppf(0.975)
    c = max(int(np.round(n * (n + 1) / 4 - z * np.sqrt(n * (n + 1) * (2 * n + 1) / 24))), 1)
    assert (hl.ci_low, hl.ci_high) == (w[c - 1], w[m - c])
    assert hl.method == "walsh_normal"  # ties -> large-sample order statistics


def test_mean_row_matches_scipy_ttest():
    rng = np.random.default_rng(2)
    d = rng.normal(-1.2, 2.0, size=35)
    row = paired_change(d).set_index("statistic").loc["mean"]
    ref = stats.ttest_1samp(d, 0.0)
    ci = ref.confidence_interval(0.95)
    assert row.estimate == pytest.approx(d.mean())
    assert (row.ci_low, row.ci_high) == pytest.approx((ci.low, ci.high))
    assert row.p_value == pytest.approx(ref.pvalue)
    less = paired_change(d, alternative="less").set_index("statistic").loc["mean"]
    assert less.p_value == pytest.approx(stats.ttest_1samp(d, 0.0, alternative="less").pvalue)


@pytest.mark.parametrize(
    ("kind", "n", "method"),
    [
        ("continuous", 40, "bootstrap_percentile"),
        ("continuous", 260, "bootstrap_percentile"),
        ("discrete", 400, "bootstrap_percentile_counts"),
    ],
)
def test_bootstrap_intervals_agree_with_scipy_bootstrap(kind, n, method):
    rng = np.random.default_rng(4)
    # Continuous: every row distinct -> row-index sampler; discrete (-4..5): >= 3 rows per
    # distinct value -> multinomial sampler over the distinct values.
    d = rng.normal(1.0, 2.0, size=n) if kind == "continuous" else rng.integers(-4, 6, size=n).astype(float)
    out = paired_change(d, n_boot=9999, seed=1).set_index("statistic")
    assert out.loc["median", "method"] == method

    def d_z(x, axis=-1):
        return x.mean(axis=axis) / x.std(axis=axis, ddof=1)

    for name, fn in (("median", np.median), ("d_z", d_z)):
        ref = stats.bootstrap(
            (d,), fn, n_resamples=9999, method="percentile", rng=np.random.default_rng(2)
        ).confidence_interval
        spread = ref.high - ref.low
        assert out.loc[name, "ci_low"] == pytest.approx(ref.low, abs=0.08 * spread)
        assert out.loc[name, "ci_high"] == pytest.approx(ref.high, abs=0.08 * spread)


def test_count_bootstrap_has_the_distribution_of_row_resampling(monkeypatch):
    rng = np.random.default_rng(6)
    base = rng.integers(3, 11, size=300).astype(float)
    d = -rng.integers(0, 6, size=300).astype(float)
    counts = paired_change(d, baseline=base, n_boot=8000, seed=3).set_index("statistic")
    monkeypatch.setattr(paired_module, "_MULTINOMIAL_COST", 10**9)  # forces the row-index sampler
    rows = paired_change(d, baseline=base, n_boot=8000, seed=3).set_index("statistic")
    assert counts.loc["d_z", "method"] == "bootstrap_percentile_counts"
    assert rows.loc["d_z", "method"] == "bootstrap_percentile"
    for name in ("d_z", "es_kazis"):
        spread = rows.loc[name, "ci_high"] - rows.loc[name, "ci_low"]
        for col in ("ci_low", "ci_high"):
            assert counts.loc[name, col] == pytest.approx(rows.loc[name, col], abs=0.05 * spread)
    # The median of a discrete change has few possible bootstrap values: equal limits.
    assert counts.loc["median", ["ci_low", "ci_high"]].tolist() == rows.loc["median", ["ci_low", "ci_high"]].tolist()


@pytest.mark.parametrize("discrete", [True, False])
def test_bootstrap_result_does_not_depend_on_threads_or_blocks(monkeypatch, discrete):
    rng = np.random.default_rng(9)
    base = rng.integers(20, 90, size=3000).astype(float)
    d = (rng.integers(-10, 30, size=3000) if discrete else rng.normal(8, 9, size=3000)).astype(float)
    one = paired_change(d, baseline=base, seed=4)
    monkeypatch.setattr(paired_module, "_THREAD_MIN_CELLS", 0)  # blocks on a thread pool
    monkeypatch.setattr(paired_module, "_threads", lambda: 3)
    assert paired_change(d, baseline=base, seed=4).equals(one)
    monkeypatch.setattr(paired_module, "_BLOCK", 7)  # other block sizes: other streams, same distribution
    other = paired_change(d, baseline=base, seed=4).set_index("statistic")
    one = one.set_index("statistic")
    for name in ("d_z", "es_kazis"):
        spread = one.loc[name, "ci_high"] - one.loc[name, "ci_low"]
        assert other.loc[name, ["ci_low", "ci_high"]].tolist() == pytest.approx(
            one.loc[name, ["ci_low", "ci_high"]].tolist(), abs=0.1 * spread
        )


def test_effect_size_definitions():
    d = np.array([-3.0, -2, -4, 0, -1, -2, -5, -3])
    b = np.array([7.0, 6, 8, 5, 6, 7, 9, 6])
    out = paired_change(d, baseline=b).set_index("statistic")
    assert out.loc["d_z", "estimate"] == pytest.approx(d.mean() / d.std(ddof=1))  # = SRM
    assert out.loc["es_kazis", "estimate"] == pytest.approx(d.mean() / b.std(ddof=1))
    assert list(out.index) == ["mean", "median", "hodges_lehmann", "d_z", "es_kazis"]
    assert (out.n == 8).all() and (out.ci_low <= out.estimate).all() and (out.estimate <= out.ci_high).all()


def test_same_seed_same_result_and_seed_matters():
    d = np.random.default_rng(8).normal(size=60)
    a = paired_change(d, seed=5)
    assert a.equals(paired_change(d, seed=5))
    assert not a.equals(paired_change(d, seed=6))


def test_all_zero_change_gives_p_one_and_nan_standardized_effects():
    out = paired_change(np.zeros(10)).set_index("statistic")
    assert out.loc["hodges_lehmann", "p_value"] == 1.0
    assert np.isnan(out.loc["d_z", "estimate"]) and np.isnan(out.loc["d_z", "ci_low"])


def test_discrete_changes_are_bootstrapped_from_the_count_table():
    # Cost independent of rows: discrete outcomes resample the table of distinct values
    # (multinomial counts), never the rows.  Timings live in benchmarks/, not in tests.
    rng = np.random.default_rng(1)
    n = 200_000
    base = rng.integers(3, 11, size=n)
    d = -rng.integers(0, base + 1)
    out = paired_change(d, baseline=base, n_boot=2000).set_index("statistic")
    assert out.loc["d_z", "n"] == n
    assert out.loc["d_z", "method"] == "bootstrap_percentile_counts"
    assert out.loc["median", "method"] == "bootstrap_percentile_counts"


@pytest.mark.parametrize(
    ("call", "rule"),
    [
        (lambda: paired_change([1.0]), "too_few_observations"),
        (lambda: paired_change([1.0, np.nan, 2.0]), "finite_values"),
        (lambda: paired_change([1.0, 2.0], baseline=[1.0]), "too_few_observations"),
        (lambda: paired_change([1.0, 2.0, 3.0], baseline=[1.0, 2.0]), "same_length"),
        (lambda: paired_change([1.0, 2.0], alternative="bigger"), "alternative"),
        (lambda: paired_change([1.0, 2.0], n_boot=10), "n_boot"),
    ],
)
def test_bad_input_raises_outcomes_error(call, rule):
    with pytest.raises(OutcomesError) as info:
        call()
    assert info.value.rules == (rule,)
