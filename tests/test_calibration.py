"""Calibration of the primary verdict (P2): type I error, CI coverage and power by simulation.

Same scenarios and seeds as ``python benchmarks/calibration.py --sims 200`` (which prints the
figures quoted in docs/calibration.md). Seeded, so the outcome is deterministic.
"""

import pytest

from outcomes.claims.calibration import run_scenario, standard_scenarios

pytestmark = pytest.mark.slow
SIMS, SEED = 200, 1000


@pytest.fixture(scope="module")
def scenarios():
    return {sc.name.split(" ")[0]: sc for sc in standard_scenarios(200)}


def test_null_data_rarely_supported(scenarios):
    r = run_scenario(scenarios["null"], n_sims=SIMS, seed=SEED)
    assert r["rate"] <= 0.05


def test_boundary_type_one_error_at_most_alpha(scenarios):
    # true share exactly p0: "supported" is a false positive; its rate must not exceed alpha
    # beyond simulation error (exact binomial 95% CI must include values <= 0.05).
    r = run_scenario(scenarios["boundary"], n_sims=SIMS, seed=SEED)
    assert abs(r["truth"] - 0.5) <= 0.006
    assert r["ci_low"] <= 0.05


def test_95_percent_interval_covers_truth(scenarios):
    r = run_scenario(scenarios["95%"], n_sims=SIMS, seed=SEED)
    assert r["conf_level"] == pytest.approx(0.95)
    assert 0.93 <= r["rate"] <= 0.97


def test_power_at_p0_plus_015_with_200_episodes(scenarios):
    r = run_scenario(scenarios["power"], n_sims=SIMS, seed=SEED)
    assert abs(r["truth"] - 0.65) <= 0.006
    assert r["rate"] >= 0.80
