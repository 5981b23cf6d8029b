"""The result format every claim shares.

Every claim function returns a tidy frame with :data:`RESULT_COLUMNS`, one row per
result.  Exactly one row per claim ``id`` has ``primary = True``: it carries the
verdict; the other rows are supporting analyses (verdict missing).  ``p_value`` of a
primary row is one-sided, H0 "the claim is false" (effect <= ``threshold``), and
``p_value_not`` the other tail, both from the same pivot as the interval: the
two-sided ``conf_level = 1 - 2 alpha`` interval's ends are the one-sided bounds, so
``supported`` <=> ``ci_low > threshold`` <=> ``p_value < alpha``
(:func:`outcomes.stats.decision.verdict_from_bounds`).

Examples
--------
>>> not_testable("soreness", "soreness", "not testable: column soreness_hours missing")["verdict"].tolist()
['not_testable']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

__all__ = ["RESULT_COLUMNS", "group_sizes", "missing_columns", "not_testable", "result_frame"]

#: Columns of every claim result frame (see the module notes).
RESULT_COLUMNS: tuple[str, ...] = (
    "claim",
    "id",
    "measure",
    "analysis",
    "primary",
    "verdict",
    "reason",
    "estimate",
    "ci_low",
    "ci_high",
    "conf_level",
    "threshold",
    "p_value",
    "p_value_not",
    "n",
    "n_excluded",
    "method",
    "sentence",
)


def missing_columns(visits: pd.DataFrame, columns: Sequence[str]) -> str | None:
    """Why a claim cannot be tested on ``visits`` (a column absent or empty), or None.

    Examples
    --------
    >>> missing_columns(pd.DataFrame({"a": [1.0], "b": [np.nan]}), ["a", "b", "c"])
    'not testable: column b has no values'
    >>> missing_columns(pd.DataFrame({"a": [1.0]}), ["c"])
    'not testable: column c missing'
    """
    for col in columns:
        if col not in visits.columns:
            return f"not testable: column {col} missing"
        if visits[col].isna().all():
            return f"not testable: column {col} has no values"
    return None


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
    sentence = f"{claim_id}: {reason}."
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
                sentence=sentence,
            )
        ]
    )


def result_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows (mappings) as a frame with exactly :data:`RESULT_COLUMNS`, in order.

    Examples
    --------
    >>> list(result_frame([{"claim": "x", "n": 3}]).columns) == list(RESULT_COLUMNS)
    True
    """
    frame = pd.DataFrame(list(rows), columns=list(RESULT_COLUMNS))
    frame["primary"] = frame["primary"].eq(True).to_numpy(dtype=bool)
    for col in ("n", "n_excluded"):
        frame[col] = pd.array(frame[col], dtype="Int64")
    for col in ("estimate", "ci_low", "ci_high", "conf_level", "threshold", "p_value", "p_value_not"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame
