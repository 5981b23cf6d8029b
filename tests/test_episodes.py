"""Episode summaries: hand-worked cases for every definition in outcomes.episodes.core."""

import numpy as np
import pandas as pd
import pytest

from outcomes.episodes.core import change_at_visit, measure_changes, summarize_episodes
from outcomes.spec.measures import build_registry


def visits(rows):
    frame = pd.DataFrame(rows, columns=["episode_id", "visit_number", "measure", "side", "value"])
    frame["patient_id"] = "P" + frame["episode_id"].str[1:]
    return frame


def one(summary, episode, measure="pain_nprs"):
    return summary[(summary["episode_id"] == episode) & (summary["measure"] == measure)].iloc[0]


@pytest.fixture
def example():
    return visits(
        [
            # E1: 6 -> 5 -> 3: 3 points and 50% at visit 3 -> event at 3
            ("E1", 1, "pain_nprs", "none", 6),
            ("E1", 2, "pain_nprs", "none", 5),
            ("E1", 3, "pain_nprs", "none", 3),
            # E2: 10 -> 8 (2 points but only 20%) -> 7 (30%) -> event at 3
            ("E2", 1, "pain_nprs", "none", 10),
            ("E2", 2, "pain_nprs", "none", 8),
            ("E2", 3, "pain_nprs", "none", 7),
            # E3: no baseline pain (only a ROM measurement at visit 1)
            ("E3", 1, "rom_slr_left", "none", 50),
            ("E3", 2, "pain_nprs", "none", 4),
            # E4: baseline 1 -> cannot drop 2 points
            ("E4", 1, "pain_nprs", "none", 1),
            ("E4", 2, "pain_nprs", "none", 0),
            # E5: pain missing at visit 2; improves at 3 -> censored at 1 (interval-censored event)
            ("E5", 1, "pain_nprs", "none", 7),
            ("E5", 2, "rom_slr_left", "none", 40),
            ("E5", 3, "pain_nprs", "none", 2),
            # E6: single visit
            ("E6", 1, "pain_nprs", "none", 5),
            # E7: never improves over 4 visits
            ("E7", 1, "pain_nprs", "none", 5),
            ("E7", 2, "pain_nprs", "none", 5),
            ("E7", 3, "pain_nprs", "none", 4),
            ("E7", 4, "pain_nprs", "none", 5),
        ]
    )


def test_summary_definitions(example):
    s = summarize_episodes(example, measures=["pain_nprs"])
    assert len(s) == 7  # one row per episode with any pain measurement
    e1, e2, e3, e4, e5, e6, e7 = (one(s, f"E{i}") for i in range(1, 8))
    assert (e1.event, e1.time, e1.first_improved, e1.followup) == (True, 3, 3, 3)
    assert (e2.event, e2.time) == (True, 3)
    assert e3.status == "no_baseline" and np.isnan(e3.baseline)
    assert e4.status == "threshold_unreachable" and not e4.event
    assert (e5.first_improved, e5.followup, e5.event, e5.time) == (3, 1, False, 1)
    assert (e6.followup, e6.event, e6.time, e6.last_visit) == (1, False, 1, 1)
    assert (e7.event, e7.time, e7.status) == (False, 4, "included")
    assert pd.isna(e7.first_improved)


def test_changes_and_gain_direction(example):
    c = measure_changes(example)
    e1 = c[(c["episode_id"] == "E1") & (c["visit_number"] == 3)].iloc[0]
    assert (e1["change"], e1["gain"], e1["pct_change"]) == (-3.0, 3.0, -50.0)
    rom = c[(c["episode_id"] == "E3") & (c["measure"] == "rom_slr_left")]
    assert rom["gain"].tolist() == [0.0]
    # zero baseline: percent change undefined, not infinite
    z = measure_changes(visits([("E9", 1, "pain_nprs", "none", 0), ("E9", 2, "pain_nprs", "none", 0)]))
    assert z["pct_change"].isna().all()


def test_change_at_visit_uses_included_episodes_only(example):
    changes = measure_changes(example, measures=["pain_nprs"])
    s = summarize_episodes(example, measures=["pain_nprs"])
    at3 = change_at_visit(changes, 3, s)
    assert sorted(at3["episode_id"]) == ["E1", "E2", "E5", "E7"]


def test_sided_measure_keeps_the_worse_side():
    v = visits(
        [
            ("E1", 1, "rom_shoulder_flexion", "left", 150),
            ("E1", 2, "rom_shoulder_flexion", "left", 170),
            ("E1", 1, "rom_shoulder_flexion", "right", 100),
            ("E1", 2, "rom_shoulder_flexion", "right", 105),
        ]
    )
    s = summarize_episodes(v)
    assert len(s) == 1 and s.loc[0, "side"] == "right" and not s.loc[0, "event"]


def test_registry_override_changes_the_rule(example):
    reg = build_registry({"pain_nprs": {"threshold_abs": 1.0, "threshold_rel": None}})
    s = summarize_episodes(example, reg, measures=["pain_nprs"])
    assert one(s, "E7").event and one(s, "E7").time == 3  # 5 -> 4 is now enough
    assert one(s, "E4").status == "included"  # 1 -> 0 is now reachable


def test_vectorised_matches_naive_loop():
    rng = np.random.default_rng(7)
    rows = []
    for e in range(300):
        n = rng.integers(1, 9)
        for v in range(1, n + 1):
            if v > 1 and rng.random() < 0.15:
                continue
            rows.append((f"E{e:03d}", v, "pain_nprs", "none", float(rng.integers(0, 11))))
    frame = visits(rows)
    s = summarize_episodes(frame).set_index("episode_id")
    nprs_rule = lambda b, x: (b - x >= 2) and (b - x >= 0.3 * b)
    for ep, g in frame.groupby("episode_id"):
        vals = dict(zip(g["visit_number"], g["value"]))
        row = s.loc[ep]
        if 1 not in vals:
            assert row["status"] == "no_baseline"
            continue
        follow = 1
        while follow + 1 in vals:
            follow += 1
        firsts = [v for v in sorted(vals) if nprs_rule(vals[1], vals[v])]
        assert row["followup"] == follow
        assert (pd.isna(row["first_improved"]) and not firsts) or row["first_improved"] == firsts[0]
        if row["status"] == "included":
            event = bool(firsts) and firsts[0] <= follow
            assert row["event"] == event
            assert row["time"] == (firsts[0] if event else follow)
