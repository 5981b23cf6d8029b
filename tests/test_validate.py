"""outcomes.ingest.rules / outcomes.ingest.visits: canonical frame, defaults, grouping, docs in sync, speed."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import outcomes
from outcomes import LoadedVisits, load_visits
from outcomes.errors import OutcomesError
from outcomes.ingest.records import READ_RULES, read_records
from outcomes.ingest.rules import EXCLUSION_RULES, FATAL_RULES, VISIT_COLUMNS, validate_records
from outcomes.spec.contract import AGE_BANDS, ALL_COLUMNS, CONDITIONS, SEXES, SIDES, TREATMENTS
from outcomes.spec.measures import build_registry

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "outcomes"
DOC = (ROOT / "docs" / "data-contract.md").read_text()


def _frame(**cols):
    base = {
        "patient_id": ["P2", "P1", "P1", "P1"],
        "visit_day": ["0", "10", "0", "3"],
        "measure": "pain_nprs",
        "value": ["5", "2", "7", "4"],
    }
    base.update(cols)
    return pd.DataFrame(base)


def _load(frame, **kw):
    return load_visits(frame, phi_guard=False, **kw)


def _error(frame) -> OutcomesError:
    with pytest.raises(OutcomesError) as exc:
        _load(frame)
    return exc.value


def test_package_exports():
    assert {"load_visits", "LoadedVisits"} <= set(outcomes.__all__)


def test_canonical_columns_dtypes_and_order():
    v = _load(_frame()).visits
    assert tuple(v.columns) == VISIT_COLUMNS
    assert v["visit_day"].dtype == np.int64 and v["visit_number"].dtype == np.int64
    assert v["value"].dtype == np.float64 and v["row"].dtype == np.int64
    assert v["twitch_response"].dtype == "boolean" and v["soreness_hours"].dtype == np.float64
    for c in ("patient_id", "episode_id", "measure", "side", "condition", "treatment", "age_band", "sex"):
        assert pd.api.types.is_string_dtype(v[c].dtype), c
    assert v[["episode_id", "visit_number", "value", "row"]].values.tolist() == [
        ["P1", 1, 7.0, 4],
        ["P1", 2, 4.0, 5],
        ["P1", 3, 2.0, 3],
        ["P2", 1, 5.0, 2],
    ]
    assert v["condition"].isna().all() and (v["side"] == "none").all()


def test_defaults_episode_side_and_visit_number():
    frame = _frame(episode_id=["", "E2", "E1", "E1"], visit_day=["0", "0", "0", "3"])
    v = _load(frame).visits
    assert v[["patient_id", "episode_id", "visit_number"]].values.tolist() == [
        ["P1", "E1", 1],
        ["P1", "E1", 2],
        ["P1", "E2", 1],
        ["P2", "P2", 1],
    ]


def test_given_visit_numbers_kept_with_gaps_and_filled_within_a_visit():
    frame = pd.DataFrame(
        {
            "patient_id": "P1",
            "visit_day": ["0", "0", "9"],
            "visit_number": ["1", "", "4"],
            "measure": ["pain_nprs", "rom_cervical_flexion", "pain_nprs"],
            "value": ["6", "40", "3"],
        }
    )
    assert _load(frame).visits["visit_number"].tolist() == [1, 1, 4]


def test_visit_numbers_must_start_at_one():
    err = _error(_frame(visit_number=["1", "4", "2", "3"]))
    assert err.rules == ("visit_number_consistent",) and err.problems[0].rows == (3, 4, 5)
    err = _error(_frame(visit_number=["1", "3", "2", "2"]))  # two days, one number
    assert err.rules == ("visit_number_consistent",)


def test_episode_and_visit_attributes_filled_from_their_group():
    frame = _frame(
        condition=["tmd", "", "neck_pain", ""],
        visit_day=["0", "3", "0", "3"],
        measure=["pain_nprs", "pain_nprs", "pain_nprs", "rom_cervical_flexion"],
        treatment=["", "exercise+dry_needling", "", ""],
        twitch_response=["", "YES", "no", ""],
        soreness_hours=["", "", "", "24"],
    )
    v = _load(frame).visits.set_index("row")
    assert v.loc[[3, 5], "condition"].tolist() == ["neck_pain", "neck_pain"]
    assert v.loc[[3, 5], "treatment"].tolist() == ["dry_needling+exercise"] * 2
    assert v.loc[[3, 5], "twitch_response"].tolist() == [True, True]
    assert v.loc[[3, 5], "soreness_hours"].tolist() == [24.0, 24.0]
    assert v.loc[4, "twitch_response"] is False or v.loc[4, "twitch_response"] == False  # noqa: E712
    assert pd.isna(v.loc[2, "treatment"])


def test_twitch_accepts_booleans_case_insensitively():
    words = ["TRUE", "False", "yes", "No"]
    v = _load(_frame(twitch_response=words, visit_day=["0", "0", "3", "7"])).visits.set_index("row")
    assert v.loc[[2, 3, 4, 5], "twitch_response"].tolist() == [True, False, True, False]


def test_many_rows_breaking_one_rule_are_one_problem():
    n = 500
    frame = pd.DataFrame(
        {"patient_id": [f"P{i}" for i in range(n)], "visit_day": "0", "measure": "pain_nprs", "value": "12"}
    )
    err = _error(frame)
    assert len(err.problems) == 1 and len(err.problems[0].rows) == n
    assert "(+492 more)" in str(err)


def test_headline_counts_problems():
    err = _error(_frame(value=["11", "x", "-1", "5"]))
    assert err.headline == "<DataFrame> does not meet the data contract (2 problems):"
    assert err.rules == ("value_numeric", "value_in_bounds")


def test_identifiers_and_free_text_never_echoed():
    secret = "Zaphod Beeblebrox"
    err = _error(
        _frame(
            measure=["pain_nprs", secret, "pain_nprs", "pain_nprs"],
            sex=["female", secret, "female", "female"],
            patient_id=["Q77", "Q77", "", "Q77"],
        )
    )
    text = str(err)
    assert secret not in text and "Q77" not in text
    assert set(err.rules) == {"required_present", "measure_registered", "sex_code"}


def test_unknown_codes_counted_never_quoted():
    err = _error(
        _frame(
            condition=["neck_painn", "Maria Lopez", "neck_pain", "neck_pain"],
            side=["Left", "", "", ""],
            measure=["pain_nprs", "pain_nprs", "pain_nprs", "pain_nprss"],
        )
    )
    text = str(err)
    for cell in ("neck_painn", "Maria", "Lopez", "Left", "pain_nprss"):
        assert cell not in text, cell
    condition = next(p for p in err.problems if p.rule == "condition_code")
    assert condition.rows == (2, 3)
    assert "2 distinct values not allowed; did you mean 'neck_pain' (row 2)?" in condition.message
    assert "did you mean 'pain_nprs' (row 5)?" in text and "did you mean 'left' (row 2)?" in text


def test_bounds_message_says_below_or_above_not_the_value():
    err = _error(_frame(value=["-3", "12", "17", "4"]))
    assert err.problems[0].message.endswith("3 values outside: 1 below, 2 above")
    assert "17" not in str(err) and "-3" not in str(err)


@pytest.mark.parametrize("day", [2**64, 2**63, 2**63 - 1, 10**30, 1e30, np.uint64(2**64 - 1)])
def test_days_beyond_int64_in_a_frame_refused(day):
    err = _error(_frame(visit_day=pd.Series([0, day, 0, 3], dtype=object)))
    assert err.rules == ("visit_day_range",) and err.problems[0].rows == (3,)


@pytest.mark.parametrize("cell", ["inf", "-inf", "nan", "NaN", "1e400", "-1e400", "Infinity"])
def test_non_finite_values_refused(cell):
    assert _error(_frame(value=["5", cell, "7", "4"])).rules == ("value_finite",)
    err = _error(_frame(soreness_hours=["", cell, "", ""]))
    assert err.rules == ("soreness_in_bounds",) and err.problems[0].rows == (3,)


def test_largest_allowed_day_and_visit_number_load():
    frame = _frame(visit_day=["0", "36525", "0", "3"], visit_number=["1", "10000", "1", "2"])
    v = _load(frame).visits
    assert v["visit_day"].max() == 36525 and v["visit_number"].max() == 10000
    err = _error(_frame(visit_day=["0", "36526", "0", "3"], visit_number=["1", "10001", "1", "2"]))
    assert set(err.rules) == {"visit_day_range", "visit_number_range"}


def test_unknown_columns_ignored_and_recorded():
    loaded = _load(_frame(notes=["a", "b", "c", "d"]))
    assert "notes" not in loaded.visits.columns
    assert loaded.exclusions[["row", "column", "rule"]].values.tolist() == [[1, "notes", "unknown_column"]]


def test_exact_duplicate_is_judged_after_parsing():
    loaded = _load(
        _frame(value=["5", "2", "7", "4"]).pipe(
            lambda f: pd.concat([f, f.iloc[[1]].assign(value="2.0", visit_day=" 10")], ignore_index=True)
        )
    )
    assert loaded.exclusions[["row", "rule"]].values.tolist() == [[6, "exact_duplicate"]]


def test_registry_override_changes_bounds():
    reg = build_registry({"pain_nprs": {"upper": 20.0}})
    frame = _frame(value=["15", "2", "7", "4"])
    assert _error(frame).rules == ("value_in_bounds",)
    assert _load(frame, registry=reg).visits["value"].max() == 15.0


def test_validate_records_is_the_same_as_load_visits():
    raw = read_records(_frame())
    a = validate_records(raw)
    assert isinstance(a, LoadedVisits)
    pd.testing.assert_frame_equal(a.visits, _load(_frame()).visits)


def test_describe_and_counts():
    loaded = _load(_frame(value=["5", "", "7", "4"]))
    assert (loaded.n_patients, loaded.n_episodes, loaded.n_visits, loaded.measures) == (2, 2, 3, ("pain_nprs",))
    text = loaded.describe()
    assert "patients: 2" in text and "pain_nprs  3" in text and "value_missing  1" in text


# --- documentation and code agree ---------------------------------------------------------------


def _doc_table_rules(heading: str) -> list[str]:
    section = DOC.split(heading, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z0-9_]+)` \|", section, flags=re.M)


def test_doc_lists_exactly_the_rules_in_code():
    assert _doc_table_rules("## Refused while reading") == list(READ_RULES)
    assert _doc_table_rules("## Contract rules: FATAL") == list(FATAL_RULES)
    assert _doc_table_rules("## EXCLUDED") == list(EXCLUSION_RULES)


def test_every_rule_used_in_code_is_declared():
    src = (SRC / "ingest" / "records.py").read_text() + (SRC / "ingest" / "rules.py").read_text()
    declared = set(READ_RULES) | set(FATAL_RULES) | set(EXCLUSION_RULES)
    raised = set(re.findall(r'(?:flag|add|_fail)\(\s*"([a-z0-9_]+)"', src))
    raised |= set(re.findall(r'"([a-z_]+_constant)"', src))
    assert raised <= declared
    literals = set(re.findall(r'"([a-z0-9_]+)"', src))
    literals |= {f"{c}_code" for c in ("condition", "age_band", "sex")}  # built as f"{name}_code"
    assert declared <= literals


def test_doc_vocabularies_match_contract():
    def listed(label):
        line = re.search(rf"^- `{label}`[^:]*:(.*?)(?=^- |^$)", DOC, flags=re.M | re.S).group(1)
        return re.findall(r"`([^`]+)`", line)

    assert listed("condition") == list(CONDITIONS)
    assert listed("treatment") == list(TREATMENTS)
    assert listed("age_band") == list(AGE_BANDS)
    assert listed("sex") == list(SEXES)
    assert listed("side") == list(SIDES)
    table = re.findall(r"^\| `([a-z_]+)` \| (?:yes|no) \|", DOC, flags=re.M)
    assert table == list(ALL_COLUMNS)


# --- speed ---------------------------------------------------------------------------------------


def _big(n_episodes: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    visits = 5
    ep = np.repeat(np.arange(n_episodes), visits * 2)
    day = np.tile(np.repeat(np.arange(visits) * 7, 2), n_episodes)
    measure = np.tile(["pain_nprs", "rom_cervical_flexion"], n_episodes * visits)
    value = np.where(measure == "pain_nprs", rng.integers(0, 11, len(ep)), rng.integers(20, 80, len(ep)))
    return pd.DataFrame(
        {
            "patient_id": pd.Series(ep).astype("str").radd("P"),
            "visit_day": day.astype(str),
            "measure": measure,
            "value": value.astype(str),
            "condition": "neck_pain",
            "treatment": "dry_needling",
            "twitch_response": "yes",
        }
    )


def test_hundred_thousand_rows_load():
    # Timings are measured in benchmarks/run.py, never asserted in tests.
    loaded = _load(_big(10_000))
    assert len(loaded.visits) == 100_000 and loaded.n_visits == 50_000


@pytest.mark.slow
def test_million_rows_csv(tmp_path):
    path = tmp_path / "big.csv"
    _big(100_000).to_csv(path, index=False)
    loaded = _load(path)
    assert len(loaded.visits) == 1_000_000
