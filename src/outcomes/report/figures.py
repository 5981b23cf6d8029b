"""Figures for the notebooks and the clinic report (matplotlib + axes-level seaborn).

Every function draws numbers computed elsewhere (:mod:`outcomes.claims.improvement`,
:mod:`outcomes.descriptive.trajectories`, :mod:`outcomes.descriptive.subgroups`, :mod:`outcomes.descriptive.cohort`) and
returns the :class:`~matplotlib.figure.Figure`; none estimates anything.  Functions
that draw one panel accept ``ax=`` so small multiples reuse them.  Given disclosed
frames (:meth:`outcomes.claims.improvement.ClaimsResult.disclosed`, what the clinic report draws),
they draw nothing of a suppressed row: forest plots label it "suppressed: too few
episodes" and ``n`` as ``<11`` (or "n withheld"), curves stop where too few episodes
are at risk.

Conventions: explicit ``fig, ax = plt.subplots(...)``; the figure is closed in pyplot
before it is returned (so Jupyter shows it once, as the cell's value, and a long
report run does not accumulate open figures); axes labelled with units; seaborn's
``colorblind`` palette; every distinction also made by line style or marker so a
greyscale print stays readable; modest ``DPI`` to keep notebooks small.

Examples
--------
>>> from outcomes.analysis import analyse
>>> a = analyse()
>>> fig = claims_forest(a.claims.claims)
>>> fig.axes[0].get_xlabel()
'Episodes improved by visit 3 (%)'
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import cast

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from outcomes.descriptive.trajectories import Trajectories
from outcomes.spec.measures import Measure
from outcomes.spec.plan import Plan

__all__ = [
    "DPI",
    "GRID_DPI",
    "PALETTE",
    "VERDICT_STYLE",
    "claims_forest",
    "condition_forest",
    "improvement_curve",
    "improvement_curves_grid",
    "missingness_heatmap",
    "sensitivity_forest",
    "spaghetti",
    "trajectories_grid",
    "waterfall",
]

#: Resolution of every figure (keeps committed notebooks small; readable on screen and paper).
DPI = 80
#: Resolution of small-multiple grids (many panels: smaller files, still legible).
GRID_DPI = 72
#: Colour-blind-safe palette (seaborn "colorblind", Okabe-Ito-like).
PALETTE = sns.color_palette("colorblind")
#: Verdict -> (colour, marker, words); the marker alone tells verdicts apart in greyscale.
VERDICT_STYLE: dict[str, tuple[tuple[float, float, float], str, str]] = {
    "supported": (PALETTE[2], "^", "supported"),
    "inconclusive": (PALETTE[1], "o", "inconclusive"),
    "not_supported": (PALETTE[3], "v", "not supported"),
}
_GREY = "0.55"

# seaborn 0.13.2 on matplotlib >= 3.10 / pandas 3: known, harmless deprecation notices raised
# inside seaborn itself; filtered by message AND module so nothing else is hidden.
warnings.filterwarnings("ignore", message=r".*is_categorical_dtype is deprecated.*", module="seaborn")
warnings.filterwarnings("ignore", message=r".*use_inf_as_na option is deprecated.*", module="seaborn")
warnings.filterwarnings("ignore", message=r".*vert: bool will be deprecated.*", module="seaborn")


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return cast(Figure, ax.figure), ax
    fig, ax = plt.subplots(figsize=figsize, dpi=DPI, layout="constrained")
    plt.close(fig)
    return fig, ax


def _grid(n: int, ncols: int, panel: tuple[float, float]) -> tuple[Figure, np.ndarray]:
    nrows = max(1, -(-n // ncols))
    ncols = max(1, min(ncols, n))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(panel[0] * ncols, panel[1] * nrows), dpi=GRID_DPI, layout="constrained", squeeze=False
    )
    plt.close(fig)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes


def _pct_axis(axis: matplotlib.axis.Axis) -> None:
    axis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))


def improvement_curve(
    curve: pd.DataFrame, claim: pd.Series, *, ax: Axes | None = None, title: str | None = None
) -> Figure:
    """Visits to improvement: Kaplan-Meier cumulative share improved, its band, and the k and p0 lines.

    Parameters
    ----------
    curve : DataFrame
        Rows of ``ClaimsResult.curves`` for one claim (``time, estimate, ci_low, ci_high``).
        Of a disclosed result (:meth:`outcomes.claims.improvement.ClaimsResult.disclosed`), rows marked
        ``suppressed`` (too few episodes at risk) are not drawn.
    claim : Series
        The claim's row of ``ClaimsResult.claims`` (``k``, ``p0``, ``estimate``, ``ci_low``,
        ``ci_high``, ``conf_level``, ``label``, ``verdict``); a ``suppressed`` claim draws
        neither curve nor estimate, only the words "suppressed: too few episodes".
    ax : Axes, optional
        Draw into this axes (small multiples).
    title : str, optional
        Default: the measure's label.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> a = analyse()
    >>> c = a.claims
    >>> fig = improvement_curve(c.curves[c.curves["measure"] == "pain_nprs"], c.claims.iloc[0])
    >>> fig.axes[0].get_xlabel()
    'Visit number (visit 1 = baseline)'
    """
    fig, ax = _axes(ax, (6.4, 3.8))
    if "suppressed" in curve.columns:  # a disclosed curve: visits with too few episodes at risk not drawn
        curve = curve[~curve["suppressed"].to_numpy(dtype=bool)]
    if claim.get("suppressed", False) is True or claim["verdict"] not in VERDICT_STYLE:
        curve = curve.iloc[:0]
    time = np.concatenate([[1], curve["time"].to_numpy()])
    est = np.concatenate([[0.0], curve["estimate"].to_numpy()])
    low = np.concatenate([[0.0], curve["ci_low"].to_numpy()])
    high = np.concatenate([[0.0], curve["ci_high"].to_numpy()])
    ax.fill_between(
        time, low, high, step="post", color=PALETTE[0], alpha=0.25, linewidth=0, label=f"{claim['conf_level']:.0%} CI"
    )
    ax.step(time, est, where="post", color=PALETTE[0], linewidth=2, label="Kaplan-Meier")
    ax.axhline(claim["p0"], color="black", linestyle="--", linewidth=1, label=f"p0 = {claim['p0']:.0%}")
    ax.axvline(claim["k"], color=_GREY, linestyle=":", linewidth=1.5, label=f"k = visit {claim['k']}")
    if claim["verdict"] in VERDICT_STYLE:
        colour, marker, words = VERDICT_STYLE[claim["verdict"]]
        ax.errorbar(
            [claim["k"]],
            [claim["estimate"]],
            yerr=[[claim["estimate"] - claim["ci_low"]], [claim["ci_high"] - claim["estimate"]]],
            fmt=marker,
            color=colour,
            markeredgecolor="black",
            markersize=8,
            capsize=4,
            label=f"by visit {claim['k']}: {words}",
        )
    else:  # suppressed (small cells): nothing from those episodes is drawn
        ax.text(
            0.5,
            0.5,
            "suppressed: too few episodes",
            ha="center",
            va="center",
            transform=ax.transAxes,
            fontsize=9,
            color="0.3",
            style="italic",
        )
    ax.set_xlim(1, max(time.max(), claim["k"] + 1))
    ax.set_ylim(0, 1)
    ax.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]  # MaxNLocator takes it
    ax.set_xlabel("Visit number (visit 1 = baseline)")
    ax.set_ylabel("Episodes improved (cumulative %)")
    _pct_axis(ax.yaxis)
    ax.set_title(title if title is not None else str(claim["label"]), fontsize=11)
    ax.legend(loc="lower right", fontsize=8, frameon=True)
    return fig


def improvement_curves_grid(result_curves: pd.DataFrame, claims: pd.DataFrame, *, ncols: int = 4) -> Figure:
    """Small multiples of :func:`improvement_curve`, one panel per claim row.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> c = analyse().claims
    >>> len(improvement_curves_grid(c.curves, c.claims.iloc[1:4]).axes)
    3
    """
    fig, axes = _grid(len(claims), ncols, (3.0, 2.3))
    for ax, (_, claim) in zip(axes.flat, claims.iterrows()):
        improvement_curve(
            result_curves[result_curves["id"] == claim["id"]],
            claim,
            ax=ax,
            title=f"{claim['label']} ({_n_labels(claim.to_frame().T)[0]})",
        )
        ax.set_xlabel("Visit")
        ax.set_ylabel("Improved")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.title.set_fontsize(9)
        ax.get_legend().remove()
    if claims.empty:
        return fig
    handles, labels = axes.flat[0].get_legend_handles_labels()
    keep = [i for i, lab in enumerate(labels) if not lab.startswith("by visit")]
    fig.legend(
        [handles[i] for i in keep],
        [labels[i] for i in keep],
        loc="outside lower center",
        ncols=len(keep),
        fontsize=8,
        frameon=False,
    )
    return fig


def spaghetti(traj: Trajectories, measure: Measure, *, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Individual trajectories (a seeded sample, thin grey) with the mixed-model mean and band.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> from outcomes.descriptive.trajectories import trajectories
    >>> a = analyse()
    >>> t = trajectories(a.visits, a.claims, "pain_nprs", n_show=5)
    >>> spaghetti(t, a.plan.measure("pain_nprs")).axes[0].get_ylabel()
    'Pain (NPRS 0-10) (points)'
    """
    fig, ax = _axes(ax, (6.4, 3.8))
    if len(traj.lines):  # a measure with no analysable episode gets an empty panel (seaborn fails on none)
        sns.lineplot(
            data=traj.lines,
            x="visit_number",
            y="value",
            units="episode_id",
            estimator=None,
            color=_GREY,
            linewidth=0.7,
            alpha=0.6,
            ax=ax,
        )
    mean = traj.mean
    if len(mean):
        ax.fill_between(
            mean["visit"],
            mean["ci_low"],
            mean["ci_high"],
            color=PALETTE[0],
            alpha=0.3,
            linewidth=0,
            label=f"{mean['conf_level'].iloc[0]:.0%} CI of the mean",
        )
        ax.plot(
            mean["visit"],
            mean["estimate"],
            color=PALETTE[0],
            linewidth=2.5,
            marker="o",
            markersize=4,
            label=f"mixed-model mean ({traj.n_episodes} episodes)",
        )
    ax.plot([], [], color=_GREY, linewidth=0.7, label=f"{traj.n_shown} episodes (random sample)")
    ax.set_xlabel("Visit number (visit 1 = baseline)")
    ax.set_ylabel(f"{measure.label} ({measure.unit})")
    better = "lower is better" if measure.direction < 0 else "higher is better"
    ax.set_title(title if title is not None else f"{measure.label}: {better}", fontsize=11)
    ax.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]  # MaxNLocator takes it
    ax.legend(loc="best", fontsize=8)
    return fig


def trajectories_grid(trajs: Sequence[Trajectories], plan: Plan, *, ncols: int = 4) -> Figure:
    """Small multiples of :func:`spaghetti`, one panel per measure.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> from outcomes.descriptive.trajectories import trajectories
    >>> a = analyse()
    >>> ts = [trajectories(a.visits, a.claims, m, n_show=5) for m in ("rom_slr_left", "rom_slr_right")]
    >>> len(trajectories_grid(ts, a.plan).axes)
    2
    """
    fig, axes = _grid(len(trajs), ncols, (3.0, 2.3))
    for ax, traj in zip(axes.flat, trajs):
        m = plan.measure(traj.measure)
        spaghetti(traj, m, ax=ax, title=m.label)
        ax.title.set_fontsize(9)
        ax.set_xlabel("Visit")
        ax.set_ylabel(m.unit)
        ax.get_legend().remove()
    if trajs:
        handles, labels = axes.flat[0].get_legend_handles_labels()
        labels = ["CI of the mean", "mixed-model mean", "sampled episodes"][: len(labels)]
        fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    return fig


def waterfall(changes: pd.DataFrame, measure: Measure, k: int, *, ax: Axes | None = None) -> Figure:
    """Each episode's improvement from baseline to visit k, ranked, with the rule's threshold.

    Parameters
    ----------
    changes : DataFrame
        :func:`outcomes.descriptive.trajectories.change_at_k` output (``gain``, ``improved``, ``rank``).
    measure : Measure
        Gives the unit and the absolute threshold.
    k : int
        The visit.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> from outcomes.descriptive.trajectories import change_at_k
    >>> a = analyse()
    >>> w = change_at_k(a.visits, a.claims, "pain_nprs")
    >>> len(waterfall(w, a.plan.measure("pain_nprs"), 3).axes[0].patches) == len(w)
    True
    """
    fig, ax = _axes(ax, (6.4, 3.6))
    improved = changes["improved"].to_numpy(dtype=bool)
    for mask, colour, hatch, label in (
        (improved, PALETTE[0], "", "met the improvement rule"),
        (~improved, PALETTE[7], "///", "did not"),
    ):
        ax.bar(
            changes["rank"].to_numpy()[mask],
            changes["gain"].to_numpy()[mask],
            width=1.0,
            color=colour,
            hatch=hatch,
            edgecolor="white" if not hatch else "0.3",
            linewidth=0,
            label=f"{label} ({mask.sum()})",
        )
    ax.axhline(0, color="black", linewidth=0.8)
    rel = f" and {measure.threshold_rel:.0%} of baseline" if measure.threshold_rel is not None else ""
    ax.axhline(
        measure.threshold_abs,
        color="black",
        linestyle="--",
        linewidth=1,
        label=f"rule: {measure.threshold_abs:g} {measure.unit}{rel}",
    )
    ax.set_xlim(0.5, max(len(changes), 1) + 0.5)
    ax.set_xlabel(f"Episodes measured at visit {k}, ranked by improvement")
    ax.set_ylabel(f"Improvement ({measure.unit})")
    ax.set_title(f"{measure.label}: change from baseline to visit {k} (positive = better)", fontsize=11)
    ax.legend(loc="upper right", fontsize=8)
    return fig


def _n_labels(frame: pd.DataFrame) -> list[str]:
    """``n`` as a label: ``n = 40``, ``n <11`` (small cell) or ``n withheld`` (complementary suppression).

    Uses the display column ``n_text`` of a disclosed frame
    (:func:`outcomes.disclosure.disclose_claims`) when there is one, else ``n``.
    """
    texts = frame["n_text"] if "n_text" in frame.columns else frame["n"].astype("str")
    return ["n withheld" if t == "*" else (f"n {t}" if t.startswith("<") else f"n = {t}") for t in texts]


def _mark_suppressed(ax: Axes, frame: pd.DataFrame) -> None:
    """Say "suppressed" on the rows of a disclosed frame that are withheld (nothing else is drawn there)."""
    if "suppressed" not in frame.columns:
        return
    y = np.arange(len(frame))[::-1]
    for yi, sup in zip(y, frame["suppressed"].to_numpy(dtype=bool)):
        if sup:
            ax.text(0.02, yi, "suppressed: too few episodes", va="center", fontsize=8, color="0.3", style="italic")


def _interval_rows(ax: Axes, frame: pd.DataFrame, labels: Sequence[str], p0: float) -> None:
    """Horizontal estimate + CI rows, verdict shown by colour AND marker; suppressed rows labelled."""
    y = np.arange(len(frame))[::-1]
    _mark_suppressed(ax, frame)
    for yi, (_, row) in zip(y, frame.iterrows()):
        # rows without a verdict (descriptive estimates) get a neutral style
        colour, marker, _ = VERDICT_STYLE.get(str(row.get("verdict")), (PALETTE[0], "o", ""))
        if pd.isna(row["estimate"]):
            continue
        ax.plot([row["ci_low"], row["ci_high"]], [yi, yi], color=colour, linewidth=2.2)
        ax.plot(
            [row["estimate"]],
            [yi],
            marker=marker,
            color=colour,
            markeredgecolor="black",
            markersize=8,
            linestyle="none",
        )
    ax.axvline(p0, color="black", linestyle="--", linewidth=1)
    ax.set_yticks(y, labels)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.7, len(frame) - 0.3)
    _pct_axis(ax.xaxis)
    ax.grid(axis="x", color="0.9")
    ax.set_axisbelow(True)
    for verdict, (colour, marker, words) in VERDICT_STYLE.items():
        if "verdict" in frame.columns and (frame["verdict"] == verdict).any():
            ax.plot([], [], marker=marker, color=colour, markeredgecolor="black", linestyle="-", label=words)
    ax.plot([], [], color="black", linestyle="--", linewidth=1, label=f"p0 = {p0:.0%}")


def sensitivity_forest(
    sensitivity: pd.DataFrame, *, p0: float, ax: Axes | None = None, title: str | None = None
) -> Figure:
    """The primary estimate and every sensitivity analysis of one claim, each with its CI and verdict.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> c = analyse().claims
    >>> s = c.sensitivity[c.sensitivity["measure"] == "pain_nprs"]
    >>> len(sensitivity_forest(s, p0=0.5).axes[0].get_yticks()) == len(s)
    True
    """
    fig, ax = _axes(ax, (6.4, 0.45 * len(sensitivity) + 1.3))
    words = {
        "kaplan_meier": "primary (Kaplan-Meier)",
        "itt": "dropouts = not improved",
        "completers": "completers only",
        "k_minus_1": "one visit earlier",
        "k_plus_1": "one visit later",
        "absolute_only": "absolute threshold only",
        "relative_only": "relative threshold only",
    }
    labels = [
        f"{words.get(a, a.replace('_', ' '))} (n = {n})" for a, n in zip(sensitivity["analysis"], sensitivity["n"])
    ]
    _interval_rows(ax, sensitivity, labels, p0)
    ax.set_xlabel("Episodes improved (%)")
    ax.set_title(title or "Primary analysis and sensitivity analyses", fontsize=11)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def claims_forest(claims: pd.DataFrame, *, ax: Axes | None = None) -> Figure:
    """Every claim's P(improved by visit k) with its CI, coloured and shaped by verdict.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> c = analyse().claims.claims
    >>> len(claims_forest(c).axes[0].get_yticks()) == len(c)
    True
    """
    fig, ax = _axes(ax, (7.2, 0.42 * len(claims) + 1.4))
    if claims.empty:
        ax.text(0.5, 0.5, "no claims to show", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    labels = [f"{lab} ({n})" for lab, n in zip(claims["label"], _n_labels(claims))]
    _interval_rows(ax, claims, labels, float(claims["p0"].iloc[0]))
    k = int(claims["k"].iloc[0])
    ax.set_xlabel(f"Episodes improved by visit {k} (%)")
    ax.set_title(f"Share of episodes improved by visit {k}, {claims['conf_level'].iloc[0]:.0%} CI", fontsize=11)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def condition_forest(estimates: pd.DataFrame, *, p0: float, k: int, ax: Axes | None = None) -> Figure:
    """Per-condition P(improved by visit k) with CIs; suppressed conditions labelled, not drawn.

    Parameters
    ----------
    estimates : DataFrame
        :func:`outcomes.descriptive.subgroups.condition_estimates` output.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> from outcomes.descriptive.subgroups import condition_estimates
    >>> a = analyse()
    >>> e = condition_estimates(a.claims)
    >>> ax = condition_forest(e, p0=0.5, k=3).axes[0]
    >>> [t.get_text() for t in ax.get_yticklabels()][-1]
    "Golfer's elbow (medial epicondylalgia) (n <11)"
    """
    fig, ax = _axes(ax, (7.2, 0.42 * len(estimates) + 1.4))
    frame = estimates.drop(columns="verdict", errors="ignore")
    labels = [f"{lab} ({n})" for lab, n in zip(estimates["label"], _n_labels(estimates))]
    _interval_rows(ax, frame, labels, p0)
    ax.get_yticklabels()[0].set_fontweight("bold")
    level = estimates["conf_level"].dropna()
    ax.set_xlabel(f"Episodes improved by visit {k} (%), {level.iloc[0]:.0%} CI (not adjusted)")
    ax.set_title("By condition (descriptive)", fontsize=11)
    ax.legend(handles=ax.get_legend_handles_labels()[0][-1:], loc="lower right", fontsize=8)
    return fig


def missingness_heatmap(missing: pd.DataFrame, *, ax: Axes | None = None) -> Figure:
    """Percent of attended visits at which an applicable measure was not recorded.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> from outcomes.descriptive.cohort import missingness
    >>> a = analyse()
    >>> fig = missingness_heatmap(missingness(a.visits, a.plan))
    >>> fig.axes[0].get_xlabel()
    'Visit number'
    """
    grid = missing.pivot(index="measure", columns="visit_number", values="pct_missing")
    fig, ax = _axes(ax, (7.2, 0.3 * len(grid) + 1.6))
    sns.heatmap(
        grid,
        ax=ax,
        cmap="Greys",
        vmin=0,
        vmax=max(10.0, float(np.nanmax(grid.to_numpy()))),
        annot=True,
        fmt=".0f",
        annot_kws={"fontsize": 7},
        linewidths=0.5,
        linecolor="white",
        cbar_kws={"label": "missing (% of attended visits)"},
    )
    ax.set_xlabel("Visit number")
    ax.set_ylabel("")
    ax.set_title("Missing measurements", fontsize=11)
    return fig
