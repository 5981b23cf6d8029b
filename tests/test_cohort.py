"""Cohort flow, exclusions, missingness, Table 1, per-condition estimates and trajectory data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from outcomes.analysis import analyse
from outcomes.descriptive.cohort import (
    cohort_flow,
    condition_characteristics,
    exclusion_summary,
    missingness,
    table_one,
)
from outcomes.descriptive.subgroups import condition_estimates
from outcomes.descriptive.trajectories import change_at_k, claim_measurements, trajectories
from outcomes.spec.plan import Plan
from outcomes.stats import km_at


@pytest.fixture(scope="module")
def a():
    return analyse()


def test_flow_adds_up_to_the_primary_claim(a):
    flow = cohort_flow(a.loaded, a.claims).set_index("step")["n"]
    claim = a.claims.claims.iloc[0]
    assert flow["episodes"] == a.loaded.n_episodes == 400
    assert flow["in primary claim"] == claim["n"]
    assert flow["episodes"] - flow["in primary claim"] == claim["n_excluded"]
    mean_change = a.claims.change.query("measure == 'pain_nprs' and statistic == 'mean'")
    assert flow[f"measured at visit {a.plan.k}"] == mean_change["n"].iloc[0]
    assert flow.iloc[1:].is_monotonic_decreasing  # each step keeps a subset of the one before


def test_exclusions_match_the_claims(a):
    ex = exclusion_summary(a.loaded, a.claims)
    claim_rows = ex[ex["stage"] == "claim"]
    assert claim_rows["n"].sum() == a.claims.claims["n_excluded"].sum()
    assert set(claim_rows["reason"]) <= {"no_baseline", "threshold_unreachable"}


def test_missingness_counts_only_applicable_measures_at_attended_visits():
    v = pd.DataFrame(
        {
            "episode_id": ["E1", "E1", "E1", "E1", "E2", "E2"],
            "visit_number": [1, 1, 2, 3, 1, 2],
            "measure": ["pain_nprs", "rom_hip_flexion", "pain_nprs", "rom_hip_flexion", "pain_nprs", "pain_nprs"],
        }
    )
    m = missingness(v, Plan()).set_index(["measure", "visit_number"])
    # E2 never has hip flexion: not applicable, not missing; E1 misses pain at visit 3, hip at visit 2
    assert m.loc[("rom_hip_flexion", 2), ["n_expected", "n_missing"]].tolist() == [1, 1]
    assert m.loc[("pain_nprs", 3), ["n_expected", "n_missing"]].tolist() == [1, 1]
    assert m.loc[("pain_nprs", 2), "pct_missing"] == 0.0


def test_table_one_suppresses_small_cells_and_their_complements(a):
    chars = condition_characteristics(a.visits, a.plan)
    t = table_one(a.visits, a.plan)
    small = chars.loc[chars["n_episodes"] < 11, "condition"]
    assert len(small) == 1
    assert t.loc[small.iloc[0], "Episodes"] == "<11"
    assert (t.loc[small.iloc[0]].iloc[1:] == "").all()
    # the All row publishes the total, so exactly one more episode count is hidden
    assert (t["Episodes"] == "*").sum() == 1
    assert t.loc["All", "Episodes"] == str(chars["n_episodes"].iloc[-1])
    shown = t["Female"].str.extract(r"^(\d+) ")[0].dropna()
    assert shown.astype(int).min() >= 11


def test_condition_estimates_are_km_on_each_subset(a):
    est = condition_estimates(a.claims)
    claim = a.claims.claims.iloc[0]
    assert est.loc[0, "estimate"] == pytest.approx(claim["estimate"], abs=1e-12)
    eps = a.claims.episodes.query("measure == 'pain_nprs' and status == 'included'")
    sub = eps[eps["condition"] == "neck_pain"]
    ref = km_at(sub["time"], sub["event"], a.plan.k, conf_level=a.plan.conf_level, conf_type=a.plan.km_interval)
    ref = ref.iloc[0]
    row = est.set_index("condition").loc["neck_pain"]
    assert (row["estimate"], row["ci_low"], row["ci_high"]) == pytest.approx(
        (ref["estimate"], ref["ci_low"], ref["ci_high"]), abs=1e-12
    )
    assert int(row["n"]) == ref["n"]
    sup = est[est["suppressed"]]
    assert sup["estimate"].isna().all() and (sup["n_text"] == "<11").all()
    assert (est["n_text"] == "*").sum() == 1


def test_trajectories_are_seeded_and_use_the_claim_episodes(a):
    t1 = trajectories(a.visits, a.claims, "pain_nprs", n_show=15)
    t2 = trajectories(a.visits, a.claims, "pain_nprs", n_show=15)
    pd.testing.assert_frame_equal(t1.lines, t2.lines)
    assert t1.n_shown == 15 and t1.lines["episode_id"].nunique() == 15
    assert t1.n_episodes == a.claims.claims.iloc[0]["n"]
    assert t1.converged and np.all(np.diff(t1.mean["estimate"]) < 0)  # sample pain falls over visits
    used = claim_measurements(a.visits, a.claims, "pain_nprs")
    assert used["visit_number"].max() <= a.plan.max_visit


def test_change_at_k_matches_the_claims_change(a):
    w = change_at_k(a.visits, a.claims, "pain_nprs")
    mean = a.claims.change.query("measure == 'pain_nprs' and statistic == 'mean'").iloc[0]
    assert len(w) == mean["n"]
    assert w["gain"].mean() == pytest.approx(mean["estimate"], abs=1e-12)
    assert w["rank"].tolist() == list(range(1, len(w) + 1))
