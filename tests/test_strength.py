"""Strength claim: the primary claim's machinery on strength measures, change at k vs the MCID."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from outcomes.claims.improvement import evaluate_claims
from outcomes.claims.strength import strength_claims, strength_measures
from outcomes.ingest.synth import SynthParams, simulate_visits
from outcomes.spec.plan import Plan, plan_from_mapping

ELBOW = (("lateral_epicondylalgia", 0.5), ("carpal_tunnel", 0.5))


def _grip_visits() -> pd.DataFrame:
    """12 episodes, grip at visits 1-3; gains at visit 3 known by construction."""
    gains = np.array([8.0, 7.0, 1.0, 0.0, 10.0, 6.5, 2.0, 3.0, 9.0, -1.0, 4.0, 7.5])
    rows = []
    for i, g in enumerate(gains):
        for v, value in ((1, 20.0), (2, 20.0 + g / 2), (3, 20.0 + g)):
            rows.append(
                dict(
                    patient_id=f"P{i}",
                    episode_id=f"E{i:02d}",
                    visit_number=v,
                    measure="grip_strength_kg",
                    side="left",
                    value=value,
                )
            )
    return pd.DataFrame(rows)


def test_primary_row_is_the_claims_machinery():
    sim = simulate_visits(SynthParams(n_episodes=200, conditions=ELBOW), seed=6)
    out = strength_claims(sim.visits, Plan())
    ref = evaluate_claims(sim.visits, Plan().with_(primary_measure="grip_strength_kg", secondary_measures=[]))
    head, r = out.iloc[0], ref.claims.iloc[0]
    assert head["id"] == "strength_improved_by_visit_3:grip_strength_kg"
    for col in ("estimate", "ci_low", "ci_high", "p_value", "verdict", "n"):
        assert head[col] == r[col]


def test_change_at_k_known_answer():
    v = _grip_visits()
    out = strength_claims(v, Plan().with_(improvement_event="once")).set_index("analysis")
    gains = v[v["visit_number"] == 3]["value"].to_numpy() - 20.0
    mean = out.loc["mean_change_at_k"]
    ci = stats.ttest_1samp(gains, 0).confidence_interval(0.90)
    assert mean["estimate"] == pytest.approx(gains.mean())
    assert (mean["ci_low"], mean["ci_high"]) == pytest.approx((ci.low, ci.high))
    assert mean["p0"] == 6.5  # the registry's grip MCID
    # KM at visit 3 (the rule met once), no censoring before 3: the share of gains >= 6.5 (6 of 12)
    assert out.loc["kaplan_meier", "estimate"] == pytest.approx(6 / 12)


def test_plan_added_strength_measure_is_tested_with_holm():
    plan = plan_from_mapping(
        {
            "measures": {
                "pinch_kg": {
                    "label": "Pinch",
                    "unit": "kg",
                    "lower": 0,
                    "upper": 30,
                    "direction": 1,
                    "kind": "strength",
                    "threshold_abs": 1.0,
                }
            }
        }
    )
    v = _grip_visits()
    pinch = v.assign(measure="pinch_kg", side="none", value=v["value"] / 4)
    both = pd.concat([v, pinch], ignore_index=True)
    assert strength_measures(both, plan) == ["grip_strength_kg", "pinch_kg"]
    out = strength_claims(both, plan)
    assert out["primary"].sum() == 2


def test_null_data_not_supported():
    sim = simulate_visits(SynthParams(n_episodes=200, effect=0.0, conditions=ELBOW), seed=9)
    head = strength_claims(sim.visits, Plan()).iloc[0]
    assert head["verdict"] == "not_supported"


def test_no_strength_measure_not_testable():
    v = _grip_visits().assign(measure="pain_nprs", value=5.0, side="none")
    out = strength_claims(v, Plan())
    assert out["verdict"].tolist() == ["not_testable"]
