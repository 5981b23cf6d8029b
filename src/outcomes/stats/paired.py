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
2  hodges_lehmann  8     2.156
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


#: Walsh averages closer than this fraction of their range are one atom of the mid-distribution:
#: (0.1 + 0.2)/2 and (0 + 0.3)/2 differ in floating point, and a spurious gap of 1e-17 between
#: them would put the interpolation (and so the estimate) on the atom again.
_ATOM_RTOL = 1e-9


def _walsh_midquantile(
    vals: np.ndarray, counts: np.ndarray, walsh: np.ndarray, weight: np.ndarray, z: float
) -> tuple[float, float, float]:
    """Mid-quantile Hodges-Lehmann estimate and Woodruff interval from the count table.

    ``walsh``/``weight``: the distinct-value Walsh averages and their multiplicities (``i <= j``).
    Returns ``(estimate, ci_low, ci_high)``; see :func:`hodges_lehmann` for the definitions.
    """
    n = float(counts.sum())
    raw = np.unique(walsh)
    if raw.size == 1:  # every change equal: nothing varies
        return float(raw[0]), float(raw[0]), float(raw[0])
    # Atom of every distinct Walsh value (near-equal values merged, see _ATOM_RTOL).
    atom_of = np.cumsum(np.r_[0, np.diff(raw) > _ATOM_RTOL * (raw[-1] - raw[0])])
    atoms = raw[np.r_[True, np.diff(atom_of) > 0]]
    mass = np.bincount(atom_of[np.searchsorted(raw, walsh)], weights=weight)
    mid_cdf = (np.cumsum(mass) - mass / 2.0) / mass.sum()  # strictly increasing, G_1 < 1/2 < G_K
    estimate = float(np.interp(0.5, mid_cdf, atoms))
    # Atom of (v_i + v_j)/2 for every pair of distinct values: the same float expression as the
    # Walsh averages, so each sum is found exactly in ``raw``.
    pair_atom = atom_of[np.searchsorted(raw, (vals[:, None] + vals[None, :]) / 2.0)]

    def score(t: float) -> tuple[float, float]:
        """Sample G(t) and its large-sample SD.

        On [a_k, a_(k+1)], G(t) = (1 - u) G_k + u G_(k+1) is a U-statistic whose kernel is
        h = (1 - u) m_k + u m_(k+1), m_k(x, y) = 1{(x+y)/2 below atom k} + 1/2 1{at atom k};
        Var G ~ 4 zeta_1 / n, zeta_1 the variance of the Hoeffding projection g(x) = E h(x, X).
        """
        k = int(np.clip(np.searchsorted(atoms, t, side="right") - 1, 0, atoms.size - 2))
        u = (t - atoms[k]) / (atoms[k + 1] - atoms[k])
        kernel = (pair_atom < k) + (0.5 + 0.5 * u) * (pair_atom == k) + (0.5 * u) * (pair_atom == k + 1)
        proj = np.einsum("ij,j->i", kernel, counts) / n
        centred = proj - counts @ proj / n
        g_t = (1.0 - u) * mid_cdf[k] + u * mid_cdf[k + 1]
        return float(g_t), 2.0 * float(np.sqrt(counts @ centred**2 / n / n))

    se = score(estimate)[1]
    low, high = np.interp([0.5 - z * se, 0.5 + z * se], mid_cdf, atoms)
    return estimate, float(low), float(high)


def hodges_lehmann(change: ArrayLike, *, conf_level: float = 0.95) -> pd.DataFrame:
    """Hodges-Lehmann pseudo-median of the changes with its Walsh-average interval.

    The Walsh averages are the ``M = n(n+1)/2`` values ``(d_i + d_j)/2, i <= j``.  Which
    interval (``method``) depends on the data:

    ``"walsh_exact"``
        Fewer than :data:`EXACT_BELOW_N` (50) changes, no two equal, none zero, no two of the
        same absolute size.  Estimate: the median of the Walsh averages; interval
        ``[W_(C), W_(M+1-C)]`` with the exact ``C = qsignrank(alpha/2, n)``, as R's
        ``wilcox.test(conf.int=TRUE)``.
    ``"walsh_normal"``
        No two changes equal, but ``n >= 50`` (or a zero, or two of the same absolute size).
        Same estimate; the large-sample ``C = round(n(n+1)/4 - z sqrt(n(n+1)(2n+1)/24))``
        (Hollander & Wolfe, *Nonparametric Statistical Methods*, section 3.2).
    ``"walsh_midquantile"``
        Some changes are equal (whole-number scores, angles in whole degrees), whatever ``n``.
        The mid-quantile estimate and interval below.

    **Tied data.**  When the changes take few values (pain 0-10: changes are integers, Walsh
    averages half-integers) the pseudo-median as a median of the Walsh averages is a lattice
    value, and with a few hundred episodes ``W_(C)`` and ``W_(M+1-C)`` fall on the same tied
    value: a zero-width interval.  R's non-exact branch (inverting the tie-corrected normal
    statistic over ``mu`` with ``uniroot``) gives the same interval to within its tolerance,
    because that statistic is a step function of ``mu`` which jumps by several standard errors
    at each half-integer.  The exact conditional (midrank) distribution of the statistic given
    the ties, which R uses for small tied samples, is at these sizes practically that normal one,
    so it cannot widen the set of ``mu`` not rejected either.  A zero width says "the pseudo-median is
    exactly 2", which is a statement about the lattice, not about how precisely the clinic's
    typical change is known.  For tied data the estimand is therefore made continuous, with
    the *mid-distribution* of Parzen (2004) (Ma, Genton & Parzen 2011; R's
    ``Qtools::midquantile``), applied to the Walsh averages:

    - estimand ``theta``: the median of the mid-distribution of ``(X_1 + X_2)/2`` (``X_1, X_2``
      independent changes), i.e. the root of ``G(t) = 1/2`` where ``G`` joins the points
      ``(a, P(W < a) + P(W = a)/2)`` at the atoms ``a`` of ``W = (X_1 + X_2)/2`` by straight
      lines.  It is unique; it is the usual Hodges-Lehmann functional for continuous changes,
      and the centre ``c`` of any distribution symmetric about ``c``, discrete or not;
    - estimate: the same with the sample Walsh averages (``Qtools::midquantile(walsh, 0.5)``),
      so for tied data it is *not* the plain median of the Walsh averages (2.156, not 2.0, for
      the eight changes of the module example), and it need not be a half-integer;
    - interval (Woodruff 1952, on the mid-distribution scale): ``[Q(1/2 - z se), Q(1/2 + z se)]``,
      ``Q`` the inverse of the sample ``G`` (``Qtools::midquantile``), ``se = 2 sqrt(zeta_1 / n)``
      the large-sample SD of the sample ``G`` at the estimate (``G(t)`` is a U-statistic;
      ``zeta_1`` is the variance of its Hoeffding projection, estimated by plug-in).  ``theta``
      is in the interval exactly when the sample ``G(theta)`` is within ``z se`` of 1/2, its
      mean up to the ``i = j`` terms (O(1/n)): the normal approximation of a U-statistic, no
      symmetry assumed.  One SD for all ``t``, as the signed-rank test uses one null variance
      for every ``mu``; an SD re-estimated at each ``t`` (a Wald test inverted) shrinks in the
      tails and covered 89-92% at n = 10-20 in our simulations, against 93-96% for this one.
      A limit beyond the smallest or largest Walsh average is that average.  The width is
      positive whenever the changes vary.

    Zeros are changes like any other here: they bear on the test of ``mu = 0``, not on the
    location of the changes.  The interval is large-sample (seeded simulations in
    ``tests/test_stats_paired.py``: 93.6-95.4% at n = 200-1000; about 94% at n = 100-500 when
    ``theta`` is itself a heavy atom; 93-96% at n = 10-20).

    All branches work on the *distinct* values with multiplicities (Walsh average weights
    ``c_i c_j`` for ``i < j``, ``c_i (c_i + 1)/2`` for ``i = j``), so the cost is O(V^2) in
    the number of distinct changes V, not O(n^2).  Written by hand because no library computes a
    count-weighted Hodges-Lehmann estimator, nor a mid-quantile one.

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
        ``method`` ``"walsh_exact"``, ``"walsh_normal"`` or ``"walsh_midquantile"``.

    References
    ----------
    Parzen E (2004). Quantile probability and statistical data modeling. *Statistical Science*
    19, 652-662.  Ma Y, Genton MG, Parzen E (2011). Asymptotic properties of sample quantiles of
    discrete distributions. *Ann Inst Stat Math* 63, 227-243.  Hoeffding W (1948). A class of
    statistics with asymptotically normal distribution. *Ann Math Stat* 19, 293-325.
    Woodruff RS (1952). Confidence intervals for medians and other position measures.
    *JASA* 47, 635-646.

    Examples
    --------
    >>> x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    >>> y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    >>> hodges_lehmann([a - b for a, b in zip(x, y)]).round(3).iloc[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'n': 9, 'estimate': 0.46, 'ci_low': 0.01, 'ci_high': 0.786, 'conf_level': 0.95,
     'method': 'walsh_exact'}

    Whole-number changes (ties):

    >>> hodges_lehmann([0, 1, 1, 2, 2, 2, 3, 3, 5, 6] * 30).round(3).iloc[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'n': 300, 'estimate': 2.338, 'ci_low': 2.132, 'ci_high': 2.558, 'conf_level': 0.95,
     'method': 'walsh_midquantile'}
    """
    d = as_finite_1d(change, "change", min_size=2)
    level = check_conf_level(conf_level)
    alpha = 1.0 - level
    z = float(stats.norm.ppf(1 - alpha / 2))
    n = d.size
    total = n * (n + 1) // 2
    vals, counts = np.unique(d, return_counts=True)
    i, j = np.triu_indices(vals.size)
    walsh = (vals[i] + vals[j]) / 2.0
    c = counts.astype(float)
    weight = np.where(i == j, c[i] * (c[i] + 1) / 2.0, c[i] * c[j])
    if vals.size < n:  # ties
        estimate, low, high = _walsh_midquantile(vals, c, walsh, weight, z)
        method = "walsh_midquantile"
    else:
        middle = [(total + 1) // 2, total // 2 + 1]  # equal when total is odd
        estimate = float(_weighted_order_stats(walsh, weight, np.array(middle)).mean())
        if _exact_signrank(d):
            cdf = _signrank_cdf(n)
            low_rank = int(np.searchsorted(cdf, alpha / 2 - 1e-12))  # smallest v with cdf >= alpha/2
            low_rank = max(low_rank, 1)
            method = "walsh_exact"
        else:
            low_rank = int(np.round(n * (n + 1) / 4 - z * np.sqrt(n * (n + 1) * (2 * n + 1) / 24)))
            low_rank = max(low_rank, 1)
            method = "walsh_normal"
        low, high = (float(v) for v in _weighted_order_stats(walsh, weight, np.array([low_rank, total + 1 - low_rank])))
    return pd.DataFrame(
        {
            "n": [n],
            "estimate": [estimate],
            "ci_low": [low],
            "ci_high": [high],
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
