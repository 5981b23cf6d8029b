"""Early-in-treatment claim: piecewise mixed-model slope difference."""

import numpy as np
import pandas as pd
import pytest

from outcomes.claims.early import early_claim, trajectory_frame
from outcomes.ingest.synth import SynthParams, simulate_visits
from outcomes.spec.plan import Plan
from outcomes.stats import fit_trajectory


def _piecewise_pain(seed: int, early: float, late: float, n: int = 80) -> pd.DataFrame:
    """Pain falling ``early`` points per visit to visit 3, then ``late`` per visit (known slopes)."""
    rng = np.random.default_rng(seed)
    visit = np.tile(np.arange(1, 9), n)
    ep = np.repeat(np.arange(n), 8)
    mean = 8.0 - early * (np.minimum(visit, 3) - 1) - late * np.maximum(visit - 3, 0)
    value = mean + rng.normal(0, 0.8, n)[ep] + rng.normal(0, 0.15, n)[ep] * (visit - 1) + rng.normal(0, 0.5, ep.size)
    return pd.DataFrame(
        {
            "patient_id": ep.astype(str),
            "episode_id": [f"E{e:03d}" for e in ep],
            "visit_number": visit,
            "measure": "pain_nprs",
            "side": "none",
            "value": value,
        }
    )


def test_recovers_known_slopes():
    out = early_claim(_piecewise_pain(1, early=1.0, late=0.2), Plan()).set_index("analysis")
    diff = out.loc["piecewise_slope_difference"]
    se = (diff["ci_high"] - diff["ci_low"]) / (2 * 1.6449)
    assert abs(diff["estimate"] - 0.8) < 3 * se and diff["verdict"] == "supported"
    assert out.loc["slope_early", "estimate"] == pytest.approx(1.0, abs=0.1)
    assert out.loc["slope_late", "estimate"] == pytest.approx(0.2, abs=0.05)


def test_matches_stats_mixed_fit_directly():
    v = _piecewise_pain(2, early=0.5, late=0.5)
    data, _ = trajectory_frame(v, Plan())
    fit = fit_trajectory(data, transform="piecewise", knot=3, conf_level=0.9)
    ref = fit.slope_difference().iloc[0]
    head = early_claim(v, Plan()).iloc[0]
    # pain: improvement = -slope, so early - late = slope_after - slope_before
    assert head["estimate"] == pytest.approx(ref["estimate"])
    assert (head["ci_low"], head["ci_high"]) == pytest.approx((ref["ci_low"], ref["ci_high"]))


def test_equal_slopes_not_supported_and_knee_from_plan():
    v = _piecewise_pain(3, early=0.5, late=0.5)
    assert early_claim(v, Plan())["verdict"].iloc[0] != "supported"
    later = early_claim(v, Plan().with_(other_claims={"early": {"knee": 4}}))
    assert (later["knee"] == 4).all()  # its sentence says "visit 4": tests/test_sentences.py


def test_null_synthetic_data_not_supported():
    sim = simulate_visits(SynthParams(n_episodes=150, effect=0.0), seed=5)
    assert early_claim(sim.visits, Plan())["verdict"].iloc[0] != "supported"
