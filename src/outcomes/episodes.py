"""Per-episode summaries: baseline, change at every visit, and when the rule is first met.

Everything here is vectorised over all episodes (group-wise pandas operations; the only
Python loop is over the handful of distinct measure codes).

Definitions
-----------
baseline
    The measure's value at visit 1.  An episode without it is kept in the output with
    ``status = "no_baseline"`` and excluded from the claim, with that reason.
gain
    Change in the measure's *good* direction: ``direction * (value - baseline)``, so a
    pain drop of 3 points is a gain of +3 and a ROM increase of 10 degrees is +10.
improved
    The measure's registered rule (:meth:`outcomes.measures.Measure.improvement`),
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

import numpy as np
import pandas as pd

from .measures import REGISTRY, Measure

__all__ = ["measure_changes", "summarize_episodes", "change_at_visit", "EPISODE_ATTRIBUTES"]

#: Episode-level columns carried into the summaries when the data has them.
EPISODE_ATTRIBUTES: tuple[str, ...] = ("patient_id", "condition", "age_band", "sex")
_KEY = ["episode_id", "measure", "side"]


def _registry(registry: Mapping[str, Measure] | None) -> Mapping[str, Measure]:
    return REGISTRY if registry is None else registry


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
    return _changes(visits, _registry(registry), measures)[0]


def _restrict(visits: pd.DataFrame, measures: Sequence[str] | None) -> pd.DataFrame:
    if measures is None:
        return visits
    codes, uniques = pd.factorize(visits["measure"])  # isin on the few distinct codes, not on rows
    wanted = np.asarray(pd.Index(uniques).isin(list(measures)), dtype=bool)
    return visits[np.where(codes >= 0, wanted[np.maximum(codes, 0)], False)]


def _key_codes(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Integer codes of (episode_id, measure, side) in sorted order, one key id per row.

    Performance: grouping, sorting and merging on integer codes instead of strings
    (each string column is hashed once); codes from ``factorize(sort=True)`` order
    like the strings, so sorting by them equals a stable string sort.
    """
    codes, sizes, uniques = [], [], []
    for c in _KEY:
        code, uniq = pd.factorize(frame[c], sort=True)
        codes.append(code.astype(np.int64))
        sizes.append(max(len(uniq), 1))
        uniques.append(uniq)
    ep, m, side = codes
    gid = (ep * sizes[1] + m) * sizes[2] + side
    return gid, ep, m, uniques


def _changes(visits: pd.DataFrame, reg: Mapping[str, Measure], measures: Sequence[str] | None,
             codes: tuple | None = None):
    """:func:`measure_changes` plus, per output row, the index of its key and its visit number."""
    frame = _restrict(visits, measures)
    if codes is None:
        gid, _, m_code, uniques = _key_codes(frame)
    else:
        gid, m_code, uniques = codes
    vn = frame["visit_number"].to_numpy()
    order = np.lexsort((vn, gid))  # stable: same order as sort_values([*_KEY, "visit_number"])
    g, vn, value = gid[order], vn[order], frame["value"].to_numpy(dtype=float)[order]
    start = np.ones(len(g), dtype=bool)
    start[1:] = g[1:] != g[:-1]
    group = np.cumsum(start) - 1  # 0-based index of the key, per sorted row
    first = np.flatnonzero(start)
    has_base = vn[first] == 1  # visit 1, if present, sorts first within its key
    again = ~start & (vn == 1)
    again[1:] &= vn[:-1] == 1
    if again.any():
        # Validated visits (load_visits) never have this: duplicates are removed or refused there.
        raise ValueError("more than one visit-1 measurement for an episode, measure and side; "
                         "load the data with outcomes.load_visits, which resolves duplicates")
    keep = has_base[group]
    out = frame.take(order[keep]).reset_index(drop=True)
    base = value[first][group[keep]]
    out["baseline"] = base
    change = value[keep] - base
    out["change"] = change
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * change / base
    out["pct_change"] = np.where(base == 0, np.nan, pct)
    m_rows = m_code[order[keep]]
    m_uniq = list(uniques[1])
    direction = np.array([reg[c].direction if c in reg else np.nan for c in m_uniq], dtype=float)
    out["gain"] = direction[m_rows] * change + 0.0  # + 0.0 turns -0.0 into 0.0
    improved = np.zeros(len(out), dtype=bool)
    for i in np.unique(m_rows):  # loop over the distinct measure codes
        mask = m_rows == i
        improved[mask] = reg[m_uniq[i]].improvement(base[mask], out["value"].to_numpy()[mask])
    out["improved"] = improved
    return out, group[keep], vn[keep]


def summarize_episodes(
    visits: pd.DataFrame,
    registry: Mapping[str, Measure] | None = None,
    *,
    measures: Sequence[str] | None = None,
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

    Returns
    -------
    DataFrame
        Columns ``episode_id``, ``measure``, ``side``, the episode attributes present
        (``patient_id``, ``condition``, ``age_band``, ``sex``), ``baseline``,
        ``last_visit`` (the episode's last visit), ``followup``, ``first_improved``
        (Int64, NA if never), ``event``, ``time``, ``reachable`` and ``status``
        (``included`` / ``no_baseline`` / ``threshold_unreachable``).  See the module
        docstring for definitions.

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
    """
    reg = _registry(registry)
    frame = _restrict(visits, measures)
    # Performance: everything below works on integer key codes (see _key_codes); the
    # result is the same frame the string groupbys and merges gave.
    gid, ep_code, m_code, uniques = _key_codes(frame)
    keys_gid, first_row = np.unique(gid, return_index=True)  # one row per key, in key order
    keys = frame[_KEY].take(first_row).reset_index(drop=True)
    ep_of_key = ep_code[first_row]

    attrs = [c for c in EPISODE_ATTRIBUTES if c in visits.columns]
    v_ep, v_uniq = pd.factorize(visits["episode_id"])
    pos = pd.Index(v_uniq).get_indexer(uniques[0])  # frame episode code -> visits episode code
    last = np.full(len(v_uniq), np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, v_ep, visits["visit_number"].to_numpy(dtype=np.int64))
    if attrs:
        first_of_ep = np.unique(v_ep, return_index=True)[1]
        for c in attrs:
            keys[c] = visits[c].take(first_of_ep[pos[ep_of_key]]).reset_index(drop=True)

    # ``group`` numbers the frame's keys in sorted order: it indexes ``keys`` directly.
    changes, group, vn = _changes(frame, reg, None, codes=(gid, m_code, uniques))
    n = len(keys)
    start = np.ones(len(group), dtype=bool)
    start[1:] = group[1:] != group[:-1]
    baseline = np.full(n, np.nan)
    baseline[group[start]] = changes["baseline"].to_numpy()[start]

    # Follow-up: visit numbers v_1 < v_2 < ... of one key form an unbroken run from
    # visit 1 exactly while v_i == i, so the run ends at max{v_i : v_i == i}.
    rank = np.arange(len(group)) - np.flatnonzero(start)[np.cumsum(start) - 1] + 1
    in_run = vn == rank
    followup = np.zeros(n, dtype=np.int64)  # no run (no baseline): 0
    np.maximum.at(followup, group[in_run], vn[in_run].astype(np.int64))
    imp = changes["improved"].to_numpy()
    first_imp = np.full(n, np.inf)
    np.minimum.at(first_imp, group[imp], vn[imp].astype(float))

    out = keys
    out["baseline"] = baseline
    out["last_visit"] = last[pos[ep_of_key]]
    out["followup"] = followup
    out["first_improved"] = pd.array(np.where(np.isinf(first_imp), np.nan, first_imp), dtype="Int64")

    has_base = out["baseline"].notna().to_numpy()
    reachable = np.zeros(len(out), dtype=bool)
    m_codes, m_uniq = pd.factorize(out["measure"])
    for i, code in enumerate(m_uniq):  # loop over the distinct measure codes
        mask = (m_codes == i) & has_base
        reachable[mask] = reg[code].reachable(out["baseline"].to_numpy()[mask])
    out["reachable"] = reachable
    status = np.where(~has_base, "no_baseline", np.where(reachable, "included", "threshold_unreachable"))
    out["status"] = pd.array(status, dtype="str")

    first_np = out["first_improved"].to_numpy(dtype=float, na_value=np.nan)
    event = (first_np <= out["followup"].to_numpy()) & reachable
    out["event"] = event
    out["time"] = np.where(event, np.nan_to_num(first_np), out["followup"].to_numpy()).astype("int64")

    out = _one_side_per_episode(out, reg)
    cols = [*_KEY, *attrs, "baseline", "last_visit", "followup", "first_improved", "event", "time",
            "reachable", "status"]
    return out[cols].sort_values(["measure", "episode_id"], kind="stable").reset_index(drop=True)


def _one_side_per_episode(summary: pd.DataFrame, reg: Mapping[str, Measure]) -> pd.DataFrame:
    """Keep the side with the worse baseline when an episode has both sides of a measure."""
    dup = summary.duplicated(["episode_id", "measure"], keep=False)
    if not dup.any():
        return summary
    direction = summary["measure"].map({c: m.direction for c, m in reg.items()}).astype(float)
    badness = (-direction * summary["baseline"]).fillna(-np.inf)  # missing baseline: least preferred
    ordered = summary.assign(_bad=badness).sort_values(
        ["episode_id", "measure", "_bad", "side"], ascending=[True, True, False, True], kind="stable")
    return ordered.drop_duplicates(["episode_id", "measure"]).drop(columns="_bad")


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
