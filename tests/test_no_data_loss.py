"""No command ever deletes or changes a file it did not create (docs/outputs.md).

Every test snapshots a directory tree (relative path -> file SHA-256 and mode, symlink
target, directory mode) before and after a command run in-process (``outcomes.cli.main``),
for every collision of the input, ``--out``, ``--json``, ``--unsuppressed-json`` and
``--key-file`` paths: the same file, the same directory, a parent, a symlink to the input,
a symlink to an unrelated user file, a hard link, a directory of user files, a dangling
link. A refusal is exit 1 with the tree unchanged; an allowed write changes only what the
command wrote. Refusals come before any analysis, so most cases take milliseconds; the few
full runs use a 60-episode clinic and 200 bootstrap resamples.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from outcomes.cli import main
from outcomes.ingest.deidentify import deidentify_export
from outcomes.ingest.synth import SynthParams, simulate_visits, write_visits
from outcomes.safety.outputs import MANIFEST, MARKER, atomic_directory, temporary_name

REPO = Path(__file__).resolve().parents[1]
LONG = "a" * 300 + ".json"

Snapshot = dict[str, tuple]


def snapshot(root: Path) -> Snapshot:
    """Every entry below ``root``: ("file", sha256, mode), ("link", target) or ("dir", mode)."""
    found: Snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                found[rel] = ("file", hashlib.sha256(path.read_bytes()).hexdigest(), stat.S_IMODE(st.st_mode))
    return found


def assert_kept(before: Snapshot, after: Snapshot, written: set[str] = frozenset()) -> None:
    """Nothing that existed before changed or vanished, except what the command ``written``; nothing else new."""
    lost = {rel: entry for rel, entry in before.items() if rel not in written and after.get(rel) != entry}
    assert not lost, f"changed or deleted: {sorted(lost)}"
    new = set(after) - set(before) - set(written)
    assert not new, f"unexpected new entries: {sorted(new)}"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A user's folder: a clinic's data and plan, a raw export, a crosswalk, user files and links."""
    root = tmp_path_factory.mktemp("template")
    clinic = root / "clinic"
    clinic.mkdir()
    write_visits(simulate_visits(SynthParams(n_episodes=60), seed=3).visits, clinic / "visits.csv")
    (clinic / "plan.yaml").write_text("n_boot: 200\n")
    (clinic / "notes.txt").write_text("the clinic's own notes\n")
    (clinic / "export.csv").write_text("a,b\n1,2\n")
    shutil.copy(REPO / "data" / "sample" / "raw_emr_export.csv", clinic / "raw.csv")
    shutil.copy(REPO / "data" / "sample" / "deidentify.yaml", clinic / "mapping.yaml")
    (root / "vault").mkdir()
    deidentify_export(
        clinic / "raw.csv",
        out=root / "first" / "v.csv",
        key_file=root / "vault" / "cw.csv",
        mapping=clinic / "mapping.yaml",
    )
    shutil.rmtree(root / "first")  # the crosswalk of an earlier export stays, not recorded as an output
    (root / "user" / "sub").mkdir(parents=True)
    (root / "user" / "letter.txt").write_text("a letter\n")
    (root / "user" / "sub" / "data.bin").write_bytes(bytes(range(256)))
    (root / "user" / "plan.yaml").write_text("n_boot: 200\n")
    (root / "empty").mkdir()
    links = {
        "link_visits.csv": "clinic/visits.csv",
        "link_notes.csv": "clinic/notes.txt",
        "link_raw.csv": "clinic/raw.csv",
        "link_clinic": "clinic",
        "link_user": "user",
        "dangling": "nowhere/at/all",
        "link_cw.csv": "vault/cw.csv",
    }
    for name, target in links.items():
        (root / name).symlink_to(target)
    (root / "keys").mkdir()
    (root / "keys" / "cw.csv").symlink_to("../vault/cw.csv")
    return root


@pytest.fixture
def ws(template, tmp_path, monkeypatch) -> Path:
    """A fresh copy of the template (links kept as links, a hard link to the input), as the current directory."""
    root = tmp_path / "ws"
    shutil.copytree(template, root, symlinks=True)
    os.link(root / "clinic" / "visits.csv", root / "hard_visits")
    monkeypatch.chdir(root)
    return root


def run(argv: list[str]) -> int:
    return main(argv)


CLAIMS = ["claims", "clinic/visits.csv", "--plan", "clinic/plan.yaml"]
REPORT = ["report", "clinic/visits.csv", "--plan", "clinic/plan.yaml"]
SYNTH = ["synth", "--episodes", "20", "--seed", "1"]
DEID = ["deidentify", "clinic/raw.csv", "--mapping", "clinic/mapping.yaml"]

REFUSED = {
    # claims --json / --unsuppressed-json
    "json=input": [*CLAIMS, "--json", "clinic/visits.csv"],
    "json=plan": [*CLAIMS, "--json", "clinic/plan.yaml"],
    "json=link-to-input": [*CLAIMS, "--json", "link_visits.csv"],
    "json=hardlink-to-input": [*CLAIMS, "--json", "hard_visits"],
    "json=user-file": [*CLAIMS, "--json", "clinic/notes.txt"],
    "json=user-file-force": [*CLAIMS, "--json", "clinic/notes.txt", "--force"],
    "json=link-to-user-file": [*CLAIMS, "--json", "link_notes.csv"],
    "json=input-directory": [*CLAIMS, "--json", "clinic"],
    "json=user-directory": [*CLAIMS, "--json", "user"],
    "json=link-to-directory": [*CLAIMS, "--json", "link_user"],
    "json=dangling-link": [*CLAIMS, "--json", "dangling"],
    "json=under-a-file": [*CLAIMS, "--json", "clinic/visits.csv/r.json"],
    "json=manifest-name": [*CLAIMS, "--json", f"clinic/{MANIFEST}"],
    "json=name-too-long": [*CLAIMS, "--json", LONG],
    "json=crosswalk": [*CLAIMS, "--json", "vault/cw.csv"],
    "json=default-input": ["claims", "--json", str(REPO / "data" / "sample" / "visits.csv")],
    "unsuppressed=input": [*CLAIMS, "--unsuppressed-json", "clinic/visits.csv"],
    "unsuppressed=link-to-user-file": [*CLAIMS, "--unsuppressed-json", "link_notes.csv"],
    "unsuppressed=directory": [*CLAIMS, "--unsuppressed-json", "user"],
    "unsuppressed=json": [*CLAIMS, "--json", "new.json", "--unsuppressed-json", "new.json"],
    "unsuppressed=json-through-link": [*CLAIMS, "--json", "r.json", "--unsuppressed-json", "link_r"],
    # report --out
    "out=input-directory": [*REPORT, "--out", "clinic"],
    "out=input-file": [*REPORT, "--out", "clinic/visits.csv"],
    "out=parent-of-input": [*REPORT, "--out", "."],
    "out=link-to-input-directory": [*REPORT, "--out", "link_clinic"],
    "out=link-to-input-file": [*REPORT, "--out", "link_visits.csv"],
    "out=user-directory": [*REPORT, "--out", "user"],
    "out=user-directory-force": [*REPORT, "--out", "user", "--force"],
    "out=user-subdirectory": [*REPORT, "--out", "user/sub"],
    "out=link-to-user-directory": [*REPORT, "--out", "link_user"],
    "out=user-file": [*REPORT, "--out", "user/letter.txt"],
    "out=link-to-user-file": [*REPORT, "--out", "link_notes.csv"],
    "out=dangling-link": [*REPORT, "--out", "dangling"],
    "out=holds-plan": ["report", "clinic/visits.csv", "--plan", "user/plan.yaml", "--out", "user"],
    "out=under-a-file": [*REPORT, "--out", "user/letter.txt/rep"],
    "out=name-too-long": [*REPORT, "--out", LONG],
    "out=crosswalk-directory": [*REPORT, "--out", "vault"],
    # synth --out (no input: every existing file is the user's)
    "synth=user-file": [*SYNTH, "--out", "clinic/visits.csv"],
    "synth=user-file-force": [*SYNTH, "--out", "clinic/export.csv", "--force"],
    "synth=link-to-user-file": [*SYNTH, "--out", "link_visits.csv"],
    "synth=directory": [*SYNTH, "--out", "user"],
    "synth=dangling-link": [*SYNTH, "--out", "dangling"],
    "synth=name-too-long": [*SYNTH, "--out", LONG],
    "synth=crosswalk": [*SYNTH, "--out", "vault/cw.csv"],
    # deidentify --out / --key-file
    "deid-out=raw": [*DEID, "--out", "clinic/raw.csv", "--key-file", "vault/cw.csv"],
    "deid-out=link-to-raw": [*DEID, "--out", "link_raw.csv", "--key-file", "vault/cw.csv"],
    "deid-out=mapping": [*DEID, "--out", "clinic/mapping.yaml", "--key-file", "vault/cw.csv"],
    "deid-out=key-file": [*DEID, "--out", "vault/cw.csv", "--key-file", "vault/cw.csv"],
    "deid-out=link-to-key-file": [*DEID, "--out", "link_cw.csv", "--key-file", "vault/cw.csv"],
    "deid-out=user-file": [*DEID, "--out", "user/letter.txt", "--key-file", "vault/cw.csv"],
    "deid-out=user-file-force": [*DEID, "--out", "user/letter.txt", "--key-file", "vault/cw.csv", "--force"],
    "deid-out=link-to-user-file": [*DEID, "--out", "link_notes.csv", "--key-file", "vault/cw.csv"],
    "deid-out=directory": [*DEID, "--out", "user", "--key-file", "vault/cw.csv"],
    "deid-out=dangling-link": [*DEID, "--out", "dangling", "--key-file", "vault/cw.csv"],
    "deid-out=beside-key": [*DEID, "--out", "vault/v.csv", "--key-file", "vault/cw.csv"],
    "deid-key=raw": [*DEID, "--out", "share/v.csv", "--key-file", "clinic/raw.csv"],
    "deid-key=link-to-raw": [*DEID, "--out", "share/v.csv", "--key-file", "link_raw.csv"],
    "deid-key=mapping": [*DEID, "--out", "share/v.csv", "--key-file", "clinic/mapping.yaml"],
    "deid-key=directory": [*DEID, "--out", "share/v.csv", "--key-file", "user"],
    "deid-key=dangling-link": [*DEID, "--out", "share/v.csv", "--key-file", "dangling"],
    "deid-key=name-too-long": [*DEID, "--out", "share/v.csv", "--key-file", LONG],
}


@pytest.mark.parametrize("argv", REFUSED.values(), ids=REFUSED.keys())
def test_refused_collisions_exit_1_and_change_nothing(ws, argv, capsys):
    if "link_r" in argv:
        (ws / "link_r").symlink_to("r.json")
    before, sample = snapshot(ws), snapshot(REPO / "data" / "sample")
    code = run(argv)
    err = capsys.readouterr().err
    assert code == 1, err
    assert "error" in err and "internal error" not in err and "Traceback" not in err
    assert_kept(before, snapshot(ws))
    assert_kept(sample, snapshot(REPO / "data" / "sample"))


def test_claims_json_written_rewritten_and_then_protected(ws, capsys):
    outs = {"out", "out/r.json", f"out/{MANIFEST}"}
    before = snapshot(ws)
    assert run([*CLAIMS, "--json", "out/r.json"]) == 0
    first = snapshot(ws)
    assert_kept(before, first, outs)
    assert run([*CLAIMS, "--json", "out/r.json"]) == 0  # ours, unchanged: replaced
    assert snapshot(ws) == first  # byte-identical results
    (ws / "out" / "r.json").write_text("edited by hand\n")
    edited = snapshot(ws)
    assert run([*CLAIMS, "--json", "out/r.json"]) == 1
    assert "output_changed" in capsys.readouterr().err and snapshot(ws) == edited
    assert run([*CLAIMS, "--json", "out/r.json", "--force"]) == 0
    assert snapshot(ws)["out/r.json"] == first["out/r.json"]


def test_claims_unsuppressed_json_beside_the_suppressed_one(ws, capsys):
    before = snapshot(ws)
    assert run([*CLAIMS, "--json", "out/r.json", "--unsuppressed-json", "research/r.unsuppressed.json"]) == 0
    err = capsys.readouterr().err
    assert "UNSUPPRESSED" in err and "research/r.unsuppressed.json" in err
    assert_kept(
        before,
        snapshot(ws),
        {"out", "out/r.json", f"out/{MANIFEST}", "research", "research/r.unsuppressed.json", f"research/{MANIFEST}"},
    )


def test_synth_replaces_its_own_file_through_a_link_and_never_a_changed_one(ws, capsys):
    assert run([*SYNTH, "--out", "s/a.csv"]) == 0
    (ws / "link_a.csv").symlink_to("s/a.csv")
    before = snapshot(ws)
    assert run(["synth", "--episodes", "30", "--seed", "2", "--out", "link_a.csv"]) == 0  # ours, through a link
    after = snapshot(ws)
    assert after["link_a.csv"] == ("link", "s/a.csv") and after["s/a.csv"] != before["s/a.csv"]
    assert_kept(before, after, {"s/a.csv", f"s/{MANIFEST}"})
    (ws / "s" / "a.csv").write_text("edited\n")
    edited = snapshot(ws)
    assert run([*SYNTH, "--out", "link_a.csv"]) == 1 and snapshot(ws) == edited
    assert run([*SYNTH, "--out", "link_a.csv", "--force"]) == 0 and snapshot(ws)["link_a.csv"] == ("link", "s/a.csv")
    capsys.readouterr()


def test_deidentify_updates_the_crosswalk_through_its_link(ws, capsys):
    old_rows = set((ws / "vault" / "cw.csv").read_text().splitlines())
    before = snapshot(ws)
    assert run([*DEID, "--out", "share/v.csv", "--key-file", "keys/cw.csv"]) == 0
    after = snapshot(ws)
    assert after["keys/cw.csv"] == ("link", "../vault/cw.csv")  # the clinic's key is not forked
    assert old_rows <= set((ws / "vault" / "cw.csv").read_text().splitlines())
    assert after["vault/cw.csv"][2] == 0o600
    assert_kept(before, after, {"vault/cw.csv", "share", "share/v.csv", f"share/{MANIFEST}"})
    assert run([*DEID, "--out", "share/v.csv", "--key-file", "keys/cw.csv"]) == 0  # ours: replaced
    (ws / "share" / "v.csv").write_text("edited\n")
    edited = snapshot(ws)
    assert run([*DEID, "--out", "share/v.csv", "--key-file", "keys/cw.csv"]) == 1
    assert snapshot(ws) == edited
    capsys.readouterr()


def _previous_report(ws: Path) -> Path:
    """A report directory as an earlier run left it (marked)."""
    with atomic_directory(ws / "reports") as tmp:
        (tmp / "report.html").write_text("<p>last week</p>")
        (tmp / "results.json").write_text("{}")
    return ws / "reports"


@pytest.mark.parametrize(
    "change",
    [
        "user-file",
        "user-subdirectory",
        "changed-file",
        "changed-file-force-but-foreign",
        "marker-removed",
        "marker-edited",
    ],
)
def test_a_previous_report_with_anything_foreign_is_refused(ws, change, capsys):
    out = _previous_report(ws)
    argv = [*REPORT, "--out", "reports"]
    if change == "user-file":
        (out / "notes.txt").write_text("mine")
    elif change == "user-subdirectory":
        (out / "mine").mkdir()
        (out / "mine" / "x.txt").write_text("mine")
    elif change == "changed-file":
        (out / "report.html").write_text("annotated by the clinic lead")
    elif change == "changed-file-force-but-foreign":
        (out / "report.html").write_text("annotated")
        (out / "notes.txt").write_text("mine")
        argv.append("--force")
    elif change == "marker-removed":
        (out / MARKER).unlink()
    else:
        (out / MARKER).write_text('{"files": {}}\n')
    before = snapshot(ws)
    assert run(argv) == 1
    err = capsys.readouterr().err
    assert "internal error" not in err and ("notes.txt" in err or change != "user-file")
    assert_kept(before, snapshot(ws))


def test_report_through_a_link_then_onto_itself_then_force(ws, capsys):
    (ws / "real_reports").mkdir()
    (ws / "rep").symlink_to("real_reports")
    before = snapshot(ws)
    assert run([*REPORT, "--out", "rep"]) == 0
    first = snapshot(ws)
    written = {f"real_reports/{n}" for n in (MARKER, "report.html", "results.json")} | {"real_reports"}
    assert first["rep"] == ("link", "real_reports") and set(first) - set(before) == written - {"real_reports"}
    assert_kept(before, first, written)
    assert run([*REPORT, "--out", "rep"]) == 0  # an earlier outcomes report, unchanged: replaced
    assert_kept(first, snapshot(ws), written)
    (ws / "real_reports" / "report.html").write_text("annotated")
    assert run([*REPORT, "--out", "rep"]) == 1
    assert run([*REPORT, "--out", "rep", "--force"]) == 0
    assert_kept(first, snapshot(ws), written)
    capsys.readouterr()


# ----------------------------------------------------------------------------- killed runs


def _dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    return int(proc.stdout)


def test_stale_temporary_file_of_a_killed_run_is_cleaned_and_reported(ws, capsys):
    stale = ws / "s" / temporary_name("a.csv", pid=_dead_pid())
    stale.parent.mkdir()
    stale.write_text("half a file")
    before = snapshot(ws)
    assert run([*SYNTH, "--out", "s/a.csv"]) == 0
    err = capsys.readouterr().err
    assert stale.name in err and "interrupted" in err and not stale.exists()
    assert_kept(before, snapshot(ws), {stale.relative_to(ws).as_posix(), "s/a.csv", f"s/{MANIFEST}"})


def test_stale_report_folder_of_a_killed_run_is_cleaned_by_the_next_run(ws, capsys):
    stale = ws / temporary_name("reports", pid=_dead_pid())
    (stale / "research" / "notebooks").mkdir(parents=True)
    (stale / "report.html").write_text("half")
    (ws / "bad.csv").write_text("patient_id,visit_day,measure,value\nP1,0,pain_nprs,6\nP1,7,pain_nprs,11\n")
    assert run(["report", "bad.csv", "--out", "reports"]) == 1  # the output path is fine; the data is not
    err = capsys.readouterr().err
    assert stale.name in err and not stale.exists() and not (ws / "reports").exists()


def _start_and_wait_for_temporary(tmp_path: Path, out: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "outcomes.cli", "synth", "--episodes", "100000", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if any(".outcomes-tmp-" in p.name for p in out.parent.iterdir()):
            return proc
        time.sleep(0.002)
    proc.kill()
    proc.wait()
    pytest.skip("the temporary was never seen while the writer ran (too fast or too slow)")


def test_sigkill_while_writing_then_the_next_run_cleans_and_reports(tmp_path):
    out = tmp_path / "w" / "x.parquet"
    out.parent.mkdir()
    (out.parent / "mine.txt").write_text("user")
    proc = _start_and_wait_for_temporary(tmp_path, out)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    stale = [p.name for p in out.parent.iterdir() if ".outcomes-tmp-" in p.name]
    if not stale:
        pytest.skip("the write finished before the kill")
    assert not out.exists()
    again = subprocess.run(
        [sys.executable, "-m", "outcomes.cli", "synth", "--episodes", "20", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0, again.stderr
    assert stale[0] in again.stderr and "interrupted" in again.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == [MANIFEST, "mine.txt", "x.parquet"]


def test_sigterm_while_writing_removes_the_temporary_and_exits_143(tmp_path):
    out = tmp_path / "w" / "x.parquet"
    out.parent.mkdir()
    proc = _start_and_wait_for_temporary(tmp_path, out)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the write finished before the signal")
    assert proc.returncode == 143 and "SIGTERM" in err and "Traceback" not in err
    assert list(out.parent.iterdir()) == []
