"""How much the share improved by visit k depends on what the patients who stopped early did.

The Kaplan-Meier share at visit ``k`` assumes that an episode that stopped before ``k``
would have gone on like the episodes still attending (non-informative censoring).  When
patients who are not improving are the ones who stop, that assumption fails and the
estimate is too high.  This module bounds that bias with a *delta-adjusted* share and its
*tipping point*.

Definitions
-----------
worst case ``theta_0``
    ``E / n``: the ``E`` episodes seen to improve by ``k`` out of all ``n`` included; every
    episode that stopped before ``k`` without improving counts as not improved.
delta-adjusted share ``theta_delta``
    Each episode censored at visit ``c < k`` without improving is given the chance
    ``delta * q_c`` of improving by ``k``, where ``q_c = 1 - S(k) / S(c)`` is the chance that
    comparable episodes still attending at ``c`` improve by ``k`` (Kaplan-Meier).  ``delta`` is the
    patients-who-stopped' rate of improvement relative to comparable patients who stayed:
    ``delta = 0`` is the worst case, ``delta = 1`` the Kaplan-Meier estimate.  By the
    self-consistency of the Kaplan-Meier estimator (Efron 1967: it redistributes the mass of
    every censored episode to the right in proportion to ``q_c``)
    ``theta_delta = theta_0 + delta * (F(k) - theta_0)``, with ``F(k) = 1 - S(k)``; linear in
    ``delta``.  (A delta-adjusted, or "pattern-mixture", sensitivity analysis: National Research
    Council 2010, *The Prevention and Treatment of Missing Data in Clinical Trials*, ch. 5;
    Ratitch, O'Kelly & Tosiello 2013, *Pharm Stat* 12:337.)
tipping point ``delta*``
    The smallest ``delta`` at which the one-sided lower ``(1 - alpha)`` bound of
    ``theta_delta`` exceeds ``p0``: the claim holds as long as the patients who stopped early
    improved at no less than ``delta*`` times the rate of comparable patients who stayed.
    0 when it holds even in the worst case; NaN when it does not hold even at ``delta = 1``.

Interval
    Percentile bootstrap over episodes (resampling the ``(visit, event)`` count table with a
    multinomial draw, seeded), the same resamples for every ``delta``; the one-sided p-value
    is the bootstrap share of ``theta*_delta <= p0``, so ``p < alpha`` exactly when the lower
    bound (the ``alpha`` quantile, ``inverted_cdf``) exceeds ``p0``.  Every resampled
    ``F*(k) >= theta*_0``, so each resample's ``theta*_delta`` and hence every bootstrap quantile
    is non-decreasing in ``delta``, which makes the tipping point well defined.

Written by hand: no library offers a delta-adjusted Kaplan-Meier share or its tipping point
(``lifelines``, ``statsmodels`` and R ``survival`` estimate under non-informative censoring only).

Examples
--------
>>> import numpy as np
>>> times = np.array([1, 2, 3, 4]); events = np.array([0, 30, 20, 5]); censored = np.array([20, 10, 10, 5])
>>> out = delta_adjusted_share(times, events, censored, 3, delta=0.5, p0=0.5, n_boot=500, seed=1)
>>> out[["delta", "estimate", "worst_case", "kaplan_meier", "n", "n_censored_before_k"]].round(4).iloc[0].tolist()
[0.5, 0.5938, 0.5, 0.6875, 100.0, 30.0]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from outcomes.stats._validate import as_finite_1d, check_conf_level, check_probability, invalid, same_length

__all__ = ["delta_adjusted_share", "tipping_point"]


def _table(times: ArrayLike, n_event: ArrayLike, n_censor: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = as_finite_1d(times, "times")
    e = as_finite_1d(n_event, "n_event")
    c = as_finite_1d(n_censor, "n_censor")
    same_length([t, e, c], ["times", "n_event", "n_censor"])
    if np.any(e < 0) or np.any(c < 0) or np.any(e != np.round(e)) or np.any(c != np.round(c)):
        raise invalid("counts", "n_event and n_censor must be whole numbers >= 0", "n_event")
    if e.sum() + c.sum() == 0:
        raise invalid("counts", "the count table holds no episode", "n_event")
    order = np.argsort(t, kind="stable")
    return t[order], e[order], c[order]


def _shares(t: np.ndarray, e: np.ndarray, c: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """Worst case ``E / n`` and Kaplan-Meier ``F(k)`` of count tables ``e``, ``c`` (last axis: time).

    An event and a censoring at the same visit: the event comes first (the usual convention),
    so the censored episode is in that visit's risk set.
    """
    n = e.sum(axis=-1) + c.sum(axis=-1)
    up_to = t <= k
    at_risk = n[..., None] - np.cumsum(e + c, axis=-1) + e + c
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(at_risk > 0, e / at_risk, 0.0)
    surv = np.prod(np.where(up_to, 1.0 - hazard, 1.0), axis=-1)
    worst = e[..., up_to].sum(axis=-1) / n
    return worst, 1.0 - surv


def _resampled(
    t: np.ndarray, e: np.ndarray, c: np.ndarray, k: float, n_boot: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Worst case and Kaplan-Meier share of ``n_boot`` bootstrap resamples of the episodes."""
    cells = np.concatenate([e, c])
    n = int(cells.sum())
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, cells / n, size=n_boot)  # (n_boot, 2 T): episodes of each (visit, event) cell
    return _shares(t, draws[:, : t.size].astype(float), draws[:, t.size :].astype(float), k)


def _reached(t: np.ndarray, e: np.ndarray, c: np.ndarray, k: float) -> bool:
    """Whether follow-up reaches ``k`` (the Kaplan-Meier share at ``k`` is defined)."""
    at_or_after = t >= k
    return bool(np.any((e + c)[at_or_after] > 0)) or bool(_shares(t, e, c, k)[1] >= 1.0)


def delta_adjusted_share(
    times: ArrayLike,
    n_event: ArrayLike,
    n_censor: ArrayLike,
    k: float,
    *,
    delta: float,
    p0: float | None = None,
    conf_level: float = 0.90,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """The share improved by visit ``k`` if the patients who stopped early improved at ``delta`` times the rate.

    Parameters
    ----------
    times, n_event, n_censor : array-like
        Kaplan-Meier count table: each visit, the episodes whose event (first improvement) is
        at that visit and the episodes censored there (``outcomes.stats.km_counts``).
    k : float
        Visit of the share.
    delta : float
        Rate of improvement of the episodes censored before ``k`` relative to comparable
        episodes still attending, in ``[0, 1]`` (0: worst case; 1: Kaplan-Meier).
    p0 : float, optional
        Threshold of the one-sided test ``H0: share <= p0``.
    conf_level : float
        Two-sided level of the interval (its ends are the one-sided bounds).
    n_boot : int
        Bootstrap resamples (at least 100).
    seed : int
        Seed of the resampling.

    Returns
    -------
    DataFrame
        One row: ``k``, ``delta``, ``estimate`` (``theta_delta``), ``ci_low``, ``ci_high``,
        ``conf_level``, ``p0``, ``p_value`` (one-sided, bootstrap), ``worst_case``
        (``theta_0``), ``kaplan_meier`` (``F(k)``), ``tipping_point`` (:func:`tipping_point` at
        one-sided ``alpha = (1 - conf_level) / 2``, from the same resamples), ``n``, ``n_events_by_k``,
        ``n_censored_before_k``, ``method``.  NaN estimates when follow-up never reaches ``k``.

    Examples
    --------
    With no one censored before ``k`` every delta gives the plain share:

    >>> out = delta_adjusted_share([2, 3, 4], [4, 2, 0], [0, 0, 4], 3, delta=0.0, n_boot=200)
    >>> out[["estimate", "worst_case", "kaplan_meier"]].iloc[0].tolist()
    [0.6, 0.6, 0.6]
    """
    t, e, c = _table(times, n_event, n_censor)
    d = float(delta)
    if not 0.0 <= d <= 1.0:
        raise invalid("delta", "delta must be within [0, 1]", "delta")
    level = check_conf_level(conf_level)
    benchmark = check_probability(p0, "p0")
    if n_boot < 100:
        raise invalid("n_boot", "n_boot must be at least 100", "n_boot")
    n = e.sum() + c.sum()
    row: dict[str, object] = {
        "k": float(k),
        "delta": d,
        "conf_level": level,
        "p0": np.nan if benchmark is None else benchmark,
        "n": int(n),
        "n_events_by_k": int(e[t <= k].sum()),
        "n_censored_before_k": int(c[t < k].sum()),
        "method": "delta_adjusted_kaplan_meier_bootstrap",
    }
    if not _reached(t, e, c, k):
        missing = ("estimate", "ci_low", "ci_high", "p_value", "worst_case", "kaplan_meier", "tipping_point")
        nan = dict.fromkeys(missing, np.nan)
        return pd.DataFrame([row | nan])[_COLUMNS]
    worst, km = (float(x) for x in _shares(t, e, c, k))
    boot_worst, boot_km = _resampled(t, e, c, k, n_boot, seed)
    boot = boot_worst + d * (boot_km - boot_worst)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(boot, [alpha, 1.0 - alpha], method="inverted_cdf")
    row |= {
        "estimate": worst + d * (km - worst),
        "ci_low": float(low),
        "ci_high": float(high),
        "p_value": np.nan if benchmark is None else float(np.mean(boot <= benchmark)),
        # from the same resamples: equal to tipping_point(..., alpha=(1 - conf_level) / 2)
        "tipping_point": np.nan if benchmark is None else _tipping(boot_worst, boot_km, benchmark, alpha),
        "worst_case": worst,
        "kaplan_meier": km,
    }
    return pd.DataFrame([row])[_COLUMNS]


_COLUMNS = ["k", "delta", "estimate", "ci_low", "ci_high", "conf_level", "p0", "p_value", "worst_case"]
_COLUMNS += ["kaplan_meier", "tipping_point", "n", "n_events_by_k", "n_censored_before_k", "method"]


def tipping_point(
    times: ArrayLike,
    n_event: ArrayLike,
    n_censor: ArrayLike,
    k: float,
    *,
    p0: float,
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
) -> float:
    """The smallest ``delta`` at which the share improved by ``k`` is shown to exceed ``p0``.

    ``delta`` as in :func:`delta_adjusted_share` (the same resamples for a given ``seed``):
    the claim "share > p0" holds at one-sided level ``alpha`` for every ``delta >= delta*``.
    0.0 when it holds in the worst case, NaN when it fails even at ``delta = 1`` (or follow-up
    never reaches ``k``).  Exact up to floating point: on each resample ``theta*_delta`` is a line
    in ``delta``, so the lower bound is found by bisection to 1e-9.

    Examples
    --------
    >>> import numpy as np
    >>> times = np.array([1, 2, 3, 4]); events = np.array([0, 30, 20, 5]); censored = np.array([20, 10, 10, 5])
    >>> delta = tipping_point(times, events, censored, 3, p0=0.5, n_boot=500, seed=1)
    >>> round(delta, 3)
    0.501
    >>> row = delta_adjusted_share(times, events, censored, 3, delta=delta + 1e-6, p0=0.5, n_boot=500, seed=1)
    >>> bool(row["p_value"].iloc[0] < 0.05)
    True
    """
    t, e, c = _table(times, n_event, n_censor)
    benchmark = check_probability(p0, "p0")
    assert benchmark is not None  # p0 is required here
    if not _reached(t, e, c, k):
        return float("nan")
    return _tipping(*_resampled(t, e, c, k, n_boot, seed), benchmark, alpha)


def _tipping(boot_worst: np.ndarray, boot_km: np.ndarray, p0: float, alpha: float) -> float:
    """The tipping point from the resampled worst-case and Kaplan-Meier shares (see :func:`tipping_point`)."""

    def holds(d: float) -> bool:
        return bool(np.mean(boot_worst + d * (boot_km - boot_worst) <= p0) < alpha)

    if holds(0.0):
        return 0.0
    if not holds(1.0):
        return float("nan")
    lo, hi = 0.0, 1.0
    while hi - lo > 1e-9:  # about 30 halvings
        mid = (lo + hi) / 2.0
        lo, hi = (lo, mid) if holds(mid) else (mid, hi)
    return hi
