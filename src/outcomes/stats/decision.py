"""The three-way verdict rule and the normal-pivot (Wald) interval it is applied to.

A claim is ``supported`` when the lower end of its two-sided ``1 - 2 alpha`` interval lies
above the threshold, ``not_supported`` when the upper end lies below it, ``inconclusive``
otherwise: the interval's ends are the one-sided ``1 - alpha`` bounds, so the interval a
reader sees always agrees with the verdict and with the one-sided p-values.

Examples
--------
>>> verdict_from_bounds(0.55, 0.70, 0.5)
'supported'
"""

from __future__ import annotations

import functools
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

__all__ = ["Verdict", "intersection_union_p", "verdict_from_bounds", "wald_result"]

Verdict = Literal["supported", "not_supported", "inconclusive"]


def intersection_union_p(*p_values: ArrayLike) -> np.ndarray:
    """p-value of "every one of these one-sided tests rejects": the largest (NaN ones ignored).

    An intersection-union test (Berger 1982, *Technometrics* 24:295): it rejects only when each test
    rejects at alpha, and its size is at most alpha with no adjustment for the number of tests.

    Examples
    --------
    >>> intersection_union_p([0.01, 0.2], [0.03, float("nan")]).tolist()
    [0.03, 0.2]
    """
    return np.asarray(functools.reduce(np.fmax, (np.asarray(p, dtype=float) for p in p_values)))


def verdict_from_bounds(ci_low: float, ci_high: float, p0: float) -> Verdict:
    """Three-way verdict from the one-sided bounds (the ends of the 1 - 2 alpha interval).

    Examples
    --------
    >>> verdict_from_bounds(0.55, 0.70, 0.5), verdict_from_bounds(0.2, 0.45, 0.5)
    ('supported', 'not_supported')
    >>> verdict_from_bounds(0.45, 0.60, 0.5)
    'inconclusive'
    """
    if ci_low > p0:
        return "supported"
    if ci_high < p0:
        return "not_supported"
    return "inconclusive"


def wald_result(estimate: float, std_err: float, threshold: float, conf_level: float) -> dict[str, Any]:
    """Interval, one-sided p-values and three-way verdict from a normal pivot.

    The interval is ``estimate +/- z se`` with ``z`` the ``(1 + conf_level) / 2``
    quantile; ``p_value`` tests H0 ``effect <= threshold`` and ``p_value_not`` H0
    ``effect >= threshold``, so ``p_value < (1 - conf_level) / 2`` exactly when
    ``ci_low > threshold``.

    Examples
    --------
    >>> r = wald_result(0.5, 0.2, 0.0, 0.90)
    >>> round(r["ci_low"], 4), round(r["p_value"], 4), r["verdict"]
    (0.171, 0.0062, 'supported')
    """
    z = float(stats.norm.ppf(0.5 + conf_level / 2))
    if not (np.isfinite(estimate) and np.isfinite(std_err) and std_err > 0):
        return dict(
            estimate=float(estimate),
            ci_low=np.nan,
            ci_high=np.nan,
            conf_level=conf_level,
            threshold=threshold,
            p_value=np.nan,
            p_value_not=np.nan,
            verdict="inconclusive",
        )
    low, high = estimate - z * std_err, estimate + z * std_err
    zstat = (estimate - threshold) / std_err
    return dict(
        estimate=float(estimate),
        ci_low=float(low),
        ci_high=float(high),
        conf_level=conf_level,
        threshold=float(threshold),
        p_value=float(stats.norm.sf(zstat)),
        p_value_not=float(stats.norm.cdf(zstat)),
        verdict=verdict_from_bounds(low, high, threshold),
    )
