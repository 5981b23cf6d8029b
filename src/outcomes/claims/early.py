"""Claim: needling is "especially useful early in treatment".

Read as: the per-visit improvement of the plan's primary measure is larger over the
first visits than later.  Model: the mixed model of the primary claim's trajectory
(:func:`outcomes.stats.fit_trajectory`, REML, random intercept and slope per episode)
with ``transform="piecewise"``: two straight segments joined at the knee
(``other_claims.early.knee``, default visit 3), visits 1 to ``max_visit``, episodes
included in the primary claim (baseline present, improvement reachable).

Estimate
    ``early - late`` = per-visit improvement before the knee minus per-visit improvement
    after it, in the measure's unit per visit, improvement counted in the good direction
    (a pain drop is positive): ``direction * (slope_before - slope_after)``, Wald interval
    from the REML covariance.  ``supported`` when its (1 - 2 alpha) interval lies above 0,
    ``not_supported`` when below 0 (improvement faster later), else ``inconclusive``.
    Even then, early change in an uncontrolled series also contains regression to the
    mean and natural recovery, which are fastest early too.

Examples
--------
>>> from outcomes.ingest.synth import SynthParams, simulate_visits
>>> from outcomes.spec.plan import Plan
>>> sim = simulate_visits(SynthParams(n_episodes=120), seed=4)
>>> early_claim(sim.visits, Plan())["analysis"].tolist()
['piecewise_slope_difference', 'slope_early', 'slope_late']
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from outcomes.claims.result import ESTIMATE_FIELDS, not_testable, result_frame
from outcomes.episodes.core import measure_changes, summarize_episodes
from outcomes.errors import OutcomesError
from outcomes.spec.claim_settings import settings
from outcomes.spec.plan import Plan
from outcomes.stats import fit_trajectory
from outcomes.stats.decision import wald_result

__all__ = ["MIN_EPISODES", "early_claim", "trajectory_frame"]

#: Fewest episodes for the piecewise mixed model (a random intercept and slope per episode).
MIN_EPISODES = 3


def trajectory_frame(visits: pd.DataFrame, plan: Plan) -> tuple[pd.DataFrame, int]:
    """Values of the primary measure for the trajectory model, and the episodes of the measure.

    One side per episode (as the primary claim), included episodes only, visits
    ``1..max_visit``.

    Examples
    --------
    >>> v = pd.DataFrame({"episode_id": ["A", "A", "B"], "visit_number": [1, 2, 1], "measure": "pain_nprs",
    ...                   "side": "none", "value": [6.0, 4.0, 1.0]})
    >>> data, n_measure = trajectory_frame(v, Plan())
    >>> data[["episode_id", "visit_number", "value"]].values.tolist(), n_measure
    ([['A', 1, 6.0], ['A', 2, 4.0]], 2)
    """
    code = plan.primary_measure
    summary = summarize_episodes(visits, plan.registry, measures=[code], event=plan.improvement_event)
    keep = summary.loc[summary["status"] == "included", ["episode_id", "measure", "side"]]
    changes = measure_changes(visits, plan.registry, measures=[code])
    data = changes.merge(keep, on=["episode_id", "measure", "side"], how="inner")
    data = data[data["visit_number"] <= plan.max_visit]
    return data[["episode_id", "visit_number", "value"]].reset_index(drop=True), len(summary)


def early_claim(visits: Any, plan: Plan) -> pd.DataFrame:
    """Test whether per-visit improvement is larger before the knee than after it.

    Parameters
    ----------
    visits : DataFrame or LoadedVisits
        Canonical visits.
    plan : Plan
        ``primary_measure``, ``max_visit``, ``alpha`` and ``other_claims.early.knee``.

    Returns
    -------
    DataFrame
        :data:`outcomes.claims.result.RESULT_COLUMNS`: the primary
        ``piecewise_slope_difference`` row and the ``slope_early`` / ``slope_late`` rows
        (improvement per visit, measure units).

    Examples
    --------
    >>> from outcomes.ingest.synth import SynthParams, simulate_visits
    >>> out = early_claim(simulate_visits(SynthParams(n_episodes=120), seed=2).visits, Plan())
    >>> out["analysis"].tolist()
    ['piecewise_slope_difference', 'slope_early', 'slope_late']
    >>> v = pd.DataFrame({"episode_id": ["E1", "E1"], "visit_number": [1, 2], "measure": "pain_nprs",
    ...                   "side": "none", "value": [5.0, 3.0]})
    >>> early_claim(v, Plan())["reason"].iloc[0]
    'not testable: need visits after the knee (visit 3) and at least 3 episodes'
    """
    frame = getattr(visits, "visits", visits)
    knee = int(settings("early", plan.other_claims)["knee"])
    code, m = plan.primary_measure, plan.measure(plan.primary_measure)
    data, n_measure = trajectory_frame(frame, plan)
    reason = f"not testable: need visits after the knee (visit {knee}) and at least {MIN_EPISODES} episodes"
    if data["episode_id"].nunique() < MIN_EPISODES or not (data["visit_number"] > knee).any():
        return not_testable("early", "early", reason, code)
    try:
        fit = fit_trajectory(data, transform="piecewise", knot=knee, conf_level=plan.conf_level)
    except OutcomesError:
        return not_testable("early", "early", reason, code)
    diff = fit.slope_difference().iloc[0]
    res = wald_result(-m.direction * float(diff["estimate"]), float(diff["std_err"]), 0.0, plan.conf_level)
    fe = {str(t): r for t, r in fit.fixed_effects().set_index("term").to_dict("index").items()}
    method = "mixed_model_piecewise_reml" + ("" if fit.converged else " (not converged)")
    n_excl = n_measure - fit.n_groups
    slopes = {
        name: m.direction * float(fe[term]["estimate"])
        for name, term in (("early", "slope_before"), ("late", "slope_after"))
    }
    base = dict(
        claim="early",
        id="early",
        measure=code,
        n=fit.n_groups,
        n_excluded=n_excl,
        method=method,
        knee=knee,
        n_visits=fit.n_obs,
        converged=fit.converged,
    )
    rows = [
        dict(
            base,
            analysis="piecewise_slope_difference",
            primary=True,
            p0=res["threshold"],
            **{c: res[c] for c in ("verdict", *ESTIMATE_FIELDS)},
        )
    ]
    for name, term in (("early", "slope_before"), ("late", "slope_after")):
        lo, hi = m.direction * fe[term]["ci_low"], m.direction * fe[term]["ci_high"]
        rows.append(
            dict(
                base,
                analysis=f"slope_{name}",
                estimate=slopes[name],
                ci_low=min(lo, hi),
                ci_high=max(lo, hi),
                conf_level=plan.conf_level,
                p_value=fe[term]["p_value"],
            )
        )
    return result_frame(rows)
