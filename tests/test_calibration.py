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
    # the fast path of boundary_size is the Kaplan-Meier test of evaluate_claims, to the last digit
    params, _ = boundary
    visits = simulate_visits(params, seed=SEED).visits
    plan = Plan().with_(secondary_measures=[])
    res = evaluate_claims(visits, plan)
    claim = res.claims.iloc[0]
    km_p = res.sensitivity.set_index("analysis").loc["kaplan_meier", "p_value"]
    summary = summarize_episodes(visits, plan.registry, measures=[plan.primary_measure], event=plan.improvement_event)
    inc = summary[summary["status"] == "included"]
    settings = dict(conf_level=plan.conf_level, p0=plan.p0, conf_type=plan.km_interval)
    row = km_at(inc["time"].to_numpy(), inc["event"].to_numpy(), plan.k, **settings)
    assert row["p_value"].iloc[0] == km_p and row["ci_low"].iloc[0] == claim["ci_low"]
    assert claim["p_value"] >= km_p  # the verdict's p adds the dropout check (intersection-union)


def test_likelihood_ratio_interval_holds_the_size_at_the_boundary(boundary):
    # P9: a reduced run of `python benchmarks/calibration.py --boundary 4000` (docs/calibration.md):
    # with the true share equal to p0, "supported" at most alpha + 2 Monte Carlo SE.
    params, truth = boundary
    out = boundary_size(params, truth, n_sims=600, seed=SEED).set_index("conf_type")
    lr = out.loc["likelihood-ratio"]
    assert abs(truth - 0.5) <= 0.006
    assert lr["rate"] <= lr["alpha"] + 2 * lr["mc_se"], out


@pytest.fixture(scope="module")
def dropout_rates():
    # P9: a reduced run of `python benchmarks/calibration.py --dropout-scenarios 4000` (docs/calibration.md)
    from outcomes.claims.calibration import dropout_scenarios, verdict_calibration

    return verdict_calibration(dropout_scenarios(200), n_sims=300, seed=SEED).set_index("scenario")


def test_boundary_with_random_dropout_holds_the_size(dropout_rates):
    row = dropout_rates.loc["boundary, random dropout"]
    assert abs(row["truth"] - 0.5) <= 0.006
    assert row["supported"] <= 0.05 + 2 * (0.05 * 0.95 / row["n_sims"]) ** 0.5


def test_non_responders_leaving_early_do_not_make_a_false_claim_supported(dropout_rates):
    # the harmful scenario: Kaplan-Meier alone is biased upwards and says "supported" often ...
    bad = dropout_rates.loc["non-responders leave early, true share 0.45"]
    assert bad["mean_estimate"] - bad["truth"] > 0.08 and bad["km_supported"] > 0.3
    # ... the verdict, which needs the dropout check too, almost never does (done-when: <= 5% at 0.40)
    assert dropout_rates.loc["non-responders leave early, true share 0.40", "supported"] <= 0.05
    assert bad["supported"] <= 0.08


def test_power_with_random_dropout_at_p0_plus_015(dropout_rates):
    row = dropout_rates.loc["power, random dropout, true share p0 + 0.15"]
    assert abs(row["truth"] - 0.65) <= 0.006
    assert row["supported"] >= 0.80
