"""The PHI guard's rule table, both directions: identifying names and contents are refused with the
expected ``phi_<kind>`` rule, harmless ones pass, and no message ever carries a value."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes.errors import OutcomesError
from outcomes.ingest.phi import RULES, PhiError, check_no_phi, column_words, scan_phi
from outcomes.spec.contract import AGE_BANDS, ALL_COLUMNS, CONDITIONS, TREATMENTS
from outcomes.spec.measures import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
CODES = ["x1", "x2", "x3", "x4"]


def _rules(column: str, values) -> set[str]:
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype="str")
    return {p.rule for p in scan_phi(pd.DataFrame({column: series}), source="t.csv")}


# ----------------------------------------------------------------- identifying column names
# (column name, rule); the column holds harmless codes, so only its name can give it away.
IDENTIFYING_NAMES: list[tuple[str, str]] = [
    *(
        (n, "phi_name")
        for n in (
            "First Name",
            "lastName",
            "patient_name",
            "Surname",
            "pt_nm",
            "pat_name",
            "fname",
            "lname",
            "nombre",
            "apellido",
            "nome",
            "sobrenome",
            "nom",
            "pr\u00e9nom",
            "prenom",
            "vorname",
            "Nachname",
            "name",
            "FullName",
            "Nombres",
            "Familienname",
            "initials",
            "PatientName",
        )
    ),
    *(
        (n, "phi_date")
        for n in (
            "DOB",
            "D.O.B.",
            "DoB",
            "date_of_birth",
            "Date of Birth",
            "dateOfBirth",
            "birth_dt",
            "BirthDate",
            "geburtsdatum",
            "Geburtstag",
            "fecha_nacimiento",
            "fecha_de_nacimiento",
            "data_nascimento",
            "date_de_naissance",
            "visit_date",
            "VisitDate",
            "admit_dt",
            "aufnahmedatum",
            "dob2",
        )
    ),
    *(
        (n, "phi_phone")
        for n in (
            "phone",
            "Phone_Number",
            "FAX",
            "mobile",
            "cell",
            "cell_no",
            "home_cell",
            "telefono",
            "Tel\u00e9fono",
            "telefone",
            "Handynummer",
            "celular",
        )
    ),
    *((n, "phi_email") for n in ("email", "E-mail", "E-mail Address", "correo", "courriel")),
    *((n, "phi_ssn") for n in ("SSN", "S.S.N.", "Social Security Number", "ss_no", "national_id", "cpf")),
    *(
        (n, "phi_mrn")
        for n in ("MRN", "Medical Record #", "chart_no", "patient_number", "prontuario", "historia_clinica")
    ),
    *(
        (n, "phi_address")
        for n in (
            "street",
            "city",
            "home_address",
            "lat",
            "lat_long",
            "direccion",
            "endere\u00e7o",
            "Stra\u00dfe",
            "domicilio",
            "ciudad",
        )
    ),
    *((n, "phi_zip") for n in ("zip", "ZIP Code", "postcode", "PLZ", "codigo_postal")),
    ("insurance_id", "phi_health_plan"),
    ("member_id", "phi_health_plan"),
    ("account_number", "phi_account"),
    ("acct", "phi_account"),
    ("drivers_license", "phi_licence"),
    ("passport", "phi_licence"),
    ("device_serial", "phi_device"),
    ("license_plate", "phi_device"),
    ("photo", "phi_biometric"),
    ("ip_address", "phi_ip"),
    ("Website URL", "phi_url"),
]


@pytest.mark.parametrize(("column", "rule"), IDENTIFYING_NAMES)
def test_identifying_column_name_is_refused(column: str, rule: str):
    assert _rules(column, CODES) == {rule}


# ------------------------------------------------------------------- identifying contents
DOB_ISO = ["1961-07-14", "1975-03-02", "1958-11-23", "1980-01-30", "1949-09-09"]
IDENTIFYING_CONTENT: list[tuple[str, str, list[str] | pd.Series]] = [
    # dates, many spellings (each a real calendar date)
    ("extra_info", "phi_date", ["14-07-1961", "02-03-1975"]),
    ("extra_info", "phi_date", ["19610714", "19750302", "19581123", "19800130", "19490909"]),
    ("extra_info", "phi_date", ["14071961", "02031975", "23111958"]),
    ("extra_info", "phi_date", ["1961-07-14T09:30:00"]),
    ("extra_info", "phi_date", ["14/07/61"]),
    ("extra_info", "phi_date", ["July 14 1961"]),
    ("extra_info", "phi_date", ["Jul-14-1961"]),
    ("extra_info", "phi_date", ["14.VII.1961"]),
    ("extra_info", "phi_date", ["14 de julio de 1961"]),
    ("extra_info", "phi_date", ["14. Juli 1961"]),
    ("extra_info", "phi_date", ["14 juillet 1961"]),
    ("extra_info", "phi_date", ["14 de mar\u00e7o de 1961"]),
    ("extra_info", "phi_date", ["14-JUL-61"]),
    ("extra_info", "phi_date", ["14JUL1961"]),
    ("extra_info", "phi_date", ["1961/07/14"]),
    ("extra_info", "phi_date", ["DOB 19610714"]),
    ("extra_info", "phi_date", DOB_ISO),
    ("visit_dt", "phi_date", ["20240101"]),  # a weak date word is the column's whole name
    ("when_dt", "phi_date", ["20240101"]),  # ... or a context word of the content rule
    # SSN and national numbers
    ("extra_info", "phi_ssn", ["123 45 6789", "234 56 7890", "345 67 8901"]),
    ("extra_info", "phi_ssn", ["078-05-1120"]),
    ("extra_info", "phi_ssn", ["SSN: 123456789"]),
    ("social_sec", "phi_ssn", ["123456789", "987654321"]),
    # telephone numbers
    ("extra_info", "phi_phone", ["5550134567", "5550198765", "5550111111", "5550122233"]),
    ("extra_info", "phi_phone", ["555 013 4567"]),
    ("extra_info", "phi_phone", ["+44 20 7946 0958"]),
    ("extra_info", "phi_phone", ["(555)0134567"]),
    ("extra_info", "phi_phone", ["+15550134567"]),
    ("extra_info", "phi_phone", ["call 555-0134", "fine"]),
    ("extra_info", "phi_phone", ["020 7946 0958"]),
    ("extra_info", "phi_phone", ["n/a", "5550134567"]),  # one bare number among text
    ("emergency_contact", "phi_phone", ["5550134567"]),
    # ages over 89 in an age column, several languages
    ("years_old", "phi_age_over_89", ["45", "95", "62", "71"]),
    ("age_years", "phi_age_over_89", ["92"]),
    ("edad", "phi_age_over_89", ["91 a\u00f1os"]),
    ("idade", "phi_age_over_89", ["95"]),
    ("Alter", "phi_age_over_89", ["93"]),
    ("\u00e2ge", "phi_age_over_89", ["99 ans"]),
    ("age", "phi_age_over_89", pd.Series([45, 95, 60])),
    ("years_old", "phi_age_over_89", pd.Series([45.0, 90.5])),
    # person names, initials included, in a column where most values look like that
    ("Patient", "phi_name", ["A. Jones", "B. Smith", "C. Brown", "D. Miller", "E. Davis", "F. Wilson"]),
    ("extra_info", "phi_name", ["Jones, A.", "Smith, B.", "Brown, C. D."]),
    ("extra_info", "phi_name", ["J. R. Smith", "A. B. Jones", "C. Brown"]),
    ("extra_info", "phi_name", ["Zqxsentinel Gonzalez", "Zqxsentinel Miller", "Zqxsentinel Souza"]),
    (
        "extra_info",
        "phi_name",
        ["Jos\u00e9 Garc\u00eda", "Fran\u00e7ois Dupont", "J\u00fcrgen M\u00fcller", "Jo\u00e3o da Silva"],
    ),
    ("extra_info", "phi_name", ["DOE, JANE", "SMITH, J.", "BROWN, C"]),
    # the other families
    ("extra_info", "phi_email", ["zqx.1@example.com"]),
    ("extra_info", "phi_url", ["https://example.com/p/1"]),
    ("extra_info", "phi_ip", ["192.0.2.44"]),
    ("extra_info", "phi_address", ["123 Main St", "Calle Mayor 12", "Hauptstra\u00dfe 5"]),
    ("extra_info", "phi_zip", ["02139-4307"]),
    ("extra_info", "phi_mrn", ["MRN12345", "MRN-0001"]),
]


@pytest.mark.parametrize(("column", "rule", "values"), IDENTIFYING_CONTENT)
def test_identifying_content_is_refused(column: str, rule: str, values):
    assert rule in _rules(column, values)


# ---------------------------------------------------------------------------- harmless
HARMLESS_NAMES: list[str] = [
    "record_id",
    "lat_flexion_deg",
    "claim_group",
    "cell_count",
    "visit_day",
    "episode_id",
    "soreness_hours",
    *ALL_COLUMNS,
    *REGISTRY,
    "measure_name",
    "file_name",
    "clinic_name",
    "update_count",
    "days_since_onset",
    "stage",
    "phase",
    "session_count",
    "assessment_score",
    "claim_id",
    "records_complete",
    "nominal_value",
    "mailing_wave",
    "longest_streak",
    "certainty",
    "plateau_day",
    "validated",
    "candidate_flag",
    "long_term_followup",
    "ipsilateral_side",
    "tip_width",
    "web_survey_score",
    "cellularity_score",
    "renamed",
    "practice_site",
    "dosage",
    "page_count",
    "namespace_version",
]


@pytest.mark.parametrize("column", HARMLESS_NAMES)
def test_harmless_column_name_passes(column: str):
    assert _rules(column, CODES) == set()


HARMLESS_CONTENT: list[tuple[str, list[str] | pd.Series]] = [
    ("patient_id", ["P1234567890", "Pa3f9c2e01b", "P0c1d2e3f4a"]),  # pseudonyms, an all-digit one included
    ("episode_id", ["P1234567890-1", "P1961071401-2"]),
    ("patient_id", [str(n) for n in range(5_550_134_567, 5_550_134_600)]),  # 10-digit ids named as ids
    ("record_id", ["5550134567", "5550198765"]),
    ("batch", [str(n) for n in range(10_000_000, 10_000_040)]),  # 8-digit numbers that are not dates
    ("code_8", ["12345678", "87654321", "19619999", "20241399"]),
    ("amount", [str(n) for n in (123456789, 987654321)]),  # 9 digits without an SSN context
    ("count", pd.Series([12345, 23456, 34567])),
    ("dosage", pd.Series([100, 200, 400])),  # above 89, but not an age
    ("age_band", list(AGE_BANDS)),
    ("age", ["45", "52", "62", "71", "89"]),
    ("condition", list(CONDITIONS)),
    ("condition_label", list(CONDITIONS.values())),
    ("treatment_label", list(TREATMENTS.values())),
    ("site", ["Left Shoulder", "Right Knee", "Neck Pain", "Low Back", "Upper Trap"]),
    ("note", ["score 7/10", "1/2 dose", "session at 12:30", "VAS 45 mm", "3 sets of 10", "v1.2.3"]),
    ("note", ["R. Knee", "L. Shoulder", "R. Hip"]),
    ("episode_id", [str(uuid.UUID(int=i * 7_919_000_003)) for i in range(1, 50)]),
    ("value", pd.Series(np.linspace(0, 180, 50))),
    ("visit_day", pd.Series([0, 3, 7, 14, 365], dtype="int64")),
]


@pytest.mark.parametrize(("column", "values"), HARMLESS_CONTENT)
def test_harmless_content_passes(column: str, values):
    assert _rules(column, values) == set()


def test_the_table_has_enough_examples_both_ways():
    assert len(IDENTIFYING_NAMES) + len(IDENTIFYING_CONTENT) >= 80
    assert len(HARMLESS_NAMES) + len(HARMLESS_CONTENT) >= 40


# ---------------------------------------------------------------- the declared table itself
@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.kind)
def test_declared_examples_of_each_rule(rule):
    values = ["95", "45"] if rule.kind == "age_over_89" else CODES
    for name in rule.examples:
        assert _rules(name, values) == {f"phi_{rule.kind}"}, name
    for value in rule.value_examples:
        assert f"phi_{rule.kind}" in _rules("extra_info", [value]), value
    for name in rule.harmless:
        assert _rules(name, ["12", "15", "3"]) == set(), name


def test_every_rule_is_documented():
    doc = (ROOT / "docs" / "privacy.md").read_text(encoding="utf-8")
    for rule in RULES:
        assert f"`phi_{rule.kind}`" in doc, rule.kind


def test_words_are_tokens_not_substrings():
    assert column_words("lat_flexion_deg") == ("lat", "flexion", "deg")
    assert column_words("D.O.B.") == ("dob",) and column_words("PatientDOB") == ("patient", "dob")
    assert column_words("Stra\u00dfe") == ("strasse",)


# ---------------------------------------------------------------------------- messages
LABELS = "|".join(re.escape(r.label) for r in RULES)
MESSAGE = re.compile(
    rf"column name suggests (?:{LABELS})|\d+ of \d+ (?:distinct values checked|values) look like "
    rf"(?:{LABELS})|column holds (?:{LABELS})"
)


def _assert_clean(problems, frame: pd.DataFrame) -> None:
    for p in problems:
        assert MESSAGE.fullmatch(p.message), p.message  # a fixed sentence: no room for a value
        assert p.column in {str(c) for c in frame.columns}
        assert all(isinstance(r, int) and r >= 2 for r in p.rows)


def test_messages_never_contain_a_value():
    frame = pd.concat(
        {
            f"{c}_{i}": pd.Series(list(v) if not isinstance(v, pd.Series) else v, dtype="str")
            for i, (c, _, v) in enumerate(IDENTIFYING_CONTENT)
        },
        axis=1,
    )  # digits are not words
    problems = scan_phi(frame, source="raw.csv")
    assert len({p.column for p in problems}) == len(IDENTIFYING_CONTENT)
    _assert_clean(problems, frame)
    text = "\n".join(map(str, problems))
    for value in frame.stack().dropna().astype("str"):
        if len(value) > 3:
            assert value not in text


_NAMES = st.one_of(st.text(max_size=30), st.sampled_from([n for n, _ in IDENTIFYING_NAMES] + HARMLESS_NAMES))
_CELLS = st.one_of(
    st.text(max_size=40),
    st.sampled_from([v for _, _, vs in IDENTIFYING_CONTENT if not isinstance(vs, pd.Series) for v in vs]),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    columns=st.lists(
        st.tuples(_NAMES, st.lists(_CELLS, min_size=1, max_size=8)), min_size=1, max_size=4, unique_by=lambda c: c[0]
    )
)
def test_property_arbitrary_text_never_raises_and_never_leaks(columns):
    n = max(len(v) for _, v in columns)
    frame = pd.DataFrame({name: pd.Series((v * n)[:n], dtype="str") for name, v in columns})
    try:
        check_no_phi(frame, source="h.csv")  # scan_phi, raising what it finds
    except OutcomesError as err:
        assert isinstance(err, PhiError)
        _assert_clean(err.problems, frame)
