"""The ``outcomes`` CLI: exit codes, clean stdout, the output policy before any work, messages escaped."""

from __future__ import annotations

import errno
import json
import os
import signal
from pathlib import Path

import pytest

import outcomes.analysis
import outcomes.cli
import outcomes.report.html
from outcomes.cli import main
from outcomes.ingest.synth import SynthParams, simulate_visits, write_visits
from outcomes.report.results import analysis_document
from outcomes.safety.outputs import MANIFEST


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, Path]:
    """A 60-episode clinic and a quick plan."""
    d = tmp_path_factory.mktemp("cli")
    write_visits(simulate_visits(SynthParams(n_episodes=60), seed=3).visits, d / "visits.csv")
    (d / "plan.yaml").write_text("n_boot: 200\n")
    return d / "visits.csv", d / "plan.yaml"


def test_json_to_stdout_is_only_json(small, capsys):
    data, plan = small
    assert main(["claims", str(data), "--plan", str(plan), "--json", "-"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)  # the whole of stdout parses
    assert doc["data"]["episodes"] == 60
    assert "verdict" in err and "pain_nprs" in err  # the summary went to stderr


def test_without_json_the_summary_is_on_stdout_line_by_line(small, capsys):
    data, plan = small
    assert main(["claims", str(data), "--plan", str(plan)]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) > 3 and "\\n" not in out and err == ""


def test_validate_prints_lines_not_escaped_newlines(small, capsys):
    assert main(["validate", str(small[0])]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) > 1 and "\\n" not in out


def test_unsuppressed_json_is_written_with_a_warning(small, tmp_path, capsys):
    data, plan = small
    out = tmp_path / "research" / "r.json"
    assert main(["claims", str(data), "--plan", str(plan), "--unsuppressed-json", str(out)]) == 0
    err = capsys.readouterr().err
    assert "UNSUPPRESSED" in err and "research team" in err
    doc = json.loads(out.read_text())
    assert doc != json.loads(json.dumps(analysis_document(outcomes.analysis.analyse(data, plan))))
    assert json.loads((out.parent / MANIFEST).read_text())["files"].keys() == {"r.json"}


def test_unsuppressed_json_never_to_stdout(small, capsys):
    assert main(["claims", str(small[0]), "--unsuppressed-json", "-"]) == 2
    assert "usage error" in capsys.readouterr().err


def test_report_passes_research_and_force(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(outcomes.cli, "build_report", lambda *a, **k: seen.update(args=a, kwargs=k))
    assert main(["report", "--out", str(tmp_path / "r"), "--research", "--force"]) == 0
    assert seen["kwargs"]["research"] is True and seen["kwargs"]["force"] is True
    assert main(["report", "--out", str(tmp_path / "r")]) == 0
    assert seen["kwargs"]["research"] is False and seen["kwargs"]["force"] is False


def test_a_refused_output_costs_no_work(monkeypatch, tmp_path, capsys):
    def boom(*args, **kwargs):
        raise AssertionError("the analysis ran although the output was refused")

    monkeypatch.setattr(outcomes.cli, "analyse", boom)
    monkeypatch.setattr(outcomes.cli, "build_report", boom)
    user = tmp_path / "mine.json"
    user.write_text("mine")
    assert main(["claims", "--json", str(user)]) == 1
    assert main(["report", "--out", str(tmp_path)]) == 1
    assert "output_not_ours" in capsys.readouterr().err and user.read_text() == "mine"


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_disk_failure_while_writing_is_exit_1_and_leaves_nothing(small, tmp_path, monkeypatch, capsys, code):
    data, plan = small
    real_fsync = os.fsync

    def fail_once(fd):
        monkeypatch.setattr(os, "fsync", real_fsync)
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", fail_once)
    out = tmp_path / "out" / "r.json"
    assert main(["claims", str(data), "--plan", str(plan), "--json", str(out)]) == 1
    err = capsys.readouterr().err
    assert "output_write_failed" in err and "r.json" in err and "internal error" not in err
    assert list(out.parent.iterdir()) == []


@pytest.mark.parametrize(
    "command", [["synth", "--out", "{d}/x.csv"], ["claims", "--json", "{d}/x.json"], ["report", "--out", "{d}/rep"]]
)
def test_unwritable_output_directory_is_exit_1(tmp_path, monkeypatch, capsys, command):
    import outcomes.safety.outputs

    monkeypatch.setattr(outcomes.safety.outputs.os, "access", lambda path, mode: False)
    argv = [a.format(d=tmp_path) for a in command]
    assert main(argv) == 1
    assert "output_not_writable" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command",
    [
        ["synth", "--out", "{long}.csv"],
        ["claims", "--json", "{long}.json"],
        ["report", "--out", "{long}"],
        ["deidentify", "raw.csv", "--out", "{long}.csv", "--key-file", "k/cw.csv"],
    ],
)
def test_names_of_300_characters_are_exit_1(tmp_path, monkeypatch, capsys, command):
    monkeypatch.chdir(tmp_path)
    argv = [a.format(long="n" * 300) for a in command]
    assert main(argv) == 1
    assert "limit_max_name_chars" in capsys.readouterr().err


@pytest.mark.parametrize(
    "exc, words",
    [
        (PermissionError(errno.EACCES, "Permission denied", "v\x1b[31m.csv"), "cannot be read or written"),
        (MemoryError(), "not enough memory"),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "somewhere"), "somewhere"),
    ],
)
def test_os_and_memory_errors_are_exit_1_never_3(monkeypatch, capsys, exc, words):
    def fail(*args, **kwargs):
        raise exc

    monkeypatch.setattr(outcomes.cli, "analyse", fail)
    assert main(["claims"]) == 1
    err = capsys.readouterr().err
    assert words in err and "internal error" not in err and "\x1b" not in err
    if isinstance(exc, MemoryError):
        assert "docs/security.md" in err


def test_file_names_with_escape_bytes_are_escaped(tmp_path, capsys):
    bad = tmp_path / "evil\x1b]0;owned\x07.csv"
    assert main(["validate", str(bad)]) == 1
    assert main(["synth", "--episodes", "5", "--out", str(bad)]) == 0
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and "\x07" not in out + err and "\\x1b" in out + err


def test_sigterm_inside_a_command_is_exit_143(monkeypatch, capsys):
    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        import time

        time.sleep(5)

    monkeypatch.setattr(outcomes.cli, "analyse", terminated)
    before = signal.getsignal(signal.SIGTERM)
    assert main(["claims"]) == 143
    assert "SIGTERM" in capsys.readouterr().err and signal.getsignal(signal.SIGTERM) is before


def test_usage_errors_are_exit_2(capsys):
    assert main(["synth", "--episodes", "many", "--out", "x.csv"]) == 2
    assert main(["claims", "--no-such-flag"]) == 2
    assert main([]) == 2
    capsys.readouterr()
