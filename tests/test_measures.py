"""Measure registry: values from ../shared/reference/clinical-measures.md, docs kept current."""

from pathlib import Path

import numpy as np
import pytest

from outcomes.errors import OutcomesError
from outcomes.spec.measures import REGISTRY, build_registry, get_measure, registry_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_docs_measures_md_is_current():
    assert (ROOT / "docs" / "measures.md").read_text() == registry_markdown()


@pytest.mark.parametrize(
    "code",
    [
        "pain_nprs",
        "pain_vas",
        "rom_cervical_rotation_left",
        "rom_shoulder_flexion",
        "rom_lumbar_flexion",
        "rom_elbow_flexion",
        "rom_wrist_extension",
        "rom_hip_flexion",
        "rom_slr_left",
        "mouth_opening_mm",
        "grip_strength_kg",
    ],
)
def test_required_measures_present_with_source(code):
    m = REGISTRY[code]
    assert m.source and m.threshold_abs > 0 and m.lower < m.upper


def test_pain_rule_is_stricter_of_two_points_and_thirty_percent():
    nprs = get_measure("pain_nprs")
    # baseline 10: 2 points is only 20%, needs 3 points (30%)
    assert not nprs.improvement(10, 8) and nprs.improvement(10, 7)
    # baseline 4: 30% is 1.2 points, needs 2 points
    assert not nprs.improvement(4, 3) and nprs.improvement(4, 2)
    assert nprs.direction == -1 and (nprs.lower, nprs.upper) == (0, 10)


def test_rom_rule_is_gain_of_at_least_mdc():
    m = get_measure("rom_cervical_rotation_left")
    assert m.improvement(60, 66.8) and not m.improvement(60, 66.7)
    assert not m.improvement(60, 50)


def test_reachability():
    nprs = get_measure("pain_nprs")
    np.testing.assert_array_equal(nprs.reachable(np.array([0, 1, 2, 10])), [False, False, True, True])
    mouth = get_measure("mouth_opening_mm")
    assert mouth.reachable(60) and not mouth.reachable(70)


def test_overrides_and_additions():
    reg = build_registry(
        {
            "pain_nprs": {"threshold_abs": 1.0, "threshold_rel": None},
            "rom_custom": {
                "label": "Custom",
                "unit": "degrees",
                "lower": 0,
                "upper": 90,
                "direction": 1,
                "kind": "rom",
                "threshold_abs": 5,
            },
        }
    )
    assert reg["pain_nprs"].improvement(10, 9)
    assert reg["rom_custom"].upper == 90.0
    assert REGISTRY["pain_nprs"].threshold_abs == 2.0  # built-in untouched


@pytest.mark.parametrize(
    "bad, rule_field",
    [
        ({"pain_nprs": {"threshold_abs": -1}}, "measures.pain_nprs.threshold_abs"),
        ({"pain_nprs": {"threshold_abs": True}}, "measures.pain_nprs.threshold_abs"),
        ({"pain_nprs": {"colour": "red"}}, "measures.pain_nprs.colour"),
        ({"pain_nprs": {"label": None}}, "measures.pain_nprs.label"),
        ({"pain_nprs": {"direction": 2}}, "measures.pain_nprs.direction"),
        ({"pain_nprs": {"direction": True}}, "measures.pain_nprs.direction"),
        ({"pain_nprs": {"kind": "mood"}}, "measures.pain_nprs.kind"),
        ({"pain_nprs": {"threshold_rel": 1.5}}, "measures.pain_nprs.threshold_rel"),
        ({"pain_nprs": {"upper": float("inf")}}, "measures.pain_nprs.upper"),
        ({"pain_nprs": "loose"}, "measures.pain_nprs"),
        ({"new_code": {"label": "x"}}, "measures.new_code.unit"),
        ({"Bad Code": {"label": "x"}}, "measures.Bad Code"),
        ({"r" * 300: {"label": "x"}}, "measures." + "r" * 300),
        ({"pain_nprs": {"lower": 5, "upper": 1}}, "measures.pain_nprs.upper"),
        ({"pain_nprs": {"lower": 20}}, "measures.pain_nprs.lower"),
    ],
)
def test_bad_overrides_name_the_field(bad, rule_field):
    with pytest.raises(OutcomesError) as exc:
        build_registry(bad, source="plan.yaml")
    assert exc.value.problems[0].column == rule_field
    assert set(exc.value.rules) == {"plan_measures"}
    assert "plan.yaml" in str(exc.value) and rule_field[:40] in str(exc.value)


def test_threshold_rel_may_be_removed_with_null():
    assert build_registry({"pain_nprs": {"threshold_rel": None}})["pain_nprs"].threshold_rel is None
