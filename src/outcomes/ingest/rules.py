"""Apply the data contract to a :class:`~outcomes.ingest.records.RawTable`.

Every rule is checked on the whole table at once (vectorised), all problems are
collected, and then either a :class:`~outcomes.ingest.visits.LoadedVisits` is returned
or one :class:`~outcomes.errors.OutcomesError` is raised whose headline reads
``"<file> does not meet the data contract (N problems):"``.  Rows breaking the
same rule in the same column are one problem listing their row numbers.
Messages never quote a cell: an unknown code is counted (how many distinct values,
at which rows), and where one is close to an allowed code the message names only that
allowed code ("did you mean 'neck_pain'?"); a value out of bounds is said to be below or
above them.

Policy
------
FATAL (the file must be fixed; nothing is guessed):

- ``required_columns``: ``patient_id``, ``visit_day``, ``measure``, ``value`` must exist
  (or, for the wide form, ``patient_id``, ``visit_day`` and measure-code columns).
- ``has_data_rows``: at least one data row, and at least one non-empty ``value``.
- ``required_present``: ``patient_id``, ``visit_day``, ``measure`` cells must not be empty.
- ``value_numeric``: ``value`` is a number written with a decimal point (``6,5`` is named
  as a decimal comma); ``value_finite``: not NaN / inf; ``value_in_bounds``: within the
  measure's hard bounds (:mod:`outcomes.spec.measures`).
- ``measure_registered``: a registered measure code (hint when ``measure`` holds numbers:
  columns swapped?).
- ``visit_day_integer``, ``visit_day_nonnegative``: whole days >= 0; ``visit_day_range``: at
  most ``max_visit_day`` (:mod:`outcomes.safety.limits`; numbers are never wrapped into int64, so
  ``1e30`` or ``18446744073709551616`` are refused, not read as negative);
  ``first_visit_day_zero``: each episode's first visit is day 0.
- ``visit_number_integer``: whole numbers >= 1; ``visit_number_range``: at most
  ``max_visit_number``; ``visit_number_consistent``: when given,
  it numbers visits in ``visit_day`` order from 1 (same day = same number).
- ``episode_single_patient``: an ``episode_id`` belongs to one patient.
- ``duplicate_conflict``: one (episode, visit, measure, side) recorded twice with different values.
- ``side_valid``: ``left`` / ``right`` / ``none``; sided measures need ``left``/``right``,
  unsided ones ``none`` (or empty).
- ``condition_code``, ``age_band_code``, ``sex_code``, ``treatment_code``: vocabularies of
  :mod:`outcomes.spec.contract`; ``episode_constant``: condition/age_band/sex do not vary
  within an episode; ``visit_constant``: treatment/twitch_response/soreness_hours do not
  vary within a visit.
- ``twitch_response_boolean``: true/false/yes/no/1/0 (any case);
  ``soreness_numeric``, ``soreness_in_bounds``: hours in 0-``SORENESS_MAX_HOURS``.

EXCLUDED (kept out of the analysis, recorded in ``LoadedVisits.exclusions``):

- ``blank_row``, ``blank_column`` (see :mod:`outcomes.ingest.records`);
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
>>> from outcomes.ingest.records import read_records
>>> raw = read_records(pd.DataFrame({"patient_id": ["P1", "P1"], "visit_day": ["0", "4"],
...                                  "measure": "pain_nprs", "value": ["6", "11"]}))
>>> validate_records(raw)
Traceback (most recent call last):
...
outcomes.errors.OutcomesError: <DataFrame> does not meet the data contract (1 problem):
  - <DataFrame>, row 3, column value: [value_in_bounds] pain_nprs must be within 0-10 points (hard bounds of the measure registry); 1 value above the upper bound
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from outcomes.errors import OutcomesError, Problem, format_rows
from outcomes.ingest.coded import (
    CodedNumbers,
    CodedText,
    Groups,
    column_dtype,
    int_codes,
    pair_codes,
    recode,
    sorted_codes,
    spread_rows,
)
from outcomes.ingest.records import RawTable, column_notes, notes_frame
from outcomes.ingest.visits import LoadedVisits
from outcomes.safety.limits import current_limits, limit_problem
from outcomes.spec.contract import (
    AGE_BANDS,
    ALL_COLUMNS,
    CONDITIONS,
    EPISODE_CONSTANT_COLUMNS,
    FALSE_SPELLINGS,
    REQUIRED_COLUMNS,
    SEXES,
    SIDES,
    SORENESS_MAX_HOURS,
    TREATMENTS,
    TRUE_SPELLINGS,
    VISIT_LEVEL_COLUMNS,
    parse_treatment,
)
from outcomes.spec.measures import REGISTRY, Measure

__all__ = ["EXCLUSION_RULES", "FATAL_RULES", "VISIT_COLUMNS", "validate_records"]

#: Rules whose breach stops loading (documented in docs/data-contract.md).
FATAL_RULES: tuple[str, ...] = (
    "required_columns",
    "has_data_rows",
    "required_present",
    "episode_single_patient",
    "measure_registered",
    "value_numeric",
    "value_finite",
    "value_in_bounds",
    "visit_day_integer",
    "visit_day_nonnegative",
    "visit_day_range",
    "first_visit_day_zero",
    "visit_number_integer",
    "visit_number_range",
    "visit_number_consistent",
    "side_valid",
    "condition_code",
    "age_band_code",
    "sex_code",
    "treatment_code",
    "twitch_response_boolean",
    "soreness_numeric",
    "soreness_in_bounds",
    "episode_constant",
    "visit_constant",
    "duplicate_conflict",
)
#: Reasons a row or column is left out but loading goes on (``LoadedVisits.exclusions``).
EXCLUSION_RULES: tuple[str, ...] = ("blank_row", "blank_column", "value_missing", "exact_duplicate", "unknown_column")

#: Columns of the canonical visits frame, in order.
VISIT_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "episode_id",
    "visit_day",
    "visit_number",
    "measure",
    "side",
    "value",
    "condition",
    "treatment",
    "age_band",
    "sex",
    "twitch_response",
    "soreness_hours",
    "row",
)
_SORT = ["episode_id", "visit_number", "measure", "side", "row"]
_MAX_NAMED = 20  # distinct unknown codes examined for "did you mean" hints
#: Whole numbers above this are not exact in float64: a day or visit number is never allowed above it,
#: whatever limit is set (so no value is ever wrapped when cast to int64).
_EXACT_INT = 2**53
#: With more columns than this the cells as read are kept until validation ends: deleting them one by
#: one is quadratic in the number of columns (pandas rebuilds its block list each time), and real exports
#: with so many columns are short. Every clinic export seen has fewer than 40.
_RELEASE_COLUMNS = 100


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
def _describe_unknown(unknown: pd.Series, allowed: Sequence[str], rows_of=None, hint: bool = True) -> str:
    """How many distinct values are not allowed and, where one is close to an allowed code, that code.

    No cell is quoted: only the count and the allowed codes are named (with the rows of the values
    close to each, when ``rows_of`` maps positions in ``unknown`` to file row numbers).

    Examples
    --------
    >>> _describe_unknown(pd.Series(["neck_painn", "Maria Lopez"]), ["neck_pain", "tmd"])
    "2 distinct values not allowed; did you mean 'neck_pain'?"
    """
    distinct = list(unknown.dropna().unique())
    n = len(distinct)
    parts = [f"{n} distinct value{'s' if n != 1 else ''} not allowed"]
    if hint:
        close: dict[str, list[int]] = {}  # allowed code -> positions of the unknown values close to it
        for i, v in enumerate(distinct[:_MAX_NAMED]):  # loop over distinct codes, not rows
            match = difflib.get_close_matches(str(v).lower(), list(allowed), 1, 0.75)
            if match:
                close.setdefault(match[0], []).append(i)
        for code, positions in close.items():
            where = f" ({format_rows(rows_of(np.asarray(positions)))})" if rows_of is not None else ""
            parts.append(f"did you mean {code!r}{where}?")
    return "; ".join(parts)


def _rows_of(found: _Problems, text: CodedText, bad_distinct: np.ndarray):
    """Positions among ``text.distinct[bad_distinct]`` -> the file rows holding them."""
    where = np.flatnonzero(bad_distinct)

    def rows(positions: np.ndarray) -> np.ndarray:
        chosen = np.zeros(len(text.distinct), dtype=bool)
        chosen[where[positions]] = True
        return found.rows[text.rows(chosen)]

    return rows


def _limit_text(name: str, what: str) -> str:
    """The message of limit ``name`` (the limit and how to raise it), for a contract rule."""
    return limit_problem(name, what, "").message


# --- the rules ---------------------------------------------------------------------------------


def validate_records(
    raw: RawTable, registry: Mapping[str, Measure] | None = None, *, release: bool = False
) -> LoadedVisits:
    """Check a raw table against the data contract and return canonical visits.

    Parameters
    ----------
    raw : RawTable
        From :func:`outcomes.ingest.records.read_records`.
    registry : mapping of code -> Measure, optional
        Measure registry (default: the built-in one).
    release : bool, default False
        Empty ``raw.frame`` once every cell is coded: for a caller that owns ``raw`` and needs
        it no more (:func:`outcomes.ingest.load.load_visits`), so that the cells as read and the
        canonical frame are never in memory at the same time.

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
    >>> from outcomes.ingest.records import read_records
    >>> raw = read_records(pd.DataFrame({"patient_id": ["P1"] * 3, "visit_day": ["7", "0", "0"],
    ...                                  "measure": ["pain_nprs", "pain_nprs", "grip_strength_kg"],
    ...                                  "side": ["", "", "Left"], "value": ["4", "6", "30"]}))
    >>> validate_records(raw)
    Traceback (most recent call last):
    ...
    outcomes.errors.OutcomesError: <DataFrame> does not meet the data contract (1 problem):
      - <DataFrame>, row 4, column side: [side_valid] side must be one of left, right, none (lower case) or empty; found 1 distinct value not allowed; did you mean 'left' (row 4)?
    >>> raw = read_records(raw.frame.assign(side=["", "", "left"]))
    >>> validate_records(raw).visits[["visit_number", "measure", "side", "value", "row"]].values.tolist()
    [[1, 'grip_strength_kg', 'left', 30.0, 4], [1, 'pain_nprs', 'none', 6.0, 3], [2, 'pain_nprs', 'none', 4.0, 2]]
    """
    reg = REGISTRY if registry is None else registry
    limits = current_limits()
    frame, source = raw.frame, raw.source
    found = _Problems(source, raw.rows)
    n = len(frame)
    excluded = [raw.notes]

    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        lower = {c.lower(): c for c in frame.columns}
        hint = [f"{lower[m]!r} is spelled differently (names are lower case)" for m in missing if m in lower]
        wide = (
            ""
            if raw.wide
            else (" (a wide file has no measure/value columns but one column per measure code, e.g. pain_nprs)")
        )
        found.add(
            "required_columns",
            f"missing required column(s): {', '.join(missing)}{wide}" + ("; " + "; ".join(hint) if hint else ""),
            ", ".join(missing),
            (1,),
        )
    if n == 0:
        found.add("has_data_rows", "no data rows (only a header, or only blank rows)")
    if found.items and n == 0:
        _raise(found)
    unknown = [c for c in frame.columns if c not in ALL_COLUMNS]
    excluded.append(column_notes(unknown, "unknown_column", "column not in the data contract: ignored"))

    col = {c: frame[c] if c in frame.columns else None for c in ALL_COLUMNS}
    attrs: dict[str, tuple[np.ndarray, pd.Series]] = {}  # canonical column -> (codes, distinct values)

    # identifiers
    pid = CodedText(col["patient_id"], n, raw.codes.get("patient_id"))
    found.flag("required_present", (pid.codes < 0) & ("patient_id" in frame), "patient_id", "patient_id is empty")
    eid = _episode_ids(CodedText(col["episode_id"], n, raw.codes.get("episode_id")), pid)
    ep, pat = eid.codes, pid.codes
    has_ep = ep >= 0
    episodes = Groups(ep)
    many = (
        episodes.spread(pat, pat >= 0, "min") < episodes.spread(pat, pat >= 0, "max")
        if episodes.varies(pat, pat >= 0)
        else np.zeros(n, dtype=bool)
    )
    found.flag(
        "episode_single_patient",
        has_ep & many,
        "episode_id",
        "an episode_id is used for more than one patient_id; make episode ids unique "
        "(e.g. prefix them with the patient_id)",
    )
    attrs["patient_id"], attrs["episode_id"] = (pat, pid.distinct), (ep, eid.distinct)

    # measure
    measure = CodedText(col["measure"], n, raw.codes.get("measure"))
    m_codes, m_distinct = measure.codes, measure.distinct.tolist()
    known_distinct = np.array([m in reg for m in m_distinct], dtype=bool)
    known = measure.rows(known_distinct)
    found.flag("required_present", (m_codes < 0) & ("measure" in frame), "measure", "measure is empty")
    bad_measure = (m_codes >= 0) & ~known
    if bad_measure.any():
        msg = "not a registered measure code: " + _describe_unknown(
            measure.distinct[~known_distinct], list(reg), _rows_of(found, measure, ~known_distinct)
        )
        as_num = pd.to_numeric(pd.Series(m_distinct, dtype="str"), errors="coerce").notna().to_numpy()
        counts = np.bincount(m_codes[m_codes >= 0], minlength=len(m_distinct))
        if counts[as_num].sum() / counts.sum() > 0.5:  # share of rows holding a number
            msg += ". The measure column holds numbers: are the measure and value columns swapped?"
        found.flag("measure_registered", bad_measure, "measure", msg + " (codes: docs/measures.md)")
    attrs["measure"] = (m_codes, measure.distinct)
    spec = [reg.get(m) for m in m_distinct]  # per distinct code: its Measure, or None

    # value
    value = CodedNumbers(col["value"], n, raw.codes.get("value"))
    value_missing = ~value.present & ("value" in frame)
    comma = value.comma
    found.flag(
        "value_numeric", comma, "value", "uses a decimal comma (e.g. 6,5): write numbers with a decimal point (6.5)"
    )
    found.flag(
        "value_numeric",
        value.not_number & ~comma,
        "value",
        "is not a number"
        + (f" (column type {value.kind})" if value.kind else "")
        + "; leave the cell empty if the measurement was not taken",
    )
    found.flag(
        "value_finite",
        value.nonfinite,
        "value",
        "is NaN or infinite: leave the cell empty if the measurement was not taken",
    )
    _check_bounds(found, value, m_codes, spec)
    values = np.where(value.finite, value.value, np.nan)
    del value, comma

    # visit day
    day = CodedNumbers(col["visit_day"], n, raw.codes.get("visit_day"))
    found.flag("required_present", ~day.present & ("visit_day" in frame), "visit_day", "visit_day is empty")
    what = f"holds {day.kind} values" if day.kind else "must be a whole number"
    found.flag(
        "visit_day_integer",
        day.not_number | day.nonfinite | day.fractional,
        "visit_day",
        f"{what}: visit_day counts whole days since the episode's first visit (day 0)",
    )
    whole = day.finite & ~day.fractional  # computed once: two passes over every row
    found.flag(
        "visit_day_nonnegative",
        day.finite & (day.value < 0),
        "visit_day",
        "is negative: visit_day counts days since the episode's first visit (day 0)",
    )
    too_late = whole & (day.value > min(limits.max_visit_day, _EXACT_INT))
    found.flag(
        "visit_day_range",
        too_late,
        "visit_day",
        _limit_text("max_visit_day", "visit_day is larger than any episode of care (days since its first visit)"),
    )
    day_ok = whole & (day.value >= 0) & ~too_late
    del whole, too_late
    dayv = np.where(day_ok, day.value, np.nan)
    del day

    # visit structure: first day, visit numbers
    ok = has_ep & day_ok
    mind = episodes.spread(dayv, day_ok, "min")
    found.flag(
        "first_visit_day_zero",
        ok & (mind != 0) & (dayv == mind),
        "visit_day",
        "the episode's first visit is not day 0: visit_day counts days since the episode's "
        "first visit (rows of each such episode's first visit listed)",
    )
    del mind
    vn, misnumbered = _visit_numbers(
        found,
        col["visit_number"],
        "visit_number" in frame,
        episodes,
        dayv,
        ok,
        raw.codes.get("visit_number"),
        min(limits.max_visit_number, _EXACT_INT),
    )

    # side
    side_text = CodedText(col["side"], n, raw.codes.get("side"))
    bad_distinct = ~side_text.distinct.isin(SIDES).to_numpy()
    side_bad = side_text.rows(bad_distinct)
    found.flag(
        "side_valid",
        side_bad,
        "side",
        "side must be one of left, right, none (lower case) or "
        "empty; found "
        + _describe_unknown(side_text.distinct[bad_distinct], SIDES, _rows_of(found, side_text, bad_distinct)),
    )
    side, side_distinct = _fill(side_text, "none")
    is_sided = spread_rows(np.array([m is not None and m.sided for m in spec], dtype=bool), m_codes, False)
    lr = spread_rows(side_distinct.isin(("left", "right")).to_numpy(), side, False)
    found.flag(
        "side_valid",
        is_sided & ~lr & ~side_bad,
        "side",
        "this measure is recorded per side: side must be left or right",
    )
    found.flag(
        "side_valid",
        known & ~is_sided & lr,
        "side",
        "this measure is not recorded per side (any side is in its code): leave side empty or none",
    )
    attrs["side"] = (side, side_distinct)
    del side_text, side_bad, is_sided, lr, known

    # vocabularies
    for name, allowed, hint in (
        ("condition", tuple(CONDITIONS), True),
        ("age_band", AGE_BANDS, False),
        ("sex", SEXES, True),
    ):  # no hint for an age: "did you mean" would guess one
        text = CodedText(col[name], n, raw.codes.get(name))
        bad_distinct = ~text.distinct.isin(allowed).to_numpy()
        bad = text.rows(bad_distinct)
        codes = text.codes
        if bad.any():
            found.flag(
                f"{name}_code",
                bad,
                name,
                f"must be one of {', '.join(allowed)}; found "
                + _describe_unknown(text.distinct[bad_distinct], allowed, _rows_of(found, text, bad_distinct), hint),
            )
            codes = np.where(bad, -1, codes)
        attrs[name] = (codes, text.distinct)
    attrs["treatment"] = _treatments(found, CodedText(col["treatment"], n, raw.codes.get("treatment")))
    attrs["twitch_response"] = _booleans(found, col["twitch_response"], n, raw.codes.get("twitch_response"))
    sore = CodedNumbers(col["soreness_hours"], n, raw.codes.get("soreness_hours"))
    found.flag("soreness_numeric", sore.not_number, "soreness_hours", "is not a number of hours")
    sv = sore.value
    found.flag(
        "soreness_in_bounds",
        sore.nonfinite | (sore.finite & ((sv < 0) | (sv > SORENESS_MAX_HOURS))),
        "soreness_hours",
        f"must be between 0 and {SORENESS_MAX_HOURS:g} hours",
    )
    attrs["soreness_hours"] = (np.where(sore.finite, sv, np.nan), None)
    del sore, sv
    if release:  # every column is coded now: free the cells as read (the largest thing in memory)
        del col
        if len(frame.columns) <= _RELEASE_COLUMNS:  # each del costs time in the number of columns
            for c in list(frame.columns):
                del frame[c]

    # attributes constant within an episode / a visit
    in_visit = ok & ~np.isnan(vn)
    visits = Groups(np.where(in_visit, pair_codes(ep, int_codes(vn)), -1))
    _constant(
        found,
        attrs,
        EPISODE_CONSTANT_COLUMNS,
        episodes,
        has_ep,
        "episode_constant",
        "differs between rows of the same episode",
    )
    _constant(
        found, attrs, VISIT_LEVEL_COLUMNS, visits, in_visit, "visit_constant", "differs between rows of the same visit"
    )

    # duplicates: only rows sharing a key (episode, visit, measure, side) can repeat; the canonical
    # sort key of those columns finds them (adjacent after sorting) and then orders the output
    keep = ~value_missing
    del visits, episodes
    with_key = keep & in_visit & (m_codes >= 0) & ~many & ~misnumbered  # those are reported already
    candidates = np.flatnonzero(with_key)
    key, order = _sort_key(attrs, vn, candidates)
    ranked = key[order]
    same = ranked[1:] == ranked[:-1]
    repeated = np.zeros(len(order), dtype=bool)
    repeated[1:] |= same
    repeated[:-1] |= same
    shared = np.zeros(n, dtype=bool)
    shared[candidates[order[repeated]]] = True
    del ranked, same, repeated
    dup = np.zeros(n, dtype=bool)
    key_dup = np.zeros(n, dtype=bool)
    differ = np.zeros(n, dtype=bool)
    if shared.any():  # compare every detail of the few rows sharing a key (codes stand for their text)
        numbers = {"visit_day": dayv, "visit_number": vn, "value": values}
        detail = pd.DataFrame(
            {c: numbers[c][shared] if c in numbers else attrs[c][0][shared] for c in VISIT_COLUMNS[:-1]}
        )
        dup[shared] = detail.duplicated(keep="first").to_numpy()
        row_key = np.full(n, -1, dtype=np.int64)
        row_key[candidates] = key
        key_dup = _duplicated(row_key, shared & ~dup, keep=False)
        if key_dup.any():
            grouped = pd.Series(values[key_dup]).groupby(row_key[key_dup])
            differ[key_dup] = (grouped.transform("max") != grouped.transform("min")).to_numpy()
        del row_key
    found.flag(
        "duplicate_conflict",
        differ,
        "value",
        "the same episode, visit, measure and side is recorded more than once with different values",
    )
    if not found.items:  # safety net: any remaining repeat differs in a detail no other rule names
        found.flag(
            "duplicate_conflict",
            key_dup,
            None,
            "the same episode, visit, measure and side is recorded more than once with different details",
        )
    if found.items:
        _raise(found)

    if not (keep & ~dup).any():
        found.add("has_data_rows", "no measurements left: every row has an empty value cell", "value")
        _raise(found)
    excluded.append(
        notes_frame(raw.rows[value_missing], "value", "value_missing", "empty value cell: measurement not taken")
    )
    excluded.append(notes_frame(raw.rows[dup], "", "exact_duplicate", "repeats an earlier row (first kept)"))
    # Every rule passed, so the kept rows are the keyed rows less exact duplicates, and their keys
    # are unique: the sorted candidates are the canonical order (the row number never decides).
    idx = candidates[order]
    idx = idx[~dup[idx]]
    if len(idx) != int((keep & ~dup).sum()):  # pragma: no cover - guards the reasoning above
        raise AssertionError("canonical rows do not match the kept rows")
    del key, order, candidates, with_key, shared, key_dup, differ, many, misnumbered, in_visit, ok, has_ep
    visits_frame = _canonical(idx, attrs, dayv, vn, values, raw.rows)
    exclusions = pd.concat(excluded, ignore_index=True).sort_values(["row", "rule"], kind="stable")
    return LoadedVisits(visits_frame, exclusions.reset_index(drop=True), source, raw.sha256)


def _raise(found: _Problems) -> None:
    k = len(found.items)
    raise OutcomesError(
        found.items, f"{found.source} does not meet the data contract ({k} problem{'s' if k != 1 else ''}):"
    )


def _episode_ids(eid: CodedText, pid: CodedText) -> CodedText:
    """episode_id, or patient_id where it is empty (codes over the union of both columns' values)."""
    empty = eid.codes < 0
    if not (empty & (pid.codes >= 0)).any():
        return eid
    both = pd.concat([eid.distinct, pid.distinct], ignore_index=True)
    sub, distinct = pd.factorize(both)
    out = CodedText(None, 0)
    out.codes = np.where(empty, recode(pid.codes, sub[len(eid.distinct) :]), recode(eid.codes, sub))
    out.distinct = pd.Series(distinct, dtype="str")
    return out


def _fill(text: CodedText, default: str) -> tuple[np.ndarray, pd.Series]:
    """Codes and distinct values with empty cells set to ``default``."""
    distinct = text.distinct
    where = np.flatnonzero(distinct.to_numpy() == default)
    if len(where):
        code = int(where[0])
    else:
        code = len(distinct)
        distinct = pd.concat([distinct, pd.Series([default], dtype="str")], ignore_index=True)
    return np.where(text.codes < 0, code, text.codes), distinct


def _check_bounds(found: _Problems, value: CodedNumbers, m_codes: np.ndarray, spec: list[Measure | None]) -> None:
    nan = np.nan
    lower = spread_rows(np.array([m.lower if m else nan for m in spec], dtype=float), m_codes, nan)
    upper = spread_rows(np.array([m.upper if m else nan for m in spec], dtype=float), m_codes, nan)
    v = value.value
    outside = value.finite & ((v < lower) | (v > upper))
    for code in np.unique(m_codes[outside]):  # one problem per measure code
        m, mask = spec[code], outside & (m_codes == code)
        found.flag(
            "value_in_bounds",
            mask,
            "value",
            f"{m.code} must be within {m.lower:g}-{m.upper:g} {m.unit} (hard bounds of the measure "
            f"registry); {_outside(v[mask], m.lower, m.upper)}",
        )


def _outside(v: np.ndarray, lower: float, upper: float) -> str:
    """'1 value above the upper bound' / '3 values outside: 1 below, 2 above' (never the values)."""
    below, above = int((v < lower).sum()), int((v > upper).sum())
    if not below or not above:
        return f"{len(v)} value{'s' if len(v) > 1 else ''} {'below the lower' if below else 'above the upper'} bound"
    return f"{len(v)} values outside: {below} below, {above} above"


def _visit_numbers(
    found: _Problems,
    column: pd.Series | None,
    given: bool,
    episodes: Groups,
    dayv: np.ndarray,
    ok: np.ndarray,
    factorized: tuple | None = None,
    largest: float = _EXACT_INT,
) -> tuple[np.ndarray, np.ndarray]:
    """Given visit numbers (checked against visit_day order, at most ``largest``) or the dense rank of
    visit_day.

    Returns the visit numbers (float, NaN where unknown) and the mask of rows whose given number
    breaks a rule.
    """
    n = len(dayv)
    derived = episodes.dense_rank(dayv, ok)
    if not given:
        return derived, np.zeros(n, dtype=bool)
    num = CodedNumbers(column, n, factorized)
    v = num.value
    bad = num.not_number | num.nonfinite | num.fractional | (num.finite & (v < 1))
    found.flag("visit_number_integer", bad, "visit_number", "must be a whole number >= 1 (first visit = 1)")
    too_many = num.finite & ~bad & (v > largest)
    found.flag(
        "visit_number_range",
        too_many,
        "visit_number",
        _limit_text("max_visit_number", "visit_number is larger than any episode of care has visits"),
    )
    bad = bad | too_many
    vn = np.where(~bad & num.present & ok, v, np.nan)
    del num, v
    # fill a visit's empty cells from its other rows: the first number given (file order) on that day
    days = Groups(np.where(ok, pair_codes(episodes.codes, int_codes(dayv)), -1))
    vn = days.first(vn, ~np.isnan(vn))
    del days
    numbered = episodes.any(~np.isnan(vn))
    unnumbered = ok & numbered & np.isnan(vn) & ~bad
    found.flag(
        "visit_number_integer", unnumbered, "visit_number", "is empty while other visits of the episode are numbered"
    )
    s = ok & ~np.isnan(vn)
    vrank = episodes.dense_rank(vn, s)
    drank = derived if np.array_equal(s, ok) else episodes.dense_rank(dayv, s)
    first = episodes.spread(vn, s, "min")
    inconsistent = s & ((vrank != drank) | (first != 1))
    found.flag(
        "visit_number_consistent",
        inconsistent,
        "visit_number",
        "disagrees with the order of visit_day within the episode (numbers must start at 1 "
        "and rise with visit_day; one day = one number)",
    )
    return np.where(numbered, vn, derived), bad | unnumbered | inconsistent


def _treatments(found: _Problems, text: CodedText) -> tuple[np.ndarray, pd.Series]:
    distinct = text.distinct.tolist()
    codes = {t: parse_treatment(t) for t in distinct}  # loop over distinct strings
    canonical = {t: "+".join(c) for t, c in codes.items() if c and set(c) <= set(TREATMENTS)}
    bad_distinct = np.array([t not in canonical for t in distinct], dtype=bool)
    bad = text.rows(bad_distinct)
    if bad.any():
        parts = pd.Series(
            sorted({p for t in text.distinct[bad_distinct] for p in codes[t]} - set(TREATMENTS)), dtype="str"
        )

        def rows_of(positions: np.ndarray) -> np.ndarray:  # rows whose treatment holds those parts
            chosen = set(parts.iloc[positions])
            holds = np.array([bool(chosen & set(codes[t])) for t in distinct], dtype=bool)  # distinct strings
            return found.rows[text.rows(holds)]

        found.flag(
            "treatment_code",
            bad,
            "treatment",
            f"must be codes from {', '.join(TREATMENTS)} "
            "joined with '+'; found " + _describe_unknown(parts, tuple(TREATMENTS), rows_of),
        )
    sub, joined = pd.factorize(pd.Series([canonical.get(t) for t in distinct], dtype="str"))
    return recode(text.codes, sub), pd.Series(joined, dtype="str")


def _booleans(
    found: _Problems, column: pd.Series | None, n: int, factorized: tuple | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Codes into ``[False, True]`` (-1 = empty)."""
    values = np.array([False, True])
    if column is not None and pd.api.types.is_bool_dtype(column_dtype(column, factorized)):
        flags = column.astype("boolean")
        codes = flags.to_numpy(dtype=np.int8, na_value=-1)
        return codes, values
    text = CodedText(column, n, factorized)
    lower = text.distinct.str.lower()
    per = np.where(lower.isin(TRUE_SPELLINGS), 1, np.where(lower.isin(FALSE_SPELLINGS), 0, -1))
    codes = text.rows(per.astype(np.int8), -1).astype(np.int8)
    found.flag(
        "twitch_response_boolean",
        (text.codes >= 0) & (codes < 0),
        "twitch_response",
        "must be true/false (or yes/no, 1/0) or empty",
    )
    return codes, values


def _duplicated(key: np.ndarray, mask: np.ndarray, keep) -> np.ndarray:
    out = np.zeros(len(key), dtype=bool)
    out[mask] = pd.Series(key[mask]).duplicated(keep=keep).to_numpy()
    return out


def _constant(
    found: _Problems,
    attrs: dict[str, tuple[np.ndarray, object]],
    columns: Sequence[str],
    groups: Groups,
    mask: np.ndarray,
    rule: str,
    what: str,
) -> None:
    """Flag columns varying within groups; fill their empty cells from the group's value.

    A column is ``(codes, distinct)`` or ``(float values, None)``; floats are factorized (as
    before) only when a group varies or has empty cells to fill, which is rare.
    """
    for c in columns:
        codes, distinct = attrs[c]
        if distinct is None:  # float values (NaN = empty)
            valid = mask & ~np.isnan(codes)
            if not groups.varies(codes, valid) and not (mask & ~valid).any():
                continue
            codes, distinct = pd.factorize(codes)
        valid = mask & (codes >= 0)
        lo = None
        if groups.varies(codes, valid):
            lo, hi = groups.spread(codes, valid, "min"), groups.spread(codes, valid, "max")
            found.flag(rule, valid & (lo != hi), c, f"{c} {what}")
        empty = mask & (codes < 0)
        if empty.any():
            lo = groups.spread(codes, valid, "min") if lo is None else lo
            fill = empty & ~np.isnan(lo)
            if fill.any():
                codes = np.where(fill, np.nan_to_num(lo, nan=-1), codes).astype(codes.dtype)
        if attrs[c][1] is None:
            attrs[c] = (np.append(np.asarray(distinct, dtype=np.float64), np.nan)[codes], None)
        else:
            attrs[c] = (codes, distinct)


def _str_column(codes: np.ndarray, distinct: pd.Series) -> pd.api.extensions.ExtensionArray:
    """Arrow-backed ``str`` cells from codes (-1 -> missing): one pyarrow ``take`` (a pandas take
    costs twice as much on millions of rows)."""

    dictionary = pa.array(pd.Series(distinct, dtype="str").array)
    if isinstance(dictionary, pa.ChunkedArray):
        dictionary = dictionary.combine_chunks()
    missing = codes < 0
    indices = pa.array(codes, mask=missing) if missing.any() else pa.array(codes)
    return pd.array(dictionary.take(indices), dtype="str")


def _ranks(distinct) -> np.ndarray:
    """Position of each distinct value in sorted order (code point order for text)."""
    rank = np.empty(len(distinct), dtype=np.int64)
    rank[np.asarray(pd.Series(distinct).argsort(), dtype=np.int64)] = np.arange(len(distinct))
    return rank


def _sort_key(attrs: dict, vn: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An int64 key per row (equal for equal episode_id, visit_number, measure, side; ordered like
    them) and the stable order that sorts it.

    Written by hand for speed: the sort ranks of each column's distinct values are combined into
    one integer, so millions of strings are never compared.
    """
    keys = [
        _ranks(attrs[c][1])[attrs[c][0][rows]] if c in attrs else sorted_codes(vn[rows])
        for c in ("episode_id", "visit_number", "measure", "side")
    ]
    widths = [int(k.max()) + 1 if len(k) else 1 for k in keys]
    if np.prod([float(w) for w in widths]) < 2.0**62:
        key = keys[0]
        for k, w in zip(keys[1:], widths[1:]):
            key = key * w + k
        return key, np.argsort(key, kind="stable")
    order = np.lexsort(keys[::-1])  # too wide for one int64: number the sorted distinct keys instead
    new = np.zeros(len(order), dtype=bool)
    for k in keys:
        ranked = k[order]
        new[1:] |= ranked[1:] != ranked[:-1]
    key = np.empty(len(order), dtype=np.int64)
    key[order] = np.cumsum(new)
    return key, order


def _canonical(
    idx: np.ndarray, attrs: dict, dayv: np.ndarray, vn: np.ndarray, values: np.ndarray, rows: np.ndarray
) -> pd.DataFrame:
    """The canonical frame of rows ``idx`` (positions, already in canonical order)."""
    out = {}
    for c in VISIT_COLUMNS:
        if c == "visit_day":
            out[c] = dayv[idx].astype(np.int64)
        elif c == "visit_number":
            out[c] = vn[idx].astype(np.int64)
        elif c == "value":
            out[c] = values[idx]
        elif c == "row":
            out[c] = np.asarray(rows, dtype=np.int64)[idx]
        elif c == "twitch_response":
            codes = attrs[c][0][idx]
            out[c] = pd.arrays.BooleanArray(codes == 1, codes < 0)
        elif c == "soreness_hours":
            out[c] = attrs[c][0][idx]
        else:
            out[c] = _str_column(attrs[c][0][idx], attrs[c][1])
    return pd.DataFrame(out, copy=False)  # no copy into 2-D blocks: the arrays are new already
