"""Soreness claim: needled visits, share resolved with an episode-clustered interval (vs hand formula)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from outcomes.claims.soreness import QUANTILES, needled_visits, soreness_claim, soreness_share
from outcomes.ingest.synth import SynthParams, simulate_visits, true_soreness_share
from outcomes.spec.plan import Plan


def _hand_ratio(frame: pd.DataFrame, hours: float):
    """Ratio estimator with its linearization variance G/(G-1) sum_g (y_g - p m_g)^2 / N^2 (Cochran 1977)."""
    y = (frame["soreness_hours"] <= hours).astype(float)
    per = pd.DataFrame({"y": y, "m": 1.0, "g": frame["episode_id"]}).groupby("g").sum()
    n, g = per["m"].sum(), len(per)
    p = per["y"].sum() / n
    var = g / (g - 1) * ((per["y"] - p * per["m"]) ** 2).sum() / n**2
    return p, np.sqrt(var)


def test_share_matches_hand_ratio_estimator():
    s = pd.DataFrame(
        {"episode_id": list("aaabbcccc") + ["d"] * 2, "soreness_hours": [10, 60, 20, 30, 50, 12, 70, 80, 5, 47.9, 48.0]}
    )
    r = soreness_share(s, 48, threshold=0.5, conf_level=0.9)
    p, se = _hand_ratio(s, 48)
    assert r["estimate"] == pytest.approx(p) and r["std_err"] == pytest.approx(se, rel=1e-12)
    z = stats.norm.ppf(0.95)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((p - z * se, p + z * se), rel=1e-12)
    assert r["n"] == 11 and r["n_episodes"] == 4


def test_needled_visits_one_row_per_needled_visit():
    v = pd.DataFrame(
        {
            "episode_id": ["A"] * 4 + ["B"] * 2,
            "visit_number": [1, 1, 2, 3, 1, 2],
            "treatment": ["dry_needling+exercise"] * 2 + ["exercise", "dry_needling", "dry_needling", "manual_therapy"],
            "soreness_hours": [12.0, 12.0, np.nan, np.nan, 30.0, np.nan],
        }
    )
    out = needled_visits(v)
    assert out[["episode_id", "visit_number"]].values.tolist() == [["A", 1], ["A", 3], ["B", 1]]


def test_claim_verdict_quantiles_and_exclusions():
    sim = simulate_visits(SynthParams(n_episodes=150), seed=2)
    out = soreness_claim(sim.visits, Plan()).set_index("analysis")
    needled = needled_visits(sim.visits)
    reported = needled["soreness_hours"].dropna()
    head = out.loc["share_within_hours"]
    assert head["estimate"] == pytest.approx((reported <= 48).mean())
    assert head["n"] == len(reported) and head["n_excluded"] == len(needled) - len(reported)
    for q in QUANTILES:
        assert out.loc[f"quantile_{round(100 * q):02d}", "estimate"] == pytest.approx(np.quantile(reported, q))
    expected = "supported" if head["ci_low"] > 0.9 else "not_supported" if head["ci_high"] < 0.9 else "inconclusive"
    assert head["verdict"] == expected and head["p0"] == 0.9


def test_plan_threshold_changes_verdict():
    sim = simulate_visits(SynthParams(n_episodes=150, soreness_median_hours=6.0), seed=2)
    assert true_soreness_share(SynthParams(soreness_median_hours=6.0)) > 0.99
    plan = Plan().with_(other_claims={"soreness": {"hours": 48, "share": 0.9}})
    assert soreness_claim(sim.visits, plan)["verdict"].iloc[0] == "supported"
    strict = plan.with_(other_claims={"soreness": {"hours": 2, "share": 0.9}})
    assert soreness_claim(sim.visits, strict)["verdict"].iloc[0] == "not_supported"


def test_null_data_at_threshold_not_supported():
    # true share exactly 0.90: a single data set must not call it supported (calibration file: the rate)
    median = float(np.exp(np.log(48.05) - 0.8 * stats.norm.ppf(0.9)))
    params = SynthParams(n_episodes=200, soreness_median_hours=median)
    assert true_soreness_share(params) == pytest.approx(0.9, abs=1e-9)
    out = soreness_claim(simulate_visits(params, seed=5).visits, Plan())
    assert out["verdict"].iloc[0] != "supported"


def test_missing_column_not_testable():
    v = pd.DataFrame({"episode_id": "E1", "visit_number": [1, 2], "measure": "pain_nprs", "value": [5.0, 3.0]})
    assert soreness_claim(v, Plan())["reason"].iloc[0] == "not testable: column soreness_hours missing"
