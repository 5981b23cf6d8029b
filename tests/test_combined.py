"""Combined-therapy claim: groups, g-computation (vs closed form / statsmodels), IPW (vs hand weights)."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from outcomes.claims.combined import combined_claim, treatment_groups
from outcomes.ingest.synth import SynthParams, simulate_visits
from outcomes.spec.plan import Plan
from outcomes.stats.adjusted import ipw_risk_difference, standardized_risk_difference


def test_saturated_gcomputation_is_raw_difference_with_wald_se():
    f = pd.DataFrame({"y": [1] * 14 + [0] * 6 + [1] * 9 + [0] * 16, "g": [1] * 20 + [0] * 25})
    r = standardized_risk_difference(f, "y", "g", conf_level=0.95)
    p1, p0 = 14 / 20, 9 / 25
    assert r["estimate"] == pytest.approx(p1 - p0, abs=1e-8)
    assert r["std_err"] == pytest.approx(np.sqrt(p1 * (1 - p1) / 20 + p0 * (1 - p0) / 25), rel=1e-6)
    assert (r["risk_1"], r["risk_0"]) == pytest.approx((p1, p0), abs=1e-8)


def test_gcomputation_matches_statsmodels_formula_predictions():
    rng = np.random.default_rng(7)
    n = 200
    f = pd.DataFrame({"g": rng.integers(0, 2, n), "b": rng.normal(6, 1.5, n), "c": rng.choice(["x", "y", "z"], n)})
    eta = -2 + 0.8 * f["g"] + 0.3 * f["b"] + f["c"].map({"x": 0, "y": 0.5, "z": -0.5})
    f["y"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    r = standardized_risk_difference(f, "y", "g", numeric=["b"], categorical=["c"])
    fit = smf.logit("y ~ g + b + C(c)", data=f).fit(disp=0)
    ref = fit.predict(f.assign(g=1)).mean() - fit.predict(f.assign(g=0)).mean()
    assert r["estimate"] == pytest.approx(ref, rel=1e-6)


def test_ipw_matches_hand_weighted_means():
    # covariate c: stratum a has 2 of 4 treated, stratum b 1 of 4: the saturated propensity model is exact
    f = pd.DataFrame(
        {"y": [1, 0, 1, 0, 1, 0, 0, 1], "g": [1, 1, 0, 0, 1, 0, 0, 0], "c": ["a", "a", "a", "a", "b", "b", "b", "b"]}
    )
    ps = np.where(f["c"] == "a", 0.5, 0.25)
    pa = f["g"].mean()
    w = np.where(f["g"] == 1, pa / ps, (1 - pa) / (1 - ps))
    t, u = f["g"] == 1, f["g"] == 0
    hand = np.average(f["y"][t], weights=w[t]) - np.average(f["y"][u], weights=w[u])
    r = ipw_risk_difference(f, "y", "g", categorical=["c"])
    assert r["estimate"] == pytest.approx(hand, abs=1e-6)
    assert r["max_weight"] == pytest.approx(w.max(), rel=1e-6)


def test_treatment_groups_any_visit_with_extra_therapy():
    v = pd.DataFrame(
        {
            "episode_id": ["A", "A", "B", "B", "C"],
            "treatment": ["dry_needling", "manual_therapy", "dry_needling", "modalities+dry_needling", "education"],
        }
    )
    g = treatment_groups(v).set_index("episode_id")
    assert g.loc["A"].tolist() == [True, True] and g.loc["B"].tolist() == [True, False]
    assert g.loc["C"].tolist() == [False, False]


def test_claim_rows_and_groups_match_truth():
    sim = simulate_visits(SynthParams(n_episodes=250), seed=3)
    out = combined_claim(sim.visits, Plan())
    assert out["analysis"].tolist() == ["gcomputation_risk_difference", "ancova_change_at_k", "ipw_risk_difference"]
    g = treatment_groups(sim.visits).merge(sim.episodes[["episode_id", "combined"]], on="episode_id")
    assert (g["combined_x"] == g["combined_y"]).all()
    assert (out["n"] + out["n_excluded"] <= 250).all()


def test_null_data_not_supported():
    sim = simulate_visits(SynthParams(n_episodes=300, combined_effect=0.0), seed=8)
    assert combined_claim(sim.visits, Plan())["verdict"].iloc[0] != "supported"


def test_missing_column_not_testable():
    v = pd.DataFrame({"episode_id": "E1", "visit_number": [1, 2], "measure": "pain_nprs", "value": [5.0, 3.0]})
    assert combined_claim(v, Plan())["reason"].iloc[0] == "not testable: column treatment missing"
