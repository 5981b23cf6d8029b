"""The one place that decides whether, where and how ``outcomes`` writes a file.

Policy (``docs/outputs.md``): **the tool never deletes or overwrites anything it did not
create.**

* **Never onto an input.** No output may resolve (after symlinks, or as a hard link) to a file
  the command reads, nor lie inside an input directory; an output *directory* may not be or
  contain an input (rules ``output_is_input``, ``output_inside_input``, ``output_holds_input``).
* **Directories** (``report --out``) must be new, empty, or marked as an earlier ``outcomes``
  output: the marker :data:`MARKER` written inside lists every file with its SHA-256. A marked
  directory is replaced as a whole only when it holds nothing but what the marker lists: a file
  outcomes did not write is never deleted (``output_not_ours``, naming it); a listed file changed
  since needs ``force`` (``output_changed``); an unmarked directory that is not empty is refused
  (``output_dir_not_empty``).
* **Files** that already exist may be replaced only when outcomes wrote them (name and SHA-256
  recorded by :func:`record_output` in the manifest :data:`MANIFEST` beside them) and they are
  unchanged since; changed since: only with ``force`` (``output_changed``); not written by
  outcomes: never, ``force`` or not (``output_not_ours``). A file the command reads and rewrites
  keeping its content (the crosswalk of ``deidentify``) is the one exception (``extends=True``).
* **Atomic writes** (:func:`atomic_path`, :func:`atomic_write_text`, :func:`atomic_directory`):
  a temporary beside the target named by :func:`temporary_name`, fsynced, renamed over the
  target. A symlinked target is followed: the temporary goes beside the link's *target*, which is
  replaced, and the link stays a link; a dangling link is refused (``output_dangling_symlink``).
  Temporaries are removed on any error and on SIGINT/SIGTERM/SIGHUP (:func:`install_signal_handlers`);
  those of a run killed outright (SIGKILL) are recognised by name, host and dead process id and
  removed, with a warning, by the next run writing there (:func:`clean_stale_temporaries`).
* **Failures of the disk** (full, quota, read-only, permission, name too long) are an
  :class:`~outcomes.errors.OutcomesError` naming the path (exit 1) and leave no partial output.

The checks (:func:`check_output_file`, :func:`check_output_directory`) run before any work, so a
refused path costs nothing; the atomic helpers apply the structural rules on their own (links,
directories, devices) but not ownership, which is the command's decision (library callers
choose their paths).

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> atomic_write_text(d / "a.txt", "hello\\n")
>>> (d / "a.txt").read_text()
'hello\\n'
>>> check_output_file(d / "a.txt", inputs=[])  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
Traceback (most recent call last):
...
outcomes.errors.OutcomesError: ...a.txt: [output_not_ours] the output exists and was not written by outcomes; it is
    never overwritten (--force or not): choose another path or move the file away
>>> record_output(d / "a.txt")  # what a command does after writing
>>> check_output_file(d / "a.txt", inputs=[]) == (d / "a.txt").resolve()
True
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

from outcomes.errors import OutcomesError, Problem, printable
from outcomes.safety.limits import current_limits, limit_problem

__all__ = [
    "MANIFEST",
    "MARKER",
    "TEMP_TAG",
    "Terminated",
    "atomic_directory",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_output_directory",
    "check_output_file",
    "clean_stale_temporaries",
    "install_signal_handlers",
    "record_output",
    "same_file",
    "sha256_file",
    "temporary_name",
]

log = logging.getLogger("outcomes.safety.outputs")

#: Marker file inside every output directory outcomes creates: ``{"files": {relpath: sha256}}``.
MARKER = ".outcomes-output.json"
#: Manifest beside the output files outcomes wrote: ``{"files": {name: sha256}}``.
MANIFEST = ".outcomes-manifest.json"
#: Part of the name of every temporary (``.<name>.outcomes-tmp-<host>-<pid>-<hex>``).
TEMP_TAG = ".outcomes-tmp-"
#: An old output directory moved aside while its replacement is swapped in.
_OLD_TAG = ".outcomes-old-"
_TEMP_RE = re.compile(r"\..*\.outcomes-(?P<kind>tmp|old)-(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]+)-[0-9a-f]{8}", re.S)
#: Characters of the target's name kept in a temporary's name: with the suffix (about 40 bytes)
#: it stays under the 255-byte name limit of common file systems even for 4-byte characters.
_NAME_KEPT = 40
#: This machine, in temporaries' names: a temporary on a shared disk is only ever judged (is its
#: process alive?) on the host that made it.
_HOST = hashlib.sha256(socket.gethostname().encode("utf-8", "surrogateescape")).hexdigest()[:8]
_DIGEST = re.compile(r"[0-9a-f]{64}")
_PathLike = str | os.PathLike[str]
#: Old output directories kept because they hold foreign files (reported once per process).
_KEPT: set[Path] = set()

_WRITE_ERRORS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENAMETOOLONG: "a name is too long for the file system",
    errno.EFBIG: "the file is too large for the file system",
    errno.EIO: "an input/output error",
}


def _fail(rule: str, message: str, path: _PathLike) -> OutcomesError:
    return OutcomesError(Problem(rule, message, str(path)))


def _write_error(exc: OSError, path: _PathLike) -> OutcomesError:
    why = _WRITE_ERRORS.get(exc.errno or 0) or exc.strerror or type(exc).__name__
    return _fail("output_write_failed", f"could not be written ({why}); nothing was left behind", path)


def sha256_file(path: _PathLike) -> str:
    """SHA-256 (hex) of a file's bytes, read in blocks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"
    >>> _ = p.write_bytes(b"")
    >>> sha256_file(p)[:12]
    'e3b0c44298fc'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def temporary_name(name: str, *, kind: str = "tmp", pid: int | None = None) -> str:
    """The name of a temporary beside a target called ``name``: ``.<name>.outcomes-<kind>-<host>-<pid>-<hex>``.

    ``kind`` is ``"tmp"`` (being written) or ``"old"`` (an old output directory being removed).
    Long names are shortened so that the temporary's name stays a valid file name.

    Examples
    --------
    >>> n = temporary_name("results.json", pid=42)
    >>> n.startswith(".results.json.outcomes-tmp-") and "-42-" in n
    True
    >>> len(temporary_name("x" * 250)) < 100
    True
    """
    return f".{name[:_NAME_KEPT]}.outcomes-{kind}-{_HOST}-{os.getpid() if pid is None else pid}-{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def clean_stale_temporaries(directory: _PathLike) -> list[str]:
    """Remove the temporaries left in ``directory`` by outcomes runs that were killed; return their names.

    A temporary is recognised by its name (:func:`temporary_name`) and removed only when it was
    made on this host by a process that no longer runs: a file or a directory being built is
    removed whole (outcomes made all of it); an old output directory being removed loses only
    the files its marker lists (anything else in it is kept, and reported). Each removal is
    logged as a warning (the CLI prints it on stderr).

    Examples
    --------
    >>> import subprocess, sys, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
    ...                       capture_output=True, text=True).stdout.strip()
    >>> stale = temporary_name("report", pid=int(dead))
    >>> (d / stale).mkdir()
    >>> clean_stale_temporaries(d) == [stale], (d / stale).exists()
    (True, False)
    """
    removed: list[str] = []
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_RE.fullmatch(entry.name)
        if match is None or match["host"] != _HOST or _pid_alive(int(match["pid"])):
            continue
        path = Path(entry.path)
        if entry.is_symlink():  # outcomes never makes a link: not ours
            continue
        if entry.is_dir(follow_symlinks=False):
            if match["kind"] == "old":
                if not _remove_owned_tree(path):
                    if path in _KEPT:
                        continue
                    _KEPT.add(path)
                    log.warning(
                        "%s, an old output left by an interrupted outcomes run, holds files outcomes did "
                        "not write; they were kept: look at them and remove the folder yourself",
                        printable(path),
                    )
                    continue
            else:
                shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
        removed.append(entry.name)
        log.warning(
            "removed %s, a temporary left in %s by an interrupted outcomes run (process %s)",
            printable(entry.name),
            printable(directory),
            match["pid"],
        )
    return removed


# ----------------------------------------------------------------------------- paths


def _check_name(path: Path) -> None:
    limit = current_limits().max_name_chars
    longest = max((len(part) for part in path.parts), default=0)
    if longest > limit:
        raise OutcomesError(
            limit_problem("max_name_chars", f"a name in the path is {longest:,} characters long", str(path))
        )


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise OutcomesError(
                limit_problem("max_name_chars", "the path is too long for the file system", str(path))
            ) from None
        raise _fail("output_not_writable", f"cannot be examined ({exc.strerror or type(exc).__name__})", path) from None


def _real(path: Path, what: str) -> Path:
    """``path`` with every symlink resolved; a name too long or a link to nothing is refused."""
    _check_name(path)
    st = _lstat(path)
    if st is not None and stat.S_ISLNK(st.st_mode):
        try:
            os.stat(path)
        except OSError:  # dangling, or a loop
            raise _fail(
                "output_dangling_symlink",
                f"the {what} is a symbolic link that leads to nothing; remove the link or give another path",
                path,
            ) from None
    real = Path(os.path.realpath(path))
    if real.name in (MARKER, MANIFEST) or _TEMP_RE.fullmatch(real.name):
        raise _fail(
            "output_reserved_name", f"the {what} would replace outcomes' own bookkeeping file; give another name", path
        )
    return real


def same_file(a: _PathLike, b: _PathLike) -> bool:
    """Whether two paths name one file: the same path after symlinks, or hard links to one file.

    Examples
    --------
    >>> import tempfile, pathlib, os
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "v.csv").write_text("x")
    >>> os.link(d / "v.csv", d / "hard.csv")
    >>> same_file(d / "hard.csv", d / "v.csv"), same_file(d / "v.csv", d / "other.csv")
    (True, False)
    """
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _inputs(inputs: Iterable[_PathLike | None]) -> list[tuple[Path, str]]:
    """(real path, name as given) of every input; ``None`` and ``-`` (stdin) skipped."""
    return [(Path(os.path.realpath(p)), str(p)) for p in inputs if p is not None and str(p) not in ("", "-")]


def _check_inputs(real: Path, inputs: Iterable[_PathLike | None], what: str, path: Path, *, directory: bool) -> None:
    for inp, given in _inputs(inputs):
        if same_file(real, inp):
            raise _fail(
                "output_is_input", f"the {what} would replace the input {printable(given)}; choose another path", path
            )
        if directory and real in inp.parents:
            raise _fail(
                "output_holds_input",
                f"the {what} holds the input {printable(given)}; replacing it would delete it: choose a new directory",
                path,
            )
        if inp.is_dir() and inp in real.parents:
            raise _fail(
                "output_inside_input",
                f"the {what} would be written inside the input directory {printable(given)}; choose a path outside it",
                path,
            )


def _check_parent(real: Path, what: str, path: Path) -> None:
    parent = real.parent
    while _lstat(parent) is None:  # created on writing: the nearest existing ancestor must be a writable directory
        parent = parent.parent
    if not parent.is_dir():
        raise _fail(
            "output_parent_missing", f"the {what} cannot be created: {printable(parent)} is not a directory", path
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _fail(
            "output_not_writable",
            f"the {what} cannot be written: {printable(parent)} is not writable by "
            "this user (or is on a read-only file system)",
            path,
        )


# ----------------------------------------------------------------------------- listings


def _valid_key(key: str, nested: bool) -> bool:
    parts = PurePosixPath(key).parts
    return (
        bool(parts)
        and "\x00" not in key
        and not key.startswith("/")
        and PurePosixPath(*parts).as_posix() == key
        and not any(p in (".", "..") for p in parts)
        and (nested or len(parts) == 1)
    )


def _listing(path: Path, *, nested: bool) -> dict[str, str] | None:
    """The ``files`` of a marker (``nested``: relative paths) or manifest (names); ``None`` when absent.

    Raises ValueError when the file is there but is not one outcomes wrote (a link, not JSON,
    another shape, a path leaving the directory, a digest that is not SHA-256).
    """
    st = _lstat(path)
    if st is None:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise ValueError("not a regular file")
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ValueError("unreadable") from exc
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and _DIGEST.fullmatch(v) and _valid_key(k, nested)
        for k, v in files.items()
    ):
        raise ValueError("not an outcomes listing")
    return files


def _manifest(directory: Path, what: str, path: Path) -> dict[str, str]:
    try:
        return _listing(directory / MANIFEST, nested=False) or {}
    except ValueError:
        raise _fail(
            "output_manifest_invalid",
            f"the {what}'s directory holds a {MANIFEST} that outcomes did not "
            "write (or that was edited); outcomes will not write there until it is moved away",
            path,
        ) from None


def _write_json(path: Path, doc: Any) -> None:
    """Write small JSON bookkeeping (marker, manifest) atomically (raises OSError)."""
    tmp = path.with_name(temporary_name(path.name))
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """An exclusive lock on ``directory`` (flock of the directory itself: no lock file is left)."""
    try:
        import fcntl  # noqa: PLC0415  (POSIX only)
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def record_output(path: _PathLike) -> None:
    """Record in :data:`MANIFEST` beside ``path`` that outcomes wrote it (its name and SHA-256).

    Called by a command after each successful write; only what is recorded may later be
    replaced (:func:`check_output_file`). The manifest is updated atomically, under a lock on
    the directory, and forgets files that no longer exist. When it cannot be written (disk full)
    the output stays, a warning says that a later run will not replace it, and nothing is raised.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "r.json").write_text("{}")
    >>> record_output(d / "r.json")
    >>> json.loads((d / MANIFEST).read_text())["files"]["r.json"][:12]
    '44136fa355b3'
    """
    real = Path(os.path.realpath(path))
    manifest = real.parent / MANIFEST
    try:
        with _locked(real.parent):
            try:
                files = _listing(manifest, nested=False) or {}
            except ValueError:
                log.warning(
                    "%s is not a manifest outcomes wrote: %s is not recorded as written by outcomes and will "
                    "not be replaced by a later run",
                    printable(manifest),
                    printable(path),
                )
                return
            files = {name: digest for name, digest in files.items() if (real.parent / name).is_file()}
            files[real.name] = sha256_file(real)
            _write_json(
                manifest,
                {
                    "about": "files written by outcomes, replaced only while unchanged (see docs/outputs.md)",
                    "files": files,
                },
            )
    except OSError as exc:
        log.warning(
            "%s was written, but outcomes could not record that it wrote it (%s): a later run will not replace it",
            printable(path),
            _WRITE_ERRORS.get(exc.errno or 0) or exc.strerror,
        )


# ----------------------------------------------------------------------------- checks


def check_output_file(
    path: _PathLike,
    *,
    inputs: Iterable[_PathLike | None] = (),
    force: bool = False,
    what: str = "output",
    extends: bool = False,
) -> Path:
    """Check that the file ``path`` may be written under the policy of the module docstring; return its real path.

    Also removes the stale temporaries of killed runs beside it (:func:`clean_stale_temporaries`).

    Parameters
    ----------
    path : path
        The output file (a symlink is followed: its target is what gets written).
    inputs : paths
        Every file (or directory) the command reads; ``None`` entries are skipped.
    force : bool
        Replace a file outcomes wrote even though it changed since (never one it did not write).
    what : str
        What the file is, for messages (``"--json file"``, ``"key file"``).
    extends : bool
        The command reads this very file and rewrites it keeping its content (the crosswalk):
        it may be replaced whoever wrote it.

    Returns
    -------
    Path
        The real path that will be written.

    Raises
    ------
    OutcomesError
        ``output_is_input``, ``output_inside_input``, ``output_is_directory``, ``output_not_regular``,
        ``output_not_ours``, ``output_changed``, ``output_dangling_symlink``, ``output_reserved_name``,
        ``output_manifest_invalid``, ``output_parent_missing``, ``output_not_writable``,
        ``limit_max_name_chars``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "v.csv").write_text("x\\n")
    >>> check_output_file(d / "v.csv", inputs=[d / "v.csv"])  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    outcomes.errors.OutcomesError: ...v.csv: [output_is_input] the output would replace the input ...v.csv; choose
        another path
    >>> check_output_file(d, inputs=[])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    outcomes.errors.OutcomesError: ...: [output_is_directory] the output names a directory; give a file name
    """
    p = Path(path)
    real = _real(p, what)
    _check_inputs(real, inputs, what, p, directory=False)
    st = _lstat(real)
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise _fail("output_is_directory", f"the {what} names a directory; give a file name", p)
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise _fail(
            "output_not_regular",
            f"the {what} exists and is not a regular file (a device, FIFO or socket); it is never replaced",
            p,
        )
    _check_parent(real, what, p)
    # (the crosswalk is not recorded, so its directory's manifest does not matter)
    manifest = {} if extends or not real.parent.is_dir() else _manifest(real.parent, what, p)
    if st is not None and not extends:
        recorded = manifest.get(real.name)
        if recorded is None:
            raise _fail(
                "output_not_ours",
                f"the {what} exists and was not written by outcomes; it is never "
                "overwritten (--force or not): choose another path or move the file away",
                p,
            )
        if recorded != sha256_file(real) and not force:
            raise _fail(
                "output_changed",
                f"the {what} was written by outcomes but has changed since; replace it "
                "with --force, or choose another path",
                p,
            )
    clean_stale_temporaries(real.parent)
    return real


def _tree(root: Path) -> dict[str, Path]:
    """Every file, link and directory below ``root``, by relative POSIX path (links not followed)."""
    found: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            full = Path(dirpath) / name
            found[full.relative_to(root).as_posix()] = full
    return found


def _owned(root: Path, listed: dict[str, str]) -> tuple[list[str], list[str], dict[str, Path]]:
    """(foreign entries, listed files changed since, owned entries) of a marked directory."""
    owned_dirs = {parent.as_posix() for rel in listed for parent in PurePosixPath(rel).parents} - {"."}
    foreign: list[str] = []
    changed: list[str] = []
    owned: dict[str, Path] = {}
    for rel, full in _tree(root).items():
        mode = os.lstat(full).st_mode
        if rel == MARKER and stat.S_ISREG(mode):
            owned[rel] = full
        elif rel in listed and stat.S_ISREG(mode):
            owned[rel] = full
            if sha256_file(full) != listed[rel]:
                changed.append(rel)
        elif rel in owned_dirs and stat.S_ISDIR(mode):
            owned[rel] = full
        else:
            foreign.append(rel)
    return sorted(foreign), sorted(changed), owned


def _some(names: list[str]) -> str:
    shown = ", ".join(printable(n) for n in names[:5])
    return shown + (f" (+{len(names) - 5} more)" if len(names) > 5 else "")


def check_output_directory(
    path: _PathLike, *, inputs: Iterable[_PathLike | None] = (), force: bool = False, what: str = "report directory"
) -> Path:
    """Check that the directory ``path`` may be created, or replaced as a whole; return its real path.

    Also removes the stale temporaries of killed runs beside it (:func:`clean_stale_temporaries`).

    Parameters
    ----------
    path : path
        The output directory (a symlink is followed: its target is replaced, the link stays).
    inputs : paths
        Every file the command reads; ``None`` entries are skipped.
    force : bool
        Replace files outcomes wrote there even though they changed since.
    what : str
        What the directory is, for messages.

    Returns
    -------
    Path
        The real path of the directory.

    Raises
    ------
    OutcomesError
        ``output_is_input``, ``output_holds_input``, ``output_inside_input``, ``output_not_directory``,
        ``output_dir_not_empty``, ``output_not_ours``, ``output_changed``, ``output_dangling_symlink``,
        ``output_reserved_name``, ``output_parent_missing``, ``output_not_writable``, ``limit_max_name_chars``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "visits.csv").write_text("x\\n")
    >>> check_output_directory(d, inputs=[d / "visits.csv"])  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    outcomes.errors.OutcomesError: ...: [output_holds_input] the report directory holds the input ...visits.csv;
        replacing it would delete it: choose a new directory
    >>> check_output_directory(d / "new", inputs=[d / "visits.csv"]) == (d / "new").resolve()
    True
    """
    p = Path(path)
    real = _real(p, what)
    _check_inputs(real, inputs, what, p, directory=True)
    st = _lstat(real)
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise _fail(
            "output_not_directory",
            f"the {what} exists and is not a directory; it is never replaced: give a new directory name",
            p,
        )
    _check_parent(real, what, p)
    clean_stale_temporaries(real.parent)
    if st is None:
        return real
    if not os.access(real, os.W_OK | os.X_OK):
        raise _fail("output_not_writable", f"the {what} is not writable by this user", p)
    entries = sorted(e.name for e in os.scandir(real))
    if not entries:
        return real
    try:
        listed = _listing(real / MARKER, nested=True)
    except ValueError:
        raise _fail(
            "output_dir_not_empty",
            f"the {what} is not empty and its {MARKER} was not written by outcomes "
            "(or was edited); nothing in it is deleted: choose a new or empty directory",
            p,
        ) from None
    if listed is None:
        raise _fail(
            "output_dir_not_empty",
            f"the {what} exists, is not empty ({_some(entries)}) and was not made by "
            "outcomes; its files are never deleted: choose a new or empty directory",
            p,
        )
    foreign, changed, _ = _owned(real, listed)
    problems = []
    if foreign:
        problems.append(
            Problem(
                "output_not_ours",
                f"the {what} was made by outcomes but now holds what it did not "
                f"write: {_some(foreign)}; that is never deleted (--force or not): move it away or "
                "choose a new directory",
                str(p),
            )
        )
    if changed and not force:
        problems.append(
            Problem(
                "output_changed",
                f"the {what} holds files changed since outcomes wrote them: "
                f"{_some(changed)}; replace them with --force, or choose a new directory",
                str(p),
            )
        )
    if problems:
        raise OutcomesError(problems)
    return real


# ----------------------------------------------------------------------------- atomic writes


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system can (the data itself is fsynced)
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _prepare_file(target: _PathLike) -> Path:
    """The real path to write for ``target``, its directory created; structural refusals only."""
    p = Path(target)
    real = _real(p, "output")
    st = _lstat(real)
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise _fail("output_is_directory", "the output names a directory; give a file name", p)
    if st is not None and not stat.S_ISREG(st.st_mode):  # never swap /dev/null & co. for a regular file
        raise _fail(
            "output_not_regular",
            "the output exists and is not a regular file (a device, FIFO or socket); it is never replaced",
            p,
        )
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(exc, p) from None
    clean_stale_temporaries(real.parent)
    return real


@contextlib.contextmanager
def atomic_path(target: _PathLike, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; fsync it and rename it over ``target`` on success.

    A symlinked ``target`` is followed: the temporary is made beside the link's target, which is
    replaced, and the link stays a link; a dangling link, a directory and a device are refused.
    On any error (an ``OSError`` becomes an :class:`~outcomes.errors.OutcomesError` naming
    ``target``) or interruption the temporary is removed and ``target`` is left as it was.

    Parameters
    ----------
    target : path
        Final file name; missing parent directories are created.
    mode : int, optional
        Permission bits of the new file (``0o600`` for a crosswalk); default as ``open()`` would.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "real.csv").write_text("old\\n")
    >>> (d / "link.csv").symlink_to(d / "real.csv")
    >>> with atomic_path(d / "link.csv") as tmp:
    ...     _ = tmp.write_text("new\\n")
    >>> (d / "link.csv").is_symlink(), (d / "real.csv").read_text()
    (True, 'new\\n')
    >>> sorted(p.name for p in d.iterdir())
    ['link.csv', 'real.csv']
    """
    real = _prepare_file(target)
    tmp = real.with_name(temporary_name(real.name))
    try:
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
            os.close(fd)
            os.chmod(tmp, (0o666 & ~_umask()) if mode is None else mode)
            yield tmp
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, real)
        except OSError as exc:
            raise _write_error(exc, target) from None
        _fsync_dir(real.parent)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _write(target: _PathLike, writer: Callable[[IO[Any]], object], binary: bool, mode: int | None) -> None:
    with (
        atomic_path(target, mode) as tmp,
        open(tmp, "wb" if binary else "w", encoding=None if binary else "utf-8", newline=None if binary else "") as fh,
    ):
        writer(fh)


def atomic_write_text(target: _PathLike, text: str, mode: int | None = None) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``target`` atomically (see :func:`atomic_path`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sub" / "t.txt"
    >>> atomic_write_text(p, "a\\r\\nb")
    >>> p.read_bytes()
    b'a\\r\\nb'
    """
    _write(target, lambda fh: fh.write(text), False, mode)


def atomic_write_bytes(target: _PathLike, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``target`` atomically (see :func:`atomic_path`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "k.bin"
    >>> atomic_write_bytes(p, b"\\x00\\x01", mode=0o600)
    >>> oct(p.stat().st_mode & 0o777)
    '0o600'
    """
    _write(target, lambda fh: fh.write(data), True, mode)


def _remove_owned_tree(root: Path) -> bool:
    """Delete what an output directory's marker lists (files, then their emptied directories).

    Returns whether ``root`` is gone; anything else in it is kept (so is ``root``).
    """
    try:
        listed = _listing(root / MARKER, nested=True) or {}  # no marker: an empty directory was replaced
    except ValueError:
        return False
    _, _, owned = _owned(root, listed)
    for rel, full in owned.items():
        if rel != MARKER and not full.is_dir():
            with contextlib.suppress(OSError):
                full.unlink()
    for rel in sorted((r for r, full in owned.items() if full.is_dir()), key=lambda r: -r.count("/")):
        with contextlib.suppress(OSError):
            os.rmdir(owned[rel])
    with contextlib.suppress(OSError):
        if {e.name for e in os.scandir(root)} <= {MARKER}:  # the marker last: it says what else is ours
            with contextlib.suppress(FileNotFoundError):
                (root / MARKER).unlink()
            os.rmdir(root)
    return not root.exists()


@contextlib.contextmanager
def atomic_directory(
    target: _PathLike, *, inputs: Iterable[_PathLike | None] = (), force: bool = False, what: str = "report directory"
) -> Iterator[Path]:
    """Build a directory under a temporary name beside ``target``; swap it into place on success.

    ``target`` is checked with :func:`check_output_directory` (``inputs``, ``force``) on entry
    and again just before the swap. On failure or interruption the temporary directory is
    removed and ``target`` is left untouched. On success the new directory gets its
    :data:`MARKER` (every file with its SHA-256) and replaces ``target`` (through a symlink: its
    target); of the old directory only what outcomes wrote is deleted.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_directory(root / "report") as d:
    ...     _ = (d / "index.html").write_text("<p>ok</p>")
    >>> sorted(p.name for p in (root / "report").iterdir())
    ['.outcomes-output.json', 'index.html']
    >>> with atomic_directory(root / "report") as d:  # a directory outcomes made: replaced
    ...     _ = (d / "index.html").write_text("<p>new</p>")
    >>> (root / "report" / "index.html").read_text(), sorted(p.name for p in root.iterdir())
    ('<p>new</p>', ['report'])
    """
    real = check_output_directory(target, inputs=inputs, force=force, what=what)
    tmp = real.with_name(temporary_name(real.name))
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        # the permissions of the directory replaced (e.g. a 0700 folder stays private), else as mkdir would
        os.chmod(tmp, stat.S_IMODE(os.stat(real).st_mode) if real.is_dir() else 0o777 & ~_umask())
    except OSError as exc:
        raise _write_error(exc, target) from None
    try:
        try:
            yield tmp
            files = {
                rel: sha256_file(full)
                for rel, full in sorted(_tree(tmp).items())
                if stat.S_ISREG(os.lstat(full).st_mode) and rel != MARKER
            }
            _write_json(
                tmp / MARKER,
                {
                    "about": "a directory written by outcomes, replaced as a whole only while it "
                    "holds just these files, unchanged (see docs/outputs.md)",
                    "files": files,
                },
            )
            check_output_directory(real, inputs=inputs, force=force, what=what)  # nothing added meanwhile
            old = real.with_name(temporary_name(real.name, kind="old")) if os.path.lexists(real) else None
            if old is not None:
                os.replace(real, old)
            try:
                os.replace(tmp, real)
            except OSError:
                if old is not None:
                    os.replace(old, real)
                raise
        except OSError as exc:
            raise _write_error(exc, target) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(real.parent)
    if old is not None and not _remove_owned_tree(old):
        log.warning(
            "files outcomes did not write appeared in the old %s while it was replaced; they were kept in %s",
            what,
            printable(old),
        )


# ----------------------------------------------------------------------------- signals


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM or SIGHUP (see :func:`install_signal_handlers`).

    A ``BaseException``, like ``KeyboardInterrupt``: it unwinds through every ``finally`` (so
    temporaries are removed) and is not caught by ``except Exception``.

    Examples
    --------
    >>> import signal
    >>> Terminated(signal.SIGTERM).exit_code
    143
    """

    def __init__(self, signum: int):
        self.signum = int(signum)
        super().__init__(f"terminated by {signal.Signals(self.signum).name}")

    @property
    def exit_code(self) -> int:
        """``128 + signal number``, as a shell reports a process killed by that signal."""
        return 128 + self.signum


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def install_signal_handlers() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Terminated` (SIGINT already raises ``KeyboardInterrupt``).

    The previous handlers are restored on exit. A signal that was ignored (``nohup``) stays
    ignored, and nothing is installed outside the main thread (signals go to the main thread).

    Examples
    --------
    >>> import signal
    >>> before = signal.getsignal(signal.SIGTERM)
    >>> with install_signal_handlers():
    ...     signal.getsignal(signal.SIGTERM) is _terminate
    True
    >>> signal.getsignal(signal.SIGTERM) is before
    True
    """
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP"):
            sig = getattr(signal, name, None)
            if sig is not None and signal.getsignal(sig) is not signal.SIG_IGN:
                previous[sig] = signal.signal(sig, _terminate)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
