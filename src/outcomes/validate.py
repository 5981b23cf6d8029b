"""Apply the data contract to a :class:`~outcomes.io.RawTable`.

Every rule is checked on the whole table at once (vectorised), all problems are
collected, and then either a :class:`~outcomes.visits.LoadedVisits` is returned
or one :class:`~outcomes.errors.OutcomesError` is raised whose headline reads
``"<file> does not meet the data contract (N problems):"``.  Rows breaking the
same rule in the same column are one problem listing their row numbers.
Messages never echo an identifier, an age or a free-text cell; an unknown code
is shown only when it is close to a valid one ("did you mean ...").

Policy
------
FATAL (the file must be fixed; nothing is guessed):

- ``required_columns``: ``patient_id``, ``visit_day``, ``measure``, ``value`` must exist
  (or, for the wide form, ``patient_id``, ``visit_day`` and measure-code columns).
- ``has_data_rows``: at least one data row, and at least one non-empty ``value``.
- ``required_present``: ``patient_id``, ``visit_day``, ``measure`` cells must not be empty.
- ``value_numeric``: ``value`` is a number written with a decimal point (``6,5`` is named
  as a decimal comma); ``value_finite``: not NaN / inf; ``value_in_bounds``: within the
  measure's hard bounds (:mod:`outcomes.measures`).
- ``measure_registered``: a registered measure code (hint when ``measure`` holds numbers:
  columns swapped?).
- ``visit_day_integer``, ``visit_day_nonnegative``: whole days >= 0;
  ``first_visit_day_zero``: each episode's first visit is day 0.
- ``visit_number_integer``: whole numbers >= 1; ``visit_number_consistent``: when given,
  it numbers visits in ``visit_day`` order from 1 (same day = same number).
- ``episode_single_patient``: an ``episode_id`` belongs to one patient.
- ``duplicate_conflict``: one (episode, visit, measure, side) recorded twice with different values.
- ``side_valid``: ``left`` / ``right`` / ``none``; sided measures need ``left``/``right``,
  unsided ones ``none`` (or empty).
- ``condition_code``, ``age_band_code``, ``sex_code``, ``treatment_code``: vocabularies of
  :mod:`outcomes.contract`; ``episode_constant``: condition/age_band/sex do not vary
  within an episode; ``visit_constant``: treatment/twitch_response/soreness_hours do not
  vary within a visit.
- ``twitch_response_boolean``: true/false/yes/no/1/0 (any case);
  ``soreness_numeric``, ``soreness_in_bounds``: hours in 0-``SORENESS_MAX_HOURS``.

EXCLUDED (kept out of the analysis, recorded in ``LoadedVisits.exclusions``):

- ``blank_row``, ``blank_column`` (see :mod:`outcomes.io`);
- ``value_missing``: an empty ``value`` cell (the measurement was not taken; the visit
  still counts for numbering);
- ``exact_duplicate``: a row identical to an earlier one after parsing (first kept);
- ``unknown_column``: a column not in the contract is ignored (header row 1).

DEFAULTS: ``episode_id`` = ``patient_id`` when absent or empty; ``visit_number`` = dense
rank of ``visit_day`` within the episode; ``side`` = ``none`` when empty; an episode or
visit attribute missing in some rows takes the value given in the others;
``treatment`` codes are sorted and ``+``-joined.

Examples
--------
>>> import pandas as pd
>>> from outcomes.io import read_records
>>> raw = read_records(pd.DataFrame({"patient_id": ["P1", "P1"], "visit_day": ["0", "4"],
...                                  "measure": "pain_nprs", "value": ["6", "11"]}))
>>> validate_records(raw)
Traceback (most recent call last):
...
outcomes.errors.OutcomesError: <DataFrame> does not meet the data contract (1 problem):
  - <DataFrame>, row 3, column value: [value_in_bounds] pain_nprs must be within 0-10 points (hard bounds of the measure registry); 1 value outside (11)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .contract import (AGE_BANDS, ALL_COLUMNS, CONDITIONS, EPISODE_CONSTANT_COLUMNS, REQUIRED_COLUMNS, SEXES,
                       SIDES, SORENESS_MAX_HOURS, TREATMENTS, VISIT_LEVEL_COLUMNS, parse_treatment)
from .errors import OutcomesError, Problem
from .io import RawTable, notes_frame
from .measures import REGISTRY, Measure
from .visits import LoadedVisits

__all__ = ["validate_records", "VISIT_COLUMNS", "FATAL_RULES", "EXCLUSION_RULES"]

#: Rules whose breach stops loading (documented in docs/data-contract.md).
FATAL_RULES: tuple[str, ...] = (
    "required_columns", "has_data_rows", "required_present", "episode_single_patient",
    "measure_registered", "value_numeric", "value_finite", "value_in_bounds",
    "visit_day_integer", "visit_day_nonnegative", "first_visit_day_zero",
    "visit_number_integer", "visit_number_consistent", "side_valid",
    "condition_code", "age_band_code", "sex_code", "treatment_code",
    "twitch_response_boolean", "soreness_numeric", "soreness_in_bounds",
    "episode_constant", "visit_constant", "duplicate_conflict",
)
#: Reasons a row or column is left out but loading goes on (``LoadedVisits.exclusions``).
EXCLUSION_RULES: tuple[str, ...] = ("blank_row", "blank_column", "value_missing", "exact_duplicate",
                                    "unknown_column")

#: Columns of the canonical visits frame, in order.
VISIT_COLUMNS: tuple[str, ...] = (
    "patient_id", "episode_id", "visit_day", "visit_number", "measure", "side", "value",
    "condition", "treatment", "age_band", "sex", "twitch_response", "soreness_hours", "row",
)
_SORT = ["episode_id", "visit_number", "measure", "side", "row"]
_NONFINITE_WORDS = ("nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity")
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_MAX_NAMED = 20  # distinct unknown codes examined for "did you mean" hints


class _Problems:
    """Collects problems; ``flag`` turns a boolean row mask into one grouped Problem."""

    def __init__(self, source: str, rows: np.ndarray):
        self.source, self.rows, self.items = source, rows, []

    def add(self, rule: str, message: str, column: str | None = None, rows: Sequence[int] = ()) -> None:
        self.items.append(Problem(rule, message, self.source, tuple(int(r) for r in rows), column))

    def flag(self, rule: str, mask, column: str | None, message: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.add(rule, message, column, self.rows[mask].tolist())


# --- cell parsing (vectorised) -----------------------------------------------------------------

def _text(s: pd.Series) -> pd.Series:
    """Cells as stripped strings; empty -> NA.  Integer-valued floats print without '.0'."""
    if pd.api.types.is_float_dtype(s.dtype):
        finite = s.dropna()
        if np.isfinite(finite).all() and (finite == np.round(finite)).all():
            s = s.astype("Int64")
    out = s.astype("str").str.strip()
    return out.mask(out == "")


def _take(per_distinct: np.ndarray, codes: np.ndarray, fill) -> np.ndarray:
    """Spread a per-distinct-value result back to rows (codes from ``pd.factorize``; -1 = missing)."""
    if len(per_distinct) == 0:
        return np.full(len(codes), fill)
    return np.where(codes >= 0, per_distinct[np.maximum(codes, 0)], fill)


class _Numbers:
    """A column parsed as numbers: ``value`` (float, NaN where absent/invalid) and masks.

    Text is parsed once per distinct string (a visits column has few), then spread to rows.
    """

    def __init__(self, s: pd.Series):
        dtype = s.dtype
        n = len(s)
        self.comma = np.zeros(n, dtype=bool)
        self.kind = None
        if pd.api.types.is_bool_dtype(dtype) or not (pd.api.types.is_numeric_dtype(dtype)
                                                     or pd.api.types.is_string_dtype(dtype)
                                                     or pd.api.types.is_object_dtype(dtype)):
            self.value = pd.Series(np.nan, index=s.index)
            self.present = s.notna().to_numpy(dtype=bool)
            self.not_number = self.present.copy()
            self.kind = "boolean" if pd.api.types.is_bool_dtype(dtype) else str(dtype)
            return
        if pd.api.types.is_numeric_dtype(dtype):
            self.value = s.astype("float64")
            self.present = s.notna().to_numpy(dtype=bool)
            self.not_number = np.zeros(n, dtype=bool)
            return
        codes, uniques = pd.factorize(_text(s))
        distinct = pd.Series(np.asarray(uniques, dtype=object), dtype="str")
        number = pd.to_numeric(distinct, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        word = distinct.str.lower().isin(_NONFINITE_WORDS).to_numpy(dtype=bool)
        comma = distinct.str.match(_DECIMAL_COMMA).to_numpy(dtype=bool, na_value=False)
        number = np.where(word, np.inf, number)  # "nan" words are as bad as inf
        self.present = codes >= 0
        self.value = pd.Series(_take(number, codes, np.nan), index=s.index, dtype="float64")
        self.not_number = self.present & _take(np.isnan(number) & ~word, codes, False)
        self.comma = _take(comma, codes, False) & self.not_number

    @property
    def finite(self) -> np.ndarray:
        return np.isfinite(self.value.to_numpy())

    @property
    def nonfinite(self) -> np.ndarray:
        return self.present & ~self.not_number & ~self.finite

    @property
    def fractional(self) -> np.ndarray:
        v = self.value.to_numpy()
        return self.finite & (v != np.round(v))


def _describe_unknown(values: pd.Series, allowed: Sequence[str], echo: bool = True) -> str:
    """Name unknown codes only when safe: close to an allowed code, or snake_case with '_'."""
    distinct = values.dropna().unique()
    named, hidden = [], max(len(distinct) - _MAX_NAMED, 0)
    for v in distinct[:_MAX_NAMED]:  # loop over distinct codes, not rows
        close = difflib.get_close_matches(str(v).lower(), list(allowed), 1, 0.75) if echo else []
        if close:
            named.append(f"{v!r} (did you mean {close[0]!r}?)")
        elif echo and re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)+", str(v)):
            named.append(repr(v))
        else:
            hidden += 1
    parts = [", ".join(named)] if named else []
    if hidden:
        parts.append(f"{hidden} other distinct value(s) (not shown)")
    return "; ".join(parts)


# --- the rules ---------------------------------------------------------------------------------

def validate_records(raw: RawTable, registry: Mapping[str, Measure] | None = None) -> LoadedVisits:
    """Check a raw table against the data contract and return canonical visits.

    Parameters
    ----------
    raw : RawTable
        From :func:`outcomes.io.read_records`.
    registry : mapping of code -> Measure, optional
        Measure registry (default: the built-in one).

    Returns
    -------
    LoadedVisits

    Raises
    ------
    OutcomesError
        Listing every broken rule (see the module docstring for the policy).

    Examples
    --------
    >>> import pandas as pd
    >>> from outcomes.io import read_records
    >>> raw = read_records(pd.DataFrame({"patient_id": ["P1"] * 3, "visit_day": ["7", "0", "0"],
    ...                                  "measure": ["pain_nprs", "pain_nprs", "grip_strength_kg"],
    ...                                  "side": ["", "", "Left"], "value": ["4", "6", "30"]}))
    >>> validate_records(raw)
    Traceback (most recent call last):
    ...
    outcomes.errors.OutcomesError: <DataFrame> does not meet the data contract (1 problem):
      - <DataFrame>, row 4, column side: [side_valid] side must be one of left, right, none (lower case) or empty; found 'Left' (did you mean 'left'?)
    >>> raw = read_records(raw.frame.assign(side=["", "", "left"]))
    >>> validate_records(raw).visits[["visit_number", "measure", "side", "value", "row"]].values.tolist()
    [[1, 'grip_strength_kg', 'left', 30.0, 4], [1, 'pain_nprs', 'none', 6.0, 3], [2, 'pain_nprs', 'none', 4.0, 2]]
    """
    reg = REGISTRY if registry is None else registry
    frame, source = raw.frame, raw.source
    found = _Problems(source, raw.rows)
    n = len(frame)
    excluded = [raw.notes]

    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        lower = {c.lower(): c for c in frame.columns}
        hint = [f"{lower[m]!r} is spelled differently (names are lower case)" for m in missing if m in lower]
        wide = "" if raw.wide else (" (a wide file has no measure/value columns but one column per "
                                    "measure code, e.g. pain_nprs)")
        found.add("required_columns", f"missing required column(s): {', '.join(missing)}{wide}"
                  + ("; " + "; ".join(hint) if hint else ""), ", ".join(missing), (1,))
    if n == 0:
        found.add("has_data_rows", "no data rows (only a header, or only blank rows)")
    if found.items and n == 0:
        _raise(found)
    unknown = [c for c in frame.columns if c not in ALL_COLUMNS]
    for c in unknown:
        excluded.append(notes_frame([1], c, "unknown_column", "column not in the data contract: ignored"))

    col = {c: frame[c] if c in frame.columns else pd.Series(pd.NA, index=frame.index, dtype="str")
           for c in ALL_COLUMNS}
    out = pd.DataFrame(index=frame.index)

    # identifiers
    pid = _text(col["patient_id"])
    found.flag("required_present", pid.isna() & ("patient_id" in frame), "patient_id", "patient_id is empty")
    eid = _text(col["episode_id"]).fillna(pid)
    ep = pd.factorize(eid)[0]
    pat = pd.factorize(pid)[0]
    has_ep = ep >= 0
    many = pd.Series(pat).where(pat >= 0).groupby(ep).transform("nunique").to_numpy() > 1
    found.flag("episode_single_patient", has_ep & many, "episode_id",
               "an episode_id is used for more than one patient_id; make episode ids unique "
               "(e.g. prefix them with the patient_id)")
    out["patient_id"], out["episode_id"] = pid, eid

    # measure
    measure = _text(col["measure"])
    m_codes, m_distinct = pd.factorize(measure)
    m_distinct = list(m_distinct)
    known = _take(np.array([m in reg for m in m_distinct], dtype=bool), m_codes, False)
    found.flag("required_present", measure.isna() & ("measure" in frame), "measure", "measure is empty")
    bad_measure = (m_codes >= 0) & ~known
    if bad_measure.any():
        msg = "not a registered measure code: " + _describe_unknown(measure[bad_measure], list(reg))
        as_num = pd.to_numeric(pd.Series(m_distinct, dtype="str"), errors="coerce").notna().to_numpy()
        if _take(as_num, m_codes, False)[m_codes >= 0].mean() > 0.5:
            msg += ". The measure column holds numbers: are the measure and value columns swapped?"
        found.flag("measure_registered", bad_measure, "measure", msg + " (codes: docs/measures.md)")
    out["measure"] = measure
    spec = [reg.get(m) for m in m_distinct]  # per distinct code: its Measure, or None

    # value
    value = _Numbers(col["value"])
    value_missing = ~value.present & ("value" in frame)
    comma = value.comma
    found.flag("value_numeric", comma, "value",
               "uses a decimal comma (e.g. 6,5): write numbers with a decimal point (6.5)")
    found.flag("value_numeric", value.not_number & ~comma, "value",
               "is not a number" + (f" (column type {value.kind})" if value.kind else "")
               + "; leave the cell empty if the measurement was not taken")
    found.flag("value_finite", value.nonfinite, "value", "is NaN or infinite: leave the cell empty "
               "if the measurement was not taken")
    _check_bounds(found, value, m_codes, spec)
    out["value"] = value.value.where(value.finite)

    # visit day
    day = _Numbers(col["visit_day"])
    found.flag("required_present", ~day.present & ("visit_day" in frame), "visit_day", "visit_day is empty")
    what = f"holds {day.kind} values" if day.kind else "must be a whole number"
    found.flag("visit_day_integer", day.not_number | day.nonfinite | day.fractional, "visit_day",
               f"{what}: visit_day counts whole days since the episode's first visit (day 0)")
    found.flag("visit_day_nonnegative", day.finite & (day.value.to_numpy() < 0), "visit_day",
               "is negative: visit_day counts days since the episode's first visit (day 0)")
    day_ok = day.finite & ~day.fractional & (day.value.to_numpy() >= 0)
    dayv = day.value.where(day_ok)
    out["visit_day"] = dayv

    # visit structure: first day, visit numbers
    ok = has_ep & day_ok
    mind = dayv.groupby(ep).transform("min").to_numpy()
    found.flag("first_visit_day_zero", ok & (mind != 0) & (dayv.to_numpy() == mind), "visit_day",
               "the episode's first visit is not day 0: visit_day counts days since the episode's "
               "first visit (rows of each such episode's first visit listed)")
    out["visit_number"], misnumbered = _visit_numbers(found, col["visit_number"], "visit_number" in frame,
                                                      ep, dayv, ok)

    # side
    side_text = _text(col["side"])
    side_bad = side_text.notna().to_numpy() & ~side_text.isin(SIDES).to_numpy()
    found.flag("side_valid", side_bad, "side", "side must be one of left, right, none (lower case) or "
               "empty; found " + _describe_unknown(side_text[side_bad], SIDES))
    side = side_text.fillna("none")
    is_sided = _take(np.array([m is not None and m.sided for m in spec], dtype=bool), m_codes, False)
    lr = side.isin(("left", "right")).to_numpy()
    found.flag("side_valid", is_sided & ~lr & ~side_bad, "side",
               "this measure is recorded per side: side must be left or right")
    found.flag("side_valid", known & ~is_sided & lr, "side",
               "this measure is not recorded per side (any side is in its code): leave side empty or none")
    out["side"] = side

    # vocabularies
    for name, allowed, echo in (("condition", tuple(CONDITIONS), True), ("age_band", AGE_BANDS, False),
                                ("sex", SEXES, True)):
        text = _text(col[name])
        bad = text.notna().to_numpy() & ~text.isin(allowed).to_numpy()
        if bad.any():
            found.flag(f"{name}_code", bad, name, f"must be one of {', '.join(allowed)}; found "
                       + _describe_unknown(text[bad], allowed, echo))
        out[name] = text.where(~bad)
    out["treatment"] = _treatments(found, _text(col["treatment"]))
    out["twitch_response"] = _booleans(found, col["twitch_response"])
    sore = _Numbers(col["soreness_hours"])
    found.flag("soreness_numeric", sore.not_number, "soreness_hours", "is not a number of hours")
    sv = sore.value.to_numpy()
    found.flag("soreness_in_bounds", sore.nonfinite | (sore.finite & ((sv < 0) | (sv > SORENESS_MAX_HOURS))),
               "soreness_hours", f"must be between 0 and {SORENESS_MAX_HOURS:g} hours")
    out["soreness_hours"] = sore.value.where(sore.finite)

    # attributes constant within an episode / a visit
    vn = out["visit_number"].to_numpy(dtype=float, na_value=np.nan)
    in_visit = ok & ~np.isnan(vn)
    visit = _group_ids(ep, vn)
    _constant(found, out, EPISODE_CONSTANT_COLUMNS, ep, has_ep, "episode_constant",
              "differs between rows of the same episode")
    _constant(found, out, VISIT_LEVEL_COLUMNS, visit, in_visit, "visit_constant",
              "differs between rows of the same visit")

    # duplicates: only rows sharing a key (episode, visit, measure, side) can repeat
    out["row"] = raw.rows
    keep = ~value_missing
    key = _group_ids(visit, m_codes, pd.factorize(side)[0])
    with_key = keep & in_visit & (m_codes >= 0) & ~many & ~misnumbered  # those are reported already
    shared = _duplicated(key, with_key, keep=False)
    dup = np.zeros(n, dtype=bool)
    dup[shared] = out.loc[shared, list(VISIT_COLUMNS[:-1])].duplicated(keep="first").to_numpy()
    key_dup = _duplicated(key, shared & ~dup, keep=False)
    v = out["value"].to_numpy()
    differ = key_dup & (_spread(key, v, key_dup, "max") != _spread(key, v, key_dup, "min"))
    found.flag("duplicate_conflict", differ, "value",
               "the same episode, visit, measure and side is recorded more than once with different values")
    if not found.items:  # safety net: any remaining repeat differs in a detail no other rule names
        found.flag("duplicate_conflict", key_dup, None,
                   "the same episode, visit, measure and side is recorded more than once with different details")
    if found.items:
        _raise(found)

    if not (keep & ~dup).any():
        found.add("has_data_rows", "no measurements left: every row has an empty value cell", "value")
        _raise(found)
    excluded.append(notes_frame(raw.rows[value_missing], "value", "value_missing",
                                "empty value cell: measurement not taken"))
    excluded.append(notes_frame(raw.rows[dup], "", "exact_duplicate", "repeats an earlier row (first kept)"))
    visits = _canonical(out.loc[keep & ~dup])
    exclusions = pd.concat(excluded, ignore_index=True).sort_values(["row", "rule"], kind="stable")
    return LoadedVisits(visits, exclusions.reset_index(drop=True), source, raw.sha256)


def _raise(found: _Problems) -> None:
    k = len(found.items)
    raise OutcomesError(found.items, f"{found.source} does not meet the data contract "
                                     f"({k} problem{'s' if k != 1 else ''}):")


def _check_bounds(found: _Problems, value: _Numbers, m_codes: np.ndarray, spec: list[Measure | None]) -> None:
    nan = np.nan
    lower = _take(np.array([m.lower if m else nan for m in spec], dtype=float), m_codes, nan)
    upper = _take(np.array([m.upper if m else nan for m in spec], dtype=float), m_codes, nan)
    v = value.value.to_numpy()
    outside = value.finite & ((v < lower) | (v > upper))
    for code in np.unique(m_codes[outside]):  # one problem per measure code
        m, mask = spec[code], outside & (m_codes == code)
        found.flag("value_in_bounds", mask, "value",
                   f"{m.code} must be within {m.lower:g}-{m.upper:g} {m.unit} (hard bounds of the measure "
                   f"registry); {_outside(v[mask])}")


def _outside(v: np.ndarray) -> str:
    """'1 value outside (11)' / '3 values outside (11 to 400)'."""
    lo, hi = v.min(), v.max()
    span = f"{lo:g}" if lo == hi else f"{lo:g} to {hi:g}"
    return f"{len(v)} value{'s' if len(v) > 1 else ''} outside ({span})"


def _visit_numbers(found: _Problems, column: pd.Series, given: bool, ep: np.ndarray, dayv: pd.Series,
                   ok: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """Given visit numbers (checked against visit_day order) or the dense rank of visit_day.

    Also returns the mask of rows whose given number breaks a rule.
    """
    derived = dayv.where(ok).groupby(ep).rank(method="dense")
    if not given:
        return derived.astype("Int64"), np.zeros(len(ep), dtype=bool)
    num = _Numbers(column)
    v = num.value.to_numpy()
    bad = num.not_number | num.nonfinite | num.fractional | (num.finite & (v < 1))
    found.flag("visit_number_integer", bad, "visit_number", "must be a whole number >= 1 (first visit = 1)")
    vn = num.value.where(~bad & num.present)
    vn = vn.where(ok).groupby([ep, dayv]).transform("first")  # fill a visit's empty cells from its other rows
    numbered = vn.notna().groupby(ep).transform("any").to_numpy()
    unnumbered = ok & numbered & vn.isna().to_numpy() & ~bad
    found.flag("visit_number_integer", unnumbered, "visit_number",
               "is empty while other visits of the episode are numbered")
    s = ok & vn.notna().to_numpy()
    vrank = vn.where(s).groupby(ep).rank(method="dense")
    drank = dayv.where(s).groupby(ep).rank(method="dense")
    first = vn.where(s).groupby(ep).transform("min").to_numpy()
    inconsistent = s & ((vrank != drank).to_numpy() | (first != 1))
    found.flag("visit_number_consistent", inconsistent, "visit_number",
               "disagrees with the order of visit_day within the episode (numbers must start at 1 "
               "and rise with visit_day; one day = one number)")
    return vn.where(numbered, derived).astype("Int64"), bad | unnumbered | inconsistent


def _treatments(found: _Problems, text: pd.Series) -> pd.Series:
    codes = {t: parse_treatment(t) for t in text.dropna().unique()}  # loop over distinct strings
    canonical = {t: "+".join(c) for t, c in codes.items() if c and set(c) <= set(TREATMENTS)}
    bad = text.notna().to_numpy() & ~text.isin(list(canonical)).to_numpy()
    if bad.any():
        parts = pd.Series(sorted({p for t in text[bad].unique() for p in codes[t]} - set(TREATMENTS)),
                          dtype="str")
        found.flag("treatment_code", bad, "treatment", f"must be codes from {', '.join(TREATMENTS)} "
                   "joined with '+'; found " + _describe_unknown(parts, tuple(TREATMENTS)))
    return text.map(canonical).astype("str")


def _booleans(found: _Problems, column: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(column.dtype):
        return column.astype("boolean")
    text = _text(column).str.lower()
    result = pd.Series(pd.NA, index=column.index, dtype="boolean")
    result = result.mask(text.isin(_TRUE), True).mask(text.isin(_FALSE), False)
    found.flag("twitch_response_boolean", text.notna().to_numpy() & result.isna().to_numpy(),
               "twitch_response", "must be true/false (or yes/no, 1/0) or empty")
    return result


def _group_ids(*keys: np.ndarray) -> np.ndarray:
    """One int id per distinct combination of keys; -1 where any key is missing (-1 or NaN)."""
    frame = pd.DataFrame({i: np.where(np.asarray(k) == -1, np.nan, k) for i, k in enumerate(keys)})
    return frame.groupby(list(frame.columns), sort=False, dropna=True).ngroup().to_numpy(
        dtype=float, na_value=np.nan).astype(np.float64)


def _spread(group: np.ndarray, values: np.ndarray, mask: np.ndarray, how: str) -> np.ndarray:
    """Group statistic of ``values`` over masked rows, spread back to every row."""
    return pd.Series(np.where(mask, values, np.nan)).groupby(group).transform(how).to_numpy()


def _duplicated(key: np.ndarray, mask: np.ndarray, keep) -> np.ndarray:
    out = np.zeros(len(key), dtype=bool)
    out[mask] = pd.Series(key[mask]).duplicated(keep=keep).to_numpy()
    return out


def _constant(found: _Problems, out: pd.DataFrame, columns: Sequence[str], group: np.ndarray,
              mask: np.ndarray, rule: str, what: str) -> None:
    """Flag columns varying within groups; fill their empty cells from the group's value."""
    for c in columns:
        codes, distinct = pd.factorize(out[c])
        valid = mask & (codes >= 0)
        lo, hi = _spread(group, codes, valid, "min"), _spread(group, codes, valid, "max")
        found.flag(rule, valid & (lo != hi), c, f"{c} {what}")
        fill = mask & (codes < 0) & ~np.isnan(lo)
        if fill.any():
            codes = np.where(fill, np.nan_to_num(lo, nan=-1), codes).astype(np.int64)
            out[c] = pd.Series(pd.Categorical.from_codes(codes, distinct), index=out.index).astype(out[c].dtype)


def _canonical(df: pd.DataFrame) -> pd.DataFrame:
    df = df.astype({"patient_id": "str", "episode_id": "str", "measure": "str", "side": "str",
                    "visit_day": "int64", "visit_number": "int64", "value": "float64",
                    "condition": "str", "treatment": "str", "age_band": "str", "sex": "str",
                    "twitch_response": "boolean", "soreness_hours": "float64", "row": "int64"})
    return df.sort_values(_SORT, kind="stable").reset_index(drop=True)[list(VISIT_COLUMNS)]
