"""The hostile-input case table of ``tests/test_hostile.py``: builders, the runner and its checks.

Each :class:`Case` is one row: an id (``family.what``), a builder that writes the inputs into a
fresh folder and returns the command line to run (:class:`Run`), the exit code(s) expected, and
extra expectations (rule tags and key paths the message must name, a time bound, checks of the
outputs). :func:`execute` runs a case (in-process through :func:`outcomes.cli.main`, or in a
subprocess with a timeout and a memory cap for inputs that could hang or exhaust memory) and
:func:`problems_of` applies the rules every case must keep:

- the exit code is one of the expected ones (bad input 1, usage 2, never 3), no traceback;
- stdout and stderr hold no raw control or bidi character and never the :data:`SENTINEL` that
  the builders put in hostile cells (no message quotes a cell value);
- every file that existed before the run is unchanged afterwards (content, symlink target,
  kind), except those the case declares the tool's own (``may_change``): the tool never deletes
  or overwrites a file it did not create;
- a refused run (exit != 0) leaves no new file behind (no partial output, no temporary file);
- no file the run wrote holds the sentinel, except those the case allows (``sentinel_ok``).

Everything is built from small synthetic data in the case's folder: nothing large is committed.
"""

from __future__ import annotations

import builtins
import contextlib
import csv
import errno
import functools
import hashlib
import html.parser
import io
import json
import os
import re
import resource
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

#: Put into hostile cells; must never be printed, nor written where the case does not allow it.
SENTINEL = "ZQXSENTINEL"
#: Time allowed to a subprocess case before it counts as a hang.
TIMEOUT_S = 20.0
#: Address-space cap of a subprocess case: an unbounded read fails the case instead of the machine.
MEMORY_CAP_BYTES = 4 * 1024**3
#: Names of the files in which the tool records what it wrote (``outcomes.safety.outputs.MANIFEST`` /
#: ``MARKER``): a case may see them change when it reruns onto the tool's own outputs.
TOOL_BOOKKEEPING = (".outcomes-manifest.json", ".outcomes-output.json")
#: A 300-character file name (over the 255 of ``max_name_chars`` and of most file systems).
LONG_NAME = "n" * 296
#: Characters that must never reach a terminal raw: C0/C1 controls (but newline, tab, CR) and bidi overrides.
_RAW_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_FORMULA = re.compile(r"^[=+\-@\t\r]")
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


# --------------------------------------------------------------------------------------------
# data the builders start from
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def visits_table() -> pd.DataFrame:
    """The 30-episode synthetic visits file, as the strings a CSV holds (cached; copy before editing)."""
    import tempfile

    from outcomes.ingest.synth import SynthParams, simulate_visits, write_visits

    sim = simulate_visits(SynthParams(n_episodes=30), seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v.csv"
        write_visits(sim.visits, path)
        return pd.read_csv(path, dtype=str, keep_default_na=False)


def raw_export_table(n_patients: int = 12, n_visits: int = 4) -> pd.DataFrame:
    """A raw EMR export (one row per visit, identifiers included), all strings, clearly fake people."""
    first = [
        "Testy",
        "Jane",
        "John",
        "Fakey",
        "Sample",
        "Dummy",
        "Mock",
        "Demo",
        "Pseudo",
        "Faux",
        "Stand",
        "Proxy",
        "Token",
        "Filler",
    ]
    last = [
        "McTestface",
        "Placeholder",
        "Doe-Example",
        "Fakerson",
        "Patientson",
        "Dataperson",
        "Mockley",
        "Demoson",
        "Nobody",
        "Fauxley",
        "Inman",
        "Proxley",
        "Tokenson",
        "Fillmore",
    ]
    rows = []
    for i in range(n_patients):
        start = pd.Timestamp("2024-03-01") + pd.Timedelta(days=3 * i)
        for j in range(n_visits):
            rows.append(
                {
                    "patient_name": f"{first[i % len(first)]} {last[i % len(last)]}",
                    "mrn": f"MRN-FAKE-{i + 1:04d}",
                    "dob": f"{1950 + i:04d}-0{1 + i % 9}-1{i % 10}",
                    "visit_date": (start + pd.Timedelta(days=7 * j)).strftime("%Y-%m-%d"),
                    "phone": f"202-555-01{i:02d}",
                    "email": f"patient{i:02d}@example.com",
                    "street_address": f"{i + 1} Example Street",
                    "condition": "neck_pain",
                    "treatment": "dry_needling+exercise",
                    "side": "",
                    "pain_nprs": str(max(7 - 2 * j + i % 2, 0)),
                    "rom_cervical_rotation_left": str(50 + 6 * j + i % 3),
                    "therapist_note": "fake note, synthetic record",
                }
            )
    return pd.DataFrame(rows, dtype=str)


def per_patient(values: Sequence[str]) -> Callable[[pd.DataFrame], list[str]]:
    """A column maker: the i-th patient (in order of appearance) gets ``values[i % len(values)]``."""

    def make(frame: pd.DataFrame) -> list[str]:
        codes = pd.factorize(frame["patient_id"])[0]
        return [values[c % len(values)] for c in codes]

    return make


# --------------------------------------------------------------------------------------------
# what a builder returns, and the case rows
# --------------------------------------------------------------------------------------------


@dataclass
class Run:
    """A prepared command line.

    Paths are relative to the case folder (the current directory while the case runs).
    ``may_change``: pre-existing paths the tool itself wrote (in the builder) and may replace;
    ``sentinel_ok``: written paths that may hold the sentinel (the crosswalk keeps identifiers);
    ``leftovers_ok``: paths a refused run may leave (e.g. the crosswalk, written before the output);
    ``fault``: ``("eacces" | "enospc", dirs)`` simulates a read-only or full directory (in-process:
    as root, chmod does not stop writes).
    """

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    may_change: tuple[str, ...] = ()
    sentinel_ok: tuple[str, ...] = ()
    leftovers_ok: tuple[str, ...] = ()
    checks: tuple[Callable[[Outcome], None], ...] = ()
    fault: tuple[str, tuple[str, ...]] | None = None
    subprocess: bool = False


@dataclass(frozen=True)
class Case:
    """One row of the table (see the module docstring)."""

    id: str
    build: Callable[[Ctx], Run]
    expect: frozenset[int]
    rules: tuple[str, ...] = ()  # exit 1: one of these tags ``[rule]`` is in stderr (``phi_*``: a prefix)
    mentions: tuple[str, ...] = ()  # exit 1: each of these (a key path, a column) is named in stderr
    max_seconds: float | None = None
    note: str = ""

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]


@dataclass
class Outcome:
    """What a run did: exit code (None = hang / crash of the runner), streams, file trees, time."""

    case: Case
    run: Run
    root: Path
    rc: int | None
    out: str
    err: str
    before: dict[str, tuple]
    after: dict[str, tuple]
    seconds: float

    def path(self, rel: str) -> Path:
        return self.root / rel

    def new_or_changed(self) -> list[str]:
        return sorted(p for p, v in self.after.items() if self.before.get(p) != v)


class Ctx:
    """Builder helpers: write inputs into the case folder ``root`` (relative names in, relative names out)."""

    def __init__(self, root: Path, shared: Path) -> None:
        self.root = root
        self.shared = shared

    def _target(self, name: str) -> Path:
        p = self.root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def text(self, name: str, content: str, encoding: str = "utf-8", newline: str = "") -> str:
        with open(self._target(name), "w", encoding=encoding, newline=newline) as fh:
            fh.write(content)
        return name

    def bytes(self, name: str, data: bytes) -> str:
        self._target(name).write_bytes(data)
        return name

    def dir(self, name: str, files: Mapping[str, str] | None = None) -> str:
        self._target(name).mkdir(exist_ok=True)
        for fname, content in (files or {}).items():
            self.text(f"{name}/{fname}", content)
        return name

    def link(self, name: str, target: str) -> str:
        os.symlink(target, self._target(name))
        return name

    def fifo(self, name: str) -> str:
        os.mkfifo(self._target(name))
        return name

    def frame(self, name: str, frame: pd.DataFrame) -> str:
        p = self._target(name)
        if name.endswith(".parquet"):
            frame.to_parquet(p, index=False)
        else:
            frame.to_csv(p, index=False)
        return name

    def visits(
        self,
        name: str = "v.csv",
        *,
        edits: Mapping[tuple[int, str], str] | None = None,
        columns: Mapping[str, object] | None = None,
        frame: pd.DataFrame | None = None,
    ) -> str:
        """The synthetic visits, with cells replaced (``{(row_index, column): text}``) or columns added
        (a list of values, or a callable of the frame)."""
        f = (visits_table() if frame is None else frame).copy()
        for col, values in (columns or {}).items():  # columns first: an edit may then target one
            f[col] = values(f) if callable(values) else values
        for (i, col), value in (edits or {}).items():
            f.loc[f.index[i], col] = value
        return self.frame(name, f)

    def raw(
        self,
        name: str = "raw.csv",
        *,
        edits: Mapping[tuple[int, str], str] | None = None,
        columns: Mapping[str, object] | None = None,
        frame: pd.DataFrame | None = None,
    ) -> str:
        f = (raw_export_table() if frame is None else frame).copy()
        for col, values in (columns or {}).items():  # columns first: an edit may then target one
            f[col] = values(f) if callable(values) else values
        for (i, col), value in (edits or {}).items():
            f.loc[f.index[i], col] = value
        return self.frame(name, f)

    def cached(self, name: str, make: Callable[[Path], None]) -> str:
        """A file built once per session in the shared folder (``make(path)``), copied into the case."""
        src = self.shared / name
        if not src.exists():
            make(src)
        shutil.copyfile(src, self._target(name))
        return name

    def run_tool(self, argv: Sequence[str]) -> int:
        """Run the CLI during the build (to make files the tool itself created)."""
        from outcomes.cli import main

        return main(list(argv))


# --------------------------------------------------------------------------------------------
# file-tree snapshots and simulated file-system faults
# --------------------------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root`` (not following symlinks, never opening a FIFO or device)."""
    entries: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                entries[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                entries[rel] = ("dir",)
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as fh:
                    entries[rel] = ("file", hashlib.file_digest(fh, "sha256").hexdigest())
            else:
                entries[rel] = ("special", stat.S_IFMT(st.st_mode))
    return entries


class _FullFile:
    """A writable file on a "full disk": opening works, every write fails with ENOSPC."""

    def __init__(self, fh: object, path: str) -> None:
        self._fh = fh
        self._path = path

    def write(self, data: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self._path)

    def writelines(self, lines: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self._path)

    def __getattr__(self, name: str) -> object:
        return getattr(self._fh, name)

    def __enter__(self) -> _FullFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()  # type: ignore[attr-defined]

    def __iter__(self) -> Iterator[object]:
        return iter(self._fh)  # type: ignore[call-overload]


@contextlib.contextmanager
def simulated_fault(kind: str, dirs: Sequence[Path]) -> Iterator[None]:
    """Make ``dirs`` read-only (``eacces``) or full (``enospc``) for this process.

    Hand-written because the runner is root (chmod does not stop root) and no library fakes
    a read-only or full directory for code that uses ``open``/``os``/``tempfile``: the
    functions that create, write, rename or remove files are wrapped for paths inside ``dirs``.
    """
    roots = [os.path.realpath(d) for d in dirs]
    real = {
        name: getattr(os, name)
        for name in (
            "open",
            "mkdir",
            "rename",
            "replace",
            "link",
            "symlink",
            "unlink",
            "remove",
            "rmdir",
            "access",
            "write",
        )
    }
    real_open = builtins.open

    def inside(path: object) -> bool:
        if isinstance(path, int):
            try:
                path = os.readlink(f"/proc/self/fd/{path}")
            except OSError:
                return False
        try:
            p = os.path.realpath(os.fsdecode(path))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        return any(p == r or p.startswith(r + os.sep) for r in roots)

    def denied(path: object) -> OSError:
        code = errno.EACCES if kind == "eacces" else errno.ENOSPC
        return OSError(code, os.strerror(code), os.fsdecode(path) if not isinstance(path, int) else "")

    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def fake_os_open(path, flags, mode=0o777, *, dir_fd=None):
        if kind == "eacces" and flags & writing and dir_fd is None and inside(path):
            raise denied(path)
        return real["open"](path, flags, mode, dir_fd=dir_fd)

    def fake_open(file, mode="r", *args, **kwargs):
        writes = any(ch in mode for ch in "wax+")
        if writes and inside(file):
            if kind == "eacces":
                raise denied(file)
            return _FullFile(real_open(file, mode, *args, **kwargs), str(file))
        return real_open(file, mode, *args, **kwargs)

    def guard(name: str, *positions: int) -> Callable[..., object]:
        def wrapper(*args, **kwargs):
            if kind == "eacces" and any(i < len(args) and inside(args[i]) for i in positions):
                raise denied(args[positions[0]])
            return real[name](*args, **kwargs)

        return wrapper

    def fake_access(path, mode, *args, **kwargs):
        if mode & os.W_OK and inside(path) and kind == "eacces":
            return False
        return real["access"](path, mode, *args, **kwargs)

    def fake_write(fd, data):
        if kind == "enospc" and inside(fd):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real["write"](fd, data)

    patches = {
        "open": fake_os_open,
        "mkdir": guard("mkdir", 0),
        "rename": guard("rename", 0, 1),
        "replace": guard("replace", 0, 1),
        "link": guard("link", 1),
        "symlink": guard("symlink", 1),
        "unlink": guard("unlink", 0),
        "remove": guard("remove", 0),
        "rmdir": guard("rmdir", 0),
        "access": fake_access,
        "write": fake_write,
    }
    try:
        for name, fn in patches.items():
            setattr(os, name, fn)
        builtins.open = fake_open  # type: ignore[assignment]
        io.open = fake_open  # type: ignore[assignment]
        yield
    finally:
        for name, fn in real.items():
            setattr(os, name, fn)
        builtins.open = real_open
        io.open = real_open


# --------------------------------------------------------------------------------------------
# running a case and the rules every case keeps
# --------------------------------------------------------------------------------------------


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP_BYTES, MEMORY_CAP_BYTES))


def cli_command() -> list[str]:
    """How to start the CLI in a subprocess: ``python -m outcomes.cli`` with this interpreter."""
    return [sys.executable, "-m", "outcomes.cli"]


@functools.cache
def startup_seconds() -> float:
    """How long the CLI takes to start and exit (``outcomes --help``) on this machine, measured once.

    A subprocess case's time bound is for the work the hostile input causes; the interpreter's
    and the libraries' start-up (seconds on a slow machine) is added to it, not counted against it.
    """
    start = time.perf_counter()
    subprocess.run([*cli_command(), "--help"], capture_output=True, check=True, timeout=TIMEOUT_S)
    return time.perf_counter() - start


def execute(case: Case, root: Path, shared: Path, capfd) -> Outcome:
    """Build and run ``case`` in ``root`` (the caller has made it the current directory)."""
    from outcomes.cli import main

    ctx = Ctx(root, shared)
    run = case.build(ctx)
    capfd.readouterr()  # output of the build (runs of the tool that made "its own" files)
    before = snapshot(root)
    saved_env = {k: os.environ.get(k) for k in run.env}
    start = time.perf_counter()
    rc: int | None
    if run.subprocess:
        try:
            proc = subprocess.run(
                cli_command() + run.argv,
                cwd=root,
                env={**os.environ, **run.env},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=TIMEOUT_S,
                preexec_fn=_limit_memory,
            )
            rc = proc.returncode
            out = proc.stdout.decode("utf-8", "replace")
            err = proc.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired as exc:
            rc = None
            out = (exc.stdout or b"").decode("utf-8", "replace")
            err = (exc.stderr or b"").decode("utf-8", "replace") + f"\n[hang: killed after {TIMEOUT_S:.0f} s]"
    else:
        os.environ.update(run.env)
        fault = (
            simulated_fault(run.fault[0], [root / d for d in run.fault[1]]) if run.fault else contextlib.nullcontext()
        )
        try:
            with fault:
                rc = main(list(run.argv))
            captured = capfd.readouterr()
            out, err = captured.out, captured.err
        except BaseException as exc:
            captured = capfd.readouterr()
            rc, out = None, captured.out
            err = captured.err + f"\n[escaped main(): {type(exc).__name__}: {exc}]"
        finally:
            for k, v in saved_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    seconds = time.perf_counter() - start
    return Outcome(case, run, root, rc, out, err, before, snapshot(root), seconds)


def _rule_seen(rule: str, err: str) -> bool:
    if rule.endswith("*"):
        return re.search(r"\[" + re.escape(rule[:-1]) + r"\w*\]", err) is not None
    return f"[{rule}]" in err


def _mentioned(path: str, err: str) -> bool:
    return re.search(r"(?<![\w.])" + re.escape(path) + r"(?![\w])", err) is not None


def problems_of(o: Outcome) -> list[str]:
    """Every broken expectation of outcome ``o`` (empty when the case passes)."""
    case, run = o.case, o.run
    found: list[str] = []
    if o.rc not in case.expect:
        found.append(f"exit {o.rc}, expected {sorted(case.expect)}")
    if "Traceback (most recent call last)" in o.err + o.out:
        found.append("traceback printed")
    if "internal error" in o.err:
        found.append("internal error reported")
    for stream, text in (("stdout", o.out), ("stderr", o.err)):
        raw = _RAW_CONTROL.search(text)
        if raw:
            found.append(f"raw control character {raw.group()!r} on {stream}")
        if SENTINEL.lower() in text.lower():
            found.append(f"cell value (sentinel) echoed on {stream}")
    if o.rc == 1 and case.rules and not any(_rule_seen(r, o.err) for r in case.rules):
        found.append(f"none of the rules {list(case.rules)} named in stderr")
    if o.rc == 1:
        for path in case.mentions:
            if not _mentioned(path, o.err):
                found.append(f"{path!r} not named in stderr")
    if case.max_seconds is not None:
        startup = startup_seconds() if o.run.subprocess else 0.0
        if o.seconds > case.max_seconds + startup:
            found.append(f"took {o.seconds:.1f} s (bound {case.max_seconds:.0f} s + start-up {startup:.1f} s)")
    for rel, entry in o.before.items():
        if rel in run.may_change or any(rel.startswith(m + os.sep) for m in run.may_change):
            continue
        if os.path.basename(rel) in TOOL_BOOKKEEPING and entry[0] == "file":
            continue  # only the tool writes these (in a build step): its record of what it wrote
        now = o.after.get(rel)
        if now != entry:
            found.append(
                f"user path {rel!r} {'deleted' if now is None else 'changed'} ({entry[0]} -> "
                f"{now[0] if now else 'gone'})"
            )
    new = [p for p in o.after if p not in o.before]
    if o.rc != 0:
        extra = [
            p for p in new if p not in run.leftovers_ok and not any(p.startswith(k + os.sep) for k in run.leftovers_ok)
        ]
        if extra:
            found.append(f"refused run left new paths behind: {extra[:5]}")
    for rel in o.new_or_changed():
        if o.after[rel][0] != "file" or rel in run.sentinel_ok:
            continue
        data = (o.root / rel).read_bytes()
        if SENTINEL.lower().encode() in data.lower():
            found.append(f"sentinel written into {rel!r}")
    if o.rc in case.expect:
        for check in run.checks:
            try:
                check(o)
            except AssertionError as exc:
                found.append(f"check {getattr(check, '__name__', 'check')}: {exc}")
    return found


# --------------------------------------------------------------------------------------------
# extra checks
# --------------------------------------------------------------------------------------------


def stdout_is_one_json(o: Outcome) -> None:
    """stdout is exactly one JSON document."""
    try:
        json.loads(o.out)
    except ValueError as exc:
        raise AssertionError(f"stdout is not one JSON document ({exc}); starts {o.out[:60]!r}") from None


def mode_is(rel: str, mode: int) -> Callable[[Outcome], None]:
    def permissions(o: Outcome) -> None:
        got = o.path(rel).stat().st_mode & 0o777
        assert got == mode, f"{rel} has mode {got:o}, expected {mode:o}"

    return permissions


def not_on_stderr(text: str) -> Callable[[Outcome], None]:
    def not_raw(o: Outcome) -> None:
        assert text not in o.err, "a file name reached stderr unescaped"

    return not_raw


def stdout_empty(o: Outcome) -> None:
    assert not o.out.strip(), f"stdout not empty: {o.out[:60]!r}"


def json_file(rel: str) -> Callable[[Outcome], None]:
    def json_file_parses(o: Outcome) -> None:
        p = o.path(rel)
        assert p.is_file() and not p.is_symlink(), f"{rel} not written as a file"
        json.loads(p.read_text(encoding="utf-8"))

    return json_file_parses


def is_file(rel: str) -> Callable[[Outcome], None]:
    def file_written(o: Outcome) -> None:
        assert o.path(rel).is_file(), f"{rel} not written"

    return file_written


def still_link(rel: str, target: str) -> Callable[[Outcome], None]:
    def link_kept(o: Outcome) -> None:
        assert o.path(rel).is_symlink() and os.readlink(o.path(rel)) == target, f"{rel} is no longer a link"

    return link_kept


def csv_cells(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def no_formula_cells(*rels: str) -> Callable[[Outcome], None]:
    """No cell of the written CSVs would run as a spreadsheet formula (OWASP)."""

    def no_formulas(o: Outcome) -> None:
        for rel in rels:
            bad = [
                c for row in csv_cells(o.path(rel)) for c in row if _FORMULA.match(c) and not _PLAIN_NUMBER.fullmatch(c)
            ]
            assert not bad, f"{rel} has {len(bad)} formula-leading cell(s)"

    return no_formulas


def column_cells_escaped(rel: str, column: str, originals: Sequence[str]) -> Callable[[Outcome], None]:
    """Each formula-leading original appears in ``column`` of ``rel`` with one leading quote (the tool
    may trim surrounding white space from identifiers first: ``"\t=2+3"`` -> ``"'=2+3"``)."""

    def escaped(o: Outcome) -> None:
        table = pd.read_csv(o.path(rel), dtype=str, keep_default_na=False)
        got = set(table[column])
        for value in originals:
            assert {"'" + value, "'" + value.strip()} & got, (
                f"{column} of {rel} lacks the neutralised form of an original cell"
            )

    return escaped


def only_contract_columns(rel: str) -> Callable[[Outcome], None]:
    def allow_list(o: Outcome) -> None:
        from outcomes.spec.contract import ALL_COLUMNS

        header = csv_cells(o.path(rel))[0]
        extra = [c for c in header if c not in ALL_COLUMNS]
        assert not extra, f"{rel} has columns outside the data contract: {extra}"

    return allow_list


def crosswalk_prefix_kept(rel: str, saved: str) -> Callable[[Outcome], None]:
    """The crosswalk ``rel`` still starts with every row of the copy ``saved`` made before the run."""

    def prefix(o: Outcome) -> None:
        old = csv_cells(o.path(saved))
        new = csv_cells(o.path(rel))
        assert new[: len(old)] == old, "old crosswalk entries changed"

    return prefix


def same_patients(rel_a: str, rel_b: str) -> Callable[[Outcome], None]:
    def same_pseudonyms(o: Outcome) -> None:
        a = set(pd.read_csv(o.path(rel_a), dtype=str)["patient_id"])
        b = set(pd.read_csv(o.path(rel_b), dtype=str)["patient_id"])
        assert a == b, "a second run with the same crosswalk gave other pseudonyms"

    return same_pseudonyms


def text_absent(rel: str, *needles: str) -> Callable[[Outcome], None]:
    def absent(o: Outcome) -> None:
        text = o.path(rel).read_text(encoding="utf-8", errors="replace").lower()
        for n in needles:
            assert n.lower() not in text, f"{rel} holds a value from the input"

    return absent


def json_mentions(rel_or_stdout: str, needle: str) -> Callable[[Outcome], None]:
    def mentions(o: Outcome) -> None:
        text = o.out if rel_or_stdout == "-" else o.path(rel_or_stdout).read_text(encoding="utf-8")
        assert needle in text, f"{needle} missing from the results document"

    return mentions


class _Elements(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.script_text: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_script:
            self.script_text.append(data)


def html_inert(rel: str) -> Callable[[Outcome], None]:
    """No element or attribute of ``rel`` came from the hostile names (file name, plan text, labels)."""

    def inert(o: Outcome) -> None:
        parser = _Elements()
        parser.feed(o.path(rel).read_text(encoding="utf-8"))
        tags = [t for t, _ in parser.tags]
        assert "iframe" not in tags, "an <iframe> from the plan text is live markup"
        assert not any(t == "img" and ("src", "x") in a for t, a in parser.tags), "an <img> from the file name is live"
        assert not any(k in ("onerror", "onload", "onmouseover") for _, a in parser.tags for k, _v in a), (
            "an event-handler attribute from the input is live"
        )
        assert not any("alert(" in s and "label" in s for s in parser.script_text), "a label ran as a <script>"
        shown = "".join(parser.text)  # entities decoded: the hostile names must be there, as text
        assert '<script>alert("label")</script>' in shown, "the hostile label is not shown as text (vacuous test)"
        assert "<img src=x onerror=alert(1)>" in shown, "the hostile file name is not shown as text (vacuous test)"

    return inert


# --------------------------------------------------------------------------------------------
# small builders shared by many rows
# --------------------------------------------------------------------------------------------


def _plan_text(mapping_text: str) -> str:
    return mapping_text if mapping_text.endswith("\n") else mapping_text + "\n"


def claims_with_plan(plan_yaml: str, data: str = "v.csv", extra: Sequence[str] = ()) -> Callable[[Ctx], Run]:
    def build(c: Ctx) -> Run:
        c.visits(data)
        return Run(["claims", data, "--plan", c.text("plan.yaml", _plan_text(plan_yaml)), *extra])

    return build


def claims_plan_bytes(data_bytes: bytes, name: str = "plan.yaml") -> Callable[[Ctx], Run]:
    def build(c: Ctx) -> Run:
        c.visits()
        return Run(["claims", "v.csv", "--plan", c.bytes(name, data_bytes)])

    return build


def validate_edit(edits: Mapping[tuple[int, str], str]) -> Callable[[Ctx], Run]:
    return lambda c: Run(["validate", c.visits(edits=edits)])


def validate_column(name: str, values: object, allow_phi: bool = False) -> Callable[[Ctx], Run]:
    def build(c: Ctx) -> Run:
        argv = ["validate", c.visits(columns={name: values})]
        return Run(argv + (["--allow-phi"] if allow_phi else []))

    return build


def validate_bytes(data: bytes, name: str = "v.csv") -> Callable[[Ctx], Run]:
    return lambda c: Run(["validate", c.bytes(name, data)])


def validate_text(text: str, name: str = "v.csv") -> Callable[[Ctx], Run]:
    return lambda c: Run(["validate", c.text(name, text)])


def validate_frame(
    frame_maker: Callable[[], pd.DataFrame],
    name: str = "v.parquet",
    env: Mapping[str, str] | None = None,
    subprocess: bool = False,
) -> Callable[[Ctx], Run]:
    return lambda c: Run(["validate", c.frame(name, frame_maker())], env=dict(env or {}), subprocess=subprocess)


def deid(
    raw_edits: Mapping[tuple[int, str], str] | None = None,
    *,
    columns: Mapping[str, object] | None = None,
    mapping: str | None = None,
    extra: Sequence[str] = (),
    sentinel_ok: tuple[str, ...] = (),
    checks: tuple[Callable[[Outcome], None], ...] = (),
) -> Callable[[Ctx], Run]:
    """``deidentify raw.csv --out out/visits.csv --key-file keys/cw.csv [--mapping m.yaml]``."""

    def build(c: Ctx) -> Run:
        raw = c.raw(edits=raw_edits, columns=columns)
        argv = ["deidentify", raw, "--out", "out/visits.csv", "--key-file", "keys/cw.csv"]
        if mapping is not None:
            argv += ["--mapping", c.text("m.yaml", _plan_text(mapping))]
        return Run(argv + list(extra), sentinel_ok=sentinel_ok, checks=checks)

    return build


def deid_mapping_bytes(data: bytes) -> Callable[[Ctx], Run]:
    def build(c: Ctx) -> Run:
        return Run(
            [
                "deidentify",
                c.raw(),
                "--out",
                "out/visits.csv",
                "--key-file",
                "keys/cw.csv",
                "--mapping",
                c.bytes("m.yaml", data),
            ]
        )

    return build


def deid_key_bytes(data: bytes | None, *, is_dir: bool = False) -> Callable[[Ctx], Run]:
    def build(c: Ctx) -> Run:
        raw = c.raw()
        if is_dir:
            c.dir("keys/cw.csv", {"x.txt": "user file\n"})
        else:
            c.bytes("keys/cw.csv", data or b"")
        return Run(["deidentify", raw, "--out", "out/visits.csv", "--key-file", "keys/cw.csv"])

    return build


def alias_bomb(levels: int, width: int) -> str:
    """YAML whose aliases expand to ``width ** (levels + 1)`` values (billion laughs)."""
    lines = ["name: bomb", "x0: &x0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def _wide_frame(n_cols: int) -> pd.DataFrame:
    data = {"patient_id": ["P1", "P1"], "visit_day": [0, 7], "pain_nprs": [6, 3]}
    data.update({f"extra_{i:04d}": [1, 2] for i in range(n_cols - 3)})
    return pd.DataFrame(data)


def _parquet_50m_rows(path: Path) -> None:
    """A Parquet file of 50,000,000 rows in under 1 MB (constant columns, dictionary + RLE)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 1_000_000
    table = pa.table(
        {
            "patient_id": pa.array(["P1"] * n).dictionary_encode(),
            "visit_day": pa.array(np.zeros(n, dtype=np.int64)),
            "measure": pa.array(["pain_nprs"] * n).dictionary_encode(),
            "value": pa.array(np.full(n, 5.0)),
        }
    )
    with pq.ParquetWriter(path, table.schema, compression="zstd") as writer:
        for _ in range(50):
            writer.write_table(table, row_group_size=n)


def _parquet_with(column: str, arrow_array_maker: Callable[[int], object]) -> Callable[[Ctx], Run]:
    def build(c: Ctx) -> Run:
        import pyarrow as pa
        import pyarrow.parquet as pq

        f = visits_table().head(40).copy()
        table = pa.Table.from_pandas(f, preserve_index=False)
        table = (
            table.append_column(column, arrow_array_maker(len(f)))
            if column not in f
            else table.set_column(table.schema.get_field_index(column), column, arrow_array_maker(len(f)))
        )
        pq.write_table(table, c._target("v.parquet"))
        return Run(["validate", "v.parquet"])

    return build


def _hundred_k_columns(path: Path) -> None:
    names = [f"c{i:05d}" for i in range(100_000)]
    header = "patient_id,visit_day,measure,value," + ",".join(names)
    row = "P1,0,pain_nprs,5," + ",".join(["1"] * len(names))
    path.write_text(header + "\n" + row + "\n", encoding="utf-8")


def _with_custom_measure(frame: pd.DataFrame) -> pd.DataFrame:
    """The visits plus a ``rom_knee_extension_custom`` measurement at every pain visit."""
    pain = frame[frame["measure"] == "pain_nprs"].copy()
    pain["measure"] = "rom_knee_extension_custom"
    pain["value"] = (90 + 4 * pain["visit_number"].astype(int)).clip(upper=170).astype(str)
    return pd.concat([frame, pain], ignore_index=True)


CUSTOM_MEASURE_PLAN = """\
measures:
  rom_knee_extension_custom:
    label: Knee extension (custom goniometer)
    unit: degrees
    lower: 0
    upper: 180
    direction: 1
    kind: rom
    threshold_abs: 8
"""


def _dirs_of_user_files(c: Ctx) -> None:
    c.dir("docs", {"thesis.txt": "my thesis\n", "budget.csv": "a,b\n1,2\n"})


def _clinic(c: Ctx) -> str:
    """``clinic/visits.csv`` beside an unrelated user file ``clinic/notes.txt``."""
    c.visits("clinic/visits.csv")
    c.text("clinic/notes.txt", "the clinic's own notes\n")
    return "clinic/visits.csv"


# --------------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------------


def case(id: str, build: Callable[[Ctx], Run], expect: int | Sequence[int], **kw: object) -> Case:
    codes = frozenset([expect] if isinstance(expect, int) else expect)
    return Case(id, build, codes, **kw)  # type: ignore[arg-type]


def _visits_text() -> str:
    return visits_table().to_csv(index=False)


def _typed_visits(n: int | None = None) -> pd.DataFrame:
    f = visits_table() if n is None else visits_table().head(n)
    f = f.copy()
    f["visit_day"] = f["visit_day"].astype("int64")
    f["visit_number"] = f["visit_number"].astype("int64")
    f["value"] = f["value"].astype("float64")
    return f[["patient_id", "episode_id", "visit_day", "visit_number", "measure", "side", "value"]]


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def _three_visits(day3: str, number3: str) -> str:
    """One episode of three pain visits (days 0, 7, ``day3``; numbers 1, 2, ``number3``)."""
    return (
        "patient_id,visit_day,visit_number,measure,value\n"
        f"P1,0,1,pain_nprs,7\nP1,7,2,pain_nprs,5\nP1,{day3},{number3},pain_nprs,3\n"
    )


def _big_visit_day(value: int, dtype: str) -> Callable[[Ctx], Run]:
    """:func:`_three_visits` as Parquet with an integer ``visit_day`` column of ``dtype``."""

    def build(c: Ctx) -> Run:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table(
            {
                "patient_id": ["P1"] * 3,
                "visit_day": pa.array([0, 7, value], type=dtype),
                "measure": ["pain_nprs"] * 3,
                "value": [7.0, 5.0, 3.0],
            }
        )
        pq.write_table(table, c._target("v.parquet"))
        return Run(["validate", "v.parquet"])

    return build


def _wide_text(pain_cell: str = "3") -> str:
    rows = ["patient_id,visit_day,pain_nprs,rom_cervical_flexion"]
    for p in range(12):
        rows += [f"W{p:03d},0,7,40", f"W{p:03d},7,{pain_cell if p == 3 else '4'},48", f"W{p:03d},14,2,55"]
    return "\n".join(rows) + "\n"


_HEADER = "patient_id,visit_day,measure,value\n"
NAMES_INITIAL = ["A. Jones", "B. Smith", "C. Brown", "D. Miller", "E. Davis", "F. Wilson"]
NAMES_FULL = ["Zqxsentinel Gonzalez", "Zqxsentinel Miller", "Zqxsentinel Souza", "Zqxsentinel Dubois"]
CODES = ["x1", "x2", "x3", "x4"]
DOB_ISO = ["1961-07-14", "1975-03-02", "1958-11-23", "1980-01-30", "1949-09-09"]
HOSTILE_MRNS = ["=1+2", '=HYPERLINK("http://evil.example/x","open me")', "+SUM(1,2)", "-x1", "@cmd", "\t=2+3"]


def _mrn_column(frame: pd.DataFrame) -> list[str]:
    patient = pd.factorize(frame["patient_name"])[0]
    return [HOSTILE_MRNS[i] if i < len(HOSTILE_MRNS) else f"MRN-FAKE-{i:04d}" for i in patient]


def _reformat_dates(column: str, fmt: str) -> Callable[[pd.DataFrame], list[str]]:
    return lambda f: [pd.Timestamp(d).strftime(fmt) for d in f[column]]


def _deid_then(
    argv_tail: Sequence[str],
    *,
    setup_key: str = "keys/cw.csv",
    setup_out: str = "out/visits.csv",
    save_key: bool = False,
    **run_kw: object,
) -> Callable[[Ctx], Run]:
    """Run deidentify once in the build (the tool's own outputs), then the case's command."""
    hostile_mrn = bool(run_kw.pop("hostile_mrn", False))

    def build(c: Ctx) -> Run:
        c.raw(columns={"mrn": _mrn_column} if hostile_mrn else None)
        c.run_tool(["deidentify", "raw.csv", "--out", setup_out, "--key-file", setup_key])
        if save_key and (c.root / setup_key).exists():
            c.dir("saved")
            shutil.copyfile(c.root / setup_key, c.root / "saved/cw_before.csv")
        return Run(["deidentify", "raw.csv", *argv_tail], **run_kw)  # type: ignore[arg-type]

    return build


def _report_hostile(c: Ctx) -> Run:
    name = "<img src=x onerror=alert(1)>.csv"
    c.visits(name)
    c.text(
        "plan.yaml",
        "name: '<iframe src=x></iframe>'\n"
        "description: '<b onmouseover=alert(2)>plan</b>'\n"
        "measures:\n  pain_nprs: {label: '<script>alert(\"label\")</script>'}\n",
    )
    c.dir("out")
    return Run(
        ["report", name, "--plan", "plan.yaml", "--out", "out"],
        checks=(is_file("out/report.html"), json_file("out/results.json"), html_inert("out/report.html")),
    )


def _locked(c: Ctx, name: str = "locked") -> str:
    return c.dir(name)


CASES: list[Case] = [
    # ---------------- data: bytes, encodings, shapes --------------------------------------------
    case("data.good_csv", lambda c: Run(["validate", c.visits()]), 0),
    case("data.good_parquet", lambda c: Run(["validate", c.frame("v.parquet", _typed_visits())]), 0),
    case("data.good_wide", validate_text(_wide_text()), 0),
    case(
        "data.parquet_dictionary_columns",
        lambda c: Run(
            [
                "validate",
                c.frame("v.parquet", _typed_visits().astype({"patient_id": "category", "measure": "category"})),
            ]
        ),
        0,
    ),
    case("data.utf8_bom", lambda c: Run(["validate", c.bytes("v.csv", b"\xef\xbb\xbf" + _visits_text().encode())]), 0),
    case("data.crlf", lambda c: Run(["validate", c.bytes("v.csv", _visits_text().replace("\n", "\r\n").encode())]), 0),
    case(
        "data.cr_only",
        lambda c: Run(["validate", c.bytes("v.csv", _visits_text().replace("\n", "\r").encode())]),
        (0, 1),
    ),
    case(
        "data.excel_trailing_blank_rows",
        lambda c: Run(["validate", c.text("v.csv", _visits_text() + ",,,,,,,,,,,,\n" * 3)]),
        0,
    ),
    case("data.symlink_to_good_file", lambda c: Run(["validate", c.link("link.csv", c.visits())]), 0),
    case("data.empty", validate_bytes(b""), 1, rules=("file_not_empty",)),
    case("data.whitespace_only", validate_bytes(b"  \n\n \n"), 1, rules=("file_not_empty",)),
    case("data.header_only", validate_text(_HEADER), 1, rules=("has_data_rows",)),
    case("data.nul_bytes", validate_bytes(_HEADER.encode() + b"P1,0,pain_nprs,5\x00\x00\n"), 1, rules=("binary_file",)),
    case(
        "data.utf16",
        lambda c: Run(["validate", c.bytes("v.csv", _visits_text().encode("utf-16"))]),
        1,
        rules=("encoding_utf8",),
    ),
    case(
        "data.latin1_cell",
        lambda c: Run(
            [
                "validate",
                c.bytes(
                    "v.csv", visits_table().assign(note=f"{SENTINEL} caf\u00e9").to_csv(index=False).encode("latin-1")
                ),
            ]
        ),
        1,
        rules=("encoding_utf8",),
    ),
    case("data.semicolon_delimiter", validate_text(_visits_text().replace(",", ";")), 1, rules=("delimiter_comma",)),
    case("data.tab_delimiter", validate_text(_visits_text().replace(",", "\t")), 1, rules=("delimiter_comma",)),
    case(
        "data.ragged_row",
        validate_text(_HEADER + "P1,0,pain_nprs,5\nP1,7,pain_nprs,3,9,9\n"),
        1,
        rules=("csv_parsable",),
    ),
    case(
        "data.unclosed_quote",
        validate_text(_HEADER + 'P1,0,pain_nprs,"5\nP1,7,pain_nprs,3\n'),
        1,
        rules=("csv_parsable",),
    ),
    case(
        "data.duplicate_header",
        validate_text("patient_id,visit_day,measure,value,value\nP1,0,pain_nprs,5,5\n"),
        1,
        rules=("unique_columns",),
    ),
    case("data.xlsx_zip", validate_bytes(b"PK\x03\x04" + bytes(200), "v.xlsx"), 1, rules=("excel_file",)),
    case(
        "data.ole_xls",
        validate_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "v.xls"),
        1,
        rules=("excel_file", "binary_file"),
    ),
    case(
        "data.parquet_truncated",
        lambda c: Run(["validate", c.bytes("v.parquet", _parquet_bytes(_typed_visits())[:300])]),
        1,
        rules=("parquet_readable",),
    ),
    case("data.par1_garbage", validate_bytes(b"PAR1" + b"x" * 100 + b"PAR1", "v.csv"), 1, rules=("parquet_readable",)),
    case(
        "data.gzip_csv",
        lambda c: Run(["validate", c.bytes("v.csv", __import__("gzip").compress(_visits_text().encode(), mtime=0))]),
        1,
    ),
    case("data.random_bytes", validate_bytes(np.random.default_rng(7).bytes(4096)), 1),
    case("data.control_chars_in_cell", validate_edit({(0, "value"): f"{SENTINEL}\x07\x1b[2J"}), 1),
    case(
        "data.directory",
        lambda c: Run(["validate", c.dir("data", {"v.csv": _visits_text()})]),
        1,
        rules=("not_a_directory",),
    ),
    case("data.missing", lambda c: Run(["validate", "nowhere.csv"]), 1, rules=("file_exists",)),
    case(
        "data.dangling_symlink", lambda c: Run(["validate", c.link("link.csv", "gone.csv")]), 1, rules=("file_exists",)
    ),
    case("data.symlink_loop", lambda c: (c.link("a.csv", "b.csv"), Run(["validate", c.link("b.csv", "a.csv")]))[1], 1),
    case("data.dev_null", lambda c: Run(["validate", "/dev/null"]), 1, rules=("regular_file", "file_not_empty")),
    case("data.wide_sentinel_cell", validate_text(_wide_text(SENTINEL)), 1, rules=("value_numeric",)),
    case("data.wide_over_bounds", validate_text(_wide_text("11")), 1, rules=("value_in_bounds",)),
    case(
        "data.non_utf8_file_name",
        lambda c: Run(
            ["validate", os.fsdecode(c.bytes(os.fsdecode(b"v\xff\xfe.csv"), _visits_text().encode()))], subprocess=True
        ),
        0,
    ),
    # ---------------- contract values: a hostile cell is named by row/column, never quoted ------
    *[
        case(f"cell.sentinel_in_{col}", validate_edit({(row, col): SENTINEL}), 1, mentions=(col,))
        for row, col in [
            (0, "measure"),
            (0, "value"),
            (3, "visit_day"),
            (3, "visit_number"),
            (0, "side"),
            (0, "condition"),
            (0, "treatment"),
            (0, "age_band"),
            (0, "sex"),
            (0, "twitch_response"),
            (0, "soreness_hours"),
        ]
    ],
    case(
        "cell.sentinel_treatment_part",
        validate_edit({(0, "treatment"): f"dry_needling+{SENTINEL}"}),
        1,
        rules=("treatment_code",),
    ),
    case(
        "cell.sentinel_near_code",
        validate_edit({(0, "condition"): f"neck_pain{SENTINEL}"}),
        1,
        rules=("condition_code",),
    ),
    case(
        "cell.sentinel_patient_one_row",
        validate_edit({(0, "patient_id"): SENTINEL}),
        1,
        rules=("episode_single_patient",),
    ),
    case("cell.sentinel_value_with_escape", validate_edit({(0, "value"): f"{SENTINEL}\x1b[31m"}), 1),
    case("cell.sentinel_value_long", validate_edit({(0, "value"): SENTINEL * 5000}), 1),
    case("cell.sentinel_value_html", validate_edit({(0, "value"): f"<script>{SENTINEL}</script>"}), 1),
    case("cell.value_nan", validate_edit({(0, "value"): "nan"}), 1, rules=("value_finite",)),
    case(
        "cell.value_inf_literal", validate_edit({(0, "value"): "1e309"}), 1, rules=("value_finite", "value_in_bounds")
    ),
    case("cell.value_out_of_bounds", validate_edit({(0, "value"): "11"}), 1, rules=("value_in_bounds",)),
    case("cell.value_decimal_comma", validate_edit({(0, "value"): "6,5"}), 1, rules=("value_numeric",)),
    case("cell.visit_day_negative", validate_edit({(3, "visit_day"): "-7"}), 1, mentions=("visit_day",)),
    case("cell.visit_day_fraction", validate_edit({(3, "visit_day"): "3.5"}), 1, rules=("visit_day_integer",)),
    case("cell.visit_day_date", validate_edit({(3, "visit_day"): "2024-03-01"}), 1),
    case(
        "cell.patient_ids_all_sentinel_claims",
        lambda c: Run(
            [
                "claims",
                c.visits(
                    columns={
                        "patient_id": lambda f: (SENTINEL + f["patient_id"]).tolist(),
                        "episode_id": lambda f: (SENTINEL + f["episode_id"]).tolist(),
                    }
                ),
                "--json",
                "r.json",
            ],
            checks=(json_file("r.json"),),
        ),
        0,
    ),
    case(
        "cell.episode_ids_sentinel_validate",
        lambda c: Run(["validate", c.visits(columns={"episode_id": lambda f: (SENTINEL + f["episode_id"]).tolist()})]),
        0,
    ),
    # ---------------- identifiers, end to end (the rule table itself is tests/test_phi_rules.py) -
    case("phi.dob_header_dotted", validate_column("D.O.B.", per_patient(DOB_ISO)), 1, rules=("phi_*",)),
    case(
        "phi.date_dd_mm_yyyy",
        validate_column(
            "extra_info", per_patient(["14-07-1961", "02-03-1975", "23-11-1958", "30-01-1980", "09-09-1949"])
        ),
        1,
        rules=("phi_*",),
    ),
    case(
        "phi.date_yyyymmdd",
        validate_column("extra_info", per_patient(["19610714", "19750302", "19581123", "19800130", "19490909"])),
        1,
        rules=("phi_*",),
    ),
    case(
        "phi.ssn_spaces",
        validate_column("extra_info", per_patient(["123 45 6789", "234 56 7890", "345 67 8901", "456 78 9012"])),
        1,
        rules=("phi_*",),
    ),
    case(
        "phi.phone_bare_digits",
        validate_column("extra_info", per_patient(["5550134567", "5550198765", "5550111111", "5550122233"])),
        1,
        rules=("phi_*",),
    ),
    case("phi.years_old_95", validate_column("years_old", per_patient(["45", "95", "62", "71"])), 1, rules=("phi_*",)),
    case("phi.column_pt_nm", validate_column("pt_nm", per_patient(CODES)), 1, rules=("phi_*",)),
    case("phi.column_nombre", validate_column("nombre", per_patient(CODES)), 1, rules=("phi_*",)),
    case("phi.column_fecha_nacimiento", validate_column("fecha_nacimiento", per_patient(CODES)), 1, rules=("phi_*",)),
    case("phi.column_nachname", validate_column("Nachname", per_patient(CODES)), 1, rules=("phi_*",)),
    case("phi.column_prenom", validate_column("pr\u00e9nom", per_patient(CODES)), 1, rules=("phi_*",)),
    case("phi.column_data_nascimento", validate_column("data_nascimento", per_patient(CODES)), 1, rules=("phi_*",)),
    case("phi.column_mrn", validate_column("MRN", per_patient(CODES)), 1, rules=("phi_*",)),
    case("phi.column_email", validate_column("E-mail", per_patient(CODES)), 1, rules=("phi_*",)),
    case("phi.column_first_name_camel", validate_column("FirstName", per_patient(CODES)), 1, rules=("phi_*",)),
    case("phi.patient_initial_surnames", validate_column("Patient", per_patient(NAMES_INITIAL)), 1, rules=("phi_*",)),
    case("phi.full_names_in_other_column", validate_column("extra_info", per_patient(NAMES_FULL)), 1, rules=("phi_*",)),
    case(
        "phi.emails_content",
        validate_column("extra_info", per_patient([f"{SENTINEL.lower()}.{i}@example.com" for i in range(5)])),
        1,
        rules=("phi_email",),
    ),
    case(
        "phi.phones_content",
        validate_column("extra_info", per_patient(["(555) 012-3456", "555-012-9876", "+1 555.012.1111"])),
        1,
        rules=("phi_phone",),
    ),
    case(
        "phi.ssn_content",
        validate_column("extra_info", per_patient(["078-05-1120", "219-09-9999", "457-55-5462"])),
        1,
        rules=("phi_ssn",),
    ),
    case(
        "phi.mrn_content",
        validate_column("extra_info", per_patient(["MRN12345", "MRN-0001", "MRN67890"])),
        1,
        rules=("phi_mrn",),
    ),
    case(
        "phi.address_content",
        validate_column("extra_info", per_patient(["123 Main St", "42 Placeholder Avenue", "7 Elm Road"])),
        1,
        rules=("phi_address",),
    ),
    case("phi.iso_dates_content", validate_column("extra_info", per_patient(DOB_ISO)), 1, rules=("phi_date",)),
    case(
        "phi.url_content",
        validate_column("extra_info", per_patient(["https://example.com/p/1", "https://example.com/p/2"])),
        1,
        rules=("phi_url",),
    ),
    case(
        "phi.escape_in_column_name",
        validate_column("e\x1b[31mmail", per_patient([f"{SENTINEL.lower()}{i}@example.com" for i in range(4)])),
        1,
        rules=("phi_*",),
    ),
    case(
        "phi.claims_refused",
        lambda c: Run(["claims", c.visits(columns={"mrn": per_patient(CODES)})]),
        1,
        rules=("phi_*",),
    ),
    case("phi.allow_phi_skips_guard", validate_column("patient_name", per_patient(NAMES_FULL), allow_phi=True), 0),
    case("phi.harmless_record_id", validate_column("record_id", per_patient(["R0001", "R0002", "R0003"])), 0),
    case("phi.harmless_lat_flexion_deg", validate_column("lat_flexion_deg", per_patient(["12", "15", "18"])), 0),
    case("phi.harmless_claim_group", validate_column("claim_group", per_patient(["a", "b"])), 0),
    case("phi.harmless_cell_count", validate_column("cell_count", per_patient(["3", "7", "12"])), 0),
    case("phi.harmless_age_under_90", validate_column("age", per_patient(["45", "52", "62", "71"])), 0),
    case(
        "phi.harmless_condition_label",
        validate_column("condition_label", per_patient(["Low Back Pain", "Neck Pain", "Tension Type Headache"])),
        0,
    ),
    # ---------------- resource limits ----------------------------------------------------------
    case(
        "res.parquet_50m_rows",
        lambda c: Run(["validate", c.cached("big.parquet", _parquet_50m_rows)], subprocess=True),
        1,
        rules=("limit_max_rows",),
        max_seconds=15,
    ),
    case("res.parquet_1001_columns", validate_frame(lambda: _wide_frame(1001)), 1, rules=("limit_max_columns",)),
    case(
        "res.parquet_1001_columns_limit_raised",
        validate_frame(lambda: _wide_frame(1001), env={"OUTCOMES_MAX_COLUMNS": "2000"}),
        0,
    ),
    case(
        "res.csv_100k_columns",
        lambda c: Run(["validate", c.cached("wide100k.csv", _hundred_k_columns)], subprocess=True),
        1,
        rules=("limit_max_columns",),
        max_seconds=15,
    ),
    case(
        "res.csv_line_over_1mb",
        validate_text(_HEADER + "P1,0,pain_nprs," + "9" * 1_100_000 + "\n"),
        1,
        rules=("line_too_long", "limit_max_line_bytes"),
    ),
    case(
        "res.dev_zero_data",
        lambda c: Run(["validate", "/dev/zero"], subprocess=True),
        1,
        rules=("regular_file",),
        max_seconds=10,
    ),
    case(
        "res.dev_urandom_data",
        lambda c: Run(["validate", "/dev/urandom"], subprocess=True),
        1,
        rules=("regular_file",),
        max_seconds=10,
    ),
    case("res.fifo_data", lambda c: Run(["validate", c.fifo("v.csv")], subprocess=True), 1, rules=("regular_file",)),
    case(
        "res.fifo_data_claims", lambda c: Run(["claims", c.fifo("v.csv")], subprocess=True), 1, rules=("regular_file",)
    ),
    case(
        "res.symlink_to_dev_zero",
        lambda c: Run(["validate", c.link("v.csv", "/dev/zero")], subprocess=True),
        1,
        rules=("regular_file",),
    ),
    case(
        "res.fifo_plan",
        lambda c: (c.visits(), Run(["claims", "v.csv", "--plan", c.fifo("plan.yaml")], subprocess=True))[1],
        1,
        rules=("regular_file",),
    ),
    case(
        "res.dev_zero_plan",
        lambda c: (c.visits(), Run(["claims", "v.csv", "--plan", "/dev/zero"], subprocess=True))[1],
        1,
        rules=("regular_file",),
    ),
    case(
        "res.dev_urandom_plan",
        lambda c: (c.visits(), Run(["claims", "v.csv", "--plan", "/dev/urandom"], subprocess=True))[1],
        1,
        rules=("regular_file",),
    ),
    case(
        "res.yaml_alias_bomb_plan",
        lambda c: (
            c.visits(),
            Run(["claims", "v.csv", "--plan", c.text("plan.yaml", alias_bomb(8, 9))], subprocess=True),
        )[1],
        1,
        rules=("limit_max_yaml_aliases",),
        max_seconds=10,
    ),
    case(
        "res.yaml_node_bomb_plan",
        lambda c: (
            c.visits(),
            Run(["claims", "v.csv", "--plan", c.text("plan.yaml", alias_bomb(6, 8))], subprocess=True),
        )[1],
        1,
        rules=("limit_max_yaml_nodes",),
        max_seconds=10,
    ),
    case(
        "res.yaml_deep_nesting_plan",
        lambda c: (
            c.visits(),
            Run(
                ["claims", "v.csv", "--plan", c.text("plan.yaml", "k: " + "[" * 50_000 + "]" * 50_000 + "\n")],
                subprocess=True,
            ),
        )[1],
        1,
        max_seconds=10,
    ),
    case(
        "res.plan_over_1mib",
        claims_with_plan("k: 3\n" + ("# padding " + "x" * 90 + "\n") * 11_000),
        1,
        rules=("limit_max_plan_bytes",),
    ),
    case(
        "res.synth_1e8_episodes",
        lambda c: Run(["synth", "--episodes", "100000000", "--seed", "1", "--out", "s.csv"], subprocess=True),
        1,
        rules=("limit_max_synth_episodes",),
        max_seconds=10,
    ),
    case(
        "res.n_boot_1e9",
        lambda c: (
            c.visits(),
            Run(["claims", "v.csv", "--plan", c.text("plan.yaml", "n_boot: 1000000000\n")], subprocess=True),
        )[1],
        1,
        mentions=("n_boot",),
        max_seconds=10,
    ),
    case(
        "res.n_boot_over_limit",
        lambda c: (
            c.visits(),
            Run(["claims", "v.csv", "--plan", c.text("plan.yaml", "n_boot: 100001\n")], subprocess=True),
        )[1],
        1,
        mentions=("n_boot",),
        max_seconds=10,
    ),
    # integer ranges: a three-visit episode whose last visit is the only problem, so a value
    # wrapped into int64 (2**64 -> 0, 2**63 - 1 -> ...) would show up as another rule or as exit 0
    case("res.three_visits_baseline", validate_text(_three_visits("14", "3")), 0),
    case("res.visit_day_at_limit", validate_text(_three_visits("36525", "3")), 0),
    *[
        case(f"res.visit_day_{label}", validate_text(_three_visits(text, "3")), 1, rules=rules)
        for label, text, rules in [
            ("2pow64", str(2**64), ("visit_day_range",)),
            ("int64_max", str(2**63 - 1), ("visit_day_range",)),
            ("1e30", "1e30", ("visit_day_range", "visit_day_integer")),
            ("over_limit", "36526", ("visit_day_range",)),
            ("below_int64_min", str(-(2**63) - 1), ("visit_day_nonnegative", "visit_day_range")),
        ]
    ],
    *[
        case(f"res.visit_number_{label}", validate_text(_three_visits("14", text)), 1, rules=rules)
        for label, text, rules in [
            ("2pow64", str(2**64), ("visit_number_range",)),
            ("int64_max", str(2**63 - 1), ("visit_number_range",)),
            ("1e30", "1e30", ("visit_number_range", "visit_number_integer")),
            ("over_limit", "10001", ("visit_number_range",)),
            ("below_int64_min", str(-(2**63) - 1), ("visit_number_integer", "visit_number_range")),
        ]
    ],
    case("res.parquet_visit_day_uint64_max", _big_visit_day(2**64 - 1, "uint64"), 1, rules=("visit_day_range",)),
    case("res.parquet_visit_day_int64_max", _big_visit_day(2**63 - 1, "int64"), 1, rules=("visit_day_range",)),
    case("res.parquet_visit_day_uint64_small", _big_visit_day(14, "uint64"), 0),
    case("res.parquet_list_column", _parquet_with("tags", lambda n: __import__("pyarrow").array([[1, 2]] * n)), 1),
    case(
        "res.parquet_struct_column",
        _parquet_with("extra", lambda n: __import__("pyarrow").array([{"a": 1, "b": "x"}] * n)),
        1,
    ),
    case(
        "res.parquet_map_column",
        _parquet_with(
            "extra",
            lambda n: __import__("pyarrow").array(
                [[("k", 1)]] * n,
                type=__import__("pyarrow").map_(__import__("pyarrow").string(), __import__("pyarrow").int64()),
            ),
        ),
        1,
    ),
    case("res.parquet_list_value", _parquet_with("value", lambda n: __import__("pyarrow").array([[5.0]] * n)), 1),
    case(
        "res.env_max_rows",
        lambda c: Run(["validate", c.visits()], env={"OUTCOMES_MAX_ROWS": "100"}),
        1,
        rules=("limit_max_rows",),
    ),
    case(
        "res.env_max_file_bytes",
        lambda c: Run(["validate", c.visits()], env={"OUTCOMES_MAX_FILE_BYTES": "1000"}),
        1,
        rules=("limit_max_file_bytes",),
    ),
    case(
        "res.env_max_columns",
        lambda c: Run(["validate", c.visits()], env={"OUTCOMES_MAX_COLUMNS": "5"}),
        1,
        rules=("limit_max_columns",),
    ),
    case(
        "res.env_max_line_bytes",
        lambda c: Run(["validate", c.visits()], env={"OUTCOMES_MAX_LINE_BYTES": "40"}),
        1,
        rules=("line_too_long", "limit_max_line_bytes"),
    ),
    case(
        "res.env_max_uncompressed_bytes",
        lambda c: Run(
            ["validate", c.frame("v.parquet", _typed_visits())], env={"OUTCOMES_MAX_UNCOMPRESSED_BYTES": "1000"}
        ),
        1,
        rules=("limit_max_uncompressed_bytes",),
    ),
    case(
        "res.env_max_plan_bytes",
        lambda c: (
            c.visits(),
            Run(
                ["claims", "v.csv", "--plan", c.text("plan.yaml", "k: 3\nn_boot: 2000\n")],
                env={"OUTCOMES_MAX_PLAN_BYTES": "5"},
            ),
        )[1],
        1,
        rules=("limit_max_plan_bytes",),
    ),
    case(
        "res.env_max_yaml_aliases",
        lambda c: (
            c.visits(),
            Run(
                ["claims", "v.csv", "--plan", c.text("plan.yaml", "a: &x 3\nk: *x\nmax_visit: 12\nb: *x\n")],
                env={"OUTCOMES_MAX_YAML_ALIASES": "1"},
            ),
        )[1],
        1,
        rules=("limit_max_yaml_aliases",),
    ),
    case(
        "res.env_max_visit_day",
        lambda c: Run(["validate", c.visits()], env={"OUTCOMES_MAX_VISIT_DAY": "5"}),
        1,
        mentions=("visit_day",),
    ),
    case(
        "res.env_max_visit_number",
        lambda c: Run(["validate", c.visits()], env={"OUTCOMES_MAX_VISIT_NUMBER": "2"}),
        1,
        mentions=("visit_number",),
    ),
    case(
        "res.env_max_n_boot",
        lambda c: Run(["claims", c.visits()], env={"OUTCOMES_MAX_N_BOOT": "500"}),
        1,
        mentions=("n_boot",),
    ),
    case(
        "res.env_max_synth_episodes",
        lambda c: Run(["synth", "--episodes", "30", "--out", "s.csv"], env={"OUTCOMES_MAX_SYNTH_EPISODES": "10"}),
        1,
        rules=("limit_max_synth_episodes",),
    ),
    case(
        "res.env_setting_not_a_number",
        lambda c: Run(["validate", c.visits()], env={"OUTCOMES_MAX_ROWS": "lots"}),
        1,
        rules=("limit_setting",),
    ),
    case(
        "res.env_setting_zero",
        lambda c: Run(["validate", c.visits()], env={"OUTCOMES_MAX_ROWS": "0"}),
        1,
        rules=("limit_setting",),
    ),
    # ---------------- plans ---------------------------------------------------------------------
    case(
        "plan.default_copy",
        lambda c: (
            c.visits(),
            Run(
                [
                    "claims",
                    "v.csv",
                    "--plan",
                    c.text("plan.yaml", __import__("outcomes.spec.plan", fromlist=["x"]).DEFAULT_PLAN_PATH.read_text()),
                ]
            ),
        )[1],
        0,
    ),
    case(
        "plan.measure_addition_used",
        lambda c: Run(
            [
                "claims",
                c.visits(frame=_with_custom_measure(visits_table())),
                "--plan",
                c.text("plan.yaml", CUSTOM_MEASURE_PLAN),
                "--json",
                "-",
            ],
            checks=(stdout_is_one_json, json_mentions("-", "rom_knee_extension_custom")),
        ),
        0,
    ),
    case(
        "plan.measure_addition_needed",
        lambda c: Run(["validate", c.visits(frame=_with_custom_measure(visits_table()))]),
        1,
        rules=("measure_registered",),
    ),
    case("plan.threshold_override", claims_with_plan("measures:\n  pain_nprs: {threshold_abs: 1.0}\n"), 0),
    case(
        "plan.bound_override_applied",
        lambda c: Run(
            [
                "claims",
                c.visits(edits={(0, "value"): "10"}),
                "--plan",
                c.text("plan.yaml", "measures:\n  pain_nprs: {upper: 8}\n"),
            ]
        ),
        1,
        rules=("value_in_bounds",),
    ),
    case("plan.label_with_escape", claims_with_plan('measures:\n  pain_nprs: {label: "Pain \\e[2J\\e[31m"}\n'), 0),
    case("plan.false", claims_with_plan("false"), 1),
    case("plan.empty_list", claims_with_plan("[]"), 1),
    case("plan.scalar_number", claims_with_plan("42"), 1),
    case("plan.scalar_text", claims_with_plan("just some text"), 1),
    case("plan.measures_list", claims_with_plan("measures: [pain_nprs, rom_slr_left]"), 1, mentions=("measures",)),
    case("plan.mixed_key_types", claims_with_plan("k: 3\n1: one\n"), 1),
    case("plan.duplicate_k", claims_with_plan("k: 3\nk: 4\n"), 1, rules=("yaml_duplicate_key",), mentions=("k",)),
    case(
        "plan.duplicate_nested",
        claims_with_plan("other_claims:\n  soreness: {hours: 48, hours: 24}\n"),
        1,
        rules=("yaml_duplicate_key",),
        mentions=("other_claims.soreness.hours",),
    ),
    case("plan.unknown_key", claims_with_plan("kk: 3\n"), 1, mentions=("kk",)),
    case(
        "plan.unknown_nested_key",
        claims_with_plan("other_claims:\n  soreness: {hourz: 48}\n"),
        1,
        mentions=("other_claims.soreness.hourz",),
    ),
    *[
        case(f"plan.{label}", claims_with_plan(text), 1, mentions=(key,))
        for label, text, key in [
            ("k_text", "k: three", "k"),
            ("k_one", "k: 1", "k"),
            ("k_fraction", "k: 3.5", "k"),
            ("k_bool", "k: true", "k"),
            ("k_huge", "k: 100000000000000000000", "k"),
            ("p0_over_one", "p0: 1.5", "p0"),
            ("p0_text", "p0: most", "p0"),
            ("alpha_too_big", "alpha: 0.7", "alpha"),
            ("alpha_nan", "alpha: .nan", "alpha"),
            ("n_boot_small", "n_boot: 10", "n_boot"),
            ("n_boot_text", "n_boot: many", "n_boot"),
            ("min_cell_size_zero", "min_cell_size: 0", "min_cell_size"),
            ("seed_negative", "seed: -1", "seed"),
            ("seed_inf", "seed: .inf", "seed"),
            ("trajectory_unknown", "trajectory: cubic", "trajectory"),
            ("max_visit_below_k", "k: 5\nmax_visit: 4", "max_visit"),
            ("primary_unknown", "primary_measure: pain_xyz", "primary_measure"),
            ("primary_list", "primary_measure: [pain_nprs]", "primary_measure"),
            ("secondary_number", "secondary_measures: 5", "secondary_measures"),
            ("name_list", "name: [1, 2]", "name"),
            ("other_claims_list", "other_claims: [strength]", "other_claims"),
            ("soreness_hours_negative", "other_claims:\n  soreness: {hours: -1}", "other_claims.soreness.hours"),
            ("soreness_share_two", "other_claims:\n  soreness: {share: 2}", "other_claims.soreness.share"),
            ("twitch_enabled_maybe", "other_claims:\n  twitch: {enabled: maybe}", "other_claims.twitch.enabled"),
            ("other_claims_unknown", "other_claims:\n  telepathy: {enabled: true}", "other_claims.telepathy"),
            ("measure_field_text", "measures:\n  pain_nprs: {threshold_abs: lots}", "measures.pain_nprs.threshold_abs"),
            ("measure_field_unknown", "measures:\n  pain_nprs: {colour: red}", "measures.pain_nprs.colour"),
            ("measure_not_mapping", "measures:\n  pain_nprs: 5", "measures.pain_nprs"),
            ("measure_addition_incomplete", "measures:\n  rom_new_thing: {label: New}", "measures.rom_new_thing"),
            ("measure_bounds_reversed", "measures:\n  pain_nprs: {lower: 10, upper: 0}", "measures.pain_nprs"),
            ("measure_direction_two", "measures:\n  pain_nprs: {direction: 2}", "measures.pain_nprs"),
            ("measure_threshold_nan", "measures:\n  pain_nprs: {threshold_abs: .nan}", "measures.pain_nprs"),
            ("measure_upper_inf", "measures:\n  pain_nprs: {upper: .inf}", "measures.pain_nprs"),
            ("measure_kind_unknown", "measures:\n  pain_nprs: {kind: mood}", "measures.pain_nprs"),
        ]
    ],
    case("plan.python_tag", claims_with_plan("k: !!python/object/apply:os.system ['true']"), 1),
    case("plan.yaml_syntax_error", claims_with_plan("k: [3\n"), 1, rules=("yaml_syntax",)),
    case(
        "plan.tab_indentation", claims_with_plan("other_claims:\n\tsoreness: {hours: 48}\n"), 1, rules=("yaml_syntax",)
    ),
    case("plan.binary", claims_plan_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4), 1),
    case("plan.latin1", claims_plan_bytes("name: caf\u00e9 plan\n".encode("latin-1")), 1, rules=("encoding_utf8",)),
    case(
        "plan.directory",
        lambda c: (c.visits(), Run(["claims", "v.csv", "--plan", c.dir("plans", {"a.yaml": "k: 3\n"})]))[1],
        1,
        rules=("not_a_directory",),
    ),
    case(
        "plan.missing",
        lambda c: (c.visits(), Run(["claims", "v.csv", "--plan", "nope.yaml"]))[1],
        1,
        rules=("file_exists",),
    ),
    case("plan.is_the_data_file", lambda c: (c.visits(), Run(["claims", "v.csv", "--plan", "v.csv"]))[1], 1),
    # ---------------- de-identification: mappings, key files, identifiers in coded columns ------
    case(
        "deid.good",
        deid(
            checks=(
                is_file("out/visits.csv"),
                only_contract_columns("out/visits.csv"),
                text_absent("out/visits.csv", "McTestface", "555-01", "example.com", "MRN-FAKE"),
                mode_is("keys/cw.csv", 0o600),
            )
        ),
        0,
    ),
    case(
        "deid.good_parquet_raw",
        lambda c: Run(
            [
                "deidentify",
                c.frame("raw.parquet", raw_export_table()),
                "--out",
                "out/visits.csv",
                "--key-file",
                "keys/cw.csv",
            ]
        ),
        0,
    ),
    case(
        "deid.dropped_columns_hold_sentinel",
        deid(
            columns={
                "patient_name": lambda f: (SENTINEL + " " + f["patient_name"]).tolist(),
                "email": lambda f: (SENTINEL.lower() + f["email"]).tolist(),
                "therapist_note": f"{SENTINEL} called back",
                "street_address": f"1 {SENTINEL} Street",
                "favourite_colour": SENTINEL,
            },
            checks=(only_contract_columns("out/visits.csv"),),
        ),
        0,
    ),
    case(
        "deid.good_date_format",
        deid(
            columns={
                "visit_date": _reformat_dates("visit_date", "%m/%d/%Y"),
                "dob": _reformat_dates("dob", "%m/%d/%Y"),
            },
            mapping='date_format: "%m/%d/%Y"',
        ),
        0,
    ),
    *[
        case(f"deid.identifier_in_{col}", deid({(0, col): "Zqxsentinel Gonzalez 555-0134"}), 1, mentions=(col,))
        for col in ("condition", "treatment", "pain_nprs", "side")
    ],
    case(
        "deid.identifier_in_sex",
        deid({(0, "sex"): f"{SENTINEL} Gonzalez"}, columns={"sex": "female"}),
        1,
        mentions=("sex",),
    ),
    case("deid.phone_in_condition_all_rows", deid(columns={"condition": "call 555-0134"}), 1, mentions=("condition",)),
    case(
        "deid.formula_in_condition",
        deid({(0, "condition"): '=HYPERLINK("http://evil.example")'}),
        1,
        mentions=("condition",),
    ),
    case(
        "deid.note_renamed_onto_condition",
        lambda c: Run(
            [
                "deidentify",
                c.raw(
                    frame=raw_export_table().drop(columns="condition"),
                    columns={"therapist_note": "Zqxsentinel Gonzalez called 555-0134"},
                ),
                "--out",
                "out/visits.csv",
                "--key-file",
                "keys/cw.csv",
                "--mapping",
                c.text("m.yaml", "rename: {therapist_note: condition}\n"),
            ]
        ),
        1,
        mentions=("condition",),
    ),
    case(
        "deid.note_renamed_onto_existing_condition",
        deid(columns={"therapist_note": f"{SENTINEL} note"}, mapping="rename: {therapist_note: condition}"),
        1,
    ),
    case("deid.visit_date_sentinel", deid({(2, "visit_date"): SENTINEL}), 1, rules=("visit_date_parsable",)),
    case("deid.dob_sentinel", deid({(2, "dob"): SENTINEL}), 1, rules=("birth_date_parsable",)),
    case("deid.minor", deid(columns={"dob": "2015-01-01"}), 1, rules=("age_under_18",)),
    case(
        "deid.mapping_duplicate_patient_key",
        deid(mapping="patient_key: mrn\npatient_key: visit_date"),
        1,
        rules=("yaml_duplicate_key",),
        mentions=("patient_key",),
    ),
    case("deid.mapping_date_format_number", deid(mapping="date_format: 5"), 1, mentions=("date_format",)),
    case("deid.mapping_unknown_key", deid(mapping="patient_keys: mrn"), 1, mentions=("patient_keys",)),
    case("deid.mapping_list", deid(mapping="[]"), 1),
    case("deid.mapping_false", deid(mapping="false"), 1),
    case("deid.mapping_scalar", deid(mapping="42"), 1),
    case("deid.mapping_rename_list", deid(mapping="rename: [a, b]"), 1, mentions=("rename",)),
    case("deid.mapping_gap_negative", deid(mapping="episode_gap_days: -5"), 1, mentions=("episode_gap_days",)),
    case("deid.mapping_gap_text", deid(mapping="episode_gap_days: ninety"), 1, mentions=("episode_gap_days",)),
    case("deid.mapping_patient_key_absent", deid(mapping="patient_key: chart_no"), 1, rules=("mapping_column",)),
    case("deid.mapping_wrong_date_format", deid(mapping='date_format: "%d/%m/%Y"'), 1, rules=("visit_date_parsable",)),
    case("deid.mapping_python_tag", deid(mapping="patient_key: !!python/object/apply:os.system ['true']"), 1),
    case("deid.mapping_binary", deid_mapping_bytes(b"\x00\x01\x02PK\x03\x04" + bytes(300)), 1),
    case(
        "deid.mapping_latin1",
        deid_mapping_bytes("rename: {Gr\u00f6\u00dfe: pain_nprs}\n".encode("latin-1")),
        1,
        rules=("encoding_utf8",),
    ),
    case(
        "deid.mapping_directory",
        lambda c: Run(
            ["deidentify", c.raw(), "--out", "out/visits.csv", "--key-file", "keys/cw.csv", "--mapping", c.dir("maps")]
        ),
        1,
    ),
    case(
        "deid.mapping_missing",
        lambda c: Run(
            ["deidentify", c.raw(), "--out", "out/visits.csv", "--key-file", "keys/cw.csv", "--mapping", "nope.yaml"]
        ),
        1,
        rules=("file_exists",),
    ),
    case(
        "deid.mapping_alias_bomb",
        lambda c: Run(
            [
                "deidentify",
                c.raw(),
                "--out",
                "out/visits.csv",
                "--key-file",
                "keys/cw.csv",
                "--mapping",
                c.text("m.yaml", alias_bomb(8, 9)),
            ],
            subprocess=True,
        ),
        1,
        rules=("limit_max_yaml_aliases",),
        max_seconds=10,
    ),
    case(
        "deid.mapping_fifo",
        lambda c: Run(
            [
                "deidentify",
                c.raw(),
                "--out",
                "out/visits.csv",
                "--key-file",
                "keys/cw.csv",
                "--mapping",
                c.fifo("m.yaml"),
            ],
            subprocess=True,
        ),
        1,
        rules=("regular_file",),
    ),
    case("deid.key_file_empty", deid_key_bytes(b""), 1),
    case("deid.key_file_binary", deid_key_bytes(b"\x00\xff\x00PK\x03\x04" + bytes(200)), 1),
    case("deid.key_file_directory", deid_key_bytes(None, is_dir=True), 1),
    case("deid.key_file_latin1", deid_key_bytes("mrn,patient_id\nM\u00fcller,P0123456789\n".encode("latin-1")), 1),
    case(
        "deid.key_file_wrong_columns",
        deid_key_bytes(b"name,patient_id\nx,P0123456789\n"),
        1,
        rules=("crosswalk_valid",),
    ),
    case(
        "deid.key_file_duplicate_pseudonym",
        deid_key_bytes(b"mrn,patient_id\nMRN-FAKE-0001,P0123456789\nMRN-FAKE-0002,P0123456789\n"),
        1,
        rules=("crosswalk_valid",),
    ),
    case(
        "deid.key_file_duplicate_key",
        deid_key_bytes(b"mrn,patient_id\nMRN-FAKE-0001,P0123456789\nMRN-FAKE-0001,P0aaaaaaaaa\n"),
        1,
        rules=("crosswalk_valid",),
    ),
    case(
        "deid.key_file_fifo",
        lambda c: Run(
            ["deidentify", c.raw(), "--out", "out/visits.csv", "--key-file", c.fifo("keys/cw.csv")], subprocess=True
        ),
        1,
    ),
    case(
        "deid.key_file_is_raw",
        lambda c: Run(["deidentify", c.raw(), "--out", "out/visits.csv", "--key-file", "raw.csv"]),
        1,
    ),
    case("deid.out_is_raw", lambda c: Run(["deidentify", c.raw(), "--out", "raw.csv", "--key-file", "keys/cw.csv"]), 1),
    case(
        "deid.out_is_key_file",
        lambda c: Run(["deidentify", c.raw(), "--out", "keys/cw.csv", "--key-file", "keys/cw.csv"]),
        1,
    ),
    case(
        "deid.key_file_in_out_dir",
        lambda c: Run(["deidentify", c.raw(), "--out", "out/visits.csv", "--key-file", "out/cw.csv"]),
        1,
        rules=("key_file_location",),
    ),
    case(
        "deid.out_is_mapping",
        lambda c: Run(
            [
                "deidentify",
                c.raw(),
                "--out",
                "m.yaml",
                "--key-file",
                "keys/cw.csv",
                "--mapping",
                c.text("m.yaml", "patient_key: mrn\n"),
            ]
        ),
        1,
    ),
    case(
        "deid.out_symlink_to_raw",
        lambda c: Run(["deidentify", c.raw(), "--out", c.link("out.csv", "raw.csv"), "--key-file", "keys/cw.csv"]),
        1,
    ),
    case(
        "deid.out_symlink_to_user_file",
        lambda c: (
            _dirs_of_user_files(c),
            Run(["deidentify", c.raw(), "--out", c.link("out.csv", "docs/budget.csv"), "--key-file", "keys/cw.csv"]),
        )[1],
        1,
    ),
    case(
        "deid.out_user_file",
        lambda c: Run(["deidentify", c.raw(), "--out", c.text("out.csv", "mine\n"), "--key-file", "keys/cw.csv"]),
        1,
    ),
    case(
        "deid.out_user_file_force",
        lambda c: Run(
            ["deidentify", c.raw(), "--out", c.text("out.csv", "mine\n"), "--key-file", "keys/cw.csv", "--force"]
        ),
        1,
    ),
    case(
        "deid.out_directory",
        lambda c: Run(["deidentify", c.raw(), "--out", c.dir("outdir", {"a.txt": "x\n"}), "--key-file", "keys/cw.csv"]),
        1,
    ),
    case(
        "deid.out_long_name",
        lambda c: Run(["deidentify", c.raw(), "--out", f"out/{LONG_NAME}.csv", "--key-file", "keys/cw.csv"]),
        1,
    ),
    case(
        "deid.key_file_long_name",
        lambda c: Run(["deidentify", c.raw(), "--out", "out/visits.csv", "--key-file", f"keys/{LONG_NAME}.csv"]),
        1,
    ),
    case(
        "deid.out_unwritable",
        lambda c: (
            _locked(c, "out"),
            Run(
                ["deidentify", c.raw(), "--out", "out/visits.csv", "--key-file", "keys/cw.csv"],
                fault=("eacces", ("out",)),
                leftovers_ok=("keys",),
            ),
        )[1],
        1,
    ),
    case(
        "deid.key_dir_unwritable",
        lambda c: (
            _locked(c, "keys"),
            Run(
                ["deidentify", c.raw(), "--out", "out/visits.csv", "--key-file", "keys/cw.csv"],
                fault=("eacces", ("keys",)),
            ),
        )[1],
        1,
    ),
    case(
        "deid.out_disk_full",
        lambda c: (
            _locked(c, "out"),
            Run(
                ["deidentify", c.raw(), "--out", "out/visits.csv", "--key-file", "keys/cw.csv"],
                fault=("enospc", ("out",)),
                leftovers_ok=("keys",),
            ),
        )[1],
        1,
    ),
    case(
        "deid.raw_fifo",
        lambda c: Run(
            ["deidentify", c.fifo("raw.csv"), "--out", "out/visits.csv", "--key-file", "keys/cw.csv"], subprocess=True
        ),
        1,
        rules=("regular_file",),
    ),
    case(
        "deid.raw_dev_zero",
        lambda c: Run(
            ["deidentify", "/dev/zero", "--out", "out/visits.csv", "--key-file", "keys/cw.csv"], subprocess=True
        ),
        1,
        rules=("regular_file",),
    ),
    case(
        "deid.raw_binary",
        lambda c: Run(
            [
                "deidentify",
                c.bytes("raw.csv", np.random.default_rng(3).bytes(2000)),
                "--out",
                "out/visits.csv",
                "--key-file",
                "keys/cw.csv",
            ]
        ),
        1,
    ),
    case(
        "deid.raw_directory",
        lambda c: Run(["deidentify", c.dir("raw"), "--out", "out/visits.csv", "--key-file", "keys/cw.csv"]),
        1,
    ),
    case(
        "deid.raw_1001_columns",
        deid(columns={f"junk_{i:04d}": "1" for i in range(990)}),
        1,
        rules=("limit_max_columns",),
    ),
    case(
        "deid.raw_list_column_parquet",
        lambda c: Run(
            [
                "deidentify",
                c.frame("raw.parquet", raw_export_table().assign(tags=[[1, 2]] * 48)),
                "--out",
                "out/visits.csv",
                "--key-file",
                "keys/cw.csv",
            ]
        ),
        1,
    ),
    case(
        "deid.rerun_force_own_outputs",
        _deid_then(
            ["--out", "out/visits.csv", "--key-file", "keys/cw.csv", "--force"],
            save_key=True,
            may_change=("out/visits.csv", "keys/cw.csv"),
            checks=(crosswalk_prefix_kept("keys/cw.csv", "saved/cw_before.csv"),),
        ),
        0,
    ),
    case(
        "deid.rerun_same_key_new_out",
        _deid_then(
            ["--out", "out2/visits.csv", "--key-file", "keys/cw.csv"],
            may_change=("keys/cw.csv",),
            checks=(same_patients("out/visits.csv", "out2/visits.csv"),),
        ),
        0,
    ),
    case(
        "deid.key_file_symlink_to_own_crosswalk",
        lambda c: (
            _deid_then([], setup_key="keys/real.csv")(c),
            Run(
                [
                    "deidentify",
                    "raw.csv",
                    "--out",
                    "out2/visits.csv",
                    "--key-file",
                    c.link("keys/link.csv", "real.csv"),
                ],
                may_change=("keys/real.csv",),
                checks=(still_link("keys/link.csv", "real.csv"),),
            ),
        )[1],
        (0, 1),
    ),
    case(
        "deid.key_file_symlink_to_user_file",
        lambda c: (
            _dirs_of_user_files(c),
            Run(["deidentify", c.raw(), "--out", "out/visits.csv", "--key-file", c.link("cw.csv", "docs/thesis.txt")]),
        )[1],
        1,
    ),
    # ---------------- injection: CSV formulas, HTML, terminal escapes ----------------------------
    case("inj.report_hostile_names", _report_hostile, 0),
    case(
        "inj.crosswalk_formulas_neutralised",
        deid(
            columns={"mrn": _mrn_column},
            sentinel_ok=("keys/cw.csv",),
            checks=(
                no_formula_cells("keys/cw.csv", "out/visits.csv"),
                column_cells_escaped("keys/cw.csv", "mrn", HOSTILE_MRNS),
            ),
        ),
        0,
    ),
    case(
        "inj.crosswalk_formulas_read_back",
        _deid_then(
            ["--out", "out2/visits.csv", "--key-file", "keys/cw.csv"],
            hostile_mrn=True,
            save_key=True,
            may_change=("keys/cw.csv",),
            checks=(
                same_patients("out/visits.csv", "out2/visits.csv"),
                crosswalk_prefix_kept("keys/cw.csv", "saved/cw_before.csv"),
            ),
        ),
        0,
    ),
    case("inj.escape_in_data_file_name_bad", lambda c: Run(["validate", c.text("bad\x1b[31m.csv", _HEADER)]), 1),
    case("inj.escape_in_data_file_name_good", lambda c: Run(["validate", c.visits("good\x1b]0;pwned\x07.csv")]), 0),
    case("inj.bidi_in_data_file_name", lambda c: Run(["validate", c.text("report\u202evsc.csv", _HEADER)]), 1),
    case(
        "inj.newline_in_data_file_name",
        lambda c: Run(["validate", c.text("a\nFAKE LINE.csv", _HEADER)], checks=(not_on_stderr("a\nFAKE LINE"),)),
        1,
    ),
    case("inj.escape_in_json_name", lambda c: Run(["claims", c.visits(), "--json", "r\x1b[31m.json"]), 0),
    case(
        "inj.escape_in_synth_name",
        lambda c: Run(["synth", "--episodes", "20", "--seed", "1", "--out", "s\x1b[2J.csv"]),
        0,
    ),
    case(
        "inj.escape_in_plan_name",
        lambda c: (c.visits(), Run(["claims", "v.csv", "--plan", "p\x1b[31m.yaml"]))[1],
        1,
        rules=("file_exists",),
    ),
    case(
        "inj.escape_in_key_file_name",
        lambda c: Run(
            ["deidentify", c.raw(), "--out", "out/visits.csv", "--key-file", c.text("k\x1b[31m.csv", "junk\n")]
        ),
        1,
    ),
    # ---------------- output paths: never delete or overwrite what the tool did not create -------
    case(
        "out.claims_json_new",
        lambda c: Run(["claims", c.visits(), "--json", "r.json"], checks=(json_file("r.json"),)),
        0,
    ),
    case(
        "out.claims_json_stdout_only_json",
        lambda c: Run(["claims", c.visits(), "--json", "-"], checks=(stdout_is_one_json,)),
        0,
    ),
    case(
        "out.claims_json_stdout_bad_data",
        lambda c: Run(["claims", c.visits(edits={(0, "value"): SENTINEL}), "--json", "-"], checks=(stdout_empty,)),
        1,
    ),
    case("out.claims_json_onto_input", lambda c: Run(["claims", c.visits(), "--json", "v.csv"]), 1),
    case(
        "out.claims_json_symlink_to_input",
        lambda c: Run(["claims", c.visits(), "--json", c.link("r.json", "v.csv")]),
        1,
    ),
    case(
        "out.claims_json_onto_plan",
        lambda c: Run(["claims", c.visits(), "--plan", c.text("plan.yaml", "k: 3\n"), "--json", "plan.yaml"]),
        1,
    ),
    case(
        "out.claims_json_directory",
        lambda c: Run(["claims", c.visits(), "--json", c.dir("results", {"old.txt": "x\n"})]),
        1,
    ),
    case(
        "out.claims_json_user_file",
        lambda c: Run(["claims", c.visits(), "--json", c.text("r.json", '{"mine": 1}\n')]),
        1,
    ),
    case(
        "out.claims_json_user_file_force",
        lambda c: Run(["claims", c.visits(), "--json", c.text("r.json", '{"mine": 1}\n'), "--force"]),
        1,
    ),
    case(
        "out.claims_json_symlink_to_user_file",
        lambda c: (_dirs_of_user_files(c), Run(["claims", c.visits(), "--json", c.link("r.json", "docs/thesis.txt")]))[
            1
        ],
        1,
    ),
    case(
        "out.claims_json_force_own_output",
        lambda c: (
            c.visits(),
            c.run_tool(["claims", "v.csv", "--json", "r.json"]),
            Run(
                ["claims", "v.csv", "--json", "r.json", "--force"],
                may_change=("r.json",),
                checks=(json_file("r.json"),),
            ),
        )[2],
        0,
    ),
    case(
        "out.claims_json_beside_input",
        lambda c: Run(
            ["claims", _clinic(c), "--json", "clinic/results.json"], checks=(json_file("clinic/results.json"),)
        ),
        0,
    ),
    case("out.claims_json_long_name", lambda c: Run(["claims", c.visits(), "--json", LONG_NAME + ".json"]), 1),
    case(
        "out.claims_json_unwritable",
        lambda c: (_locked(c), Run(["claims", c.visits(), "--json", "locked/r.json"], fault=("eacces", ("locked",))))[
            1
        ],
        1,
    ),
    case(
        "out.claims_json_disk_full",
        lambda c: (_locked(c), Run(["claims", c.visits(), "--json", "locked/r.json"], fault=("enospc", ("locked",))))[
            1
        ],
        1,
    ),
    case(
        "out.claims_unsuppressed_json",
        lambda c: Run(
            ["claims", c.visits(), "--json", "r.json", "--unsuppressed-json", "r_unsuppressed.json"],
            checks=(json_file("r.json"), json_file("r_unsuppressed.json")),
        ),
        0,
    ),
    case(
        "out.claims_unsuppressed_onto_input", lambda c: Run(["claims", c.visits(), "--unsuppressed-json", "v.csv"]), 1
    ),
    case(
        "out.claims_unsuppressed_same_as_json",
        lambda c: Run(["claims", c.visits(), "--json", "r.json", "--unsuppressed-json", "r.json"]),
        (1, 2),
    ),
    case("out.report_onto_input_folder", lambda c: Run(["report", _clinic(c), "--out", "clinic"]), 1),
    case("out.report_onto_input_folder_force", lambda c: Run(["report", _clinic(c), "--out", "clinic", "--force"]), 1),
    case("out.report_onto_input_file", lambda c: Run(["report", _clinic(c), "--out", "clinic/visits.csv"]), 1),
    case("out.report_onto_cwd_holding_input", lambda c: Run(["report", c.visits(), "--out", "."]), 1),
    case("out.report_onto_parent_of_input", lambda c: Run(["report", _clinic(c), "--out", "."]), 1),
    case(
        "out.report_symlink_to_input_folder", lambda c: Run(["report", _clinic(c), "--out", c.link("rep", "clinic")]), 1
    ),
    case(
        "out.report_onto_user_folder",
        lambda c: (_dirs_of_user_files(c), Run(["report", c.visits(), "--out", "docs"]))[1],
        1,
    ),
    case(
        "out.report_onto_user_folder_force",
        lambda c: (_dirs_of_user_files(c), Run(["report", c.visits(), "--out", "docs", "--force"]))[1],
        1,
    ),
    case(
        "out.report_onto_plan_folder",
        lambda c: Run(["report", c.visits(), "--plan", c.text("plans/p.yaml", "k: 3\n"), "--out", "plans"]),
        1,
    ),
    case("out.report_onto_user_file", lambda c: Run(["report", c.visits(), "--out", c.text("notes.txt", "mine\n")]), 1),
    case("out.report_long_name", lambda c: Run(["report", c.visits(), "--out", LONG_NAME]), 1),
    case(
        "out.report_unwritable_parent",
        lambda c: (_locked(c), Run(["report", c.visits(), "--out", "locked/rep"], fault=("eacces", ("locked",))))[1],
        1,
    ),
    case(
        "out.report_bad_data_sentinel",
        lambda c: Run(["report", c.visits(edits={(0, "measure"): SENTINEL}), "--out", "rep"]),
        1,
    ),
    case(
        "out.report_phi",
        lambda c: Run(["report", c.visits(columns={"mrn": per_patient(CODES)}), "--out", "rep"]),
        1,
        rules=("phi_*",),
    ),
    case(
        "out.report_plan_false",
        lambda c: Run(["report", c.visits(), "--plan", c.text("plan.yaml", "false\n"), "--out", "rep"]),
        1,
    ),
    case(
        "out.report_n_boot_1e9",
        lambda c: Run(
            ["report", c.visits(), "--plan", c.text("plan.yaml", "n_boot: 1000000000\n"), "--out", "rep"],
            subprocess=True,
        ),
        1,
        mentions=("n_boot",),
        max_seconds=15,
    ),
    case(
        "out.report_fifo_data",
        lambda c: Run(["report", c.fifo("v.csv"), "--out", "rep"], subprocess=True),
        1,
        rules=("regular_file",),
    ),
    # ---------------- synth ---------------------------------------------------------------------
    case(
        "synth.good_csv",
        lambda c: Run(["synth", "--episodes", "30", "--seed", "1", "--out", "s.csv"], checks=(is_file("s.csv"),)),
        0,
    ),
    case(
        "synth.good_parquet",
        lambda c: Run(
            ["synth", "--episodes", "30", "--seed", "1", "--out", "s.parquet"], checks=(is_file("s.parquet"),)
        ),
        0,
    ),
    case(
        "synth.force_own_output",
        lambda c: (
            c.run_tool(["synth", "--episodes", "20", "--out", "s.csv"]),
            Run(["synth", "--episodes", "30", "--out", "s.csv", "--force"], may_change=("s.csv",)),
        )[1],
        0,
    ),
    case("synth.episodes_zero", lambda c: Run(["synth", "--episodes", "0", "--out", "s.csv"]), (1, 2)),
    case("synth.episodes_negative", lambda c: Run(["synth", "--episodes", "-5", "--out", "s.csv"]), (1, 2)),
    case("synth.seed_negative", lambda c: Run(["synth", "--episodes", "10", "--seed", "-1", "--out", "s.csv"]), (1, 2)),
    case("synth.out_user_file", lambda c: Run(["synth", "--episodes", "10", "--out", c.text("s.csv", "mine\n")]), 1),
    case(
        "synth.out_user_file_force",
        lambda c: Run(["synth", "--episodes", "10", "--out", c.text("s.csv", "mine\n"), "--force"]),
        1,
    ),
    case(
        "synth.out_symlink_to_user_file",
        lambda c: (
            _dirs_of_user_files(c),
            Run(["synth", "--episodes", "10", "--out", c.link("s.csv", "docs/budget.csv")]),
        )[1],
        1,
    ),
    case("synth.out_directory", lambda c: Run(["synth", "--episodes", "10", "--out", c.dir("s.csv", {"a": "x\n"})]), 1),
    case("synth.out_long_name", lambda c: Run(["synth", "--episodes", "10", "--out", LONG_NAME + ".csv"]), 1),
    case(
        "synth.out_unwritable",
        lambda c: (
            _locked(c),
            Run(["synth", "--episodes", "10", "--out", "locked/s.csv"], fault=("eacces", ("locked",))),
        )[1],
        1,
    ),
    case(
        "synth.out_disk_full",
        lambda c: (
            _locked(c),
            Run(["synth", "--episodes", "10", "--out", "locked/s.csv"], fault=("enospc", ("locked",))),
        )[1],
        1,
    ),
    case("synth.out_unknown_extension", lambda c: Run(["synth", "--episodes", "10", "--out", "s.txt"]), 1),
    # ---------------- command-line usage --------------------------------------------------------
    case("usage.no_arguments", lambda c: Run([]), 2),
    case("usage.unknown_command", lambda c: Run(["analyse", "v.csv"]), 2),
    case("usage.validate_without_data", lambda c: Run(["validate"]), 2),
    case("usage.validate_two_files", lambda c: Run(["validate", c.visits("a.csv"), c.visits("b.csv")]), 2),
    case("usage.synth_without_out", lambda c: Run(["synth", "--episodes", "10"]), 2),
    case("usage.synth_episodes_float", lambda c: Run(["synth", "--episodes", "1e8", "--out", "s.csv"]), 2),
    case("usage.synth_episodes_text", lambda c: Run(["synth", "--episodes", "many", "--out", "s.csv"]), 2),
    case("usage.deidentify_without_key_file", lambda c: Run(["deidentify", c.raw(), "--out", "out/visits.csv"]), 2),
    case("usage.claims_unknown_flag", lambda c: Run(["claims", c.visits(), "--jsn", "r.json"]), 2),
    case("usage.claims_engine_unknown", lambda c: Run(["claims", c.visits(), "--engine", "spark"]), 2),
    case("usage.report_out_without_value", lambda c: Run(["report", c.visits(), "--out"]), 2),
    case("usage.help", lambda c: Run(["--help"]), 0),
    case("usage.command_help", lambda c: Run(["claims", "--help"]), 0),
    case("usage.nul_in_path", lambda c: Run(["validate", "v\x00.csv"]), (1, 2)),
    case("usage.empty_path", lambda c: Run(["validate", ""]), (1, 2)),
    case("usage.stdin_dash", lambda c: Run(["validate", "-"], subprocess=True), (1, 2)),
]
