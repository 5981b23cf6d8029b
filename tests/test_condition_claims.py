"""Every claim per condition: adjustment across conditions (BH default, Holm by plan), suppression."""

import numpy as np
import pytest

from outcomes.claims.conditions import BY_CONDITION_COLUMNS, claims_by_condition
from outcomes.claims.improvement import evaluate_claims
from outcomes.ingest.synth import SynthParams, simulate_visits
from outcomes.spec.plan import Plan
from outcomes.stats import benjamini_hochberg, holm

MIX = (("neck_pain", 0.47), ("low_back_pain", 0.47), ("tmd", 0.06))


@pytest.fixture(scope="module")
def sim():
    return simulate_visits(SynthParams(n_episodes=110, conditions=MIX), seed=21)


@pytest.fixture(scope="module")
def table(sim):
    return claims_by_condition(sim.visits, Plan().with_(n_boot=200))


def test_columns_and_small_condition_suppressed(sim, table):
    assert list(table.columns) == list(BY_CONDITION_COLUMNS)
    n_tmd = sim.visits.loc[sim.visits["condition"] == "tmd", "episode_id"].nunique()
    assert 0 < n_tmd < 11
    tmd = table[table["condition"] == "tmd"]
    assert tmd["suppressed"].all() and tmd["estimate"].isna().all() and (tmd["n_shown"] == "<11").all()
    assert tmd["n"].isna().all()  # the count itself is hidden


def test_bh_within_each_claim_across_conditions(table):
    shown = table[~table["suppressed"]]
    assert set(shown["adjust"]) == {"bh"}
    for _, part in shown.groupby("id"):
        assert part["p_adjusted"].to_numpy() == pytest.approx(benjamini_hochberg(part["p_value"].to_numpy()))
        assert part["p_not_adjusted"].to_numpy() == pytest.approx(benjamini_hochberg(part["p_value_not"].to_numpy()))
    verdict = np.where(
        shown["p_adjusted"] < 0.05,
        "supported",
        np.where(shown["p_not_adjusted"] < 0.05, "not_supported", "inconclusive"),
    )
    assert shown["verdict"].tolist() == verdict.tolist()


def test_condition_estimate_equals_claim_on_that_condition(sim, table):
    neck = sim.visits[sim.visits["condition"] == "neck_pain"]
    ref = evaluate_claims(neck, Plan().with_(n_boot=200)).claims.set_index("id")
    row = table[(table["condition"] == "neck_pain") & (table["id"] == "improved_by_visit_3:pain_nprs")].iloc[0]
    assert row["estimate"] == ref.loc["improved_by_visit_3:pain_nprs", "estimate"]
    # the same verdict p-value as the claim on that condition: Kaplan-Meier and the dropout check
    assert row["p_value"] == pytest.approx(ref.loc["improved_by_visit_3:pain_nprs", "p_value"], abs=1e-12)
    assert {"twitch", "soreness", "combined", "early"} <= set(table.loc[table["condition"] == "neck_pain", "id"])


def test_holm_by_plan(sim):
    plan = Plan().with_(n_boot=200, other_claims={"conditions": {"adjust": "holm"}, "early": {"enabled": False}})
    t = claims_by_condition(sim.visits, plan)
    shown = t[~t["suppressed"]]
    part = shown[shown["id"] == "soreness"]
    assert part["p_adjusted"].to_numpy() == pytest.approx(holm(part["p_value"].to_numpy()))
    assert "early" not in set(t["id"])  # disabled: not testable rows are dropped
