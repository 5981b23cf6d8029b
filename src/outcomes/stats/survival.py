"""Kaplan-Meier estimates of the cumulative incidence of improvement.

Time is discrete (the visit number at which an episode first meets the
improvement rule, 2..12), so there are many ties.  An episode that never
improves is censored at the last visit seen.  We estimate ``S(t)``, the share
*not yet improved* after visit ``t``, by Kaplan-Meier and report
``F(t) = 1 - S(t)``, the cumulative share improved by visit ``t``.

Conventions (the same as R's ``survival::survfit``):

- an episode censored at ``t`` is still at risk at ``t`` (censoring happens
  after the events of that visit);
- ``std_err`` is the Greenwood standard error of ``S`` (R's
  ``summary(fit)$std.err``);
- the default interval is R's ``conf.type = "log-log"``: with
  ``theta = log(-log S)`` and ``se_theta = sqrt(sum d/(n(n-d))) / |log S|``, the
  limits of ``S`` are ``exp(-exp(theta +/- z se_theta))``; the limits of ``F``
  are one minus those of ``S``.  ``conf_type = "log"`` gives R's default
  ``conf.type = "log"`` (``S exp(+/- z se_log)``, upper limit capped at 1).
  ``scipy.stats.ecdf(...).sf.confidence_interval(method="log-log")`` uses the
  same convention (Greenwood variance, log(-log S) scale, no truncation): its
  limits equal ours at every event time to 1e-10 and it is NaN where ``S = 0``
  (checked in the tests).  The only R/scipy difference to mind is the
  *default*: R's ``survfit`` defaults to ``conf.type = "log"``, so published R
  output usually shows the "log" interval;
- ``conf_type = "likelihood-ratio"`` (:func:`km_at` only) is the nonparametric likelihood-ratio
  interval of Thomas & Grunkemeier (1975, JASA 70:865-871; R: ``km.ci(method = "grunkemeier")``),
  the set of ``S(k)`` not rejected by the likelihood-ratio test of the discrete hazards, and its
  one-sided test uses the signed root of the same statistic.  It reproduces their Table 1 (tests)
  and, unlike the log-log interval, holds its size at the boundary in this project's discrete-visit
  data (``docs/calibration.md``);
- where ``S = 1`` (no event yet) the interval of ``F`` is [0, 0]; where
  ``S = 0`` Greenwood's variance is undefined and ``std_err``/limits are NaN,
  as in R.

Everything is computed from count tables (events and censorings per distinct
time), so a million episodes cost one ``np.unique`` and a few cumulative sums,
and tables from several partitions can be added before estimating
(:func:`km_from_counts`).

Examples
--------
>>> time = [2, 3, 3, 4, 5, 5, 6]
>>> event = [1, 1, 0, 1, 0, 1, 0]
>>> km_table(time, event)[["time", "n_risk", "n_event", "estimate"]].round(3)
   time  n_risk  n_event  estimate
0     2       7        1     0.143
1     3       6        1     0.286
2     4       4        1     0.464
3     5       3        1     0.643
4     6       1        0     0.643
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.typing import ArrayLike
from scipy import optimize, stats

from outcomes.stats._validate import as_finite_1d, check_conf_level, check_probability, invalid, same_length

__all__ = [
    "KM_METHOD",
    "ConfType",
    "km_at",
    "km_at_from_counts",
    "km_counts",
    "km_from_counts",
    "km_median",
    "km_table",
    "logrank",
]

#: Interval of a Kaplan-Meier estimate: R's log-log and log, or Thomas-Grunkemeier's likelihood ratio.
ConfType = Literal["log-log", "log", "likelihood-ratio"]
#: Tolerance for "S equals 0.5" in the median rule (R uses sqrt(machine eps)).
_MEDIAN_TOL = float(np.sqrt(np.finfo(float).eps))


@dataclass(frozen=True)
class _Curve:
    """Kaplan-Meier curve on the distinct observed times (internal)."""

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    #: Greenwood sum  sum_{t_j <= t} d_j / (n_j (n_j - d_j))  = Var(log S).
    greenwood: np.ndarray

    @property
    def n(self) -> int:
        return int(self.n_risk[0]) if self.n_risk.size else 0


def km_counts(time: ArrayLike, event: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count table of a Kaplan-Meier analysis: distinct times, events and censorings at each.

    The tables of disjoint sets of subjects add up to the table of their union, which is
    what :func:`km_from_counts` needs (e.g. one table per partition of a large data set).
    Empty input gives empty tables.

    Examples
    --------
    >>> km_counts([2, 3, 3, 5], [1, 1, 0, 0])
    (array([2., 3., 5.]), array([1., 1., 0.]), array([0., 1., 1.]))
    """
    t = as_finite_1d(time, "time", min_size=0)
    e = as_finite_1d(event, "event", min_size=0)
    same_length([t, e], ["time", "event"])
    if np.any((e != 0) & (e != 1)):
        raise invalid("event_indicator", "event must be 0 (censored) or 1 (improved)", "event")
    if np.any(t < 0):
        raise invalid("time_nonnegative", "time must not be negative", "time")
    times, inverse = np.unique(t, return_inverse=True)
    n_event = np.bincount(inverse, weights=e, minlength=times.size)
    n_censor = np.bincount(inverse, minlength=times.size) - n_event
    return times, n_event, n_censor


def _counts(time: ArrayLike, event: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`km_counts` for estimation, which needs at least one observation."""
    as_finite_1d(time, "time")
    return km_counts(time, event)


def _curve(times: ArrayLike, n_event: ArrayLike, n_censor: ArrayLike) -> _Curve:
    t = as_finite_1d(times, "times")
    d = as_finite_1d(n_event, "n_event")
    c = as_finite_1d(n_censor, "n_censor")
    same_length([t, d, c], ["times", "n_event", "n_censor"])
    if np.any(d < 0) or np.any(c < 0):
        raise invalid("counts_nonnegative", "n_event and n_censor must be >= 0", "n_event")
    order = np.argsort(t, kind="stable")
    t, d, c = t[order], d[order], c[order]
    if np.any(np.diff(t) == 0):
        raise invalid("times_distinct", "times must be distinct (add the counts of equal times)", "times")
    leaving = d + c
    n_risk = leaving[::-1].cumsum()[::-1]
    if n_risk.size == 0 or n_risk[0] <= 0:
        raise invalid("too_few_observations", "no episodes to estimate from", "times")
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(n_risk > 0, d / n_risk, 0.0)
        surv = np.cumprod(1.0 - hazard)
        term = np.where(d > 0, d / (n_risk * (n_risk - d)), 0.0)
    greenwood = np.cumsum(term)
    return _Curve(t, n_risk, d, c, surv, greenwood)


def _bands(
    surv: np.ndarray, greenwood: np.ndarray, z: float, conf_type: ConfType
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Lower and upper limits of S (R survfit conventions)."""
    se_log = np.sqrt(greenwood)
    low = np.full(surv.shape, np.nan)
    high = np.full(surv.shape, np.nan)
    one = surv >= 1.0
    inner = (surv > 0.0) & ~one & np.isfinite(se_log)
    low[one] = high[one] = 1.0
    if conf_type == "log-log":
        log_s = np.log(surv[inner])
        theta = np.log(-log_s)
        se_theta = se_log[inner] / np.abs(log_s)
        low[inner] = np.exp(-np.exp(theta + z * se_theta))
        high[inner] = np.exp(-np.exp(theta - z * se_theta))
    elif conf_type == "log":
        low[inner] = surv[inner] * np.exp(-z * se_log[inner])
        high[inner] = np.minimum(surv[inner] * np.exp(z * se_log[inner]), 1.0)
    else:
        raise invalid(
            "conf_type", "conf_type must be 'log-log' or 'log' ('likelihood-ratio' is for km_at only)", "conf_type"
        )
    return low, high


def _z(conf_level: float) -> float:
    return float(stats.norm.ppf(0.5 + check_conf_level(conf_level) / 2))


def _table(curve: _Curve, conf_level: float, conf_type: ConfType) -> pd.DataFrame:
    low, high = _bands(curve.surv, curve.greenwood, _z(conf_level), conf_type)
    with np.errstate(invalid="ignore"):
        std_err = curve.surv * np.sqrt(curve.greenwood)
    std_err = np.where(curve.surv > 0, std_err, np.nan)
    integral = bool(np.all(curve.time == np.round(curve.time)))
    return pd.DataFrame(
        {
            "time": curve.time.astype(np.int64) if integral else curve.time,
            "n_risk": curve.n_risk.astype(np.int64),
            "n_event": curve.n_event.astype(np.int64),
            "n_censor": curve.n_censor.astype(np.int64),
            "survival": curve.surv,
            "estimate": 1.0 - curve.surv,
            "std_err": std_err,
            "ci_low": 1.0 - high,
            "ci_high": 1.0 - low,
            "conf_level": float(conf_level),
        }
    )


def km_from_counts(
    times: ArrayLike,
    n_event: ArrayLike,
    n_censor: ArrayLike,
    *,
    conf_level: float = 0.95,
    conf_type: ConfType = "log-log",
) -> pd.DataFrame:
    """Kaplan-Meier table from a count table (one row per distinct time).

    Count tables from several partitions can be summed by time first
    (``pd.concat(...).groupby("time").sum()``) and estimated once: the result is
    identical to :func:`km_table` on the pooled episodes.

    Parameters
    ----------
    times : array-like
        Distinct times (any order).
    n_event, n_censor : array-like
        Episodes improving / censored at each time.
    conf_level : float
        Two-sided level of the pointwise interval.
    conf_type : {"log-log", "log"}
        Interval for ``S`` (see the module notes).

    Returns
    -------
    pandas.DataFrame
        ``time, n_risk, n_event, n_censor, survival, estimate, std_err, ci_low,
        ci_high, conf_level``; ``estimate = 1 - survival`` and the interval is
        that of ``estimate``.

    Examples
    --------
    >>> km_from_counts([2, 3], [3, 1], [1, 5])[["time", "n_risk", "estimate"]].round(3)
       time  n_risk  estimate
    0     2      10     0.300
    1     3       6     0.417
    """
    return _table(_curve(times, n_event, n_censor), conf_level, conf_type)


def km_table(
    time: ArrayLike,
    event: ArrayLike,
    *,
    conf_level: float = 0.95,
    conf_type: ConfType = "log-log",
) -> pd.DataFrame:
    """Kaplan-Meier table of the cumulative incidence of improvement.

    Parameters
    ----------
    time : array-like
        Visit at which the episode improved (``event == 1``) or was last seen
        (``event == 0``).
    event : array-like of {0, 1}
        1 = improved at ``time``, 0 = censored at ``time``.
    conf_level : float
        Two-sided level of the pointwise interval.
    conf_type : {"log-log", "log"}
        Interval for ``S``; ``"log-log"`` (default) is R's ``conf.type="log-log"``.

    Returns
    -------
    pandas.DataFrame
        One row per distinct time, as :func:`km_from_counts`.

    Examples
    --------
    >>> km_table([2, 2, 3, 4], [1, 0, 1, 0])[["time", "n_risk", "n_censor", "estimate"]]
       time  n_risk  n_censor  estimate
    0     2       4         1     0.250
    1     3       2         0     0.625
    2     4       1         1     0.625
    """
    return _table(_curve(*_counts(time, event)), conf_level, conf_type)


def _at(curve: _Curve, k: float, conf_level: float, p0: float | None, conf_type: ConfType) -> pd.DataFrame:
    benchmark = check_probability(p0, "p0")
    z = _z(conf_level)
    upto = curve.time <= k
    reached = bool(curve.time.size) and k <= curve.time[-1]
    if upto.any():
        j = int(np.flatnonzero(upto)[-1])
        surv, gw = curve.surv[j], curve.greenwood[j]
    else:
        surv, gw = 1.0, 0.0
    if not reached and surv > 0:
        # Follow-up never reaches k: the Kaplan-Meier curve is not defined there.
        # (Once the curve has reached 0 it stays 0, so k beyond the last time is fine then.)
        surv, gw = np.nan, np.nan
    if surv == 0.0:
        # Everyone at risk improved: the log-log interval is undefined (R reports NA). We use
        # the exact (Clopper-Pearson) interval of the last risk set, all of whom had the event:
        # lower limit (alpha/2)^(1/n) two-sided, and the matching one-sided p = p0^n, so that
        # p < alpha <=> lower one-sided limit alpha^(1/n) > p0, as for the log-log interval.
        n_last = int(curve.n_risk[upto][-1])
        low, high = np.array([0.0]), np.array([1.0 - ((1.0 - conf_level) / 2) ** (1.0 / n_last)])
        p_value = np.nan if benchmark is None else float(benchmark**n_last)
    elif conf_type == "likelihood-ratio" and np.isfinite(surv) and surv < 1.0:
        hazards = _LikelihoodRatio(curve.n_risk[upto], curve.n_event[upto])
        s_low, s_high = hazards.limits(z)
        low, high = np.array([s_low]), np.array([s_high])
        p_value = np.nan if benchmark is None else hazards.p_value(1.0 - benchmark)
    else:
        low, high = _bands(
            np.array([surv]), np.array([gw]), z, "log-log" if conf_type == "likelihood-ratio" else conf_type
        )
        p_value = np.nan
        if benchmark is not None and np.isfinite(surv):
            p_value = _one_sided_p(surv, gw, benchmark, conf_type)
    return pd.DataFrame(
        {
            "k": [k],
            "n": [curve.n],
            "n_events_by_k": [int(curve.n_event[upto].sum())],
            "estimate": [1.0 - surv],
            "ci_low": [1.0 - high[0]],
            "ci_high": [1.0 - low[0]],
            "conf_level": [float(conf_level)],
            "p0": [np.nan if benchmark is None else benchmark],
            "p_value": [p_value],
            "method": [KM_METHOD[conf_type]],
        }
    )


#: The ``method`` of a Kaplan-Meier share at ``k`` with each interval.
KM_METHOD: dict[str, str] = {
    "log-log": "kaplan_meier_loglog",
    "log": "kaplan_meier_log",
    "likelihood-ratio": "kaplan_meier_likelihood_ratio",
}


class _LikelihoodRatio:
    """Thomas-Grunkemeier (1975) likelihood ratio for ``S(k) = s`` from the event table up to ``k``.

    Written by hand because neither scipy nor statsmodels has it (R: ``km.ci(method = "grunkemeier")``,
    ``emplik``).  With discrete hazards ``h_j`` at the event times ``t_j <= k`` (``n_j`` at risk,
    ``d_j`` events) the likelihood is ``prod h_j^d_j (1 - h_j)^(n_j - d_j)``, maximised by the
    Kaplan-Meier hazards ``d_j / n_j``.  Under the constraint ``prod (1 - h_j) = s`` the maximum is at
    ``h_j = d_j / (n_j + lam)``, with ``lam`` solving that product (increasing in ``lam``: ``lam = 0``
    is Kaplan-Meier, ``lam -> -min(n_j - d_j)`` gives ``S -> 0``, ``lam -> inf`` gives ``S -> 1``), and

        -2 log R(lam) = 2 sum_j [ d_j log((n_j + lam) / n_j)
                                  + (n_j - d_j) log((n_j - d_j)(n_j + lam) / (n_j (n_j + lam - d_j))) ].

    The interval is ``{s : -2 log R <= z^2}`` and the one-sided test of ``S >= s0`` uses the signed
    root ``sign(S_hat - s0) sqrt(-2 log R)``, so ``p < alpha`` exactly when the upper one-sided
    ``(1 - alpha)`` limit of ``S`` is below ``s0``.  Needs ``0 < S_hat < 1``.
    """

    def __init__(self, n_risk: np.ndarray, n_event: np.ndarray) -> None:
        events = n_event > 0
        self.n = n_risk[events].astype(float)
        self.d = n_event[events].astype(float)
        self.survivors = self.n - self.d
        self.lam_min = -float(self.survivors.min())  # S -> 0 as lam -> lam_min (all survivors > 0)
        self.s_hat = float(np.prod(self.survivors / self.n))

    def surv(self, lam: float) -> float:
        return float(np.prod(1.0 - self.d / (self.n + lam)))

    def statistic(self, lam: float) -> float:
        n, d, m = self.n, self.d, self.survivors
        terms = d * np.log((n + lam) / n) + m * np.log(m * (n + lam) / (n * (n + lam - d)))
        return float(2.0 * terms.sum())

    def _lam_for(self, s0: float) -> float:
        """The ``lam`` with ``S(lam) = s0`` (``0 < s0 < 1``)."""
        target = np.log(s0)
        lo = self.lam_min + 1e-12 * max(1.0, abs(self.lam_min))
        hi = max(1.0, float(self.n.max()))
        while np.log(self.surv(hi)) < target:
            hi *= 4.0
        return float(optimize.brentq(lambda lam: np.log(self.surv(lam)) - target, lo, hi, xtol=1e-13, rtol=1e-14))

    def limits(self, z: float) -> tuple[float, float]:
        """Lower and upper limits of ``S``: where ``-2 log R = z^2`` below and above ``S_hat``."""
        crit = z * z
        lo = self.lam_min + 1e-12 * max(1.0, abs(self.lam_min))
        hi = max(1.0, float(self.n.max()))
        while self.statistic(hi) < crit:
            hi *= 4.0
        lam_low = optimize.brentq(lambda lam: self.statistic(lam) - crit, lo, 0.0, xtol=1e-13, rtol=1e-14)
        lam_high = optimize.brentq(lambda lam: self.statistic(lam) - crit, 0.0, hi, xtol=1e-13, rtol=1e-14)
        return self.surv(lam_low), self.surv(lam_high)

    def p_value(self, s0: float) -> float:
        """One-sided p-value of H0: ``S(k) >= s0`` (i.e. ``F(k) <= 1 - s0``) against ``S(k) < s0``."""
        if s0 >= 1.0:
            return 0.0
        root = np.sqrt(max(self.statistic(self._lam_for(s0)), 0.0))
        return float(stats.norm.cdf(np.copysign(root, self.s_hat - s0)))


def _one_sided_p(surv: float, greenwood: float, p0: float, conf_type: ConfType) -> float:
    """P-value for H0: F <= p0 that inverts the same interval as :func:`_bands`.

    On the transformed scale ``g`` (``log(-log S)`` or ``-log S``, both
    increasing in ``F``) the lower one-sided (1 - alpha) limit of ``F`` exceeds
    ``p0`` exactly when ``(g_hat - g0) / se_g > z_{1-alpha}``; so
    ``p = 1 - Phi((g_hat - g0) / se_g)`` and ``p < alpha`` <=> lower limit > p0.
    """
    if p0 == 0.0:
        return 0.0 if surv < 1.0 else 1.0
    if surv >= 1.0:
        return 1.0
    if surv <= 0.0 or not np.isfinite(greenwood):
        return np.nan
    se_log = np.sqrt(greenwood)
    if conf_type == "log-log":
        g_hat, g0, se = np.log(-np.log(surv)), np.log(-np.log1p(-p0)), se_log / abs(np.log(surv))
    else:
        g_hat, g0, se = -np.log(surv), -np.log1p(-p0), se_log
    return float(stats.norm.sf((g_hat - g0) / se))


def km_at(
    time: ArrayLike,
    event: ArrayLike,
    k: float,
    *,
    conf_level: float = 0.95,
    p0: float | None = None,
    conf_type: ConfType = "log-log",
) -> pd.DataFrame:
    """Cumulative incidence of improvement by visit ``k``, with a one-sided test.

    Parameters
    ----------
    time, event : array-like
        As in :func:`km_table`.
    k : float
        Visit at which to read the curve (``F(k) = 1 - S(k)``, ``S`` right-continuous).
    conf_level : float
        Two-sided level of the interval.
    p0 : float, optional
        Benchmark for H0: F(k) <= p0 against H1: F(k) > p0.
    conf_type : {"log-log", "log", "likelihood-ratio"}
        Interval (and test): the log-log or log scale of a Greenwood Wald interval, or the
        Thomas-Grunkemeier likelihood ratio (see the module notes).

    Returns
    -------
    pandas.DataFrame
        One row: ``k, n, n_events_by_k, estimate, ci_low, ci_high, conf_level,
        p0, p_value, method`` (``method == "kaplan_meier_loglog"`` by default,
        ``"kaplan_meier_likelihood_ratio"`` for the likelihood ratio).

    Notes
    -----
    ``p_value`` is obtained by inverting the same log-log interval, so for any
    ``alpha``: ``p_value < alpha`` if and only if the one-sided ``(1 - alpha)``
    lower confidence limit of ``F(k)`` is above ``p0``.  In particular
    ``p_value < (1 - conf_level) / 2`` exactly when ``ci_low > p0``.  It is a
    Wald-type test (standard error at the estimate, not under H0).

    If ``k`` is beyond the last observed time the curve is undefined and the
    estimate is NaN.  Before the first event ``estimate = 0`` with interval
    [0, 0] and ``p_value = 1``.

    Examples
    --------
    >>> time = [2, 2, 3, 3, 3, 4, 5, 6, 6, 6]
    >>> event = [1, 1, 1, 0, 1, 1, 0, 1, 0, 0]
    >>> row = km_at(time, event, 4, p0=0.2)
    >>> row[["n", "n_events_by_k", "estimate"]].round(3)
        n  n_events_by_k  estimate
    0  10              5      0.52
    >>> bool(row.p_value.iloc[0] < 0.025) == bool(row.ci_low.iloc[0] > 0.2)
    True
    """
    return _at(_curve(*_counts(time, event)), float(k), conf_level, p0, conf_type)


def km_at_from_counts(
    times: ArrayLike,
    n_event: ArrayLike,
    n_censor: ArrayLike,
    k: float,
    *,
    conf_level: float = 0.95,
    p0: float | None = None,
    conf_type: ConfType = "log-log",
) -> pd.DataFrame:
    """:func:`km_at` from a count table (see :func:`km_from_counts`).

    Examples
    --------
    >>> km_at_from_counts([2, 3, 4], [3, 1, 0], [1, 2, 3], 3)[["n", "n_events_by_k"]]
        n  n_events_by_k
    0  10              4
    """
    return _at(_curve(times, n_event, n_censor), float(k), conf_level, p0, conf_type)


def _first_crossing(time: np.ndarray, curve: np.ndarray) -> float:
    """First time the step curve is <= 0.5; the midpoint rule of R when it sits at 0.5.

    R's ``quantile.survfit``: if the curve equals 0.5 exactly over an interval,
    the median is the midpoint of that interval (from the time it reaches 0.5
    to the next time it drops below).
    """
    below = np.flatnonzero(curve <= 0.5 + _MEDIAN_TOL)
    if below.size == 0:
        return np.nan
    i = int(below[0])
    if abs(curve[i] - 0.5) <= _MEDIAN_TOL:
        later = np.flatnonzero(curve < 0.5 - _MEDIAN_TOL)
        if later.size:
            return float((time[i] + time[int(later[0])]) / 2)
    return float(time[i])


def km_median(
    time: ArrayLike,
    event: ArrayLike,
    *,
    conf_level: float = 0.95,
    conf_type: ConfType = "log-log",
) -> pd.DataFrame:
    """Median time to improvement and its interval, as R's ``print(survfit(...))``.

    The median is the first time where ``S <= 0.5`` (``F >= 0.5``).  Its
    confidence limits are where the pointwise band of ``S`` crosses 0.5: the
    lower limit is the first time the lower band is <= 0.5, the upper limit the
    first time the upper band is <= 0.5 (Brookmeyer-Crowley by band inversion).
    NaN means "not reached" (R prints ``NA``).

    Parameters
    ----------
    time, event : array-like
        As in :func:`km_table`.
    conf_level : float
        Level of the band.
    conf_type : {"log-log", "log"}
        Band; use ``"log"`` to reproduce R's default ``survfit`` print.

    Returns
    -------
    pandas.DataFrame
        One row: ``n, n_events, estimate, ci_low, ci_high, conf_level, method``.

    Examples
    --------
    >>> km_median([2, 2, 3, 3, 4, 5, 6, 6], [1, 1, 1, 0, 1, 1, 0, 0])[["n", "n_events", "estimate"]]
       n  n_events  estimate
    0  8         5       4.0
    """
    curve = _curve(*_counts(time, event))
    low, high = _bands(curve.surv, curve.greenwood, _z(conf_level), conf_type)
    # Where S = 0 the band is NaN and, as in R, does not count as crossing 0.5.
    return pd.DataFrame(
        {
            "n": [curve.n],
            "n_events": [int(curve.n_event.sum())],
            "estimate": [_first_crossing(curve.time, curve.surv)],
            "ci_low": [_first_crossing(curve.time, low)],
            "ci_high": [_first_crossing(curve.time, high)],
            "conf_level": [float(conf_level)],
            "method": [f"kaplan_meier_median_{conf_type.replace('-', '')}"],
        }
    )


def logrank(time_a: ArrayLike, event_a: ArrayLike, time_b: ArrayLike, event_b: ArrayLike) -> pd.DataFrame:
    """Two-sided log-rank test of equal time-to-improvement curves.

    Wraps :func:`scipy.stats.logrank` on :class:`scipy.stats.CensoredData`
    (which reproduces R's ``survdiff``).  ``statistic`` is the chi-square (1 df),
    i.e. the square of scipy's z statistic.

    Returns
    -------
    pandas.DataFrame
        One row: ``n_a, events_a, n_b, events_b, statistic, p_value, method``.

    Examples
    --------
    >>> out = logrank([2, 3, 4, 5, 6], [1, 1, 1, 0, 1], [3, 5, 6, 7, 8], [0, 1, 0, 1, 0])
    >>> out[["n_a", "events_a", "n_b", "events_b"]]
       n_a  events_a  n_b  events_b
    0    5         4    5         2
    """
    groups = []
    for t_name, e_name, t, e in (("time_a", "event_a", time_a, event_a), ("time_b", "event_b", time_b, event_b)):
        tt = as_finite_1d(t, t_name)
        ee = as_finite_1d(e, e_name)
        same_length([tt, ee], [t_name, e_name])
        if np.any((ee != 0) & (ee != 1)):
            raise invalid("event_indicator", "event must be 0 (censored) or 1 (improved)", e_name)
        groups.append((tt, ee))
    data = [stats.CensoredData(uncensored=t[e == 1], right=t[e == 0]) for t, e in groups]
    result = stats.logrank(data[0], data[1], alternative="two-sided")
    return pd.DataFrame(
        {
            "n_a": [groups[0][0].size],
            "events_a": [int(groups[0][1].sum())],
            "n_b": [groups[1][0].size],
            "events_b": [int(groups[1][1].sum())],
            "statistic": [float(result.statistic) ** 2],
            "p_value": [float(result.pvalue)],
            "method": ["logrank"],
        }
    )
