"""Calibration by simulation: 95% interval coverage on small samples (seeded, slow).

Each check runs 1000 simulated data sets; the Monte-Carlo standard error of a
coverage near 0.95 is about 0.007, so the accepted band 0.93-0.97 is roughly
+/- 3 standard errors.  Run with ``pytest -m slow -s`` to see the figures.
"""

import numpy as np
import pytest
from scipy import stats

from outcomes.stats import hodges_lehmann, km_at, wilson_ci

N_SIM = 1000
pytestmark = pytest.mark.slow


def _report(name: str, coverage: float) -> None:
    print(f"\n{name}: coverage {coverage:.3f} over {N_SIM} simulations")


def test_mean_t_interval_coverage():
    rng = np.random.default_rng(101)
    hits = 0
    for _ in range(N_SIM):
        d = rng.normal(1.0, 2.0, size=15)
        ci = stats.ttest_1samp(d, 0.0).confidence_interval(0.95)
        hits += ci.low <= 1.0 <= ci.high
    coverage = hits / N_SIM
    _report("mean (t), n=15 normal", coverage)
    assert 0.93 <= coverage <= 0.97


def test_hodges_lehmann_coverage_for_symmetric_data():
    rng = np.random.default_rng(102)
    hits = 0
    for _ in range(N_SIM):
        d = 0.5 + rng.standard_t(5, size=15)  # symmetric about 0.5: pseudo-median 0.5
        row = hodges_lehmann(d).iloc[0]
        hits += row.ci_low <= 0.5 <= row.ci_high
    coverage = hits / N_SIM
    _report("Hodges-Lehmann (exact Walsh), n=15 t(5)", coverage)
    assert 0.93 <= coverage <= 0.97


def test_hodges_lehmann_normal_approximation_coverage():
    rng = np.random.default_rng(103)
    hits = 0
    for _ in range(N_SIM):
        d = 0.5 + rng.logistic(size=60)  # n >= 50: large-sample order statistics
        row = hodges_lehmann(d).iloc[0]
        assert row.method == "walsh_normal"
        hits += row.ci_low <= 0.5 <= row.ci_high
    coverage = hits / N_SIM
    _report("Hodges-Lehmann (normal approx.), n=60 logistic", coverage)
    assert 0.93 <= coverage <= 0.97


def test_wilson_coverage():
    rng = np.random.default_rng(104)
    x = rng.binomial(40, 0.3, size=N_SIM)
    low, high = wilson_ci(x, 40)
    coverage = float(np.mean((low <= 0.3) & (high >= 0.3)))
    _report("Wilson, n=40 p=0.3", coverage)
    assert 0.93 <= coverage <= 0.97


def test_kaplan_meier_loglog_coverage_and_type_one_error():
    # Discrete visits 2..12, hazard 0.15 of improving at each visit; censoring at a
    # uniformly drawn last visit 3..12.  True F(5) = 1 - 0.85^4 (visits 2-5).
    rng = np.random.default_rng(105)
    hazard, k, n = 0.15, 5, 80
    truth = 1 - (1 - hazard) ** 4
    hits = rejections = 0
    for _ in range(N_SIM):
        improve = 1 + rng.geometric(hazard, size=n)  # first improving visit, 2, 3, ...
        last = rng.integers(3, 13, size=n)
        event = (improve <= last).astype(int)
        time = np.where(event == 1, improve, last)
        row = km_at(time, event, k, p0=truth).iloc[0]
        hits += row.ci_low <= truth <= row.ci_high
        rejections += row.p_value < 0.025
    coverage = hits / N_SIM
    _report("Kaplan-Meier log-log F(5), n=80", coverage)
    print(f"Kaplan-Meier one-sided test at p0 = true F(5): rejection rate {rejections / N_SIM:.3f} (nominal 0.025)")
    assert 0.93 <= coverage <= 0.97
    assert 0.01 <= rejections / N_SIM <= 0.045
