"""Calibration of the other claims' verdicts by simulation (seeded, slow).

For each claim: 200 synthetic data sets with the effect absent (null) -> the rate of a
false "supported" verdict with its exact (Clopper-Pearson) 95% interval; and 100 with
the effect present -> the detection rate.  The early claim fits a mixed model per data
set (about 3 s on null data, where the random-slope variance is 0), so it uses 60 and 40
smaller data sets.  Run (figures in docs/other-claims.md; ``-rA`` shows the printed
figures under xdist):

    .venv/bin/python -m pytest -m slow -n 2 -rA tests/test_other_claims_calibration.py
"""

from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from outcomes.claims.combined import combined_claim
from outcomes.claims.early import early_claim
from outcomes.claims.soreness import soreness_claim
from outcomes.claims.strength import strength_claims
from outcomes.ingest.synth import SynthParams, simulate_visits, true_share_improved, true_soreness_share
from outcomes.spec.plan import Plan

pytestmark = pytest.mark.slow

N_NULL, N_ALT = 200, 100
N_SETS = {"early": (60, 40)}  # (null, effect) data sets where a fit is slow
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


# Grip improves slowly under the defaults (true share <= 0.30 by visit 3), so these runs use a faster,
# stronger grip recovery and vary the responder share; the values come from
# effect_for_share(target, _GRIP_BASE, k=3, measure="grip_strength_kg", n_mc=50_000, seed=1,
# vary="responder_share", event="sustained") (the default plan's improvement event) and are checked by
# test_truths_used_above.
_GRIP_BASE = SynthParams(n_episodes=150, conditions=ELBOW, strength_effect=1.6, rate=1.0)
_GRIP_NULL = replace(_GRIP_BASE, responder_share=0.703125)  # true share 0.50 = p0
_GRIP_ALT = replace(_GRIP_BASE, responder_share=0.984375)  # true share 0.70

# claim -> (run, data maker, null params, effect params, description of the effect)
SCENARIOS = {
    "strength": (
        strength_claims,
        _grip_only,
        _GRIP_NULL,
        _GRIP_ALT,
        "true P(grip improved by visit 3) = 0.50 (= p0) vs 0.70; 150 elbow/wrist episodes",
    ),
    "twitch": (
        "twitch",
        _pain_only,
        SynthParams(n_episodes=200, twitch_effect=0.0),
        SynthParams(n_episodes=200, twitch_effect=0.5),
        "twitch_effect 0 vs 0.5; 200 episodes",
    ),
    "soreness": (
        soreness_claim,
        lambda p, s: simulate_visits(p, seed=s).visits,
        _soreness_params(0.90),
        _soreness_params(0.95),
        "true share within 48 h = 0.90 (= threshold) vs 0.95; 200 episodes",
    ),
    "combined": (
        combined_claim,
        lambda p, s: simulate_visits(p, seed=s).visits,
        SynthParams(n_episodes=200, combined_effect=0.0, confounding=0.0),
        SynthParams(n_episodes=200, combined_effect=0.5, confounding=0.0),
        "combined_effect 0 vs 0.5, no confounding; 200 episodes",
    ),
    "early": (
        early_claim,
        _pain_only,
        SynthParams(n_episodes=80, max_visits=8, effect=0.0),
        SynthParams(n_episodes=80, max_visits=8, effect=0.6),
        "effect 0 (no change) vs 0.6 with exponential recovery; 80 episodes, <= 8 visits",
    ),
}


def _run(claim: str):
    run = SCENARIOS[claim][0]
    if run == "twitch":
        from outcomes.claims.twitch import twitch_claim

        return twitch_claim
    return run


def _supported_rate(claim: str, params: SynthParams, n_sets: int, seed0: int) -> tuple[int, float, float, float]:
    run, make = _run(claim), SCENARIOS[claim][1]
    hits = sum(run(make(params, seed0 + r), PLAN)["verdict"].iloc[0] == "supported" for r in range(n_sets))
    ci = stats.binomtest(hits, n_sets).proportion_ci(0.95, method="exact")
    return hits, hits / n_sets, ci.low, ci.high


@pytest.mark.parametrize("claim", list(SCENARIOS))
def test_null_false_supported_at_most_5_percent(claim):
    n_sets = N_SETS.get(claim, (N_NULL, N_ALT))[0]
    hits, rate, lo, hi = _supported_rate(claim, SCENARIOS[claim][2], n_sets, 1000)
    print(
        f"\n[null] {claim}: false supported {hits}/{n_sets} = {rate:.3f} (exact 95% CI {lo:.3f}-{hi:.3f}); "
        f"{SCENARIOS[claim][4]}"
    )
    assert lo <= 0.05, f"false-supported rate {rate:.3f} is above 5% (CI {lo:.3f}-{hi:.3f})"


@pytest.mark.parametrize("claim", list(SCENARIOS))
def test_effect_present_detected(claim):
    n_sets = N_SETS.get(claim, (N_NULL, N_ALT))[1]
    hits, rate, lo, hi = _supported_rate(claim, SCENARIOS[claim][3], n_sets, 5000)
    print(
        f"\n[effect] {claim}: supported {hits}/{n_sets} = {rate:.2f} (exact 95% CI {lo:.2f}-{hi:.2f}); "
        f"{SCENARIOS[claim][4]}"
    )
    assert rate > 0.2


def test_truths_used_above():
    assert true_soreness_share(_soreness_params(0.90)) == pytest.approx(0.90, abs=1e-12)
    for params, target in ((_GRIP_NULL, 0.5), (_GRIP_ALT, 0.7)):
        share = true_share_improved(
            params, measure="grip_strength_kg", k=3, n_mc=50_000, seed=1, event=PLAN.improvement_event
        )
        assert share == pytest.approx(target, abs=0.005)


def test_combined_residual_confounding_is_reported():
    """Known limitation, measured: with confounding by indication on the *latent* baseline severity
    (synth ``confounding = 0.5``, the default) adjustment for the *measured* baseline leaves residual
    confounding, and the false-supported rate exceeds 5%.  This is why the verdict's sentence carries the
    confounding-by-indication caveat.  Asserted only to stay below 20% (a regression guard)."""
    params = SynthParams(n_episodes=200, combined_effect=0.0, confounding=0.5)
    hits, rate, lo, hi = _supported_rate("combined", params, N_NULL, 1000)
    print(
        f"\n[null, confounded] combined: false supported {hits}/{N_NULL} = {rate:.3f} "
        f"(exact 95% CI {lo:.3f}-{hi:.3f}); combined_effect 0, confounding 0.5; 200 episodes"
    )
    assert rate < 0.20
