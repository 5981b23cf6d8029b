"""Change from baseline: mean, median, Hodges-Lehmann and standardized effect sizes.

The caller passes one change per episode (follow-up minus baseline, or the signed
improvement in the measure's good direction: the caller decides and says so).

Effect-size definitions (stated because names vary between papers):

- ``d_z`` = mean change / SD of change (SD with ``ddof=1``).  For paired data this
  is the same quantity as the *standardized response mean* (SRM, Liang et al.
  1990); both names denote mean(d)/sd(d).
- ``es_kazis`` = mean change / SD of baseline (Kazis, Anderson & Meenan 1989
  "effect size"); only when ``baseline`` is given.

Bootstrap.  Every resample is represented by its counts over the table of distinct
(change[, baseline]) rows, and the mean, SD and median are computed from those counts,
so the statistics never touch the individual rows.  The counts are drawn by whichever
of two exact samplers is cheaper (both give exactly the distribution of the counts in
an ordinary with-replacement resample of the rows):

- ``rng.multinomial(n, p_hat)`` over the R distinct rows, at a cost that grows with R,
  not with the number of rows n: used when the data have at least
  ``_MULTINOMIAL_COST`` rows per distinct row (pain scores take at most 21 values, ROM
  in whole degrees a few thousand (change, baseline) pairs even in a registry);
- n uniform row indices, counted per distinct row, otherwise (continuous data, small
  samples).

Resamples are drawn in blocks, each from its own child of ``SeedSequence(seed)``: memory
stays bounded, large bootstraps use the machine's cores through threads (NumPy releases
the GIL while sampling and in BLAS), and the result is the same whatever the number of
threads.

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

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from outcomes.stats._validate import as_finite_1d, check_conf_level, invalid, same_length

__all__ = ["EXACT_BELOW_N", "hodges_lehmann", "paired_change"]

#: The multinomial sampler is used when the data have at least this many rows per distinct
#: row: drawing one multinomial cell costs about 3 uniform row draws (measured with NumPy 2
#: on the reference machine; see docs/scaling.md).
_MULTINOMIAL_COST = 3
#: Resamples per block, and the most sampled cells (block x width) one block may hold.
_BLOCK = 250
_CHUNK_CELLS = 4_000_000
#: Below this many sampled cells in all, blocks run one after the other (threads cost more).
_THREAD_MIN_CELLS = 2_000_000
#: The signed-rank distribution is used exactly (Hodges-Lehmann interval, Wilcoxon p-value) only for
#: fewer than this many changes, none of them zero and no two of the same size; otherwise the normal
#: approximation.  As R's ``wilcox.test``, whose default is ``exact <- (n < 50)``
#: (``src/library/stats/R/wilcox.test.R``, ``wilcox.test.default``; R also uses no exact test with zeros).
EXACT_BELOW_N: int = 50
#: The alternative hypotheses of :func:`paired_change`.
Alternative = Literal["two-sided", "greater", "less"]
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


def _exact_signrank(d: np.ndarray) -> bool:
    """Whether the exact signed-rank distribution applies to changes ``d`` (see :data:`EXACT_BELOW_N`):
    fewer than 50, none zero, no two of the same absolute size."""
    return bool(d.size < EXACT_BELOW_N and not np.any(d == 0) and np.unique(np.abs(d)).size == d.size)


def hodges_lehmann(change: ArrayLike, *, conf_level: float = 0.95) -> pd.DataFrame:
    """Hodges-Lehmann pseudo-median of the changes with its Walsh-average interval.

    The estimate is the median of the ``n(n+1)/2`` Walsh averages
    ``(d_i + d_j)/2, i <= j``.  The interval is
    ``[W_(C), W_(M+1-C)]`` with ``M = n(n+1)/2``:

    - exact ``C`` from the signed-rank distribution (``C = qsignrank(alpha/2, n)``,
      as R's ``wilcox.test(conf.int=TRUE)``) when ``n <`` :data:`EXACT_BELOW_N` (50) and
      the changes have no ties and no zeros;
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
    if _exact_signrank(d):
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


def _threads() -> int:
    """CPUs this process may run on (at most 4)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus))


def _map_blocks(
    func: Callable[[np.random.Generator, int], dict[str, np.ndarray]], sizes: list[int], seed: int, parallel: bool
) -> dict[str, np.ndarray]:
    """Run ``func(rng, size)`` per block with independent child generators; concatenate in block order."""
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(sizes))]
    workers = min(len(sizes), _threads()) if parallel else 1
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(func, rngs, sizes))
    else:
        parts = [func(rng, size) for rng, size in zip(rngs, sizes)]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _bootstrap(rows: np.ndarray, row_counts: np.ndarray, n_boot: int, seed: int) -> tuple[dict[str, np.ndarray], bool]:
    """Bootstrap mean, SD and median of change (and SD of baseline) from the distinct-row table.

    ``rows`` is sorted by change (then baseline), ``row_counts`` gives the multiplicity of
    each row.  Returns the resampled statistics and whether the multinomial sampler was used.
    """
    n = int(row_counts.sum())
    n_rows = row_counts.size
    multinomial = n_rows * _MULTINOMIAL_COST <= n
    width = n_rows if multinomial else n
    block = max(1, min(_BLOCK, _CHUNK_CELLS // width))
    sizes = [min(block, n_boot - s) for s in range(0, n_boot, block)]
    p_hat = row_counts / n
    row_of = None if multinomial else np.repeat(np.arange(n_rows), row_counts)
    # Centred values keep the sums of squares accurate; the median needs counts per distinct change.
    centre = rows[:, 0] @ p_hat
    rd = rows[:, 0] - centre
    rb = rows[:, 1] - rows[:, 1] @ p_hat if rows.shape[1] > 1 else None
    starts = np.flatnonzero(np.r_[True, np.diff(rows[:, 0]) != 0])
    values = rows[starts, 0]

    def weighted(draws: np.ndarray, x: np.ndarray) -> np.ndarray:
        # einsum, not ``@``: BLAS would start its own threads beside the block threads
        # (on 2 cores that cost a third more CPU for the same result).
        summed: np.ndarray = np.einsum("bj,j->b", draws, x)
        return summed

    def one_block(rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
        if row_of is None:  # the multinomial sampler
            draws = rng.multinomial(n, p_hat, size=size).astype(float)
        else:
            cells = row_of[rng.integers(0, n, size=(size, n))] + (np.arange(size) * n_rows)[:, None]
            draws = np.bincount(cells.ravel(), minlength=size * n_rows).reshape(size, n_rows).astype(float)
        mean_c, sd = _moments(n, weighted(draws, rd), weighted(draws, rd**2))
        out = {"mean": mean_c + centre, "sd": sd}
        cum = np.cumsum(np.add.reduceat(draws, starts, axis=1) if starts.size < n_rows else draws, axis=1)
        lo = (cum >= (n + 1) // 2).argmax(axis=1)
        hi = (cum >= n // 2 + 1).argmax(axis=1)
        out["median"] = (values[lo] + values[hi]) / 2.0
        if rb is not None:
            out["sd_baseline"] = _moments(n, weighted(draws, rb), weighted(draws, rb**2))[1]
        return out

    return _map_blocks(one_block, sizes, seed, parallel=n_boot * width >= _THREAD_MIN_CELLS), multinomial


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
    alternative: Alternative = "two-sided",
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
        Seed (non-negative) of the bootstrap's ``numpy.random.SeedSequence``; identical
        output run to run, whatever the number of CPUs.
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
            (``scipy.stats.wilcoxon``: exact under the conditions of :data:`EXACT_BELOW_N`,
            otherwise zeros dropped and continuity correction as R's default ``wilcox.test``;
            1 when every change is 0).
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
    table, table_counts = _row_table(d, b)
    boot, multinomial = _bootstrap(table, table_counts, int(n_boot), int(seed))
    boot_method = "bootstrap_percentile_counts" if multinomial else "bootstrap_percentile"

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
        exact = _exact_signrank(d)
        w_p = float(
            stats.wilcoxon(
                d, alternative=alternative, correction=not exact, method="exact" if exact else "approx"
            ).pvalue
        )
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
