"""Calibration of the primary verdict (P2): type I error, CI coverage and power by simulation.

Same scenarios and seeds as ``python benchmarks/calibration.py --sims 200`` (which prints the
figures quoted in docs/calibration.md). Seeded, so the outcome is deterministic.
"""

import pytest

from outcomes.claims.calibration import boundary_scenario, boundary_size, run_scenario, standard_scenarios
from outcomes.claims.improvement import evaluate_claims
from outcomes.episodes.core import summarize_episodes
from outcomes.ingest.synth import simulate_visits
from outcomes.spec.plan import Plan
from outcomes.stats import km_at

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


@pytest.fixture(scope="module")
def boundary():
    return boundary_scenario(200, n_mc=200_000)


def test_boundary_size_runs_the_primary_analysis(boundary):
    # the fast path of boundary_size is the primary analysis of evaluate_claims, to the last digit
    params, _ = boundary
    visits = simulate_visits(params, seed=SEED).visits
    plan = Plan().with_(secondary_measures=[])
    claim = evaluate_claims(visits, plan).claims.iloc[0]
    summary = summarize_episodes(visits, plan.registry, measures=[plan.primary_measure])
    inc = summary[summary["status"] == "included"]
    row = km_at(inc["time"].to_numpy(), inc["event"].to_numpy(), plan.k, conf_level=plan.conf_level, p0=plan.p0)
    assert row["p_value"].iloc[0] == claim["p_value"] and row["ci_low"].iloc[0] == claim["ci_low"]


def test_likelihood_ratio_interval_holds_the_size_at_the_boundary(boundary):
    # P9: a reduced run of `python benchmarks/calibration.py --boundary 4000` (docs/calibration.md):
    # with the true share equal to p0, "supported" at most alpha + 2 Monte Carlo SE.
    params, truth = boundary
    out = boundary_size(params, truth, n_sims=600, seed=SEED).set_index("conf_type")
    lr = out.loc["likelihood-ratio"]
    assert abs(truth - 0.5) <= 0.006
    assert lr["rate"] <= lr["alpha"] + 2 * lr["mc_se"], out
