"""CSV cells that a spreadsheet would run as formulas, neutralised (OWASP "CSV injection").

Excel, LibreOffice and Google Sheets treat a cell starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return as a formula: ``=HYPERLINK("http://...")`` in an exported
identifier becomes a live link, ``=1+2`` becomes 3. Every CSV that ``outcomes`` writes
from someone else's cells (the de-identified visits, the crosswalk) goes through
:func:`neutralise_cells`, which follows the OWASP rule: such a cell is written with a
leading single quote (``'=1+2``), which spreadsheets show as text. Plain numbers
(``-3``, ``+2.5``, ``1e-3``) are left alone: a spreadsheet reads them as numbers, not
formulas, and the loader must still read them as numbers.

The escape is reversible: a cell that already starts with ``'`` gets one more, and
:func:`restore_cells` removes exactly one, so a crosswalk read back gives the identifiers
it was written from (the same patient keeps the same pseudonym).

Written by hand: the rule is a few lines, and no maintained library implements it for
pandas frames.

Examples
--------
>>> import pandas as pd
>>> f = pd.DataFrame({"mrn": ["=1+2", "-3", "@SUM(A1)", "'x", "M001"], "n": [1, 2, 3, 4, 5]})
>>> safe = neutralise_cells(f)
>>> safe["mrn"].tolist()
["'=1+2", '-3', "'@SUM(A1)", "''x", 'M001']
>>> restore_cells(safe)["mrn"].tolist() == f["mrn"].tolist()
True
"""

from __future__ import annotations

import pandas as pd

__all__ = ["FORMULA_START", "neutralise_cells", "restore_cells"]

#: First characters that make a spreadsheet evaluate a cell (OWASP), plus the escape itself.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
_TRIGGER = r"^[=+\-@\t\r']"
PLAIN_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"


def _text_columns(frame: pd.DataFrame) -> list[str]:
    return [
        c
        for c in frame.columns
        if pd.api.types.is_string_dtype(frame[c].dtype) or pd.api.types.is_object_dtype(frame[c].dtype)
    ]


def neutralise_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot run as spreadsheet formulas (see the module docstring).

    Examples
    --------
    >>> import pandas as pd
    >>> neutralise_cells(pd.DataFrame({"a": ["\\t1", "ok"]}))["a"].tolist()
    ["'\\t1", 'ok']
    """
    out = frame.copy()
    for c in _text_columns(out):
        text = out[c].astype("str")
        risky = text.str.contains(_TRIGGER, regex=True) & ~text.str.fullmatch(PLAIN_NUMBER)
        risky = risky.fillna(False).astype(bool) & out[c].notna()
        if risky.any():
            out[c] = out[c].where(~risky, "'" + text)
    return out


def restore_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralise_cells`: one leading ``'`` removed where it was added.

    Examples
    --------
    >>> import pandas as pd
    >>> restore_cells(pd.DataFrame({"a": ["'=1", "''x", "plain"]}))["a"].tolist()
    ['=1', "'x", 'plain']
    """
    out = frame.copy()
    for c in _text_columns(out):
        text = out[c].astype("str")
        escaped = text.str.match(r"^'[=+\-@\t\r']").fillna(False).astype(bool) & out[c].notna()
        if escaped.any():
            out[c] = out[c].where(~escaped, text.str.slice(1))
    return out
