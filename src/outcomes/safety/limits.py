"""Stated limits on every input: the largest file, table, plan and computation ``outcomes`` accepts.

A clinic's export, a plan or a command line can ask for unbounded work (a 50-million-row
Parquet file of 1 MB, ``/dev/zero``, a YAML alias bomb, ``n_boot: 1000000000``). Each
such input is refused *before* the work starts, with exit 1 and a message naming the limit
and how to raise it. The defaults fit a registry of a million episodes on a 24 GiB
machine (``docs/scaling.md``); ``docs/security.md`` lists them.

Every limit can be raised (or lowered) with an environment variable
``OUTCOMES_<NAME>`` (e.g. ``OUTCOMES_MAX_ROWS=40000000``), read when
:func:`current_limits` is called, so a notebook, the CLI and a test see the same rule.

Examples
--------
>>> limits = current_limits()
>>> limits.max_rows
20000000
>>> import os
>>> os.environ["OUTCOMES_MAX_ROWS"] = "1000"
>>> current_limits().max_rows
1000
>>> del os.environ["OUTCOMES_MAX_ROWS"]
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from outcomes.errors import OutcomesError, Problem

__all__ = ["ENV_PREFIX", "Limits", "current_limits", "limit_problem"]

#: Prefix of the environment variables that override a limit.
ENV_PREFIX = "OUTCOMES_"


@dataclass(frozen=True)
class Limits:
    """Upper bounds on inputs and work (defaults in brackets).

    Attributes
    ----------
    max_file_bytes : int
        Largest data file read [8 GiB]; a 1M-episode CSV is about 0.9 GB.
    max_rows : int
        Most records in a data file (after the wide form is melted) [20,000,000; 1M episodes
        of the benchmark are 16.1M rows].
    max_columns : int
        Most columns in a data file [1,000].
    max_line_bytes : int
        Longest line of a CSV file [1,000,000].
    max_uncompressed_bytes : int
        Largest uncompressed size of a Parquet file, from its metadata [16 GiB].
    max_plan_bytes : int
        Largest plan or mapping YAML file [1 MiB].
    max_yaml_aliases : int
        Most YAML aliases (``*name``) in a plan or mapping [50].
    max_yaml_nodes : int
        Most values in a plan or mapping once aliases are expanded [100,000].
    max_n_boot : int
        Most bootstrap resamples a plan may ask for [100,000].
    max_visit_day : int
        Largest ``visit_day`` (days since the episode's first visit) [36,525: 100 years].
    max_visit_number : int
        Largest ``visit_number`` [10,000].
    max_synth_episodes : int
        Most episodes ``outcomes synth`` generates [5,000,000].
    max_name_chars : int
        Longest file name (one path component) accepted for an output [255].
    """

    max_file_bytes: int = 8 * 1024**3
    max_rows: int = 20_000_000
    max_columns: int = 1_000
    max_line_bytes: int = 1_000_000
    max_uncompressed_bytes: int = 16 * 1024**3
    max_plan_bytes: int = 1024**2
    max_yaml_aliases: int = 50
    max_yaml_nodes: int = 100_000
    max_n_boot: int = 100_000
    max_visit_day: int = 36_525
    max_visit_number: int = 10_000
    max_synth_episodes: int = 5_000_000
    max_name_chars: int = 255

    @staticmethod
    def env_name(name: str) -> str:
        """The environment variable that overrides limit ``name``.

        Examples
        --------
        >>> Limits.env_name("max_rows")
        'OUTCOMES_MAX_ROWS'
        """
        return ENV_PREFIX + name.upper()


def current_limits() -> Limits:
    """The limits in force: the defaults, each overridden by its ``OUTCOMES_<NAME>`` variable.

    Raises
    ------
    OutcomesError
        When a variable is not a whole number >= 1 (rule ``limit_setting``).

    Examples
    --------
    >>> current_limits() == Limits()
    True
    """
    values: dict[str, int] = {}
    problems: list[Problem] = []
    for f in fields(Limits):
        var = Limits.env_name(f.name)
        text = os.environ.get(var)
        if text is None:
            continue
        try:
            value = int(text.strip().replace("_", ""))
        except ValueError:
            value = 0
        if value < 1:
            problems.append(Problem("limit_setting", f"{var} must be a whole number >= 1", "environment"))
        else:
            values[f.name] = value
    if problems:
        raise OutcomesError(problems)
    return Limits(**values)


def limit_problem(name: str, what: str, source: str, rows: tuple[int, ...] = (), column: str | None = None) -> Problem:
    """A refusal for exceeding limit ``name``: says the limit, and how to raise it.

    Parameters
    ----------
    name : str
        Field of :class:`Limits`.
    what : str
        What was found, e.g. ``"the file has 25,000,000 rows"`` (never a cell value).
    source, rows, column
        As in :class:`~outcomes.errors.Problem`.

    Examples
    --------
    >>> print(limit_problem("max_rows", "the file has 30 rows", "v.csv"))  # doctest: +NORMALIZE_WHITESPACE
    v.csv: [limit_max_rows] the file has 30 rows; the limit is 20,000,000
    (raise it with the environment variable OUTCOMES_MAX_ROWS)
    """
    limit = getattr(current_limits(), name)
    return Problem(
        f"limit_{name}",
        f"{what}; the limit is {limit:,} (raise it with the environment variable {Limits.env_name(name)})",
        source,
        rows,
        column,
    )
