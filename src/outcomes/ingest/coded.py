"""Columns as integer codes, for rules checked on millions of rows (internal to the package).

Written by hand for speed (no library offers it): every text column is factorized ONCE
(a code per row plus its distinct values); stripping, blanks, vocabularies and number
parsing then run on the few distinct values and are spread back to rows by the codes,
and group-wise rules use integer group codes sorted once (numpy ``reduceat`` over
contiguous slices) instead of a pandas groupby on strings or float ids per rule.
:mod:`outcomes.ingest.rules` applies the data contract with them.

Examples
--------
>>> import numpy as np, pandas as pd
>>> text = CodedText(pd.Series([" a", "b", "a ", ""]), 4)
>>> text.codes.tolist(), text.distinct.tolist()
([0, 1, 0, -1], ['a', 'b'])
>>> Groups(np.array([0, 0, 1, 1])).spread(np.array([3.0, 1.0, 5.0, 2.0]), np.ones(4, bool), "min").tolist()
[1.0, 1.0, 2.0, 2.0]
"""

from __future__ import annotations

import re
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.extensions import ExtensionDtype

__all__ = [
    "CodedNumbers",
    "CodedText",
    "Factorized",
    "Groups",
    "column_dtype",
    "dense_codes",
    "int_codes",
    "int_type",
    "pair_codes",
    "recode",
    "sorted_codes",
    "spread_rows",
    "text_cells",
]

_NONFINITE_WORDS = ("nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")

#: A column as ``pd.factorize`` gives it: a code per row (-1 = missing) and the distinct values as a
#: ``str`` Series (:attr:`outcomes.ingest.records.RawTable.codes` holds these for the columns coded
#: while reading).
Factorized = tuple[npt.NDArray[np.signedinteger[Any]], pd.Series]


def int_type(n: int) -> type[np.signedinteger]:
    """The smallest signed integer type that holds 0 .. n (less memory to sort, gather and compare;
    numpy sorts 8- and 16-bit integers with a radix sort)."""
    for dtype in (np.int8, np.int16, np.int32):
        if n < np.iinfo(dtype).max:
            return dtype
    return np.int64


def text_cells(s: pd.Series) -> pd.Series:
    """Cells as stripped strings; empty -> NA.  Integer-valued floats print without '.0'."""
    if pd.api.types.is_float_dtype(s.dtype):
        finite = s.dropna()
        if np.isfinite(finite).all() and (finite == np.round(finite)).all():
            s = s.astype("Int64")
    out = s.astype("str").str.strip()
    return out.mask(out == "")


def spread_rows(
    per_distinct: npt.NDArray[Any], codes: npt.NDArray[np.signedinteger[Any]], fill: float | None
) -> npt.NDArray[Any]:
    """Spread a per-distinct-value result back to rows (codes from ``pd.factorize``; -1 = missing)."""
    if len(per_distinct) == 0:
        return np.full(len(codes), fill)
    rows: npt.NDArray[Any] = np.append(per_distinct, np.asarray(fill))[codes]  # code -1 picks the fill
    return rows


def column_dtype(s: pd.Series, factorized: Factorized | None) -> np.dtype[Any] | ExtensionDtype:
    """The column's type as read: a column coded by the reader (:attr:`RawTable.codes`) has the
    type of its values, whatever holds the codes."""
    return s.dtype if factorized is None else factorized[1].dtype


def recode(
    codes: npt.NDArray[np.signedinteger[Any]], sub: npt.NDArray[np.signedinteger[Any]]
) -> npt.NDArray[np.signedinteger[Any]]:
    """Compose codes: ``sub[codes]``, keeping -1 for missing (int32: half the memory of int64)."""
    fits = codes.dtype.kind == "i" and len(sub) < np.iinfo(codes.dtype).max
    sub = np.asarray(sub, dtype=codes.dtype if fits else np.int32 if len(sub) < 2**31 - 1 else np.int64)
    if codes.dtype == sub.dtype and np.array_equal(sub, np.arange(len(sub))):
        return codes  # nothing merged or blanked: reuse the codes as they are
    composed: npt.NDArray[np.signedinteger[Any]] = np.append(sub, -1)[codes]
    return composed


class CodedText:
    """A column as stripped text (as :func:`text_cells`), factorized once.

    ``codes`` (int64 per row, -1 where missing or blank) index ``distinct`` (str Series, no NA,
    in order of first appearance in the rows).  An absent column (``None``) is all missing.
    """

    codes: npt.NDArray[np.signedinteger[Any]]
    distinct: pd.Series

    def __init__(self, s: pd.Series | None, n: int, factorized: Factorized | None = None) -> None:
        if s is None:
            self.codes = np.full(n, -1, dtype=np.int32)
            self.distinct = pd.Series([], dtype="str")
            return
        dtype = column_dtype(s, factorized)
        if (
            isinstance(dtype, pd.StringDtype)
            or pd.api.types.is_integer_dtype(dtype)
            or pd.api.types.is_bool_dtype(dtype)
        ):
            # Equal cells print alike: factorize the raw cells (unless the reader did), then strip
            # the distinct ones only.
            raw_codes, uniques = factorized if factorized is not None else pd.factorize(s)
            sub, distinct = pd.factorize(text_cells(pd.Series(uniques, dtype=dtype)))
            self.codes = recode(raw_codes, sub)
        else:  # floats (all-integer columns print without '.0'), objects (1 and 1.0 print apart)
            codes, distinct = pd.factorize(text_cells(s))
            self.codes = recode(codes, np.arange(len(distinct)))
        self.distinct = pd.Series(distinct, dtype="str")

    def rows(self, per_distinct: npt.NDArray[Any], fill: float | None = False) -> npt.NDArray[Any]:
        """A per-distinct-value array spread to rows."""
        return spread_rows(per_distinct, self.codes, fill)


class CodedNumbers:
    """A column parsed as numbers: ``value`` (float array, NaN where absent/invalid) and masks.

    Text is parsed once per distinct string (a visits column has few), then spread to rows.
    """

    value: npt.NDArray[np.float64]
    present: npt.NDArray[np.bool_]
    not_number: npt.NDArray[np.bool_]
    comma: npt.NDArray[np.bool_]
    kind: str | None

    def __init__(self, s: pd.Series | None, n: int, factorized: Factorized | None = None) -> None:
        self.comma = np.zeros(n, dtype=bool)
        self.kind = None
        dtype = column_dtype(s, factorized) if s is not None else pd.StringDtype(na_value=np.nan)
        # An absent column (s is None) has the string dtype and is parsed as text below: the
        # ``s is not None`` tests only say so to the type checker.
        if s is not None and (
            pd.api.types.is_bool_dtype(dtype)
            or not (
                pd.api.types.is_numeric_dtype(dtype)
                or pd.api.types.is_string_dtype(dtype)
                or pd.api.types.is_object_dtype(dtype)
            )
        ):
            self.value = np.full(n, np.nan)
            self.present = s.notna().to_numpy(dtype=bool)
            self.not_number = self.present.copy()
            self.kind = "boolean" if pd.api.types.is_bool_dtype(dtype) else str(dtype)
            return
        if s is not None and pd.api.types.is_numeric_dtype(dtype):
            self.value = s.astype("float64").to_numpy().astype(np.float64, copy=False)  # typed float64
            self.present = s.notna().to_numpy(dtype=bool)
            self.not_number = np.zeros(n, dtype=bool)
            return
        text = CodedText(s, n, factorized)
        distinct = text.distinct
        number = pd.to_numeric(distinct, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        word = distinct.str.lower().isin(_NONFINITE_WORDS).to_numpy(dtype=bool)
        comma = distinct.str.match(_DECIMAL_COMMA).to_numpy(dtype=bool, na_value=False)
        number = np.where(word, np.inf, number)  # "nan" words are as bad as inf
        self.present = text.codes >= 0
        self.value = text.rows(number, np.nan).astype(np.float64)
        self.not_number = self.present & text.rows(np.isnan(number) & ~word)
        self.comma = text.rows(comma) & self.not_number

    @property
    def finite(self) -> npt.NDArray[np.bool_]:
        return np.isfinite(self.value)

    @property
    def nonfinite(self) -> npt.NDArray[np.bool_]:
        return self.present & ~self.not_number & ~self.finite

    @property
    def fractional(self) -> npt.NDArray[np.bool_]:
        v = self.value
        return self.finite & np.not_equal(v, np.round(v))


class Groups:
    """Rows grouped by int codes (-1 = in no group), sorted once so that every group statistic is
    a numpy ``reduceat`` over contiguous slices (many times cheaper than a pandas groupby each)."""

    order: npt.NDArray[np.intp] | None  # None: the rows are already in group order (``identity``)

    def __init__(self, codes: npt.NDArray[np.signedinteger[Any]]) -> None:
        self.codes, self.n = codes, len(codes)
        # every row in a group and rows already in group order (the usual file): no sort, gather or scatter
        self.identity = bool(self.n) and codes[0] >= 0 and bool((codes[1:] >= codes[:-1]).all())
        if self.identity:
            self.order, ordered = None, codes
        else:
            inside = np.flatnonzero(codes >= 0)
            self.order = inside[np.argsort(codes[inside], kind="stable")]  # files list groups in runs: cheap
            ordered = codes[self.order]
        self.starts = (
            np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(ordered) else np.zeros(0, dtype=np.intp)
        )
        self.sizes = np.diff(np.append(self.starts, len(ordered)))
        gid = np.repeat(np.arange(len(self.starts), dtype=np.int32), self.sizes)  # dense group number per row
        if self.identity:
            self.gid = gid
        else:
            self.gid = np.full(self.n, -1, dtype=np.int32)
            self.gid[self.order] = gid

    def spread(
        self, values: npt.NDArray[Any], mask: npt.NDArray[np.bool_], how: Literal["min", "max"]
    ) -> npt.NDArray[np.float64]:
        """Group min / max of ``values`` over masked rows, spread to every row (NaN: no such row)."""
        if not len(self.starts):
            return np.full(self.n, np.nan)
        if not self.identity:
            values, mask = values[self.order], mask[self.order]
        fill = np.inf if how == "min" else -np.inf
        v = np.where(mask, values, fill)
        red = (np.minimum if how == "min" else np.maximum).reduceat(v.astype(np.float64, copy=False), self.starts)
        red[~np.logical_or.reduceat(mask, self.starts)] = np.nan
        spread = np.repeat(red, self.sizes)
        if self.identity:
            return spread
        out = np.full(self.n, np.nan)
        out[self.order] = spread
        return out

    def _rows(self, mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp] | slice:
        """Masked rows in group order."""
        if self.order is None:  # the same as ``self.identity``, said so that the type checker sees it
            return slice(None) if mask.all() else np.flatnonzero(mask)
        rows: npt.NDArray[np.intp] = self.order[mask[self.order]]
        return rows

    def any(self, mask: np.ndarray) -> np.ndarray:
        """Per row: whether any masked row shares its group (False outside groups)."""
        if not len(self.starts):
            return np.zeros(self.n, dtype=bool)
        spread = np.repeat(np.logical_or.reduceat(mask if self.identity else mask[self.order], self.starts), self.sizes)
        if self.identity:
            return spread
        out = np.zeros(self.n, dtype=bool)
        out[self.order] = spread
        return out

    def first(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Per row: the value of the group's first masked row in row order (NaN: none, or no group)."""
        if self.identity and mask.all():  # the usual file: each group's first row
            return np.repeat(values[self.starts], self.sizes)
        first_row = self.spread(np.arange(self.n), mask, "min")
        has = ~np.isnan(first_row)
        return np.where(has, values[np.where(has, first_row, 0).astype(np.int64)], np.nan)

    def varies(self, values: np.ndarray, mask: np.ndarray) -> bool:
        """Whether any group holds two different values among its masked rows."""
        rows = self._rows(mask)
        v, g = values[rows], self.gid[rows]
        return bool(((v[1:] != v[:-1]) & (g[1:] == g[:-1])).any())

    def dense_rank(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Dense rank (1, 2, ...) of ``values`` within each group over masked rows; NaN elsewhere."""
        out = np.full(self.n, np.nan)
        idx = self._rows(mask)
        if isinstance(idx, slice) and not self.n:
            return out
        if not isinstance(idx, slice) and not len(idx):
            return out
        group = self.gid[idx].astype(np.int64)
        rank = sorted_codes(values[idx])
        key = group * (int(rank.max()) + 1) + rank
        del rank
        if not (key[1:] >= key[:-1]).all():  # rows already in (group, value) order need no sort
            if isinstance(idx, slice):
                idx = np.arange(self.n)
            o = np.argsort(key, kind="stable")
            key, group, idx = key[o], group[o], idx[o]
        count = np.cumsum(np.r_[True, key[1:] != key[:-1]])
        del key
        if isinstance(idx, slice):  # every row, in group order: groups start where they were found
            base = np.repeat(count[self.starts], self.sizes)
        else:
            base = np.maximum.accumulate(np.where(np.r_[True, group[1:] != group[:-1]], count, 0))
        out[idx] = count - base + 1
        return out


def int_codes(values: np.ndarray) -> np.ndarray:
    """Int codes of float values that sort like them; -1 for NaN."""
    present = ~np.isnan(values)
    codes = np.full(len(values), -1, dtype=np.int64)
    codes[present] = sorted_codes(values[present])
    return codes


def sorted_codes(values: np.ndarray) -> np.ndarray:
    """Codes that sort like ``values`` (no NaN).  Whole numbers (days, visit numbers) are their
    own codes (no hashing); other values are hashed and only their distinct values sorted."""
    if values.dtype.kind == "f" and (
        not len(values) or (values.min() >= 0 and values.max() < 2**31 and (values == np.floor(values)).all())
    ):
        return values.astype(np.int64)
    codes, uniques = pd.factorize(values)
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[np.argsort(np.asarray(uniques), kind="stable")] = np.arange(len(uniques))
    return rank[codes]


def dense_codes(a: np.ndarray) -> np.ndarray:
    out = np.full(len(a), -1, dtype=np.int64)
    inside = a >= 0
    out[inside] = pd.factorize(a[inside])[0]
    return out


def pair_codes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One int64 code per distinct (a, b) pair of codes; -1 where either is -1."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if not len(a):
        return a
    width = max(int(b.max()), 0) + 1
    if (max(int(a.max()), 0) + 1) * width >= 2**62:  # keep clear of int64 overflow
        a, b = dense_codes(a), dense_codes(b)
        width = max(int(b.max()), 0) + 1
    return np.where((a >= 0) & (b >= 0), a * width + b, -1)
