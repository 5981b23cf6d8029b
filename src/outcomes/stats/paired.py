"""Change from baseline: mean, median, Hodges-Lehmann and standardized effect sizes.

The caller passes one change per episode (follow-up minus baseline, or the signed
improvement in the measure's good direction: the caller decides and says so).

Effect-size definitions (stated because names vary between papers):

- ``d_z`` = mean change / SD of change (SD with ``ddof=1``).  For paired data this
  is the same quantity as the *standardized response mean* (SRM, Liang et al.
  1990); both names denote mean(d)/sd(d).
- ``es_kazis`` = mean change / SD of baseline (Kazis, Anderson & Meenan 1989
  "effect size"); only when ``baseline`` is given.

Bootstrap cost does not grow as episodes x resamples for discrete outcomes
(pain scores take at most 21 distinct changes): when the data have at most
:data:`DISCRETE_MAX_VALUES` distinct (change, baseline) rows, each resample is a
draw of counts, ``rng.multinomial(n, p_hat, size=B)``, which has exactly the
distribution of the counts in an ordinary with-replacement resample, and the
mean, SD and median are computed from the counts.  The same holds for tables of up
to 20,000 distinct rows when there are at least 8 data rows per distinct row (ROM in
whole degrees at registry scale).  Otherwise rows are resampled
in bounded-memory chunks.

Examples
--------
>>> out = paired_change([2, 3, 1, 4, 2, 0, 3, 2], n_boot=500)
>>> out[["statistic", "n", "estimate"]].round(3)
        statistic  n  estimate
0            mean  8     2.125
1          median  8     2.000
2  hodges_lehmann  8     2.000
3             d_z  8     1.705
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from ._validate import as_finite_1d, check_conf_level, invalid, same_length

__all__ = ["DISCRETE_MAX_VALUES", "paired_change", "hodges_lehmann"]

#: At most this many distinct data rows -> count-table (multinomial) bootstrap and
#: count-weighted Hodges-Lehmann.
DISCRETE_MAX_VALUES = 200
#: Larger tables (up to this many distinct rows) are resampled as counts too when the
#: data have at least ``_COUNTS_PER_ROW`` times as many rows as distinct rows: the same
#: bootstrap distribution at a cost that no longer grows with the number of rows.
_COUNTS_MAX_ROWS = 20_000
_COUNTS_PER_ROW = 8
#: Ordinary resampling works on chunks of at most this many drawn values.
_CHUNK_CELLS = 4_000_000
#: R's wilcox.test computes an exact interval only below this n (and without ties/zeros).
_EXACT_MAX_N = 50
_ALTERNATIVES = ("two-sided", "greater", "less")


def _signrank_cdf(n: int) -> np.ndarray:
    """P(V <= v), v = 0..n(n+1)/2, for the signed-rank statistic under H0 (no ties).

    Counts subsets of {1..n} by their sum (polynomial product of (1 + x^k));
    the equivalent of R's ``psignrank``.  scipy keeps its exact distribution
    private, so this few-line recursion is written here.
    """
    top = n * (n + 1) // 2
    ways = np.zeros(top + 1)
    ways[0] = 1.0
    for k in range(1, n + 1):
        shifted = np.zeros_like(ways)
        shifted[k:] = ways[: top + 1 - k]
        ways = ways + shifted
    return np.cumsum(ways) / 2.0**n


def _weighted_order_stats(values: np.ndarray, weights: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """k-th smallest (1-based ``ranks``) of ``values`` each repeated ``weights`` times."""
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    pos = np.searchsorted(cum, np.asarray(ranks, dtype=float) - 0.5)
    return values[order][np.minimum(pos, values.size - 1)]


def hodges_lehmann(change: ArrayLike, *, conf_level: float = 0.95) -> pd.DataFrame:
    """Hodges-Lehmann pseudo-median of the changes with its Walsh-average interval.

    The estimate is the median of the ``n(n+1)/2`` Walsh averages
    ``(d_i + d_j)/2, i <= j``.  The interval is
    ``[W_(C), W_(M+1-C)]`` with ``M = n(n+1)/2``:

    - exact ``C`` from the signed-rank distribution (``C = qsignrank(alpha/2, n)``,
      as R's ``wilcox.test(conf.int=TRUE)``) when ``n < 50`` and the changes have
      no ties and no zeros;
    - otherwise the large-sample ``C = round(n(n+1)/4 - z sqrt(n(n+1)(2n+1)/24))``
      (Hollander & Wolfe, *Nonparametric Statistical Methods*, section 3.2).

    Walsh averages are formed from the *distinct* values with multiplicities
    (``c_i c_j`` for ``i < j``, ``c_i (c_i + 1)/2`` for ``i = j``), so the cost is
    O(V^2) in the number of distinct changes V, not O(n^2).  Written by hand
    because no library computes a count-weighted Hodges-Lehmann estimator.

    Parameters
    ----------
    change : array-like
        Paired differences (at least 2).
    conf_level : float
        Two-sided level.

    Returns
    -------
    pandas.DataFrame
        One row: ``n, estimate, ci_low, ci_high, conf_level, method`` with
        ``method`` ``"walsh_exact"`` or ``"walsh_normal"``.

    Examples
    --------
    >>> x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    >>> y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    >>> hodges_lehmann([a - b for a, b in zip(x, y)]).round(3).iloc[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'n': 9, 'estimate': 0.46, 'ci_low': 0.01, 'ci_high': 0.786, 'conf_level': 0.95,
     'method': 'walsh_exact'}
    """
    d = as_finite_1d(change, "change", min_size=2)
    level = check_conf_level(conf_level)
    alpha = 1.0 - level
    n = d.size
    total = n * (n + 1) // 2
    vals, counts = np.unique(d, return_counts=True)
    i, j = np.triu_indices(vals.size)
    walsh = (vals[i] + vals[j]) / 2.0
    c = counts.astype(float)
    weight = np.where(i == j, c[i] * (c[i] + 1) / 2.0, c[i] * c[j])
    middle = [(total + 1) // 2, total // 2 + 1]  # equal when total is odd
    estimate = float(_weighted_order_stats(walsh, weight, np.array(middle)).mean())
    exact = n < _EXACT_MAX_N and vals.size == n and not np.any(np.abs(d) == 0) and np.unique(np.abs(d)).size == n
    if exact:
        cdf = _signrank_cdf(n)
        low_rank = int(np.searchsorted(cdf, alpha / 2 - 1e-12))  # smallest v with cdf >= alpha/2
        low_rank = max(low_rank, 1)
        method = "walsh_exact"
    else:
        z = stats.norm.ppf(1 - alpha / 2)
        low_rank = int(np.round(n * (n + 1) / 4 - z * np.sqrt(n * (n + 1) * (2 * n + 1) / 24)))
        low_rank = max(low_rank, 1)
        method = "walsh_normal"
    low, high = _weighted_order_stats(walsh, weight, np.array([low_rank, total + 1 - low_rank]))
    return pd.DataFrame(
        {
            "n": [n],
            "estimate": [estimate],
            "ci_low": [float(low)],
            "ci_high": [float(high)],
            "conf_level": [level],
            "method": [method],
        }
    )


def _moments(sum_w: float, s1: np.ndarray, s2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and SD (ddof=1) from weighted sums of centred values."""
    mean = s1 / sum_w
    var = np.maximum(s2 - sum_w * mean**2, 0.0) / (sum_w - 1)
    return mean, np.sqrt(var)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _row_table(d: np.ndarray, b: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (change[, baseline]) rows and their counts.

    Column-wise 1-d ``np.unique`` plus an integer code per row: much faster than
    ``np.unique(axis=0)``, which sorts structured rows.
    """
    d_vals, d_code = np.unique(d, return_inverse=True)
    if b is None:
        return d_vals[:, None], np.bincount(d_code)
    b_vals, b_code = np.unique(b, return_inverse=True)
    codes, counts = np.unique(d_code.astype(np.int64) * b_vals.size + b_code, return_counts=True)
    rows = np.column_stack([d_vals[codes // b_vals.size], b_vals[codes % b_vals.size]])
    return rows, counts


def _bootstrap_counts(
    rows: np.ndarray, row_counts: np.ndarray, centre: tuple[float, ...], n_boot: int, rng
) -> dict[str, np.ndarray]:
    """Resample the table of distinct rows: counts ~ Multinomial(n, p_hat)."""
    n = int(row_counts.sum())
    draws = rng.multinomial(n, row_counts / n, size=n_boot).astype(float)  # (B, R)
    centre_d = centre[0]
    rd = rows[:, 0] - centre_d
    mean_c, sd = _moments(n, draws @ rd, draws @ rd**2)
    out = {"mean": mean_c + centre_d, "sd": sd}
    # Median of change from counts per distinct change value.
    vals, inverse = np.unique(rows[:, 0], return_inverse=True)
    per_value = np.zeros((n_boot, vals.size))
    np.add.at(per_value.T, inverse, draws.T)
    cum = np.cumsum(per_value, axis=1)
    lo = (cum >= (n + 1) // 2).argmax(axis=1)
    hi = (cum >= n // 2 + 1).argmax(axis=1)
    out["median"] = (vals[lo] + vals[hi]) / 2.0
    if rows.shape[1] > 1:
        rb = rows[:, 1] - centre[1]
        out["sd_baseline"] = _moments(n, draws @ rb, draws @ rb**2)[1]
    return out


def _bootstrap_rows(d: np.ndarray, b: np.ndarray | None, n_boot: int, rng) -> dict[str, np.ndarray]:
    """Ordinary with-replacement resampling, in chunks of bounded memory."""
    n = d.size
    chunk = max(1, _CHUNK_CELLS // n)
    parts: dict[str, list[np.ndarray]] = {"mean": [], "sd": [], "median": [], "sd_baseline": []}
    for start in range(0, n_boot, chunk):
        idx = rng.integers(0, n, size=(min(chunk, n_boot - start), n))
        sample = d[idx]
        parts["mean"].append(sample.mean(axis=1))
        parts["sd"].append(sample.std(axis=1, ddof=1))
        parts["median"].append(np.median(sample, axis=1))
        if b is not None:
            parts["sd_baseline"].append(b[idx].std(axis=1, ddof=1))
    return {k: np.concatenate(v) for k, v in parts.items() if v}


def _percentile_ci(boot: np.ndarray, alpha: float) -> tuple[float, float]:
    """Percentile interval; resamples with an undefined ratio (SD 0) are dropped
    unless they exceed 1% of all, in which case the interval is NaN."""
    finite = boot[np.isfinite(boot)]
    if finite.size == 0 or finite.size < 0.99 * boot.size:
        return np.nan, np.nan
    low, high = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def paired_change(
    change: ArrayLike,
    *,
    baseline: ArrayLike | None = None,
    conf_level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    alternative: str = "two-sided",
) -> pd.DataFrame:
    """Summaries of paired change with confidence intervals and tests.

    Parameters
    ----------
    change : array-like
        One change per episode (at least 2, all finite).
    baseline : array-like, optional
        Baseline values in the same order; adds the ``es_kazis`` row.
    conf_level : float
        Two-sided level of every interval.
    n_boot : int
        Bootstrap resamples (median, ``d_z``, ``es_kazis``).
    seed : int
        Seed of ``numpy.random.default_rng``; identical output run to run.
    alternative : {"two-sided", "greater", "less"}
        Alternative of the t-test and of the Wilcoxon signed-rank test
        (``"greater"``: change > 0).  Intervals are always two-sided.

    Returns
    -------
    pandas.DataFrame
        One row per statistic with ``statistic, n, estimate, ci_low, ci_high,
        conf_level, p_value, method``:

        ``mean``
            t interval; ``p_value`` one-sample t-test of mean 0
            (``scipy.stats.ttest_1samp``).
        ``median``
            sample median, bootstrap percentile interval; no test (NaN).
        ``hodges_lehmann``
            :func:`hodges_lehmann`; ``p_value`` Wilcoxon signed-rank
            (``scipy.stats.wilcoxon``, zeros dropped and continuity correction as
            R's default ``wilcox.test``; 1 when every change is 0).
        ``d_z``
            mean / SD of change (= SRM), bootstrap percentile interval; no
            separate test (it is the t-test).
        ``es_kazis``
            mean change / SD of baseline, bootstrap percentile interval (only
            with ``baseline``).

    Examples
    --------
    >>> out = paired_change([-3, -2, -4, 0, -1, -2, -5, -3], baseline=[7, 6, 8, 5, 6, 7, 9, 6])
    >>> out[["statistic", "estimate"]].round(3)
            statistic  estimate
    0            mean    -2.500
    1          median    -2.500
    2  hodges_lehmann    -2.500
    3             d_z    -1.559
    4        es_kazis    -1.950
    """
    d = as_finite_1d(change, "change", min_size=2)
    b = None
    if baseline is not None:
        b = as_finite_1d(baseline, "baseline", min_size=2)
        same_length([d, b], ["change", "baseline"])
    level = check_conf_level(conf_level)
    if alternative not in _ALTERNATIVES:
        raise invalid("alternative", "alternative must be 'two-sided', 'greater' or 'less'", "alternative")
    if int(n_boot) < 100:
        raise invalid("n_boot", "n_boot must be at least 100", "n_boot")
    alpha = 1.0 - level
    n = d.size
    rng = np.random.default_rng(seed)

    table, table_counts = _row_table(d, b)
    if table_counts.size <= DISCRETE_MAX_VALUES or (
            table_counts.size <= _COUNTS_MAX_ROWS and table_counts.size * _COUNTS_PER_ROW <= n):
        centre = (d.mean(),) if b is None else (d.mean(), b.mean())
        boot = _bootstrap_counts(table, table_counts, centre, int(n_boot), rng)
        boot_method = "bootstrap_percentile_counts"
    else:
        boot = _bootstrap_rows(d, b, int(n_boot), rng)
        boot_method = "bootstrap_percentile"

    rows = []
    if n > 1 and np.ptp(d) > 0:
        t_res = stats.ttest_1samp(d, 0.0)
        t_ci = t_res.confidence_interval(level)
        t_p = stats.ttest_1samp(d, 0.0, alternative=alternative).pvalue
        rows.append(("mean", d.mean(), t_ci.low, t_ci.high, t_p, "t"))
    else:  # no variation: the t interval and test are undefined (scipy would warn and return NaN)
        rows.append(("mean", d.mean(), np.nan, np.nan, np.nan, "t (undefined: no variation)"))
    rows.append(("median", np.median(d), *_percentile_ci(boot["median"], alpha), np.nan, boot_method))

    hl = hodges_lehmann(d, conf_level=level).iloc[0]
    if np.all(d == 0):
        w_p = 1.0
    else:
        # Exact null distribution only without zeros and ties (scipy's "auto" would fall back
        # to a slow permutation test); otherwise the tie-corrected normal approximation.
        nonzero = d[d != 0]
        exact = n <= 50 and nonzero.size == n and np.unique(np.abs(nonzero)).size == n
        w_p = stats.wilcoxon(d, alternative=alternative, correction=not exact,
                             method="exact" if exact else "approx").pvalue
    rows.append(("hodges_lehmann", hl.estimate, hl.ci_low, hl.ci_high, w_p, f"{hl.method}+wilcoxon"))

    sd = d.std(ddof=1)
    d_z = float(_ratio(np.array(d.mean()), np.array(sd)))
    rows.append(("d_z", d_z, *_percentile_ci(_ratio(boot["mean"], boot["sd"]), alpha), np.nan, boot_method))
    if b is not None:
        es = float(_ratio(np.array(d.mean()), np.array(b.std(ddof=1))))
        es_ci = _percentile_ci(_ratio(boot["mean"], boot["sd_baseline"]), alpha)
        rows.append(("es_kazis", es, *es_ci, np.nan, boot_method))

    out = pd.DataFrame(rows, columns=["statistic", "estimate", "ci_low", "ci_high", "p_value", "method"])
    out.insert(1, "n", n)
    out.insert(5, "conf_level", level)
    return out.astype({"estimate": float, "ci_low": float, "ci_high": float, "p_value": float})
