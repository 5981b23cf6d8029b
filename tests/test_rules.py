"""outcomes.ingest.rules as named rules, and the named settings of issue 19 item 3.

Every contract rule is a function declared in ``CELL_RULES`` / ``TABLE_RULES`` with the rule ids it
raises: these tests run the rules one by one on inputs that break each id and check that the rule
declaring an id is the one raising it, that every declared id is raised, documented in its function's
docstring and in docs/data-contract.md, and that problems come out in the declared order.  Then the
soreness windows and the exact-test cut-off: one named constant each, used the same way everywhere.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from outcomes.errors import OutcomesError
from outcomes.ingest import rules
from outcomes.ingest.records import read_records
from outcomes.ingest.rules import (
    CELL_RULES,
    CONTRACT_RULES,
    EXCLUSION_RULES,
    FATAL_RULES,
    TABLE_RULES,
    ContractRule,
    RuleState,
    validate_records,
)
from outcomes.safety.limits import current_limits
from outcomes.spec.contract import SORENESS_MAX_HOURS, SORENESS_RESOLVED_HOURS
from outcomes.spec.measures import REGISTRY
from outcomes.spec.plan_schema import SorenessSettings, default_other_claims, plan_problems
from outcomes.stats.paired import EXACT_BELOW_N, hodges_lehmann, paired_change

DOC = (Path(__file__).resolve().parents[1] / "docs" / "data-contract.md").read_text()


def _frame(**cols: object) -> pd.DataFrame:
    base: dict[str, object] = {
        "patient_id": ["P1", "P1", "P2"],
        "visit_day": ["0", "3", "0"],
        "measure": "pain_nprs",
        "value": ["5", "4", "6"],
    }
    base.update(cols)
    return pd.DataFrame(base)


def _run(frame: pd.DataFrame) -> tuple[dict[str, list[str]], dict[str, set[str]]]:
    """Run the declared rules one by one as validate_records does: the problem ids and the exclusion
    rules each rule added, by rule name."""
    state = RuleState(read_records(frame), REGISTRY, current_limits())
    raised: dict[str, list[str]] = {}
    noted: dict[str, set[str]] = {}
    for rule in CONTRACT_RULES:
        before, notes = len(state.found.items), len(state.excluded)
        try:
            rule.check(state)
        except OutcomesError:  # a rule that stops loading (no data rows)
            raised[rule.name] = [p.rule for p in state.found.items[before:]]
            break
        raised[rule.name] = [p.rule for p in state.found.items[before:]]
        noted[rule.name] = {r for f in state.excluded[notes:] for r in f["rule"]}
    return raised, noted


def _two_measures(**cols: object) -> pd.DataFrame:
    """Two measures at each visit of P1 (so that visit attributes can disagree within a visit)."""
    return pd.DataFrame(
        {
            "patient_id": ["P1", "P1", "P1"],
            "visit_day": ["0", "0", "3"],
            "measure": ["pain_nprs", "rom_cervical_flexion", "pain_nprs"],
            "value": ["5", "40", "4"],
            **cols,
        }
    )


#: (rule name, rule id, an input breaking that id and no other rule)
CASES: list[tuple[str, str, pd.DataFrame]] = [
    ("columns", "required_columns", _frame().drop(columns="visit_day")),
    ("rows", "has_data_rows", _frame().iloc[:0]),
    ("identifiers", "required_present", _frame(patient_id=["P1", "", "P2"])),
    ("identifiers", "episode_single_patient", _frame(episode_id=["E1", "E1", "E1"])),
    ("measures", "required_present", _frame(measure=["pain_nprs", "", "pain_nprs"])),
    ("measures", "measure_registered", _frame(measure=["pain_nprs", "pain_nprss", "pain_nprs"])),
    ("values", "value_numeric", _frame(value=["5", "4,5", "6"])),
    ("values", "value_finite", _frame(value=["5", "inf", "6"])),
    ("value_bounds", "value_in_bounds", _frame(value=["5", "11", "6"])),
    ("visit_days", "required_present", _frame(visit_day=["0", "", "0"])),
    ("visit_days", "visit_day_integer", _frame(visit_day=["0", "3.5", "0"])),
    ("visit_days", "visit_day_nonnegative", _frame(visit_day=["0", "-3", "0"])),
    ("visit_days", "visit_day_range", _frame(visit_day=["0", "40000", "0"])),
    ("first_visit_day", "first_visit_day_zero", _frame(visit_day=["0", "3", "2"])),
    ("visit_numbers", "visit_number_integer", _frame(visit_number=["1", "0", "1"])),
    ("visit_numbers", "visit_number_range", _frame(visit_number=["1", "10001", "1"])),
    ("visit_numbers", "visit_number_consistent", _frame(visit_number=["2", "3", "1"])),
    ("sides", "side_valid", _frame(side=["Left", "", ""])),
    ("episode_codes", "condition_code", _frame(condition=["neck_pain", "neck_pian", "tmd"])),
    ("episode_codes", "age_band_code", _frame(age_band=["30-39", "30-39", "17"])),
    ("episode_codes", "sex_code", _frame(sex=["female", "female", "F"])),
    ("episode_codes", "discharge_reason_code", _frame(discharge_reason=["goals_met", "goals_met", "better"])),
    ("treatments", "treatment_code", _frame(treatment=["exercise", "needles", ""])),
    ("twitch", "twitch_response_boolean", _frame(twitch_response=["yes", "maybe", ""])),
    ("soreness", "soreness_numeric", _frame(soreness_hours=["12", "a day", ""])),
    ("soreness", "soreness_in_bounds", _frame(soreness_hours=["12", "400", ""])),
    ("episode_constant", "episode_constant", _frame(condition=["tmd", "neck_pain", "tmd"])),
    ("visit_constant", "visit_constant", _two_measures(treatment=["exercise", "dry_needling", ""])),
    ("duplicates", "duplicate_conflict", _frame(patient_id="P1", visit_day=["0", "3", "0"], value=["5", "4", "6"])),
    ("measurements_left", "has_data_rows", _frame(value="")),
]


def test_the_registry_declares_exactly_the_fatal_rules_in_order() -> None:
    assert CONTRACT_RULES == CELL_RULES + TABLE_RULES
    assert all(isinstance(rule, ContractRule) for rule in CONTRACT_RULES)
    assert len({rule.name for rule in CONTRACT_RULES}) == len(CONTRACT_RULES)
    first_seen = list(dict.fromkeys(r for rule in CONTRACT_RULES for r in rule.raises))
    assert first_seen == list(FATAL_RULES)
    assert len(FATAL_RULES) == 27 and FATAL_RULES[0] == "required_columns" and FATAL_RULES[-1] == "duplicate_conflict"
    excludes = {r for rule in CONTRACT_RULES for r in rule.excludes}
    assert excludes == set(EXCLUSION_RULES) - {"blank_row", "blank_column"}  # those two are the reader's


@pytest.mark.parametrize("rule", CONTRACT_RULES, ids=[r.name for r in CONTRACT_RULES])
def test_every_rule_is_one_documented_function(rule: ContractRule) -> None:
    assert rule.check.__name__ == f"_{rule.name}" and rule.check.__module__ == rules.__name__
    doc = rule.check.__doc__ or ""
    for rule_id in rule.raises + rule.excludes:
        assert f"``{rule_id}``" in doc, (rule.name, rule_id)
        assert f"`{rule_id}`" in DOC, rule_id  # docs/data-contract.md
        assert f"``{rule_id}``" in (rules.__doc__ or ""), rule_id  # the module's policy


@pytest.mark.parametrize(("name", "rule_id", "frame"), CASES, ids=[f"{n}-{r}" for n, r, _ in CASES])
def test_each_rule_raises_what_it_declares(name: str, rule_id: str, frame: pd.DataFrame) -> None:
    raised, _ = _run(frame)
    assert raised[name] == [rule_id], raised
    assert all(not ids for other, ids in raised.items() if other != name), raised
    with pytest.raises(OutcomesError) as exc:
        validate_records(read_records(frame))
    assert exc.value.rules == (rule_id,)


def test_every_declared_rule_id_has_a_case() -> None:
    declared = {(rule.name, rule_id) for rule in CONTRACT_RULES for rule_id in rule.raises}
    assert {(name, rule_id) for name, rule_id, _ in CASES} == declared


def test_exclusions_are_noted_by_the_rule_declaring_them() -> None:
    frame = _frame(notes=["a", "b", "c"], value=["5", "", "6"])
    frame = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)
    _, noted = _run(frame)
    assert {name: ids for name, ids in noted.items() if ids} == {
        "columns": {"unknown_column"},
        "values": {"value_missing"},
        "duplicates": {"exact_duplicate"},
    }
    assert set(validate_records(read_records(frame)).exclusions["rule"]) == {
        "unknown_column",
        "value_missing",
        "exact_duplicate",
    }


def test_problems_come_in_the_declared_order() -> None:
    frame = _frame(
        soreness_hours=["400", "", ""],
        sex=["F", "female", "female"],
        side=["Left", "", ""],
        visit_day=["0", "-3", "0"],
        value=["11", "x", "6"],
        measure=["pain_nprs", "pain_nprs", "pain_nprss"],
    )
    with pytest.raises(OutcomesError) as exc:
        validate_records(read_records(frame))
    order = {rule_id: i for i, rule in reversed(list(enumerate(CONTRACT_RULES))) for rule_id in rule.raises}
    assert exc.value.rules == (
        "measure_registered",
        "value_numeric",
        "value_in_bounds",
        "visit_day_nonnegative",
        "side_valid",
        "sex_code",
        "soreness_in_bounds",
    )
    assert [order[r] for r in exc.value.rules] == sorted(order[r] for r in exc.value.rules)


def test_a_rule_raising_an_undeclared_id_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def _liar(state: RuleState) -> None:
        state.found.add("value_in_bounds", "not mine to say")

    monkeypatch.setattr(rules, "CELL_RULES", (*CELL_RULES, ContractRule("liar", ("sex_code",), _liar)))
    with pytest.raises(AssertionError, match="liar"):
        validate_records(read_records(_frame()))


def test_a_rule_reading_what_no_earlier_rule_stored_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    early = tuple(r for r in CELL_RULES if r.name != "identifiers")  # episodes are then never grouped
    monkeypatch.setattr(rules, "CELL_RULES", early)
    with pytest.raises(AttributeError, match=r"episodes|has_ep"):
        validate_records(read_records(_frame()))


# --- named settings -----------------------------------------------------------------------------


def test_soreness_windows_are_the_contract_constants() -> None:
    field = SorenessSettings.model_fields["hours"]
    assert field.default == SORENESS_RESOLVED_HOURS == default_other_claims()["soreness"]["hours"] == 48.0
    assert [m.le for m in field.metadata if hasattr(m, "le")] == [SORENESS_MAX_HOURS] == [336.0]
    over = plan_problems({"other_claims": {"soreness": {"hours": SORENESS_MAX_HOURS + 1}}}, "p.yaml")
    assert len(over) == 1 and f"(0, {SORENESS_MAX_HOURS:g}]" in over[0].message
    assert plan_problems({"other_claims": {"soreness": {"hours": SORENESS_MAX_HOURS}}}, "p.yaml") == []
    longest = _frame(soreness_hours=[f"{SORENESS_MAX_HOURS:g}", "", ""])
    assert validate_records(read_records(longest)).visits["soreness_hours"].max() == SORENESS_MAX_HOURS


@pytest.mark.parametrize("n", [EXACT_BELOW_N - 1, EXACT_BELOW_N])
def test_exact_cut_off_is_the_same_for_the_interval_and_the_test(n: int) -> None:
    """R's wilcox.test: exact <- (n < 50). Both the Hodges-Lehmann interval and the p-value switch at once."""
    d = np.random.default_rng(5).normal(0.4, 1.0, n)  # no ties, no zeros
    exact = n < EXACT_BELOW_N
    assert hodges_lehmann(d)["method"].item() == ("walsh_exact" if exact else "walsh_normal")
    row = paired_change(d, n_boot=100).set_index("statistic").loc["hodges_lehmann"]
    assert row["method"] == ("walsh_exact+wilcoxon" if exact else "walsh_normal+wilcoxon")
    expected = stats.wilcoxon(d, correction=not exact, method="exact" if exact else "approx").pvalue
    other = stats.wilcoxon(d, correction=exact, method="approx" if exact else "exact").pvalue
    assert row["p_value"] == pytest.approx(expected, rel=1e-12) and row["p_value"] != pytest.approx(other, rel=1e-6)
