"""deidentify: raw EMR export -> data contract + private crosswalk."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes.cli import main
from outcomes.errors import OutcomesError
from outcomes.ingest.deidentify import deidentify_export, deidentify_frame, read_mapping
from outcomes.ingest.phi import check_no_phi, scan_phi
from outcomes.spec.contract import ALL_COLUMNS, CONDITIONS, SEXES, TREATMENTS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "raw_emr_export.csv"
SAMPLE_MAPPING = ROOT / "data" / "sample" / "deidentify.yaml"
IDENTIFIERS = ("patient_name", "mrn", "dob", "visit_date", "phone", "email", "street_address", "zip")


@pytest.fixture()
def raw(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "raw.csv"
    path.parent.mkdir()
    shutil.copyfile(SAMPLE, path)
    return path


def _run(raw: Path, tmp_path: Path, key: str = "keys/cw.csv", **kw):
    return deidentify_export(raw, out=tmp_path / "share" / "visits.csv", key_file=tmp_path / key, **kw)


def _crosswalk(tmp_path: Path, key: str = "keys/cw.csv") -> pd.DataFrame:
    return pd.read_csv(tmp_path / key, dtype="str", keep_default_na=False)


def test_sample_is_clearly_fake_and_is_refused_raw():
    frame = pd.read_csv(SAMPLE, dtype="str", keep_default_na=False)
    assert 40 <= len(frame) <= 60 and 8 <= frame["mrn"].nunique() <= 12
    assert frame["email"].str.endswith("@example.com").all()
    assert frame["phone"].str.contains(r"555-01\d\d$").all()
    assert frame["mrn"].str.startswith("MRN-FAKE-").all()
    with pytest.raises(OutcomesError) as info:
        check_no_phi(frame, source="raw.csv")
    assert {p.column for p in info.value.problems} >= set(IDENTIFIERS)


def test_sample_identifiers_are_caught_by_content_alone():
    frame = pd.read_csv(SAMPLE, dtype="str", keep_default_na=False)
    anonymous = frame.set_axis([f"c{i}" for i in range(frame.shape[1])], axis=1)
    found = {(frame.columns[int(p.column[1:])], p.rule) for p in scan_phi(anonymous, source="raw.csv")}
    assert found >= {
        ("patient_name", "phi_name"),
        ("mrn", "phi_mrn"),
        ("dob", "phi_date"),
        ("visit_date", "phi_date"),
        ("phone", "phi_phone"),
        ("email", "phi_email"),
        ("street_address", "phi_address"),
    }
    # A column of bare 5-digit numbers is only a ZIP by its name (it could be an id or a count).
    assert ("zip", "phi_zip") not in found


def test_round_trip_passes_guard_and_loads(raw: Path, tmp_path: Path):
    before = hashlib.sha256(raw.read_bytes()).hexdigest()
    summary = _run(raw, tmp_path)
    assert hashlib.sha256(raw.read_bytes()).hexdigest() == before  # input never modified
    out = pd.read_csv(summary.out, dtype="str", keep_default_na=False)
    check_no_phi(out, source="out.csv")
    assert summary.n_patients == summary.n_new_patients == 10 and summary.n_episodes == 10
    assert summary.n_rows == len(out) == 152
    assert set(summary.dropped_columns) == {
        "patient_name",
        "referral_id",
        "phone",
        "email",
        "street_address",
        "zip",
        "therapist_note",
    }
    assert set(summary.transformed) == {
        "mrn",
        "visit_date",
        "dob",
        "sex",
        "condition",
        "treatment",
        "side",
        "twitch_response",
        "soreness_hours",
    }
    assert summary.transformed["condition"] == "written as condition codes"
    assert list(out.columns[:5]) == ["patient_id", "visit_day", "measure", "value", "episode_id"]
    assert out["patient_id"].str.fullmatch(r"P[0-9a-f]{10}").all()
    first = out.groupby("episode_id")["visit_day"].apply(lambda s: s.astype(int).min())
    assert (first == 0).all()
    assert set(out["age_band"]) <= {"30-39", "40-49", "50-59", "60-69", "90+", "18-29"}
    assert "90+" in set(out["age_band"])  # the 1930 birth date
    text = summary.out.read_text()
    for secret in ("MRN-FAKE", "McTestface", "example.com", "555-01", "Example Street", "1961-05-02"):
        assert secret not in text
    if importlib.util.find_spec("outcomes.ingest.visits") is None:
        pytest.skip("outcomes.ingest.visits (the loader) is not available yet")
    from outcomes.ingest.load import load_visits

    loaded = load_visits(summary.out)
    assert (loaded.n_patients, loaded.n_episodes, loaded.n_visits) == (10, 10, 56)


def test_episode_key_mapping_splits_courses_of_care(raw: Path, tmp_path: Path):
    summary = _run(raw, tmp_path, mapping=SAMPLE_MAPPING)
    assert summary.n_episodes == 11 and "referral_id" not in summary.dropped_columns
    out = pd.read_csv(summary.out, dtype="str", keep_default_na=False)
    two = out.groupby("patient_id")["episode_id"].nunique()
    assert two.max() == 2
    pid = two.idxmax()
    eps = out.loc[out["patient_id"] == pid].groupby("episode_id")["visit_day"].apply(lambda s: s.astype(int).min())
    assert eps.to_dict() == {f"{pid}-1": 0, f"{pid}-2": 0}


def test_gap_rule_splits_episodes():
    raw = pd.DataFrame(
        {
            "mrn": ["A"] * 4,
            "visit_date": ["2024-01-01", "2024-01-08", "2024-06-01", "2024-06-05"],
            "pain_nprs": ["7", "5", "6", "3"],
        }
    )
    res = deidentify_frame(raw, mapping={"episode_gap_days": 60})
    assert res.visits[["episode_id", "visit_day"]].apply(tuple, axis=1).str[1].tolist() == [0, 7, 0, 4]
    assert res.visits["episode_id"].str[-2:].tolist() == ["-1", "-1", "-2", "-2"]
    assert deidentify_frame(raw).visits["visit_day"].tolist() == [0, 7, 152, 156]


def test_crosswalk_reused_and_appended(raw: Path, tmp_path: Path):
    _run(raw, tmp_path)
    first = _crosswalk(tmp_path)
    out1 = pd.read_csv(tmp_path / "share" / "visits.csv", dtype="str")
    # A later export: the same patients plus a new one.
    extra = pd.read_csv(raw, dtype="str", keep_default_na=False)
    new_row = extra.iloc[[0]].assign(mrn="MRN-FAKE-0099", patient_name="New Placeholder")
    later = raw.with_name("later.csv")
    pd.concat([extra, new_row]).to_csv(later, index=False)
    summary = _run(later, tmp_path)
    second = _crosswalk(tmp_path)
    assert summary.n_new_patients == 1 and summary.n_patients == 11
    assert second.iloc[: len(first)].equals(first)  # old entries unchanged, in place
    assert second["mrn"].iloc[-1] == "MRN-FAKE-0099"
    out2 = pd.read_csv(summary.out, dtype="str")
    assert set(out1["patient_id"]) < set(out2["patient_id"])


def test_key_file_mode_is_0600(raw: Path, tmp_path: Path):
    summary = _run(raw, tmp_path)
    assert summary.key_file.stat().st_mode & 0o777 == 0o600
    summary.key_file.chmod(0o644)
    _run(raw, tmp_path)
    assert summary.key_file.stat().st_mode & 0o777 == 0o600


def test_pseudonyms_are_not_derived_from_identifiers(raw: Path, tmp_path: Path):
    _run(raw, tmp_path, key="a/cw.csv")
    _run(raw, tmp_path, key="b/cw.csv")
    a, b = _crosswalk(tmp_path, "a/cw.csv"), _crosswalk(tmp_path, "b/cw.csv")
    assert a["mrn"].tolist() == b["mrn"].tolist()
    assert not set(a["patient_id"]) & set(b["patient_id"])


@pytest.mark.parametrize("where", ["same_dir", "same_file", "over_input", "over_mapping"])
def test_refuses_unsafe_key_or_output_location(raw: Path, tmp_path: Path, where: str):
    out = tmp_path / "share" / "visits.csv"
    mapping = tmp_path / "keys" / "m.yaml"
    mapping.parent.mkdir()
    mapping.write_text("patient_key: mrn\n")
    key = {"same_dir": tmp_path / "share" / "cw.csv", "same_file": out, "over_input": raw, "over_mapping": mapping}[
        where
    ]
    before = raw.read_bytes()
    with pytest.raises(OutcomesError) as info:
        deidentify_export(raw, out=out, key_file=key, mapping=mapping)
    assert info.value.rules[0] in {"key_file_location", "output_location"}
    assert not out.exists() and raw.read_bytes() == before and mapping.read_text() == "patient_key: mrn\n"


def test_minor_is_refused_without_writing(tmp_path: Path):
    raw = tmp_path / "raw.csv"
    raw.write_text("mrn,dob,visit_date,pain_nprs\nM1,2010-06-01,2024-01-02,6\nM2,1970-01-01,2024-01-02,5\n")
    with pytest.raises(OutcomesError) as info:
        _run(raw, tmp_path)
    assert info.value.rules == ("age_under_18",) and info.value.problems[0].rows == (2,)
    assert "2010" not in str(info.value)
    assert not (tmp_path / "keys").exists() and not (tmp_path / "share").exists()


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("name,visit_date,pain_nprs\nA,2024-01-01,5\n", "mapping_column"),
        ("mrn,date,pain_nprs\nA,2024-01-01,5\n", "mapping_column"),
        ("mrn,visit_date,pain_nprs\nA,01/02/2024,5\n", "visit_date_parsable"),
        ("mrn,visit_date,pain_nprs\n,2024-01-01,5\n", "patient_key_missing"),
        ("mrn,visit_date,score\nA,2024-01-01,5\n", "no_measures"),
        ("mrn,dob,visit_date,pain_nprs\nA,2030-01-01,2024-01-01,5\n", "birth_date_plausible"),
    ],
)
def test_bad_exports_are_refused(tmp_path: Path, text: str, rule: str):
    raw = tmp_path / "raw.csv"
    raw.write_text(text)
    with pytest.raises(OutcomesError) as info:
        _run(raw, tmp_path)
    assert info.value.rules == (rule,)
    assert "01/02/2024" not in str(info.value)


def test_mapping_renames_and_formats(tmp_path: Path):
    raw = pd.DataFrame(
        {
            "Chart No": ["C1", "C1"],
            "Seen": ["03/01/2024", "03/05/2024"],
            "Born": ["02/29/1960", "02/29/1960"],
            "NPRS": ["8", "5"],
            "Gender": ["female"] * 2,
        }
    )
    res = deidentify_frame(
        raw,
        mapping={
            "patient_key": "chart_no",
            "visit_date": "seen",
            "birth_date": "born",
            "date_format": "%m/%d/%Y",
            "rename": {"NPRS": "pain_nprs", "Gender": "sex"},
        },
    )
    assert res.visits[["visit_day", "measure", "value", "sex", "age_band"]].values.tolist() == [
        [0, "pain_nprs", 8.0, "female", "60-69"],
        [4, "pain_nprs", 5.0, "female", "60-69"],
    ]
    assert res.transformed["NPRS"] == "renamed to pain_nprs"
    assert res.transformed["Gender"] == "renamed to sex; written as sex codes"
    assert "Chart No" in res.transformed and "Seen" in res.transformed and "Born" in res.transformed
    assert list(res.crosswalk.columns) == ["chart_no", "patient_id"]


def test_age_band_edges():
    raw = pd.DataFrame(
        {
            "mrn": ["A", "B", "C", "D"],
            "visit_date": ["2024-03-01"] * 4,
            "dob": ["2006-03-01", "1994-03-02", "1934-03-01", "1934-03-02"],
            "pain_nprs": ["5"] * 4,
        }
    )
    res = deidentify_frame(raw)
    got = dict(zip(res.crosswalk.set_index("patient_id").loc[res.visits["patient_id"], "mrn"], res.visits["age_band"]))
    assert got == {"A": "18-29", "B": "18-29", "C": "90+", "D": "80-89"}


def test_side_applies_to_sided_measures_only():
    raw = pd.DataFrame(
        {
            "mrn": ["A"],
            "visit_date": ["2024-01-01"],
            "side": ["left"],
            "pain_nprs": ["6"],
            "rom_shoulder_flexion": ["120"],
        }
    )
    v = deidentify_frame(raw).visits
    assert dict(zip(v["measure"], v["side"])) == {"pain_nprs": "none", "rom_shoulder_flexion": "left"}


def test_broken_crosswalk_is_refused():
    raw = pd.DataFrame({"mrn": ["A"], "visit_date": ["2024-01-01"], "pain_nprs": ["6"]})
    dup = pd.DataFrame({"mrn": ["A", "B"], "patient_id": ["P0000000001"] * 2})
    with pytest.raises(OutcomesError, match="crosswalk_valid"):
        deidentify_frame(raw, crosswalk=dup)
    with pytest.raises(OutcomesError, match="crosswalk_valid"):
        deidentify_frame(raw, crosswalk=dup.rename(columns={"mrn": "chart"}))


def test_mapping_file_errors(tmp_path: Path):
    bad = tmp_path / "m.yaml"
    bad.write_text("patient_key: mrn\nepisode: x\n")
    with pytest.raises(OutcomesError, match="unknown key") as info:
        read_mapping(bad)
    assert info.value.rules == ("mapping_unknown_key",) and info.value.problems[0].column == "episode"
    bad.write_text("- a\n- b\n")
    with pytest.raises(OutcomesError, match="mapping_valid"):
        read_mapping(bad)
    with pytest.raises(OutcomesError, match="file_exists"):
        read_mapping(tmp_path / "missing.yaml")


def test_cli_exit_codes(raw: Path, tmp_path: Path, capsys):
    ok = main(
        [
            "deidentify",
            str(raw),
            "--out",
            str(tmp_path / "share" / "v.csv"),
            "--key-file",
            str(tmp_path / "keys" / "cw.csv"),
        ]
    )
    printed = capsys.readouterr().out
    assert ok == 0 and "dropped: patient_name" in printed and "MRN-FAKE" not in printed
    refused = main(["deidentify", str(raw), "--out", str(tmp_path / "v.csv"), "--key-file", str(tmp_path / "cw.csv")])
    assert refused == 1 and "key_file_location" in capsys.readouterr().err
    assert main(["deidentify", str(raw)]) == 2
    assert (
        main(
            [
                "deidentify",
                str(raw),
                "--out",
                str(tmp_path / "share" / "v.csv"),
                "--key-file",
                str(tmp_path / "keys" / "cw.csv"),
                "--mapping",
                str(tmp_path / "nope.yaml"),
            ]
        )
        == 1
    )


# =================================================================== P7: identifiers stay out

SENTINEL = "Maria Gonzalez 555-0134"
FORMULAS = ["=1+2", '=HYPERLINK("http://evil.example/x","open me")', "+SUM(1,2)", "-x1", "@cmd", "'=quoted"]


def _sample_frame() -> pd.DataFrame:
    return pd.read_csv(SAMPLE, dtype="str", keep_default_na=False)


def _write(frame: pd.DataFrame, tmp_path: Path, name: str = "raw.csv") -> Path:
    path = tmp_path / "in" / name
    path.parent.mkdir(exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def _cli(raw: Path, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "deidentify",
        str(raw),
        "--out",
        str(tmp_path / "share" / "visits.csv"),
        "--key-file",
        str(tmp_path / "keys" / "cw.csv"),
        *extra,
    ]


def _refused(argv: list[str], tmp_path: Path, capsys, *, rule: str, column: str, secrets_: tuple[str, ...] = ()):
    """Exit 1 (never 3), the rule and column named, no secret quoted, nothing written."""
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"[{rule}]" in err and f"column {column}" in err, err
    for secret in (SENTINEL, "Gonzalez", "555-0134", *secrets_):
        assert secret not in err
    assert not (tmp_path / "share").exists() and not (tmp_path / "keys" / "cw.csv").exists()
    return err


@pytest.mark.parametrize(
    ("column", "rule"),
    [
        ("condition", "condition_code"),
        ("treatment", "treatment_code"),
        ("side", "side_valid"),
        ("sex", "sex_code"),
        ("pain_nprs", "value_numeric"),
        ("soreness_hours", "soreness_numeric"),
        ("twitch_response", "twitch_response_boolean"),
    ],
)
def test_identifier_in_a_contract_column_is_refused_not_copied(tmp_path: Path, capsys, column: str, rule: str):
    frame = _sample_frame()
    frame.loc[3, column] = SENTINEL
    err = _refused(_cli(_write(frame, tmp_path), tmp_path), tmp_path, capsys, rule=rule, column=column)
    assert "row 5" in err  # the raw file's row: header = 1, frame position 3 = row 5


def test_identifier_in_measure_column_of_a_long_export_is_refused(tmp_path: Path, capsys):
    raw = pd.DataFrame(
        {
            "mrn": ["M1", "M1"],
            "visit_date": ["2024-01-01", "2024-01-08"],
            "measure": ["pain_nprs", SENTINEL],
            "value": ["6", "3"],
        }
    )
    _refused(_cli(_write(raw, tmp_path), tmp_path), tmp_path, capsys, rule="measure_registered", column="measure")


def test_formula_in_condition_is_refused(tmp_path: Path, capsys):
    frame = _sample_frame()
    frame.loc[0, "condition"] = FORMULAS[1]
    _refused(
        _cli(_write(frame, tmp_path), tmp_path),
        tmp_path,
        capsys,
        rule="condition_code",
        column="condition",
        secrets_=("HYPERLINK", "evil.example"),
    )


def test_note_renamed_onto_condition_is_refused_exit_1(tmp_path: Path, capsys):
    frame = _sample_frame().drop(columns="condition").assign(therapist_note=SENTINEL)
    mapping = tmp_path / "m.yaml"
    mapping.write_text("rename: {therapist_note: condition}\n")
    _refused(
        _cli(_write(frame, tmp_path), tmp_path, "--mapping", str(mapping)),
        tmp_path,
        capsys,
        rule="condition_code",
        column="therapist_note",
    )


def test_note_renamed_onto_an_existing_condition_column_is_refused(tmp_path: Path, capsys):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("rename: {therapist_note: condition}\n")
    _refused(
        _cli(_write(_sample_frame(), tmp_path), tmp_path, "--mapping", str(mapping)),
        tmp_path,
        capsys,
        rule="mapping_column",
        column="therapist_note",
    )


def test_duplicate_patient_key_in_mapping_is_refused(tmp_path: Path, capsys):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("patient_key: mrn\npatient_key: visit_date\n")
    _refused(
        _cli(_write(_sample_frame(), tmp_path), tmp_path, "--mapping", str(mapping)),
        tmp_path,
        capsys,
        rule="yaml_duplicate_key",
        column="patient_key",
    )


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("date_format: 5\n", "mapping_type"),
        ('date_format: "%Q"\n', "mapping_value"),
        ("date_format: yyyy-mm-dd\n", "mapping_value"),
        ('date_format: "%Y"\n', "mapping_value"),
    ],
)
def test_bad_date_format_is_refused_exit_1(tmp_path: Path, capsys, text: str, rule: str):
    mapping = tmp_path / "m.yaml"
    mapping.write_text(text)
    _refused(
        _cli(_write(_sample_frame(), tmp_path), tmp_path, "--mapping", str(mapping)),
        tmp_path,
        capsys,
        rule=rule,
        column="date_format",
    )


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        (b"", "crosswalk_valid"),
        (b"\n \n", "crosswalk_valid"),
        (b"\x00\xff\x00PK\x03\x04" + bytes(200), "crosswalk_valid"),
        ("mrn,patient_id\nM\u00fcller,P0123456789\n".encode("latin-1"), "encoding_utf8"),
        (b"name,patient_id\nx,P0123456789\n", "crosswalk_valid"),
        (b'mrn,patient_id\n"unclosed,P1\n', "crosswalk_valid"),
        (None, "output_is_directory"),
    ],
)
def test_bad_key_file_is_refused_exit_1(tmp_path: Path, capsys, content: bytes | None, rule: str):
    key = tmp_path / "keys" / "cw.csv"
    if content is None:
        key.mkdir(parents=True)
        (key / "x.txt").write_text("user file\n")
    else:
        key.parent.mkdir()
        key.write_bytes(content)
    before = sorted(p.name for p in key.parent.rglob("*"))
    assert main(_cli(_write(_sample_frame(), tmp_path), tmp_path)) == 1
    err = capsys.readouterr().err
    assert f"[{rule}]" in err and "Traceback" not in err
    assert not (tmp_path / "share").exists() and sorted(p.name for p in key.parent.rglob("*")) == before
    if content:
        assert key.read_bytes() == content  # the damaged key is left as it was


def test_formula_cells_are_neutralised_in_both_files_and_restored_on_reuse(tmp_path: Path):
    frame = _sample_frame()
    codes = pd.factorize(frame["mrn"])[0]
    frame["mrn"] = [FORMULAS[c] if c < len(FORMULAS) else m for c, m in zip(codes, frame["mrn"])]
    frame["therapist_note"] = FORMULAS[0]
    raw = _write(frame, tmp_path)
    first = _run(raw, tmp_path)
    key_text = (tmp_path / "keys" / "cw.csv").read_text()
    cells = [row[0] for row in csv.reader(io.StringIO(key_text))][1:]  # the cells as a spreadsheet sees them
    risky = [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    assert not risky, risky  # every formula identifier is written behind a quote
    assert "'=1+2" in key_text and "'@cmd" in key_text and "''=quoted" in key_text
    out = pd.read_csv(first.out, dtype="str", keep_default_na=False)
    assert set(out.columns) <= set(ALL_COLUMNS)
    for column in out.columns:
        text = out[column]
        formula = text.str.match(r"[=+\-@\t\r]") & ~text.str.fullmatch(r"[-+]?\d+(?:\.\d*)?")
        assert not formula.any(), column
    cw1 = _crosswalk(tmp_path)
    second = _run(raw, tmp_path)
    assert second.n_new_patients == 0 and _crosswalk(tmp_path).equals(cw1)  # same pseudonyms: restored on read
    out2 = pd.read_csv(second.out, dtype="str", keep_default_na=False)
    assert sorted(set(out["patient_id"])) == sorted(set(out2["patient_id"]))


def test_parquet_output_is_typed_and_loads(raw: Path, tmp_path: Path):
    summary = deidentify_export(raw, out=tmp_path / "share" / "v.parquet", key_file=tmp_path / "keys" / "cw.csv")
    back = pd.read_parquet(summary.out)
    assert set(back.columns) <= set(ALL_COLUMNS)
    assert back["value"].dtype == "float64" and back["visit_day"].dtype == "int64"
    assert str(back["twitch_response"].dtype) == "boolean"
    from outcomes.ingest.load import load_visits

    assert load_visits(summary.out).n_patients == 10


def test_allow_list_drops_every_other_column_by_name(tmp_path: Path):
    frame = _sample_frame().assign(
        favourite_colour=SENTINEL,
        patient_id="MRN-REAL-1",
        visit_number="1",
        episode_id="E1",
        **{"Unnamed: 9": SENTINEL},
    )
    summary = _run(_write(frame, tmp_path), tmp_path)
    text = summary.out.read_text()
    header = text.splitlines()[0].split(",")
    assert set(header) <= set(ALL_COLUMNS) and "Gonzalez" not in text and "MRN-REAL" not in text
    assert {"favourite_colour", "patient_id", "visit_number", "episode_id", "Unnamed: 9"} <= set(
        summary.dropped_columns
    )
    assert SENTINEL not in summary.describe()


def test_recode_round_trip_case_and_space_insensitive(tmp_path: Path):
    raw = pd.DataFrame(
        {
            "Chart": ["C1", "C1", "C2", "C2"],
            "Seen": ["2024-01-01", "2024-01-08", "2024-02-01", "2024-02-03"],
            "Dx": ["Neck pain", "  NECK   pain ", "Low back pain", "low back pain"],
            "Tx": ["DN + Ex", "dn+ex", "MT", "Dry_Needling"],
            "Gender": ["F", "f", "M", "m"],
            "Side": ["", "", "", ""],
            "Test": ["NPRS", "nprs", "NPRS", "NPRS"],
            "Score": ["7", "4", "6", "5.5"],
            "LTR": ["Y", "n", "yes", "0"],
        }
    )
    mapping = {
        "patient_key": "chart",
        "visit_date": "seen",
        "birth_date": None,
        "rename": {
            "Dx": "condition",
            "Tx": "treatment",
            "Gender": "sex",
            "Test": "measure",
            "Score": "value",
            "LTR": "twitch_response",
            "Side": "side",
        },
        "recode": {
            "condition": {"neck pain": "neck_pain", "Low Back Pain": "low_back_pain"},
            "treatment": {"DN": "dry_needling", "ex": "exercise", "MT": "manual_therapy"},
            "sex": {"F": "female", "M": "male"},
            "measure": {"NPRS": "pain_nprs"},
            "twitch_response": {"Y": True, "N": "false"},
        },
    }
    res = deidentify_frame(raw, mapping=mapping)
    chart = res.visits["patient_id"].map(res.crosswalk.set_index("patient_id")["chart"])
    v = res.visits.assign(chart=chart).sort_values(["chart", "visit_day"]).reset_index(drop=True)
    assert v["condition"].tolist() == ["neck_pain", "neck_pain", "low_back_pain", "low_back_pain"]
    assert v["treatment"].tolist() == [
        "dry_needling+exercise",
        "dry_needling+exercise",
        "manual_therapy",
        "dry_needling",
    ]
    assert v["sex"].tolist() == ["female", "female", "male", "male"]
    assert v["measure"].tolist() == ["pain_nprs"] * 4 and v["value"].tolist() == [7.0, 4.0, 6.0, 5.5]
    assert v["twitch_response"].tolist() == [True, False, True, False]
    assert res.transformed["Dx"] == "renamed to condition; written as condition codes (4 distinct values recoded)"
    from outcomes.ingest.load import load_visits

    loaded = load_visits(res.visits)
    assert loaded.n_patients == 2 and set(loaded.visits["condition"]) == {"neck_pain", "low_back_pain"}


def test_recode_value_outside_vocabulary_is_still_refused():
    raw = pd.DataFrame({"mrn": ["A"], "visit_date": ["2024-01-01"], "pain_nprs": ["5"], "sex": ["X"]})
    with pytest.raises(OutcomesError) as info:
        deidentify_frame(raw, mapping={"recode": {"sex": {"F": "female"}}})
    assert info.value.rules == ("sex_code",) and info.value.problems[0].rows == (2,)


def test_all_cell_problems_are_listed_at_once(tmp_path: Path):
    frame = _sample_frame()
    frame.loc[0, "condition"] = SENTINEL
    frame.loc[1, "pain_nprs"] = "6,5"
    frame.loc[2, "sex"] = "F"
    with pytest.raises(OutcomesError) as info:
        deidentify_frame(frame, source="raw.csv")
    assert set(info.value.rules) == {"condition_code", "value_numeric", "sex_code"}
    assert {p.column for p in info.value.problems} == {"condition", "pain_nprs", "sex"}
    assert SENTINEL not in str(info.value) and "6,5" not in str(info.value)


def test_result_is_checked_by_the_contract_with_raw_rows():
    raw = pd.DataFrame(
        {
            "mrn": ["A", "A"],
            "visit_date": ["2024-01-01", "2024-01-08"],
            "pain_nprs": ["5", "11"],
            "Dx": ["neck_pain", "migraine"],
        }
    )
    with pytest.raises(OutcomesError) as info:
        deidentify_frame(
            raw, mapping={"rename": {"Dx": "condition"}}, source="raw.csv", rows=pd.Series([10, 11]).to_numpy()
        )
    by_rule = {p.rule: p for p in info.value.problems}
    assert set(by_rule) == {"value_in_bounds", "episode_constant"}
    assert by_rule["value_in_bounds"].rows == (11,)
    assert by_rule["episode_constant"].column == "Dx"  # the raw column, not the contract's name
    assert "would not meet the data contract" in str(info.value)


def test_mapping_problems_are_listed_at_once_with_key_paths(tmp_path: Path):
    m = tmp_path / "m.yaml"
    m.write_text(
        "patient_key: [mrn, MRN]\nvisit_date: 7\nbirth_date: ''\nepisode_gap_days: -5\n"
        "episode_key: referral_id\ndate_format: 5\nrename: {NPRS: pain_nprs, nprs: notes, Pain: pain_nprs}\n"
        "recode: {condition: {Neck: neck}, notes: {a: b}, sex: {yes: female}, treatment: {DN: dry+needling}}\n"
        "colour: blue\n"
    )
    with pytest.raises(OutcomesError) as info:
        read_mapping(m)
    got = {(p.rule, p.column) for p in info.value.problems}
    assert got == {
        ("mapping_unknown_key", "colour"),
        ("mapping_value", "patient_key"),
        ("mapping_type", "visit_date"),
        ("mapping_type", "birth_date"),
        ("mapping_value", "episode_gap_days"),
        ("mapping_type", "date_format"),
        ("mapping_value", "rename.nprs"),
        ("mapping_value", "rename.Pain"),
        ("mapping_value", "recode.condition.Neck"),
        ("mapping_value", "recode.notes"),
        ("mapping_type", "recode.sex.True"),
        ("mapping_value", "recode.treatment.DN"),
    }
    assert all(p.source == str(m) for p in info.value.problems)
    assert len(info.value.problems) == 13 and "13 problems" in str(info.value)  # episode_gap_days: 2 problems


@pytest.mark.parametrize(
    ("mapping", "rule", "column"),
    [
        ({"episode_key": "referral_id", "episode_gap_days": 30}, "mapping_value", "episode_gap_days"),
        ({"episode_gap_days": True}, "mapping_type", "episode_gap_days"),
        ({"episode_gap_days": "ninety"}, "mapping_type", "episode_gap_days"),
        ({"patient_key": []}, "mapping_type", "patient_key"),
        ({"patient_key": ""}, "mapping_type", "patient_key"),
        ({"rename": ["a", "b"]}, "mapping_type", "rename"),
        ({"rename": {"a": "patient_id"}}, "mapping_value", "rename.a"),
        ({"recode": {"sex": ["F"]}}, "mapping_type", "recode.sex"),
    ],
)
def test_mapping_types_and_values(mapping, rule, column):
    with pytest.raises(OutcomesError) as info:
        read_mapping(mapping)
    assert (info.value.rules, info.value.problems[0].column) == ((rule,), column)


@pytest.mark.parametrize("text", ["[]", "false", "42", "- a\n- b"])
def test_mapping_that_is_not_a_mapping(tmp_path: Path, capsys, text: str):
    m = tmp_path / "m.yaml"
    m.write_text(text + "\n")
    assert main(_cli(_write(_sample_frame(), tmp_path), tmp_path, "--mapping", str(m))) == 1
    assert "[mapping_valid]" in capsys.readouterr().err


def test_mapping_roles_and_renames_checked_against_the_export():
    raw = pd.DataFrame({"mrn": ["A"], "visit_date": ["2024-01-01"], "pain_nprs": ["5"]})
    for mapping, rule in (
        ({"rename": {"NPRS": "pain_vas"}}, "mapping_column"),
        ({"patient_key": "visit_date"}, "mapping_value"),
        ({"birth_date": "born"}, "mapping_column"),
    ):
        with pytest.raises(OutcomesError) as info:
            deidentify_frame(raw, mapping=mapping)
        assert info.value.rules == (rule,), mapping


def test_sample_with_sample_mapping_passes_validate(raw: Path, tmp_path: Path, capsys):
    out = tmp_path / "share" / "visits.csv"
    assert (
        main(
            [
                "deidentify",
                str(raw),
                "--out",
                str(out),
                "--key-file",
                str(tmp_path / "keys" / "cw.csv"),
                "--mapping",
                str(SAMPLE_MAPPING),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "dropped: patient_name" in printed and "MRN-FAKE" not in printed and "McTestface" not in printed
    assert main(["validate", str(out)]) == 0
    assert "patients: 10   episodes: 11" in capsys.readouterr().out


def _refusal_text(raw: pd.DataFrame) -> str:
    try:
        deidentify_frame(raw, source="raw.csv")
    except OutcomesError as err:
        return "\n".join(p.message for p in err.problems)
    return ""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cell=st.text(min_size=1, max_size=40).filter(lambda t: t.strip() and "\x00" not in t),
    column=st.sampled_from(["condition", "treatment", "sex", "side"]),
)
def test_property_arbitrary_cells_become_codes_or_are_refused_unquoted(cell: str, column: str):
    raw = pd.DataFrame(
        {
            "mrn": ["A", "B"],
            "visit_date": ["2024-01-01", "2024-01-02"],
            "rom_shoulder_flexion": ["100", "120"],
            "side": ["left", "right"],
            column: [cell, cell],
        }
    )
    vocab = {"condition": set(CONDITIONS), "sex": set(SEXES), "side": {"left", "right", "none"}}
    try:
        res = deidentify_frame(raw, source="raw.csv")
    except OutcomesError as err:
        # the value must not be quoted; a value that is a word of the fixed message text (such as
        # "map") is in the message whatever the value, so the message for a neutral value is the reference
        fixed = _refusal_text(raw.assign(**{column: ["qqzx", "qqzx"]}))
        if len(cell.strip()) >= 3 and cell.strip() not in fixed:
            assert cell.strip() not in "\n".join(p.message for p in err.problems)
        return
    written = set(res.visits[column].dropna())
    if column == "treatment":
        assert all(part in TREATMENTS for t in written for part in t.split("+"))
    else:
        assert written <= vocab[column]
