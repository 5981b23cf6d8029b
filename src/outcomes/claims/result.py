"""The one result type every claim shares: :class:`ClaimResult` and its tidy frame.

Every claim function returns a tidy frame whose first columns are :data:`RESULT_COLUMNS`
(the fields of :class:`ClaimResult`, in order), one row per result; a claim kind may
add columns after them (:data:`PRIMARY_EXTRA_COLUMNS` for the primary claims; the other
claims carry the numbers their sentences need, e.g. ``n_with``, ``n_without``).  No result
holds prose: :mod:`outcomes.report.sentences` writes the sentences from these fields.
Exactly one row per claim ``id`` has ``primary = True``: it carries the verdict; the
other rows are supporting analyses (verdict missing).  ``p_value`` of a primary row is
one-sided, H0 "the claim is false" (effect <= ``p0``, the threshold the estimate is
compared with), and ``p_value_not`` the other tail, both from the same pivot as the
interval: the two-sided ``conf_level = 1 - 2 alpha`` interval's ends are the one-sided
bounds, so ``supported`` <=> ``ci_low > p0`` <=> ``p_value < alpha``
(:func:`outcomes.stats.decision.verdict_from_bounds`).  ``results.json`` calls ``p0``
of the other claims ``threshold`` (its schema, ``docs/results-schema.md``; the mapping
is :mod:`outcomes.report.results`).

Examples
--------
>>> row = not_testable("soreness", "soreness", "not testable: column soreness_hours missing")
>>> row["verdict"].tolist()
['not_testable']
>>> claim_results(row)[0].reason
'not testable: column soreness_hours missing'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

import pandas as pd

__all__ = [
    "ESTIMATE_FIELDS",
    "MIN_GROUP_SIZE",
    "PRIMARY_EXTRA_COLUMNS",
    "RESULT_COLUMNS",
    "ClaimResult",
    "MissingColumn",
    "claim_results",
    "group_sizes",
    "missing_columns",
    "not_testable",
    "not_testable_reason",
    "result_frame",
]


@dataclass(frozen=True)
class ClaimResult:
    """One result of a claim (a verdict row, or a supporting analysis): the row of a result frame.

    Attributes
    ----------
    id : str
        The claim's id (e.g. ``"improved_by_visit_3:pain_nprs"``, ``"twitch"``).
    claim : str
        Its family (claim kind): ``improved_by_visit``, ``strength``, ``twitch`` ...
    measure : str or None
        The outcome measure, when the claim has one.
    analysis : str
        The analysis of this row (``kaplan_meier``, ``logrank``, ``none`` ...).
    primary : bool
        Whether this row carries the claim's verdict.
    k : int or None
        The visit the claim is about ("improved by visit k"), when it has one.
    p0 : float
        The threshold the estimate is compared with (NaN when none).
    estimate, ci_low, ci_high : float
        The estimate and its two-sided ``conf_level`` interval (NaN when not estimable).
    conf_level : float
        Level of the interval (``1 - 2 alpha``).
    p_value, p_value_not : float
        One-sided p-values, H0 "claim false" and H0 "claim true" (NaN when none).
    n, n_excluded : int or None
        Units (episodes; visits for soreness) behind the estimate, and those excluded.
    verdict : str or None
        ``supported``, ``not_supported``, ``inconclusive``, ``not_testable`` (primary rows).
    method : str or None
        The estimator.
    reason : str or None
        Why the claim could not be tested (``not_testable`` rows).

    Examples
    --------
    >>> r = ClaimResult.from_row({"id": "twitch", "claim": "twitch", "analysis": "logrank", "p_value": 0.2, "n": 40})
    >>> r.primary, r.n, math.isnan(r.estimate), r.verdict
    (False, 40, True, None)
    >>> r.to_row()["p_value"], list(r.to_row()) == list(RESULT_COLUMNS)
    (0.2, True)
    """

    id: str
    claim: str
    measure: str | None = None
    analysis: str = "none"
    primary: bool = False
    k: int | None = None
    p0: float = math.nan
    estimate: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    conf_level: float = math.nan
    p_value: float = math.nan
    p_value_not: float = math.nan
    n: int | None = None
    n_excluded: int | None = None
    verdict: str | None = None
    method: str | None = None
    reason: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ClaimResult:
        """The result of one row (a mapping; columns other than :data:`RESULT_COLUMNS` are ignored).

        Missing values become ``None`` (text, counts) or NaN (numbers).

        Examples
        --------
        >>> ClaimResult.from_row({"id": "early", "claim": "early", "n": 12.0, "verdict": float("nan")}).n
        12
        """
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = row.get(f.name)
            missing = value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
            if f.name in _FLOAT_FIELDS:
                values[f.name] = math.nan if missing else float(value)  # type: ignore[arg-type]
            elif f.name in ("n", "n_excluded", "k"):
                values[f.name] = None if missing else int(value)  # type: ignore[arg-type]
            elif f.name == "primary":
                values[f.name] = bool(value) if not missing else False
            else:
                values[f.name] = None if missing else str(value)
        return cls(**values)

    def to_row(self) -> dict[str, Any]:
        """The row of a result frame: :data:`RESULT_COLUMNS` in order.

        Examples
        --------
        >>> list(result_frame([ClaimResult(id="x", claim="x").to_row()]).columns) == list(RESULT_COLUMNS)
        True
        """
        return asdict(self)


#: Columns of every claim result frame: the fields of :class:`ClaimResult`, in order.
RESULT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ClaimResult))
#: The fields an estimator's result (:func:`outcomes.stats.decision.wald_result`, the adjusted
#: comparisons, the soreness share) shares with a result row: the estimate, its interval and
#: the two one-sided p-values.
ESTIMATE_FIELDS: tuple[str, ...] = ("estimate", "ci_low", "ci_high", "conf_level", "p_value", "p_value_not")
_FLOAT_FIELDS = ("p0", *ESTIMATE_FIELDS)
#: Fewest episodes in each group for a two-group comparison claim (twitch, combined) to be fitted
#: at all; whether its result may be shown is the small-cell rule's (:mod:`outcomes.disclosure`).
MIN_GROUP_SIZE = 2

#: Columns of ``ClaimsResult.claims`` after :data:`RESULT_COLUMNS` (the primary and ROM claims):
#: the measure's ``label``, ``family`` (``primary`` / ``secondary``), ``n_events`` (episodes
#: improved by visit k), ``sensitivity_agree`` (every sensitivity analysis gives the verdict),
#: ``rule`` (the improvement rule in words), and the check against dropout
#: (:mod:`outcomes.stats.dropout`): ``dropout_ratio`` (the plan's assumption), ``n_censored_before_k``,
#: ``estimate_dropout_adjusted``, ``ci_low_dropout_adjusted`` (its one-sided lower bound),
#: ``tipping_point`` and ``robust_to_dropout`` (the share exceeds ``p0`` under the assumption), and
#: ``n_stopped_<reason>``: those episodes by their ``discharge_reason`` (``not_recorded``: none given).
PRIMARY_EXTRA_COLUMNS: tuple[str, ...] = (
    "label",
    "family",
    "n_events",
    "sensitivity_agree",
    "rule",
    "dropout_ratio",
    "n_censored_before_k",
    "estimate_dropout_adjusted",
    "ci_low_dropout_adjusted",
    "tipping_point",
    "robust_to_dropout",
    *(f"n_stopped_{r}" for r in ("goals_met", "no_improvement", "moved_or_cost", "unknown", "not_recorded")),
)


def claim_results(frame: pd.DataFrame) -> list[ClaimResult]:
    """The rows of a result frame as :class:`ClaimResult` (extra columns are left out).

    Examples
    --------
    >>> rows = claim_results(not_testable("twitch", "twitch", "not testable: column twitch_response missing"))
    >>> [(r.id, r.primary, r.verdict, r.n) for r in rows]
    [('twitch', True, 'not_testable', 0)]
    """
    return [ClaimResult.from_row({str(k): v for k, v in r.items()}) for r in frame.to_dict("records")]


@dataclass(frozen=True)
class MissingColumn:
    """Why a claim cannot be tested: a column it needs is absent (``missing``) or empty (``no values``).

    Examples
    --------
    >>> MissingColumn("soreness_hours", "missing").text
    'column soreness_hours missing'
    """

    column: str
    why: Literal["missing", "no values"]

    @property
    def text(self) -> str:
        """The reason in words: ``column <name> missing`` or ``column <name> has no values``."""
        return f"column {self.column} {'missing' if self.why == 'missing' else 'has no values'}"


def missing_columns(visits: pd.DataFrame, columns: Sequence[str]) -> MissingColumn | None:
    """The first of ``columns`` a claim needs that ``visits`` lacks (absent or empty), or None.

    Examples
    --------
    >>> import numpy as np
    >>> missing_columns(pd.DataFrame({"a": [1.0], "b": [np.nan]}), ["a", "b", "c"])
    MissingColumn(column='b', why='no values')
    >>> missing_columns(pd.DataFrame({"a": [1.0]}), ["c"])
    MissingColumn(column='c', why='missing')
    >>> missing_columns(pd.DataFrame({"a": [1.0]}), ["a"]) is None
    True
    """
    for col in columns:  # a claim's one or two columns, not data rows
        if col not in visits.columns:
            return MissingColumn(col, "missing")
        if visits[col].isna().all():
            return MissingColumn(col, "no values")
    return None


def not_testable_reason(missing: MissingColumn) -> str:
    """The ``reason`` of a claim that cannot be tested for want of a column.

    Examples
    --------
    >>> not_testable_reason(MissingColumn("treatment", "missing"))
    'not testable: column treatment missing'
    """
    return f"not testable: {missing.text}"


def group_sizes(claim_id: str, groups: Sequence[str], counts: Sequence[int]) -> pd.DataFrame:
    """Episodes behind each arm of a claim (what small-cell suppression needs): ``id``, ``group``, ``n``.

    Empty ``groups`` give the empty frame of a claim that cannot be tested.

    Examples
    --------
    >>> group_sizes("twitch", ["twitch", "no_twitch"], [40, 7])
           id      group   n
    0  twitch     twitch  40
    1  twitch  no_twitch   7
    >>> group_sizes("twitch", [], []).shape
    (0, 3)
    """
    return pd.DataFrame(
        {
            "id": pd.Series([claim_id] * len(groups), dtype="str"),
            "group": pd.Series(list(groups), dtype="str"),
            "n": pd.Series([int(c) for c in counts], dtype="int64"),
        }
    )


def not_testable(claim: str, claim_id: str, reason: str, measure: str | None = None) -> pd.DataFrame:
    """The one-row result of a claim that cannot be tested, with its reason.

    Examples
    --------
    >>> not_testable("twitch", "twitch", "not testable: column twitch_response missing")[
    ...     ["id", "verdict", "reason"]].iloc[0].tolist()
    ['twitch', 'not_testable', 'not testable: column twitch_response missing']
    """
    return result_frame(
        [
            dict(
                claim=claim,
                id=claim_id,
                measure=measure,
                analysis="none",
                primary=True,
                verdict="not_testable",
                reason=reason,
                n=0,
                n_excluded=0,
                method="none",
            )
        ]
    )


def result_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows (mappings) as a frame: :data:`RESULT_COLUMNS` in order, then any other keys of the rows.

    Columns a claim kind adds (the numbers its sentence needs) follow the shared ones, in
    the order they first occur.

    Examples
    --------
    >>> frame = result_frame([{"claim": "x", "n": 3, "n_with": 2}])
    >>> list(frame.columns) == [*RESULT_COLUMNS, "n_with"]
    True
    >>> frame["k"].dtype, frame["n_with"].dtype, frame["p0"].dtype
    (Int64Dtype(), Int64Dtype(), dtype('float64'))
    """
    extra = list(dict.fromkeys(key for row in rows for key in row if key not in RESULT_COLUMNS))
    frame = pd.DataFrame(list(rows), columns=[*RESULT_COLUMNS, *extra])
    frame["primary"] = frame["primary"].eq(True).to_numpy(dtype=bool)
    for col in ("k", *(c for c in frame.columns if c == "n" or c.startswith("n_"))):  # counts: whole numbers
        frame[col] = frame[col].astype("Int64")
    for col in _FLOAT_FIELDS:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame
