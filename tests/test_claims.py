"""Claims: verdict rule, sensitivity analyses, sentences, determinism, CLI."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from outcomes.claims.improvement import claim_measures, evaluate_claims
from outcomes.cli import main
from outcomes.ingest.synth import SynthParams, simulate_visits
from outcomes.report.sentences import CAVEAT, claim_sentences
from outcomes.spec.plan import Plan
from outcomes.stats import km_at
from outcomes.stats.decision import verdict_from_bounds


def pain_visits(trajectories):
    """trajectories: list of pain lists, one per episode (visit 1 first)."""
    rows = [
        (f"E{e:03d}", f"P{e:03d}", v + 1, "pain_nprs", "none", float(x))
        for e, traj in enumerate(trajectories)
        for v, x in enumerate(traj)
    ]
    return pd.DataFrame(rows, columns=["episode_id", "patient_id", "visit_number", "measure", "side", "value"])


#: The rule met at one visit (the event before P9; the hand-worked answers below count it).
ONCE = Plan().with_(improvement_event="once")


@pytest.fixture(scope="module")
def sim():
    return simulate_visits(SynthParams(n_episodes=300), seed=11).visits


@pytest.fixture(scope="module")
def result(sim):
    return evaluate_claims(sim, Plan())


def test_complete_follow_up_km_equals_simple_share():
    # 30 episodes all seen at 3 visits; 20 improve by visit 3 -> KM = ITT = completers = 20/30
    trajs = [[6, 5, 3]] * 12 + [[6, 4, 4]] * 8 + [[6, 6, 6]] * 10
    res = evaluate_claims(pain_visits(trajs), ONCE)
    claim = res.claims.iloc[0]
    assert claim["estimate"] == pytest.approx(20 / 30)
    sens = res.sensitivity.set_index("analysis")
    assert sens.loc["itt", "estimate"] == pytest.approx(20 / 30)
    assert sens.loc["completers", "estimate"] == pytest.approx(20 / 30)
    assert sens.loc["k_minus_1", "estimate"] == pytest.approx(8 / 30)  # by visit 2
    # relative-only (>= 30%) counts 6 -> 5? no (17%); absolute-only (>= 2) same as both here
    assert sens.loc["absolute_only", "estimate"] == pytest.approx(20 / 30)


def test_dropout_handling_itt_vs_km_vs_completers():
    # 10 improve at visit 2; 10 drop out after visit 1; 10 seen to visit 3 without improving
    trajs = [[6, 3, 3]] * 10 + [[6]] * 10 + [[6, 6, 6]] * 10
    res = evaluate_claims(pain_visits(trajs), ONCE)
    sens = res.sensitivity.set_index("analysis")
    assert sens.loc["itt", "estimate"] == pytest.approx(10 / 30)  # dropouts count as failures
    assert sens.loc["completers", "estimate"] == pytest.approx(10 / 20)  # dropouts ignored
    assert sens.loc["kaplan_meier", "estimate"] == pytest.approx(10 / 20)  # censored at visit 1: risk set 20


def test_sustained_improvement_by_hand():
    # Visits 1-4.  A: met at 2 and 3 (sustained at 2).  B: met at 3 and 4 (sustained at 3).
    # C: met at 2, lost at 3, never again.  D: met only at its last visit 3, then leaves.  E: never met.
    # 6 episodes each.  Follow-up for a sustained event ends a visit before the last: D at 2, others at 3.
    trajs = [[6, 3, 3, 3]] * 6 + [[6, 5, 3, 3]] * 6 + [[6, 3, 5, 5]] * 6 + [[6, 5, 3]] * 6 + [[6, 6, 6, 6]] * 6
    res = evaluate_claims(pain_visits(trajs), Plan())
    assert Plan().improvement_event == "sustained"
    sens = res.sensitivity.set_index("analysis")
    # Kaplan-Meier: at visit 2, 30 at risk, 6 events (A) -> S = 24/30; D censored at 2 (after the
    # events there); at visit 3, 18 at risk (B, C, E), 6 events (B) -> S = 24/30 * 12/18
    assert sens.loc["kaplan_meier", "estimate"] == pytest.approx(1 - 24 / 30 * 12 / 18)
    assert sens.loc["itt", "estimate"] == pytest.approx(12 / 30)  # D counts as not improved
    assert sens.loc["completers", "estimate"] == pytest.approx(12 / 24)  # attending at visit 4: A, B, C, E
    # met once: A, B, C and D all meet the rule by visit 3 (D at 3, censored never)
    assert sens.loc["met_once", "estimate"] == pytest.approx(24 / 30)
    once = evaluate_claims(pain_visits(trajs), ONCE).sensitivity.set_index("analysis")
    assert once.loc["kaplan_meier", "estimate"] == pytest.approx(24 / 30)
    assert once.loc["sustained", "estimate"] == pytest.approx(sens.loc["kaplan_meier", "estimate"])


def test_exclusions_are_counted_with_reasons():
    trajs = [[6, 3, 3]] * 15 + [[1, 0, 0]] * 3  # baseline 1 cannot drop 2 points
    v = pain_visits(trajs)
    v = pd.concat(
        [
            v,
            pd.DataFrame(
                [("E900", "P900", 1, "rom_slr_left", "none", 50.0), ("E900", "P900", 2, "pain_nprs", "none", 5.0)],
                columns=v.columns,
            ),
        ]
    )
    res = evaluate_claims(v, Plan().with_(secondary_measures=[]))
    claim = res.claims.iloc[0]
    assert (claim["n"], claim["n_excluded"]) == (15, 4)
    reasons = dict(zip(res.exclusions["reason"], res.exclusions["n"]))
    assert reasons == {"threshold_unreachable": 3, "no_baseline": 1}
    sentence = claim_sentences(res).iloc[0]
    assert "<11 excluded" in sentence and "no baseline" in sentence


def test_primary_verdict_matches_the_interval_shown(result):
    for row in result.claims[result.claims["family"] == "primary"].itertuples():
        assert row.verdict == verdict_from_bounds(row.ci_low, row.ci_high, row.p0)
        assert row.conf_level == pytest.approx(0.90)


def test_primary_estimate_is_km_at_k(sim, result):
    from outcomes.episodes.core import summarize_episodes

    s = summarize_episodes(sim, measures=["pain_nprs"], event="sustained")  # the default plan's event
    inc = s[s["status"] == "included"]
    ref = km_at(
        inc["time"].to_numpy(), inc["event"].to_numpy(), 3, conf_level=0.9, p0=0.5, conf_type="likelihood-ratio"
    ).iloc[0]
    claim = result.claims.iloc[0]
    assert claim["estimate"] == pytest.approx(ref["estimate"])
    assert (claim["ci_low"], claim["ci_high"]) == pytest.approx((ref["ci_low"], ref["ci_high"]))


def test_secondary_claims_are_holm_adjusted(result):
    sec = result.claims[result.claims["family"] == "secondary"]
    assert len(sec) >= 3
    raw = result.sensitivity[(result.sensitivity["analysis"] == "kaplan_meier")].set_index("id")["p_value"]
    for row in sec.itertuples():
        assert row.p_value >= raw[row.id] - 1e-12
    # Holm: the smallest raw p is multiplied by the family size (capped at 1)
    m = len(sec)
    smallest = raw[sec["id"]].idxmin()
    assert sec.set_index("id").loc[smallest, "p_value"] == pytest.approx(min(1.0, m * raw[smallest]))


def test_claim_measures_order_and_presence(sim):
    codes = claim_measures(sim, Plan())
    assert codes[0] == "pain_nprs"
    assert "grip_strength_kg" not in codes  # strength is a separate claim (P5)
    assert all(c.startswith(("rom_", "mouth_")) for c in codes[1:])
    assert claim_measures(sim, Plan().with_(secondary_measures=["rom_slr_left"])) == ["pain_nprs", "rom_slr_left"]


def test_small_counts_never_appear_in_sentences():
    trajs = [[6, 3, 3]] * 15 + [[1, 0, 0]] * 3  # 3 unreachable: a count below 11
    res = evaluate_claims(pain_visits(trajs), Plan())
    sentence = claim_sentences(res).iloc[0]
    assert "<11 excluded: baseline too close" in sentence and "3 excluded" not in sentence
    tiny = claim_sentences(evaluate_claims(pain_visits([[6, 3, 3]] * 8), Plan())).iloc[0]
    assert "only <11 episodes" in tiny and "%" not in tiny


def test_sentences_are_generated_from_numbers(result):
    for row in result.claims.assign(sentence=claim_sentences(result)).itertuples():
        if row.n < 11:
            continue
        assert f"{100 * row.estimate:.0f}%" in row.sentence
        assert f"{100 * row.ci_low:.0f}% to {100 * row.ci_high:.0f}%" in row.sentence
        assert f"n = {row.n}" in row.sentence
        assert row.sentence.endswith(CAVEAT)
        assert (
            row.verdict.replace("_", " ") in row.sentence.replace("not supported", "not_supported").replace("_", " ")
            or row.verdict in row.sentence
        )


def test_change_at_k_reported_with_n(result):
    ch = result.change[result.change["measure"] == "pain_nprs"].set_index("statistic")
    assert {"mean", "median", "hodges_lehmann", "d_z"} <= set(ch.index)
    assert (ch["n"] > 0).all()
    assert (ch["ci_low"] <= ch["estimate"] + 1e-9).all() and (ch["estimate"] <= ch["ci_high"] + 1e-9).all()


def test_curve_is_monotone_and_within_bounds(result):
    for _, c in result.curves.groupby("id"):
        est = c["estimate"].to_numpy()
        assert np.all(np.diff(est) >= -1e-12)
        defined = c[c["ci_low"].notna()]  # the log-log interval is undefined where everyone improved (S = 0)
        assert (c.loc[c["ci_low"].isna(), "estimate"] == 1.0).all()
        assert (
            (defined["ci_low"] <= defined["estimate"] + 1e-12) & (defined["estimate"] <= defined["ci_high"] + 1e-12)
        ).all()
        assert c["time"].min() >= 2


def test_same_input_same_result(sim):
    a = evaluate_claims(sim, Plan()).claims
    b = evaluate_claims(sim.sample(frac=1.0, random_state=3), Plan()).claims  # row order must not matter
    pd.testing.assert_frame_equal(a, b)


def test_cli_claims_json_byte_identical(tmp_path, capsys):
    out1, out2 = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["claims", "--json", str(out1)]) == 0
    assert main(["claims", "--json", str(out2)]) == 0
    assert out1.read_bytes() == out2.read_bytes()
    doc = json.loads(out1.read_text())
    assert len(doc["plan"]["sha256"]) == 64 and len(doc["data"]["sha256"]) == 64
    assert doc["data"]["episodes"] == 400
    first = doc["claims"][0]
    for key in ("id", "measure", "k", "p0", "verdict", "estimate", "ci_low", "ci_high", "n", "n_excluded"):
        assert key in first
    printed = capsys.readouterr().out
    assert "pain_nprs" in printed and first["verdict"] in printed


def test_cli_claims_bad_plan_exits_1(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("k: 1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "outcomes.cli", "claims", "--plan", str(plan)], capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert "column k" in proc.stderr and "plan_k" in proc.stderr and "Traceback" not in proc.stderr


def _sparse(sim: pd.DataFrame) -> pd.DataFrame:
    """Cervical flexion never measured at visit 1; mouth opening in a single episode."""
    v = sim[~((sim["measure"] == "rom_cervical_flexion") & (sim["visit_number"] == 1))]
    one = v.loc[v["measure"] == "mouth_opening_mm", "episode_id"].iloc[0]
    return v[(v["measure"] != "mouth_opening_mm") | (v["episode_id"] == one)]


def test_a_measure_without_analysable_episodes_does_not_stop_the_others(sim):
    sparse = _sparse(sim)
    res = evaluate_claims(sparse, Plan())
    claims = res.claims.assign(sentence=claim_sentences(res)).set_index("measure")
    empty, single = claims.loc["rom_cervical_flexion"], claims.loc["mouth_opening_mm"]
    assert (empty["n"], single["n"]) == (0, 1)
    assert empty["verdict"] == single["verdict"] == "inconclusive"
    assert np.isnan(empty["estimate"]) and np.isnan(empty["p_value"])
    assert "no episode could be analysed" in empty["sentence"] and "no baseline" in empty["sentence"]
    change = res.change[res.change["measure"] == "rom_cervical_flexion"]
    assert change["estimate"].isna().all() and (change["n"] == 0).all()
    assert res.curves[res.curves["measure"] == "rom_cervical_flexion"].empty
    # A NaN p-value stays out of the Holm family: every other claim is as if the measure were absent.
    # (The single episode is a claim tested on n = 1: estimate 1, 90% CI 0.05 to 1, in the family.)
    others = claims.drop(index=["rom_cervical_flexion"])
    reference = evaluate_claims(sparse[sparse["measure"] != "rom_cervical_flexion"], Plan()).claims.set_index("measure")
    pd.testing.assert_frame_equal(others[reference.columns], reference.loc[others.index])


def test_cli_claims_on_sparse_measures_exits_0(sim, tmp_path):
    path = tmp_path / "v.csv"
    _sparse(sim).drop(columns=["row"], errors="ignore").to_csv(path, index=False)
    assert main(["claims", str(path), "--json", str(tmp_path / "r.json")]) == 0
    doc = json.loads((tmp_path / "r.json").read_text())
    flexion = [c for c in doc["claims"] if c["measure"] == "rom_cervical_flexion"]
    assert flexion and flexion[0]["estimate"] is None and flexion[0]["verdict"] == "inconclusive"


def test_disclosed_result_hides_small_cells_and_keeps_large_ones():
    trajs = [[6, 3, 3]] * 20 + [[6, 6, 6]] * 14 + [[6]] * 4  # 4 leave after the baseline
    res = evaluate_claims(pain_visits(trajs), ONCE)  # three visits: a sustained event by 3 needs a fourth
    shown = res.disclosed()
    claim = shown.claims.iloc[0]
    assert claim["n"] == 38 and claim["estimate"] == res.claims.iloc[0]["estimate"] and not claim["suppressed"]
    change = shown.change.iloc[0]
    # 34 measured at visit 3 + 4 not measured = 38 (published): the 4 and, to protect it, the 34 are hidden
    assert pd.isna(change["n_not_measured_at_k"]) and pd.isna(change["n"]) and change["n_text"] == "*"
    assert np.isfinite(change["estimate"])  # the estimate itself is from 34 episodes: shown
    raw = evaluate_claims(pain_visits([[6, 3, 3]] * 6 + [[6, 6, 6]] * 3), ONCE)
    small = raw.disclosed()
    assert small.claims.iloc[0]["verdict"] == "suppressed" and small.sensitivity["estimate"].isna().all()
    sentence = claim_sentences(raw, shown=small.claims).iloc[0]
    assert "9" not in sentence and "too few episodes" in sentence and small.medians["estimate"].isna().all()


def test_a_small_sensitivity_analysis_is_named_not_quoted():
    # 14 improve at visit 2 and leave, 10 leave after the baseline, 6 attend visit 3 unimproved:
    # Kaplan-Meier 70% (n = 30) but the completers analysis (n = 6) says 0%, not supported
    trajs = [[6, 3]] * 14 + [[6]] * 10 + [[6, 6, 6]] * 6
    res = evaluate_claims(pain_visits(trajs), ONCE)
    sens = res.sensitivity.set_index("analysis")
    assert sens.loc["completers", "n"] == 6 and sens.loc["completers", "verdict"] != res.claims.iloc[0]["verdict"]
    sentence = claim_sentences(res).iloc[0]
    assert "only episodes still attending at visit 3: fewer than 11 episodes" in sentence
    assert "attending at visit 3: 0%" not in sentence


def test_dropouts_are_counted_by_discharge_reason(tmp_path, capsys):
    # 12 attend to visit 5 improving; 14 stop after visit 2 (status at visit 3 unknown): 11 with
    # "no_improvement", 3 with nothing recorded
    trajs = [[6, 3, 3, 3, 3]] * 12 + [[6, 6]] * 14
    v = pain_visits(trajs)
    reasons = ["goals_met"] * 12 + ["no_improvement"] * 11 + [None] * 3
    v["discharge_reason"] = pd.array([reasons[int(e[1:])] for e in v["episode_id"]], dtype="str")
    claim = evaluate_claims(v, Plan()).claims.iloc[0]
    assert claim["n_censored_before_k"] == 14
    assert (claim["n_stopped_no_improvement"], claim["n_stopped_not_recorded"], claim["n_stopped_goals_met"]) == (
        11,
        3,
        0,
    )
    shown = evaluate_claims(v, Plan()).disclosed().claims.iloc[0]
    # 3 is a small cell, and the total 14 is published: 11 is hidden too
    assert pd.isna(shown["n_stopped_not_recorded"]) and pd.isna(shown["n_stopped_no_improvement"])
    assert shown["n_censored_before_k"] == 14 and shown["n_stopped_goals_met"] == 0
    path = tmp_path / "v.csv"
    v.drop(columns=["visit_number"]).assign(visit_day=v["visit_number"] * 3 - 3).to_csv(path, index=False)
    assert main(["validate", str(path)]) == 0  # the column passes the identifier check and the contract
