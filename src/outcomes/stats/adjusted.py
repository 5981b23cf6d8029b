"""Covariate-adjusted comparisons of two groups of episodes (observational data).

Used by the twitch-response and combined-therapy claims.  All models are fitted by
statsmodels; this module only builds the design matrix and turns fits into one
estimate with a normal-pivot interval (:func:`outcomes.stats.decision.wald_result`).

``ancova_difference``
    OLS of the outcome on the group indicator and covariates; the group coefficient
    with an HC3 (heteroskedasticity-consistent, small-sample) standard error.
``standardized_risk_difference``
    Logistic regression of a binary outcome on group and covariates, then
    g-computation: the mean predicted risk with everyone set to group 1 minus the mean
    with everyone set to group 0 (the standardized risk difference over the sample's
    covariate distribution).  Delta-method standard error from the model covariance,
    with gradient ``mean(p1 (1 - p1) X1) - mean(p0 (1 - p0) X0)`` (conditional on the
    sample's covariates, as R's ``marginaleffects::avg_comparisons``).
``ipw_risk_difference``
    Propensity score from a logistic regression of group on covariates; stabilized
    weights ``P(A = a) / P(A = a | X)``; the weighted (Hajek) difference in mean
    outcome, i.e. the group coefficient of a weighted least-squares fit, with a
    robust (HC0 sandwich) standard error that ignores estimation of the propensity
    score (conservative for the average treatment effect; Lunceford & Davidian 2004).

Categorical covariates enter as indicator columns (first level dropped); a covariate
with a single level or value in the data is dropped (e.g. ``condition`` inside one
condition).  Rows with a missing value in any column used are excluded and counted.

Examples
--------
>>> import pandas as pd
>>> f = pd.DataFrame({"y": [1.0, 2, 3, 4, 6, 7], "g": [0, 0, 0, 1, 1, 1], "b": [1.0, 2, 3, 1, 2, 3]})
>>> round(ancova_difference(f, "y", "g", numeric=["b"], conf_level=0.9)["estimate"], 6)
3.666667
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.genmod.generalized_linear_model import GLMResults
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from outcomes.stats.decision import wald_result

__all__ = ["ancova_difference", "covariate_design", "ipw_risk_difference", "standardized_risk_difference"]


def covariate_design(frame: pd.DataFrame, numeric: Sequence[str] = (), categorical: Sequence[str] = ()) -> pd.DataFrame:
    """Covariate columns: ``const``, numeric covariates, indicators of categorical ones.

    Constant covariates are dropped (they cannot be estimated).

    Examples
    --------
    >>> f = pd.DataFrame({"b": [1.0, 2.0, 3.0], "c": ["x", "y", "x"], "d": ["k", "k", "k"]})
    >>> list(covariate_design(f, ["b"], ["c", "d"]).columns)
    ['const', 'b', 'c_y']
    """
    parts = [pd.DataFrame({"const": np.ones(len(frame))}, index=frame.index)]
    parts += [frame[[c]].astype(float) for c in numeric if frame[c].nunique() > 1]
    cats = [c for c in categorical if frame[c].nunique() > 1]
    if cats:
        parts.append(pd.get_dummies(frame[cats].astype(str), prefix=cats, drop_first=True, dtype=float))
    return pd.concat(parts, axis=1)


@dataclass(frozen=True)
class _Comparison:
    """One adjusted comparison: its complete cases, covariates and how its result is reported."""

    data: pd.DataFrame  # rows complete in every column used
    n_excluded: int
    outcome: str
    treatment: str
    numeric: Sequence[str]
    categorical: Sequence[str]
    conf_level: float
    threshold: float

    @classmethod
    def of(
        cls,
        frame: pd.DataFrame,
        outcome: str,
        treatment: str,
        numeric: Sequence[str],
        categorical: Sequence[str],
        conf_level: float,
        threshold: float,
    ) -> _Comparison:
        used = frame[list(dict.fromkeys([outcome, treatment, *numeric, *categorical]))].dropna()
        return cls(used, len(frame) - len(used), outcome, treatment, numeric, categorical, conf_level, threshold)

    def column(self, name: str) -> np.ndarray:
        return self.data[name].to_numpy(dtype=float)

    def design(self, *, with_treatment: bool) -> pd.DataFrame:
        """:func:`covariate_design`, with the 0/1 group as its second column if ``with_treatment``."""
        design = covariate_design(self.data, self.numeric, self.categorical)
        if with_treatment:
            design.insert(1, self.treatment, self.data[self.treatment].astype(float))
        return design

    def result(self, est: float, se: float, method: str, **extra: float) -> dict[str, Any]:
        """The Wald result of ``est`` and ``se``, then ``extra``, ``n``, ``n_excluded`` and ``method``."""
        out = wald_result(est, se, self.threshold, self.conf_level)
        return {
            **out,
            "std_err": se,
            **extra,
            "n": len(self.data),
            "n_excluded": self.n_excluded,
            "method": method,
        }

    def not_estimable(self, method: str, *extra: str) -> dict[str, Any]:
        """:meth:`result` with every number NaN (``extra`` names the further fields)."""
        return self.result(np.nan, np.nan, method, **dict.fromkeys(extra, np.nan))


def ancova_difference(
    frame: pd.DataFrame,
    outcome: str,
    treatment: str,
    *,
    numeric: Sequence[str] = (),
    categorical: Sequence[str] = (),
    conf_level: float = 0.95,
    threshold: float = 0.0,
) -> dict[str, Any]:
    """Group difference in a continuous outcome adjusted for covariates (OLS, HC3 SE).

    Parameters
    ----------
    frame : DataFrame
        One row per episode.
    outcome, treatment : str
        Outcome column and 0/1 (or boolean) group column.
    numeric, categorical : sequence of str
        Adjustment covariates.
    conf_level : float
        Two-sided level of the normal interval.
    threshold : float
        Value the verdict compares the difference with.

    Returns
    -------
    dict
        ``estimate`` (group-1 minus group-0 difference), ``std_err``, ``ci_low``,
        ``ci_high``, ``conf_level``, ``threshold``, ``p_value`` (H0 difference <=
        threshold), ``p_value_not``, ``verdict``, ``n``, ``n_excluded``, ``method``.

    Examples
    --------
    >>> f = pd.DataFrame({"y": [1.0, 2, 3, 4, 6, 7], "g": [0, 0, 0, 1, 1, 1], "b": [1.0, 2, 3, 1, 2, 4]})
    >>> r = ancova_difference(f, "y", "g", numeric=["b"])
    >>> r["n"], r["method"]
    (6, 'ols_hc3')
    """
    c = _Comparison.of(frame, outcome, treatment, numeric, categorical, conf_level, threshold)
    with np.errstate(divide="ignore", invalid="ignore"):  # leverage 1 (a singleton category): HC3 SE infinite
        fit = sm.OLS(c.column(outcome), c.design(with_treatment=True)).fit(cov_type="HC3")
        est, se = float(fit.params[treatment]), float(fit.bse[treatment])
    return c.result(est, se, "ols_hc3")


def _logit_fit(y: np.ndarray, design: pd.DataFrame) -> GLMResults | None:
    """Logistic GLM; None when it does not converge or the data separate perfectly."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        try:
            fit = sm.GLM(y, design, family=sm.families.Binomial()).fit()
        except (PerfectSeparationWarning, ConvergenceWarning, np.linalg.LinAlgError, ValueError):
            return None
    return fit if np.all(np.isfinite(fit.bse)) else None


def standardized_risk_difference(
    frame: pd.DataFrame,
    outcome: str,
    treatment: str,
    *,
    numeric: Sequence[str] = (),
    categorical: Sequence[str] = (),
    conf_level: float = 0.95,
    threshold: float = 0.0,
) -> dict[str, Any]:
    """Standardized risk difference by g-computation from a logistic model (delta-method SE).

    Returns the same fields as :func:`ancova_difference` plus ``risk_1`` and ``risk_0``
    (standardized risks).  NaN estimate when the model cannot be fitted (perfect
    separation or no convergence).

    Examples
    --------
    With the group as the only covariate the model is saturated: the standardized
    difference is the raw difference in proportions (3/4 - 1/4).

    >>> f = pd.DataFrame({"y": [1, 1, 1, 0, 0, 0, 1, 0], "g": [1, 1, 1, 1, 0, 0, 0, 0]})
    >>> round(standardized_risk_difference(f, "y", "g")["estimate"], 6)
    0.5
    """
    c = _Comparison.of(frame, outcome, treatment, numeric, categorical, conf_level, threshold)
    design, y = c.design(with_treatment=True), c.column(outcome)
    method = "gcomputation_logistic_delta"
    fit = _logit_fit(y, design) if 0 < y.sum() < y.size else None
    if fit is None:
        return c.not_estimable(method + " (model not estimable)", "risk_1", "risk_0")
    beta = fit.params.to_numpy()
    x1, x0 = design.to_numpy(copy=True), design.to_numpy(copy=True)
    x1[:, 1], x0[:, 1] = 1.0, 0.0
    p1, p0 = 1 / (1 + np.exp(-x1 @ beta)), 1 / (1 + np.exp(-x0 @ beta))
    grad = ((p1 * (1 - p1))[:, None] * x1).mean(axis=0) - ((p0 * (1 - p0))[:, None] * x0).mean(axis=0)
    se = float(np.sqrt(grad @ fit.cov_params().to_numpy() @ grad))
    return c.result(float(p1.mean() - p0.mean()), se, method, risk_1=float(p1.mean()), risk_0=float(p0.mean()))


def ipw_risk_difference(
    frame: pd.DataFrame,
    outcome: str,
    treatment: str,
    *,
    numeric: Sequence[str] = (),
    categorical: Sequence[str] = (),
    conf_level: float = 0.95,
    threshold: float = 0.0,
) -> dict[str, Any]:
    """Difference in mean outcome weighted by stabilized inverse propensity weights.

    Returns the fields of :func:`ancova_difference` plus ``max_weight``.

    Examples
    --------
    >>> f = pd.DataFrame({"y": [1, 0, 1, 1, 0, 0, 1, 0], "g": [1, 1, 1, 0, 0, 0, 1, 0],
    ...                   "c": ["a", "a", "b", "a", "b", "b", "b", "a"]})
    >>> r = ipw_risk_difference(f, "y", "g", categorical=["c"])
    >>> r["n"], r["method"]
    (8, 'ipw_stabilized_hc0')
    """
    c = _Comparison.of(frame, outcome, treatment, numeric, categorical, conf_level, threshold)
    a, design = c.column(treatment), c.design(with_treatment=False)
    method = "ipw_stabilized_hc0"
    ps_fit = _logit_fit(a, design) if 0 < a.sum() < a.size else None
    if ps_fit is None:
        return c.not_estimable(method + " (propensity model not estimable)", "max_weight")
    ps = ps_fit.predict(design).to_numpy()
    if np.any(ps <= 1e-8) or np.any(ps >= 1 - 1e-8):
        # Some covariate pattern is (almost) only ever treated one way: positivity fails and
        # the weights are infinite, so no weighted estimate exists.
        return c.not_estimable(method + " (positivity violated: propensity 0 or 1)", "max_weight")
    weight = np.where(a == 1, a.mean() / ps, (1 - a.mean()) / (1 - ps))
    xa = sm.add_constant(pd.DataFrame({treatment: a}, index=c.data.index), has_constant="add")
    fit = sm.WLS(c.column(outcome), xa, weights=weight).fit(cov_type="HC0")
    est, se = float(fit.params[treatment]), float(fit.bse[treatment])
    return c.result(est, se, method, max_weight=float(weight.max()))
