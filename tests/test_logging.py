"""Progress is logging: the library logs (INFO steps, WARNING for the user), the CLI alone shows it on stderr.

A progress bar is drawn only when stderr is a terminal; ``--quiet`` keeps warnings and errors only; no
log line quotes a cell value of the input.
"""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from outcomes.cli import main
from outcomes.ingest.synth import SynthParams, simulate_visits, write_visits
from outcomes.report.html import NOTEBOOKS, build_report, progress_bar
from outcomes.safety.outputs import temporary_name

ROOT = Path(__file__).resolve().parents[1]
#: What tqdm draws and a log line never holds: a carriage return (redraw), the bar's blocks and frame.
BAR_MARKS = ("\r", "█", "%|", "step/s")
STEPS = ("analysing visits.csv", "drawing the figures", "writing the report")


@pytest.fixture(scope="module")
def visits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("logging") / "visits.csv"
    write_visits(simulate_visits(SynthParams(n_episodes=60), seed=3).visits, path)
    return path


class _Terminal(io.StringIO):
    """A captured stderr that says it is a terminal (as a shell's stderr does)."""

    def isatty(self) -> bool:
        return True


def _step_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "outcomes.report.html"]


def test_build_report_logs_each_step_at_info(visits, tmp_path, caplog, capsys):
    with caplog.at_level(logging.DEBUG, logger="outcomes"):
        build_report(visits, out_dir=tmp_path / "r")
    records = _step_records(caplog)
    assert [r.getMessage() for r in records] == list(STEPS)
    assert {r.levelno for r in records} == {logging.INFO}
    captured = capsys.readouterr()
    assert "pain_nprs" in captured.out and "wrote" in captured.out  # the summary stays on stdout
    assert captured.err == ""  # the library configures no handler: nothing reaches stderr by itself


def test_progress_false_logs_the_steps_at_debug_only_and_prints_nothing(visits, tmp_path, caplog, capsys):
    with caplog.at_level(logging.DEBUG, logger="outcomes"):
        build_report(visits, out_dir=tmp_path / "r", progress=False)
    records = _step_records(caplog)
    assert [r.getMessage() for r in records] == list(STEPS)
    assert {r.levelno for r in records} == {logging.DEBUG}
    assert capsys.readouterr() == ("", "")


def test_the_outcomes_logger_has_only_a_null_handler_and_main_restores_it(visits, tmp_path, capsys):
    logger = logging.getLogger("outcomes")
    before = (list(logger.handlers), logger.level)
    assert [type(h) for h in logger.handlers] == [logging.NullHandler]
    assert main(["validate", "--verbose", str(visits)]) == 0
    assert (list(logger.handlers), logger.level) == before


def test_cli_with_stderr_in_a_pipe_logs_lines_and_draws_no_bar(visits, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "outcomes.cli", "report", str(visits), "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [f"outcomes: {step}" for step in STEPS]
    assert not [mark for mark in BAR_MARKS if mark in proc.stderr + proc.stdout]
    assert "wrote" in proc.stdout


def test_cli_on_a_terminal_draws_a_bar_and_quiet_draws_nothing(visits, tmp_path, monkeypatch, capsys):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["report", str(visits), "--out", str(tmp_path / "loud")]) == 0
    drawn = terminal.getvalue()
    assert "report:" in drawn and "3/3" in drawn and "\r" in drawn  # the bar, redrawn in place
    assert all(f"outcomes: {step}" in drawn for step in STEPS)

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["--quiet", "report", str(visits), "--out", str(tmp_path / "quiet")]) == 0  # before the subcommand
    assert terminal.getvalue() == ""  # no INFO line, no bar
    assert "wrote" in capsys.readouterr().out  # stdout is the same either way


def test_quiet_keeps_the_warnings(tmp_path, capsys):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / temporary_name("a.csv", pid=int(dead.stdout))
    stale.write_text("half a file")
    assert main(["synth", "--episodes", "20", "--out", str(tmp_path / "a.csv"), "--quiet"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("outcomes: ") and stale.name in lines[0]


@pytest.mark.parametrize("column", ["value", "condition"])
def test_no_log_line_quotes_a_cell_value(tmp_path, capsys, caplog, column):
    secret = "Zq7SecretCell"
    rows = (ROOT / "data" / "sample" / "visits.csv").read_text(encoding="utf-8").splitlines()[:30]
    header = rows[0].split(",")
    cells = rows[2].split(",")
    cells[header.index(column)] = secret
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([*rows[:2], ",".join(cells), *rows[3:]]) + "\n", encoding="utf-8")
    with caplog.at_level(logging.DEBUG, logger="outcomes"):
        assert main(["validate", "--verbose", str(bad)]) == 1
    captured = capsys.readouterr()
    assert f"column {column}" in captured.err and "row 3" in captured.err  # the problem is named ...
    assert secret not in captured.err + captured.out + caplog.text  # ... never the cell


def test_progress_bar_is_disabled_off_a_terminal_and_when_info_is_off(monkeypatch):
    logger = logging.getLogger("outcomes.test_logging")

    def disabled(level: int, stderr: io.StringIO, *, show: bool = True) -> bool:
        monkeypatch.setattr(sys, "stderr", stderr)
        logger.setLevel(level)  # setLevel, not an attribute: it clears the logger's isEnabledFor cache
        try:
            with progress_bar(len(NOTEBOOKS), "x", log=logger, show=show) as bar:
                return bool(bar.disable)
        finally:
            logger.setLevel(logging.NOTSET)

    assert not disabled(logging.INFO, _Terminal())
    assert disabled(logging.INFO, _Terminal(), show=False)
    assert disabled(logging.WARNING, _Terminal())
    assert disabled(logging.INFO, io.StringIO())
