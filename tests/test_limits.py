"""Bounded work: every stated limit (outcomes.safety.limits) refuses its input cheaply, before the work starts.

Each limit is triggered with a small input by lowering it through its environment variable; the
inputs that used to exhaust memory or hang (a 50M-row Parquet file of under 2 MB, /dev/zero,
/dev/urandom, a FIFO, 100,000 columns, 2^64 as a day, n_boot of 10^9, 10^8 synthetic episodes)
are refused with exit 1 and a message saying how to raise the limit.
"""

import io
import os
import threading
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from outcomes import load_visits
from outcomes.cli import main
from outcomes.errors import OutcomesError
from outcomes.ingest.records import read_records
from outcomes.ingest.synth import SynthParams, simulate_visits
from outcomes.spec.plan import plan_from_mapping

GOOD = "patient_id,visit_day,measure,value\nP1,0,pain_nprs,6\nP1,7,pain_nprs,4\nP2,0,pain_nprs,5\n"


def _csv(tmp_path, text, name="v.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _long_csv(tmp_path, n_rows):
    rows = "".join(f"P{i},0,pain_nprs,5\n" for i in range(n_rows))
    return _csv(tmp_path, "patient_id,visit_day,measure,value\n" + rows)


def _refused(source, **kw) -> OutcomesError:
    with pytest.raises(OutcomesError) as exc:
        load_visits(source, **kw)
    return exc.value


def _in_thread(fn, timeout=20.0):
    """Run ``fn`` in a thread; ``None`` if it did not finish in time (a hang fails, never blocks the suite)."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    return None if thread.is_alive() else box


# --- rows, columns, bytes, lines -----------------------------------------------------------------


def test_max_rows_csv(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTCOMES_MAX_ROWS", "10")
    assert len(load_visits(_long_csv(tmp_path, 10)).visits) == 10
    err = _refused(_long_csv(tmp_path, 11))
    assert err.rules == ("limit_max_rows",)
    assert "OUTCOMES_MAX_ROWS" in str(err) and "more than 10 records" in str(err)


def test_max_rows_parquet_from_metadata(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTCOMES_MAX_ROWS", "10")
    path = tmp_path / "v.parquet"
    pd.DataFrame(
        {"patient_id": [f"P{i}" for i in range(11)], "visit_day": 0, "measure": "pain_nprs", "value": 5.0}
    ).to_parquet(path)
    err = _refused(path)
    assert err.rules == ("limit_max_rows",) and "11 rows" in str(err)


def test_max_rows_counts_the_melted_wide_form(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTCOMES_MAX_ROWS", "10")
    rows = "".join(f"P{i},0,6,40,30\n" for i in range(4))  # 4 visit rows, 12 measurements
    path = _csv(tmp_path, "patient_id,visit_day,pain_nprs,rom_cervical_flexion,rom_cervical_extension\n" + rows)
    err = _refused(path)
    assert err.rules == ("limit_max_rows",) and "12 measurements" in str(err)
    monkeypatch.setenv("OUTCOMES_MAX_ROWS", "12")
    assert len(load_visits(path).visits) == 12


def test_max_columns_csv_from_the_header(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTCOMES_MAX_COLUMNS", "5")
    ok = _csv(tmp_path, "patient_id,visit_day,measure,value,side\nP1,0,pain_nprs,6,\n", "ok.csv")
    assert len(load_visits(ok).visits) == 1
    err = _refused(_csv(tmp_path, "patient_id,visit_day,measure,value,side,notes\nP1,0,pain_nprs,6,,\n"))
    assert err.rules == ("limit_max_columns",) and err.problems[0].rows == (1,)
    assert "OUTCOMES_MAX_COLUMNS" in str(err)


def test_max_columns_parquet(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTCOMES_MAX_COLUMNS", "4")
    path = tmp_path / "v.parquet"
    pd.read_csv(io.StringIO(GOOD)).assign(side="none").to_parquet(path)
    assert _refused(path).rules == ("limit_max_columns",)


def test_hundred_thousand_columns_refused_at_once(tmp_path):
    n = 100_000
    text = ",".join(f"c{i}" for i in range(n)) + "\n" + ",".join("1" * 1 for _ in range(n)) + "\n"
    path = _csv(tmp_path, text)
    assert 0.5e6 < path.stat().st_size < 1.1e6
    start = time.perf_counter()
    err = _refused(path)
    elapsed = time.perf_counter() - start
    assert err.rules == ("limit_max_columns",) and "100,000 columns" in str(err)
    assert elapsed < 5, elapsed  # refused from the header (milliseconds), not parsed (minutes before)


def test_many_columns_are_handled_in_linear_time(tmp_path, monkeypatch):
    # with the limit raised, each column costs the same: 4x the columns is not 16x the time
    monkeypatch.setenv("OUTCOMES_MAX_COLUMNS", "100000")

    def seconds(n):
        text = (
            "patient_id,visit_day,measure,value,"
            + ",".join(f"x{i}" for i in range(n))
            + "\n"
            + "P1,0,pain_nprs,6,"
            + ",".join("1" for _ in range(n))
            + "\n"
        )
        path = _csv(tmp_path, text, f"w{n}.csv")
        start = time.perf_counter()
        loaded = load_visits(path, phi_guard=False)
        assert (loaded.exclusions["rule"] == "unknown_column").sum() == n
        return time.perf_counter() - start

    seconds(200)  # warm up
    small, large = min(seconds(1000) for _ in range(2)), min(seconds(4000) for _ in range(2))
    assert large < 8 * small + 0.5, (small, large)


def test_max_file_bytes(tmp_path, monkeypatch):
    path = _csv(tmp_path, GOOD)
    monkeypatch.setenv("OUTCOMES_MAX_FILE_BYTES", str(len(GOOD) - 1))
    err = _refused(path)
    assert err.rules == ("limit_max_file_bytes",) and "OUTCOMES_MAX_FILE_BYTES" in str(err)
    monkeypatch.setenv("OUTCOMES_MAX_FILE_BYTES", str(len(GOOD)))
    assert len(load_visits(path).visits) == 3


def test_max_line_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTCOMES_MAX_LINE_BYTES", "20")
    err = _refused(_csv(tmp_path, GOOD))
    assert err.rules == ("line_too_long",) and err.problems[0].rows == (1,)
    assert "OUTCOMES_MAX_LINE_BYTES" in str(err)


def test_max_uncompressed_bytes_from_metadata(tmp_path, monkeypatch):
    path = tmp_path / "v.parquet"
    pd.DataFrame(
        {"patient_id": "P1", "visit_day": np.zeros(1000, dtype=np.int64), "measure": "pain_nprs", "value": 5.0}
    ).to_parquet(path)
    monkeypatch.setenv("OUTCOMES_MAX_UNCOMPRESSED_BYTES", "10000")  # 1,000 rows x 4 cells x 8 bytes > 10,000
    err = _refused(path, phi_guard=False)
    assert err.rules == ("limit_max_uncompressed_bytes",) and "OUTCOMES_MAX_UNCOMPRESSED_BYTES" in str(err)


def test_bad_limit_setting_is_an_outcomes_error(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTCOMES_MAX_ROWS", "lots")
    assert _refused(_csv(tmp_path, GOOD)).rules == ("limit_setting",)


# --- the inputs of the audit ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def fifty_million_rows(tmp_path_factory):
    """A Parquet file of 50,000,000 rows of one constant text column, under 2 MB (dictionary + RLE)."""
    path = tmp_path_factory.mktemp("big") / "fifty_million.parquet"
    chunk = pa.table(
        {"patient_id": pa.DictionaryArray.from_arrays(pa.array(np.zeros(1_000_000, dtype=np.int32)), pa.array(["P1"]))}
    )
    with pq.ParquetWriter(path, chunk.schema, compression="zstd") as writer:
        for _ in range(50):  # 50 row groups of 1M: 4 MB in memory at a time
            writer.write_table(chunk)
    return path


def test_fifty_million_row_parquet_refused_from_its_footer(fifty_million_rows, monkeypatch):
    assert fifty_million_rows.stat().st_size < 2_000_000
    assert pq.ParquetFile(fifty_million_rows).metadata.num_rows == 50_000_000

    def decoded(*args, **kwargs):
        raise AssertionError("the table was decoded before its size was checked")

    monkeypatch.setattr(pq, "read_table", decoded)
    start = time.perf_counter()
    err = _refused(fifty_million_rows)
    elapsed = time.perf_counter() - start
    assert err.rules == ("limit_max_rows",) and "50,000,000 rows" in str(err)
    assert elapsed < 5, elapsed  # footer only: milliseconds (it used to end in MemoryError)


def test_fifty_million_rows_through_the_cli(fifty_million_rows, capsys):
    assert main(["validate", str(fifty_million_rows)]) == 1
    err = capsys.readouterr().err
    assert "[limit_max_rows]" in err and "Traceback" not in err


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_devices_refused_before_reading(device, capsys):
    if not os.path.exists(device):
        pytest.skip(f"{device} not on this system")
    box = _in_thread(lambda: load_visits(device))
    assert box is not None, f"load_visits({device}) did not return"
    assert isinstance(box.get("error"), OutcomesError) and box["error"].rules == ("regular_file",)
    assert "character device" in str(box["error"])
    assert main(["validate", device]) == 1
    assert "[regular_file]" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_fifo_refused_without_hanging(tmp_path):
    fifo = tmp_path / "visits.csv"
    os.mkfifo(fifo)
    box = _in_thread(lambda: load_visits(fifo))
    if box is None:  # a regression: unblock the reader so the thread ends, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("load_visits blocked on a FIFO")
    assert isinstance(box.get("error"), OutcomesError) and box["error"].rules == ("regular_file",)
    assert "FIFO" in str(box["error"])


@pytest.mark.parametrize("column", ["visit_day", "visit_number"])
@pytest.mark.parametrize(
    "written", ["18446744073709551616", "9223372036854775807", "9223372036854775808", "1e30", "1E300", "100000000000"]
)
def test_huge_integers_refused_never_wrapped(tmp_path, column, written):
    number = "1" if column == "visit_number" else "0"
    text = (
        f"patient_id,visit_day,visit_number,measure,value\nP1,0,1,pain_nprs,6\n"
        f"P1,{written if column == 'visit_day' else '7'},{written if column == 'visit_number' else '2'},"
        f"pain_nprs,4\nP2,0,{number},pain_nprs,5\n"
    )
    err = _refused(_csv(tmp_path, text))
    problem = next(p for p in err.problems if p.rule == f"{column}_range")
    assert problem.rows == (3,) and problem.column == column
    assert f"OUTCOMES_MAX_{column.upper()}" in problem.message
    assert written not in str(err)  # the cell is not quoted


def test_uint64_parquet_day_refused(tmp_path):
    path = tmp_path / "v.parquet"
    pa_table = pa.table(
        {
            "patient_id": ["P1", "P1"],
            "visit_day": pa.array([0, 2**64 - 1], type=pa.uint64()),
            "measure": ["pain_nprs"] * 2,
            "value": [6.0, 4.0],
        }
    )
    pq.write_table(pa_table, path)
    err = _refused(path)
    assert [p.rows for p in err.problems if p.rule == "visit_day_range"] == [(3,)]


def test_int64_extremes_in_parquet_refused(tmp_path):
    path = tmp_path / "v.parquet"
    pd.DataFrame(
        {
            "patient_id": ["P1"] * 3,
            "visit_day": np.array([0, 5, 2**63 - 1], dtype=np.int64),
            "visit_number": np.array([1, 2, -(2**63)], dtype=np.int64),
            "measure": "pain_nprs",
            "value": [6.0, 4.0, 3.0],
        }
    ).to_parquet(path)
    err = _refused(path)
    assert {"visit_day_range", "visit_number_integer"} <= set(err.rules)


def test_visit_ranges_follow_their_limits(tmp_path, monkeypatch):
    path = _csv(tmp_path, GOOD)
    monkeypatch.setenv("OUTCOMES_MAX_VISIT_DAY", "6")
    assert _refused(path).rules == ("visit_day_range",)
    monkeypatch.setenv("OUTCOMES_MAX_VISIT_DAY", "7")
    loaded = load_visits(path)
    assert loaded.visits["visit_day"].max() == 7 and (loaded.visits["visit_day"] >= 0).all()
    monkeypatch.setenv("OUTCOMES_MAX_VISIT_NUMBER", "1")
    assert _refused(
        _csv(
            tmp_path,
            "patient_id,visit_day,visit_number,measure,value\nP1,0,1,pain_nprs,6\nP1,7,2,pain_nprs,4\n",
            "n.csv",
        )
    ).rules == ("visit_number_range",)


@pytest.mark.parametrize(
    "column, values, rule",
    [
        ("tags", pa.array([[1], [2]]), "parquet_nested_column"),
        ("extra", pa.array([{"a": 1}, {"a": 2}]), "parquet_nested_column"),
        ("pairs", pa.array([[("a", 1)], [("b", 2)]], type=pa.map_(pa.string(), pa.int64())), "parquet_nested_column"),
        ("value", pa.array([[6.0], [4.0]]), "parquet_nested_column"),
        ("blob", pa.array([b"a", b"\x00"]), "parquet_column_type"),
        ("patient_id", pa.array([b"P1", b"P1"], type=pa.binary(2)), "parquet_column_type"),
    ],
)
def test_parquet_nested_and_binary_columns_refused_by_name(tmp_path, column, values, rule, capsys):
    base = {
        "patient_id": pa.array(["P1", "P1"]),
        "visit_day": pa.array([0, 7]),
        "measure": pa.array(["pain_nprs"] * 2),
        "value": pa.array([6.0, 4.0]),
    }
    path = tmp_path / "v.parquet"
    pq.write_table(pa.table({**base, column: values}), path)
    err = _refused(path)
    assert err.rules == (rule,) and err.problems[0].column == column
    assert main(["validate", str(path)]) == 1
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "values",
    [
        pa.array(list(pd.to_datetime(["2020-01-01", "2020-01-02"]).tz_localize("UTC"))),
        pa.array([1.5, 2.5], type=pa.float16()),
        pa.array([None, None], type=pa.null()),
        pa.array([1, 2], type=pa.duration("s")),
    ],
)
def test_other_arrow_types_give_an_outcomes_error_or_load(tmp_path, values):
    path = tmp_path / "v.parquet"
    pq.write_table(
        pa.table(
            {
                "patient_id": ["P1", "P1"],
                "visit_day": [0, 7],
                "measure": ["pain_nprs"] * 2,
                "value": [6.0, 4.0],
                "extra": values,
            }
        ),
        path,
    )
    try:
        load_visits(path)
    except OutcomesError as err:
        assert err.problems


def test_n_boot_cap_refused_at_once(tmp_path, capsys):
    start = time.perf_counter()
    with pytest.raises(OutcomesError) as exc:
        plan_from_mapping({"n_boot": 1_000_000_000})
    assert time.perf_counter() - start < 5  # refused before any resampling (it ran 33 s, then failed)
    assert exc.value.rules == ("limit_max_n_boot",) and "OUTCOMES_MAX_N_BOOT" in str(exc.value)
    plan = tmp_path / "plan.yaml"
    plan.write_text("n_boot: 1000000000\n")
    assert main(["claims", str(_csv(tmp_path, GOOD)), "--plan", str(plan)]) == 1
    assert "[limit_max_n_boot]" in capsys.readouterr().err


def test_synth_episode_cap(monkeypatch, tmp_path, capsys):
    with pytest.raises(OutcomesError) as exc:
        simulate_visits(SynthParams(n_episodes=100_000_000), seed=1)
    assert exc.value.rules == ("limit_max_synth_episodes",) and "OUTCOMES_MAX_SYNTH_EPISODES" in str(exc.value)
    monkeypatch.setenv("OUTCOMES_MAX_SYNTH_EPISODES", "10")
    assert len(simulate_visits(SynthParams(n_episodes=10), seed=1).episodes) == 10
    with pytest.raises(OutcomesError):
        simulate_visits(SynthParams(n_episodes=11), seed=1)
    for bad in (0, -5):
        with pytest.raises(OutcomesError):
            SynthParams(n_episodes=bad)
    assert main(["synth", "--episodes", "11", "--out", str(tmp_path / "s.csv")]) == 1
    assert "[limit_max_synth_episodes]" in capsys.readouterr().err
    assert not (tmp_path / "s.csv").exists()


def test_read_records_applies_the_same_limits(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTCOMES_MAX_ROWS", "2")
    with pytest.raises(OutcomesError) as exc:
        read_records(_csv(tmp_path, GOOD))
    assert exc.value.rules == ("limit_max_rows",)
