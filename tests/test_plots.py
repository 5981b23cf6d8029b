"""Figures: returned (not left open in pyplot), labelled with units, verdicts distinguishable in greyscale."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from outcomes.analysis import analyse
from outcomes.descriptive.cohort import missingness
from outcomes.descriptive.subgroups import condition_estimates
from outcomes.descriptive.trajectories import change_at_k, trajectories
from outcomes.report import figures as plots


@pytest.fixture(scope="module")
def a():
    return analyse()


@pytest.fixture(scope="module")
def figures(a):
    c, p = a.claims, a.plan
    pain = c.claims.iloc[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figs = {
            "curve": plots.improvement_curve(c.curves[c.curves["id"] == pain["id"]], pain),
            "curves_grid": plots.improvement_curves_grid(c.curves, c.claims.iloc[1:5]),
            "spaghetti": plots.spaghetti(trajectories(a.visits, c, "pain_nprs", n_show=10), p.measure("pain_nprs")),
            "traj_grid": plots.trajectories_grid(
                [trajectories(a.visits, c, m, n_show=5) for m in c.claims["measure"].iloc[1:3]], p
            ),
            "waterfall": plots.waterfall(change_at_k(a.visits, c, "pain_nprs"), p.measure("pain_nprs"), p.k),
            "sensitivity": plots.sensitivity_forest(c.sensitivity[c.sensitivity["id"] == pain["id"]], p0=p.p0),
            "claims": plots.claims_forest(c.claims),
            "conditions": plots.condition_forest(condition_estimates(c), p0=p.p0, k=p.k),
            "missing": plots.missingness_heatmap(missingness(a.visits, p)),
        }
    return figs, caught


def test_every_plot_returns_a_closed_figure_without_warnings(figures):
    figs, caught = figures
    assert all(isinstance(f, Figure) for f in figs.values())
    open_figs = {id(plt.figure(n)) for n in plt.get_fignums()}
    assert not open_figs & {id(f) for f in figs.values()}
    relevant = [w for w in caught if "matplotlib" in w.filename or "seaborn" in w.filename or "outcomes" in w.filename]
    assert relevant == [], [str(w.message) for w in relevant]


def test_axes_carry_units(figures):
    figs, _ = figures
    assert figs["spaghetti"].axes[0].get_ylabel() == "Pain (NPRS 0-10) (points)"
    assert "(points)" in figs["waterfall"].axes[0].get_ylabel()
    assert "%" in figs["curve"].axes[0].get_ylabel()
    assert figs["curve"].axes[0].get_xlabel().startswith("Visit number")
    assert "degrees" in {ax.get_ylabel() for ax in figs["traj_grid"].axes if ax.get_visible()}


def test_verdicts_differ_by_marker_not_only_colour():
    markers = [m for _, m, _ in plots.VERDICT_STYLE.values()]
    assert len(set(markers)) == len(markers)


def test_condition_forest_labels_suppressed_rows(figures, a):
    ax = figures[0]["conditions"].axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert any(lab.endswith("(n <11)") for lab in labels)
    assert any("n withheld" in lab for lab in labels)
    assert labels[0].startswith("All episodes")


def test_figures_are_small(figures):
    for name, fig in figures[0].items():
        w, h = fig.get_size_inches() * fig.dpi
        assert w <= 1000 and h <= 1000, name


def test_waterfall_sorted_and_threshold_drawn(figures, a):
    ax = figures[0]["waterfall"].axes[0]
    heights = [p.get_height() for p in sorted(ax.patches, key=lambda p: p.get_x())]
    assert heights == sorted(heights, reverse=True)
    assert any(line.get_ydata()[0] == a.plan.measure("pain_nprs").threshold_abs for line in ax.get_lines())


def test_trajectory_panel_of_a_measure_without_episodes_is_drawn_empty(a):
    import pandas as pd

    from outcomes.descriptive.trajectories import Trajectories

    empty = Trajectories(
        measure="rom_cervical_flexion",
        n_episodes=0,
        n_obs=0,
        n_shown=0,
        converged=False,
        fit=None,
        lines=pd.DataFrame(columns=["episode_id", "visit_number", "value"]),
        mean=pd.DataFrame(columns=["visit", "estimate", "std_err", "ci_low", "ci_high", "conf_level"]),
    )
    fig = plots.spaghetti(empty, a.plan.measure("rom_cervical_flexion"))
    assert isinstance(fig, Figure) and not fig.axes[0].get_lines()[0].get_xdata().size
    plt.close(fig)


def test_disclosed_forest_and_curve_draw_nothing_of_a_suppressed_claim(a):
    from matplotlib.text import Text

    shown = a.claims.claims.assign(n=[392, 5, *a.claims.claims["n"].iloc[2:]])
    from outcomes.disclosure import disclose_claims

    disclosed = disclose_claims(shown, a.plan.min_cell_size)
    ax = plots.claims_forest(disclosed).axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[1].endswith("(n <11)") and labels[0].endswith("(n = 392)")
    texts = [t.get_text() for t in ax.findobj(Text)]
    assert texts.count("suppressed: too few episodes") == 1
    hidden = a.claims.claims.iloc[1]
    drawn = [x for line in ax.get_lines() for x in line.get_xdata()]
    assert hidden["estimate"] not in drawn and hidden["ci_low"] not in drawn
    row = disclosed.iloc[1]
    fig = plots.improvement_curve(a.claims.curves[a.claims.curves["id"] == row["id"]], row)
    assert fig.axes[0].get_lines()[0].get_xdata().tolist() == [1]  # no curve beyond the origin
    assert "suppressed: too few episodes" in [t.get_text() for t in fig.axes[0].texts]
