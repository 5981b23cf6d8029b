"""Analysis plan: validation names the field, hash is canonical."""

from pathlib import Path

import pytest

from outcomes.errors import OutcomesError
from outcomes.plan import DEFAULT_PLAN_PATH, Plan, load_plan, plan_from_mapping

ROOT = Path(__file__).resolve().parents[1]


def test_default_plan_values_from_reference():
    plan = load_plan(ROOT / "plans" / "default.yaml")
    assert (plan.primary_measure, plan.k, plan.p0, plan.alpha, plan.min_cell_size) == ("pain_nprs", 3, 0.5, 0.05, 11)
    assert plan.secondary_measures is None  # auto: every ROM measure present
    assert plan.sha256 == load_plan(DEFAULT_PLAN_PATH).sha256


def test_hash_ignores_comments_and_order_but_not_content(tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text("k: 3\np0: 0.5\n")
    b = tmp_path / "b.yaml"
    b.write_text("# comment\np0: 0.50\nk: 3\n")
    c = tmp_path / "c.yaml"
    c.write_text("p0: 0.6\nk: 3\n")
    assert load_plan(a).sha256 == load_plan(b).sha256 != load_plan(c).sha256
    assert load_plan(a).sha256 == Plan().sha256  # same as defaults


def test_measure_override_changes_hash_and_registry():
    plan = plan_from_mapping({"measures": {"pain_nprs": {"threshold_abs": 1.0}}})
    assert plan.measure("pain_nprs").threshold_abs == 1.0
    assert plan.sha256 != Plan().sha256


@pytest.mark.parametrize("data, field, rule", [
    ({"primary_measure": "pain_score"}, "primary_measure", "plan_measure_registered"),
    ({"secondary_measures": ["rom_neck"]}, "secondary_measures", "plan_measure_registered"),
    ({"k": 1}, "k", "plan_k"),
    ({"k": 2.5}, "k", "plan_k"),
    ({"p0": 0}, "p0", "plan_p0"),
    ({"p0": 1.2}, "p0", "plan_p0"),
    ({"alpha": 0.6}, "alpha", "plan_alpha"),
    ({"min_cell_size": 0}, "min_cell_size", "plan_min_cell_size"),
    ({"measures": {"pain_nprs": {"threshold_abs": -2}}}, "measures.pain_nprs", "measure_override"),
    ({"colour": "blue"}, "colour", "plan_field_known"),
    ({"trajectory": "cubic"}, "trajectory", "plan_trajectory"),
])
def test_bad_plans_name_the_field(data, field, rule):
    with pytest.raises(OutcomesError) as exc:
        plan_from_mapping(data, source="bad.yaml")
    problem = next(p for p in exc.value.problems if p.column == field)
    assert problem.rule == rule and problem.source == "bad.yaml"


def test_all_problems_reported_at_once():
    with pytest.raises(OutcomesError) as exc:
        plan_from_mapping({"k": 0, "p0": 2, "primary_measure": "x"})
    assert {"plan_k", "plan_p0", "plan_measure_registered"} <= set(exc.value.rules)


def test_bad_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("k: [3\n")
    with pytest.raises(OutcomesError, match="plan_yaml"):
        load_plan(bad)
    with pytest.raises(OutcomesError, match="file_exists"):
        load_plan(tmp_path / "missing.yaml")
    with pytest.raises(OutcomesError, match="plan_mapping"):
        bad.write_text("- 1\n- 2\n")
        load_plan(bad)


def test_plan_is_frozen():
    with pytest.raises(AttributeError):
        Plan().k = 4  # type: ignore[misc]
