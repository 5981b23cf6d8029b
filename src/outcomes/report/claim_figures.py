"""Figures of the clinic's other claims: soreness distribution and per-condition forest plots.

Style as :mod:`outcomes.report.figures` (its ``DPI``, palette and verdict markers are reused):
explicit figures closed in pyplot before they are returned, axes-level seaborn, every
verdict told apart by marker as well as colour.  Nothing here estimates anything.

Examples
--------
>>> import pandas as pd
>>> s = pd.DataFrame({"episode_id": ["a", "a", "b"], "soreness_hours": [10.0, 50.0, 20.0]})
>>> soreness_distribution(s, hours=48).axes[0].get_xlabel()
'Post-needling soreness (hours)'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from outcomes.report.figures import DPI, PALETTE, VERDICT_STYLE

__all__ = ["conditions_forest", "soreness_distribution"]


def soreness_distribution(needled: pd.DataFrame, *, hours: float, ax: Axes | None = None) -> Figure:
    """Histogram of soreness duration per needled visit, with the claim's limit as a line.

    Parameters
    ----------
    needled : DataFrame
        ``soreness_hours`` per needled visit (:func:`outcomes.claims.soreness.needled_visits`).
    hours : float
        The claim's limit (plan ``other_claims.soreness.hours``).

    Examples
    --------
    >>> s = pd.DataFrame({"soreness_hours": [5.0, 12.0, 30.0, 60.0]})
    >>> len(soreness_distribution(s, hours=48).axes[0].lines)
    1
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=DPI, layout="constrained")
        plt.close(fig)
    fig = cast(Figure, ax.figure)
    values = needled["soreness_hours"].dropna().to_numpy(dtype=float)
    top = max(float(np.quantile(values, 0.99)) if values.size else hours, hours) * 1.1
    sns.histplot(
        x=np.clip(values, 0, top),
        ax=ax,
        binwidth=max(top / 40, 1.0),
        binrange=(0, top),
        color=PALETTE[0],
        edgecolor="white",
    )
    within = float((values <= hours).mean()) if values.size else np.nan
    ax.axvline(
        hours,
        color="black",
        linestyle="--",
        linewidth=1.2,
        label=f"{hours:g} h: {within:.0%} of visits resolved by then",
    )
    ax.set_xlim(0, top)
    ax.set_xlabel("Post-needling soreness (hours)")
    ax.set_ylabel("Needled visits")
    ax.set_title(f"Soreness after needling (n = {values.size} visits; longest 1% drawn at the edge)", fontsize=11)
    ax.legend(loc="upper right", fontsize=8)
    return fig


def _panel(ax: Axes, part: pd.DataFrame) -> None:
    y = np.arange(len(part))[::-1]
    row: Any  # a named tuple of the table's columns
    for yi, row in zip(y, part.itertuples()):
        if pd.isna(row.estimate):
            ax.text(
                0.02,
                yi,
                "suppressed: too few episodes",
                transform=ax.get_yaxis_transform(),
                va="center",
                fontsize=8,
                color="0.3",
                style="italic",
            )
            continue
        colour, marker, _ = VERDICT_STYLE.get(row.verdict, VERDICT_STYLE["inconclusive"])
        if np.isfinite(row.ci_low):
            ax.plot([row.ci_low, row.ci_high], [yi, yi], color=colour, linewidth=2.0)
        ax.plot(
            [row.estimate], [yi], marker=marker, color=colour, markeredgecolor="black", markersize=7, linestyle="none"
        )
    threshold = part["p0"].dropna()
    if not threshold.empty:
        ax.axvline(float(threshold.iloc[0]), color="black", linestyle="--", linewidth=1)
    ax.set_yticks(y, [f"{lab} (n {n})" for lab, n in zip(part["label"], part["n_shown"])], fontsize=8)
    ax.set_ylim(-0.7, len(part) - 0.3)
    ax.grid(axis="x", color="0.9")
    ax.set_axisbelow(True)


def conditions_forest(table: pd.DataFrame, *, ids: Sequence[str] | None = None, ncols: int = 2) -> Figure:
    """One panel per claim: estimate and interval per condition, marker and colour by verdict.

    Parameters
    ----------
    table : DataFrame
        :func:`outcomes.claims.conditions.claims_by_condition` output.
    ids : sequence of str, optional
        Claim ids to draw (default every id with shown estimates in >= 2 conditions).
    ncols : int
        Panels per row.

    Examples
    --------
    >>> t = pd.DataFrame({"id": ["soreness"] * 3, "label": ["Neck pain", "TMD", "Migraine"],
    ...                   "n_shown": ["40", "<11", "30"], "estimate": [0.9, np.nan, 0.8],
    ...                   "ci_low": [0.85, np.nan, 0.7], "ci_high": [0.94, np.nan, 0.9], "p0": 0.9,
    ...                   "verdict": ["inconclusive", None, "not_supported"], "conf_level": 0.9, "adjust": "bh"})
    >>> conditions_forest(t).axes[0].get_title()
    'soreness'
    """
    if ids is None:
        shown = table[table["estimate"].notna()].groupby("id", sort=False).size()
        ids = list(shown.index[shown >= 2])
    n = max(len(ids), 1)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    height = max(2.2, 0.3 * table.groupby("id").size().reindex(list(ids)).max(skipna=True) + 1.2) if ids else 2.2
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(5.2 * ncols, height * nrows), dpi=DPI, layout="constrained", squeeze=False
    )
    plt.close(fig)
    for ax in axes.flat[len(ids) :]:
        ax.set_visible(False)
    for ax, cid in zip(axes.flat, ids):  # one panel per claim
        _panel(ax, table[table["id"] == cid])
        ax.set_title(str(cid), fontsize=9)
    level = table["conf_level"].dropna()
    adjust = table["adjust"].dropna()
    fig.suptitle(
        f"By condition: {level.iloc[0]:.0%} CI (not adjusted); verdicts {adjust.iloc[0].upper()}-adjusted "
        "across conditions; dashed line = the claim's threshold"
        if not level.empty and not adjust.empty
        else "By condition",
        fontsize=10,
    )
    for colour, marker, words in VERDICT_STYLE.values():
        axes.flat[0].plot([], [], marker=marker, color=colour, markeredgecolor="black", linestyle="-", label=words)
    axes.flat[0].legend(loc="lower right", fontsize=7)
    return fig
