"""Claim: post-needling soreness "lasts a few hours up to two days".

Unit of analysis: a needled visit (a visit whose ``treatment`` includes
``dry_needling``; every visit with a soreness report when ``treatment`` is absent)
with a ``soreness_hours`` report.  Needled visits without a report are excluded and
counted.

Share resolved
    ``share`` = proportion of needled visits whose soreness lasted at most ``hours``
    (plan ``other_claims.soreness.hours``, default 48).  Visits of one episode are not
    independent (the same patient, muscle and therapist), so the interval accounts for
    clustering by episode: the ratio estimator ``sum_g y_g / sum_g m_g`` over episodes
    ``g`` with its linearization (cluster-robust) variance
    ``G / (G - 1) * sum_g (y_g - share * m_g)^2 / N^2`` (Cochran 1977, ch. 6; computed as
    the intercept of an OLS fit with statsmodels' cluster-robust covariance, which is
    the same formula).  Chosen over a cluster bootstrap because it is closed-form and
    deterministic and episodes are many; it is a normal (Wald) interval, so it is less
    accurate when the share is within a few standard errors of 0 or 1 (limits are
    clipped to [0, 1]).
Verdict
    The plan's ``share`` (default 0.90) is the threshold: ``supported`` when the one-sided
    (1 - alpha) lower bound exceeds it, ``not_supported`` when the upper bound is below
    it, else ``inconclusive`` (the three-way rule of the primary claim).
Distribution
    Supporting rows give quantiles (10, 25, 50, 75, 90%) of ``soreness_hours``.

Examples
--------
>>> from outcomes.ingest.synth import SynthParams, simulate_visits
>>> from outcomes.spec.plan import Plan
>>> sim = simulate_visits(SynthParams(n_episodes=100), seed=3)
>>> soreness_claim(sim.visits, Plan())["analysis"].tolist()[:2]
['share_within_hours', 'quantile_10']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm

from outcomes.claims.result import (
    ESTIMATE_FIELDS,
    group_sizes,
    missing_columns,
    not_testable,
    not_testable_reason,
    result_frame,
)
from outcomes.spec.claim_settings import settings
from outcomes.spec.contract import parse_treatment
from outcomes.spec.plan import Plan
from outcomes.stats.decision import wald_result

__all__ = ["QUANTILES", "needled_visits", "soreness_claim", "soreness_groups", "soreness_share"]

#: Quantiles of soreness duration reported.
QUANTILES: tuple[float, ...] = (0.10, 0.25, 0.50, 0.75, 0.90)


def needled_visits(visits: pd.DataFrame) -> pd.DataFrame:
    """One row per needled visit: ``episode_id``, ``visit_number``, ``soreness_hours``.

    Examples
    --------
    >>> v = pd.DataFrame({"episode_id": ["A", "A", "A"], "visit_number": [1, 1, 2],
    ...                   "treatment": ["dry_needling", "dry_needling", "exercise"],
    ...                   "soreness_hours": [12.0, 12.0, np.nan]})
    >>> needled_visits(v)
      episode_id  visit_number  soreness_hours
    0          A             1            12.0
    """
    cols = ["episode_id", "visit_number", "soreness_hours"]
    per_visit = visits.drop_duplicates(["episode_id", "visit_number"])
    if "treatment" in visits.columns and per_visit["treatment"].notna().any():
        vocab = pd.unique(per_visit["treatment"].dropna())
        needled = {t for t in vocab if "dry_needling" in parse_treatment(t)}  # distinct strings only
        per_visit = per_visit[per_visit["treatment"].isin(needled)]
    else:
        per_visit = per_visit[per_visit["soreness_hours"].notna()]
    return per_visit[cols].reset_index(drop=True)


def soreness_share(soreness: pd.DataFrame, hours: float, *, threshold: float, conf_level: float) -> dict[str, Any]:
    """Share of visits with soreness <= ``hours``, interval clustered by episode.

    Parameters
    ----------
    soreness : DataFrame
        ``episode_id`` and ``soreness_hours`` (no missing values), one row per visit.
    hours : float
        Resolution limit.
    threshold : float
        Share the verdict compares with.
    conf_level : float
        Two-sided level (``1 - 2 alpha``).

    Returns
    -------
    dict
        ``estimate``, ``std_err``, ``ci_low``, ``ci_high``, ``conf_level``, ``threshold``,
        ``p_value`` (H0 share <= threshold), ``p_value_not``, ``verdict``, ``n`` (visits),
        ``n_episodes``, ``method``.

    Examples
    --------
    >>> s = pd.DataFrame({"episode_id": ["a", "a", "b", "c", "c", "c"],
    ...                   "soreness_hours": [10.0, 60, 20, 30, 40, 50]})
    >>> r = soreness_share(s, 48, threshold=0.5, conf_level=0.9)
    >>> round(r["estimate"], 4), r["n"], r["n_episodes"]
    (0.6667, 6, 3)
    """
    y = (soreness["soreness_hours"].to_numpy(dtype=float) <= hours).astype(float)
    groups = pd.factorize(soreness["episode_id"])[0]
    n_episodes = int(groups.max()) + 1 if groups.size else 0
    if n_episodes < 2:
        out = wald_result(float(y.mean()) if y.size else np.nan, np.nan, threshold, conf_level)
        return {**out, "std_err": np.nan, "n": int(y.size), "n_episodes": n_episodes, "method": "none"}
    fit = sm.OLS(y, np.ones((y.size, 1))).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=False)
    est, se = float(fit.params[0]), float(fit.bse[0])
    if se == 0:  # all visits on one side of the limit: no variation to estimate
        se = np.nan
    out = wald_result(est, se, threshold, conf_level)
    if np.isfinite(out["ci_low"]):
        out["ci_low"], out["ci_high"] = max(out["ci_low"], 0.0), min(out["ci_high"], 1.0)
    return {
        **out,
        "std_err": se,
        "n": int(y.size),
        "n_episodes": n_episodes,
        "method": "ratio_estimator_cluster_robust_episode",
    }


def _reported(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Needled visits with a soreness report, and the number of needled visits without one."""
    needled = needled_visits(frame)
    reported = needled[needled["soreness_hours"].notna()]
    return reported, len(needled) - len(reported)


def soreness_groups(visits: Any, plan: Plan) -> pd.DataFrame:
    """The episodes behind the soreness claim, whose ``n`` counts visits (for small-cell suppression).

    Returns
    -------
    DataFrame
        ``id`` (``"soreness"``), ``group`` (``"episodes"``), ``n``: episodes with a reported
        needled visit; empty when the data has no ``soreness_hours``.

    Examples
    --------
    >>> v = pd.DataFrame({"episode_id": ["A", "A", "B"], "visit_number": [1, 2, 1],
    ...                   "soreness_hours": [10.0, 20.0, np.nan]})
    >>> soreness_groups(v, Plan())
             id     group  n
    0  soreness  episodes  1
    """
    frame = getattr(visits, "visits", visits)
    if missing_columns(frame, ["soreness_hours"]):
        return group_sizes("soreness", [], [])
    reported, _ = _reported(frame)
    return group_sizes("soreness", ["episodes"], [reported["episode_id"].nunique()])


def soreness_claim(visits: Any, plan: Plan) -> pd.DataFrame:
    """Test "soreness lasts a few hours up to two days" (share resolved within ``hours``).

    Parameters
    ----------
    visits : DataFrame or LoadedVisits
        Canonical visits with ``soreness_hours`` (and ``treatment`` when recorded).
    plan : Plan
        ``alpha`` and ``other_claims.soreness`` (``hours``, ``share``).

    Returns
    -------
    DataFrame
        :data:`outcomes.claims.result.RESULT_COLUMNS`: the primary ``share_within_hours``
        row and one ``quantile_<q>`` row per quantile (``estimate`` in hours).

    Examples
    --------
    >>> v = pd.DataFrame({"episode_id": "E1", "visit_number": [1, 2], "measure": "pain_nprs",
    ...                   "side": "none", "value": [5.0, 3.0]})
    >>> soreness_claim(v, Plan())["reason"].iloc[0]
    'not testable: column soreness_hours missing'
    """
    frame = getattr(visits, "visits", visits)
    missing = missing_columns(frame, ["soreness_hours"])
    if missing:
        return not_testable("soreness", "soreness", not_testable_reason(missing))
    cfg = settings("soreness", plan.other_claims)
    hours, share = float(cfg["hours"]), float(cfg["share"])
    reported, n_excl = _reported(frame)
    if reported.empty:
        return not_testable("soreness", "soreness", "not testable: no needled visit has a soreness report")
    r = soreness_share(reported, hours, threshold=share, conf_level=plan.conf_level)
    q = np.quantile(reported["soreness_hours"].to_numpy(dtype=float), QUANTILES)

    rows = [
        dict(
            claim="soreness",
            id="soreness",
            analysis="share_within_hours",
            primary=True,
            **{c: r[c] for c in ("verdict", *ESTIMATE_FIELDS, "n", "method")},
            p0=r["threshold"],
            n_excluded=n_excl,
            hours=hours,
            n_episodes=int(r["n_episodes"]),
        )
    ]
    rows += [
        dict(
            claim="soreness",
            id="soreness",
            analysis=f"quantile_{round(100 * p):02d}",
            estimate=x,
            n=r["n"],
            n_excluded=n_excl,
            method="empirical_quantile_linear",
            quantile=p,
        )
        for p, x in zip(QUANTILES, q)
    ]
    return result_frame(rows)
