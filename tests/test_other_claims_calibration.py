"""Calibration of the other claims' verdicts by simulation (seeded, slow).

For each claim: 200 synthetic data sets with the effect absent (null) -> the rate of a
false "supported" verdict with its exact (Clopper-Pearson) 95% interval; and 100 with
the effect present -> the detection rate.  Run (figures in docs/other-claims.md):

    .venv/bin/python -m pytest -m slow -s -n 2 tests/test_other_claims_calibration.py
"""

from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from outcomes.combined import combined_claim
from outcomes.early import early_claim
from outcomes.plan import Plan
from outcomes.soreness import soreness_claim
from outcomes.strength import strength_claims
from outcomes.synth import SynthParams, effect_for_share, simulate_visits, true_share_improved, true_soreness_share

pytestmark = pytest.mark.slow

N_NULL, N_ALT = 200, 100
PLAN = Plan().with_(n_boot=100)  # the bootstrap only feeds change-at-k rows, never a verdict
ELBOW = (("lateral_epicondylalgia", 0.5), ("carpal_tunnel", 0.5))


def _soreness_params(share: float) -> SynthParams:
    """Soreness median making the true share within 48 h exactly ``share``."""
    p = SynthParams(n_episodes=200)
    median = float(np.exp(np.log(48.05) - p.soreness_sd_log * stats.norm.ppf(share)))
    return replace(p, soreness_median_hours=median)


def _pain_only(params: SynthParams, seed: int):
    v = simulate_visits(params, seed=seed).visits
    return v[v["measure"] == "pain_nprs"]


def _grip_only(params: SynthParams, seed: int):
    v = simulate_visits(params, seed=seed).visits
    return v[v["measure"] == "grip_strength_kg"]


_GRIP_NULL = effect_for_share(0.5, SynthParams(n_episodes=150, conditions=ELBOW), k=3,
                              measure="grip_strength_kg", n_mc=50_000, seed=1)
_GRIP_ALT = effect_for_share(0.7, SynthParams(n_episodes=150, conditions=ELBOW), k=3,
                             measure="grip_strength_kg", n_mc=50_000, seed=1)

# claim -> (run, data maker, null params, effect params, description of the effect)
SCENARIOS = {
    "strength": (strength_claims, _grip_only, _GRIP_NULL, _GRIP_ALT,
                 "true P(grip improved by visit 3) = 0.50 (= p0) vs 0.70; 150 elbow/wrist episodes"),
    "twitch": ("twitch", _pain_only, SynthParams(n_episodes=200, twitch_effect=0.0),
               SynthParams(n_episodes=200, twitch_effect=0.5), "twitch_effect 0 vs 0.5; 200 episodes"),
    "soreness": (soreness_claim, lambda p, s: simulate_visits(p, seed=s).visits, _soreness_params(0.90),
                 _soreness_params(0.95), "true share within 48 h = 0.90 (= threshold) vs 0.95; 200 episodes"),
    "combined": (combined_claim, lambda p, s: simulate_visits(p, seed=s).visits,
                 SynthParams(n_episodes=200, combined_effect=0.0), SynthParams(n_episodes=200, combined_effect=0.5),
                 "combined_effect 0 vs 0.5, confounding 0.5 (default) in both; 200 episodes"),
    "early": (early_claim, _pain_only, SynthParams(n_episodes=120, effect=0.0),
              SynthParams(n_episodes=120, effect=0.6, early_late_ratio=1.0),
              "effect 0 (no change) vs 0.6 with exponential recovery; 120 episodes"),
}


def _run(claim: str):
    run = SCENARIOS[claim][0]
    if run == "twitch":
        from outcomes.twitch import twitch_claim
        return twitch_claim
    return run


def _supported_rate(claim: str, params: SynthParams, n_sets: int, seed0: int) -> tuple[int, float, float, float]:
    run, make = _run(claim), SCENARIOS[claim][1]
    hits = sum(run(make(params, seed0 + r), PLAN)["verdict"].iloc[0] == "supported" for r in range(n_sets))
    ci = stats.binomtest(hits, n_sets).proportion_ci(0.95, method="exact")
    return hits, hits / n_sets, ci.low, ci.high


@pytest.mark.parametrize("claim", list(SCENARIOS))
def test_null_false_supported_at_most_5_percent(claim):
    hits, rate, lo, hi = _supported_rate(claim, SCENARIOS[claim][2], N_NULL, 1000)
    print(f"\n[null] {claim}: false supported {hits}/{N_NULL} = {rate:.3f} (exact 95% CI {lo:.3f}-{hi:.3f}); "
          f"{SCENARIOS[claim][4]}")
    assert lo <= 0.05, f"false-supported rate {rate:.3f} is above 5% (CI {lo:.3f}-{hi:.3f})"


@pytest.mark.parametrize("claim", list(SCENARIOS))
def test_effect_present_detected(claim):
    hits, rate, lo, hi = _supported_rate(claim, SCENARIOS[claim][3], N_ALT, 5000)
    print(f"\n[effect] {claim}: supported {hits}/{N_ALT} = {rate:.2f} (exact 95% CI {lo:.2f}-{hi:.2f}); "
          f"{SCENARIOS[claim][4]}")
    assert rate > 0.2


def test_truths_used_above():
    assert true_soreness_share(_soreness_params(0.90)) == pytest.approx(0.90, abs=1e-12)
    share = true_share_improved(_GRIP_NULL, measure="grip_strength_kg", k=3, n_mc=50_000, seed=1)
    assert share == pytest.approx(0.5, abs=0.005)
