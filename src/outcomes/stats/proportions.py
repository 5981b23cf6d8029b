"""Binomial proportions: Wilson score interval and exact one-sided binomial test.

The Wilson (1927) score interval is the interval recommended by Newcombe (1998,
Stat Med 17:857, "method 3") for a single proportion: it never leaves [0, 1],
has no zero-width aberration at 0 or n successes and its coverage is close to
nominal for small n.  It is what R's ``prop.test(x, n, correct = FALSE)``
reports and what statsmodels' ``proportion_confint(method="wilson")`` returns.

Examples
--------
>>> proportion_summary(12, 20, p0=0.3)[["n", "successes", "estimate", "p_value"]].round(4)
    n  successes  estimate  p_value
0  20         12       0.6   0.0051
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from outcomes.stats._validate import check_conf_level, check_probability, invalid

__all__ = ["proportion_summary", "wilson_ci"]


def wilson_ci(
    successes: ArrayLike, n: ArrayLike, conf_level: float = 0.95
) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Wilson score interval for binomial proportions (vectorized).

    Parameters
    ----------
    successes, n : int or array-like of int
        Numbers of successes and of trials (broadcast together); ``0 <= successes <= n``
        and ``n >= 1``.
    conf_level : float
        Two-sided confidence level.

    Returns
    -------
    (ci_low, ci_high) : tuple of float or numpy.ndarray
        Floats for scalar input, arrays otherwise.

    Notes
    -----
    With ``z`` the ``1 - (1 - conf_level)/2`` normal quantile and ``p = x/n``::

        centre = (p + z^2/(2n)) / (1 + z^2/n)
        half   = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/(4n^2))

    Limits are clipped to [0, 1] (they only leave it by rounding error).

    Examples
    --------
    >>> low, high = wilson_ci(5, 10, conf_level=0.9)
    >>> round(low, 7), round(high, 7)
    (0.2692718, 0.7307282)
    >>> wilson_ci([0, 32], [32, 32])[1].round(4)
    array([0.1072, 1.    ])
    """
    level = check_conf_level(conf_level)
    x = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    x, m = np.broadcast_arrays(x, m)
    if np.any(~np.isfinite(x)) or np.any(~np.isfinite(m)):
        raise invalid("finite_values", "successes and n must be finite numbers", "successes")
    if np.any(m < 1) or np.any(x < 0) or np.any(x > m):
        raise invalid("binomial_counts", "need n >= 1 and 0 <= successes <= n", "successes")
    z = stats.norm.ppf(0.5 + level / 2)
    p = x / m
    denom = 1 + z**2 / m
    centre = (p + z**2 / (2 * m)) / denom
    half = z / denom * np.sqrt(p * (1 - p) / m + z**2 / (4 * m**2))
    low = np.clip(centre - half, 0.0, 1.0)
    high = np.clip(centre + half, 0.0, 1.0)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def proportion_summary(successes: int, n: int, *, conf_level: float = 0.95, p0: float | None = None) -> pd.DataFrame:
    """One-row summary of a proportion with its Wilson interval.

    Parameters
    ----------
    successes, n : int
        Successes out of ``n`` trials.
    conf_level : float
        Two-sided level of the Wilson interval.
    p0 : float, optional
        Benchmark.  If given, ``p_value`` is the exact one-sided binomial test of
        H0: p <= p0 against H1: p > p0 (``scipy.stats.binomtest(...,
        alternative="greater")``); otherwise ``p_value`` is NaN.

    Returns
    -------
    pandas.DataFrame
        One row: ``n, successes, estimate, ci_low, ci_high, conf_level, p0,
        p_value, method`` (``method == "wilson"``).

    Examples
    --------
    >>> proportion_summary(81, 263).round(4).iloc[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'n': 263, 'successes': 81, 'estimate': 0.308, 'ci_low': 0.2553, 'ci_high': 0.3662,
     'conf_level': 0.95, 'p0': nan, 'p_value': nan, 'method': 'wilson'}
    """
    benchmark = check_probability(p0, "p0")
    if int(n) != n or int(successes) != successes:
        raise invalid("binomial_counts", "successes and n must be whole numbers", "successes")
    low, high = wilson_ci(successes, n, conf_level)
    p_value = np.nan
    if benchmark is not None:
        p_value = stats.binomtest(int(successes), int(n), benchmark, alternative="greater").pvalue
    return pd.DataFrame(
        {
            "n": [int(n)],
            "successes": [int(successes)],
            "estimate": [successes / n],
            "ci_low": [low],
            "ci_high": [high],
            "conf_level": [float(conf_level)],
            "p0": [np.nan if benchmark is None else benchmark],
            "p_value": [float(p_value)],
            "method": ["wilson"],
        }
    )
