"""PHI guard: identifiers are caught (by name and content), pseudonymous data pass."""

from __future__ import annotations

import hashlib
import uuid

import numpy as np
import pandas as pd
import pytest

from outcomes.errors import OutcomesError
from outcomes.ingest.phi import REMEDY, check_no_phi, scan_phi
from outcomes.spec.contract import AGE_BANDS, CONDITIONS, SEXES, SIDES, TREATMENTS
from outcomes.spec.measures import REGISTRY


def _text(*values: str) -> pd.Series:
    return pd.Series(list(values), dtype="str")


def _rules(frame: pd.DataFrame) -> set[str]:
    return {p.rule for p in scan_phi(frame, source="t.csv")}


# ----------------------------------------------------------------- must catch: content
CONTENT_CASES = [
    ("phi_email", _text("testy.mctestface@example.com", "ok")),
    ("phi_email", _text("reach me at jane_placeholder+pt@mail.example.org please")),
    ("phi_phone", _text("555-012-3456")),
    ("phi_phone", _text("(555) 012-3456")),
    ("phi_phone", _text("+1 555.012.3456")),
    ("phi_phone", _text("fax 555 012 3499")),
    ("phi_ssn", _text("078-05-1120")),
    ("phi_zip", _text("02139", "94110", "unknown")),
    ("phi_zip", _text("02139-4307")),
    ("phi_zip", _text("Springfield, IL 62704")),
    ("phi_date", _text("2024-03-12")),
    ("phi_date", _text("2024-03-12T09:30:00")),
    ("phi_date", _text("3/12/2024")),
    ("phi_date", _text("12.03.2024")),
    ("phi_date", _text("12 Mar 2024")),
    ("phi_date", _text("March 12, 2024")),
    ("phi_date", _text("seen on 7/4/24 for review")),
    ("phi_date", pd.Series(pd.to_datetime(["2024-03-12", "2024-03-19"]))),
    ("phi_url", _text("https://example.com/patients/17")),
    ("phi_url", _text("www.example.com")),
    ("phi_ip", _text("192.0.2.44")),
    ("phi_ip", _text("2001:db8:85a3::8a2e:370:7334")),
    ("phi_address", _text("123 Main St")),
    ("phi_address", _text("42 Placeholder Avenue, Apt 4")),
    ("phi_address", _text("PO Box 1234")),
    ("phi_mrn", _text("MRN12345", "MRN12346")),
    ("phi_mrn", _text("MRN-FAKE-0001")),
    ("phi_name", _text("Testy McTestface", "Jane Placeholder", "John Q. Doe", "Doe, Jane", "Sam O'Example")),
    ("phi_name", _text("DOE, JANE", "MCTESTFACE, TESTY", "EXAMPLE, SAM")),
]


@pytest.mark.parametrize(("rule", "values"), CONTENT_CASES)
def test_content_is_caught(rule, values):
    assert rule in _rules(pd.DataFrame({"x": values}))


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("age", pd.Series([45, 93, 60])),
        ("patient_age", _text("45", "92 years")),
        ("age_band", _text("40-49", "91")),
        ("AgeYears", pd.Series([88.0, 90.5])),
    ],
)
def test_exact_age_over_89_is_caught(column, values):
    assert _rules(pd.DataFrame({column: values})) == {"phi_age_over_89"}


# -------------------------------------------------------------------- must catch: name
@pytest.mark.parametrize(
    ("column", "rule"),
    [
        ("First Name", "phi_name"),
        ("lastName", "phi_name"),
        ("patient_name", "phi_name"),
        ("Surname", "phi_name"),
        ("E-mail Address", "phi_email"),
        ("Phone_Number", "phi_phone"),
        ("FAX", "phi_phone"),
        ("mobile", "phi_phone"),
        ("SSN", "phi_ssn"),
        ("Social Security Number", "phi_ssn"),
        ("MRN", "phi_mrn"),
        ("Medical Record #", "phi_mrn"),
        ("DOB", "phi_date"),
        ("Date of Birth", "phi_date"),
        ("BirthDate", "phi_date"),
        ("visit_date", "phi_date"),
        ("VisitDate", "phi_date"),
        ("ZIP Code", "phi_zip"),
        ("postcode", "phi_zip"),
        ("Street Address", "phi_address"),
        ("city", "phi_address"),
        ("ip_address", "phi_ip"),
        ("Website URL", "phi_url"),
        ("insurance_id", "phi_health_plan"),
        ("Health Plan Number", "phi_health_plan"),
        ("account_number", "phi_account"),
        ("drivers_license", "phi_licence"),
        ("device_serial", "phi_device"),
        ("license_plate", "phi_device"),
        ("photo", "phi_biometric"),
    ],
)
def test_identifier_column_names_are_caught(column, rule):
    frame = pd.DataFrame({column: _text("A1", "A2")})
    assert _rules(frame) == {rule}


# ------------------------------------------------------------------------- must pass
def _hashes(n: int) -> pd.Series:
    return _text(*(hashlib.sha256(str(i).encode()).hexdigest()[:12] for i in range(n)))


PASS_CASES = [
    ("patient_id", _text("P0001", "P0002", "P0913")),
    ("patient_id", _text("Pa3f9c2e01b", "P0c1d2e3f4a")),
    ("patient_id", _hashes(200)),
    ("patient_id", _text("10234", "55555", "98765", "7")),  # numeric ids read as text are not ZIPs
    ("episode_id", _text(*(str(uuid.UUID(int=i * 7_919_000_003)) for i in range(1, 200)))),
    ("episode_id", _text("E00001", "E00002", "E-0003")),
    ("measure", _text(*REGISTRY)),
    ("value", pd.Series([6.0, 3.5, 172.0, np.nan])),
    ("visit_day", pd.Series([0, 3, 7, 14, 365], dtype="int64")),
    ("visit_day", _text("0", "3", "7", "14", "365")),
    ("condition", _text(*CONDITIONS)),
    ("condition", _text(*CONDITIONS.values())),
    (
        "diagnosis",
        _text(
            "Low Back Pain",
            "Tennis Elbow",
            "Neck Pain",
            "Frozen Shoulder",
            "Rotator Cuff",
            "Plantar Fasciitis",
            "Achilles Tendinopathy",
        ),
    ),
    ("treatment", _text("dry_needling", "dry_needling+exercise", "manual_therapy+education")),
    ("treatment_label", _text(*TREATMENTS.values())),
    ("side", _text(*SIDES)),
    ("sex", _text(*SEXES)),
    ("age_band", _text(*AGE_BANDS)),
    ("age", pd.Series([18, 45, 89])),
    ("twitch_response", pd.Series([True, False, pd.NA], dtype="boolean")),
    ("soreness_hours", _text("0", "24", "48.5")),
    ("measure_label", _text(*(m.label for m in REGISTRY.values()))),
    (
        "note",
        _text(
            "Patient reports less pain after 2 sessions",
            "VAS 45 mm",
            "needled upper trap, 3 needles",
            "score 7/10",
            "1/2 dose",
            "session at 12:30",
        ),
    ),
    ("year", _text("2023", "2024")),
    ("email_opt_in", pd.Series([True, False])),
    ("file_name", _text("export.csv")),
    ("site", _text("SITE-01", "SITE-02")),
    ("last_update", _text("v1", "v2")),
    ("amount", _text("1,234", "12.25", "-3")),
    ("first_name", _text("", "  ")),  # an entirely empty column identifies nobody
]


@pytest.mark.parametrize(("column", "values"), PASS_CASES)
def test_pseudonymous_and_contract_values_pass(column, values):
    assert scan_phi(pd.DataFrame({column: values}), source="t.csv") == []


def test_contract_frame_passes_check():
    frame = pd.DataFrame(
        {
            "patient_id": ["P0001"] * 3,
            "episode_id": ["E1"] * 3,
            "visit_day": [0, 4, 9],
            "measure": ["pain_nprs"] * 3,
            "value": [7.0, 5.0, 2.0],
            "age_band": ["90+"] * 3,
            "condition": ["neck_pain"] * 3,
        }
    )
    assert check_no_phi(frame, source="ok.csv") is None


# -------------------------------------------------------------------------- messages
def test_message_names_column_kind_and_row_never_value():
    secret = "testy.mctestface@example.com"
    frame = pd.DataFrame({"patient_id": ["P1", "P2", "P3"], "contact": ["", "ok", secret]})
    with pytest.raises(OutcomesError) as info:
        check_no_phi(frame, source="raw.csv", rows=np.array([10, 11, 12]))
    text = str(info.value)
    assert secret not in text and "mctestface" not in text.lower()
    assert "contact" in text and "e-mail" in text and "row 12" in text
    assert text.rstrip().endswith(REMEDY)
    assert "docs/privacy.md" in REMEDY and "outcomes deidentify" in REMEDY
    assert info.value.rules == ("phi_email",)
    assert info.value.problems[0].column == "contact"
    assert info.value.problems[0].rows == (12,)


def test_no_value_leaks_in_any_problem():
    values = {c: v for (_, v), c in zip(CONTENT_CASES, (f"c{i}" for i in range(len(CONTENT_CASES))))}
    frame = pd.concat({c: v.reset_index(drop=True) for c, v in values.items()}, axis=1)
    problems = scan_phi(frame, source="raw.csv")
    assert {p.column for p in problems} == set(values)
    text = "\n".join(map(str, problems))
    for v in frame.stack().astype("str"):
        if str(v) != "ok":  # the one harmless filler value
            assert str(v).strip() not in text


def test_default_row_numbers_count_the_header():
    frame = pd.DataFrame({"x": ["fine", "fine", "call 555-012-3456"]})
    assert scan_phi(frame, source="t.csv")[0].rows == (4,)


def test_rows_length_must_match():
    with pytest.raises(ValueError):
        scan_phi(pd.DataFrame({"x": ["a"]}), source="t", rows=np.array([2, 3]))


def test_large_column_is_sampled_deterministically():
    n = 60_000
    ids = [f"P{i:06d}" for i in range(n)]
    ids[0] = "jane@example.com"  # inside the head of the sample
    frame = pd.DataFrame({"patient_id": ids})
    first = scan_phi(frame, source="t")
    assert first == scan_phi(frame, source="t")
    assert [p.rule for p in first] == ["phi_email"] and first[0].rows == (2,)
    assert "of 10000 distinct values" in first[0].message


def test_million_row_frame_of_contract_values_passes():
    # Speed is measured in benchmarks/ (load + validate includes this scan), not asserted here.
    rng = np.random.default_rng(7)
    n = 1_000_000

    def pick(choices, size: int = n) -> pd.Series:
        return pd.Series(np.asarray(choices)[rng.integers(0, len(choices), size)], dtype="str")

    frame = pd.DataFrame(
        {
            "patient_id": pick([f"P{i:05d}" for i in range(50_000)]),
            "episode_id": pick([f"E{i:06d}" for i in range(80_000)]),
            "visit_day": rng.integers(0, 200, n),
            "measure": pick(list(REGISTRY)),
            "value": rng.normal(50, 10, n),
            "side": pick(SIDES),
            "condition": pick(list(CONDITIONS)),
            "age_band": pick(AGE_BANDS),
            "visit_day_text": pick([str(d) for d in range(400)]),
        }
    )
    assert scan_phi(frame, source="big.csv") == []
