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

Named rules
-----------
Each rule of the contract (or a small group of rules on one column) is one function of this
module, declared as a :class:`ContractRule` with the rule ids (:attr:`outcomes.errors.Problem.rule`)
it raises.  :func:`validate_records` runs :data:`CELL_RULES` (each codes the columns it judges,
in this order) and then :data:`TABLE_RULES` (rules across rows: constant attributes, duplicates),
sharing what earlier rules coded through a :class:`RuleState`; problems are reported in that
order, and :data:`FATAL_RULES` lists the rule ids in the order they first appear.  A new rule is one
function and one entry in one of the two lists (``tests/test_rules.py`` checks that every id is
declared, documented here and in ``docs/data-contract.md``, and raised by the rule declaring it).

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
- ``condition_code``, ``age_band_code``, ``sex_code``, ``discharge_reason_code``,
  ``treatment_code``: vocabularies of :mod:`outcomes.spec.contract`; ``episode_constant``:
  condition/age_band/sex/discharge_reason do not vary within an episode; ``visit_constant``:
  treatment/twitch_response/soreness_hours do not vary within a visit.
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
>>> validate_records(raw)  # doctest: +NORMALIZE_WHITESPACE
Traceback (most recent call last):
...
outcomes.errors.OutcomesError: <DataFrame> does not meet the data contract (1 problem):
  - <DataFrame>, row 3, column value: [value_in_bounds] pain_nprs must be within 0-10 points
    (hard bounds of the measure registry); 1 value above the upper bound
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeAlias

import numpy as np
import numpy.typing as npt
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
from outcomes.safety.limits import Limits, current_limits, limit_problem
from outcomes.spec.contract import (
    AGE_BANDS,
    ALL_COLUMNS,
    ATTRIBUTE_COLUMNS,
    CONDITIONS,
    DISCHARGE_REASONS,
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

__all__ = [
    "CELL_RULES",
    "CONTRACT_RULES",
    "EXCLUSION_RULES",
    "FATAL_RULES",
    "HINT_SIMILARITY",
    "MAX_HINTED_CODES",
    "SWAPPED_COLUMNS_SHARE",
    "TABLE_RULES",
    "VISIT_COLUMNS",
    "ContractRule",
    "RuleState",
    "validate_records",
]

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
    *ATTRIBUTE_COLUMNS,
    "row",
)

#: Distinct unknown codes examined for "did you mean" hints (a column of free text has many: the
#: first ones are enough for a hint, and ``difflib`` costs time in their number).
MAX_HINTED_CODES: int = 20
#: How close an unknown code must be to an allowed one to be hinted ("did you mean ...?"): the
#: ``cutoff`` of ``difflib.get_close_matches``, comparing in lower case (0.75 finds one typo in a short
#: code, e.g. ``neck_painn``, and no name such as ``Maria Lopez``).
HINT_SIMILARITY: float = 0.75
#: When more than this share of the rows with a measure code hold a number, the message asks whether
#: the ``measure`` and ``value`` columns are swapped.
SWAPPED_COLUMNS_SHARE: float = 0.5
#: Whole numbers above this are not exact in float64: a day or visit number is never allowed above it,
#: whatever limit is set (so no value is ever wrapped when cast to int64).
_EXACT_INT = 2**53
#: With more columns than this the cells as read are kept until validation ends: deleting them one by
#: one is quadratic in the number of columns (pandas rebuilds its block list each time), and real exports
#: with so many columns are short. Every clinic export seen has fewer than 40.
_RELEASE_COLUMNS = 100
#: Episode attributes checked against a vocabulary of :mod:`outcomes.spec.contract`: column, allowed
#: codes, and whether a close allowed code is hinted (never for an age: "did you mean" would guess one).
_EPISODE_VOCABULARIES: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("condition", tuple(CONDITIONS), True),
    ("age_band", AGE_BANDS, False),
    ("sex", SEXES, True),
    ("discharge_reason", tuple(DISCHARGE_REASONS), True),
)

_Mask: TypeAlias = "npt.NDArray[np.bool_]"
_Floats: TypeAlias = "npt.NDArray[np.float64]"
#: A coded column: codes per row (-1 = empty) and their distinct values, or, for a column of
#: numbers, the float values per row (NaN = empty) and None.
_Column: TypeAlias = "tuple[npt.NDArray[Any], pd.Series | None]"


class _Problems:
    """Collects problems; ``flag`` turns a boolean row mask into one grouped Problem."""

    def __init__(self, source: str, rows: npt.NDArray[np.int64]) -> None:
        self.source, self.rows = source, rows
        self.items: list[Problem] = []

    def add(self, rule: str, message: str, column: str | None = None, rows: Sequence[int] = ()) -> None:
        self.items.append(Problem(rule, message, self.source, tuple(int(r) for r in rows), column))

    def flag(self, rule: str, mask: npt.ArrayLike, column: str | None, message: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.add(rule, message, column, self.rows[mask].tolist())


class RuleState:
    """What the rules of the contract have coded and found so far, for the rules after them.

    Built by :func:`validate_records` for one table; each rule reads the cells of the columns it
    judges (``col``) and what earlier rules stored, adds its problems to ``found``, and stores what
    later rules need.  An attribute is set by the rule named in brackets (reading it before that
    rule ran is an ``AttributeError``, never a silent default).

    Parameters
    ----------
    raw : RawTable
        The table as read.
    registry : mapping of code -> Measure
        The measure registry.
    limits : Limits
        The limits in force (:func:`outcomes.safety.limits.current_limits`).

    Attributes
    ----------
    n : int
        Number of rows.
    col : dict
        Contract column -> its cells as read (None when absent); emptied once every column is coded.
    attrs : dict
        Canonical text column -> ``(codes, distinct values)`` (codes -1 = empty); ``soreness_hours``
        -> ``(hours, None)``.
    excluded : list of DataFrame
        Exclusion notes (``LoadedVisits.exclusions``), the reader's first.
    found : _Problems
        The problems found so far, in the order they were found.
    ep, has_ep, episodes, many
        Episode code per row, whether the row has one, the rows grouped by episode, rows of an
        episode given to two patients [identifiers].
    m_codes, known, spec
        Measure code per row, whether it is registered, the Measure of each distinct code [measures].
    values, value_missing
        Finite values (NaN otherwise), rows with an empty value cell [values].
    dayv, day_ok
        Valid visit days (NaN otherwise), whether the row's day is valid [visit_days].
    vn, misnumbered, in_visit
        Visit numbers (given or derived; NaN where unknown), rows whose given number breaks a rule,
        rows placed in a visit [visit_numbers].
    dup, ordered
        Exact repeats of an earlier row, and the rows with a key in canonical order [duplicates].

    Examples
    --------
    >>> import pandas as pd
    >>> from outcomes.ingest.records import read_records
    >>> state = RuleState(read_records(pd.DataFrame({"patient_id": ["P1"], "visit_day": ["0"],
    ...     "measure": "pain_nprs", "value": ["6"]})), REGISTRY, current_limits())
    >>> for rule in CELL_RULES[:3]:
    ...     rule.check(state)
    >>> state.n, state.has_ep.tolist(), state.found.items
    (1, [True], [])
    """

    ep: npt.NDArray[np.signedinteger[Any]]
    has_ep: _Mask
    episodes: Groups
    many: _Mask
    m_codes: npt.NDArray[np.signedinteger[Any]]
    known: _Mask
    spec: list[Measure | None]
    values: _Floats
    value_missing: _Mask
    dayv: _Floats
    day_ok: _Mask
    vn: _Floats
    misnumbered: _Mask
    in_visit: _Mask
    dup: _Mask
    ordered: npt.NDArray[np.intp]

    def __init__(self, raw: RawTable, registry: Mapping[str, Measure], limits: Limits) -> None:
        self.raw, self.registry, self.limits = raw, registry, limits
        self.n = len(raw.frame)
        self.found = _Problems(raw.source, raw.rows)
        self.col: dict[str, pd.Series | None] = {
            c: raw.frame[c] if c in raw.frame.columns else None for c in ALL_COLUMNS
        }
        self.attrs: dict[str, _Column] = {}
        self.excluded: list[pd.DataFrame] = [raw.notes]

    def given(self, column: str) -> bool:
        """Whether the table has ``column``."""
        return column in self.raw.frame

    def text(self, column: str) -> CodedText:
        """The cells of ``column`` as coded text (all empty when the column is absent)."""
        return CodedText(self.col[column], self.n, self.raw.codes.get(column))

    def numbers(self, column: str) -> CodedNumbers:
        """The cells of ``column`` parsed as numbers."""
        return CodedNumbers(self.col[column], self.n, self.raw.codes.get(column))

    @property
    def dated(self) -> _Mask:
        """Rows of an episode with a valid visit day."""
        dated: _Mask = self.has_ep & self.day_ok
        return dated

    def release_cells(self) -> None:
        """Free the cells as read (the largest thing in memory) once every column is coded."""
        self.col = {}
        frame = self.raw.frame
        if len(frame.columns) <= _RELEASE_COLUMNS:  # each del costs time in the number of columns
            for c in list(frame.columns):
                del frame[c]


@dataclass(frozen=True)
class ContractRule:
    """One named rule of the data contract (or a small group of rules on the same column).

    Attributes
    ----------
    name : str
        What it checks (the function is ``_<name>``).
    raises : tuple of str
        The rule ids (:attr:`outcomes.errors.Problem.rule`) it may report, all in :data:`FATAL_RULES`.
    check : callable
        ``check(state)`` with a :class:`RuleState`: adds its problems to ``state.found`` and stores
        what later rules need.
    excludes : tuple of str
        The exclusion rules (:data:`EXCLUSION_RULES`) whose notes it records.

    Examples
    --------
    >>> [(rule.name, rule.raises) for rule in CELL_RULES[:2]]
    [('columns', ('required_columns',)), ('rows', ('has_data_rows',))]
    """

    name: str
    raises: tuple[str, ...]
    check: Callable[[RuleState], None]
    excludes: tuple[str, ...] = ()


def validate_records(
    raw: RawTable, registry: Mapping[str, Measure] | None = None, *, release: bool = False
) -> LoadedVisits:
    """Check a raw table against the data contract and return canonical visits.

    Runs :data:`CELL_RULES` then :data:`TABLE_RULES` (see "Named rules" above).

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
    >>> validate_records(raw)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    outcomes.errors.OutcomesError: <DataFrame> does not meet the data contract (1 problem):
      - <DataFrame>, row 4, column side: [side_valid] side must be one of left, right, none (lower case) or
        empty; found 1 distinct value not allowed; did you mean 'left' (row 4)?
    >>> raw = read_records(raw.frame.assign(side=["", "", "left"]))
    >>> validate_records(raw).visits[["visit_number", "measure", "side", "value", "row"]].values.tolist()
    [[1, 'grip_strength_kg', 'left', 30.0, 4], [1, 'pain_nprs', 'none', 6.0, 3], [2, 'pain_nprs', 'none', 4.0, 2]]
    """
    state = RuleState(raw, REGISTRY if registry is None else registry, current_limits())
    for rule in CELL_RULES:
        _apply(rule, state)
    if release:
        state.release_cells()
    for rule in TABLE_RULES:
        _apply(rule, state)
    if state.found.items:
        _raise(state.found)
    # Every rule passed, so the kept rows are the keyed rows less exact duplicates, and their keys
    # are unique: the sorted keyed rows are the canonical order (the row number never decides).
    kept = state.ordered[~state.dup[state.ordered]]
    if len(kept) != int((~state.value_missing & ~state.dup).sum()):  # pragma: no cover - guards the reasoning
        raise AssertionError("canonical rows do not match the kept rows")
    numbers = {"visit_day": state.dayv, "visit_number": state.vn, "value": state.values}
    attrs, excluded = state.attrs, state.excluded
    del state  # the masks the rules shared are freed before the canonical frame is built
    visits = _canonical(kept, attrs, numbers, raw.rows)
    exclusions = pd.concat(excluded, ignore_index=True).sort_values(["row", "rule"], kind="stable")
    return LoadedVisits(visits, exclusions.reset_index(drop=True), raw.source, raw.sha256)


def _apply(rule: ContractRule, state: RuleState) -> None:
    """Run one rule; a problem under an id it does not declare is a bug in this module."""
    before = len(state.found.items)
    rule.check(state)
    undeclared = {p.rule for p in state.found.items[before:]} - set(rule.raises)
    if undeclared:  # pragma: no cover - tests/test_rules.py breaks every rule
        raise AssertionError(f"contract rule {rule.name!r} raised undeclared rule ids {sorted(undeclared)}")


def _raise(found: _Problems) -> NoReturn:
    k = len(found.items)
    raise OutcomesError(
        found.items, f"{found.source} does not meet the data contract ({k} problem{'s' if k != 1 else ''}):"
    )


# --- the rules, in the order they run ------------------------------------------------------------


def _columns(t: RuleState) -> None:
    """``required_columns``: ``patient_id``, ``visit_day``, ``measure`` and ``value`` exist (wide form:
    ``patient_id``, ``visit_day``); any other column is ignored and noted as ``unknown_column``."""
    frame = t.raw.frame
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        lower = {c.lower(): c for c in frame.columns}
        hint = [f"{lower[m]!r} is spelled differently (names are lower case)" for m in missing if m in lower]
        wide = (
            ""
            if t.raw.wide
            else (" (a wide file has no measure/value columns but one column per measure code, e.g. pain_nprs)")
        )
        t.found.add(
            "required_columns",
            f"missing required column(s): {', '.join(missing)}{wide}" + ("; " + "; ".join(hint) if hint else ""),
            ", ".join(missing),
            (1,),
        )
    unknown = [c for c in frame.columns if c not in ALL_COLUMNS]
    t.excluded.append(column_notes(unknown, "unknown_column", "column not in the data contract: ignored"))


def _rows(t: RuleState) -> None:
    """``has_data_rows``: at least one data row; without any, loading stops here (no other rule
    has anything to judge)."""
    if t.n == 0:
        t.found.add("has_data_rows", "no data rows (only a header, or only blank rows)")
        _raise(t.found)


def _identifiers(t: RuleState) -> None:
    """``required_present`` (an empty ``patient_id``), ``episode_single_patient`` (an ``episode_id``
    of two patients); ``episode_id`` defaults to ``patient_id``."""
    pid = t.text("patient_id")
    t.found.flag("required_present", (pid.codes < 0) & t.given("patient_id"), "patient_id", "patient_id is empty")
    eid = _episode_ids(t.text("episode_id"), pid)
    ep, pat = eid.codes, pid.codes
    t.ep, t.has_ep = ep, ep >= 0
    t.episodes = episodes = Groups(ep)
    t.many = (
        episodes.spread(pat, pat >= 0, "min") < episodes.spread(pat, pat >= 0, "max")
        if episodes.varies(pat, pat >= 0)
        else np.zeros(t.n, dtype=bool)
    )
    t.found.flag(
        "episode_single_patient",
        t.has_ep & t.many,
        "episode_id",
        "an episode_id is used for more than one patient_id; make episode ids unique "
        "(e.g. prefix them with the patient_id)",
    )
    t.attrs["patient_id"], t.attrs["episode_id"] = (pat, pid.distinct), (ep, eid.distinct)


def _measures(t: RuleState) -> None:
    """``required_present`` (an empty ``measure``), ``measure_registered`` (an unknown code; when most
    codes are numbers the message asks whether the measure and value columns are swapped)."""
    measure = t.text("measure")
    m_codes, m_distinct = measure.codes, measure.distinct.tolist()
    known_distinct = np.array([m in t.registry for m in m_distinct], dtype=bool)
    t.known = known = measure.rows(known_distinct)
    t.found.flag("required_present", (m_codes < 0) & t.given("measure"), "measure", "measure is empty")
    bad_measure = (m_codes >= 0) & ~known
    if bad_measure.any():
        msg = "not a registered measure code: " + _describe_unknown(
            measure.distinct[~known_distinct], list(t.registry), _rows_of(t.found, measure, ~known_distinct)
        )
        as_num = pd.to_numeric(pd.Series(m_distinct, dtype="str"), errors="coerce").notna().to_numpy()
        counts = np.bincount(m_codes[m_codes >= 0], minlength=len(m_distinct))
        if counts[as_num].sum() / counts.sum() > SWAPPED_COLUMNS_SHARE:  # share of rows holding a number
            msg += ". The measure column holds numbers: are the measure and value columns swapped?"
        t.found.flag("measure_registered", bad_measure, "measure", msg + " (codes: docs/measures.md)")
    t.attrs["measure"] = (m_codes, measure.distinct)
    t.m_codes = m_codes
    t.spec = [t.registry.get(m) for m in m_distinct]  # per distinct code: its Measure, or None


def _values(t: RuleState) -> None:
    """``value_numeric`` (a decimal comma is named as such), ``value_finite`` (NaN, inf); an empty
    value cell is left out as ``value_missing`` (the measurement was not taken)."""
    value = t.numbers("value")
    t.value_missing = ~value.present & t.given("value")
    comma = value.comma
    t.found.flag(
        "value_numeric", comma, "value", "uses a decimal comma (e.g. 6,5): write numbers with a decimal point (6.5)"
    )
    t.found.flag(
        "value_numeric",
        value.not_number & ~comma,
        "value",
        "is not a number"
        + (f" (column type {value.kind})" if value.kind else "")
        + "; leave the cell empty if the measurement was not taken",
    )
    t.found.flag(
        "value_finite",
        value.nonfinite,
        "value",
        "is NaN or infinite: leave the cell empty if the measurement was not taken",
    )
    t.values = np.where(value.finite, value.value, np.nan)
    t.excluded.append(
        notes_frame(t.raw.rows[t.value_missing], "value", "value_missing", "empty value cell: measurement not taken")
    )


def _value_bounds(t: RuleState) -> None:
    """``value_in_bounds``: a value within its measure's hard bounds (:mod:`outcomes.spec.measures`),
    one problem per measure code, saying how many values are below or above (never the values)."""
    nan = np.nan
    spec, m_codes, v = t.spec, t.m_codes, t.values
    lower = spread_rows(np.array([m.lower if m else nan for m in spec], dtype=float), m_codes, nan)
    upper = spread_rows(np.array([m.upper if m else nan for m in spec], dtype=float), m_codes, nan)
    outside = np.isfinite(v) & ((v < lower) | (v > upper))
    for code in np.unique(m_codes[outside]):  # one problem per measure code
        m, mask = spec[code], outside & (m_codes == code)
        if m is None:  # pragma: no cover - an unregistered code has no bounds (NaN), so is never outside
            continue
        t.found.flag(
            "value_in_bounds",
            mask,
            "value",
            f"{m.code} must be within {m.lower:g}-{m.upper:g} {m.unit} (hard bounds of the measure "
            f"registry); {_outside(v[mask], m.lower, m.upper)}",
        )


def _visit_days(t: RuleState) -> None:
    """``required_present`` (an empty ``visit_day``), ``visit_day_integer``, ``visit_day_nonnegative``,
    ``visit_day_range`` (at most ``max_visit_day``, and never above 2**53: nothing is wrapped into int64)."""
    day = t.numbers("visit_day")
    t.found.flag("required_present", ~day.present & t.given("visit_day"), "visit_day", "visit_day is empty")
    what = f"holds {day.kind} values" if day.kind else "must be a whole number"
    t.found.flag(
        "visit_day_integer",
        day.not_number | day.nonfinite | day.fractional,
        "visit_day",
        f"{what}: visit_day counts whole days since the episode's first visit (day 0)",
    )
    whole = day.finite & ~day.fractional  # computed once: two passes over every row
    t.found.flag(
        "visit_day_nonnegative",
        day.finite & (day.value < 0),
        "visit_day",
        "is negative: visit_day counts days since the episode's first visit (day 0)",
    )
    too_late = whole & (day.value > min(t.limits.max_visit_day, _EXACT_INT))
    t.found.flag(
        "visit_day_range",
        too_late,
        "visit_day",
        _limit_text("max_visit_day", "visit_day is larger than any episode of care (days since its first visit)"),
    )
    t.day_ok = whole & (day.value >= 0) & ~too_late
    t.dayv = np.where(t.day_ok, day.value, np.nan)


def _first_visit_day(t: RuleState) -> None:
    """``first_visit_day_zero``: each episode's first visit is day 0 (its first-visit rows listed)."""
    mind = t.episodes.spread(t.dayv, t.day_ok, "min")
    t.found.flag(
        "first_visit_day_zero",
        t.dated & (mind != 0) & (t.dayv == mind),
        "visit_day",
        "the episode's first visit is not day 0: visit_day counts days since the episode's "
        "first visit (rows of each such episode's first visit listed)",
    )


def _visit_numbers(t: RuleState) -> None:
    """``visit_number_integer`` (whole numbers >= 1; not empty while other visits of the episode are
    numbered), ``visit_number_range`` (at most ``max_visit_number``), ``visit_number_consistent``
    (numbers start at 1 and rise with ``visit_day``; one day = one number).  Without the column the
    visit number is the dense rank of ``visit_day`` within the episode."""
    found, episodes, dayv, ok = t.found, t.episodes, t.dayv, t.dated
    derived = episodes.dense_rank(dayv, ok)
    if not t.given("visit_number"):
        t.vn, t.misnumbered = derived, np.zeros(t.n, dtype=bool)
        t.in_visit = ok & ~np.isnan(t.vn)
        return
    num = t.numbers("visit_number")
    v = num.value
    bad = num.not_number | num.nonfinite | num.fractional | (num.finite & (v < 1))
    found.flag("visit_number_integer", bad, "visit_number", "must be a whole number >= 1 (first visit = 1)")
    too_many = num.finite & ~bad & (v > min(t.limits.max_visit_number, _EXACT_INT))
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
    t.vn, t.misnumbered = np.where(numbered, vn, derived), bad | unnumbered | inconsistent
    t.in_visit = ok & ~np.isnan(t.vn)


def _sides(t: RuleState) -> None:
    """``side_valid``: ``left`` / ``right`` / ``none`` or empty (= ``none``); a sided measure needs
    ``left`` or ``right``, an unsided one ``none``."""
    found = t.found
    side_text = t.text("side")
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
    is_sided = spread_rows(np.array([m is not None and m.sided for m in t.spec], dtype=bool), t.m_codes, False)
    lr = spread_rows(side_distinct.isin(("left", "right")).to_numpy(), side, False)
    found.flag(
        "side_valid",
        is_sided & ~lr & ~side_bad,
        "side",
        "this measure is recorded per side: side must be left or right",
    )
    found.flag(
        "side_valid",
        t.known & ~is_sided & lr,
        "side",
        "this measure is not recorded per side (any side is in its code): leave side empty or none",
    )
    t.attrs["side"] = (side, side_distinct)


def _episode_codes(t: RuleState) -> None:
    """``condition_code``, ``age_band_code``, ``sex_code``, ``discharge_reason_code``: codes of the vocabularies of
    :mod:`outcomes.spec.contract` (a close allowed code is hinted, except for an age band)."""
    for name, allowed, hint in _EPISODE_VOCABULARIES:
        text = t.text(name)
        bad_distinct = ~text.distinct.isin(allowed).to_numpy()
        bad = text.rows(bad_distinct)
        codes = text.codes
        if bad.any():
            t.found.flag(
                f"{name}_code",
                bad,
                name,
                f"must be one of {', '.join(allowed)}; found "
                + _describe_unknown(text.distinct[bad_distinct], allowed, _rows_of(t.found, text, bad_distinct), hint),
            )
            codes = np.where(bad, -1, codes)
        t.attrs[name] = (codes, text.distinct)


def _treatments(t: RuleState) -> None:
    """``treatment_code``: ``+``-joined codes of :data:`~outcomes.spec.contract.TREATMENTS` (stored
    sorted and ``+``-joined; the unknown parts are counted, never quoted)."""
    text = t.text("treatment")
    distinct = text.distinct.tolist()
    codes = {s: parse_treatment(s) for s in distinct}  # loop over distinct strings
    canonical = {s: "+".join(c) for s, c in codes.items() if c and set(c) <= set(TREATMENTS)}
    bad_distinct = np.array([s not in canonical for s in distinct], dtype=bool)
    bad = text.rows(bad_distinct)
    if bad.any():
        parts = pd.Series(
            sorted({p for s in text.distinct[bad_distinct] for p in codes[s]} - set(TREATMENTS)), dtype="str"
        )

        def rows_of(positions: npt.NDArray[np.intp]) -> npt.NDArray[np.int64]:  # rows holding those parts
            chosen = set(parts.iloc[positions])
            holds = np.array([bool(chosen & set(codes[s])) for s in distinct], dtype=bool)  # distinct strings
            rows: npt.NDArray[np.int64] = t.found.rows[text.rows(holds)]
            return rows

        t.found.flag(
            "treatment_code",
            bad,
            "treatment",
            f"must be codes from {', '.join(TREATMENTS)} "
            "joined with '+'; found " + _describe_unknown(parts, tuple(TREATMENTS), rows_of),
        )
    sub, joined = pd.factorize(pd.Series([canonical.get(s) for s in distinct], dtype="str"))
    t.attrs["treatment"] = (recode(text.codes, sub), pd.Series(joined, dtype="str"))


def _twitch(t: RuleState) -> None:
    """``twitch_response_boolean``: true/false, yes/no, 1/0 (any case) or empty; stored as codes into
    ``[False, True]`` (-1 = empty)."""
    column, factorized = t.col["twitch_response"], t.raw.codes.get("twitch_response")
    values = pd.Series([False, True])
    if column is not None and pd.api.types.is_bool_dtype(column_dtype(column, factorized)):
        t.attrs["twitch_response"] = (column.astype("boolean").to_numpy(dtype=np.int8, na_value=-1), values)
        return
    text = t.text("twitch_response")
    lower = text.distinct.str.lower()
    per = np.where(lower.isin(TRUE_SPELLINGS), 1, np.where(lower.isin(FALSE_SPELLINGS), 0, -1))
    codes = text.rows(per.astype(np.int8), -1).astype(np.int8)
    t.found.flag(
        "twitch_response_boolean",
        (text.codes >= 0) & (codes < 0),
        "twitch_response",
        "must be true/false (or yes/no, 1/0) or empty",
    )
    t.attrs["twitch_response"] = (codes, values)


def _soreness(t: RuleState) -> None:
    """``soreness_numeric`` (hours are a number), ``soreness_in_bounds`` (finite, 0 to
    :data:`~outcomes.spec.contract.SORENESS_MAX_HOURS`)."""
    sore = t.numbers("soreness_hours")
    t.found.flag("soreness_numeric", sore.not_number, "soreness_hours", "is not a number of hours")
    sv = sore.value
    t.found.flag(
        "soreness_in_bounds",
        sore.nonfinite | (sore.finite & ((sv < 0) | (sv > SORENESS_MAX_HOURS))),
        "soreness_hours",
        f"must be between 0 and {SORENESS_MAX_HOURS:g} hours",
    )
    t.attrs["soreness_hours"] = (np.where(sore.finite, sv, np.nan), None)


def _episode_constant(t: RuleState) -> None:
    """``episode_constant``: ``condition``, ``age_band``, ``sex``, ``discharge_reason`` do not vary within
    an episode (an empty cell takes the value of the episode's other rows)."""
    _constant(
        t.found,
        t.attrs,
        EPISODE_CONSTANT_COLUMNS,
        t.episodes,
        t.has_ep,
        "episode_constant",
        "differs between rows of the same episode",
    )


def _visit_constant(t: RuleState) -> None:
    """``visit_constant``: ``treatment``, ``twitch_response``, ``soreness_hours`` do not vary within a
    visit (an empty cell takes the value of the visit's other rows)."""
    visits = Groups(np.where(t.in_visit, pair_codes(t.ep, int_codes(t.vn)), -1))
    _constant(
        t.found,
        t.attrs,
        VISIT_LEVEL_COLUMNS,
        visits,
        t.in_visit,
        "visit_constant",
        "differs between rows of the same visit",
    )


def _duplicates(t: RuleState) -> None:
    """``duplicate_conflict``: one (episode, visit, measure, side) recorded more than once with different
    values (or, when no other rule explains a repeat, different details); a row identical to an earlier
    one after parsing is left out as ``exact_duplicate`` (the first kept).

    Only rows sharing a key can repeat: the canonical sort key finds them (adjacent after sorting) and
    then orders the output (``t.ordered``).
    """
    n, found, attrs = t.n, t.found, t.attrs
    with_key = ~t.value_missing & t.in_visit & (t.m_codes >= 0) & ~t.many & ~t.misnumbered  # others are reported
    candidates = np.flatnonzero(with_key)
    del with_key
    key, order = _sort_key(attrs, t.vn, candidates)
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
        numbers = {"visit_day": t.dayv, "visit_number": t.vn, "value": t.values}
        detail = pd.DataFrame(
            {c: numbers[c][shared] if c in numbers else attrs[c][0][shared] for c in VISIT_COLUMNS[:-1]}
        )
        dup[shared] = detail.duplicated(keep="first").to_numpy()
        row_key = np.full(n, -1, dtype=np.int64)
        row_key[candidates] = key
        key_dup = _duplicated(row_key, shared & ~dup)
        if key_dup.any():
            grouped = pd.Series(t.values[key_dup]).groupby(row_key[key_dup])
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
    t.dup, t.ordered = dup, candidates[order]
    t.excluded.append(notes_frame(t.raw.rows[dup], "", "exact_duplicate", "repeats an earlier row (first kept)"))


def _measurements_left(t: RuleState) -> None:
    """``has_data_rows``: once every other rule passed, at least one measurement is left (not every
    value cell is empty)."""
    if not t.found.items and not (~t.value_missing & ~t.dup).any():
        t.found.add("has_data_rows", "no measurements left: every row has an empty value cell", "value")


#: The rules on the cells of one column (or of the identifiers), in the order they run; each codes its
#: columns for the rules after it.
CELL_RULES: tuple[ContractRule, ...] = (
    ContractRule("columns", ("required_columns",), _columns, excludes=("unknown_column",)),
    ContractRule("rows", ("has_data_rows",), _rows),
    ContractRule("identifiers", ("required_present", "episode_single_patient"), _identifiers),
    ContractRule("measures", ("required_present", "measure_registered"), _measures),
    ContractRule("values", ("value_numeric", "value_finite"), _values, excludes=("value_missing",)),
    ContractRule("value_bounds", ("value_in_bounds",), _value_bounds),
    ContractRule(
        "visit_days",
        ("required_present", "visit_day_integer", "visit_day_nonnegative", "visit_day_range"),
        _visit_days,
    ),
    ContractRule("first_visit_day", ("first_visit_day_zero",), _first_visit_day),
    ContractRule(
        "visit_numbers", ("visit_number_integer", "visit_number_range", "visit_number_consistent"), _visit_numbers
    ),
    ContractRule("sides", ("side_valid",), _sides),
    ContractRule(
        "episode_codes", ("condition_code", "age_band_code", "sex_code", "discharge_reason_code"), _episode_codes
    ),
    ContractRule("treatments", ("treatment_code",), _treatments),
    ContractRule("twitch", ("twitch_response_boolean",), _twitch),
    ContractRule("soreness", ("soreness_numeric", "soreness_in_bounds"), _soreness),
)
#: The rules across rows, run once every column is coded (the cells as read may be freed by then).
TABLE_RULES: tuple[ContractRule, ...] = (
    ContractRule("episode_constant", ("episode_constant",), _episode_constant),
    ContractRule("visit_constant", ("visit_constant",), _visit_constant),
    ContractRule("duplicates", ("duplicate_conflict",), _duplicates, excludes=("exact_duplicate",)),
    ContractRule("measurements_left", ("has_data_rows",), _measurements_left),
)
#: Every rule of the contract, in the order :func:`validate_records` runs them.
CONTRACT_RULES: tuple[ContractRule, ...] = CELL_RULES + TABLE_RULES
#: Rules whose breach stops loading, in the order they are first checked (documented in
#: docs/data-contract.md).
FATAL_RULES: tuple[str, ...] = tuple(dict.fromkeys(r for rule in CONTRACT_RULES for r in rule.raises))


# --- helpers -------------------------------------------------------------------------------------


def _describe_unknown(
    unknown: pd.Series,
    allowed: Sequence[str],
    rows_of: Callable[[npt.NDArray[np.intp]], npt.NDArray[np.int64]] | None = None,
    hint: bool = True,
) -> str:
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
        for i, v in enumerate(distinct[:MAX_HINTED_CODES]):  # loop over distinct codes, not rows
            match = difflib.get_close_matches(str(v).lower(), list(allowed), 1, HINT_SIMILARITY)
            if match:
                close.setdefault(match[0], []).append(i)
        for code, positions in close.items():
            where = (
                f" ({format_rows(rows_of(np.asarray(positions, dtype=np.intp)).tolist())})"
                if rows_of is not None
                else ""
            )
            parts.append(f"did you mean {code!r}{where}?")
    return "; ".join(parts)


def _rows_of(
    found: _Problems, text: CodedText, bad_distinct: _Mask
) -> Callable[[npt.NDArray[np.intp]], npt.NDArray[np.int64]]:
    """Positions among ``text.distinct[bad_distinct]`` -> the file rows holding them."""
    where = np.flatnonzero(bad_distinct)

    def rows(positions: npt.NDArray[np.intp]) -> npt.NDArray[np.int64]:
        chosen = np.zeros(len(text.distinct), dtype=bool)
        chosen[where[positions]] = True
        held: npt.NDArray[np.int64] = found.rows[text.rows(chosen)]
        return held

    return rows


def _limit_text(name: str, what: str) -> str:
    """The message of limit ``name`` (the limit and how to raise it), for a contract rule."""
    return limit_problem(name, what, "").message


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


def _fill(text: CodedText, default: str) -> tuple[npt.NDArray[np.signedinteger[Any]], pd.Series]:
    """Codes and distinct values with empty cells set to ``default``."""
    distinct = text.distinct
    where = np.flatnonzero(distinct.to_numpy() == default)
    if len(where):
        code = int(where[0])
    else:
        code = len(distinct)
        distinct = pd.concat([distinct, pd.Series([default], dtype="str")], ignore_index=True)
    return np.where(text.codes < 0, code, text.codes), distinct


def _outside(v: _Floats, lower: float, upper: float) -> str:
    """'1 value above the upper bound' / '3 values outside: 1 below, 2 above' (never the values)."""
    below, above = int((v < lower).sum()), int((v > upper).sum())
    if not below or not above:
        return f"{len(v)} value{'s' if len(v) > 1 else ''} {'below the lower' if below else 'above the upper'} bound"
    return f"{len(v)} values outside: {below} below, {above} above"


def _duplicated(key: npt.NDArray[np.int64], mask: _Mask) -> _Mask:
    """Masked rows whose key another masked row shares."""
    out = np.zeros(len(key), dtype=bool)
    out[mask] = pd.Series(key[mask]).duplicated(keep=False).to_numpy()
    return out


def _constant(
    found: _Problems,
    attrs: dict[str, _Column],
    columns: Sequence[str],
    groups: Groups,
    mask: _Mask,
    rule: str,
    what: str,
) -> None:
    """Flag columns varying within groups; fill their empty cells from the group's value.

    A column is ``(codes, distinct)`` or ``(float values, None)``; floats are factorized (as
    before) only when a group varies or has empty cells to fill, which is rare.
    """
    for c in columns:
        codes, distinct = attrs[c]
        numbers: npt.NDArray[Any] | None = None  # the distinct floats of a column of numbers
        if distinct is None:  # float values (NaN = empty)
            valid = mask & ~np.isnan(codes)
            if not groups.varies(codes, valid) and not (mask & ~valid).any():
                continue
            codes, numbers = pd.factorize(codes)
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
        if numbers is not None:
            attrs[c] = (np.append(np.asarray(numbers, dtype=np.float64), np.nan)[codes], None)
        else:
            attrs[c] = (codes, distinct)


def _str_column(codes: npt.NDArray[np.signedinteger[Any]], distinct: pd.Series) -> pd.api.extensions.ExtensionArray:
    """Arrow-backed ``str`` cells from codes (-1 -> missing): one pyarrow ``take`` (a pandas take
    costs twice as much on millions of rows)."""

    dictionary = pa.array(pd.Series(distinct, dtype="str").array)
    if isinstance(dictionary, pa.ChunkedArray):
        dictionary = dictionary.combine_chunks()
    missing = codes < 0
    indices = pa.array(codes, mask=missing) if missing.any() else pa.array(codes)
    cells: pd.api.extensions.ExtensionArray = pd.array(dictionary.take(indices), dtype="str")
    return cells


def _text_column(attrs: Mapping[str, _Column], c: str) -> tuple[npt.NDArray[Any], pd.Series]:
    """The codes and distinct values of text column ``c``."""
    codes, distinct = attrs[c]
    if distinct is None:  # pragma: no cover - only soreness_hours holds numbers, and it is never a key
        raise TypeError(f"{c} holds numbers, not coded text")
    return codes, distinct


def _ranks(distinct: pd.Series) -> npt.NDArray[np.int64]:
    """Position of each distinct value in sorted order (code point order for text)."""
    rank = np.empty(len(distinct), dtype=np.int64)
    rank[np.asarray(pd.Series(distinct).argsort(), dtype=np.int64)] = np.arange(len(distinct))
    return rank


def _sort_key(
    attrs: Mapping[str, _Column], vn: _Floats, rows: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """An int64 key per row (equal for equal episode_id, visit_number, measure, side; ordered like
    them) and the stable order that sorts it.

    Written by hand for speed: the sort ranks of each column's distinct values are combined into
    one integer, so millions of strings are never compared.
    """
    keys: list[npt.NDArray[np.int64]] = []
    for c in ("episode_id", "visit_number", "measure", "side"):
        if c in attrs:
            codes, distinct = _text_column(attrs, c)
            keys.append(_ranks(distinct)[codes[rows]])
        else:
            keys.append(sorted_codes(vn[rows]))
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
    idx: npt.NDArray[np.intp],
    attrs: Mapping[str, _Column],
    numbers: Mapping[str, _Floats],
    rows: npt.NDArray[np.int64],
) -> pd.DataFrame:
    """The canonical frame of rows ``idx`` (positions, already in canonical order): ``numbers`` holds
    ``visit_day``, ``visit_number`` and ``value`` per row, ``attrs`` the coded columns."""
    out: dict[str, Any] = {}
    for c in VISIT_COLUMNS:
        if c in ("visit_day", "visit_number"):
            out[c] = numbers[c][idx].astype(np.int64)
        elif c == "value":
            out[c] = numbers[c][idx]
        elif c == "row":
            out[c] = np.asarray(rows, dtype=np.int64)[idx]
        elif c == "twitch_response":
            codes = attrs[c][0][idx]
            out[c] = pd.arrays.BooleanArray(codes == 1, codes < 0)
        elif c == "soreness_hours":
            out[c] = attrs[c][0][idx]
        else:
            codes, distinct = _text_column(attrs, c)
            out[c] = _str_column(codes[idx], distinct)
    return pd.DataFrame(out, copy=False)  # no copy into 2-D blocks: the arrays are new already
