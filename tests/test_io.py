"""outcomes.ingest.records: reading bytes into a RawTable (formats, row numbers, tidying, wide form)."""

import hashlib

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from outcomes import load_visits
from outcomes.errors import OutcomesError
from outcomes.ingest.records import RawTable, read_records
from outcomes.safety.limits import current_limits

LONG = (
    "patient_id,visit_day,measure,side,value,condition\n"
    "P001,0,pain_nprs,,6,neck_pain\n"
    "P001,0,rom_cervical_flexion,,40,neck_pain\n"
    "P001,0,grip_strength_kg,left,30,neck_pain\n"
    "P001,7,pain_nprs,,4,neck_pain\n"
    "P001,7,rom_cervical_flexion,,48,neck_pain\n"
    "P002,0,pain_nprs,,5,tmd\n"
)
WIDE = (
    "patient_id,visit_day,side,pain_nprs,rom_cervical_flexion,grip_strength_kg,condition\n"
    "P001,0,,6,40,,neck_pain\n"
    "P001,0,left,,,30,neck_pain\n"
    "P001,7,,4,48,,neck_pain\n"
    "P002,0,,5,,,tmd\n"
)


def _write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return p


def test_csv_cells_are_strings_as_written_and_rows_numbered_from_header(tmp_path):
    p = _write(tmp_path, "v.csv", "patient_id,visit_day,measure,value\nP1, 0 ,pain_nprs,06\nP1,7,pain_nprs,4\n")
    raw = read_records(p)
    assert isinstance(raw, RawTable)
    assert raw.fmt == "csv" and raw.source == str(p)
    assert raw.frame["visit_day"].tolist() == [" 0 ", "7"]
    assert raw.frame["value"].tolist() == ["06", "4"]
    assert raw.rows.dtype == np.int64 and raw.rows.tolist() == [2, 3]
    assert raw.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()


def test_bom_and_crlf_tolerated(tmp_path):
    p = _write(tmp_path, "bom.csv", b"\xef\xbb\xbfpatient_id,visit_day,measure,value\r\nP1,0,pain_nprs,6\r\n")
    raw = read_records(p)
    assert raw.frame.columns.tolist() == ["patient_id", "visit_day", "measure", "value"]
    assert raw.frame["value"].tolist() == ["6"]


def test_parquet_detected_by_content_not_extension(tmp_path):
    frame = pd.DataFrame({"patient_id": ["P1", "P1"], "visit_day": [0, 7], "measure": "pain_nprs", "value": [6.0, 4.0]})
    p = tmp_path / "looks_like.csv"
    frame.to_parquet(p)
    raw = read_records(p)
    assert raw.fmt == "parquet"
    assert raw.rows.tolist() == [2, 3]  # position + 2, like a CSV with a header
    assert raw.frame["value"].dtype == np.float64  # native types kept
    assert load_visits(p).visits["value"].tolist() == [6.0, 4.0]


def test_dataframe_input_is_not_modified():
    frame = pd.DataFrame({"patient_id": ["P1"], "visit_day": [0], "measure": ["pain_nprs"], "value": [6]}, index=[10])
    before = frame.copy()
    raw = read_records(frame)
    assert raw.fmt == "frame" and raw.source == "<DataFrame>" and raw.rows.tolist() == [2]
    assert len(raw.sha256) == 64 and raw.sha256 == read_records(before).sha256
    assert raw.sha256 != read_records(before.assign(value=[7])).sha256
    assert_frame_equal(frame, before)


def test_blank_rows_and_empty_unnamed_columns_dropped_and_recorded(tmp_path):
    p = _write(
        tmp_path,
        "x.csv",
        "patient_id,visit_day,measure,value,,\nP1,0,pain_nprs,6,,\n,,,,,\nP1,7,pain_nprs,4,,\n,,,,,\n \n",
    )
    raw = read_records(p)
    assert raw.frame.columns.tolist() == ["patient_id", "visit_day", "measure", "value"]
    assert raw.rows.tolist() == [2, 4]
    notes = raw.notes
    assert notes.loc[notes["rule"] == "blank_row", "row"].tolist() == [3, 5, 6]
    assert (notes["rule"] == "blank_column").sum() == 2


def test_unnamed_column_with_content_is_kept(tmp_path):
    p = _write(tmp_path, "x.csv", "patient_id,visit_day,measure,value,\nP1,0,pain_nprs,6,note\n")
    assert "unnamed_5" in read_records(p).frame.columns


def test_wide_form_melted_keeping_row_numbers(tmp_path):
    raw = read_records(_write(tmp_path, "w.csv", WIDE))
    assert raw.wide
    assert raw.frame["measure"].tolist() == [
        "pain_nprs",
        "rom_cervical_flexion",
        "grip_strength_kg",
        "pain_nprs",
        "rom_cervical_flexion",
        "pain_nprs",
    ]
    assert raw.rows.tolist() == [2, 2, 3, 4, 4, 5]
    assert raw.frame["value"].tolist() == ["6", "40", "30", "4", "48", "5"]


def test_wide_row_without_measurement_recorded(tmp_path):
    raw = read_records(_write(tmp_path, "w.csv", "patient_id,visit_day,pain_nprs\nP1,0,6\nP1,7,\n"))
    assert raw.rows.tolist() == [2]
    assert raw.notes[["row", "rule"]].values.tolist() == [[3, "value_missing"]]


def test_wide_side_applies_to_sided_measures_only(tmp_path):
    p = _write(tmp_path, "w.csv", "patient_id,visit_day,side,pain_nprs,grip_strength_kg\nP1,0,left,6,30\n")
    v = load_visits(p).visits
    assert v[["measure", "side", "row"]].values.tolist() == [["grip_strength_kg", "left", 2], ["pain_nprs", "none", 2]]


def test_wide_and_long_load_equal(tmp_path):
    long = load_visits(_write(tmp_path, "long.csv", LONG))
    wide = load_visits(_write(tmp_path, "wide.csv", WIDE))
    assert len(long.visits) == 6
    assert_frame_equal(long.visits.drop(columns="row"), wide.visits.drop(columns="row"))


def test_wide_parquet_equals_long_csv(tmp_path):
    wide = pd.read_csv(_write(tmp_path, "wide.csv", WIDE), dtype={"side": "str"})
    wide.to_parquet(tmp_path / "wide.parquet")
    long = load_visits(_write(tmp_path, "long.csv", LONG))
    assert_frame_equal(
        long.visits.drop(columns="row"), load_visits(tmp_path / "wide.parquet").visits.drop(columns="row")
    )


def test_line_guard_just_below_limit_is_parsed(tmp_path):
    cell = "x" * (current_limits().max_line_bytes - 40)
    p = _write(tmp_path, "ok.csv", f"patient_id,visit_day,measure,value,notes\nP1,0,pain_nprs,6,{cell}\n")
    assert read_records(p).frame["notes"].str.len().tolist() == [len(cell)]
    p = _write(tmp_path, "long.csv", f"patient_id,visit_day,measure,value,notes\nP1,0,pain_nprs,6,{cell * 2}\n")
    with pytest.raises(OutcomesError) as exc:
        read_records(p)
    assert exc.value.rules == ("line_too_long",) and exc.value.problems[0].rows == (2,)
    assert "OUTCOMES_MAX_LINE_BYTES" in str(exc.value)  # says how to raise the limit


def test_line_limit_follows_the_environment(tmp_path, monkeypatch):
    p = _write(tmp_path, "v.csv", LONG)
    monkeypatch.setenv("OUTCOMES_MAX_LINE_BYTES", "30")
    with pytest.raises(OutcomesError) as exc:
        read_records(p)
    assert exc.value.rules == ("line_too_long",) and exc.value.problems[0].rows == (1,)
    monkeypatch.setenv("OUTCOMES_MAX_LINE_BYTES", "60")
    assert len(read_records(p).frame) == 6


def test_duplicate_column_names_refused_for_frames():
    frame = pd.DataFrame(
        [["P1", 0, "pain_nprs", 6, 6]], columns=["patient_id", "visit_day", "measure", "value", "value"]
    )
    with pytest.raises(OutcomesError) as exc:
        read_records(frame)
    assert exc.value.rules == ("unique_columns",)


def test_input_file_bytes_and_mtime_unchanged(tmp_path):
    p = _write(tmp_path, "v.csv", LONG)
    before = (p.read_bytes(), p.stat().st_mtime_ns)
    load_visits(p)
    assert (p.read_bytes(), p.stat().st_mtime_ns) == before
