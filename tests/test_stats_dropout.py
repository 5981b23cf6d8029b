"""Delta-adjusted Kaplan-Meier share and tipping point (outcomes.stats.dropout)."""

import numpy as np
import pytest
from statsmodels.duration.survfunc import SurvfuncRight

from outcomes.errors import OutcomesError
from outcomes.stats import delta_adjusted_share, km_at, km_counts, tipping_point


def _episodes(seed: int, n: int = 300, censor_rate: float = 0.25):
    """Discrete visits 2..8: first improvement geometric, censoring independent of it."""
    rng = np.random.default_rng(seed)
    first = 1 + rng.geometric(0.3, n)
    censor = np.where(rng.random(n) < censor_rate, rng.integers(1, 8, n), 99)
    time = np.minimum(first, censor).clip(max=8)
    event = (first <= censor) & (first <= 8)
    return time.astype(float), event.astype(float)


def _reference_imputed(time, event, k, delta):
    """theta_delta by its definition: each episode censored at c < k improves with chance delta * q_c,
    q_c = 1 - S(k) / S(c), S from statsmodels' Kaplan-Meier (an independent implementation)."""
    sf = SurvfuncRight(time, event)

    def surv(t):
        idx = np.searchsorted(sf.surv_times, t, side="right") - 1
        return 1.0 if idx < 0 else float(sf.surv_prob[idx])

    seen = np.sum((event == 1) & (time <= k))
    censored = time[(event == 0) & (time < k)]
    imputed = sum(delta * (1.0 - surv(k) / surv(c)) for c in censored)
    return (seen + imputed) / time.size, 1.0 - surv(k)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("delta", [0.0, 0.3, 0.5, 1.0])
def test_estimate_equals_the_imputation_it_defines(seed, delta):
    # Efron's self-consistency: the linear formula equals imputing delta * q_c for every censored episode
    time, event = _episodes(seed)
    t, e, c = km_counts(time, event)
    out = delta_adjusted_share(t, e, c, 4, delta=delta, n_boot=200, seed=0).iloc[0]
    ref, km = _reference_imputed(time, event, 4, delta)
    assert out["estimate"] == pytest.approx(ref, abs=1e-12)
    assert out["kaplan_meier"] == pytest.approx(km, abs=1e-12)
    assert out["worst_case"] == pytest.approx(np.sum((event == 1) & (time <= 4)) / time.size, abs=1e-15)
    assert out["n_censored_before_k"] == np.sum((event == 0) & (time < 4))


def test_kaplan_meier_end_matches_km_at():
    time, event = _episodes(7)
    t, e, c = km_counts(time, event)
    out = delta_adjusted_share(t, e, c, 3, delta=1.0, n_boot=200).iloc[0]
    assert out["estimate"] == pytest.approx(km_at(time, event, 3)["estimate"].iloc[0], abs=1e-12)


def test_bootstrap_spread_matches_binomial_and_greenwood():
    # delta = 0: a binomial share, SE sqrt(p (1 - p) / n); delta = 1: Kaplan-Meier, Greenwood SE
    time, event = _episodes(11, n=2000)
    t, e, c = km_counts(time, event)
    for delta, reference in ((0.0, None), (1.0, "greenwood")):
        out = delta_adjusted_share(t, e, c, 4, delta=delta, conf_level=0.6826894921, n_boot=4000, seed=3).iloc[0]
        half_width = (out["ci_high"] - out["ci_low"]) / 2  # +-1 SD interval
        if reference is None:
            se = np.sqrt(out["estimate"] * (1 - out["estimate"]) / time.size)
        else:
            row = km_at(time, event, 4).iloc[0]
            sf = SurvfuncRight(time, event)
            idx = np.searchsorted(sf.surv_times, 4, side="right") - 1
            se = float(sf.surv_prob_se[idx])
            assert row["estimate"] == pytest.approx(1 - sf.surv_prob[idx], abs=1e-12)
        assert half_width == pytest.approx(se, rel=0.08)


def test_p_value_and_lower_bound_agree():
    rng = np.random.default_rng(5)
    for _ in range(200):
        e = rng.integers(0, 30, 5)
        c = rng.integers(0, 15, 5)
        e[0] = 0
        if e.sum() + c.sum() == 0:
            continue
        p0, delta = rng.uniform(0.2, 0.8), rng.uniform()
        out = delta_adjusted_share([1, 2, 3, 4, 5], e, c, 3, delta=delta, p0=p0, n_boot=300, seed=2).iloc[0]
        if np.isnan(out["p_value"]):
            continue
        assert (out["p_value"] < 0.05) == (out["ci_low"] > p0)


def test_tipping_point_is_where_the_verdict_turns():
    time, event = _episodes(4, n=400, censor_rate=0.5)
    t, e, c = km_counts(time, event)
    kw = dict(n_boot=1000, seed=9)
    est = delta_adjusted_share(t, e, c, 4, delta=1.0, **kw).iloc[0]
    p0 = est["ci_low"] - 0.01  # shown at delta = 1 ...
    assert delta_adjusted_share(t, e, c, 4, delta=0.0, **kw)["ci_low"].iloc[0] < p0  # ... not in the worst case
    star = tipping_point(t, e, c, 4, p0=p0, alpha=0.05, **kw)
    assert 0.0 < star < 1.0
    above = delta_adjusted_share(t, e, c, 4, delta=min(star + 1e-6, 1.0), p0=p0, **kw).iloc[0]
    below = delta_adjusted_share(t, e, c, 4, delta=star - 1e-6, p0=p0, **kw).iloc[0]
    assert above["p_value"] < 0.05 <= below["p_value"]
    assert tipping_point(t, e, c, 4, p0=0.01, **kw) == 0.0  # holds in the worst case
    assert np.isnan(tipping_point(t, e, c, 4, p0=0.99, **kw))  # fails even under non-informative censoring


def test_no_censoring_before_k_makes_delta_irrelevant_and_unreached_k_is_nan():
    out = delta_adjusted_share([2, 3, 5], [5, 5, 0], [0, 0, 10], 3, delta=0.2, n_boot=200).iloc[0]
    assert out["estimate"] == out["worst_case"] == out["kaplan_meier"] == 0.5
    far = delta_adjusted_share([2, 3], [5, 5], [0, 10], 6, delta=0.5, n_boot=200).iloc[0]
    assert np.isnan(far["estimate"]) and np.isnan(far["p_value"])
    assert np.isnan(tipping_point([2, 3], [5, 5], [0, 10], 6, p0=0.5, n_boot=200))


@pytest.mark.parametrize(
    "kwargs",
    [dict(delta=1.5), dict(delta=-0.1), dict(delta=0.5, n_boot=10), dict(delta=0.5, conf_level=1.5)],
)
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(OutcomesError):
        delta_adjusted_share([2, 3], [1, 1], [1, 1], 3, **kwargs)


def test_negative_or_fractional_counts_are_refused():
    with pytest.raises(OutcomesError, match="whole numbers"):
        delta_adjusted_share([2, 3], [1, -1], [1, 1], 3, delta=0.5)
    with pytest.raises(OutcomesError, match="whole numbers"):
        delta_adjusted_share([2, 3], [1, 0.5], [1, 1], 3, delta=0.5)


@pytest.mark.slow
def test_interval_covers_under_non_informative_censoring():
    # delta = 1 targets the true share when censoring is independent: 90% interval, 400 seeded datasets
    truth = 1 - 0.7**3  # P(first improvement <= 4) with first = 1 + Geometric(0.3)
    covered = 0
    for seed in range(400):
        time, event = _episodes(1000 + seed, n=200)
        t, e, c = km_counts(time, event)
        out = delta_adjusted_share(t, e, c, 4, delta=1.0, n_boot=1000, seed=seed).iloc[0]
        covered += out["ci_low"] <= truth <= out["ci_high"]
    # 90% nominal; Monte Carlo SE 1.5 points
    assert 0.86 <= covered / 400 <= 0.94
