"""Atomic writes: a reader sees the old file or the new one, never half of one.

Every output of ``outcomes`` goes through here: write to a temporary file in the
target's directory, flush and fsync, then ``os.replace`` (atomic on POSIX within
one file system).  A crash mid-write leaves the previous file intact.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> atomic_write_text(d / "a.txt", "hello\\n")
>>> (d / "a.txt").read_text()
'hello\\n'
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

__all__ = ["atomic_write_text", "atomic_write_bytes", "atomic_path", "atomic_directory"]


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; move it into place on success.

    Parameters
    ----------
    target : path
        Final file name.
    mode : int, optional
        Permission bits for the new file (e.g. ``0o600`` for a crosswalk key).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "b.csv") as tmp:
    ...     _ = tmp.write_text("x\\n1\\n")
    >>> sorted(p.name for p in d.iterdir())
    ['b.csv']
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    if mode is None:  # mkstemp creates 0600; give the file the permissions open() would have
        mode = 0o666 & ~_umask()
    try:
        os.chmod(tmp, mode)
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _write(target: str | os.PathLike[str], writer: Callable[[IO], object], binary: bool,
           mode: int | None) -> None:
    with atomic_path(target, mode) as tmp:
        with open(tmp, "wb" if binary else "w", encoding=None if binary else "utf-8",
                  newline=None if binary else "") as fh:
            writer(fh)


def atomic_write_text(target: str | os.PathLike[str], text: str, mode: int | None = None) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically.  See module docstring."""
    _write(target, lambda fh: fh.write(text), False, mode)


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``target`` atomically.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "k.bin"
    >>> atomic_write_bytes(p, b"\\x00\\x01", mode=0o600)
    >>> oct(p.stat().st_mode & 0o777)
    '0o600'
    """
    _write(target, lambda fh: fh.write(data), True, mode)


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Build a directory under a temporary name; swap it into place on success.

    On failure the temporary directory is removed and an existing ``target`` is
    left untouched.  On success the old ``target`` (if any) is replaced.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_directory(root / "report") as d:
    ...     _ = (d / "index.html").write_text("<p>ok</p>")
    >>> [p.name for p in (root / "report").iterdir()]
    ['index.html']
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp creates 0700; give it the permissions mkdir would
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
