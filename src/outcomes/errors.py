"""One error type for everything the user can fix.

Every problem with input data, a plan file or a command line is reported as an
:class:`OutcomesError` carrying one or more :class:`Problem` records.  Each
problem names the file, the row(s) as numbered in the file (header = row 1, so
the first data row of a CSV is row 2), the column and the rule that was broken.
The CLI turns an ``OutcomesError`` into a message and exit code 1; anything else
is a bug (exit 3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["OutcomesError", "Problem", "format_rows", "printable"]

# C0 and C1 controls, DEL, and the Unicode format characters that reorder or hide text
# (bidi overrides and isolates, zero-width marks): none may reach a terminal from a file name.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def printable(text: object) -> str:
    """``text`` with control and invisible characters written as escapes (``\\x1b``, ``\\u202e``).

    File names and column names come from the user's disk and files; an escape byte in one
    could move the cursor or recolour the terminal, a bidi override could make a message
    read backwards. Every message passes through here before it is printed.

    Examples
    --------
    >>> print(printable("v\\x1b[31m.csv"))
    v\\x1b[31m.csv
    >>> print(printable("report\\u202eLMTH.csv"))
    report\\u202eLMTH.csv
    >>> printable("plain name.csv")
    'plain name.csv'
    """
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


#: At most this many row numbers are listed per problem; the rest are counted.
MAX_ROWS_SHOWN = 8


def format_rows(rows: Sequence[int]) -> str:
    """Format row numbers compactly: ``"rows 2, 5, 9 (+12 more)"``.

    Examples
    --------
    >>> format_rows([3])
    'row 3'
    >>> format_rows(list(range(2, 14)))
    'rows 2, 3, 4, 5, 6, 7, 8, 9 (+4 more)'
    """
    rows = sorted({int(r) for r in rows})
    if not rows:
        return ""
    if len(rows) == 1:
        return f"row {rows[0]}"
    shown = ", ".join(str(r) for r in rows[:MAX_ROWS_SHOWN])
    more = len(rows) - MAX_ROWS_SHOWN
    return f"rows {shown}" + (f" (+{more} more)" if more > 0 else "")


@dataclass(frozen=True)
class Problem:
    """A single broken rule.

    Parameters
    ----------
    rule : str
        Short machine-readable rule code, e.g. ``"value_in_bounds"``.
    message : str
        Human explanation.  Must never contain a patient-identifying value.
    source : str
        File name (or ``"<DataFrame>"``, ``"plan"`` ...).
    rows : tuple of int
        Row numbers as in the file (header is row 1); empty if not row-specific.
    column : str or None
        Column (or plan field) concerned.

    Examples
    --------
    >>> p = Problem("value_in_bounds", "pain_nprs must be within 0-10", "v.csv", (7,), "value")
    >>> str(p)
    'v.csv, row 7, column value: [value_in_bounds] pain_nprs must be within 0-10'
    """

    rule: str
    message: str
    source: str = "<input>"
    rows: tuple[int, ...] = field(default_factory=tuple)
    column: str | None = None

    def __str__(self) -> str:
        where = [self.source]
        if self.rows:
            where.append(format_rows(self.rows))
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: [{self.rule}] {self.message}"


class OutcomesError(Exception):
    """Input the user can fix: bad data, bad plan, bad arguments.

    Parameters
    ----------
    problems : Problem or iterable of Problem
        Everything that was found (validation is lazy: all problems at once).
    headline : str, optional
        One-line summary shown above the list.

    Examples
    --------
    >>> err = OutcomesError(Problem("file_exists", "no such file", "x.csv"))
    >>> print(err)
    x.csv: [file_exists] no such file
    >>> err.rules
    ('file_exists',)
    """

    def __init__(self, problems: Problem | Iterable[Problem], headline: str | None = None):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems: tuple[Problem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("OutcomesError needs at least one Problem")
        self.headline = headline
        super().__init__(self.render())

    @property
    def rules(self) -> tuple[str, ...]:
        """Rule codes of all problems, in order."""
        return tuple(p.rule for p in self.problems)

    def render(self, limit: int = 20) -> str:
        """The message shown to the user, at most ``limit`` problems long."""
        lines = [self.headline] if self.headline else []
        shown = self.problems[:limit]
        prefix = "  - " if self.headline or len(shown) > 1 else ""
        lines += [prefix + str(p) for p in shown]
        if len(self.problems) > limit:
            lines.append(f"  ... and {len(self.problems) - limit} more problems")
        return "\n".join(printable(line) for line in lines)
