"""Sentences (outcomes.report.sentences): written from the claims' fields, never stored in them.

The claim modules return numbers only; these tests check that each sentence quotes those
numbers, that small counts and suppressed claims never show, and that each claim kind keeps
its caveat.  (The sentence checks of the primary claims are in tests/test_claims.py.)
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from outcomes.claims.combined import combined_claim
from outcomes.claims.early import early_claim
from outcomes.claims.improvement import evaluate_claims
from outcomes.claims.other_claims import OtherClaimsResult, run_other_claims
from outcomes.claims.runner import evaluate_other_claims
from outcomes.claims.twitch import twitch_claim
from outcomes.disclosure import disclose_claims
from outcomes.ingest.synth import SynthParams, simulate_visits
from outcomes.report.sentences import (
    ASSOCIATION_CAVEAT,
    CAVEAT,
    CONFOUNDING_CAVEAT,
    OTHER_CLAIM_NAMES,
    claim_sentences,
    other_claim_sentences,
    suppressed_sentence,
)
from outcomes.spec.plan import Plan

PLAN = Plan().with_(other_claims={"conditions": {"enabled": False}})


def _sentences(frame: pd.DataFrame, plan: Plan) -> pd.Series:
    """Sentences of one claim's rows (a claim other than strength, which needs its analyses)."""
    result = OtherClaimsResult(results=frame, claims=frame[frame["primary"]], by_condition=pd.DataFrame(), plan=plan)
    return other_claim_sentences(result)


@pytest.fixture(scope="module")
def other():
    return run_other_claims(simulate_visits(SynthParams(n_episodes=300), seed=2).visits, PLAN)


def test_no_claim_result_holds_prose(other):
    sim = simulate_visits(SynthParams(n_episodes=150), seed=3).visits
    assert "sentence" not in evaluate_claims(sim, Plan()).claims.columns
    assert "sentence" not in evaluate_other_claims(sim, Plan()).columns
    assert "sentence" not in other.results.columns


def test_every_other_claim_and_analysis_has_a_sentence(other):
    s = other_claim_sentences(other)
    assert len(s) == len(other.results) and s.str.len().gt(40).all()
    heads = s[other.results["primary"].to_numpy()]
    assert heads.str.len().gt(40).all()


def test_twitch_sentence_quotes_its_numbers_and_says_association():
    sim = simulate_visits(SynthParams(n_episodes=300, twitch_effect=0.0), seed=11)
    out = twitch_claim(sim.visits, Plan())
    s = _sentences(out, Plan())
    head, row = s.iloc[0], out.iloc[0]
    assert "associated" in head or "no clear difference" in head
    assert "not an effect" in head and "cause" not in head.replace("because", "")
    assert head.endswith(ASSOCIATION_CAVEAT)
    assert f"{row['estimate']:+.2f}" in head and f"{row['ci_low']:+.2f} to {row['ci_high']:+.2f}" in head
    assert f"n = {row['n_with']} with, {row['n_without']} without" in head
    logrank = out.index[out["analysis"] == "logrank"][0]
    assert f"chi-square {out.loc[logrank, 'chi_square']:.2f}" in s.iloc[logrank]


def test_combined_sentence_names_confounding_and_its_sensitivity():
    sim = simulate_visits(SynthParams(n_episodes=250), seed=3)
    out = combined_claim(sim.visits, Plan())
    s = _sentences(out, Plan())
    assert "confounding by indication" in s.iloc[0] and s.iloc[0].endswith(CONFOUNDING_CAVEAT)
    ipw = out[out["analysis"] == "ipw_risk_difference"].iloc[0]
    points = f"{100 * ipw['estimate']:+.0f}" if np.isfinite(ipw["estimate"]) else "n/a"
    assert f"Propensity-weighted sensitivity analysis: {points} (" in s.iloc[0]
    ipw_text = f"largest weight {ipw['max_weight']:.1f}" if np.isfinite(ipw["estimate"]) else "not estimable"
    assert ipw_text in s.iloc[2]
    assert "adjusted for baseline" in s.iloc[1]


def test_early_sentence_uses_the_knee_of_the_plan():
    rng = np.random.default_rng(3)
    rows = [
        (
            f"E{e:03d}",
            f"P{e:03d}",
            v,
            "pain_nprs",
            "none",
            float(np.clip(7 - 0.5 * (v - 1) + rng.normal(0, 0.7), 0, 10)),
        )
        for e in range(80)
        for v in range(1, 9)
    ]
    v = pd.DataFrame(rows, columns=["episode_id", "patient_id", "visit_number", "measure", "side", "value"])
    plan = Plan().with_(other_claims={"early": {"knee": 4}})
    s = _sentences(early_claim(v, plan), plan)
    assert "up to visit 4" in s.iloc[0] and s.iloc[0].endswith(CAVEAT)
    assert s.iloc[1].startswith("Improvement per visit up to visit 4") and "after visit 4" in s.iloc[2]


def test_soreness_sentence_quotes_the_share_and_the_quartiles(other):
    rows = other.results[other.results["claim"] == "soreness"]
    s = other_claim_sentences(other)[(other.results["claim"] == "soreness").to_numpy()]
    head, median = rows.iloc[0], rows[rows["analysis"] == "quantile_50"].iloc[0]
    assert f"after {100 * head['estimate']:.0f}% of needled visits" in s.iloc[0]
    assert f"median {median['estimate']:.0f} h" in s.iloc[0]
    assert s.iloc[3] == f"50% of needled visits had soreness of at most {median['estimate']:.1f} h."


def test_strength_sentence_is_the_primary_claims_sentence_of_its_measure(other):
    ev = other.strength["grip_strength_kg"]
    s = other_claim_sentences(other)[(other.results["claim"] == "strength").to_numpy()]
    assert s.iloc[0].startswith(claim_sentences(ev).iloc[0])
    assert "MCID is 6.5 kg" in s.iloc[1]


def test_not_testable_claim_says_why():
    sim = simulate_visits(SynthParams(n_episodes=120), seed=2).visits.drop(columns="twitch_response")
    res = run_other_claims(sim, PLAN)
    s = other_claim_sentences(res)[(res.results["id"] == "twitch").to_numpy()]
    assert s.tolist() == ["twitch: not testable: column twitch_response missing."]


def test_suppressed_claims_get_the_rule_not_the_numbers(other):
    groups = pd.DataFrame({"id": ["twitch", "twitch"], "group": ["twitch", "no_twitch"], "n": [200, 5]})
    shown = disclose_claims(other.results, 11, groups=groups)
    s = other_claim_sentences(other, shown=shown)
    twitch = (other.results["id"] == "twitch").to_numpy()
    expected = suppressed_sentence(OTHER_CLAIM_NAMES["twitch"], 11)
    assert (s[twitch] == expected).all()
    assert not any(re.search(r"\d+%", x) for x in s[twitch])
    assert (s[~twitch] == other_claim_sentences(other)[~twitch]).all()
    strength = (other.results["claim"] == "strength").to_numpy()
    shown_strength = disclose_claims(
        other.results, 11, suppressed_ids=["strength_improved_by_visit_3:grip_strength_kg"]
    )
    assert other_claim_sentences(other, shown=shown_strength)[strength].iloc[0] == suppressed_sentence(
        "Strength, Grip strength", 11
    )


def test_small_counts_in_other_claims_are_written_as_less_than_min_cell():
    v = simulate_visits(SynthParams(n_episodes=200), seed=5).visits
    few = v["episode_id"].drop_duplicates().iloc[:8]
    twitch = v["twitch_response"].notna() & ~v["episode_id"].isin(few)
    v = v.assign(twitch_response=v["twitch_response"].mask(twitch, True).mask(v["episode_id"].isin(few), False))
    out = twitch_claim(v, Plan())
    head = out.iloc[0]
    assert 2 <= head["n_without"] < 11 <= head["n_with"]
    text = _sentences(out, Plan()).iloc[0]
    assert f"n = {head['n_with']} with, <11 without" in text
    assert f" {head['n_without']} without" not in text
