"""Tests of the synthetic data generator (outcomes.ingest.synth)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from outcomes.errors import OutcomesError
from outcomes.ingest.synth import (
    CONDITION_MEASURES,
    SAMPLE_PARAMS,
    SynthParams,
    effect_for_share,
    simulate_visits,
    true_share_improved,
    true_soreness_share,
    write_sample,
    write_visits,
)
from outcomes.spec.contract import (
    AGE_BANDS,
    ALL_COLUMNS,
    CONDITIONS,
    SEXES,
    SIDES,
    SORENESS_MAX_HOURS,
    TREATMENTS,
    parse_treatment,
)
from outcomes.spec.measures import REGISTRY, get_measure

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "visits.csv"


@pytest.fixture(scope="module")
def sim():
    return simulate_visits(SynthParams(n_episodes=3000), seed=11)


@pytest.fixture(scope="module")
def complete():
    """No dropout, no missingness: every episode has all its planned visits."""
    return simulate_visits(
        SynthParams(n_episodes=20_000, dropout=0.0, dropout_informative=0.0, missing_rate=0.0), seed=5
    )


def _baseline_change(visits: pd.DataFrame, measure: str) -> pd.DataFrame:
    v = visits[visits["measure"] == measure]
    wide = v.pivot_table(index="episode_id", columns="visit_number", values="value", aggfunc="first")
    return wide


def test_same_seed_same_output_different_seed_differs():
    a = simulate_visits(SynthParams(n_episodes=200), seed=3)
    b = simulate_visits(SynthParams(n_episodes=200), seed=3)
    c = simulate_visits(SynthParams(n_episodes=200), seed=4)
    pd.testing.assert_frame_equal(a.visits, b.visits)
    pd.testing.assert_frame_equal(a.episodes, b.episodes)
    assert not a.visits["value"].equals(c.visits["value"])


def test_values_within_registry_bounds_and_rounded(sim):
    v = sim.visits
    bounds = v["measure"].map({c: (m.lower, m.upper) for c, m in REGISTRY.items()})
    assert v["value"].between(bounds.str[0], bounds.str[1]).all()
    assert v["value"].notna().all()
    grip = v["measure"] == "grip_strength_kg"
    assert np.allclose(v.loc[~grip, "value"], v.loc[~grip, "value"].round(0))
    assert np.allclose(v.loc[grip, "value"], v.loc[grip, "value"].round(1))
    assert v.loc[grip, "value"].mul(10).mod(10).ne(0).any()  # grip really has decimals
    base = v[(v["measure"] == "pain_nprs") & (v["visit_number"] == 1)]["value"]
    assert 5 <= base.mean() <= 7


def test_contract_vocabulary_and_types(sim):
    v = sim.visits
    assert set(v.columns) == set(ALL_COLUMNS)
    assert set(v["measure"]) <= set(REGISTRY)
    assert set(v["condition"]) == set(CONDITIONS)
    assert set(v["age_band"]) <= set(AGE_BANDS) and set(v["sex"]) <= set(SEXES)
    assert set(v["side"]) <= set(SIDES)
    codes = {c for t in v["treatment"].unique() for c in parse_treatment(t)}
    assert codes <= set(TREATMENTS)
    assert v["patient_id"].str.fullmatch(r"P\d{5}").all() and v["episode_id"].str.fullmatch(r"E\d{5}").all()
    sided = v["measure"].map({c: m.sided for c, m in REGISTRY.items()})
    assert v.loc[sided, "side"].isin(["left", "right"]).all()
    assert (v.loc[~sided, "side"] == "none").all()
    # the measures follow the condition
    allowed = {c: {"pain_nprs", *ms} for c, ms in CONDITION_MEASURES.items()}
    pairs = v[["condition", "measure"]].drop_duplicates()
    assert all(m in allowed[c] for c, m in pairs.itertuples(index=False))
    # episode constants and visit-level columns are constant where they must be
    constant = ["condition", "age_band", "sex", "patient_id"]
    assert (v.groupby("episode_id")[constant].nunique() == 1).all().all()
    per_visit = v.groupby(["episode_id", "visit_number"])
    assert (per_visit[["treatment", "visit_day"]].nunique() == 1).all().all()
    assert v["visit_day"].dtype == np.int64 and v["visit_number"].dtype == np.int64
    assert v["value"].dtype == np.float64 and v["twitch_response"].dtype == "boolean"
    needled = v["treatment"].str.contains("dry_needling")
    assert v.loc[~needled, "twitch_response"].isna().all() and v.loc[~needled, "soreness_hours"].isna().all()
    assert v.loc[needled, "twitch_response"].notna().all()
    sore = v.loc[needled, "soreness_hours"].dropna()
    assert sore.between(0, SORENESS_MAX_HOURS).all() and np.allclose(sore, sore.round(1))
    assert set(sim.episodes["treatment_group"]) == {
        "dry_needling",
        "dry_needling+exercise",
        "dry_needling+manual_therapy",
    }


def test_visit_days_start_at_zero_and_gaps_are_one_to_seven_days(sim):
    days = sim.visits[["episode_id", "visit_number", "visit_day"]].drop_duplicates()
    days = days.sort_values(["episode_id", "visit_number"])
    first = days.groupby("episode_id").first()
    assert (first["visit_day"] == 0).all() and (first["visit_number"] == 1).all()
    gaps = days.groupby("episode_id")["visit_day"].diff().dropna()
    assert gaps.between(1, 7).all() and gaps.nunique() > 3
    step = days.groupby("episode_id")["visit_number"].diff().dropna()
    assert (step == 1).all()
    n = days.groupby("episode_id").size()
    assert (n == sim.episodes.set_index("episode_id")["n_visits"].reindex(n.index)).all()
    assert n.max() <= SynthParams().max_visits


def test_dropout_and_missingness_rates_roughly_as_set():
    p = SynthParams(n_episodes=20_000, dropout=0.1, dropout_informative=0.0, missing_rate=0.05)
    s = simulate_visits(p, seed=2)
    ep = s.episodes
    # every episode plans >= 4 visits, so leaving after visit 1 happens with probability `dropout`
    assert abs((ep["n_visits"] == 1).mean() - 0.1) < 0.01
    slots = ep["condition"].map({c: 1 + len(ms) for c, ms in CONDITION_MEASURES.items()})
    expected_rows = int((slots * ep["n_visits"]).sum())
    assert abs(1 - len(s.visits) / expected_rows - 0.05) < 0.005
    # informative dropout: responders leave earlier than non-responders
    q = simulate_visits(replace(p, dropout_informative=0.4, missing_rate=0.0), seed=2).episodes
    by = q.groupby("responder")["dropped_out"].mean()
    assert by[True] > by[False] + 0.1
    assert abs(ep.groupby("responder")["dropped_out"].mean().diff().iloc[-1]) < 0.03


def test_effect_zero_means_no_systematic_improvement():
    p = SynthParams(n_episodes=20_000, effect=0.0, dropout=0.0, missing_rate=0.0)
    v = simulate_visits(p, seed=8).visits
    for measure, tol in (("pain_nprs", 0.05), ("rom_cervical_rotation_left", 0.5)):
        wide = _baseline_change(v, measure)
        change = (wide[4] - wide[1]).dropna()
        assert abs(change.mean()) < tol, measure
    # while the default effect clearly lowers pain
    wide = _baseline_change(simulate_visits(replace(p, effect=0.6), seed=8).visits, "pain_nprs")
    assert (wide[4] - wide[1]).mean() < -1.0


def test_truth_matches_share_computed_from_the_written_frame(complete):
    """Known answer: the complete-data frame's empirical share equals the Monte Carlo truth."""
    m = get_measure("pain_nprs")
    wide = _baseline_change(complete.visits, "pain_nprs")
    ok = m.reachable(wide[1].to_numpy())
    met = np.asarray(m.improvement(wide[[1]].to_numpy(), wide[[2, 3]].to_numpy())).any(axis=1)
    empirical = met[ok].mean()
    truth = true_share_improved(complete.params, k=3, n_mc=200_000, seed=1)
    se = np.sqrt(truth * (1 - truth) / ok.sum())
    assert abs(empirical - truth) < 4 * se


def test_sustained_truth_matches_the_written_frame(complete):
    """Known answer for the sustained event: met at visit j <= 3 and again at visit j + 1."""
    m = get_measure("pain_nprs")
    wide = _baseline_change(complete.visits, "pain_nprs")
    ok = m.reachable(wide[1].to_numpy())
    met = np.asarray(m.improvement(wide[[1]].to_numpy(), wide[[2, 3, 4]].to_numpy()))
    empirical = (met[:, :-1] & met[:, 1:]).any(axis=1)[ok].mean()
    truth = true_share_improved(complete.params, k=3, n_mc=200_000, seed=1, event="sustained")
    once = true_share_improved(complete.params, k=3, n_mc=200_000, seed=1)
    se = np.sqrt(truth * (1 - truth) / ok.sum())
    assert abs(empirical - truth) < 4 * se
    assert truth < once  # holding the improvement is a stricter event


def test_soreness_share_matches_truth(complete):
    sore = complete.visits.drop_duplicates(["episode_id", "visit_number"])["soreness_hours"].dropna()
    assert abs((sore <= 48).mean() - true_soreness_share(complete.params)) < 0.01


def test_true_share_monotone_in_effect_and_positive_under_null():
    shares = [true_share_improved(SynthParams(effect=e), n_mc=20_000, seed=4) for e in (0, 0.2, 0.4, 0.6, 0.8)]
    assert all(a < b for a, b in itertools.pairwise(shares))
    assert 0.01 < shares[0] < 0.15  # noise alone meets the rule sometimes
    rom = true_share_improved(SynthParams(effect=0.0), measure="mouth_opening_mm", n_mc=20_000, seed=4)
    assert 0.01 < rom < 0.15


def test_effect_for_share_hits_target():
    p = effect_for_share(0.5, k=4, n_mc=20_000, seed=9)
    assert abs(true_share_improved(p, k=4, n_mc=20_000, seed=9) - 0.5) <= 0.005
    assert p.responder_share == SynthParams().responder_share
    q = effect_for_share(0.3, k=3, n_mc=20_000, seed=9, vary="responder_share")
    assert abs(true_share_improved(q, k=3, n_mc=20_000, seed=9) - 0.3) <= 0.005
    assert q.effect == SynthParams().effect
    with pytest.raises(OutcomesError) as err:
        effect_for_share(0.001, n_mc=20_000, seed=9)  # below the noise-only share
    assert err.value.rules == ("synth_target",)


def test_invalid_params_and_arguments_raise_outcomes_error(tmp_path):
    with pytest.raises(OutcomesError):
        SynthParams(conditions=(("flu", 1.0),))
    with pytest.raises(OutcomesError):
        SynthParams(min_visits=8, max_visits=6)
    with pytest.raises(OutcomesError):
        true_share_improved(SynthParams(), k=1)
    with pytest.raises(OutcomesError):
        write_visits(simulate_visits(SynthParams(n_episodes=2), seed=1).visits, tmp_path / "v.xlsx")


def test_parquet_round_trip(tmp_path):
    v = simulate_visits(SynthParams(n_episodes=30), seed=1).visits
    write_visits(v, tmp_path / "v.parquet")
    back = pd.read_parquet(tmp_path / "v.parquet")
    assert back["value"].equals(v["value"]) and back["episode_id"].tolist() == v["episode_id"].tolist()


def test_sample_file_is_byte_reproducible_and_small(tmp_path):
    out = tmp_path / "visits.csv"
    write_sample(out)
    assert out.read_bytes() == SAMPLE.read_bytes()
    assert SAMPLE.stat().st_size < 1_000_000


def test_sample_exercises_every_feature():
    v = pd.read_csv(SAMPLE)
    per_condition = v.groupby("condition")["episode_id"].nunique()
    assert set(per_condition.index) == set(CONDITIONS)
    assert (per_condition >= 11).sum() >= 9 and (per_condition < 11).any()
    visits = v.groupby("episode_id")["visit_number"].max()
    assert (visits == 1).sum() >= 3
    baseline_pain = v[(v["measure"] == "pain_nprs") & (v["visit_number"] == 1)]["episode_id"]
    assert 1 <= v["episode_id"].nunique() - baseline_pain.nunique() <= 10
    assert "grip_strength_kg" in set(v["measure"])
    assert {"dry_needling", "dry_needling+exercise"} <= set(v["treatment"])
    assert v["twitch_response"].nunique() == 2 and v["soreness_hours"].notna().any()
    assert v["patient_id"].nunique() < v["episode_id"].nunique()  # some returning patients


def test_sample_readme_states_the_true_share():
    text = (ROOT / "data" / "sample" / "README.md").read_text()
    truth = true_share_improved(SAMPLE_PARAMS, k=3, n_mc=200_000, seed=0)
    assert f"| all episodes | {true_share_improved(SAMPLE_PARAMS, k=2, seed=0):.3f} | {truth:.3f} |" in text
    assert "20261201" in text and "synthetic" in text
