"""Array-based episode summaries and claim count tables equal their plain pandas definitions.

``summarize_episodes`` and ``claims.claim_counts`` work on integer codes with a fast path
for the canonical row order (``load_visits``); these tests check both paths and the
MCID-variant tables against the definitions written with public functions only.
"""

import numpy as np
import pandas as pd
import pytest

from outcomes.claims.improvement import STOPPED_COLUMNS, _variants, claim_counts, claim_measures
from outcomes.episodes.core import change_at_visit, measure_changes, summarize_episodes
from outcomes.ingest.synth import SynthParams, simulate_visits
from outcomes.spec.contract import DISCHARGE_REASONS
from outcomes.spec.plan import Plan
from outcomes.stats import km_counts


@pytest.fixture(scope="module")
def sim():
    return simulate_visits(SynthParams(n_episodes=400), seed=5).visits


def _km(summary, code, analysis):
    inc = summary[summary["status"] == "included"]
    times, n_event, n_censor = km_counts(inc["time"].to_numpy(), inc["event"].to_numpy())
    return pd.DataFrame(
        {
            "measure": code,
            "analysis": analysis,
            "time": times.astype(np.int64),
            "n_event": n_event.astype(np.int64),
            "n_censor": n_censor.astype(np.int64),
        }
    )


_SHARES = ("measure", "n_included", "n_improved_by_k", "n_completers", "n_completers_improved", *STOPPED_COLUMNS)


def _stopped(inc, k):
    """Episodes censored before k (status at k unknown) by discharge_reason, from the summary frame."""
    stopped = inc[~inc["event"] & (inc["time"] < k)]
    reason = stopped["discharge_reason"] if "discharge_reason" in stopped else pd.Series(pd.NA, index=stopped.index)
    out = {f"n_stopped_{r}": [int((reason == r).sum())] for r in DISCHARGE_REASONS}
    out["n_stopped_not_recorded"] = [int(reason.isna().sum())]
    return out


def reference_counts(visits, plan, codes):
    """The count tables by their definition: summaries (one per MCID variant), merges, groupbys."""
    event = plan.improvement_event
    other = "once" if event == "sustained" else "sustained"
    summaries = summarize_episodes(visits, plan.registry, measures=codes, event=event)
    others = summarize_episodes(visits, plan.registry, measures=codes, event=other)
    changes = measure_changes(visits, plan.registry, measures=codes)
    km, shares, change, excl = [], [], [], []
    k = plan.k
    for code in codes:
        summary = summaries[summaries["measure"] == code]
        inc = summary[summary["status"] == "included"]
        first = inc["first_improved"].to_numpy(dtype=float, na_value=np.inf)
        # the status at k of a sustained improvement is known at visit k + 1
        completers = inc["last_visit"].to_numpy() >= k + (event == "sustained")
        km.append(_km(summary, code, "kaplan_meier"))
        km.append(_km(others[others["measure"] == code], code, "met_once" if other == "once" else "sustained"))
        for name, variant in _variants(plan.measure(code)).items():
            reg = dict(plan.registry) | {code: variant}
            km.append(_km(summarize_episodes(visits, reg, measures=[code], event=event), code, name))
        shares.append(
            pd.DataFrame(
                {
                    "measure": [code],
                    "n_included": [len(inc)],
                    "n_improved_by_k": [(first <= k).sum()],
                    "n_completers": [completers.sum()],
                    "n_completers_improved": [(first[completers] <= k).sum()],
                    **_stopped(inc, k),
                }
            ).astype(dict.fromkeys(_SHARES[1:], np.int64))
        )
        at_k = change_at_visit(changes[changes["measure"] == code], k, summary)
        change.append(
            at_k.groupby(["gain", "baseline"], sort=True)
            .size()
            .rename("n")
            .reset_index()
            .assign(measure=code)[["measure", "gain", "baseline", "n"]]
        )
        excl.append(
            summary.loc[summary["status"] != "included", "status"]
            .value_counts()
            .rename_axis("reason")
            .reset_index(name="n")
            .assign(measure=code)[["measure", "reason", "n"]]
        )
    return {
        name: pd.concat(parts, ignore_index=True)
        for name, parts in dict(km=km, shares=shares, change=change, exclusions=excl).items()
    }


def assert_counts_equal(counts, expected):
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(getattr(counts, name), frame, check_exact=True)


def test_counts_equal_their_definition(sim):
    plan = Plan()
    codes = claim_measures(sim, plan)
    assert any(_variants(plan.measure(c)) for c in codes)  # the MCID-variant tables are exercised
    assert_counts_equal(claim_counts(sim, plan, codes), reference_counts(sim, plan, codes))


def test_counts_with_plan_overrides_and_another_k(sim):
    plan = Plan().with_(k=4)
    codes = claim_measures(sim, plan)
    assert_counts_equal(claim_counts(sim, plan), reference_counts(sim, plan, codes))


def test_row_order_and_string_storage_do_not_matter(sim):
    expected = summarize_episodes(sim)
    shuffled = sim.sample(frac=1.0, random_state=3)  # not in the canonical (episode, visit) order
    pd.testing.assert_frame_equal(summarize_episodes(shuffled), expected, check_exact=True)
    as_object = sim.astype(dict.fromkeys(("episode_id", "measure", "side"), object))  # no Arrow fast path
    got = summarize_episodes(as_object)
    pd.testing.assert_frame_equal(
        got.astype({c: expected[c].dtype for c in ("episode_id", "measure", "side")}), expected, check_exact=True
    )
    pd.testing.assert_frame_equal(
        measure_changes(shuffled)
        .sort_values(["episode_id", "measure", "side", "visit_number"], kind="stable")
        .reset_index(drop=True)[measure_changes(sim).columns],
        measure_changes(sim),
        check_exact=True,
    )
    plan = Plan()
    assert_counts_equal(claim_counts(shuffled, plan), reference_counts(sim, plan, claim_measures(sim, plan)))


def _visits(rows):
    frame = pd.DataFrame(rows, columns=["episode_id", "visit_number", "measure", "side", "value"])
    frame["patient_id"] = "P" + frame["episode_id"].str[1:]
    return frame


def test_sides_ties_and_missing_baselines():
    v = _visits(
        [
            # E1: equal baselines on both sides: the left side is kept
            ("E1", 1, "rom_shoulder_flexion", "left", 100),
            ("E1", 1, "rom_shoulder_flexion", "right", 100),
            ("E1", 2, "rom_shoulder_flexion", "right", 130),
            # E2: no baseline on the left: the right side is kept
            ("E2", 2, "rom_shoulder_flexion", "left", 50),
            ("E2", 1, "rom_shoulder_flexion", "right", 120),
            # E3: no baseline on either side: the left side, status no_baseline
            ("E3", 2, "rom_shoulder_flexion", "left", 50),
            ("E3", 2, "rom_shoulder_flexion", "right", 60),
            # E4: one side only
            ("E4", 1, "rom_shoulder_flexion", "right", 90),
            ("E4", 2, "rom_shoulder_flexion", "right", 120),
        ]
    )
    s = summarize_episodes(v).set_index("episode_id")
    assert s["side"].to_dict() == {"E1": "left", "E2": "right", "E3": "left", "E4": "right"}
    assert s.loc["E3", "status"] == "no_baseline" and s.loc["E3", "followup"] == 0
    assert bool(s.loc["E4", "event"]) and s.loc["E4", "time"] == 2


def test_empty_and_absent_measures_keep_columns_and_dtypes(sim):
    full = summarize_episodes(sim)
    empty = summarize_episodes(sim, measures=["not_a_measure"])
    assert len(empty) == 0
    pd.testing.assert_series_equal(empty.dtypes, full.dtypes)
    assert len(measure_changes(sim.iloc[:0])) == 0


def test_duplicated_baseline_is_refused():
    v = _visits([("E1", 1, "pain_nprs", "none", 5), ("E1", 1, "pain_nprs", "none", 6)])
    with pytest.raises(ValueError, match="more than one visit-1"):
        summarize_episodes(v)


def test_chunked_arrow_columns(sim):
    half = len(sim) // 2
    chunked = pd.concat([sim.iloc[:half], sim.iloc[half:]], ignore_index=True)  # Arrow columns of 2 chunks
    pd.testing.assert_frame_equal(summarize_episodes(chunked), summarize_episodes(sim), check_exact=True)
