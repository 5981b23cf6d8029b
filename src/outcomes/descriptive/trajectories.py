"""Per-episode measurements of a claim measure, ready for figures: trajectories and change at visit k.

The figures of the notebooks (:mod:`outcomes.report.figures`) draw only what is computed here
or by :mod:`outcomes.claims.improvement`; nothing is estimated in a plotting function.

The episodes used are exactly those the claim used: ``status == "included"`` in
``ClaimsResult.episodes`` (so an episode without a baseline, or whose baseline
cannot improve by the rule, is left out here too), on the side the claim analysed,
and visits ``1 .. plan.max_visit``.

Examples
--------
>>> from outcomes.ingest.synth import SynthParams, simulate_visits
>>> from outcomes.claims.improvement import evaluate_claims
>>> from outcomes.spec.plan import Plan
>>> sim = simulate_visits(SynthParams(n_episodes=80), seed=5)
>>> res = evaluate_claims(sim.visits, Plan(n_boot=200))
>>> t = trajectories(sim.visits, res, "pain_nprs", n_show=10)
>>> t.n_shown, t.lines["episode_id"].nunique(), list(t.mean.columns[:2])
(10, 10, ['visit', 'estimate'])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from outcomes.claims.improvement import ClaimsResult
from outcomes.episodes.core import change_at_visit, measure_changes
from outcomes.errors import OutcomesError
from outcomes.stats import TrajectoryFit, fit_trajectory

__all__ = ["Trajectories", "change_at_k", "claim_measurements", "trajectories"]

_KEY = ["episode_id", "measure", "side"]


@dataclass(frozen=True)
class Trajectories:
    """Individual trajectories (a seeded sample) and the mixed-model mean of one measure.

    Attributes
    ----------
    measure : str
        Measure code.
    lines : DataFrame
        ``episode_id, visit_number, value`` of the sampled episodes.
    mean : DataFrame
        Mixed-model population mean per visit: ``visit, estimate, std_err, ci_low,
        ci_high, conf_level`` (empty when the model could not be fitted).
    n_episodes, n_obs : int
        Episodes and measurements the model used.
    n_shown : int
        Episodes drawn in ``lines``.
    converged : bool
        Whether the mixed model converged (False also when it could not be fitted).
    fit : TrajectoryFit or None
        The fitted model.
    """

    measure: str
    lines: pd.DataFrame
    mean: pd.DataFrame
    n_episodes: int
    n_obs: int
    n_shown: int
    converged: bool
    fit: TrajectoryFit | None


def claim_measurements(visits: pd.DataFrame, result: ClaimsResult, measure: str) -> pd.DataFrame:
    """Measurements of ``measure`` for the episodes (and sides) the claim included.

    Returns
    -------
    DataFrame
        :func:`outcomes.episodes.core.measure_changes` columns, visits ``1 .. max_visit``.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> a = analyse()
    >>> m = claim_measurements(a.visits, a.claims, "pain_nprs")
    >>> int(m["episode_id"].nunique()) == int(a.claims.claims.loc[0, "n"])
    True
    """
    plan = result.plan
    eps = result.episodes
    keep = eps.loc[(eps["measure"] == measure) & (eps["status"] == "included"), _KEY]
    changes = measure_changes(visits, plan.registry, measures=[measure])
    changes = changes.merge(keep, on=_KEY, how="inner")
    return changes[changes["visit_number"] <= plan.max_visit].reset_index(drop=True)


def trajectories(visits: pd.DataFrame, result: ClaimsResult, measure: str, *, n_show: int = 40) -> Trajectories:
    """Seeded sample of individual trajectories plus the mixed-model mean with its band.

    Parameters
    ----------
    visits : DataFrame
        Canonical visits.
    result : ClaimsResult
        Output of :func:`outcomes.claims.improvement.evaluate_claims` (its plan gives the seed,
        the time scale ``trajectory`` and the confidence level).
    measure : str
        Measure code.
    n_show : int
        Episodes to draw (sampled without replacement with ``plan.seed``).

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> a = analyse()
    >>> t = trajectories(a.visits, a.claims, "pain_nprs", n_show=5)
    >>> t.converged, t.mean["visit"].iloc[0], t.n_shown
    (True, np.int64(1), 5)
    """
    plan = result.plan
    data = claim_measurements(visits, result, measure)
    ids = np.sort(np.asarray(pd.unique(data["episode_id"])))  # np.sort makes the same array of an ExtensionArray
    rng = np.random.default_rng(plan.seed)
    shown = rng.choice(ids, size=min(n_show, ids.size), replace=False) if ids.size else ids
    lines = data.loc[data["episode_id"].isin(shown), ["episode_id", "visit_number", "value"]]
    fit: TrajectoryFit | None
    try:
        fit = fit_trajectory(data, transform=plan.trajectory, conf_level=plan.conf_level)
    except OutcomesError:  # too few episodes for a mixed model: the figure shows the lines only
        fit = None
    if fit is None:
        mean = pd.DataFrame(columns=["visit", "estimate", "std_err", "ci_low", "ci_high", "conf_level"])
    else:
        mean = fit.mean_curve(np.arange(1, int(data["visit_number"].max()) + 1))
    return Trajectories(
        measure=measure,
        lines=lines.reset_index(drop=True),
        mean=mean,
        n_episodes=int(ids.size),
        n_obs=len(data),
        n_shown=len(shown),
        converged=bool(fit is not None and fit.converged),
        fit=fit,
    )


def change_at_k(visits: pd.DataFrame, result: ClaimsResult, measure: str) -> pd.DataFrame:
    """Each included episode's change from baseline to visit ``k``, ranked (a waterfall).

    Returns
    -------
    DataFrame
        ``episode_id, baseline, value, change, gain, improved, rank`` sorted from the
        largest gain (rank 1) to the smallest (among equal gains, improved first); episodes not
        measured at ``k`` are absent (their number is ``n_not_measured_at_k`` in ``ClaimsResult.change``).

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> a = analyse()
    >>> w = change_at_k(a.visits, a.claims, "pain_nprs")
    >>> len(w) == int(a.claims.change.query("measure == 'pain_nprs'")["n"].iloc[0])
    True
    >>> bool(w["gain"].is_monotonic_decreasing)
    True
    """
    plan = result.plan
    eps = result.episodes
    summary = eps[eps["measure"] == measure]
    at_k = change_at_visit(measure_changes(visits, plan.registry, measures=[measure]), plan.k, summary)
    out = at_k.sort_values(["gain", "improved", "episode_id"], ascending=[False, False, True], kind="stable")
    out = out[["episode_id", "baseline", "value", "change", "gain", "improved"]].reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    return out
