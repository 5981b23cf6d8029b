"""Mean trajectory over visits: linear mixed model with random intercept and slope.

``value ~ f(time)`` with a random intercept and a random slope per episode,
fitted by REML with :class:`statsmodels.regression.mixed_linear_model.MixedLM`
(the model of lme4's ``lmer(y ~ t + (t | g))``).  The time covariate is

- ``"log"``: ``log(time / baseline_time)``; visit 1 -> 0, so the intercept is
  the mean at baseline and the slope is the change per doubling of visits
  divided by log 2 (fast early change that levels off);
- ``"linear"``: ``time - baseline_time``;
- ``"piecewise"``: two linear segments joined at ``knot``,
  ``x1 = min(time, knot) - baseline_time`` and ``x2 = max(time - knot, 0)``; the
  fixed slopes before/after the knot test "improvement happens early in
  treatment" (:meth:`TrajectoryFit.slope_difference`).  The random part is an
  intercept and a slope on linear time (three random effects rarely converge on
  clinic-sized data).

Engines.  Up to :data:`STATSMODELS_MAX_GROUPS` episodes the model is fitted by
``MixedLM``; above, by :func:`outcomes.stats.reml.reml_fit`, the same REML criterion
computed from per-episode sums (about 1.5 s for 100,000 episodes, 20 s for a million; ``MixedLM``
needs about 5 s per 1,000), checked against lme4 and against ``MixedLM`` on the same
data.  ``engine=`` chooses explicitly.

Fixed-effect intervals and p-values are Wald (normal) from the REML covariance,
as statsmodels reports them.  Convergence: each optimizer in turn
(``lbfgs``, ``bfgs``, ``powell``, ``nm``) until one converges without a
:class:`~statsmodels.tools.sm_exceptions.ConvergenceWarning`; the warnings are
kept in :attr:`TrajectoryFit.messages` and ``converged`` is False if none
converged (the fit with the highest REML likelihood is returned, flagged, never
silently).  statsmodels' "MLE may be on the boundary" warning is not a failure:
it means a variance component is ~0 (lme4's "singular fit"); it sets
``singular = True`` and is kept in ``messages``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> ep = np.repeat(np.arange(60), 6)
>>> visit = np.tile(np.arange(1, 7), 60)
>>> u0, u1 = rng.normal(0, 1, 60), rng.normal(0, 0.4, 60)
>>> y = 6 + u0[ep] + (-1.5 + u1[ep]) * np.log(visit) + rng.normal(0, 0.5, ep.size)
>>> frame = pd.DataFrame({"episode_id": ep, "visit_number": visit, "value": y})
>>> fit = fit_trajectory(frame)
>>> fit.n_groups, fit.n_obs, fit.converged
(60, 360, True)
>>> fit.fixed_effects()[["term", "estimate"]].round(1)
        term  estimate
0  intercept       5.9
1   log_time      -1.5
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats
from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMResults
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from outcomes.stats._validate import check_conf_level, invalid
from outcomes.stats.reml import reml_fit

__all__ = ["STATSMODELS_MAX_GROUPS", "TrajectoryFit", "fit_trajectory"]

#: ``engine="auto"`` fits with statsmodels' MixedLM up to this many groups, above with
#: the group-sum REML of :mod:`outcomes.stats.reml` (MixedLM would take minutes).
STATSMODELS_MAX_GROUPS = 2_000
Engine = Literal["auto", "statsmodels", "reml"]

Transform = Literal["log", "linear", "piecewise"]
OPTIMIZERS: tuple[str, ...] = ("lbfgs", "bfgs", "powell", "nm")
_TERMS = {
    "log": ("intercept", "log_time"),
    "linear": ("intercept", "time"),
    "piecewise": ("intercept", "slope_before", "slope_after"),
}


def _design(time: np.ndarray, transform: Transform, baseline_time: float, knot: float | None) -> np.ndarray:
    t = np.asarray(time, dtype=float)
    ones = np.ones_like(t)
    if transform == "log":
        return np.column_stack([ones, np.log(t / baseline_time)])
    if transform == "linear":
        return np.column_stack([ones, t - baseline_time])
    assert knot is not None  # piecewise: fit_trajectory refuses it without a knot
    return np.column_stack([ones, np.minimum(t, knot) - baseline_time, np.maximum(t - knot, 0.0)])


@dataclass(frozen=True)
class TrajectoryFit:
    """Result of :func:`fit_trajectory` (fixed effects, covariance, variance components).

    Attributes
    ----------
    transform, baseline_time, knot, conf_level
        The model as specified.
    terms : tuple of str
        Fixed-effect names (``intercept`` first).
    params, cov : numpy.ndarray
        Fixed-effect estimates and their covariance (REML).
    random_effects_sd : dict
        ``{"intercept": sd, "slope": sd, "residual": sd}``.
    random_effects_corr : float
        Correlation of random intercept and slope.
    converged : bool
        True if an optimizer converged without a ConvergenceWarning (other than
        the boundary note).
    singular : bool
        True if statsmodels reported the estimate on the boundary (a random-effect
        variance ~0).
    optimizer : str
        Optimizer of the returned fit.
    messages : tuple of str
        Convergence warnings met on the way (empty when the first try converged).
    n_groups, n_obs : int
        Episodes and observations used.
    """

    transform: Transform
    baseline_time: float
    knot: float | None
    conf_level: float
    terms: tuple[str, ...]
    params: np.ndarray = field(repr=False)
    cov: np.ndarray = field(repr=False)
    random_effects_sd: dict[str, float]
    random_effects_corr: float
    converged: bool
    singular: bool
    optimizer: str
    messages: tuple[str, ...]
    n_groups: int
    n_obs: int

    def _z(self) -> float:
        return float(stats.norm.ppf(0.5 + self.conf_level / 2))

    def _contrast(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        est = rows @ self.params
        se = np.sqrt(np.einsum("ij,jk,ik->i", rows, self.cov, rows))
        return est, se

    def _tidy(self, est: np.ndarray, se: np.ndarray) -> dict[str, np.ndarray]:
        z = self._z()
        with np.errstate(divide="ignore", invalid="ignore"):
            p = 2 * stats.norm.sf(np.abs(est / se))
        return {"estimate": est, "std_err": se, "ci_low": est - z * se, "ci_high": est + z * se, "p_value": p}

    def fixed_effects(self) -> pd.DataFrame:
        """Tidy fixed effects: ``term, estimate, std_err, ci_low, ci_high, p_value``.

        ``p_value`` is the two-sided Wald z-test of 0.

        Examples
        --------
        >>> from outcomes.stats.mixed import _example_fit
        >>> list(_example_fit().fixed_effects().columns)
        ['term', 'estimate', 'std_err', 'ci_low', 'ci_high', 'p_value']
        """
        est, se = self.params, np.sqrt(np.diag(self.cov))
        return pd.DataFrame({"term": list(self.terms), **self._tidy(est, se)})

    def mean_curve(self, visits: ArrayLike) -> pd.DataFrame:
        """Population mean at each visit with a Wald interval from the fixed-effect covariance.

        Examples
        --------
        >>> from outcomes.stats.mixed import _example_fit
        >>> _example_fit().mean_curve([1, 4])[["visit", "estimate"]].round(1)
           visit  estimate
        0      1       5.9
        1      4       3.8
        """
        v = np.asarray(visits, dtype=float).reshape(-1)
        rows = _design(v, self.transform, self.baseline_time, self.knot)
        tidy = self._tidy(*self._contrast(rows))
        del tidy["p_value"]
        visit = v.astype(np.int64) if np.all(v == np.round(v)) else v
        return pd.DataFrame({"visit": visit, **tidy, "conf_level": self.conf_level})

    def change_at(self, k: float) -> pd.DataFrame:
        """Mean change from ``baseline_time`` to visit ``k`` (``p_value``: Wald test of 0).

        Examples
        --------
        >>> from outcomes.stats.mixed import _example_fit
        >>> _example_fit().change_at(4)[["visit", "estimate"]].round(1)
           visit  estimate
        0      4      -2.1
        """
        rows = _design(np.array([float(k)]), self.transform, self.baseline_time, self.knot) - _design(
            np.array([self.baseline_time]), self.transform, self.baseline_time, self.knot
        )
        tidy = self._tidy(*self._contrast(rows))
        return pd.DataFrame({"visit": [k], **tidy, "conf_level": self.conf_level})

    def slope_difference(self) -> pd.DataFrame:
        """Piecewise model only: slope after the knot minus slope before it.

        A positive difference for an outcome that falls with improvement (pain)
        means the decline slows after the knot, i.e. change is concentrated early.

        Examples
        --------
        >>> from outcomes.stats.mixed import _example_fit
        >>> _example_fit("piecewise").slope_difference()[["term", "estimate"]].round(1)
                                 term  estimate
        0  slope_after - slope_before       0.6
        """
        if self.transform != "piecewise":
            raise invalid("transform", "slope_difference needs transform='piecewise'", "transform")
        rows = np.array([[0.0, -1.0, 1.0]])
        return pd.DataFrame(
            {"term": ["slope_after - slope_before"], **self._tidy(*self._contrast(rows)), "conf_level": self.conf_level}
        )


def _is_boundary_note(message: str) -> bool:
    """statsmodels' "MLE may be on the boundary" ConvergenceWarning: a variance
    component estimated at ~0 (lme4's "singular fit"), not a failed optimizer."""
    return "boundary" in message


def _fit_with_fallback(model: MixedLM) -> tuple[MixedLMResults, str, bool, tuple[str, ...]]:
    messages: list[str] = []
    tried: list[tuple[MixedLMResults, str]] = []
    for name in OPTIMIZERS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            try:
                result = model.fit(reml=True, method=name)
            except (np.linalg.LinAlgError, ValueError) as exc:  # optimizer failure: try the next one
                messages.append(f"{name}: {type(exc).__name__}: {exc}")
                continue
        conv = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
        for w in caught:
            if not issubclass(w.category, ConvergenceWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        messages.extend(f"{name}: {m}" for m in conv)
        tried.append((result, name))
        failed = [m for m in conv if not _is_boundary_note(m)]
        if not failed and bool(getattr(result, "converged", False)):
            return result, name, True, tuple(messages)
    if not tried:
        raise invalid("model_fit", "the mixed model could not be fitted by any optimizer", "value")
    best, name = max(tried, key=lambda pair: pair[0].llf)
    return best, name, False, tuple(messages)


def fit_trajectory(
    frame: pd.DataFrame,
    *,
    value: str = "value",
    time: str = "visit_number",
    group: str = "episode_id",
    transform: Transform = "log",
    baseline_time: float = 1.0,
    knot: float | None = None,
    conf_level: float = 0.95,
    engine: Engine = "auto",
) -> TrajectoryFit:
    """Fit a random-intercept, random-slope trajectory model by REML.

    Parameters
    ----------
    frame : pandas.DataFrame
        Long data, one row per observation (rows with a missing value, time or
        group are dropped; ``n_obs`` tells how many were used).
    value, time, group : str
        Column names of the outcome, the visit and the episode.
    transform : {"log", "linear", "piecewise"}
        Time covariate (see the module notes).
    baseline_time : float
        Time of the baseline visit (1 for visit numbers, 0 for days); the
        intercept is the mean there.
    knot : float, optional
        Required for ``"piecewise"``: visit where the slope may change.
    conf_level : float
        Level of all Wald intervals.
    engine : {"auto", "statsmodels", "reml"}
        ``"statsmodels"``: ``MixedLM`` with the optimizer fallbacks above;
        ``"reml"``: :func:`outcomes.stats.reml.reml_fit` (``optimizer`` is then
        ``"reml_group_sums"``); ``"auto"``: statsmodels up to
        :data:`STATSMODELS_MAX_GROUPS` groups, ``"reml"`` above.

    Returns
    -------
    TrajectoryFit

    Examples
    --------
    >>> from outcomes.stats.mixed import _example_frame
    >>> fit_trajectory(_example_frame(), transform="linear").terms
    ('intercept', 'time')
    """
    level = check_conf_level(conf_level)
    missing = [c for c in (value, time, group) if c not in frame.columns]
    if missing:
        raise invalid("columns_present", f"frame lacks column(s): {', '.join(missing)}", missing[0])
    if transform not in _TERMS:
        raise invalid("transform", "transform must be 'log', 'linear' or 'piecewise'", "transform")
    if transform == "piecewise" and knot is None:
        raise invalid("knot", "transform='piecewise' needs a knot", "knot")
    if engine not in ("auto", "statsmodels", "reml"):
        raise invalid("engine", "engine must be 'auto', 'statsmodels' or 'reml'", "engine")
    data = frame[[value, time, group]].dropna()
    y = data[value].to_numpy(dtype=float)
    t = data[time].to_numpy(dtype=float)
    if transform == "log" and (baseline_time <= 0 or np.any(t <= 0)):
        raise invalid("time_positive", "transform='log' needs positive times and baseline_time", time)
    groups = data[group].to_numpy()
    n_groups = int(pd.unique(groups).size)
    if n_groups < 3 or y.size < 2 * n_groups:
        raise invalid("too_few_observations", "need at least 3 groups and on average 2 observations per group", value)
    exog = _design(t, transform, baseline_time, knot)
    exog_re = np.column_stack([np.ones_like(t), np.log(t / baseline_time) if transform == "log" else t - baseline_time])
    k = exog.shape[1]
    messages: tuple[str, ...]
    if engine == "reml" or (engine == "auto" and n_groups > STATSMODELS_MAX_GROUPS):
        fast = reml_fit(y, exog, exog_re, groups)
        params, cov, cov_re, scale = fast.params, fast.cov, fast.cov_re, fast.scale
        optimizer, converged, singular = "reml_group_sums", fast.converged, fast.singular
        messages = () if fast.converged else (f"reml_group_sums: {fast.message}",)
    else:
        model = MixedLM(y, exog, groups=groups, exog_re=exog_re)
        result, optimizer, converged, messages = _fit_with_fallback(model)
        params, scale = np.asarray(result.fe_params, dtype=float), float(result.scale)
        cov, cov_re = np.asarray(result.cov_params())[:k, :k], np.asarray(result.cov_re)
        singular = any(_is_boundary_note(m) for m in messages if m.startswith(f"{optimizer}:"))
    sd_re = np.sqrt(np.clip(np.diag(cov_re), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = float(cov_re[0, 1] / (sd_re[0] * sd_re[1])) if sd_re.all() else np.nan
    return TrajectoryFit(
        transform=transform,
        baseline_time=float(baseline_time),
        knot=None if knot is None else float(knot),
        conf_level=level,
        terms=_TERMS[transform],
        params=params,
        cov=cov,
        random_effects_sd={"intercept": float(sd_re[0]), "slope": float(sd_re[1]), "residual": float(np.sqrt(scale))},
        random_effects_corr=corr,
        converged=converged,
        singular=singular,
        optimizer=optimizer,
        messages=messages,
        n_groups=n_groups,
        n_obs=int(y.size),
    )


def _example_frame(seed: int = 1) -> pd.DataFrame:
    """Small simulated data set for the docstring examples (60 episodes x 6 visits)."""
    rng = np.random.default_rng(seed)
    ep = np.repeat(np.arange(60), 6)
    visit = np.tile(np.arange(1, 7), 60)
    u0, u1 = rng.normal(0, 1, 60), rng.normal(0, 0.4, 60)
    y = 6 + u0[ep] + (-1.5 + u1[ep]) * np.log(visit) + rng.normal(0, 0.5, ep.size)
    return pd.DataFrame({"episode_id": ep, "visit_number": visit, "value": y})


def _example_fit(transform: Transform = "log") -> TrajectoryFit:
    return fit_trajectory(_example_frame(), transform=transform, knot=3 if transform == "piecewise" else None)
