"""Twitch-response claim: exposure, ANCOVA (vs statsmodels formula), log-rank (vs scipy)."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from outcomes.claims.twitch import twitch_claim, twitch_exposure
from outcomes.ingest.synth import SynthParams, simulate_visits
from outcomes.spec.plan import Plan
from outcomes.stats.adjusted import ancova_difference


def _tiny_visits() -> pd.DataFrame:
    """8 episodes x 4 visits of pain; E1-E4 twitch at visit 2, E5-E8 never (first improved visit in comments)."""
    pain = {
        "E1": [6, 4, 3, 3],  # improved at 2 (drop 2 and >= 30%)
        "E2": [7, 6, 4, 4],  # 3
        "E3": [5, 3, 3, 2],  # 2
        "E4": [8, 7, 7, 5],  # 4
        "E5": [6, 6, 5, 4],  # 4
        "E6": [7, 7, 7, 7],  # never (censored at 4)
        "E7": [6, 5, 4, 4],  # 3
        "E8": [5, 5, 5, 5],  # never
    }
    rows = []
    for i, (ep, values) in enumerate(pain.items()):
        for v, value in enumerate(values, start=1):
            rows.append(
                dict(
                    patient_id=f"P{i}",
                    episode_id=ep,
                    visit_number=v,
                    measure="pain_nprs",
                    side="none",
                    value=float(value),
                    twitch_response=(v == 2 and i < 4),
                )
            )
    frame = pd.DataFrame(rows)
    frame["twitch_response"] = frame["twitch_response"].astype("boolean")
    return frame


def test_exposure_uses_first_k_visits_only():
    v = _tiny_visits()
    late = v.assign(twitch_response=pd.array(v["visit_number"].eq(4).to_numpy(), dtype="boolean"))
    assert not twitch_exposure(late, 3)["twitch"].any()
    assert twitch_exposure(v, 3)["twitch"].tolist() == [True] * 4 + [False] * 4


def test_logrank_matches_scipy_on_hand_times():
    out = twitch_claim(_tiny_visits(), Plan().with_(improvement_event="once"))  # hand times: met once
    lr = out.set_index("analysis").loc["logrank"]
    tw = stats.CensoredData(uncensored=[2, 3, 2, 4])
    no = stats.CensoredData(uncensored=[4, 3], right=[4, 4])
    ref = stats.logrank(tw, no)
    assert lr["p_value"] == pytest.approx(ref.pvalue, rel=1e-12)
    assert lr["n"] == 8


def test_ancova_matches_statsmodels_formula_hc3():
    rng = np.random.default_rng(3)
    f = pd.DataFrame({"group": np.repeat([0, 1], 15), "baseline": rng.integers(3, 10, 30).astype(float)})
    f["gain"] = 0.4 * f["baseline"] + 1.0 * f["group"] + rng.normal(0, 1, 30)
    r = ancova_difference(f, "gain", "group", numeric=["baseline"], conf_level=0.9)
    ref = smf.ols("gain ~ group + baseline", data=f).fit(cov_type="HC3")
    assert r["estimate"] == pytest.approx(ref.params["group"], rel=1e-10)
    assert r["std_err"] == pytest.approx(ref.bse["group"], rel=1e-10)
    lo, hi = ref.conf_int(alpha=0.10).loc["group"]
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi), rel=1e-10)
    assert r["p_value"] == pytest.approx(ref.pvalues["group"] / 2, rel=1e-8)  # one-sided, estimate > 0


def test_ancova_with_categorical_matches_formula():
    rng = np.random.default_rng(5)
    f = pd.DataFrame(
        {"g": rng.integers(0, 2, 60), "b": rng.normal(6, 1, 60), "cond": rng.choice(["neck", "back", "jaw"], 60)}
    )
    f["y"] = f["b"] * 0.3 + f["g"] * 0.5 + f["cond"].map({"neck": 0, "back": 1, "jaw": -1}) + rng.normal(0, 1, 60)
    r = ancova_difference(f, "y", "g", numeric=["b"], categorical=["cond"], conf_level=0.95)
    ref = smf.ols("y ~ g + b + C(cond)", data=f).fit(cov_type="HC3")
    assert r["estimate"] == pytest.approx(ref.params["g"], rel=1e-10)
    assert r["std_err"] == pytest.approx(ref.bse["g"], rel=1e-10)


def test_null_data_not_supported_and_association_wording():
    sim = simulate_visits(SynthParams(n_episodes=300, twitch_effect=0.0), seed=11)
    out = twitch_claim(sim.visits, Plan())
    head = out[out["primary"]].iloc[0]
    assert head["verdict"] != "supported"
    assert head["n"] + head["n_excluded"] == sim.visits["episode_id"].nunique()


def test_missing_column_not_testable():
    out = twitch_claim(_tiny_visits().drop(columns="twitch_response"), Plan())
    assert out["verdict"].tolist() == ["not_testable"]
    assert out["reason"].iloc[0] == "not testable: column twitch_response missing"
