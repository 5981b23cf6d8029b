"""Input checks shared by the statistics modules (private).

Statistics functions receive arrays from :mod:`outcomes.episodes.core`; anything the
caller can fix (empty input, missing values, a confidence level outside (0, 1))
becomes an :class:`~outcomes.errors.OutcomesError` naming the argument, never a
bare ``ValueError`` from deep inside numpy or scipy.  Messages never contain data
values, only counts.

Examples
--------
>>> as_finite_1d([1, 2.5], "change")
array([1. , 2.5])
>>> check_conf_level(1.5)
Traceback (most recent call last):
...
outcomes.errors.OutcomesError: stats, column conf_level: [conf_level_range] conf_level must be strictly between 0 and 1
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from outcomes.errors import OutcomesError, Problem

__all__ = ["SOURCE", "as_finite_1d", "check_conf_level", "check_probability", "invalid", "same_length"]

#: ``Problem.source`` for errors raised by the statistics layer.
SOURCE = "stats"


def invalid(rule: str, message: str, column: str | None = None) -> OutcomesError:
    """Build (not raise) an :class:`OutcomesError` for one broken rule."""
    return OutcomesError(Problem(rule, message, SOURCE, (), column))


def as_finite_1d(values: ArrayLike, name: str, *, min_size: int = 1) -> np.ndarray:
    """``values`` as a 1-d float array; reject missing/infinite values and short input."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    bad = int(np.count_nonzero(~np.isfinite(arr)))
    if bad:
        raise invalid("finite_values", f"{name} has {bad} missing or infinite value(s)", name)
    if arr.size < min_size:
        raise invalid(
            "too_few_observations",
            f"{name} needs at least {min_size} observation(s), got {arr.size}",
            name,
        )
    return arr


def check_conf_level(conf_level: float) -> float:
    """Return ``conf_level`` as float if it lies strictly in (0, 1)."""
    if not 0.0 < float(conf_level) < 1.0:
        raise invalid("conf_level_range", "conf_level must be strictly between 0 and 1", "conf_level")
    return float(conf_level)


def check_probability(p: float | None, name: str) -> float | None:
    """``None`` passes; otherwise ``p`` must lie in [0, 1)."""
    if p is None:
        return None
    if not 0.0 <= float(p) < 1.0:
        raise invalid("probability_range", f"{name} must be in [0, 1)", name)
    return float(p)


def same_length(arrays: Sequence[np.ndarray], names: Sequence[str]) -> None:
    """Raise if the arrays differ in length."""
    sizes = {a.size for a in arrays}
    if len(sizes) > 1:
        raise invalid("same_length", f"{', '.join(names)} must have the same length", names[0])
