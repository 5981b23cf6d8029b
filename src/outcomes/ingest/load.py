"""The one public entry point from a file to clean data: :func:`load_visits`.

The path every file takes: read (:mod:`outcomes.ingest.records`) -> refuse identifiable
data (:mod:`outcomes.ingest.phi`) -> apply the data contract (:mod:`outcomes.ingest.rules`)
-> :class:`~outcomes.ingest.visits.LoadedVisits`.  Bad input raises one
:class:`~outcomes.errors.OutcomesError` listing all problems.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pandas as pd

from outcomes.ingest.phi import check_no_phi
from outcomes.ingest.records import read_records
from outcomes.ingest.rules import validate_records
from outcomes.ingest.visits import LoadedVisits
from outcomes.spec.measures import Measure

__all__ = ["load_visits"]


def load_visits(
    path_or_frame: str | os.PathLike[str] | pd.DataFrame,
    *,
    registry: Mapping[str, Measure] | None = None,
    phi_guard: bool = True,
) -> LoadedVisits:
    """Read, privacy-check and validate visit records.

    Parameters
    ----------
    path_or_frame : path or DataFrame
        CSV or Parquet file (long or wide form), or a DataFrame with the same columns.
    registry : mapping of code -> Measure, optional
        Measure registry (default: the built-in one; a plan may override it).
    phi_guard : bool, default True
        Refuse columns that look like identifiers (names, dates, record numbers ...).
        Turn off only for data already known to be de-identified.

    Returns
    -------
    LoadedVisits
        The canonical visits (``visits``) and the rows and columns left out, with their reasons
        (``exclusions``): the result of :func:`outcomes.ingest.rules.validate_records` on the table read.

    Raises
    ------
    OutcomesError
        Listing every problem found (file, rows, column, rule).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"patient_id": ["P01", "P01"], "visit_day": ["0", "3"],
    ...                       "measure": "pain_nprs", "value": ["6", ""]})
    >>> loaded = load_visits(frame)
    >>> loaded.visits[["visit_day", "value", "row"]].to_dict("records")
    [{'visit_day': 0, 'value': 6.0, 'row': 2}]
    >>> loaded.exclusions.values.tolist()
    [[3, 'value', 'value_missing', 'empty value cell: measurement not taken']]
    """
    raw = read_records(path_or_frame, registry=registry, coded=True)  # text left coded: read once
    if phi_guard:
        check_no_phi(raw.frame, source=raw.source, rows=raw.rows, codes=raw.codes)
    # the cells as read are dropped once coded (raw is not needed after)
    return validate_records(raw, registry, release=True)
