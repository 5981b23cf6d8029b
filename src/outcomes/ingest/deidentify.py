"""Turn a raw EMR export (one row per visit, with identifiers) into the data contract.

What :func:`deidentify_export` does (see ``docs/privacy.md``):

* **An allow-list.** The output holds only the columns of the data contract
  (:data:`outcomes.spec.contract.ALL_COLUMNS`), in long form.  Every other input column
  (names, MRN, phone, ZIP, notes, unknown columns) is dropped and listed, by name.
* **Patients** get random pseudonyms (``"P"`` + 10 hex digits from :mod:`secrets`),
  never derived from an identifier (45 CFR 164.514(c)).  The link identifier ->
  pseudonym is kept in a *crosswalk* CSV (the key file) that stays with the clinic:
  it is reused on the next export (same patient, same pseudonym; new patients are
  appended), written atomically with permissions ``0o600``, and must not live in
  the output's directory (rule ``key_file_location``).
* **Episodes**: by the mapped ``episode_key`` column when there is one (e.g. a
  referral number), else a new episode starts after a gap of more than
  ``episode_gap_days`` between visits when that is set, else one episode per
  patient.  Episode ids are ``<pseudonym>-<n>`` (n = 1, 2 ... in time order).
* **Visit dates** become ``visit_day``: whole days since the episode's first visit.
* **Date of birth** becomes ``age_band`` (:data:`outcomes.spec.contract.AGE_BANDS`, ``90+``
  for 90 and over) at the episode's first visit.  A patient under 18 at that visit
  is refused (rule ``age_under_18``): the contract covers adults only, and which
  records of minors may leave the clinic is the clinic's decision, not ours.
* **Measures**: columns named by registry codes (the wide form, melted by
  :func:`outcomes.ingest.records.read_records`; a ``side`` column applies to sided measures only),
  or ``measure`` and ``value`` columns (the long form).
* **Coded columns** (:data:`CODED_COLUMNS`: ``condition``, ``treatment``, ``side``,
  ``sex``, ``age_band``, ``measure``, ``twitch_response``) are written only as codes of
  the contract's vocabularies, after the mapping's ``recode:`` (matched ignoring case
  and white space); a code itself is recognised in any case.  **Numeric columns**
  (measure values, ``soreness_hours``) must be plain numbers.  Any other cell is
  refused with its rows, its column and the rule (``condition_code``, ``value_numeric``
  ...): it is never copied and never quoted.
* The result is checked by the contract itself (:func:`outcomes.ingest.phi.check_no_phi`
  and :func:`outcomes.ingest.rules.validate_records`, with the raw file's row numbers)
  before anything is written, so ``outcomes validate`` accepts every file written here.
  The input file is only read.
* **CSV outputs** (the crosswalk and a CSV output) go through
  :func:`outcomes.safety.spreadsheet.neutralise_cells`; the crosswalk is read back with
  :func:`outcomes.safety.spreadsheet.restore_cells`, so an identifier such as ``=1+2``
  keeps its pseudonym across runs.

Column names are matched after normalisation (case, spaces and punctuation do not
matter).  A YAML mapping (:func:`read_mapping`) sets column roles, renames and recodes;
its keys and defaults are in :data:`DEFAULT_MAPPING`.  No message, log line or summary
quotes a cell value: they name the file, rows, column and rule.

Examples
--------
>>> import pandas as pd
>>> raw = pd.DataFrame({"Name": ["Testy McTestface"] * 2, "MRN": ["MRN-FAKE-0001"] * 2,
...                     "DOB": ["1961-05-02"] * 2, "Visit Date": ["2024-03-01", "2024-03-08"],
...                     "Gender": ["F", "F"], "pain_nprs": ["7", "4"]})
>>> res = deidentify_frame(raw, mapping={"rename": {"Gender": "sex"}, "recode": {"sex": {"f": "female"}}})
>>> res.visits[["visit_day", "measure", "value", "age_band", "sex"]].values.tolist()
[[0, 'pain_nprs', 7.0, '60-69', 'female'], [7, 'pain_nprs', 4.0, '60-69', 'female']]
>>> res.dropped_columns
('Name',)
"""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from outcomes.errors import OutcomesError, Problem, printable
from outcomes.ingest.coded import CodedText
from outcomes.ingest.phi import check_no_phi
from outcomes.ingest.records import read_records, tidy_records
from outcomes.ingest.rules import validate_records
from outcomes.safety.files import read_input_bytes
from outcomes.safety.limits import current_limits
from outcomes.safety.outputs import atomic_path, atomic_write_text, check_output_file, record_output
from outcomes.safety.safe_yaml import key_path, load_yaml_file
from outcomes.safety.spreadsheet import PLAIN_NUMBER, neutralise_cells, restore_cells
from outcomes.spec.contract import (
    AGE_BANDS,
    ALL_COLUMNS,
    CONDITIONS,
    DISCHARGE_REASONS,
    FALSE_SPELLINGS,
    SEXES,
    SIDES,
    TREATMENTS,
    TRUE_SPELLINGS,
    parse_treatment,
)
from outcomes.spec.measures import REGISTRY

__all__ = [
    "CODED_COLUMNS",
    "DEFAULT_MAPPING",
    "NUMERIC_COLUMNS",
    "DeidResult",
    "DeidSummary",
    "deidentify_export",
    "deidentify_frame",
    "new_pseudonyms",
    "read_crosswalk",
    "read_mapping",
]

#: Mapping keys and their defaults.  ``patient_key``: the column (or list of columns)
#: identifying a patient; ``visit_date`` (required) and ``birth_date`` (optional; ``null``:
#: none) are date columns read with ``date_format`` (a strptime format, default ISO
#: ``yyyy-mm-dd``); ``episode_key`` or ``episode_gap_days`` define episodes; ``rename`` maps
#: raw column -> contract column or measure code (e.g. ``{NPRS: pain_nprs, Gender: sex}``);
#: ``recode`` maps, per coded column, raw value -> code (e.g. ``{sex: {F: female}}``).
DEFAULT_MAPPING: Mapping[str, Any] = {
    "patient_key": "mrn",
    "visit_date": "visit_date",
    "birth_date": "dob",
    "episode_key": None,
    "episode_gap_days": None,
    "date_format": "%Y-%m-%d",
    "rename": {},
    "recode": {},
}

#: Contract columns written only as codes: column -> (its codes, the rule of a refused cell).
CODED_COLUMNS: Mapping[str, tuple[tuple[str, ...], str]] = {
    "condition": (tuple(CONDITIONS), "condition_code"),
    "treatment": (tuple(TREATMENTS), "treatment_code"),
    "side": (SIDES, "side_valid"),
    "sex": (SEXES, "sex_code"),
    "age_band": (AGE_BANDS, "age_band_code"),
    "discharge_reason": (tuple(DISCHARGE_REASONS), "discharge_reason_code"),
    "measure": (tuple(REGISTRY), "measure_registered"),
    "twitch_response": (("true", "false"), "twitch_response_boolean"),
}
#: Contract columns written only as plain numbers: column -> the rule of a refused cell.
NUMERIC_COLUMNS: Mapping[str, str] = {"value": "value_numeric", "soreness_hours": "soreness_numeric"}
#: Contract columns taken from the export (the rest are made here); rename targets.
_COPIED: tuple[str, ...] = (*CODED_COLUMNS, *NUMERIC_COLUMNS)
_RENAME_TARGETS: frozenset[str] = frozenset((*_COPIED, *REGISTRY))
_BOOLEAN = {**dict.fromkeys(TRUE_SPELLINGS, True), **dict.fromkeys(FALSE_SPELLINGS, False)}  # the loader's spellings
_CROSSWALK_ID = "patient_id"
_PSEUDONYM_HEX = 5  # bytes -> 10 hex digits; 16**10 ~ 1e12 codes
_ADULT_AGE = 18
_MAX_KEY_COLUMNS = 10
_MAX_FORMAT_CHARS = 100


@dataclass(frozen=True)
class DeidResult:
    """In-memory result of :func:`deidentify_frame`.

    Attributes
    ----------
    visits : DataFrame
        Long form of the data contract, contract columns only: ``patient_id``,
        ``episode_id``, ``measure``, ``side``, coded columns (str, missing = NA),
        ``visit_day`` (int64), ``value``, ``soreness_hours`` (float64),
        ``twitch_response`` (boolean).
    crosswalk : DataFrame
        Identifier column(s) and ``patient_id``, old entries first, new ones appended.
    n_new_patients : int
        Pseudonyms created in this run.
    dropped_columns : tuple of str
        Raw columns not carried over (identifiers and every column outside the contract).
    transformed : dict
        Raw column -> what was done with it.
    """

    visits: pd.DataFrame
    crosswalk: pd.DataFrame
    n_new_patients: int
    dropped_columns: tuple[str, ...]
    transformed: dict[str, str]


@dataclass(frozen=True)
class DeidSummary:
    """What :func:`deidentify_export` wrote.

    Attributes
    ----------
    n_rows, n_patients, n_new_patients, n_episodes : int
        Output rows (one per measurement), patients, patients new to the crosswalk, episodes.
    dropped_columns : tuple of str
        Raw columns not carried over.
    transformed : dict
        Raw column -> what was done with it.
    out, key_file : Path
        Files written.
    """

    n_rows: int
    n_patients: int
    n_new_patients: int
    n_episodes: int
    dropped_columns: tuple[str, ...]
    transformed: dict[str, str]
    out: Path
    key_file: Path

    def describe(self) -> str:
        """A few lines for the command line (column names only, never values; control characters escaped)."""
        lines = [
            f"wrote {self.n_rows} rows ({self.n_patients} patients, {self.n_episodes} episodes) to {self.out}",
            f"crosswalk: {self.key_file} ({self.n_new_patients} new patients; keep it private, "
            "never share it with the data)",
        ]
        lines += [f"  {col}: {what}" for col, what in self.transformed.items()]
        if self.dropped_columns:
            lines.append("dropped: " + ", ".join(self.dropped_columns))
        return "\n".join(printable(line) for line in lines)


def _norm(name: object) -> str:
    """Column name for matching: lower case, non-alphanumerics as single underscores."""
    return re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")


def _fold(text: object) -> str:
    """A cell or recode key for matching: stripped, inner white space single, case folded."""
    return " ".join(str(text).split()).casefold()


def _fail(rule: str, message: str, source: str, rows: tuple[int, ...] = (), column: str | None = None) -> NoReturn:
    raise OutcomesError(Problem(rule, message, source, rows, column))


# ------------------------------------------------------------------------------ mapping
def _is_name(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= current_limits().max_name_chars


def _check_column(value: object, key: str, optional: bool) -> list[tuple[str, str, str]]:
    if value is None and optional:
        return []
    if not _is_name(value):
        return [("mapping_type", "must be a column name (text)" + (" or null" if optional else ""), key)]
    return []


def _check_patient_key(value: object, key: str) -> list[tuple[str, str, str]]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(_is_name(n) for n in names):
        return [("mapping_type", "must be a column name or a non-empty list of column names", key)]
    if len(names) > _MAX_KEY_COLUMNS:
        return [("mapping_value", f"at most {_MAX_KEY_COLUMNS} columns may form the patient key", key)]
    if len({_norm(n) for n in names}) < len(names):
        return [("mapping_value", "names the same column more than once", key)]
    return []


def _check_gap(value: object, key: str) -> list[tuple[str, str, str]]:
    if value is None:
        return []
    top = current_limits().max_visit_day
    if isinstance(value, bool) or not isinstance(value, int):
        return [("mapping_type", "must be a whole number of days (or null)", key)]
    if not 0 < value <= top:
        return [("mapping_value", f"must be between 1 and {top} days", key)]
    return []


def _check_date_format(value: object, key: str) -> list[tuple[str, str, str]]:
    if not isinstance(value, str):
        return [("mapping_type", 'must be a strptime format string in quotes, e.g. "%d/%m/%Y"', key)]
    probe = datetime(2001, 2, 3, 4, 5, 6)
    try:  # the library decides what a format is: it must write and read back a day, month and year
        ok = len(value) <= _MAX_FORMAT_CHARS and datetime.strptime(probe.strftime(value), value).date() == probe.date()
    except (ValueError, TypeError):
        ok = False
    if not ok:
        return [
            (
                "mapping_value",
                'must be a strptime format with a day, a month and a year, e.g. "%d/%m/%Y" '
                "(see the table of format codes in Python's datetime documentation)",
                key,
            )
        ]
    return []


def _check_rename(value: object, key: str) -> list[tuple[str, str, str]]:
    if not isinstance(value, Mapping):
        return [("mapping_type", "must map raw column names to contract columns or measure codes", key)]
    out: list[tuple[str, str, str]] = []
    seen_raw: dict[str, str] = {}
    seen_target: dict[str, str] = {}
    for raw, target in value.items():
        path = key_path([key, str(raw)])
        if not _is_name(raw):
            out.append(("mapping_type", "a raw column name must be text", path))
            continue
        if not isinstance(target, str) or target not in _RENAME_TARGETS:
            out.append(
                (
                    "mapping_value",
                    "must be a column of the data contract taken from the export ("
                    + ", ".join(_COPIED)
                    + ") or a measure code (docs/measures.md)",
                    path,
                )
            )
            continue
        if _norm(raw) in seen_raw:
            out.append(("mapping_value", f"names the same raw column as {seen_raw[_norm(raw)]}", path))
        if target in seen_target:
            out.append(
                ("mapping_value", f"two raw columns renamed to {target} (also {seen_target[target]}): keep one", path)
            )
        seen_raw.setdefault(_norm(raw), str(raw))
        seen_target.setdefault(target, str(raw))
    return out


def _code_of(column: str, target: object) -> str | None:
    """The contract code a recode target stands for, or None if it is not one."""
    codes = CODED_COLUMNS[column][0]
    if column == "twitch_response":
        flag = target if isinstance(target, bool) else _BOOLEAN.get(_fold(target)) if isinstance(target, str) else None
        return None if flag is None else ("true" if flag else "false")
    if not isinstance(target, str):
        return None
    if column == "treatment":
        parts = parse_treatment(target)
        return "+".join(parts) if parts and all(p in codes for p in parts) else None
    return target if target in codes else None


def _check_recode(value: object, key: str) -> list[tuple[str, str, str]]:
    if not isinstance(value, Mapping):
        return [("mapping_type", "must map coded columns (" + ", ".join(CODED_COLUMNS) + ") to {raw value: code}", key)]
    out: list[tuple[str, str, str]] = []
    for column, table in value.items():
        path = key_path([key, str(column)])
        if column not in CODED_COLUMNS:
            out.append(("mapping_value", "recodes only the coded columns " + ", ".join(CODED_COLUMNS), path))
            continue
        if not isinstance(table, Mapping):
            out.append(("mapping_type", "must map raw values to codes", path))
            continue
        seen: dict[str, str | None] = {}
        for raw, target in table.items():
            where = key_path([key, str(column), str(raw)])
            if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
                out.append(
                    (
                        "mapping_type",
                        "a raw value must be text or a number (quote yes/no/true/false: YAML reads them as booleans)",
                        where,
                    )
                )
                continue
            code = _code_of(column, target)
            if code is None:
                what = "+-joined codes of " if column == "treatment" else "one of "
                out.append(("mapping_value", f"must be {what}" + ", ".join(CODED_COLUMNS[column][0]), where))
            elif seen.get(_fold(raw), code) != code:
                out.append(
                    (
                        "mapping_value",
                        "the same raw value (ignoring case and spaces) is recoded twice, to different codes",
                        where,
                    )
                )
            seen.setdefault(_fold(raw), code)
    return out


#: The mapping's schema: key -> check (value, key path) -> [(rule, message, key path)].
_MAPPING_CHECKS: Mapping[str, Callable[[object, str], list[tuple[str, str, str]]]] = {
    "patient_key": _check_patient_key,
    "visit_date": lambda v, k: _check_column(v, k, optional=False),
    "birth_date": lambda v, k: _check_column(v, k, optional=True),
    "episode_key": lambda v, k: _check_column(v, k, optional=True),
    "episode_gap_days": _check_gap,
    "date_format": _check_date_format,
    "rename": _check_rename,
    "recode": _check_recode,
}


def read_mapping(mapping: str | os.PathLike[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    """The mapping from a YAML file or a dict, checked and completed with :data:`DEFAULT_MAPPING`.

    A file is read with :func:`outcomes.safety.safe_yaml.load_yaml_file` (regular files only, size
    and alias limits, duplicate keys refused with their key path).  Every key is then checked
    against its schema (:data:`DEFAULT_MAPPING` lists the keys): unknown keys
    (``mapping_unknown_key``), wrong types (``mapping_type``) and bad values
    (``mapping_value``) are all reported at once, each with its key path as the column.

    Raises
    ------
    OutcomesError
        Listing every problem of the mapping.

    Examples
    --------
    >>> m = read_mapping({"patient_key": ["clinic", "chart"], "rename": {"NPRS": "pain_nprs"}})
    >>> m["patient_key"], m["visit_date"], m["rename"]
    (['clinic', 'chart'], 'visit_date', {'NPRS': 'pain_nprs'})
    >>> bad = {"date_format": 5, "rename": {"a": "notes"}, "patient_keys": "mrn"}
    >>> read_mapping(bad)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    outcomes.errors.OutcomesError: mapping: 3 problems, nothing was read or written:
      - mapping, column patient_keys: [mapping_unknown_key] unknown key; the keys are patient_key, visit_date,
          birth_date, episode_key, episode_gap_days, date_format, rename, recode
      - mapping, column date_format: [mapping_type] must be a strptime format string in quotes, e.g. "%d/%m/%Y"
      - mapping, column rename.a: [mapping_value] must be a column of the data contract taken from the export
          (condition, treatment, side, sex, age_band, discharge_reason, measure, twitch_response, value,
      soreness_hours) or a measure code
          (docs/measures.md)
    """
    source = "mapping"
    if mapping is None:
        given: Any = {}
    elif isinstance(mapping, Mapping):
        given = dict(mapping)
    else:
        source = str(mapping)
        given = load_yaml_file(mapping, source=source, what="a YAML mapping file")
        given = {} if given is None else given
    if not isinstance(given, Mapping):
        _fail("mapping_valid", "must be a YAML mapping of keys (" + ", ".join(DEFAULT_MAPPING) + ")", source)
    found = [
        ("mapping_unknown_key", "unknown key; the keys are " + ", ".join(DEFAULT_MAPPING), str(k))
        for k in given
        if k not in DEFAULT_MAPPING
    ]
    out = {**DEFAULT_MAPPING, **{k: v for k, v in given.items() if k in DEFAULT_MAPPING}}
    for key, check in _MAPPING_CHECKS.items():
        found += check(out[key], key)
    if out["episode_key"] is not None and out["episode_gap_days"] is not None:
        found.append(
            ("mapping_value", "episode_key and episode_gap_days both define episodes: keep one", "episode_gap_days")
        )
    if found:
        raise OutcomesError(
            [Problem(rule, message, source, (), column) for rule, message, column in found],
            headline=f"{source}: {len(found)} problem{'s' if len(found) > 1 else ''}, nothing was read or written:",
        )
    out["rename"] = {str(k): v for k, v in out["rename"].items()}
    out["recode"] = {c: {str(k): v for k, v in t.items()} for c, t in out["recode"].items()}
    return out


# ------------------------------------------------------------------------------ helpers
def new_pseudonyms(n: int, taken: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """``n`` fresh random pseudonyms (``'P'`` + 10 hex digits), none of them in ``taken``.

    Drawn from :func:`secrets.token_hex`, so they carry no information about anyone.

    Examples
    --------
    >>> codes = new_pseudonyms(3)
    >>> len(set(codes)), all(re.fullmatch(r"P[0-9a-f]{10}", c) for c in codes)
    (3, True)
    """
    out: list[str] = []
    seen = set(taken)
    while len(out) < n:  # a collision (p ~ 1e-12 each) is simply redrawn
        code = "P" + secrets.token_hex(_PSEUDONYM_HEX)
        if code not in seen:
            seen.add(code)
            out.append(code)
    return out


def _find(frame: pd.DataFrame, name: str | None, source: str) -> str | None:
    """The frame column called ``name`` (exactly, else after normalisation); several matches are refused."""
    if name is None:
        return None
    if name in frame.columns:
        return name
    matches = [c for c in frame.columns if _norm(c) == _norm(name)]
    if len(matches) > 1:
        _fail(
            "mapping_column",
            f"several columns match {name} ({', '.join(matches)}) once case, spaces and "
            "punctuation are ignored; rename one in the export",
            source,
            (1,),
            name,
        )
    return matches[0] if matches else None


def _require(frame: pd.DataFrame, name: str, role: str, source: str) -> str:
    found = _find(frame, name, source)
    if found is None:
        _fail(
            "mapping_column",
            f"no column {name} for {role}; name it in the mapping (--mapping YAML, key {role})",
            source,
            (1,),
            name,
        )
    return found


def _dates(frame: pd.DataFrame, col: str, fmt: str, rows: np.ndarray, source: str, required: bool) -> pd.Series:
    text = frame[col].astype("str").str.strip()
    blank = frame[col].isna().to_numpy() | (text == "").to_numpy()
    parsed = pd.to_datetime(text.where(~blank), format=fmt, errors="coerce")
    bad = parsed.isna().to_numpy() & ~blank
    if bad.any():
        _fail(
            f"{'visit' if required else 'birth'}_date_parsable",
            f"{int(bad.sum())} date(s) do not match the format {fmt!r} (set date_format in the mapping)",
            source,
            tuple(rows[bad]),
            col,
        )
    if required and blank.any():
        _fail("visit_date_missing", f"{int(blank.sum())} visit row(s) have no date", source, tuple(rows[blank]), col)
    return parsed


def _keys(frame: pd.DataFrame, cols: list[str], rows: np.ndarray, source: str) -> pd.DataFrame:
    keys: pd.DataFrame = frame[cols].astype("str").apply(lambda s: s.str.strip())
    blank = (frame[cols].isna() | (keys == "")).any(axis=1).to_numpy()
    if blank.any():
        _fail(
            "patient_key_missing",
            f"{int(blank.sum())} row(s) have no patient identifier",
            source,
            tuple(rows[blank]),
            ", ".join(cols),
        )
    return keys


def _check_crosswalk(crosswalk: pd.DataFrame, key_cols: list[str], source: str) -> pd.DataFrame:
    want = [*key_cols, _CROSSWALK_ID]
    if list(crosswalk.columns) != want:
        _fail(
            "crosswalk_valid", f"columns must be {', '.join(want)} (was the patient_key mapping changed?)", source, (1,)
        )
    cw: pd.DataFrame = crosswalk.astype("str").apply(lambda s: s.str.strip())
    for cols, what in ((key_cols, "identifier"), ([_CROSSWALK_ID], "pseudonym")):
        dup = cw.duplicated(cols, keep=False).to_numpy()
        if dup.any():
            _fail(
                "crosswalk_valid",
                f"the same {what} appears more than once; restore the key file from a backup",
                source,
                tuple(np.flatnonzero(dup) + 2),
                ", ".join(cols),
            )
    return cw


def _age_bands(birth: pd.Series, first_visit: pd.Series, rows: np.ndarray, source: str, col: str) -> pd.Series:
    """Age in whole years at the episode's first visit, as an AGE_BANDS label."""
    had_birthday = (first_visit.dt.month > birth.dt.month) | (
        (first_visit.dt.month == birth.dt.month) & (first_visit.dt.day >= birth.dt.day)
    )
    age = first_visit.dt.year - birth.dt.year - (~had_birthday).astype("int64")
    implausible = (age.lt(0) | age.gt(130)).fillna(False).to_numpy(dtype=bool)
    if implausible.any():
        _fail(
            "birth_date_plausible",
            f"{int(implausible.sum())} row(s) give a birth date after the visit or an age over 130",
            source,
            tuple(rows[implausible]),
            col,
        )
    minor = age.lt(_ADULT_AGE).fillna(False).to_numpy(dtype=bool)
    if minor.any():
        _fail(
            "age_under_18",
            f"{int(minor.sum())} row(s) belong to patients under {_ADULT_AGE} at the "
            "episode's first visit; the data contract covers adults only: remove them from the export",
            source,
            tuple(rows[minor]),
            col,
        )
    edges = [int(b.split("-")[0].rstrip("+")) for b in AGE_BANDS]  # 18, 30, ..., 90
    codes = np.searchsorted(np.asarray(edges), age.to_numpy(dtype=float, na_value=np.nan), side="right") - 1
    labels = np.asarray(AGE_BANDS, dtype=object)[np.clip(codes, 0, len(AGE_BANDS) - 1)]
    return pd.Series(labels, index=birth.index, dtype="str").where(age.notna())


# --------------------------------------------------------------------------- cells -> codes
def _lookup(keys: pd.Series, first: Mapping[str, object], then: Mapping[str, object]) -> pd.Series:
    """``first[key]``, else ``then[key]``, else NA (object dtype: codes, never coerced)."""
    out = pd.Series(keys.map(first), index=keys.index, dtype=object)
    return out.where(out.notna(), pd.Series(keys.map(then), index=keys.index, dtype=object))


def _as_codes(
    cells: pd.Series, column: str, recode: Mapping[str, object], rows: np.ndarray, source: str, raw_name: str
) -> tuple[pd.Series, Problem | None, int]:
    """A coded column as contract codes (NA where blank), the problem of the other cells, and
    how many distinct values a recode changed.  Checked on distinct values, spread to rows."""
    text = CodedText(cells, len(cells))
    key = text.distinct.map(_fold)
    codes, rule = CODED_COLUMNS[column]
    recoded = {_fold(raw): _code_of(column, target) for raw, target in recode.items()}
    spelled = (
        {k: ("true" if v else "false") for k, v in _BOOLEAN.items()}
        if column == "twitch_response"
        else {_fold(c): c for c in codes}
    )
    code = _lookup(key, recoded, spelled)
    if column == "treatment" and code.isna().any():  # "DN + exercise": each part by itself
        parts = key[code.isna()].str.split("+").explode().str.strip()
        part_code = _lookup(parts, recoded, spelled)
        whole = part_code.notna().groupby(level=0).all()
        joined = part_code.dropna().groupby(level=0).agg("+".join)
        code = code.fillna(joined.where(whole.reindex(joined.index, fill_value=False)))
    if column == "treatment":  # sorted, without repeats, as the loader writes them
        code = code.map(lambda t: "+".join(parse_treatment(t)) if isinstance(t, str) else t)
    bad = code.isna().to_numpy()
    problem = None
    if bad.any():
        rows_bad = text.rows(bad)
        allowed = "+-joined codes of " if column == "treatment" else "one of "
        problem = Problem(
            rule,
            f"{int(rows_bad.sum())} cell(s), {int(bad.sum())} distinct value(s), are not codes "
            f"of the contract ({allowed}{', '.join(codes)}); nothing was copied. Write codes, or map "
            f"each raw value in the mapping: recode: {{{column}: {{raw value: code}}}}",
            source,
            tuple(rows[rows_bad]),
            raw_name,
        )
    n_recoded = int(key.isin(list(recoded)).sum())
    # pandas takes na_value=None (a missing code stays None); pandas-stubs' na_value type leaves None out
    per_distinct = code.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]
    values = pd.Series(text.rows(per_distinct, None), index=cells.index)
    if column == "twitch_response":
        return values.map({"true": True, "false": False}).astype("boolean"), problem, n_recoded
    return values.astype("str"), problem, n_recoded


def _as_numbers(
    cells: pd.Series, rule: str, rows: np.ndarray, source: str, raw_name: str
) -> tuple[pd.Series, Problem | None]:
    """A numeric column as float64 (NaN where blank) and the problem of cells that are not plain numbers."""
    if pd.api.types.is_numeric_dtype(cells.dtype) and not pd.api.types.is_bool_dtype(cells.dtype):
        return cells.astype("float64"), None
    text = CodedText(cells, len(cells))
    number = text.distinct.str.fullmatch(PLAIN_NUMBER).to_numpy(dtype=bool)
    parsed = pd.to_numeric(text.distinct.where(number), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    problem = None
    if not number.all():
        rows_bad = text.rows(~number)
        problem = Problem(
            rule,
            f"{int(rows_bad.sum())} cell(s) are not plain numbers (digits with a decimal point); nothing was copied",
            source,
            tuple(rows[rows_bad]),
            raw_name,
        )
    return pd.Series(text.rows(parsed, np.nan), index=cells.index, dtype="float64"), problem


# ------------------------------------------------------------------------------ the frame
def deidentify_frame(
    raw: pd.DataFrame,
    *,
    crosswalk: pd.DataFrame | None = None,
    mapping: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    source: str = "<DataFrame>",
    rows: np.ndarray | None = None,
    crosswalk_source: str = "crosswalk",
) -> DeidResult:
    """De-identify an EMR-like visit table in memory (see the module docstring).

    Parameters
    ----------
    raw : DataFrame
        One row per visit (measure-code columns) or per measurement (``measure`` and
        ``value`` columns); identifier columns and a visit date.
    crosswalk : DataFrame, optional
        Existing crosswalk (identifier column(s) + ``patient_id``) to reuse.
    mapping : dict or path to YAML, optional
        Column roles, renames and recodes; see :data:`DEFAULT_MAPPING`.
    source : str
        Name used in error messages.
    rows : array of int, optional
        File row number of each raw row (default: position + 2).
    crosswalk_source : str
        Name of the crosswalk in error messages.

    Returns
    -------
    DeidResult

    Raises
    ------
    OutcomesError
        A bad mapping, missing or unparseable identifier/date columns, minors, cells of a
        coded or numeric column that are not codes or numbers, a broken crosswalk, no
        measure, or a result the data contract would refuse.  Rows are the raw file's.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"mrn": ["A", "B", "A"], "visit_date": ["2024-01-02", "2024-01-05", "2024-01-09"],
    ...                     "rom_shoulder_flexion": ["120", "90", "140"], "side": ["left", "right", "left"]})
    >>> res = deidentify_frame(raw)
    >>> res.n_new_patients, res.visits.groupby("patient_id")["visit_day"].max().sort_values().tolist()
    (2, [0, 7])
    >>> bad = raw.assign(condition=["neck_pain", "Call Jane 555-0134", "neck_pain"])
    >>> deidentify_frame(bad, source="raw.csv")  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    outcomes.errors.OutcomesError: raw.csv: cells that are not codes or numbers of the data contract (never copied);
        nothing was written:
      - raw.csv, row 3, column condition: [condition_code] 1 cell(s), 1 distinct value(s), are not codes of the contract
          (one of neck_pain, ...); nothing was copied. Write codes, or map each raw value in the mapping: recode:
          {condition: {raw value: code}}
    """
    m = read_mapping(mapping)
    frame = raw.reset_index(drop=True).rename(columns=lambda c: str(c).strip())
    rows = np.arange(2, len(frame) + 2, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)

    # --- renames: every named column must exist, and must not land on a column already there
    renames: dict[str, str] = {}
    for raw_name, target in m["rename"].items():
        col = _find(frame, raw_name, source)
        if col is None:
            _fail(
                "mapping_column",
                f"the mapping renames {raw_name}, which the export does not have",
                source,
                (1,),
                raw_name,
            )
        renames[col] = target
    for col, target in renames.items():
        there = _find(frame, target, source)
        if there is not None and there != col and there not in renames:
            _fail(
                "mapping_column",
                f"{col} is renamed to {target}, but the export already has a column {there}; "
                "drop one of them from the export or rename it too",
                source,
                (1,),
                col,
            )
    frame = frame.rename(columns=renames)
    original = {new: old for old, new in renames.items()}

    def raw_of(col: str) -> str:
        return original.get(col, col)

    # --- column roles: each column plays one
    key_names = m["patient_key"] if isinstance(m["patient_key"], list) else [m["patient_key"]]
    key_cols = [_require(frame, k, "patient_key", source) for k in key_names]
    date_col = _require(frame, m["visit_date"], "visit_date", source)
    birth_col = _find(frame, m["birth_date"], source)
    if birth_col is None and m["birth_date"] not in (None, DEFAULT_MAPPING["birth_date"]):
        _require(frame, m["birth_date"], "birth_date", source)
    episode_col = None if m["episode_key"] is None else _require(frame, m["episode_key"], "episode_key", source)
    roles = [*key_cols, date_col, *([birth_col] if birth_col else []), *([episode_col] if episode_col else [])]
    twice = sorted(
        {raw_of(c) for c in roles if roles.count(c) > 1} | {raw_of(c) for c in roles if c in renames.values()}
    )
    if twice:
        _fail(
            "mapping_value",
            "a column may play one role only (patient_key, visit_date, birth_date, episode_key, "
            "a renamed contract column): " + ", ".join(twice),
            source,
            (1,),
            ", ".join(twice),
        )

    # --- the allow-list: contract columns and measure codes, nothing else
    def present(names: Iterable[str]) -> dict[str, str]:
        found = {name: _find(frame, name, source) for name in names}
        return {col: name for name, col in found.items() if col is not None and col not in roles}

    copied = present(_COPIED)
    if birth_col is not None:
        copied = {c: n for c, n in copied.items() if n != "age_band"}  # computed from the birth date instead
    measure_cols = present(REGISTRY)
    long_form = {"measure", "value"} & set(copied.values())
    if long_form and (measure_cols or long_form != {"measure", "value"}):
        _fail(
            "no_measures",
            "the long form needs both a measure and a value column, and no measure-code columns beside them",
            source,
            (1,),
            ", ".join(raw_of(c) for c, n in copied.items() if n in long_form),
        )
    if not long_form and not measure_cols:
        _fail(
            "no_measures",
            "no measure column found (columns named by measure codes such as pain_nprs, or "
            "measure and value columns; use rename in the mapping)",
            source,
            (1,),
        )

    # --- cells: codes and numbers only, all problems at once
    problems: list[Problem] = []
    cells: dict[str, pd.Series] = {}
    transformed: dict[str, str] = {}
    for col, name in copied.items():
        if name in CODED_COLUMNS:
            cells[name], problem, n_recoded = _as_codes(
                frame[col], name, m["recode"].get(name, {}), rows, source, raw_of(col)
            )
            what = f"written as {name} codes" + (f" ({n_recoded} distinct values recoded)" if n_recoded else "")
        else:
            cells[name], problem = _as_numbers(frame[col], NUMERIC_COLUMNS[name], rows, source, raw_of(col))
            what = f"written as {name} numbers"
        problems += [problem] if problem else []
        transformed[raw_of(col)] = what if raw_of(col) == name else f"renamed to {name}; {what}"
    for col, code in measure_cols.items():
        cells[code], problem = _as_numbers(frame[col], "value_numeric", rows, source, raw_of(col))
        problems += [problem] if problem else []
        if raw_of(col) != code:
            transformed[raw_of(col)] = f"renamed to {code}"
    if problems:
        raise OutcomesError(
            problems,
            headline=f"{source}: cells that are not codes or numbers of the data "
            "contract (never copied); nothing was written:",
        )

    # --- patients: reuse or draw pseudonyms
    keys = _keys(frame, key_cols, rows, source)
    keys.columns = key_names
    old = (
        pd.DataFrame(columns=[*key_names, _CROSSWALK_ID], dtype="str")
        if crosswalk is None
        else _check_crosswalk(crosswalk, key_names, crosswalk_source)
    )
    distinct = keys.drop_duplicates()
    new = distinct.merge(old[key_names], how="left", on=key_names, indicator=True)
    new = new.loc[new["_merge"] == "left_only", key_names].reset_index(drop=True)
    new[_CROSSWALK_ID] = pd.Series(new_pseudonyms(len(new), set(old[_CROSSWALK_ID])), dtype="str")
    cw = pd.concat([old, new], ignore_index=True).astype("str")
    patient = keys.merge(cw, how="left", on=key_names, validate="many_to_one")[_CROSSWALK_ID]

    # --- episodes and visit days
    day = _dates(frame, date_col, m["date_format"], rows, source, required=True)
    work = pd.DataFrame({"patient": patient.to_numpy(), "date": day.to_numpy()})
    if episode_col is not None:
        work["episode"] = frame[episode_col].astype("str").str.strip().to_numpy()
    elif m["episode_gap_days"] is not None:
        work = work.sort_values(["patient", "date"], kind="stable")
        gap = work.groupby("patient")["date"].diff().dt.days.gt(m["episode_gap_days"])
        work["episode"] = gap.groupby(work["patient"]).cumsum().astype("str")
        work = work.sort_index()
    else:
        work["episode"] = ""
    start = work.groupby(["patient", "episode"])["date"].transform("min")
    order = start.groupby(work["patient"]).rank(method="dense").astype("int64").astype("str")
    wide = pd.DataFrame(
        {
            "patient_id": work["patient"],
            "episode_id": work["patient"] + "-" + order,
            "visit_day": (work["date"] - start).dt.days.astype("int64"),
        }
    )
    for c in key_cols:
        transformed[raw_of(c)] = "replaced by a random pseudonym (patient_id); kept only in the crosswalk"
    transformed[raw_of(date_col)] = "converted to visit_day (days since the episode's first visit)"
    if episode_col is not None:
        transformed[raw_of(episode_col)] = "used to form episodes (episode_id = pseudonym-n)"
    if birth_col is not None:
        birth = _dates(frame, birth_col, m["date_format"], rows, source, required=False)
        wide["age_band"] = _age_bands(birth, start, rows, source, birth_col)
        transformed[raw_of(birth_col)] = "converted to age_band at the episode's first visit (90+ aggregated)"
    for name, series in cells.items():
        wide[name] = series
    used = {*roles, *copied, *measure_cols}
    dropped = tuple(raw_of(c) for c in frame.columns if c not in used)

    table = read_records(wide)  # the io module's wide -> long rules
    long = table.frame
    long_rows = rows[table.rows - 2]
    if table.wide and "side" in long:
        unsided = ~long["measure"].map(lambda c: REGISTRY[c].sided).to_numpy(dtype=bool)
        long["side"] = long["side"].where(~unsided, "none")
    long = long[[c for c in ALL_COLUMNS if c in long.columns]]
    order_rows = np.lexsort(
        (long["visit_day"].to_numpy(), long["episode_id"].to_numpy(), long["patient_id"].to_numpy())
    )
    long = long.iloc[order_rows].reset_index(drop=True)
    long["value"] = long["value"].astype("float64")
    _check_contract(long, long_rows[order_rows], source, {n: raw_of(c) for c, n in copied.items()})
    return DeidResult(long, cw, len(new), dropped, transformed)


def _check_contract(visits: pd.DataFrame, rows: np.ndarray, source: str, raw_names: Mapping[str, str]) -> None:
    """Refuse a result that ``outcomes validate`` would refuse; problems name the raw file's rows
    (and its column, where one raw column became the contract column)."""
    name = f"de-identified {source}"
    table = tidy_records(visits, rows, name, "", "frame")
    check_no_phi(table.frame, source=name, rows=table.rows)
    try:
        validate_records(table)
    except OutcomesError as err:
        problems = [
            Problem(p.rule, p.message, p.source, p.rows, raw_names.get(p.column or "", p.column)) for p in err.problems
        ]
        raise OutcomesError(
            problems, headline=f"{name} would not meet the data contract; nothing was written:"
        ) from None


# ------------------------------------------------------------------------------ files
def read_crosswalk(path: str | os.PathLike[str]) -> pd.DataFrame | None:
    """The crosswalk CSV at ``path`` (cells restored from their spreadsheet-safe form), or None if there is none.

    Read through :func:`outcomes.safety.files.read_input_bytes`: only a regular file of at most
    ``max_file_bytes``; a directory, FIFO or device is refused before reading.  An empty,
    binary, non-UTF-8 or unparseable file is refused (``crosswalk_valid``,
    ``encoding_utf8``): it may be a damaged key, and a new one would give every patient a
    new pseudonym.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "cw.csv"
    >>> read_crosswalk(p) is None
    True
    >>> _ = p.write_text("mrn,patient_id\\n'=1+2,P0123456789\\n")
    >>> read_crosswalk(p)["mrn"].tolist()
    ['=1+2']
    >>> _ = p.write_bytes(b"")
    >>> read_crosswalk(p)  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    outcomes.errors.OutcomesError: ...cw.csv: [crosswalk_valid] is empty; a crosswalk has at least its header line:
        restore it from a backup, or give a new --key-file path to start a new one
    """
    path = Path(path)
    name = str(path)
    if not path.exists() and not path.is_symlink():
        return None
    data = read_input_bytes(path, source=name, limit="max_file_bytes", what="a crosswalk CSV (the key file)")
    if not data.strip():
        _fail(
            "crosswalk_valid",
            "is empty; a crosswalk has at least its header line: restore it from a backup, "
            "or give a new --key-file path to start a new one",
            name,
        )
    if b"\x00" in data:
        _fail("crosswalk_valid", "is not a text CSV (binary content); restore the key file from a backup", name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        _fail(
            "encoding_utf8",
            "is not UTF-8 text; a crosswalk written by outcomes always is: restore it from a backup",
            name,
        )
    try:
        frame = pd.read_csv(io.StringIO(text), dtype="str", keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error):
        _fail("crosswalk_valid", "cannot be parsed as CSV; restore the key file from a backup", name)
    return restore_cells(frame)


def deidentify_export(
    raw_path: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    key_file: str | os.PathLike[str],
    mapping: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    force: bool = False,
) -> DeidSummary:
    """De-identify an EMR export file; write the contract file and update the crosswalk.

    Parameters
    ----------
    raw_path : path
        CSV (UTF-8) or Parquet export, one row per visit.  Only read.
    out : path
        De-identified long-form output (``.parquet`` suffix: Parquet, else CSV with formula
        cells neutralised).
    key_file : path
        Crosswalk CSV (identifier -> pseudonym); created or extended, mode ``0o600``, formula
        cells neutralised.  Must not be in ``out``'s directory.
    mapping : dict or path to YAML, optional
        Column roles, renames and recodes; see :data:`DEFAULT_MAPPING`.
    force : bool
        Replace an ``out`` file that outcomes wrote earlier even though it changed since
        (:func:`outcomes.safety.outputs.check_output_file`); a file outcomes did not write is never replaced.

    Returns
    -------
    DeidSummary

    Raises
    ------
    OutcomesError
        ``key_file_location`` / ``output_location`` for unsafe paths, a bad key file
        (:func:`read_crosswalk`), and everything :func:`deidentify_frame` raises.  Nothing
        is written when it is raised.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "raw.csv").write_text("mrn,visit_date,pain_nprs\\n=1+2,2024-01-02,6\\n=1+2,2024-01-04,3\\n")
    >>> s = deidentify_export(d / "raw.csv", out=d / "share" / "visits.csv", key_file=d / "keys" / "cw.csv")
    >>> s.n_rows, s.n_patients, s.n_new_patients, oct((d / "keys" / "cw.csv").stat().st_mode & 0o777)
    (2, 1, 1, '0o600')
    >>> (d / "keys" / "cw.csv").read_text().splitlines()[1][:6]
    "'=1+2,"
    """
    raw_path, out, key_file = Path(raw_path), Path(out), Path(key_file)
    name = str(raw_path)
    if key_file.resolve().parent == out.resolve().parent:
        _fail(
            "key_file_location",
            "the crosswalk (key file) must not be written in the same directory as the "
            "de-identified output: whoever receives the data must not receive the key",
            str(key_file),
        )
    inputs = {raw_path.resolve(): "the raw export"}
    if mapping is not None and not isinstance(mapping, Mapping):
        inputs[Path(mapping).resolve()] = "the mapping"
    for target, what in ((out, "output"), (key_file, "key file")):
        if target.resolve() in inputs:
            _fail(
                "output_location",
                f"the {what} would overwrite {inputs[target.resolve()]}; choose another path",
                str(target),
            )
    if out.resolve() == key_file.resolve():
        _fail("output_location", "the output and the key file must be different files", str(out))
    mapping_path = None if mapping is None or isinstance(mapping, Mapping) else mapping
    check_output_file(out, inputs=[raw_path, mapping_path, key_file], force=force, what="de-identified output")
    # the crosswalk is read and rewritten with every old row kept: updated in place (through a symlink, onto
    # its target), never replaced by a file that forgets a pseudonym
    check_output_file(key_file, inputs=[raw_path, mapping_path, out], what="key file", extends=True)
    m = read_mapping(mapping)  # before the data: a bad mapping is reported without reading the export
    table = read_records(raw_path, registry={})  # read only: encoding, blank rows, row numbers
    crosswalk = read_crosswalk(key_file)
    res = deidentify_frame(
        table.frame, crosswalk=crosswalk, mapping=m, source=name, rows=table.rows, crosswalk_source=str(key_file)
    )
    # The crosswalk first: if writing the output fails, no pseudonym in use is ever unrecorded.
    atomic_write_text(key_file, neutralise_cells(res.crosswalk).to_csv(index=False), mode=0o600)
    if out.suffix.lower() == ".parquet":
        with atomic_path(out) as tmp:
            res.visits.to_parquet(tmp, index=False)
    else:
        atomic_write_text(out, neutralise_cells(res.visits).to_csv(index=False))
    record_output(out)
    v = res.visits
    return DeidSummary(
        n_rows=len(v),
        n_patients=int(v["patient_id"].nunique()),
        n_new_patients=res.n_new_patients,
        n_episodes=int(v["episode_id"].nunique()),
        dropped_columns=res.dropped_columns,
        transformed=res.transformed,
        out=out,
        key_file=key_file,
    )
