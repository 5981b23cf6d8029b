"""Small-cell suppression for published tables (CMS cell-size suppression policy).

CMS hides counts from 1 to 10: only cells of ``min_cell`` (default 11, the plan's
``min_cell_size``) or more are shown.  Zero is shown (it is not a small cell
under the CMS rule).  Hidden values must not be recoverable from published
totals, so suppression has two steps:

* **primary**: a count from 1 to ``min_cell - 1`` is shown as ``"<11"``
  (``f"<{min_cell}"``);
* **complementary**: whenever a row or column whose total is published has
  exactly one hidden cell (it could be found by subtracting the others from the
  total), the smallest other cell of that line is hidden too, shown as ``"*"``
  (a value that is not small but is hidden to protect a ``"<11"`` cell; a zero is
  only chosen when no non-zero cell is left).  Totals are cells of their lines
  too: a total of 1-10 is itself ``"<11"``, and a total may be hidden as a
  complement.  This repeats, rows and columns alternately, until no published
  line has exactly one hidden cell;
* **audit**: subtraction can also combine several lines (two rows and a column
  ...).  The published lines form a linear system in the hidden cells; a hidden
  cell it determines exactly (found with the projection onto the system's row
  space) gets one more complement in its row (else its column), and the steps
  repeat until no hidden cell can be worked out.  (Bounds such as "1 to 10" are
  not used by this audit: it guarantees no *exact* recovery.)

:func:`suppress_estimates` withholds estimates (and their CIs) computed from fewer
than ``min_cell`` episodes, and hides the ``n`` of such rows when it is 1-10.

:func:`disclose_claims` is *the* disclosure step of every clinic-facing output (the
report, the terminal summary, the figures and ``results.json``): on a tidy frame of
claim results it withholds every estimate, interval, p-value and verdict computed from
fewer than ``min_cell`` episodes (for a comparison of groups: when any compared group is
that small), hides every count of 1 to ``min_cell - 1`` and says why in
``suppression_reason``.  :func:`hide_counts` applies the complementary suppression of
:func:`suppress_counts` to lines of counts whose total is published (e.g. the reasons
for exclusion and their total ``n_excluded``), returning numbers with hidden cells
missing.

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame({"condition": ["neck_pain", "tmd"], "improved": [40, 3], "not_improved": [25, 14]})
>>> suppress_counts(t, count_cols=["improved", "not_improved"], total_col="total")
   condition improved not_improved total
0  neck_pain       40           25    65
1        tmd      <11            *    17
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from outcomes.errors import OutcomesError, Problem

__all__ = [
    "COMPLEMENTARY_MARK",
    "SUPPRESSED",
    "VALUE_COLUMNS",
    "count_columns",
    "count_marks",
    "count_text",
    "disclose_claims",
    "exclusion_text",
    "hide_counts",
    "small_mark",
    "suppress_counts",
    "suppress_estimates",
]

#: Value columns holding a yes/no flag (withheld as missing booleans).
_FLAG_COLUMNS = ("sensitivity_agree", "robust_to_dropout")
#: Marker of a complementary (secondary) suppression.
COMPLEMENTARY_MARK = "*"
#: The verdict of a claim withheld because of small cells.
SUPPRESSED = "suppressed"
#: Columns withheld (set to missing) in a suppressed row, when present.
VALUE_COLUMNS: tuple[str, ...] = (
    "estimate",
    "ci_low",
    "ci_high",
    "std_err",
    "p_value",
    "p_value_not",
    "p_adjusted",
    "p_not_adjusted",
    "survival",
    "sensitivity_agree",
    "estimate_dropout_adjusted",
    "ci_low_dropout_adjusted",
    "tipping_point",
    "robust_to_dropout",
    "chi_square",
    "risk_combined",
    "risk_alone",
    "max_weight",
)
_SOURCE = "suppression"


def small_mark(min_cell: int = 11) -> str:
    """Marker of a primary suppression, ``"<11"`` for the CMS rule.

    Examples
    --------
    >>> small_mark(), small_mark(5)
    ('<11', '<5')
    """
    return f"<{int(min_cell)}"


def count_text(n: int, min_cell: int = 11) -> str:
    """A count as a clinic reader may see it: 1 to ``min_cell - 1`` become ``"<11"``.

    Examples
    --------
    >>> count_text(0), count_text(7), count_text(11)
    ('0', '<11', '11')
    """
    n = int(n)
    return small_mark(min_cell) if 0 < n < min_cell else str(n)


def exclusion_text(counts: Mapping[str, int], min_cell: int = 11, sep: str = "; ") -> str:
    """Reasons for exclusion with their counts, safe to show.

    Zero counts are left out.  If any count is small, no count is shown at all (only
    the reasons), since a small count could otherwise be recovered from a published
    total and the other counts (complementary suppression).

    Examples
    --------
    >>> exclusion_text({"no baseline": 12, "left early": 40})
    '12 no baseline; 40 left early'
    >>> exclusion_text({"no baseline": 3, "left early": 40, "other": 0})
    'no baseline; left early'
    """
    shown = {r: int(n) for r, n in counts.items() if int(n) > 0}
    if all(n >= min_cell for n in shown.values()):
        return sep.join(f"{n} {r}" for r, n in shown.items())
    return sep.join(shown)


def _check_min_cell(min_cell: int) -> int:
    # checked at run time too: the value comes from a plan file, whatever the annotation says
    value: object = min_cell
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise OutcomesError(Problem("min_cell_size", "min_cell must be a whole number >= 1", _SOURCE))
    return int(min_cell)


def _counts_matrix(table: pd.DataFrame, count_cols: Sequence[str]) -> np.ndarray:
    missing = [c for c in count_cols if c not in table.columns]
    if missing or not count_cols:
        raise OutcomesError(
            Problem(
                "counts_valid",
                f"count columns {missing or '(none)'} not in the table",
                _SOURCE,
                (),
                ", ".join(missing) or None,
            )
        )
    values = table[list(count_cols)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
    if bad.any():
        cols = sorted({count_cols[int(j)] for j in np.nonzero(bad)[1]})
        raise OutcomesError(
            Problem(
                "counts_valid", "counts must be whole numbers >= 0 (no missing values)", _SOURCE, (), ", ".join(cols)
            )
        )
    return np.asarray(values, dtype=np.int64)


def _complement(counts: np.ndarray, hidden: np.ndarray, axis: int) -> bool:
    """Hide one more cell in every line (rows: axis=1) with exactly one hidden cell.

    Candidate = smallest visible non-zero cell of the line (a visible zero only when
    nothing else is left); ties go to the first position.  Returns True if anything changed.
    """
    lines = hidden.sum(axis=axis) == 1
    if not lines.any():
        return False
    # rank visible cells: non-zero by value first, zeros after them, hidden cells never
    big = counts.max() + 1
    cost = np.where(hidden, np.inf, np.where(counts > 0, counts, big).astype(float))
    pick = np.argmin(cost, axis=axis)
    ok = lines & np.isfinite(np.min(cost, axis=axis))
    idx = np.nonzero(ok)[0]
    if axis == 1:
        hidden[idx, pick[idx]] = True
    else:
        hidden[pick[idx], idx] = True
    return bool(idx.size)


def _determined(hidden: np.ndarray, row_lines: bool, col_lines: bool) -> np.ndarray:
    """Hidden cells that the published lines pin down exactly (mask, same shape).

    Each published line says: sum of its inner cells = its total (last cell).  With
    the visible cells known, the hidden ones satisfy ``A h = b``; hidden cell k is
    determined exactly when the unit vector e_k lies in the row space of ``A``, i.e.
    when the projection onto that row space, ``pinv(A) @ A``, has 1 at (k, k).  This
    catches recoveries that combine several lines, which the one-per-line rule misses.
    """
    cells = np.flatnonzero(hidden)
    out = np.zeros(hidden.shape, dtype=bool)
    if cells.size == 0 or not (row_lines or col_lines):
        return out  # nothing hidden, or no totals published: nothing can be worked out
    n_rows, n_cols = hidden.shape
    sign = np.ones(hidden.shape)
    lines = []
    if row_lines:
        s = sign.copy()
        s[:, -1] = -1
        lines += [np.where(np.arange(hidden.size) // n_cols == i, s.ravel(), 0.0) for i in range(n_rows)]
    if col_lines:
        s = sign.copy()
        s[-1, :] = -1
        lines += [np.where(np.arange(hidden.size) % n_cols == j, s.ravel(), 0.0) for j in range(n_cols)]
    a = np.asarray(lines)[:, cells]
    proj = np.linalg.pinv(a) @ a
    out.ravel()[cells] = np.isclose(np.diag(proj), 1.0, atol=1e-8)
    return out


def _hide_smallest(counts: np.ndarray, hidden: np.ndarray, cells: np.ndarray) -> bool:
    """Hide the smallest visible cell among ``cells`` (flat indices); False if none is visible."""
    visible = cells[~hidden.ravel()[cells]]
    if visible.size == 0:
        return False
    values = counts.ravel()[visible]
    order = np.lexsort((visible, values, values == 0))  # non-zero first, then smallest, then first
    hidden.ravel()[visible[order[0]]] = True
    return True


def _suppression_masks(
    counts: np.ndarray, min_cell: int, row_lines: bool, col_lines: bool
) -> tuple[np.ndarray, np.ndarray]:
    primary = (counts >= 1) & (counts < min_cell)
    hidden = primary.copy()
    n_rows, n_cols = counts.shape
    for _ in range(hidden.size + 1):  # every pass hides >= 1 cell or stops: bounded by the cell count
        changed = row_lines and _complement(counts, hidden, axis=1)
        changed = (col_lines and _complement(counts, hidden, axis=0)) or changed
        if changed:
            continue
        exposed = np.flatnonzero(_determined(hidden, row_lines, col_lines))
        if exposed.size == 0:
            break
        i, j = divmod(int(exposed[0]), n_cols)
        row_cells = i * n_cols + np.arange(n_cols)
        col_cells = np.arange(n_rows) * n_cols + j
        lines = ([row_cells] if row_lines else []) + ([col_cells] if col_lines else [])
        if not any(_hide_smallest(counts, hidden, c) for c in lines) and not _hide_smallest(
            counts, hidden, np.arange(counts.size)
        ):
            break  # everything is hidden
    return primary, hidden & ~primary


def suppress_counts(
    table: pd.DataFrame,
    *,
    count_cols: Sequence[str],
    min_cell: int = 11,
    total_col: str | None = None,
    total_row: str | None = None,
) -> pd.DataFrame:
    """Counts as display strings with primary and complementary suppression.

    Parameters
    ----------
    table : DataFrame
        One row per category; ``count_cols`` hold whole counts >= 0.  Other columns
        (labels) are passed through.
    count_cols : sequence of str
        The count columns.
    min_cell : int, default 11
        Smallest count shown; counts 1 to ``min_cell - 1`` become ``"<min_cell"``.
    total_col : str, optional
        Add this column with row totals (published, so rows are protected against
        subtraction).  Default: no row totals.
    total_row : str, optional
        Append a row of column totals with this index label (its other columns set to
        the label too; published, so columns are protected).  Default: none.

    Returns
    -------
    DataFrame
        Same rows (plus the total row), count and total columns as strings: the count,
        ``"<11"`` (primary) or ``"*"`` (complementary).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"a": [5, 20, 30], "b": [30, 40, 50]}, index=["x", "y", "z"])
    >>> suppress_counts(t, count_cols=["a", "b"], total_col="n", total_row="all")
           a    b    n
    x    <11    *   35
    y      *    *   60
    z     30   50   80
    all   55  120  175
    """
    min_cell = _check_min_cell(min_cell)
    cols = list(count_cols)
    counts = _counts_matrix(table, cols)
    if total_col is not None:
        counts = np.column_stack([counts, counts.sum(axis=1)])
    if total_row is not None:
        counts = np.vstack([counts, counts.sum(axis=0)])
    primary, secondary = _suppression_masks(
        counts, min_cell, row_lines=total_col is not None, col_lines=total_row is not None
    )
    shown = counts.astype(str).astype(object)
    shown[primary] = small_mark(min_cell)
    shown[secondary] = COMPLEMENTARY_MARK

    out = table.copy()
    if total_row is not None:
        filler = pd.DataFrame({c: [total_row] for c in out.columns if c not in cols}, index=[total_row])
        out = pd.concat([out.astype(dict.fromkeys(filler.columns, "object")), filler])
    out_cols = cols + ([total_col] if total_col is not None else [])
    for j, c in enumerate(out_cols):
        out[c] = pd.Series(shown[:, j], index=out.index, dtype="str")
    return out


def suppress_estimates(
    frame: pd.DataFrame, *, n_col: str = "n", min_cell: int = 11, cols: Sequence[str] | None = None
) -> pd.DataFrame:
    """Withhold estimates computed from fewer than ``min_cell`` episodes.

    Parameters
    ----------
    frame : DataFrame
        Tidy results, one row per estimate, with a count column ``n_col``.
    n_col : str, default "n"
        Number of episodes behind each row.
    min_cell : int, default 11
        Rows with ``n < min_cell`` are suppressed.
    cols : sequence of str, optional
        Columns to blank (set to missing).  Default: those of ``estimate``,
        ``ci_low``, ``ci_high`` present.

    Returns
    -------
    DataFrame
        A copy with ``cols`` missing in suppressed rows, ``n`` missing (``Int64``) where
        it was 1 to ``min_cell - 1`` (a small cell itself; zero stays), and a boolean
        column ``suppressed``.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"group": ["a", "b"], "n": [40, 6], "estimate": [0.6, 0.5],
    ...                   "ci_low": [0.45, 0.2], "ci_high": [0.73, 0.8]})
    >>> suppress_estimates(r)
      group     n  estimate  ci_low  ci_high  suppressed
    0     a    40       0.6    0.45     0.73       False
    1     b  <NA>       NaN     NaN      NaN        True
    """
    min_cell = _check_min_cell(min_cell)
    if cols is None:
        cols = [c for c in ("estimate", "ci_low", "ci_high") if c in frame.columns]
    missing = [c for c in (n_col, *cols) if c not in frame.columns]
    if missing:
        raise OutcomesError(
            Problem("counts_valid", f"column(s) {missing} not in the table", _SOURCE, (), ", ".join(missing))
        )
    n = _counts_matrix(frame, [n_col])[:, 0]
    small = n < min_cell
    out = frame.copy()
    for c in cols:
        out[c] = out[c].where(~small)
    out[n_col] = pd.array(n, dtype="Int64")
    out[n_col] = out[n_col].mask((n >= 1) & small)
    out["suppressed"] = small
    return out


def count_columns(frame: pd.DataFrame) -> list[str]:
    """The count columns of a result frame: numeric columns named ``n``, ``n_*`` or ``successes``.

    The naming convention of every result frame of ``outcomes`` (``n``, ``n_excluded``,
    ``n_events``, ``n_risk`` ...); text columns such as ``n_shown`` are not counts.

    Examples
    --------
    >>> import pandas as pd
    >>> count_columns(pd.DataFrame({"n": [1], "n_shown": ["1"], "successes": [1.0], "k": [3]}))
    ['n', 'successes']
    """
    return [
        c
        for c in frame.columns
        if (c == "n" or c.startswith("n_") or c == "successes") and pd.api.types.is_numeric_dtype(frame[c])
    ]


def _counts_or_zero(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").fillna(0).to_numpy(dtype=float)


def disclose_claims(
    frame: pd.DataFrame,
    min_cell: int = 11,
    *,
    n_col: str = "n",
    groups: pd.DataFrame | None = None,
    suppressed_ids: Sequence[str] = (),
) -> pd.DataFrame:
    """Claim results as a clinic may see them: small cells withheld, the reason stated.

    Rules (CMS cell-size rule with ``min_cell`` = the plan's ``min_cell_size``):

    * a row is **suppressed** when its ``n_col`` (episodes behind it) is 1 to
      ``min_cell - 1``;
    * a **claim** (every row of its ``id``) is suppressed when its primary row is (frames
      with a ``primary`` column; otherwise rows are suppressed one by one), when one of its
      compared ``groups`` has 1 to ``min_cell - 1`` episodes (a two-arm comparison such
      as twitch vs no twitch: either arm), or when its id is in ``suppressed_ids`` (rows
      of another frame belonging to a suppressed claim);
    * in a suppressed row the :data:`VALUE_COLUMNS` present are set to missing and a verdict
      becomes ``"suppressed"`` (its sentence, :mod:`outcomes.report.sentences`, then says only
      that too few episodes were available);
    * in every row, each count (:func:`count_columns`) of 1 to ``min_cell - 1`` is
      missing (``Int64``).  Zero is shown (not a small cell).

    Parameters
    ----------
    frame : DataFrame
        Tidy results with an ``id`` column and the count column ``n_col``.
    min_cell : int, default 11
        Smallest number of episodes shown.
    n_col : str, default "n"
        Episodes behind each row.
    groups : DataFrame, optional
        ``id``, ``group``, ``n``: sizes of the groups a claim compares.
    suppressed_ids : sequence of str
        Claims already suppressed elsewhere.

    Returns
    -------
    DataFrame
        A copy with the rules applied plus ``suppressed`` (bool), ``suppression_reason``
        (text, missing when shown) and ``n_text`` (``n_col`` as shown: the count,
        ``"<11"``, or empty when missing).

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"id": ["pain", "rom", "twitch"], "n": [40, 6, 30], "n_excluded": [3, 0, 12],
    ...                   "estimate": [0.6, 1.0, 0.8], "verdict": ["supported"] * 3})
    >>> arms = pd.DataFrame({"id": ["twitch", "twitch"], "group": ["twitch", "no_twitch"], "n": [25, 5]})
    >>> out = disclose_claims(r, groups=arms)
    >>> out[["id", "n_text", "n_excluded", "estimate", "verdict", "suppressed"]]
           id n_text  n_excluded  estimate     verdict  suppressed
    0    pain     40        <NA>       0.6   supported       False
    1     rom    <11           0       NaN  suppressed        True
    2  twitch     30          12       NaN  suppressed        True
    >>> out["suppression_reason"].tolist()[1:]
    ['fewer than 11 episodes', 'a compared group has fewer than 11 episodes']
    """
    min_cell = _check_min_cell(min_cell)
    missing = [c for c in ("id", n_col) if c not in frame.columns]
    if missing:
        raise OutcomesError(
            Problem("counts_valid", f"column(s) {missing} not in the table", _SOURCE, (), ", ".join(missing))
        )
    out = frame.copy()
    ids = out["id"].astype("str")
    n = _counts_or_zero(out[n_col])
    own = (n >= 1) & (n < min_cell)
    # Frames without a ``primary`` column hold one row per claim (or rows of claims decided elsewhere).
    primary = out["primary"].to_numpy(dtype=bool) if "primary" in out.columns else np.zeros(len(out), dtype=bool)
    small_claims = set(ids[own & primary])
    small_groups: set[str] = set()
    if groups is not None and len(groups):
        sizes = _counts_or_zero(groups["n"])
        # an empty group is no small cell: a comparison with one cannot be made (the claim is not testable)
        small_groups = set(groups["id"].astype("str")[(sizes >= 1) & (sizes < min_cell)])
    claim_level = ids.isin(small_claims | small_groups | set(suppressed_ids)).to_numpy()
    suppressed = own | claim_level
    reason = np.where(
        own | ids.isin(small_claims).to_numpy(),
        f"fewer than {min_cell} episodes",
        np.where(
            ids.isin(small_groups).to_numpy(),
            f"a compared group has fewer than {min_cell} episodes",
            f"its claim has fewer than {min_cell} episodes",
        ),
    )
    for c in VALUE_COLUMNS:
        if c in out.columns:
            out[c] = out[c].astype("boolean" if c in _FLAG_COLUMNS else "float64").mask(suppressed)
    if "verdict" in out.columns:
        out["verdict"] = out["verdict"].astype("str").mask(suppressed & out["verdict"].notna().to_numpy(), SUPPRESSED)
    n_text = pd.Series([count_text(v, min_cell) for v in n], index=out.index, dtype="str")
    out["n_text"] = n_text.mask(out[n_col].isna().to_numpy(), "")
    for c in count_columns(out):
        values = pd.to_numeric(out[c], errors="coerce").astype("Float64")
        small = ((values >= 1) & (values < min_cell)).fillna(False).to_numpy(dtype=bool)
        out[c] = values.round().astype("Int64")
        out[c] = out[c].mask(small)
    out["suppressed"] = suppressed
    out["suppression_reason"] = pd.Series(reason, index=out.index, dtype="str").mask(~suppressed)
    return out


def hide_counts(table: pd.DataFrame, *, count_cols: Sequence[str], total_col: str, min_cell: int = 11) -> pd.DataFrame:
    """Counts of lines whose total is published, with primary and complementary cells missing.

    :func:`suppress_counts` with a row total, returned as numbers: every hidden cell
    (``"<11"`` or ``"*"``) is missing (``Int64``), the total included.  Use it where a
    published total and the other cells of its line would reveal a hidden count (the
    reasons for exclusion of a claim and its ``n_excluded``).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"no_baseline": [7, 40], "unreachable": [30, 0]}, index=["pain", "rom"])
    >>> hide_counts(t, count_cols=["no_baseline", "unreachable"], total_col="n_excluded")
          no_baseline  unreachable  n_excluded
    pain         <NA>         <NA>          37
    rom            40            0          40
    """
    shown = suppress_counts(table, count_cols=count_cols, min_cell=min_cell, total_col=total_col)
    cols = [*count_cols, total_col]
    out = shown[cols].apply(pd.to_numeric, errors="coerce").astype("Int64")
    joined: pd.DataFrame = pd.concat([table.drop(columns=cols, errors="ignore"), out], axis=1)
    return joined


def count_marks(raw: pd.Series, shown: pd.Series, min_cell: int = 11) -> pd.Series:
    """Counts as display text, from the true counts and the published ones (missing = hidden).

    A published count is shown; a hidden one is ``"<11"`` when it is itself small, else
    ``"*"`` (hidden to protect a small cell).

    Examples
    --------
    >>> import pandas as pd
    >>> count_marks(pd.Series([40, 7, 30, 0]), pd.Series([40, None, None, 0], dtype="Int64")).tolist()
    ['40', '<11', '*', '0']
    """
    values = pd.to_numeric(raw, errors="coerce").fillna(0).astype("int64")
    text = pd.Series([count_text(v, min_cell) for v in values], index=raw.index, dtype="str")
    hidden = pd.Series(shown, index=raw.index).isna().to_numpy() & ~((values >= 1) & (values < min_cell)).to_numpy()
    return text.mask(hidden, COMPLEMENTARY_MARK)
