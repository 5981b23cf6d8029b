"""``outcomes.safety.outputs``: the one output policy.

Ownership, inputs, links, temporaries, disk failures, signals.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from outcomes.errors import OutcomesError
from outcomes.safety import outputs
from outcomes.safety.outputs import (
    MANIFEST,
    MARKER,
    Terminated,
    atomic_directory,
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    check_output_directory,
    check_output_file,
    clean_stale_temporaries,
    install_signal_handlers,
    record_output,
    same_file,
    sha256_file,
    temporary_name,
)


def _rules(info: pytest.ExceptionInfo[OutcomesError]) -> tuple[str, ...]:
    return info.value.rules


def _names(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


@pytest.fixture
def dead_pid() -> int:
    """The id of a process that has just ended."""
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    return int(proc.stdout)


def _marked(root: Path, files: dict[str, str]) -> Path:
    """An output directory as outcomes makes it (through atomic_directory)."""
    with atomic_directory(root) as tmp:
        for rel, text in files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_text(text)
    return root


# ----------------------------------------------------------------------------- symlinks


def test_write_through_a_symlink_updates_the_target_and_keeps_the_link(tmp_path):
    real = tmp_path / "vault" / "cw.csv"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "keys" / "cw.csv"
    link.parent.mkdir()
    link.symlink_to(real)
    atomic_write_text(link, "new\n", mode=0o600)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new\n" and oct(real.stat().st_mode & 0o777) == "0o600"
    assert _names(real.parent) == ["cw.csv"] and _names(link.parent) == ["cw.csv"]  # no temporary left anywhere


def test_check_returns_the_real_target_of_a_link(tmp_path):
    (tmp_path / "a.json").write_text("{}")
    record_output(tmp_path / "a.json")
    (tmp_path / "l.json").symlink_to(tmp_path / "a.json")
    assert check_output_file(tmp_path / "l.json") == (tmp_path / "a.json").resolve()


@pytest.mark.parametrize("target", ["nowhere", "loop"])
def test_dangling_or_looping_link_is_refused_everywhere(tmp_path, target):
    link = tmp_path / "out.json"
    if target == "loop":
        (tmp_path / "loop").symlink_to(tmp_path / "out.json")
    link.symlink_to(tmp_path / target)
    before = _names(tmp_path)
    for call in (
        lambda: check_output_file(link),
        lambda: check_output_directory(link),
        lambda: atomic_write_text(link, "x"),
    ):
        with pytest.raises(OutcomesError) as info:
            call()
        assert _rules(info) == ("output_dangling_symlink",)
    assert _names(tmp_path) == before and link.is_symlink() and not (tmp_path / "nowhere").exists()


def test_a_symlinked_report_directory_is_replaced_at_its_target(tmp_path):
    real = _marked(tmp_path / "real", {"report.html": "old"})
    (tmp_path / "link").symlink_to(real)
    with atomic_directory(tmp_path / "link") as tmp:
        (tmp / "report.html").write_text("new")
    assert (tmp_path / "link").is_symlink() and (real / "report.html").read_text() == "new"
    assert _names(tmp_path) == ["link", "real"]


# ----------------------------------------------------------------------------- temporaries


def test_temporary_is_beside_the_target_and_recognisable(tmp_path):
    with atomic_path(tmp_path / "r.json") as tmp:
        assert tmp.parent == tmp_path.resolve() and outputs._TEMP_RE.fullmatch(tmp.name)
        assert f"-{os.getpid()}-" in tmp.name and tmp.name.startswith(".r.json.outcomes-tmp-")
        tmp.write_text("x")
    assert _names(tmp_path) == ["r.json"]


@pytest.mark.parametrize("exc", [ValueError("boom"), KeyboardInterrupt(), Terminated(signal.SIGTERM)])
def test_temporary_removed_on_error_and_interruption_old_file_intact(tmp_path, exc):
    target = tmp_path / "r.json"
    target.write_text("old")
    with pytest.raises(type(exc)), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise exc
    assert _names(tmp_path) == ["r.json"] and target.read_text() == "old"


def test_directory_temporary_removed_on_error_old_directory_intact(tmp_path):
    out = _marked(tmp_path / "rep", {"report.html": "old"})
    with pytest.raises(KeyboardInterrupt), atomic_directory(out) as tmp:
        (tmp / "report.html").write_text("half")
        raise KeyboardInterrupt
    assert _names(tmp_path) == ["rep"] and (out / "report.html").read_text() == "old"


def test_long_names_give_short_temporaries():
    name = temporary_name("\N{GRINNING FACE}" * 200)
    assert len(name.encode("utf-8")) < 255 and outputs._TEMP_RE.fullmatch(name)


def test_stale_temporaries_of_dead_processes_are_removed_and_reported(tmp_path, dead_pid, caplog):
    stale_file = tmp_path / temporary_name("v.csv", pid=dead_pid)
    stale_file.write_text("half")
    stale_dir = tmp_path / temporary_name("reports", pid=dead_pid)
    (stale_dir / "notebooks").mkdir(parents=True)
    (stale_dir / "notebooks" / "a.ipynb").write_text("{}")
    live = tmp_path / temporary_name("w.csv")  # this very process: in use
    live.write_text("x")
    parent_live = tmp_path / temporary_name("u.csv", pid=os.getppid())
    parent_live.write_text("x")
    other_host = tmp_path / f".v.csv.outcomes-tmp-00000000-{dead_pid}-0123abcd"
    other_host.write_text("x")
    lookalike = tmp_path / f"v.csv.outcomes-tmp-{dead_pid}"  # not our pattern
    lookalike.write_text("user")
    link = tmp_path / temporary_name("z.csv", pid=dead_pid)
    link.symlink_to(tmp_path / "v.csv")
    with caplog.at_level(logging.WARNING, logger="outcomes"):
        removed = clean_stale_temporaries(tmp_path)
    assert sorted(removed) == sorted([stale_file.name, stale_dir.name])
    assert not stale_file.exists() and not stale_dir.exists()
    assert live.exists() and parent_live.exists() and other_host.exists() and lookalike.exists() and link.is_symlink()
    assert stale_file.name in caplog.text and str(dead_pid) in caplog.text


def test_writing_cleans_stale_temporaries_beside_the_target(tmp_path, dead_pid, caplog):
    stale = tmp_path / temporary_name("v.csv", pid=dead_pid)
    stale.write_text("half")
    with caplog.at_level(logging.WARNING, logger="outcomes"):
        atomic_write_text(tmp_path / "v.csv", "new")
    assert _names(tmp_path) == ["v.csv"] and "interrupted" in caplog.text


def test_stale_old_directory_loses_only_what_its_marker_lists(tmp_path, dead_pid, caplog):
    old = _marked(tmp_path / "rep", {"report.html": "a", "research/x.json": "b"})
    aside = tmp_path / temporary_name("rep", kind="old", pid=dead_pid)
    old.rename(aside)
    (aside / "research" / "mine.txt").write_text("user")
    with caplog.at_level(logging.WARNING, logger="outcomes"):
        assert clean_stale_temporaries(tmp_path) == []
        clean_stale_temporaries(tmp_path)
    assert sorted(p.relative_to(aside).as_posix() for p in aside.rglob("*")) == [
        MARKER,
        "research",
        "research/mine.txt",
    ]
    assert caplog.text.count("holds files outcomes did not write") == 1  # reported once per process
    (aside / "research" / "mine.txt").unlink()
    assert clean_stale_temporaries(tmp_path) == [aside.name] and not aside.exists()


# ----------------------------------------------------------------------------- disk failures


def _raise(code: int):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    return fail


@pytest.mark.parametrize(
    "code, words",
    [
        (errno.ENOSPC, "disk is full"),
        (errno.EROFS, "read-only"),
        (errno.EDQUOT, "quota"),
        (errno.EACCES, "permission denied"),
        (errno.ENAMETOOLONG, "too long"),
    ],
)
@pytest.mark.parametrize("where", ["write", "fsync", "replace", "create"])
def test_disk_failures_are_outcomes_errors_with_no_partial_output(tmp_path, monkeypatch, code, words, where):
    target = tmp_path / "r.json"
    if where == "fsync":
        monkeypatch.setattr(outputs.os, "fsync", _raise(code))
    elif where == "replace":
        monkeypatch.setattr(outputs.os, "replace", _raise(code))
    elif where == "create":
        monkeypatch.setattr(outputs.os, "open", _raise(code))
    with pytest.raises(OutcomesError) as info, atomic_path(target) as tmp:
        tmp.write_text("partial")
        if where == "write":
            raise OSError(code, os.strerror(code), str(tmp))
    monkeypatch.undo()
    assert _rules(info) == ("output_write_failed",)
    assert words in str(info.value) and "r.json" in str(info.value)
    assert _names(tmp_path) == []


def test_disk_full_while_writing_a_directory_leaves_the_old_one(tmp_path, monkeypatch):
    out = _marked(tmp_path / "rep", {"report.html": "old"})
    with pytest.raises(OutcomesError) as info, atomic_directory(out) as tmp:
        (tmp / "report.html").write_text("new")
        monkeypatch.setattr(outputs.os, "fsync", _raise(errno.ENOSPC))  # the marker cannot be written
    monkeypatch.undo()
    assert _rules(info) == ("output_write_failed",) and "disk is full" in str(info.value)
    assert _names(tmp_path) == ["rep"] and (out / "report.html").read_text() == "old"


def test_manifest_that_cannot_be_written_warns_and_keeps_the_output(tmp_path, monkeypatch, caplog):
    (tmp_path / "r.json").write_text("{}")
    monkeypatch.setattr(outputs.os, "fsync", _raise(errno.ENOSPC))
    with caplog.at_level(logging.WARNING, logger="outcomes"):
        record_output(tmp_path / "r.json")
    monkeypatch.undo()
    assert _names(tmp_path) == ["r.json"] and "will not replace it" in caplog.text


# ----------------------------------------------------------------------------- files: ownership


def test_file_ownership_rules(tmp_path):
    out = tmp_path / "r.json"
    assert check_output_file(out) == out.resolve()  # new
    out.write_text("by the user")
    for force in (False, True):  # not ours: never, --force or not
        with pytest.raises(OutcomesError) as info:
            check_output_file(out, force=force)
        assert _rules(info) == ("output_not_ours",)
    record_output(out)
    assert json.loads((tmp_path / MANIFEST).read_text())["files"] == {"r.json": sha256_file(out)}
    assert check_output_file(out) == out.resolve()  # ours, unchanged
    out.write_text("edited since")
    with pytest.raises(OutcomesError) as info:
        check_output_file(out)
    assert _rules(info) == ("output_changed",) and "--force" in str(info.value)
    assert check_output_file(out, force=True) == out.resolve()
    assert out.read_text() == "edited since"  # a check never writes


def test_manifest_forgets_files_that_are_gone(tmp_path):
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(name)
        record_output(tmp_path / name)
    (tmp_path / "a.json").unlink()
    record_output(tmp_path / "b.json")
    assert list(json.loads((tmp_path / MANIFEST).read_text())["files"]) == ["b.json"]


@pytest.mark.parametrize(
    "manifest", ["not json", '{"files": {"../x": "' + "0" * 64 + '"}}', '{"files": {"r.json": "short"}}', "link"]
)
def test_a_manifest_outcomes_did_not_write_is_refused_and_never_overwritten(tmp_path, manifest, caplog):
    out = tmp_path / "r.json"
    if manifest == "link":
        (tmp_path / "elsewhere.json").write_text(json.dumps({"files": {"r.json": "0" * 64}}))
        (tmp_path / MANIFEST).symlink_to(tmp_path / "elsewhere.json")
    else:
        (tmp_path / MANIFEST).write_text(manifest)
    before = (tmp_path / MANIFEST).read_bytes()
    with pytest.raises(OutcomesError) as info:
        check_output_file(out)
    assert _rules(info) == ("output_manifest_invalid",)
    out.write_text("{}")
    with caplog.at_level(logging.WARNING, logger="outcomes"):
        record_output(out)
    assert (tmp_path / MANIFEST).read_bytes() == before and "not a manifest outcomes wrote" in caplog.text


@pytest.mark.parametrize("name", [MANIFEST, MARKER, ".x.csv.outcomes-tmp-0123abcd-12-0123abcd"])
def test_bookkeeping_names_are_reserved(tmp_path, name):
    with pytest.raises(OutcomesError) as info:
        check_output_file(tmp_path / name)
    assert _rules(info) == ("output_reserved_name",)
    with pytest.raises(OutcomesError):
        atomic_write_text(tmp_path / name, "x")
    assert _names(tmp_path) == []


def test_the_crosswalk_may_be_extended_whoever_wrote_it(tmp_path):
    key = tmp_path / "cw.csv"
    key.write_text("mrn,patient_id\n")
    assert check_output_file(key, inputs=[tmp_path / "raw.csv"], extends=True) == key.resolve()
    with pytest.raises(OutcomesError) as info:  # but still never onto another input
        check_output_file(key, inputs=[key], extends=True)
    assert _rules(info) == ("output_is_input",)


# ----------------------------------------------------------------------------- files: inputs and paths


def test_outputs_never_land_on_an_input(tmp_path):
    data = tmp_path / "in" / "v.csv"
    data.parent.mkdir()
    data.write_text("x")
    (tmp_path / "link.csv").symlink_to(data)
    os.link(data, tmp_path / "hard.csv")
    for path in (data, tmp_path / "link.csv", tmp_path / "hard.csv", tmp_path / "in" / ".." / "in" / "v.csv"):
        with pytest.raises(OutcomesError) as info:
            check_output_file(path, inputs=[data])
        assert _rules(info) == ("output_is_input",), path
    with pytest.raises(OutcomesError) as info:  # an input given through a link
        check_output_file(data, inputs=[tmp_path / "link.csv"])
    assert _rules(info) == ("output_is_input",)
    assert same_file(tmp_path / "hard.csv", data)


def test_no_output_inside_an_input_directory(tmp_path):
    dataset = tmp_path / "parts"
    dataset.mkdir()
    (dataset / "part-0.parquet").write_bytes(b"PAR1")
    with pytest.raises(OutcomesError) as info:
        check_output_file(dataset / "r.json", inputs=[dataset])
    assert _rules(info) == ("output_inside_input",)
    with pytest.raises(OutcomesError) as info:
        check_output_directory(dataset / "rep", inputs=[dataset])
    assert _rules(info) == ("output_inside_input",)


def test_directory_device_and_file_parent_refused(tmp_path):
    with pytest.raises(OutcomesError) as info:
        check_output_file(tmp_path)
    assert _rules(info) == ("output_is_directory",)
    for call in (lambda: check_output_file("/dev/null"), lambda: atomic_write_text("/dev/null", "x")):
        with pytest.raises(OutcomesError) as info:
            call()
        assert _rules(info) == ("output_not_regular",)
    assert Path("/dev/null").is_char_device()
    (tmp_path / "f.csv").write_text("x")
    with pytest.raises(OutcomesError) as info:
        check_output_file(tmp_path / "f.csv" / "r.json")
    assert _rules(info) == ("output_parent_missing",)


def test_missing_parents_are_fine_and_created_on_writing(tmp_path):
    target = tmp_path / "a" / "b" / "r.json"
    assert check_output_file(target) == target.resolve() and not (tmp_path / "a").exists()
    atomic_write_text(target, "x")
    assert target.read_text() == "x"


def test_unwritable_directory_refused_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(outputs.os, "access", lambda path, mode: False)
    for call in (lambda: check_output_file(tmp_path / "r.json"), lambda: check_output_directory(tmp_path / "rep")):
        with pytest.raises(OutcomesError) as info:
            call()
        assert _rules(info) == ("output_not_writable",)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a 0555 directory")
def test_unwritable_directory_really_refused(tmp_path):  # pragma: no cover - CI runs as a user
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o555)
    with pytest.raises(OutcomesError) as info:
        check_output_file(ro / "r.json")
    assert _rules(info) == ("output_not_writable",)


def test_names_too_long(tmp_path, monkeypatch):
    with pytest.raises(OutcomesError) as info:
        check_output_file(tmp_path / ("a" * 300 + ".json"))
    assert _rules(info) == ("limit_max_name_chars",) and "OUTCOMES_MAX_NAME_CHARS" in str(info.value)
    with pytest.raises(OutcomesError) as info:  # short in characters, too long in bytes for the file system
        check_output_file(tmp_path / ("\N{GRINNING FACE}" * 200 + ".json"))
    assert _rules(info) == ("limit_max_name_chars",)
    monkeypatch.setenv("OUTCOMES_MAX_NAME_CHARS", "5")
    with pytest.raises(OutcomesError) as info:
        atomic_write_text(tmp_path / "toolong.json", "x")
    assert _rules(info) == ("limit_max_name_chars",) and _names(tmp_path) == []


# ----------------------------------------------------------------------------- directories


def test_directory_rules(tmp_path):
    data = tmp_path / "clinic" / "v.csv"
    data.parent.mkdir()
    data.write_text("x")
    cases = {tmp_path / "clinic": "output_holds_input", tmp_path: "output_holds_input", data: "output_is_input"}
    for path, rule in cases.items():
        with pytest.raises(OutcomesError) as info:
            check_output_directory(path, inputs=[data])
        assert _rules(info) == (rule,), path
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "letter.txt").write_text("mine")
    with pytest.raises(OutcomesError) as info:
        check_output_directory(tmp_path / "user", force=True)
    assert _rules(info) == ("output_dir_not_empty",) and "letter.txt" in str(info.value)
    with pytest.raises(OutcomesError) as info:
        check_output_directory(tmp_path / "user" / "letter.txt")
    assert _rules(info) == ("output_not_directory",)
    (tmp_path / "empty").mkdir()
    assert check_output_directory(tmp_path / "empty") == (tmp_path / "empty").resolve()


def test_marked_directory_replaced_only_while_it_holds_just_what_outcomes_wrote(tmp_path):
    out = _marked(tmp_path / "rep", {"report.html": "a", "research/x.json": "b"})
    marker = json.loads((out / MARKER).read_text())["files"]
    assert marker == {
        "report.html": sha256_file(out / "report.html"),
        "research/x.json": sha256_file(out / "research" / "x.json"),
    }
    assert check_output_directory(out) == out.resolve()
    (out / "research" / "x.json").unlink()  # a listed file missing: nothing of the user's to lose
    assert check_output_directory(out) == out.resolve()
    (out / "research" / "notes.txt").write_text("mine")
    (out / "extra").mkdir()
    for force in (False, True):
        with pytest.raises(OutcomesError) as info:
            check_output_directory(out, force=force)
        assert _rules(info) == ("output_not_ours",)
        assert "research/notes.txt" in str(info.value) and "extra" in str(info.value)
    (out / "research" / "notes.txt").unlink()
    (out / "extra").rmdir()
    (out / "report.html").write_text("edited")
    with pytest.raises(OutcomesError) as info:
        check_output_directory(out)
    assert _rules(info) == ("output_changed",) and "report.html" in str(info.value)
    with atomic_directory(out, force=True) as tmp:
        (tmp / "report.html").write_text("new")
    assert _names(out) == [MARKER, "report.html"] and (out / "report.html").read_text() == "new"
    assert _names(tmp_path) == ["rep"]


def test_a_symlink_inside_a_marked_directory_is_not_ours(tmp_path):
    out = _marked(tmp_path / "rep", {"report.html": "a"})
    (tmp_path / "precious.txt").write_text("mine")
    (out / "report.html").unlink()
    (out / "report.html").symlink_to(tmp_path / "precious.txt")
    with pytest.raises(OutcomesError) as info:
        check_output_directory(out, force=True)
    assert _rules(info) == ("output_not_ours",)


@pytest.mark.parametrize("key", ["../precious.txt", "/etc/hostname", "./report.html", ""])
def test_a_tampered_marker_makes_the_directory_foreign(tmp_path, key):
    out = _marked(tmp_path / "rep", {"report.html": "a"})
    (tmp_path / "precious.txt").write_text("mine")
    (out / MARKER).write_text(json.dumps({"files": {key: sha256_file(tmp_path / "precious.txt")}}))
    with pytest.raises(OutcomesError) as info:
        check_output_directory(out, force=True)
    assert _rules(info) == ("output_dir_not_empty",)
    assert (tmp_path / "precious.txt").read_text() == "mine"


def test_a_file_added_during_the_build_is_refused_at_the_swap_and_kept(tmp_path):
    out = _marked(tmp_path / "rep", {"report.html": "a"})
    with pytest.raises(OutcomesError) as info, atomic_directory(out) as tmp:
        (tmp / "report.html").write_text("new")
        (out / "mine.txt").write_text("dropped in while the report ran")
    assert _rules(info) == ("output_not_ours",)
    assert _names(out) == [MARKER, "mine.txt", "report.html"] and (out / "report.html").read_text() == "a"
    assert _names(tmp_path) == ["rep"]


def test_replacing_an_empty_directory_keeps_its_permissions(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    os.chmod(private, 0o700)
    with atomic_directory(private) as tmp:
        (tmp / "report.html").write_text("x")
    assert oct(private.stat().st_mode & 0o777) == "0o700" and _names(tmp_path) == ["private"]


def test_atomic_directory_refuses_before_building(tmp_path):
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "a.txt").write_text("mine")
    built = []
    with pytest.raises(OutcomesError), atomic_directory(tmp_path / "user"):
        built.append(1)
    assert built == [] and _names(tmp_path / "user") == ["a.txt"] and _names(tmp_path) == ["user"]


# ----------------------------------------------------------------------------- signals


def test_sigterm_raises_terminated_inside_the_block_and_handlers_are_restored():
    before = signal.getsignal(signal.SIGTERM)
    with install_signal_handlers():
        assert signal.getsignal(signal.SIGTERM) is outputs._terminate  # else the kill below would end pytest
        with pytest.raises(Terminated) as info:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler runs at once and interrupts the sleep
    assert info.value.exit_code == 143 and signal.getsignal(signal.SIGTERM) is before


def test_an_ignored_signal_stays_ignored():
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with install_signal_handlers():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before)


def test_atomic_write_bytes_mode(tmp_path):
    atomic_write_bytes(tmp_path / "k.bin", b"\x00", mode=0o600)
    assert oct((tmp_path / "k.bin").stat().st_mode & 0o777) == "0o600"
