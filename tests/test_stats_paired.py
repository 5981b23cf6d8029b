"""Known-answer tests for outcomes.stats.paired."""

import numpy as np
import pytest
from scipy import optimize, stats

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


@pytest.mark.parametrize("seed", range(10))
def test_untied_large_sample_interval_is_the_walsh_order_statistics(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 150))
    d = rng.normal(0.5, 2.0, size=n)  # no ties, n >= 50
    w = _walsh(d)
    hl = hodges_lehmann(d).iloc[0]
    assert hl.estimate == np.median(w)
    z = stats.norm.ppf(0.975)
    c = max(int(np.round(n * (n + 1) / 4 - z * np.sqrt(n * (n + 1) * (2 * n + 1) / 24))), 1)
    assert (hl.ci_low, hl.ci_high) == (w[c - 1], w[w.size - c])
    assert hl.method == "walsh_normal"


# --- ties: the mid-quantile Hodges-Lehmann estimate and its Woodruff interval -------------------


def _r_midquantile(w, p):
    """Qtools::midquantile (Geraci; R/Qtools.R, ``midecdf`` + ``midquantile``), transcribed:

    midecdf:      xo <- unique(sort(x)); y <- ecdf(x)(xo) - 0.5 * table(x) / n
    midquantile:  approxfun(y, xo, method = "linear", rule = 2)(probs)
    """
    xo, count = np.unique(w, return_counts=True)
    y = np.cumsum(count) / w.size - 0.5 * count / w.size
    return np.interp(p, y, xo), xo, y


def _midquantile_hl_reference(d, conf_level=0.95):
    """Brute force over all n(n+1)/2 Walsh averages and all n x n pairs (no count table).
    For whole-number data only (Walsh averages exact in floating point).

    Estimate and limits (R, not run here; Qtools transcribed in _r_midquantile)::

        w <- outer(d, d, "+") / 2; w <- w[upper.tri(w, diag = TRUE)]
        est <- Qtools::midquantile(w, probs = 0.5)$y
        Qtools::midquantile(w, probs = 0.5 + c(-1, 1) * qnorm(1 - alpha/2) * se)$y

    se: G(est) = (1 - u) G(a_k) + u G(a_k+1) is the U-statistic mean over i <= j of
    h(d_i, d_j), h = (1 - u) m_k + u m_k+1, m_a(x, y) = 1{(x+y)/2 < a} + 1/2 1{(x+y)/2 = a};
    se = 2 sd(g) / sqrt(n), g_i = mean_j h(d_i, d_j) (Hoeffding projection).
    """
    n = d.size
    w = _walsh(d)
    est, xo, _ = _r_midquantile(w, 0.5)
    if xo.size == 1:
        return est, est, est
    k = min(max(np.searchsorted(xo, est, side="right") - 1, 0), xo.size - 2)
    u = (est - xo[k]) / (xo[k + 1] - xo[k])
    s = (d[:, None] + d[None, :]) / 2

    def mid(a):
        return (s < a) + 0.5 * (s == a)

    g = ((1 - u) * mid(xo[k]) + u * mid(xo[k + 1])).mean(axis=1)
    se = 2 * g.std() / np.sqrt(n)
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    low, high = _r_midquantile(w, [0.5 - z * se, 0.5 + z * se])[0]
    return est, low, high


@pytest.mark.parametrize("seed", range(20))
def test_tied_count_table_equals_brute_force_midquantile_reference(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 150))
    d = rng.integers(-6, 5, size=n).astype(float)
    level = [0.95, 0.9, 0.5][seed % 3]
    hl = hodges_lehmann(d, conf_level=level).iloc[0]
    if np.unique(d).size == n:  # no ties drawn (tiny n): the untied branches
        assert hl.method in ("walsh_exact", "walsh_normal")
        return
    assert hl.method == "walsh_midquantile"
    assert (hl.estimate, hl.ci_low, hl.ci_high) == pytest.approx(_midquantile_hl_reference(d, level), abs=1e-12)


def test_midquantile_hand_worked_example():
    # d = (0, 0, 1).  Walsh averages (i <= j): 0 x3, 1/2 x2, 1 x1 (M = 6).
    # Mid-CDF at the atoms: G(0) = 1.5/6 = 1/4, G(1/2) = 4/6 = 2/3, G(1) = 5.5/6 = 11/12.
    # G(t) = 1/2 on [0, 1/2]: t = (1/2)(1/2 - 1/4)/(2/3 - 1/4) = 3/10 (u = 3/5).
    # Kernel h = (2/5) m_0 + (3/5) m_1/2: h(0,0) = 1/5 + 3/5 = 4/5, h(0,1) = 3/10, h(1,1) = 0.
    # g(0) = (2 * 4/5 + 3/10)/3 = 19/30, g(1) = (2 * 3/10)/3 = 1/5, mean 22/45,
    # zeta_1 = (2 (19/30 - 22/45)^2 + (1/5 - 22/45)^2)/3 = 169/4050, se = 2 sqrt(zeta_1/3).
    # At conf_level 0.5 (z = 0.67449) both limits stay on [0, 1/2], where Q(p) = (6/5)(p - 1/4).
    z = stats.norm.ppf(0.75)
    se = 2 * np.sqrt(169 / 4050 / 3)
    expected = (0.3, 1.2 * (0.25 - z * se), 1.2 * (0.25 + z * se))
    hl = hodges_lehmann([0.0, 0.0, 1.0], conf_level=0.5).iloc[0]
    assert hl.method == "walsh_midquantile"
    assert (hl.estimate, hl.ci_low, hl.ci_high) == pytest.approx(expected, abs=1e-12)
    assert (hl.ci_low, hl.ci_high) == pytest.approx((0.109084, 0.490916), abs=1e-6)
    # 95%: 1/2 -+ 1.96 se = 0.038, 0.962 are beyond G(0) and G(1): the extreme Walsh averages.
    assert hodges_lehmann([0.0, 0.0, 1.0]).iloc[0][["ci_low", "ci_high"]].tolist() == [0.0, 1.0]


def _r_wilcox_asymp_cint(x, conf_level=0.95, tol_root=1e-4):
    """R's ``wilcox.test(x, conf.int = TRUE, exact = FALSE)`` interval (correct = TRUE), transcribed
    from src/library/stats/R/wilcox.test.R (``.wilcox_test_one_cint_asymp``, two-sided): W(d) is the
    tie-corrected, continuity-corrected z of the signed-rank statistic of x - d with zeros dropped;
    the limits are uniroot(W(d) - z_q, c(min(x), max(x)), tol = tol.root) for z_q = qnorm(1 - alpha/2)
    and qnorm(alpha/2).  brentq is the same Brent method as uniroot."""

    def W(mu):
        xd = x - mu
        xd = xd[xd != 0]
        nx = xd.size
        r = stats.rankdata(np.abs(xd))
        zd = r[xd > 0].sum() - nx * (nx + 1) / 4
        t = np.unique(r, return_counts=True)[1]
        sigma = np.sqrt(nx * (nx + 1) * (2 * nx + 1) / 24 - (t**3 - t).sum() / 48)
        return (zd - np.sign(zd) * 0.5) / sigma

    q = stats.norm.ppf(1 - (1 - conf_level) / 2)
    lower = optimize.brentq(lambda mu: W(mu) - q, x.min(), x.max(), xtol=tol_root)
    upper = optimize.brentq(lambda mu: W(mu) + q, x.min(), x.max(), xtol=tol_root)
    return lower, upper


def _pain_changes(rng, n, mu=1.5, sd=1.5):
    """Whole-number changes: a rounded normal, clipped to the -10..10 range of a 0-10 scale."""
    return np.clip(np.round(rng.normal(mu, sd, size=n)), -10, 10)


@pytest.mark.parametrize("seed", range(3))
def test_r_non_exact_interval_is_degenerate_on_heavy_ties_and_the_midquantile_one_is_not(seed):
    # The audit's case: 1,000 whole-number changes.  R's non-exact branch and the untied order
    # statistics (the previous "walsh_normal" for ties) both collapse onto one half-integer.
    d = _pain_changes(np.random.default_rng(seed), 1000)
    r_low, r_high = _r_wilcox_asymp_cint(d)
    w = _walsh(d)
    z = stats.norm.ppf(0.975)
    n = d.size
    c = int(np.round(n * (n + 1) / 4 - z * np.sqrt(n * (n + 1) * (2 * n + 1) / 24)))
    assert w[c - 1] == w[w.size - c]  # the untied order statistics: zero width
    assert r_high - r_low < 2e-4 and r_low == pytest.approx(w[c - 1], abs=2e-4)  # R: the same
    hl = hodges_lehmann(d).iloc[0]
    assert hl.method == "walsh_midquantile"
    assert 0.1 < hl.ci_high - hl.ci_low < 0.5 and hl.ci_low < hl.estimate < hl.ci_high


def test_symmetric_tied_changes_give_the_centre_and_a_symmetric_interval():
    d = np.repeat([-1.0, 0, 1, 2, 3, 4, 5], [3, 10, 40, 60, 40, 10, 3])  # symmetric about 2
    hl = hodges_lehmann(d).iloc[0]
    assert hl.estimate == 2.0
    assert hl.ci_high - 2.0 == pytest.approx(2.0 - hl.ci_low, abs=1e-12) and hl.ci_low < 2.0


def test_nearly_equal_walsh_averages_are_one_atom(monkeypatch):
    # (0.1 + 0.2)/2 != (0 + 0.3)/2 in floating point; a spurious 1e-17 gap between such atoms
    # would put the interpolated estimate and limits on an atom again.  Tenths behave like integers.
    d = np.round(_pain_changes(np.random.default_rng(4), 400) / 10, 1)
    tenths = hodges_lehmann(d).iloc[0]
    whole = hodges_lehmann(np.round(d * 10)).iloc[0]
    assert [tenths.estimate, tenths.ci_low, tenths.ci_high] == pytest.approx(
        [whole.estimate / 10, whole.ci_low / 10, whole.ci_high / 10], abs=1e-12
    )
    monkeypatch.setattr(paired_module, "_ATOM_RTOL", 0.0)  # without the merge: back on an atom (0.15)
    assert hodges_lehmann(d).iloc[0].estimate == pytest.approx(0.15, abs=1e-12)


def test_all_equal_changes_give_a_point():
    hl = hodges_lehmann(np.full(30, 2.0)).iloc[0]
    assert (hl.estimate, hl.ci_low, hl.ci_high, hl.method) == (2.0, 2.0, 2.0, "walsh_midquantile")


def _population_midquantile_hl(support, pmf):
    """The estimand: median of the mid-distribution of (X1 + X2)/2, X1, X2 independent ~ pmf on the
    integers ``support`` (exact: the distribution of X1 + X2 is the convolution)."""
    conv = np.convolve(pmf, pmf)
    atoms = (2 * support[0] + np.arange(conv.size)) / 2
    keep = conv > 0
    mass = conv[keep]
    return float(np.interp(0.5, np.cumsum(mass) - mass / 2, atoms[keep]))


def _rounded_normal_pmf(mu, sd):
    k = np.arange(-10, 11)
    cdf = stats.norm.cdf((np.r_[k - 0.5, 10.5] - mu) / sd)
    cdf[0], cdf[-1] = 0.0, 1.0
    return k.astype(float), np.diff(cdf)


@pytest.mark.parametrize(
    ("name", "n"),
    [("rounded_normal", 300), ("rounded_normal", 1000), ("skewed", 200), ("skewed", 1000), ("on_atom", 500)],
)
def test_midquantile_interval_coverage_on_whole_number_changes(name, n):
    # Estimand: the mid-distribution median of the Walsh average (hodges_lehmann docstring),
    # computed exactly from the generating distribution.
    support, pmf = {
        "rounded_normal": _rounded_normal_pmf(1.2, 2.5),  # theta = 1.2003 (not a lattice point)
        "skewed": (np.arange(-2.0, 6.0), np.array([0.05, 0.1, 0.3, 0.25, 0.12, 0.08, 0.06, 0.04])),  # 0.8530
        "on_atom": _rounded_normal_pmf(2.0, 1.0),  # symmetric about 2: theta = 2, an atom with mass ~0.4
    }[name]
    theta = _population_midquantile_hl(support, pmf)
    rng = np.random.default_rng(n)
    reps = 500
    hits = 0
    for _ in range(reps):
        hl = hodges_lehmann(rng.choice(support, size=n, p=pmf)).iloc[0]
        assert hl.method == "walsh_midquantile" and hl.ci_low < hl.ci_high  # never zero width
        hits += hl.ci_low <= theta <= hl.ci_high
    coverage = hits / reps  # Monte Carlo SE about 0.01
    assert 0.925 <= coverage <= 0.975, (name, n, theta, coverage)


def test_paired_change_reports_the_tie_branch():
    d = _pain_changes(np.random.default_rng(7), 1000)
    row = paired_change(d, n_boot=100).set_index("statistic").loc["hodges_lehmann"]
    hl = hodges_lehmann(d).iloc[0]
    assert row.method == "walsh_midquantile+wilcoxon"
    assert (row.estimate, row.ci_low, row.ci_high) == (hl.estimate, hl.ci_low, hl.ci_high)
    assert row.ci_low < row.ci_high


def test_count_table_midquantile_on_many_rows():
    # The cost is in the distinct values (21 here), not the rows.  Timings live in benchmarks/.
    d = _pain_changes(np.random.default_rng(8), 2_000_000)
    hl = hodges_lehmann(d).iloc[0]
    assert hl.method == "walsh_midquantile" and 0 < hl.ci_high - hl.ci_low < 0.01
    assert hl.ci_low < 1.5 < hl.ci_high  # symmetric about 1.5 (the rounded N(1.5, 1.5))


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
