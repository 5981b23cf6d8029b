"""Known-answer tests for outcomes.stats.survival (Kaplan-Meier, median, log-rank)."""

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from outcomes.errors import OutcomesError
from outcomes.stats import km_at, km_at_from_counts, km_counts, km_from_counts, km_median, km_table, logrank

# R's `aml` data (survival package): weeks to relapse; status 1 = relapse.
#   Surv(time, status): 9 13 13+ 18 23 28+ 31 34 45+ 48 161+ | 5 5 8 8 12 16+ 23 27 30 33 43 45
AML_MAINT_T = np.array([9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161])
AML_MAINT_E = np.array([1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0])
AML_NON_T = np.array([5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45])
AML_NON_E = np.array([1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1])


def test_greenwood_and_log_ci_match_published_r_output():
    # R (survival), default conf.type = "log"; published output of
    #   summary(survfit(Surv(time, status) ~ x, data = aml))   [group x=Maintained]
    #  time n.risk n.event survival std.err lower 95% CI upper 95% CI
    #     9     11       1    0.909  0.0867       0.7541        1.000
    #    13     10       1    0.818  0.1163       0.6192        1.000
    #    18      8       1    0.716  0.1397       0.4884        1.000
    #    23      7       1    0.614  0.1526       0.3769        0.999
    #    31      5       1    0.491  0.1642       0.2549        0.946
    #    34      4       1    0.368  0.1627       0.1549        0.875
    #    48      2       1    0.184  0.1535       0.0359        0.944
    r = pd.DataFrame(
        {
            "time": [9, 13, 18, 23, 31, 34, 48],
            "n_risk": [11, 10, 8, 7, 5, 4, 2],
            "survival": [0.909, 0.818, 0.716, 0.614, 0.491, 0.368, 0.184],
            "std_err": [0.0867, 0.1163, 0.1397, 0.1526, 0.1642, 0.1627, 0.1535],
            "lower": [0.7541, 0.6192, 0.4884, 0.3769, 0.2549, 0.1549, 0.0359],
            "upper": [1.000, 1.000, 1.000, 0.999, 0.946, 0.875, 0.944],
        }
    )
    got = km_table(AML_MAINT_T, AML_MAINT_E, conf_type="log")
    got = got[got.n_event > 0].reset_index(drop=True)
    assert got.time.tolist() == r.time.tolist()
    assert got.n_risk.tolist() == r.n_risk.tolist()
    np.testing.assert_allclose(got.survival, r.survival, atol=5e-4)
    np.testing.assert_allclose(got.std_err, r.std_err, atol=5e-5)
    np.testing.assert_allclose(1 - got.ci_high, r.lower, atol=5e-5)  # interval of F = 1 - interval of S
    np.testing.assert_allclose(1 - got.ci_low, r.upper, atol=5e-4)
    np.testing.assert_allclose(got.estimate, 1 - got.survival)


def test_pooled_aml_table_and_median_match_published_r_output():
    # Same 23 aml patients pooled, published R output:
    #   summary(survfit(Surv(t, d) ~ 1))
    #  time n.risk n.event survival std.err lower 95% CI upper 95% CI
    #     5     23       2   0.9130  0.0588       0.8049        1.000
    #     8     21       2   0.8261  0.0790       0.6848        0.996
    #    ...
    #    23     13       2   0.5466  0.1073       0.3721        0.803
    #    27     11       1   0.4969  0.1084       0.3240        0.762
    #    45      4       1   0.1656  0.0860       0.0598        0.458
    #    48      2       1   0.0828  0.0727       0.0148        0.462
    #   survfit(Surv(t, d) ~ 1)
    #       n  events  median 0.95LCL 0.95UCL
    #      23      18      27      18      45
    t = np.concatenate([AML_MAINT_T, AML_NON_T])
    e = np.concatenate([AML_MAINT_E, AML_NON_E])
    tab = km_table(t, e, conf_type="log").set_index("time")
    expected = {
        5: (23, 0.9130, 0.0588, 0.8049),
        8: (21, 0.8261, 0.0790, 0.6848),
        23: (13, 0.5466, 0.1073, 0.3721),
        27: (11, 0.4969, 0.1084, 0.3240),
        45: (4, 0.1656, 0.0860, 0.0598),
        48: (2, 0.0828, 0.0727, 0.0148),
    }
    for time_, (n_risk, surv, se, lower) in expected.items():
        row = tab.loc[time_]
        assert row.n_risk == n_risk
        assert row.survival == pytest.approx(surv, abs=5e-5)
        assert row.std_err == pytest.approx(se, abs=5e-5)
        assert 1 - row.ci_high == pytest.approx(lower, abs=5e-5)
    med = km_median(t, e, conf_type="log").iloc[0]
    assert (med.n, med.n_events, med.estimate, med.ci_low, med.ci_high) == (23, 18, 27.0, 18.0, 45.0)


def test_median_matches_r_print_for_maintained_group():
    # R:  survfit(Surv(time, status) ~ x, data = aml)
    #                  n events median 0.95LCL 0.95UCL
    # x=Maintained    11      7     31      18      NA
    # x=Nonmaintained 12     11     23       8      NA
    m = km_median(AML_MAINT_T, AML_MAINT_E, conf_type="log").iloc[0]
    assert (m.n, m.n_events, m.estimate, m.ci_low) == (11, 7, 31.0, 18.0) and np.isnan(m.ci_high)
    m = km_median(AML_NON_T, AML_NON_E, conf_type="log").iloc[0]
    assert (m.n, m.n_events, m.estimate, m.ci_low) == (12, 11, 23.0, 8.0) and np.isnan(m.ci_high)


@pytest.mark.parametrize("n", [7, 8, 20, 21])
def test_median_without_censoring_is_the_sample_median(n):
    # R's midpoint rule makes the KM median of uncensored data equal median(x).
    rng = np.random.default_rng(n)
    t = rng.choice(np.arange(1, 200), size=n, replace=False)
    assert km_median(t, np.ones(n)).estimate.iloc[0] == np.median(t)


def test_loglog_interval_matches_scipy_ecdf():
    # scipy.stats.ecdf(...).sf.confidence_interval(method="log-log") uses the same
    # Greenwood-based log(-log S) interval as R's conf.type="log-log".  At the
    # event times (where both curves step) the limits agree to rounding.
    rng = np.random.default_rng(3)
    cases = [(AML_MAINT_T, AML_MAINT_E)]
    for _ in range(5):
        t = rng.integers(2, 13, size=80)
        e = (rng.random(80) < 0.6).astype(int)
        cases.append((t, e))
    for t, e in cases:
        tab = km_table(t, e)
        ev = tab[(tab.n_event > 0) & (tab.survival > 0)]
        res = stats.ecdf(stats.CensoredData(uncensored=t[e == 1], right=t[e == 0]))
        ci = res.sf.confidence_interval(0.95, method="log-log")
        idx = np.searchsorted(res.sf.quantiles, ev.time.to_numpy())
        np.testing.assert_allclose(res.sf.probabilities[idx], ev.survival, rtol=1e-12)
        np.testing.assert_allclose(1 - ci.high.probabilities[idx], ev.ci_low, atol=1e-10)
        np.testing.assert_allclose(1 - ci.low.probabilities[idx], ev.ci_high, atol=1e-10)


def test_loglog_interval_matches_hand_formula_at_first_event():
    # S(9) = 10/11, Var(log S) = 1/(11*10); theta = log(-log S), se = sqrt(1/110)/|log S|.
    s, v = 10 / 11, 1 / 110
    theta, se = np.log(-np.log(s)), np.sqrt(v) / abs(np.log(s))
    z = stats.norm.ppf(0.975)
    row = km_table(AML_MAINT_T, AML_MAINT_E).iloc[0]
    assert 1 - row.ci_high == pytest.approx(np.exp(-np.exp(theta + z * se)), rel=1e-12)  # 0.508
    assert 1 - row.ci_low == pytest.approx(np.exp(-np.exp(theta - z * se)), rel=1e-12)  # 0.987


def test_logrank_matches_r_survdiff():
    # R:  survdiff(Surv(time, status) ~ x, data = aml)
    #                  N Observed Expected (O-E)^2/E (O-E)^2/V
    # x=Maintained    11        7    10.69      1.27       3.4
    # x=Nonmaintained 12       11     7.31      1.86       3.4
    #  Chisq= 3.4  on 1 degrees of freedom, p= 0.0653   (survival 3.8-3)
    out = logrank(AML_MAINT_T, AML_MAINT_E, AML_NON_T, AML_NON_E).iloc[0]
    assert (out.n_a, out.events_a, out.n_b, out.events_b) == (11, 7, 12, 11)
    assert out.statistic == pytest.approx(3.4, abs=0.05)
    assert out.p_value == pytest.approx(0.0653, abs=5e-5)


def test_partition_counts_combine_to_the_pooled_estimate():
    rng = np.random.default_rng(11)
    t = rng.integers(2, 13, size=500)
    e = (rng.random(500) < 0.5).astype(int)
    parts = []
    for chunk in np.array_split(np.arange(500), 4):
        tab = km_table(t[chunk], e[chunk])
        parts.append(tab[["time", "n_event", "n_censor"]])
    counts = pd.concat(parts).groupby("time", as_index=False).sum()
    pooled = km_from_counts(counts.time, counts.n_event, counts.n_censor)
    pd.testing.assert_frame_equal(pooled, km_table(t, e))
    at = km_at_from_counts(counts.time, counts.n_event, counts.n_censor, 5, p0=0.3)
    pd.testing.assert_frame_equal(at, km_at(t, e, 5, p0=0.3))


def test_p_value_is_the_inverted_loglog_interval():
    # p_value < alpha  <=>  one-sided (1 - alpha) lower limit > p0, where the one-sided
    # lower limit is ci_low of the two-sided (1 - 2 alpha) interval.
    rng = np.random.default_rng(5)
    checked = 0
    for _ in range(60):
        n = int(rng.integers(15, 200))
        t = rng.integers(2, 13, size=n)
        e = (rng.random(n) < rng.uniform(0.2, 0.8)).astype(int)
        k = int(rng.integers(3, 10))
        for p0 in (0.05, 0.2, 0.4, 0.6):
            for alpha in (0.01, 0.025, 0.05, 0.1):
                row = km_at(t, e, k, p0=p0, conf_level=1 - 2 * alpha).iloc[0]
                if not np.isfinite(row.p_value) or abs(row.ci_low - p0) < 1e-9:
                    continue
                assert (row.p_value < alpha) == (row.ci_low > p0)
                checked += 1
    assert checked > 500


def test_km_at_reads_the_step_function_and_edges():
    t = np.array([2, 2, 3, 3, 3, 4, 5, 6, 6, 6])
    e = np.array([1, 1, 1, 0, 1, 1, 0, 1, 0, 0])
    tab = km_table(t, e).set_index("time")
    row = km_at(t, e, 4.5).iloc[0]  # between visits: the value at visit 4
    assert row.estimate == pytest.approx(tab.loc[4, "estimate"])
    assert row.n_events_by_k == 5 and row.n == 10 and row.method == "kaplan_meier_loglog"
    before = km_at(t, e, 1, p0=0.1).iloc[0]
    assert (before.estimate, before.ci_low, before.ci_high, before.p_value) == (0.0, 0.0, 0.0, 1.0)
    assert np.isnan(km_at(t, e, 7).estimate.iloc[0])  # follow-up never reaches visit 7


def test_survival_zero_gives_nan_standard_error_like_r():
    # R prints "45  1  1  0.0000  NaN  NA  NA" when the last at risk has the event.
    tab = km_table(AML_NON_T, AML_NON_E)
    last = tab.iloc[-1]
    assert last.survival == 0 and last.estimate == 1
    assert np.isnan(last.std_err) and np.isnan(last.ci_low) and np.isnan(last.ci_high)


@pytest.mark.parametrize(
    ("call", "rule"),
    [
        (lambda: km_table([1, 2], [1, 2]), "event_indicator"),
        (lambda: km_table([1, 2, 3], [1, 0]), "same_length"),
        (lambda: km_table([1, np.nan], [1, 0]), "finite_values"),
        (lambda: km_table([-1, 2], [1, 0]), "time_nonnegative"),
        (lambda: km_table([], []), "too_few_observations"),
        (lambda: km_from_counts([2, 2], [1, 1], [0, 0]), "times_distinct"),
        (lambda: km_table([1, 2], [1, 0], conf_type="plain"), "conf_type"),
        (lambda: km_at([1, 2], [1, 0], 2, p0=1.0), "probability_range"),
    ],
)
def test_bad_input_raises_outcomes_error(call, rule):
    with pytest.raises(OutcomesError) as info:
        call()
    assert info.value.rules == (rule,)


def test_curve_at_zero_uses_exact_binomial_limits_of_last_risk_set():
    # Everyone improved by visit 2: the log-log interval is undefined (R: NA), so the limits
    # are the Clopper-Pearson ones for 15/15, checked against scipy, and the one-sided p is
    # the exact binomial P(X >= 15 | p0) so that p < alpha <=> lower bound > p0.
    from scipy.stats import binomtest

    row = km_at(np.full(15, 2), np.ones(15, dtype=int), 3, conf_level=0.9, p0=0.5).iloc[0]
    ref = binomtest(15, 15).proportion_ci(confidence_level=0.9, method="exact")
    assert row.estimate == 1.0
    assert row.ci_low == pytest.approx(ref.low) and row.ci_high == 1.0
    assert row.p_value == pytest.approx(binomtest(15, 15, 0.5, alternative="greater").pvalue)


# --------------------------------------------------------------------------- likelihood ratio (P9)

# Freireich et al. (1963) remission times in weeks (Gehan 1965), "+" = censored.
_MP6 = [6, 6, 6, -6, 7, -9, 10, -10, -11, 13, 16, -17, -19, -20, 22, 23, -25, -32, -32, -34, -35]
_PLACEBO = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]


def _split(signed):
    return [abs(t) for t in signed], [int(t > 0) for t in signed]


@pytest.mark.parametrize(
    ("group", "k", "conf_level", "published"),
    [
        # Thomas & Grunkemeier (1975), JASA 70:865-871, Table 1: S(k) and its likelihood-ratio interval.
        (_MP6, 10, 0.95, (0.753, 0.540, 0.904)),
        (_MP6, 10, 0.90, (0.753, 0.576, 0.885)),
        (_PLACEBO, 10, 0.95, (0.381, 0.196, 0.593)),
        (_PLACEBO, 10, 0.90, (0.381, 0.222, 0.560)),
        (_MP6, 20, 0.95, (0.628, 0.395, 0.821)),
        (_MP6, 20, 0.90, (0.628, 0.432, 0.795)),
        (_PLACEBO, 20, 0.95, (0.095, 0.016, 0.266)),
        (_PLACEBO, 20, 0.90, (0.095, 0.023, 0.233)),
    ],
)
def test_likelihood_ratio_interval_matches_thomas_grunkemeier_table_1(group, k, conf_level, published):
    time, event = _split(group)
    row = km_at(time, event, k, conf_level=conf_level, conf_type="likelihood-ratio").iloc[0]
    ours = (1 - row["estimate"], 1 - row["ci_high"], 1 - row["ci_low"])
    # the table has three decimals (S(20) of 6-MP is 0.6275, printed 0.628)
    assert ours == pytest.approx(published, abs=6e-4)
    assert row["method"] == "kaplan_meier_likelihood_ratio"


def _constrained_statistic(n, d, s0):
    """-2 log R by direct numerical maximisation (SLSQP) of the hazard likelihood under prod(1 - h) = s0."""

    def loglik(h):
        return float(np.sum(d * np.log(h) + (n - d) * np.log1p(-h)))

    cons = {"type": "eq", "fun": lambda h: np.sum(np.log1p(-h)) - np.log(s0)}
    start = np.clip(d / n, 1e-6, 1 - 1e-6)
    fit = optimize.minimize(
        lambda h: -loglik(h),
        start,
        constraints=[cons],
        bounds=[(1e-9, 1 - 1e-9)] * len(n),
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    return 2 * (loglik(d / n) - loglik(fit.x))


@pytest.mark.parametrize("s0", [0.3, 0.5, 0.7, 0.85])
def test_likelihood_ratio_statistic_matches_direct_constrained_maximisation(s0):
    rng = np.random.default_rng(5)
    time = rng.integers(1, 8, 120)
    event = rng.random(120) < 0.4
    row = km_at(time, event, 5, conf_type="likelihood-ratio", p0=1 - s0).iloc[0]
    times, n_event, n_censor = km_counts(time, event)
    at_risk = (n_event + n_censor)[::-1].cumsum()[::-1]
    keep = (times <= 5) & (n_event > 0)
    stat = _constrained_statistic(at_risk[keep].astype(float), n_event[keep], s0)
    # the p-value is Phi(signed root): recover the statistic from it
    signed = stats.norm.ppf(row["p_value"])
    assert signed**2 == pytest.approx(stat, rel=1e-6, abs=1e-8)
    assert np.sign(signed) == np.sign((1 - row["estimate"]) - s0)


def test_likelihood_ratio_without_censoring_is_the_binomial_likelihood_ratio():
    x, n = 37, 80  # 37 of 80 improved by k, nobody censored before k
    time = [2] * x + [9] * (n - x)
    event = [1] * x + [0] * (n - x)
    row = km_at(time, event, 3, conf_level=0.9, conf_type="likelihood-ratio", p0=0.5).iloc[0]

    def deviance(p):
        return 2 * (x * np.log(x / (n * p)) + (n - x) * np.log((n - x) / (n * (1 - p))))

    z2 = stats.norm.ppf(0.95) ** 2
    low = optimize.brentq(lambda p: deviance(p) - z2, 1e-9, x / n)
    high = optimize.brentq(lambda p: deviance(p) - z2, x / n, 1 - 1e-9)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), abs=1e-9)
    assert row["p_value"] == pytest.approx(stats.norm.sf(-np.sqrt(deviance(0.5))), rel=1e-9)  # estimate below p0


@pytest.mark.parametrize("seed", range(30))
def test_likelihood_ratio_p_value_agrees_with_its_interval(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(15, 300))
    time = rng.integers(1, 7, n)
    event = rng.random(n) < rng.uniform(0.2, 0.8)
    p0 = float(rng.uniform(0.1, 0.9))
    row = km_at(time, event, 4, conf_level=0.9, conf_type="likelihood-ratio", p0=p0).iloc[0]
    if 0 < row["estimate"] < 1:
        assert (row["p_value"] < 0.05) == (row["ci_low"] > p0)
        assert row["ci_low"] <= row["estimate"] <= row["ci_high"]


def test_likelihood_ratio_is_for_a_point_not_a_curve():
    with pytest.raises(OutcomesError, match="km_at only"):
        km_table([1, 2, 3], [1, 0, 1], conf_type="likelihood-ratio")
