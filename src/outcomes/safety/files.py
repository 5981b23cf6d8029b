"""Reading an input file safely: regular files only, of bounded size, never a FIFO or a device.

Every file ``outcomes`` reads (visits, plan, mapping, crosswalk) comes through
:func:`read_input_bytes`. It refuses, before reading a byte:

* a missing path (``file_exists``) or a directory (``not_a_directory``);
* anything that is not a regular file (``regular_file``): a FIFO would block forever,
  ``/dev/zero`` or ``/dev/urandom`` never end, a socket cannot be read;
* a file larger than the stated limit (``limit_<name>``, see :mod:`outcomes.safety.limits`).

The file is opened with ``O_NONBLOCK`` and checked again on the open descriptor
(``fstat``), so swapping a FIFO in after the first check cannot make the read hang,
and at most ``max_bytes + 1`` bytes are read, so a file that grows while it is read
cannot exhaust memory.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "v.csv"
>>> _ = p.write_bytes(b"a,b\\n1,2\\n")
>>> read_input_bytes(p, source="v.csv", limit="max_file_bytes")
b'a,b\\n1,2\\n'
>>> read_input_bytes("/dev/zero", source="/dev/zero", limit="max_file_bytes")  # doctest: +NORMALIZE_WHITESPACE
Traceback (most recent call last):
...
outcomes.errors.OutcomesError: /dev/zero: [regular_file] is a character device, not a regular file; give a CSV or
    Parquet file
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from outcomes.errors import OutcomesError, Problem
from outcomes.safety.limits import current_limits, limit_problem

__all__ = ["check_regular_file", "file_kind", "read_input_bytes"]

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


def file_kind(mode: int) -> str:
    """What a ``st_mode`` describes, in words (``"a regular file"``, ``"a FIFO (named pipe)"`` ...).

    Examples
    --------
    >>> import os
    >>> file_kind(os.stat("/dev/null").st_mode)
    'a character device'
    """
    for test, name in _KINDS:
        if test(mode):
            return name
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def _fail(rule: str, message: str, source: str) -> OutcomesError:
    return OutcomesError(Problem(rule, message, source))


def check_regular_file(
    path: str | os.PathLike[str], *, source: str, what: str = "a CSV or Parquet file"
) -> os.stat_result:
    """``os.stat`` of ``path`` after checking that it is an existing regular file (symlinks followed).

    Raises
    ------
    OutcomesError
        ``file_exists``, ``not_a_directory``, ``regular_file`` or ``file_readable``.

    Examples
    --------
    >>> check_regular_file("/no/such/file", source="x.csv")
    Traceback (most recent call last):
    ...
    outcomes.errors.OutcomesError: x.csv: [file_exists] no such file (check the path and the current directory)
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise _fail("file_exists", "no such file (check the path and the current directory)", source) from None
    except NotADirectoryError:
        raise _fail("file_exists", "no such file (a part of the path is not a directory)", source) from None
    except PermissionError:
        raise _fail("file_readable", "permission denied: the file cannot be read by this user", source) from None
    except OSError as exc:
        raise _fail("file_readable", f"cannot be read ({exc.strerror or type(exc).__name__})", source) from None
    if stat.S_ISDIR(st.st_mode):
        raise _fail("not_a_directory", f"is a directory; give {what} inside it", source)
    if not stat.S_ISREG(st.st_mode):
        raise _fail("regular_file", f"is {file_kind(st.st_mode)}, not a regular file; give {what}", source)
    return st


def read_input_bytes(
    path: str | os.PathLike[str], *, source: str, limit: str, what: str = "a CSV or Parquet file"
) -> bytes:
    """The bytes of a regular file no larger than limit ``limit`` (a field of :class:`~outcomes.safety.limits.Limits`).

    Parameters
    ----------
    path : path
        The file.
    source : str
        Its name in messages.
    limit : str
        Name of the size limit, e.g. ``"max_file_bytes"`` or ``"max_plan_bytes"``.
    what : str
        What the file should be, for messages.

    Raises
    ------
    OutcomesError
        See the module docstring.
    """
    max_bytes = int(getattr(current_limits(), limit))
    st = check_regular_file(path, source=source, what=what)
    if st.st_size > max_bytes:
        raise OutcomesError(limit_problem(limit, f"the file is {st.st_size:,} bytes", source))
    try:
        fd = os.open(Path(path), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except PermissionError:
        raise _fail("file_readable", "permission denied: the file cannot be read by this user", source) from None
    except OSError as exc:
        raise _fail("file_readable", f"cannot be read ({exc.strerror or type(exc).__name__})", source) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # swapped between stat and open
            raise _fail("regular_file", f"is {file_kind(mode)}, not a regular file; give {what}", source)
        # one read of the announced size + 1 byte: FileIO allocates it once (no second copy of a large
        # file), and the extra byte tells a file that grew while it was read
        with os.fdopen(os.dup(fd), "rb", buffering=0) as fh:
            try:
                data = fh.read(st.st_size + 1) or b""
                if 0 < len(data) < st.st_size:  # one read() stops at ~2 GiB on Linux: read the rest
                    parts, total = [data], len(data)
                    while total <= st.st_size and (chunk := fh.read(st.st_size + 1 - total)):
                        parts.append(chunk)
                        total += len(chunk)
                    data = b"".join(parts)
            except OSError as exc:
                raise _fail("file_readable", f"cannot be read ({exc.strerror or type(exc).__name__})", source) from None
        if len(data) > st.st_size:
            raise _fail("file_stable", "changed while it was read; read it again once it is complete", source)
        return data
    finally:
        os.close(fd)
