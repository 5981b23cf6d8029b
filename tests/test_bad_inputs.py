"""Every input rule with a small bad file: the message names file, row(s), column and rule.

Small text cases live in tests/bad_inputs/ (``ok_*`` files must load); binary, UTF-16,
Latin-1 and Parquet cases are generated in tmp_path.  Each case is also run through the
CLI: exit 1 for bad data, 0 for loadable data, never a traceback, input bytes unchanged.
"""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import outcomes.safety.files
from outcomes import load_visits
from outcomes.cli import main
from outcomes.errors import OutcomesError

BAD = Path(__file__).parent / "bad_inputs"
VENV_BIN = Path(sys.executable).parent

# file -> (rule, rows, column); rows/column None when the rule is file-level.
CASES = {
    "empty.csv": ("file_not_empty", None, None),
    "header_only.csv": ("has_data_rows", None, None),
    "semicolon_delimiter.csv": ("delimiter_comma", (1,), None),
    "tab_delimiter.csv": ("delimiter_comma", (1,), None),
    "decimal_comma.csv": ("value_numeric", (3,), "value"),
    "pain_11.csv": ("value_in_bounds", (3,), "value"),
    "pain_negative.csv": ("value_in_bounds", (2,), "value"),
    "pain_seven.csv": ("value_numeric", (3,), "value"),
    "rom_400.csv": ("value_in_bounds", (3,), "value"),
    "visit_day_negative.csv": ("visit_day_nonnegative", (3,), "visit_day"),
    "visit_day_fraction.csv": ("visit_day_integer", (3,), "visit_day"),
    "visit_day_text.csv": ("visit_day_integer", (3,), "visit_day"),
    "visit_day_empty.csv": ("required_present", (3,), "visit_day"),
    "visit_day_huge.csv": ("visit_day_range", (3,), "visit_day"),
    "visit_number_huge.csv": ("visit_number_range", (3,), "visit_number"),
    "conflicting_duplicate.csv": ("duplicate_conflict", (3, 4), "value"),
    "unknown_measure.csv": ("measure_registered", (3,), "measure"),
    "swapped_columns.csv": ("measure_registered", (2, 3), "measure"),
    "missing_value_column.csv": ("required_columns", (1,), "value"),
    "first_day_not_zero.csv": ("first_visit_day_zero", (2,), "visit_day"),
    "visit_number_inconsistent.csv": ("visit_number_consistent", (3, 4), "visit_number"),
    "visit_number_fraction.csv": ("visit_number_integer", (3,), "visit_number"),
    "side_invalid.csv": ("side_valid", (3,), "side"),
    "sided_without_side.csv": ("side_valid", (2, 3), "side"),
    "side_on_unsided.csv": ("side_valid", (2,), "side"),
    "condition_unknown.csv": ("condition_code", (2, 3), "condition"),
    "age_band_bad.csv": ("age_band_code", (2,), "age_band"),
    "sex_bad.csv": ("sex_code", (2,), "sex"),
    "treatment_bad.csv": ("treatment_code", (2,), "treatment"),
    "episode_varies.csv": ("episode_constant", (2, 3), "condition"),
    "visit_varies.csv": ("visit_constant", (2, 3), "treatment"),
    "twitch_bad.csv": ("twitch_response_boolean", (2,), "twitch_response"),
    "soreness_negative.csv": ("soreness_in_bounds", (2,), "soreness_hours"),
    "soreness_too_long.csv": ("soreness_in_bounds", (2,), "soreness_hours"),
    "soreness_text.csv": ("soreness_numeric", (2,), "soreness_hours"),
    "value_nan.csv": ("value_finite", (2,), "value"),
    "value_inf.csv": ("value_finite", (3,), "value"),
    "patient_id_empty.csv": ("required_present", (3,), "patient_id"),
    "episode_two_patients.csv": ("episode_single_patient", (2, 3), "episode_id"),
    "ragged_row.csv": ("csv_parsable", (3,), None),
    "duplicate_header.csv": ("unique_columns", (1,), "value"),
    "blank_first_line.csv": ("csv_parsable", (1,), None),
    "unclosed_quote.csv": ("csv_parsable", None, None),
    "all_values_missing.csv": ("has_data_rows", None, "value"),
}
OK_FILES = sorted(p.name for p in BAD.glob("ok_*.csv"))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _problem(err: OutcomesError, rule: str):
    matches = [p for p in err.problems if p.rule == rule]
    assert matches, f"{rule} not in {err.rules}"
    return matches[0]


def _check_message(err: OutcomesError, path: Path, rule: str, rows, column) -> None:
    problem = _problem(err, rule)
    text = str(err)
    assert path.name in text and f"[{rule}]" in text
    if rows is not None:
        assert problem.rows == tuple(rows)
        assert (f"row {rows[0]}" if len(rows) == 1 else f"rows {rows[0]}, ") in text
    if column is not None:
        assert problem.column == column and f"column {column}" in text


def test_at_least_thirty_bad_files_all_listed():
    files = {p.name for p in BAD.glob("*.csv")} - set(OK_FILES) - {"many_problems.csv"}
    assert files == set(CASES) and len(CASES) >= 30
    assert all(p.stat().st_size < 2000 for p in BAD.iterdir())


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_file_names_file_rows_column_rule(name):
    path = BAD / name
    rule, rows, column = CASES[name]
    with pytest.raises(OutcomesError) as exc:
        load_visits(path)
    _check_message(exc.value, path, rule, rows, column)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_file_through_cli_exit_1_no_traceback_input_unchanged(name, capsys):
    path = BAD / name
    before = _sha(path)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"[{CASES[name][0]}]" in err and name in err
    assert _sha(path) == before


@pytest.mark.parametrize("name", OK_FILES)
def test_loadable_files_exit_0(name, capsys):
    path = BAD / name
    before = _sha(path)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "patients:" in out and "measurements by measure:" in out
    assert _sha(path) == before


def test_specific_messages():
    def err(name):
        with pytest.raises(OutcomesError) as exc:
            load_visits(BAD / name)
        return str(exc.value)

    assert "decimal comma" in err("decimal_comma.csv")
    assert "did you mean 'pain_nprs' (row 3)?" in err("unknown_measure.csv")
    condition = err("condition_unknown.csv")
    assert "did you mean 'neck_pain' (rows 2, 3)?" in condition and "1 distinct value not allowed" in condition
    treatment = err("treatment_bad.csv")
    assert "1 distinct value not allowed" in treatment
    for name, cell in (
        ("condition_unknown.csv", "neck_pian"),
        ("unknown_measure.csv", "pain_nrs"),
        ("treatment_bad.csv", "cupping"),
        ("side_invalid.csv", None),
        ("sex_bad.csv", None),
        ("rom_400.csv", "400"),
        ("pain_11.csv", "11"),
        ("visit_day_huge.csv", "18446744073709551616"),
        ("visit_number_huge.csv", "9223372036854775807"),
    ):
        text = err(name)
        cells = {c for line in (BAD / name).read_text().splitlines()[1:] for c in line.split(",")}
        quoted = [c for c in ({cell} if cell else cells) - {"", "P001"} if f"'{c}'" in text or f"({c})" in text]
        assert not quoted, (name, quoted)  # no message quotes a cell value
    assert "1 value above the upper bound" in err("pain_11.csv")
    assert "swapped" in err("swapped_columns.csv")
    text = err("rom_400.csv")
    assert "rom_cervical_flexion" in text and "0-90 degrees" in text
    assert "semicolons" in err("semicolon_delimiter.csv")
    assert "tabs" in err("tab_delimiter.csv")
    assert "20-29" not in err("age_band_bad.csv").split("found", 1)[1]  # an age is never echoed
    assert "P001" not in err("patient_id_empty.csv") + err("episode_two_patients.csv")


def test_all_problems_reported_at_once():
    with pytest.raises(OutcomesError) as exc:
        load_visits(BAD / "many_problems.csv")
    err = exc.value
    assert err.headline == f"{BAD / 'many_problems.csv'} does not meet the data contract (4 problems):"
    assert sorted(err.rules) == sorted(["value_numeric", "value_in_bounds", "value_in_bounds", "first_visit_day_zero"])
    pain = [p for p in err.problems if p.rule == "value_in_bounds" and "pain_nprs" in p.message]
    assert pain[0].rows == (2, 3)  # same rule, same column, same measure -> one problem


def test_loadable_files_content():
    trailing = load_visits(BAD / "ok_excel_trailing.csv")
    assert len(trailing.visits) == 2
    assert sorted(trailing.exclusions["rule"]) == ["blank_column", "blank_row", "blank_row"]
    single = load_visits(BAD / "ok_single_visit.csv")
    assert single.n_episodes == 2 and single.n_visits == 3
    no_base = load_visits(BAD / "ok_no_baseline_measure.csv")
    grip = no_base.visits[no_base.visits["measure"] == "grip_strength_kg"]
    assert grip[["visit_number", "side"]].values.tolist() == [[2, "right"]]
    missing = load_visits(BAD / "ok_value_missing.csv")
    assert missing.visits["visit_number"].tolist() == [1, 3]  # the visit still counts
    assert missing.exclusions[["row", "rule"]].values.tolist() == [[3, "value_missing"]]
    dup = load_visits(BAD / "ok_exact_duplicate.csv")
    assert dup.visits["row"].tolist() == [2, 3]
    assert dup.exclusions[["row", "rule"]].values.tolist() == [[4, "exact_duplicate"]]


# --- generated cases (binary content, encodings, Parquet, file system) -------------------------

GOOD = "patient_id,visit_day,measure,value\nP001,0,pain_nprs,6\nP001,7,pain_nprs,4\n"


def _frame():
    return pd.DataFrame(
        {"patient_id": ["P001", "P001"], "visit_day": [0, 7], "measure": "pain_nprs", "value": [6.0, 4.0]}
    )


def _parquet_bytes(tmp_path, frame):
    p = tmp_path / "tmp.parquet"
    frame.to_parquet(p)
    return p.read_bytes()


def _generated(tmp_path):
    return {
        "garbage.csv": (np.random.default_rng(7).integers(0, 256, 4000, dtype=np.uint8).tobytes(), "binary_file", None),
        "utf16.csv": (GOOD.encode("utf-16"), "encoding_utf8", None),
        "utf16_no_bom.csv": (GOOD.encode("utf-16-le"), "encoding_utf8", None),
        "latin1.csv": (
            (GOOD + "P002,0,pain_nprs,5\n").replace("P002", "P\u00e9").encode("latin-1"),
            "encoding_utf8",
            (4,),
        ),
        "book.xlsx": (b"PK\x03\x04" + bytes(200), "excel_file", None),
        "legacy.xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "excel_file", None),
        "one_line.csv": (b"patient_id,visit_day,measure,value," + b"x" * 10_000_000 + b"\n", "line_too_long", (1,)),
        "truncated.parquet": (_parquet_bytes(tmp_path, _frame())[:300], "parquet_readable", None),
        "corrupt.parquet": (b"PAR1" + bytes(100) + b"PAR1", "parquet_readable", None),
        "wrong_types.parquet": (_parquet_bytes(tmp_path, _frame().assign(value=["six", "4"])), "value_numeric", (2,)),
        "fraction_day.parquet": (
            _parquet_bytes(tmp_path, _frame().assign(visit_day=[0.0, 7.5])),
            "visit_day_integer",
            (3,),
        ),
        "bool_value.parquet": (_parquet_bytes(tmp_path, _frame().assign(value=[True, False])), "value_numeric", (2, 3)),
        "inf.parquet": (_parquet_bytes(tmp_path, _frame().assign(value=[np.inf, 4.0])), "value_finite", (2,)),
    }


def test_generated_bad_files(tmp_path, capsys):
    for name, (data, rule, rows) in _generated(tmp_path).items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(OutcomesError) as exc:
            load_visits(path)
        _check_message(exc.value, path, rule, rows, None)
        assert main(["validate", str(path)]) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err and f"[{rule}]" in err
        assert path.read_bytes() == data


def test_encoding_messages_say_how_to_convert(tmp_path):
    for name, data in (
        ("a.csv", GOOD.encode("utf-16")),
        ("b.csv", "P\u00e9".join(GOOD.split("P", 1)).encode("cp1252")),
    ):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(OutcomesError) as exc:
            load_visits(tmp_path / name)
        assert "iconv" in str(exc.value)
    with pytest.raises(OutcomesError, match="UTF-16"):
        load_visits(tmp_path / "a.csv")
    with pytest.raises(OutcomesError, match="Latin-1"):
        load_visits(tmp_path / "b.csv")


def test_nan_in_parquet_is_a_missing_value(tmp_path):
    path = tmp_path / "nan.parquet"
    _frame().assign(value=[6.0, np.nan]).to_parquet(path)
    loaded = load_visits(path)
    assert loaded.exclusions[["row", "rule"]].values.tolist() == [[3, "value_missing"]]


def test_bom_file_loads(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert load_visits(path).visits["value"].tolist() == [6.0, 4.0]


def test_directory_and_missing_file(tmp_path, capsys):
    for path, rule in ((tmp_path, "not_a_directory"), (tmp_path / "nope.csv", "file_exists")):
        with pytest.raises(OutcomesError) as exc:
            load_visits(path)
        assert exc.value.rules == (rule,) and str(path) in str(exc.value)
        assert main(["validate", str(path)]) == 1
        assert "Traceback" not in capsys.readouterr().err


def test_permission_denied_is_reported(tmp_path, monkeypatch):
    path = tmp_path / "v.csv"
    path.write_text(GOOD)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(outcomes.safety.files.os, "open", denied)  # the one place input files are opened
    with pytest.raises(OutcomesError) as exc:
        load_visits(path)
    assert exc.value.rules == ("file_readable",)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_permission_denied_real_file(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text(GOOD)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running with privileges that bypass file permissions (root)")
        with pytest.raises(OutcomesError) as exc:
            load_visits(path)
        assert exc.value.rules == ("file_readable",)
    finally:
        path.chmod(0o600)


def test_usage_errors_exit_2(capsys):
    assert main(["validate"]) == 2
    assert main(["validate", "x.csv", "--no-such-flag"]) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("outcomes", path=str(VENV_BIN)) is None, reason="console script not installed")
def test_console_script_subprocess(tmp_path):
    exe = shutil.which("outcomes", path=str(VENV_BIN))
    bad = BAD / "pain_11.csv"
    before = _sha(bad)
    run = subprocess.run([exe, "validate", str(bad)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr and "[value_in_bounds]" in run.stderr and "row 3" in run.stderr
    assert _sha(bad) == before
