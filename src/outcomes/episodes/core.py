"""Per-episode summaries: baseline, change at every visit, and when the rule is first met.

Everything here is vectorised over all episodes (integer key codes, one sort, numpy
reductions; the only Python loop is over the handful of distinct measure codes).

Definitions
-----------
baseline
    The measure's value at visit 1.  An episode without it is kept in the output with
    ``status = "no_baseline"`` and excluded from the claim, with that reason.
gain
    Change in the measure's *good* direction: ``direction * (value - baseline)``, so a
    pain drop of 3 points is a gain of +3 and a ROM increase of 10 degrees is +10.
improved
    The measure's registered rule (:meth:`outcomes.spec.measures.Measure.improvement`),
    e.g. pain: gain >= 2 points and >= 30% of baseline.
unreachable
    Baseline from which the rule cannot be met (pain 1 cannot fall by 2 points):
    ``status = "threshold_unreachable"``, reported apart, never counted as failure.
follow-up and censoring
    ``followup`` is the last visit of the unbroken run of visits 1, 2, 3 ... at which
    the measure was taken.  After a missed measurement the visit of first improvement
    is only known to lie in an interval, so follow-up is censored there (a gap treated
    as "not improved" would bias the Kaplan-Meier estimate downwards).  ``time`` is
    the first improved visit when it lies within follow-up (``event = True``), else
    ``followup`` (``event = False``, censored).
improvement event
    ``"once"``: the rule met at one visit.  ``"sustained"``: the rule met at a visit and
    still met at the next visit at which the measure was taken; the event's visit is the
    first of the two.  A sustained improvement at visit j is seen only with the measurement
    at j + 1, so for every episode its follow-up ends one visit before ``followup``.
    Censoring only the episodes that met the rule at their last visit (whose status there
    is unknown) would remove likely improvers from the risk set: outcome-dependent censoring,
    which biased the estimate downwards in simulation (docs/calibration.md).
sided measures
    If an episode has a sided measure on both sides, the side with the worse baseline
    (the affected side) is analysed; ties go to the left side.

Examples
--------
>>> import pandas as pd
>>> v = pd.DataFrame({"episode_id": ["E1"] * 3 + ["E2"] * 2, "patient_id": ["P1"] * 3 + ["P2"] * 2,
...                   "visit_number": [1, 2, 3, 1, 2], "measure": "pain_nprs", "side": "none",
...                   "value": [6.0, 5.0, 3.0, 1.0, 0.0]})
>>> s = summarize_episodes(v)
>>> s[["episode_id", "baseline", "status", "event", "time"]]
  episode_id  baseline                 status  event  time
0         E1       6.0               included   True     3
1         E2       1.0  threshold_unreachable  False     2
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.extensions import ExtensionArray

from outcomes.ingest.coded import int_type
from outcomes.spec.measures import REGISTRY, Measure
from outcomes.spec.plan_schema import IMPROVEMENT_EVENTS, ImprovementEvent

__all__ = ["EPISODE_ATTRIBUTES", "EpisodeCore", "change_at_visit", "measure_changes", "summarize_episodes"]

#: Episode-level columns carried into the summaries when the data has them.
EPISODE_ATTRIBUTES: tuple[str, ...] = ("patient_id", "condition", "age_band", "sex", "discharge_reason")
_KEY = ["episode_id", "measure", "side"]
#: Frames with at least this many rows have their key columns coded in parallel threads.
_PARALLEL_ROWS = 200_000


def _registry(registry: Mapping[str, Measure] | None) -> Mapping[str, Measure]:
    return REGISTRY if registry is None else registry


def _arrow(column: pd.Series) -> pa.Array | None:
    """The Arrow data of a string column without missing values (no copy for one chunk), else None."""
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        arr = pa.array(column.array)
        if isinstance(arr, pa.ChunkedArray):  # several chunks (e.g. after a concat): one array
            arr = arr.combine_chunks()
        if arr.null_count == 0:
            return arr
    return None


def _small_codes(column: pd.Series) -> tuple[np.ndarray, ExtensionArray]:
    """Codes of a column with few distinct values, ordered like the sorted values, and those values.

    Performance: Arrow's dictionary encoding gives compact int32 codes; only the handful of
    distinct values is sorted (``pd.factorize(sort=True)`` also converts and remaps every code).
    """
    arr = _arrow(column)
    if arr is None:
        codes, uniq = pd.factorize(column, sort=True, use_na_sentinel=False)
        return codes.astype(int_type(len(uniq)), copy=False), pd.Index(uniq).array
    enc = pc.dictionary_encode(arr)
    values = enc.dictionary.to_pylist()
    order = sorted(range(len(values)), key=values.__getitem__)
    rank = np.empty(len(values), dtype=int_type(len(values)))
    rank[order] = np.arange(len(values))
    # pandas-stubs: pd.array's overloads list dtype spellings, not the dtype object a Series has
    return rank[np.asarray(enc.indices)], pd.array([values[i] for i in order], dtype=column.dtype)  # type: ignore[arg-type]


def _episode_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray | None]:
    """Codes of the episode ids, ordered like the sorted ids, and the first row of each id when sorted.

    Performance: the canonical frame (``load_visits``) is sorted by ``episode_id``.  For a
    sorted Arrow string column the codes follow from the positions where neighbours differ:
    two vectorised comparisons instead of hashing and sorting every id
    (``pd.factorize(sort=True)``, about 10x slower on 16M rows).
    """
    n = len(column)
    arr = _arrow(column) if n > 1 else None
    if arr is not None and pc.all(pc.less_equal(arr[:-1], arr[1:])).as_py():
        starts = np.flatnonzero(np.asarray(pc.not_equal(arr[1:], arr[:-1]))) + 1
    else:
        codes, uniq = pd.factorize(column, sort=True, use_na_sentinel=False)
        codes = codes.astype(int_type(len(uniq)), copy=False)
        if not np.all(codes[1:] >= codes[:-1]):
            return codes, None
        starts = np.flatnonzero(codes[1:] != codes[:-1]) + 1
    starts = np.concatenate([np.zeros(min(n, 1), dtype=np.int64), starts])
    lengths = np.diff(starts, append=n)
    return np.repeat(np.arange(len(starts), dtype=int_type(len(starts))), lengths), starts


@dataclass(frozen=True)
class _Codes:
    """Integer codes of the key columns, one per row of the visits frame.

    Codes order like the sorted strings, so sorting by them equals a stable string sort.
    """

    ep: np.ndarray
    m: np.ndarray
    side: np.ndarray
    vn: np.ndarray
    measures: list[str]  # measure code (string) of each measure code number
    measure_values: ExtensionArray  # the same, in the dtype of the visits' column
    side_values: ExtensionArray
    n_ep: int
    ep_first: np.ndarray | None  # first row of each episode when the rows are sorted by episode
    canonical: bool  # rows sorted by episode, then visit number (as load_visits gives them)

    @classmethod
    def of(cls, visits: pd.DataFrame) -> _Codes:
        columns = visits["episode_id"], visits["measure"], visits["side"]
        if len(visits) < _PARALLEL_ROWS:
            (ep, ep_first), (m, m_values), (side, side_values) = (
                _episode_codes(columns[0]),
                _small_codes(columns[1]),
                _small_codes(columns[2]),
            )
        else:
            # Performance: Arrow's comparisons and dictionary encoding release the GIL, so the
            # three key columns are coded in parallel threads (about half the wall time on 2 cores).
            with ThreadPoolExecutor(max_workers=3) as pool:
                ep_job = pool.submit(_episode_codes, columns[0])
                m_job, side_job = (pool.submit(_small_codes, c) for c in columns[1:])
                (ep, ep_first), (m, m_values), (side, side_values) = ep_job.result(), m_job.result(), side_job.result()
        vn = visits["visit_number"].to_numpy(dtype=np.int64)
        n_ep = len(ep_first) if ep_first is not None else (int(ep.max()) + 1 if len(ep) else 0)
        canonical = ep_first is not None and bool(np.all((vn[1:] >= vn[:-1]) | (ep[1:] != ep[:-1])))
        return cls(ep, m, side, vn, list(m_values), m_values, side_values, n_ep, ep_first, canonical)

    def directions(self, registry: Mapping[str, Measure]) -> np.ndarray:
        """Good direction (+1 / -1) of each measure code number (NaN: not registered)."""
        return np.array([registry[c].direction if c in registry else np.nan for c in self.measures], dtype=float)

    @property
    def n_side(self) -> int:
        return max(len(self.side_values), 1)

    def rows(self, measures: Sequence[str] | None) -> np.ndarray | None:
        """Positions of the rows of these measure codes (None: all rows)."""
        if measures is None:
            return None
        wanted = np.isin(np.array(self.measures, dtype=object), list(measures))
        return np.flatnonzero(wanted[self.m]) if len(self.m) else np.zeros(0, dtype=np.int64)

    def first_row(self) -> np.ndarray:
        """The first row of each episode."""
        if self.ep_first is not None:
            return self.ep_first
        first = np.full(self.n_ep, len(self.ep), dtype=np.int64)
        np.minimum.at(first, self.ep, np.arange(len(self.ep)))
        return first

    def last_visit(self) -> np.ndarray:
        """The last visit number of each episode, over all its measures."""
        # canonical: visit numbers ascend within each episode (and ep_first is known: said for the type checker)
        if self.canonical and self.ep_first is not None:
            last_rows: np.ndarray = self.vn[np.append(self.ep_first[1:], len(self.vn)) - 1]
            return last_rows
        last = np.full(self.n_ep, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(last, self.ep, self.vn)
        return last


def _take(values: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    return values if rows is None else values[rows]


def measure_changes(
    visits: pd.DataFrame,
    registry: Mapping[str, Measure] | None = None,
    *,
    measures: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Every measurement with its episode's baseline, change and whether the rule is met.

    Parameters
    ----------
    visits : DataFrame
        Canonical visits (``LoadedVisits.visits``): at least ``episode_id``,
        ``visit_number``, ``measure``, ``side``, ``value``.
    registry : mapping, optional
        Measure registry (a plan's ``registry``); default the built-in one.
    measures : sequence of str, optional
        Restrict to these measure codes.

    Returns
    -------
    DataFrame
        One row per measurement of an episode that has a baseline: the key columns,
        ``visit_number``, ``value``, ``baseline``, ``change`` (value - baseline),
        ``pct_change`` (100 * change / baseline; NaN for a zero baseline), ``gain``
        (change in the good direction) and ``improved`` (rule met at this visit).

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({"episode_id": "E1", "visit_number": [1, 2], "measure": "pain_nprs",
    ...                   "side": "none", "value": [5.0, 3.0]})
    >>> measure_changes(v)[["visit_number", "change", "pct_change", "gain", "improved"]]
       visit_number  change  pct_change  gain  improved
    0             1     0.0         0.0   0.0     False
    1             2    -2.0       -40.0   2.0      True
    """
    reg = _registry(registry)
    codes = _Codes.of(visits)
    rows = codes.rows(measures)
    ep, m, side, vn = (_take(a, rows).astype(np.int64) for a in (codes.ep, codes.m, codes.side, codes.vn))
    gid = (ep * max(len(codes.measures), 1) + m) * codes.n_side + side
    order = _stable_order(gid, vn)  # same order as sort_values([*_KEY, "visit_number"], kind="stable")
    g, vn = gid[order], vn[order]
    if rows is not None:
        order = rows[order]
    value = visits["value"].to_numpy(dtype=float)[order]
    start = _first_of_each(g)
    group = np.cumsum(start) - 1  # 0-based index of the key, per sorted row
    first = np.flatnonzero(start)
    has_base = vn[first] == 1  # visit 1, if present, sorts first within its key
    _check_one_baseline(start, vn)
    keep = has_base[group]
    out = visits.take(order[keep]).reset_index(drop=True)
    base = value[first][group[keep]]
    out["baseline"] = base
    change = value[keep] - base
    out["change"] = change
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * change / base
    out["pct_change"] = np.where(base == 0, np.nan, pct)
    m_rows = codes.m[order[keep]]
    out["gain"] = codes.directions(reg)[m_rows] * change + 0.0  # + 0.0 turns -0.0 into 0.0
    improved = np.zeros(len(out), dtype=bool)
    for i in np.unique(m_rows):  # loop over the distinct measure codes
        mask = m_rows == i
        improved[mask] = reg[codes.measures[i]].improvement(base[mask], out["value"].to_numpy()[mask])
    out["improved"] = improved
    return out


def _stable_order(gid: np.ndarray, vn: np.ndarray) -> np.ndarray:
    """Stable order by (gid, vn).

    Performance: one int64 key sorted with timsort (numpy's stable sort), which is close to
    linear on the canonical row order, where most rows are already in key order; the
    two-key ``np.lexsort`` when the combined key could overflow.
    """
    if len(gid) == 0:
        return np.zeros(0, dtype=np.int64)
    lo, span = vn.min(), int(vn.max()) - int(vn.min()) + 1
    if (int(gid.max()) + 1) * span >= 2**62 or gid.min() < 0:
        return np.lexsort((vn, gid))
    return np.argsort(gid * span + (vn - lo), kind="stable")


def _check_one_baseline(start: np.ndarray, vn: np.ndarray) -> None:
    again = ~start & (vn == 1)
    again[1:] &= vn[:-1] == 1
    if again.any():
        # Validated visits (load_visits) never have this: duplicates are removed or refused there.
        raise ValueError(
            "more than one visit-1 measurement for an episode, measure and side; "
            "load the data with outcomes.load_visits, which resolves duplicates"
        )


class EpisodeCore:
    """:func:`summarize_episodes` as integer and float arrays, before any string column is built.

    Internal: shared with :mod:`outcomes.claims.improvement`, which computes its count tables from it
    without building the summary frame.

    Rows (``vn``, ``value``) are the measurements of the chosen measures sorted by measure,
    side, episode and visit number, so every measure is one slice of rows
    (``row_bounds[i]:row_bounds[i + 1]``).  Keys are the (episode, measure, side) triples
    in that order, key ``j`` being rows ``key_row[j]:key_row[j] + lengths[j]``, and every
    measure one slice of keys (``key_bounds``).  Per-key arrays (``baseline``,
    ``followup``, ``first_improved``, ...) are indexed by key; ``sel`` lists the keys of
    the summary (one side per episode and measure, see the private ``_one_side``) in its row
    order (measure, episode), so ``baseline[sel]`` is the summary's ``baseline`` column.

    Performance: one stable sort of small integer codes replaces string groupbys, merges
    and sorts; per-key reductions are ``ufunc.reduceat`` over the sorted rows, and
    per-measure work takes slices instead of boolean masks over all rows.
    """

    def __init__(
        self,
        visits: pd.DataFrame,
        registry: Mapping[str, Measure] | None = None,
        measures: Sequence[str] | None = None,
        event: ImprovementEvent = "once",
    ) -> None:
        if event not in IMPROVEMENT_EVENTS:
            raise ValueError(f"event must be one of {IMPROVEMENT_EVENTS}")
        self.improvement_event: ImprovementEvent = event
        reg = _registry(registry)
        codes = _Codes.of(visits)
        self.visits, self.codes = visits, codes
        n_side, n_m = codes.n_side, len(codes.measures)
        pos, ms_bounds = self._row_order(codes, measures)
        # Only three gathers of whole rows (memory traffic dominates at 16M rows); the
        # (measure, side) of a sorted row follows from its block, ms_bounds.
        ep, self.vn = codes.ep[pos], codes.vn[pos]
        self.value = visits["value"].to_numpy(dtype=float)[pos]
        del pos
        start = _first_of_each(ep)
        start[ms_bounds[ms_bounds < len(ep)]] = True
        _check_one_baseline(start, self.vn)
        self.key_row = key_row = np.flatnonzero(start)  # first sorted row of every key
        self.lengths = np.diff(key_row, append=len(start))  # rows of every key
        del start
        self.key_ep = ep[key_row]
        del ep
        key_ms = np.searchsorted(ms_bounds, key_row, side="right") - 1
        self.key_m, self.key_side = key_ms // n_side, key_ms % n_side
        self.row_bounds = ms_bounds[::n_side]  # rows of measure i: row_bounds[i:i + 2]
        self.key_bounds = np.searchsorted(self.key_m, np.arange(n_m + 1))
        self.has_base = has_base = self.vn[key_row] == 1  # visit 1, if present, sorts first within its key
        self.baseline = np.where(has_base, self.value[key_row], np.nan)
        self.followup = self._followup(key_row, self.lengths, self.vn, has_base)
        self.rules = {
            i: reg[code] for i, code in enumerate(codes.measures) if self.row_bounds[i + 1] > self.row_bounds[i]
        }
        self.first_improved = self.first_improved_by(self.rules)
        self.reachable = self.reachable_by(self.rules)
        self.event, self.time = self.event_time(self.first_improved, self.reachable)
        pair = self.key_m * np.int64(codes.n_ep) + self.key_ep
        self.sel = _one_side(pair, codes.directions(reg)[self.key_m], self.baseline)
        self.last_visit = codes.last_visit()[self.key_ep]

    @staticmethod
    def _row_order(codes: _Codes, measures: Sequence[str] | None) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the rows sorted by (measure, side, episode, visit number), stable.

        Also the bounds of each (measure, side) block: block ``j = measure * n_side + side``
        is ``bounds[j]:bounds[j + 1]`` (empty for the measures not asked for).
        """
        n_side = codes.n_side
        n_ms = max(len(codes.measures), 1) * n_side
        dtype = int_type(n_ms)
        ms = codes.m.astype(dtype) * dtype(n_side) + codes.side.astype(dtype)
        if codes.canonical:
            # Rows are in (episode, visit) order already: a stable sort by the few (measure, side)
            # codes keeps that order within each; int16 codes let numpy use a radix sort.
            order = np.argsort(ms, kind="stable")
        else:
            order = np.lexsort((codes.vn, codes.ep, ms))
        sizes = np.bincount(ms, minlength=n_ms)
        del ms
        if measures is not None:
            # The rows of a measure are one slice of the sorted order: drop the others by slices,
            # not by a mask over all rows before sorting.
            keep = np.zeros(n_ms, dtype=bool)
            keep[: len(codes.measures) * n_side] = np.repeat(
                np.isin(np.array(codes.measures, dtype=object), list(measures)), n_side
            )
            if not keep.all():
                bounds = np.concatenate([[0], np.cumsum(sizes)])
                order = np.concatenate([order[:0], *(order[bounds[j] : bounds[j + 1]] for j in np.flatnonzero(keep))])
                sizes = np.where(keep, sizes, 0)
        return order, np.concatenate([[0], np.cumsum(sizes)])

    @staticmethod
    def _followup(key_row: np.ndarray, lengths: np.ndarray, vn: np.ndarray, has_base: np.ndarray) -> np.ndarray:
        # Visit numbers v_1 < v_2 < ... of one key form an unbroken run from visit 1
        # exactly while v_i == i, so the run ends at max{v_i : v_i == i} (0: no baseline).
        # The rank of row r within its key is r - key_row + 1.
        if len(vn) == 0:
            return np.zeros(len(key_row), dtype=np.int64)
        in_run = (vn - np.arange(len(vn))) == np.repeat(1 - key_row, lengths)
        in_run &= np.repeat(has_base, lengths)
        return np.maximum.reduceat(np.where(in_run, vn, 0), key_row)

    def key_of(self, rows: np.ndarray) -> np.ndarray:
        """The key of each of these sorted rows."""
        return np.searchsorted(self.key_row, rows, side="right") - 1

    def first_improved_by(self, rules: Mapping[int, Measure], event: ImprovementEvent | None = None) -> np.ndarray:
        """First visit of the improvement ``event`` (default the core's) for the rules of ``rules``, per key.

        ``inf``: never.  For ``"sustained"`` the visit is the first of two consecutive measurements
        that both meet the rule.
        """
        event = self.improvement_event if event is None else event
        first = np.full(len(self.key_row), np.inf)
        for i, rule in rules.items():  # loop over the distinct measure codes
            lo, hi = self.row_bounds[i], self.row_bounds[i + 1]
            k_lo, k_hi = self.key_bounds[i], self.key_bounds[i + 1]
            if hi == lo:
                continue
            baseline = np.repeat(self.baseline[k_lo:k_hi], self.lengths[k_lo:k_hi])
            improved = np.asarray(rule.improvement(baseline, self.value[lo:hi]), dtype=bool)
            if event == "sustained":
                # met here and at the key's next measurement (the next row, unless this is its last)
                nxt = np.append(improved[1:], False)
                nxt[self.key_row[k_lo:k_hi] + self.lengths[k_lo:k_hi] - 1 - lo] = False
                improved = improved & nxt
            first[k_lo:k_hi] = np.minimum.reduceat(
                np.where(improved, self.vn[lo:hi], np.inf), self.key_row[k_lo:k_hi] - lo
            )
        return first

    def reachable_by(self, rules: Mapping[int, Measure]) -> np.ndarray:
        """Whether the rule of each measure code in ``rules`` can be met from the baseline, per key."""
        reachable = np.zeros(len(self.key_row), dtype=bool)
        for i, rule in rules.items():
            lo, hi = self.key_bounds[i], self.key_bounds[i + 1]
            has_base = self.has_base[lo:hi]
            reachable[lo:hi][has_base] = rule.reachable(self.baseline[lo:hi][has_base])
        return reachable

    def event_time(
        self, first_improved: np.ndarray, reachable: np.ndarray, event: ImprovementEvent | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``event`` and ``time`` per key from the first improved visit and reachability.

        For a sustained event (default: the core's) the follow-up ends one visit before
        ``followup`` (module docstring), at visit 1 at the earliest.
        """
        kind = self.improvement_event if event is None else event
        window = self.followup if kind == "once" else np.maximum(self.followup - 1, np.minimum(self.followup, 1))
        seen = (first_improved <= window) & reachable
        return seen, np.where(seen, first_improved, window).astype(np.int64)

    def frame(self) -> pd.DataFrame:
        """The summary frame (each string column built once, at the chosen keys only)."""
        sel, visits, codes = self.sel, self.visits, self.codes
        attrs = [c for c in EPISODE_ATTRIBUTES if c in visits.columns]
        ep = self.key_ep[sel]
        # Performance: episode-level columns are taken once per episode (from its first row,
        # in row order), then per summary row from that much smaller array.
        first_row = codes.first_row()
        out = {
            "episode_id": visits["episode_id"].array.take(first_row).take(ep),
            "measure": codes.measure_values.take(self.key_m[sel]),
            "side": codes.side_values.take(self.key_side[sel]),
        }
        out |= {c: visits[c].array.take(first_row).take(ep) for c in attrs}
        first = self.first_improved[sel]
        status = np.where(self.has_base[sel], np.where(self.reachable[sel], 0, 2), 1)
        out |= {
            "baseline": self.baseline[sel],
            "last_visit": self.last_visit[sel],
            "followup": self.followup[sel],
            "first_improved": pd.array(np.where(np.isinf(first), np.nan, first), dtype="Int64"),
            "event": self.event[sel],
            "time": self.time[sel],
            "reachable": self.reachable[sel],
            "status": _STATUS.take(status),
        }
        return pd.DataFrame(out)


#: Summary status values (``status`` codes 0, 1, 2).
_STATUS = pd.array(["included", "no_baseline", "threshold_unreachable"], dtype="str")


def _first_of_each(sorted_ids: np.ndarray) -> np.ndarray:
    """Mask of the first element of each run of equal values."""
    first = np.ones(len(sorted_ids), dtype=bool)
    first[1:] = sorted_ids[1:] != sorted_ids[:-1]
    return first


def _one_side(pair: np.ndarray, direction: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Keys of the summary in (measure, episode) order: one side per episode x measure.

    ``pair`` numbers the (measure, episode) of each key; keys come in (measure, side,
    episode) order.  When an episode has both sides of a measure, the side with the worse
    baseline (the affected side) is kept; ties, and a missing baseline on both sides, go to
    the first side in sorted order (left before right).
    """
    order = np.argsort(pair, kind="stable")  # keeps the side order within a pair; runs: nearly linear
    new = _first_of_each(pair[order])
    if new.all():
        return order
    badness = -direction[order] * baseline[order]
    badness[np.isnan(badness)] = -np.inf  # missing baseline: least preferred
    block = np.cumsum(new) - 1
    worst = np.maximum.reduceat(badness, np.flatnonzero(new))
    candidates = np.flatnonzero(badness == worst[block])
    kept: np.ndarray = order[candidates[_first_of_each(block[candidates])]]
    return kept


def summarize_episodes(
    visits: pd.DataFrame,
    registry: Mapping[str, Measure] | None = None,
    *,
    measures: Sequence[str] | None = None,
    event: ImprovementEvent = "once",
) -> pd.DataFrame:
    """One row per episode x measure: baseline, first improved visit, follow-up, censoring.

    Parameters
    ----------
    visits : DataFrame
        Canonical visits (see :func:`measure_changes`).
    registry : mapping, optional
        Measure registry (a plan's ``registry``).
    measures : sequence of str, optional
        Restrict to these measure codes.
    event : {"once", "sustained"}
        The improvement event (module docstring); a plan's ``improvement_event``.

    Returns
    -------
    DataFrame
        Columns ``episode_id``, ``measure``, ``side``, the episode attributes present
        (``patient_id``, ``condition``, ``age_band``, ``sex``), ``baseline``,
        ``last_visit`` (the episode's last visit), ``followup``, ``first_improved``
        (Int64, NA if never), ``event``, ``time``, ``reachable`` and ``status``
        (``included`` / ``no_baseline`` / ``threshold_unreachable``), sorted by measure
        and episode.  See the module docstring for definitions.

    Examples
    --------
    A missed measurement at visit 2 censors follow-up at visit 1:

    >>> import pandas as pd
    >>> v = pd.DataFrame({"episode_id": ["E1"] * 3, "visit_number": [1, 2, 3],
    ...                   "measure": ["pain_nprs", "rom_slr_left", "pain_nprs"], "side": "none",
    ...                   "value": [6.0, 50.0, 2.0]})
    >>> summarize_episodes(v, measures=["pain_nprs"])[["first_improved", "followup", "event", "time"]]
       first_improved  followup  event  time
    0               3         1  False     1

    A sustained improvement needs the next measurement, so follow-up for it ends a visit
    earlier:

    >>> v = pd.DataFrame({"episode_id": ["E1"] * 4 + ["E2"] * 3, "visit_number": [1, 2, 3, 4, 1, 2, 3],
    ...                   "measure": "pain_nprs", "side": "none",
    ...                   "value": [6.0, 3.0, 3.0, 2.0, 6.0, 5.0, 3.0]})
    >>> s = summarize_episodes(v, event="sustained")
    >>> s[["episode_id", "first_improved", "followup", "event", "time"]]
      episode_id  first_improved  followup  event  time
    0         E1               2         4   True     2
    1         E2            <NA>         3  False     2
    """
    return EpisodeCore(visits, registry, measures, event).frame()


def change_at_visit(changes: pd.DataFrame, k: int, summary: pd.DataFrame | None = None) -> pd.DataFrame:
    """Change from baseline to visit ``k``, one row per episode x measure measured at ``k``.

    Parameters
    ----------
    changes : DataFrame
        Output of :func:`measure_changes`.
    k : int
        Visit number.
    summary : DataFrame, optional
        Output of :func:`summarize_episodes`; when given, only its ``included``
        episode-sides are kept (so the same episodes enter every statistic).

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({"episode_id": "E1", "visit_number": [1, 2, 3], "measure": "pain_nprs",
    ...                   "side": "none", "value": [6.0, 5.0, 3.0]})
    >>> change_at_visit(measure_changes(v), 3)[["episode_id", "baseline", "value", "gain"]]
      episode_id  baseline  value  gain
    0         E1       6.0    3.0   3.0
    """
    at_k = changes[changes["visit_number"] == k]
    if summary is not None:
        keep = summary.loc[summary["status"] == "included", _KEY]
        at_k = at_k.merge(keep, on=_KEY, how="inner")
    return at_k.reset_index(drop=True)
