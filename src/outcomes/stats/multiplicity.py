"""Adjusted p-values for families of claims (Holm; Benjamini-Hochberg).

Benjamini-Hochberg is :func:`statsmodels.stats.multitest.multipletests`; Holm's step-down
is three lines of numpy here, because statsmodels' Holm calls ``gc.collect()`` (a full
collection of the process heap: 0.06 s per call with a 100k-episode registry in memory);
the test suite checks it against statsmodels and R.  Like R's ``p.adjust``, missing
p-values stay missing and the others are adjusted among themselves (the family size is
the number of non-missing p-values).

Examples
--------
>>> holm([0.01, 0.04, 0.03, 0.005])
array([0.03, 0.06, 0.06, 0.02])
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike
from statsmodels.stats.multitest import multipletests

from outcomes.stats._validate import invalid

__all__ = ["benjamini_hochberg", "holm"]

_F = TypeVar("_F", bound=Callable[..., Any])

#: The Parameters and Returns sections of every adjustment's docstring; ``{r}``: the method's name in R.
_SECTIONS = """\
Parameters
----------
p_values : array-like
    Unadjusted p-values; NaN stays NaN.

Returns
-------
numpy.ndarray
    Adjusted p-values in the input order (R: ``p.adjust(p, "{r}")``)."""


def _documented(r_name: str) -> Callable[[_F], _F]:
    """Put ``_SECTIONS`` in place of the ``{sections}`` line of the decorated function's docstring."""

    def fill(func: _F) -> _F:
        func.__doc__ = inspect.cleandoc(func.__doc__ or "").replace("{sections}", _SECTIONS.format(r=r_name))
        return func

    return fill


def _adjust(p_values: ArrayLike, method: str) -> np.ndarray:
    p = np.asarray(p_values, dtype=float).reshape(-1)
    present = ~np.isnan(p)
    if np.any((p[present] < 0) | (p[present] > 1)):
        raise invalid("probability_range", "p-values must lie in [0, 1]", "p_value")
    out = np.full(p.shape, np.nan)
    if present.any():
        out[present] = _holm(p[present]) if method == "holm" else multipletests(p[present], method=method)[1]
    return out


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down: the i-th smallest p times (m - i + 1), made monotone, capped at 1."""
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(np.maximum.accumulate(p[order] * np.arange(p.size, 0, -1)), 1.0)
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out


@_documented(r_name="holm")
def holm(p_values: ArrayLike) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values (family-wise error rate).

    {sections}

    Examples
    --------
    >>> holm([0.50, 0.003, 0.32, 0.054, 0.0003])
    array([0.64  , 0.012 , 0.64  , 0.162 , 0.0015])
    >>> holm([0.02, np.nan])
    array([0.02,  nan])
    """
    return _adjust(p_values, "holm")


@_documented(r_name="BH")
def benjamini_hochberg(p_values: ArrayLike) -> np.ndarray:
    """Benjamini-Hochberg (1995) adjusted p-values (false discovery rate).

    {sections}

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.005])
    array([0.02, 0.04, 0.04, 0.02])
    """
    return _adjust(p_values, "fdr_bh")
