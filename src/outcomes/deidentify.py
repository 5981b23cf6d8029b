"""Turn a raw EMR export (one row per visit, with identifiers) into the data contract.

What :func:`deidentify_export` does (see ``docs/privacy.md``):

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
* **Date of birth** becomes ``age_band`` (:data:`outcomes.contract.AGE_BANDS`, ``90+``
  for 90 and over) at the episode's first visit.  A patient under 18 at that visit
  is refused (rule ``age_under_18``): the contract covers adults only, and which
  records of minors may leave the clinic is the clinic's decision, not ours.
* **Measure columns** (registry codes) are melted to the long form by
  :func:`outcomes.io.read_records`; a ``side`` column applies to sided measures only.
* **Contract columns** (``condition``, ``treatment``, ``sex``, ``side``,
  ``twitch_response``, ``soreness_hours``, ``age_band``) are kept as they are;
  every other column (names, MRN, phone, ZIP, notes ...) is dropped and listed.
* The result is checked with :func:`outcomes.privacy.check_no_phi` before anything
  is written.  The input file is only read.

Column names are matched after normalisation (case, spaces and punctuation do not
matter).  A YAML mapping may rename columns; its keys and defaults are in
:data:`DEFAULT_MAPPING`.

Examples
--------
>>> import pandas as pd
>>> raw = pd.DataFrame({"Name": ["Testy McTestface"] * 2, "MRN": ["MRN-FAKE-0001"] * 2,
...                     "DOB": ["1961-05-02"] * 2, "Visit Date": ["2024-03-01", "2024-03-08"],
...                     "pain_nprs": ["7", "4"]})
>>> res = deidentify_frame(raw)
>>> res.visits[["visit_day", "measure", "value", "age_band"]].values.tolist()
[[0, 'pain_nprs', '7', '60-69'], [7, 'pain_nprs', '4', '60-69']]
>>> res.dropped_columns
('Name',)
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .atomic import atomic_path, atomic_write_text
from .contract import AGE_BANDS, ALL_COLUMNS, OPTIONAL_COLUMNS
from .errors import OutcomesError, Problem
from .io import read_records
from .measures import REGISTRY
from .privacy import check_no_phi

__all__ = ["DEFAULT_MAPPING", "DeidSummary", "DeidResult", "deidentify_frame", "deidentify_export",
           "read_mapping", "new_pseudonyms"]

#: Mapping keys and their defaults.  ``patient_key``: the column (or list of columns)
#: identifying a patient; ``visit_date`` (required) and ``birth_date`` (optional) are
#: date columns read with ``date_format`` (default ISO ``yyyy-mm-dd``); ``episode_key``
#: and ``episode_gap_days`` define episodes; ``rename`` maps raw column -> contract
#: column or measure code (e.g. ``{NPRS: pain_nprs, Gender: sex}``).
DEFAULT_MAPPING: Mapping[str, Any] = {
    "patient_key": "mrn",
    "visit_date": "visit_date",
    "birth_date": "dob",
    "episode_key": None,
    "episode_gap_days": None,
    "date_format": "%Y-%m-%d",
    "rename": {},
}

#: Contract columns copied from the export unchanged (the loader validates them).
_KEPT = tuple(c for c in OPTIONAL_COLUMNS if c not in ("episode_id", "visit_number"))
_CROSSWALK_ID = "patient_id"
_PSEUDONYM_HEX = 5  # bytes -> 10 hex digits; 16**10 ~ 1e12 codes
_ADULT_AGE = 18


@dataclass(frozen=True)
class DeidResult:
    """In-memory result of :func:`deidentify_frame`.

    Attributes
    ----------
    visits : DataFrame
        Long form of the data contract (strings, as a CSV would hold them, except
        ``visit_day``: int64).
    crosswalk : DataFrame
        Identifier column(s) and ``patient_id``, old entries first, new ones appended.
    n_new_patients : int
        Pseudonyms created in this run.
    dropped_columns : tuple of str
        Raw columns not carried over (identifiers and unknown columns).
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
        """A few lines for the command line (column names only, never values)."""
        lines = [f"wrote {self.n_rows} rows ({self.n_patients} patients, {self.n_episodes} episodes) "
                 f"to {self.out}",
                 f"crosswalk: {self.key_file} ({self.n_new_patients} new patients; keep it private, "
                 "never share it with the data)"]
        lines += [f"  {col}: {what}" for col, what in self.transformed.items()]
        if self.dropped_columns:
            lines.append("dropped: " + ", ".join(self.dropped_columns))
        return "\n".join(lines)


def _norm(name: object) -> str:
    """Column name for matching: lower case, non-alphanumerics as single underscores."""
    return re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")


def _fail(rule: str, message: str, source: str, rows: tuple[int, ...] = (), column: str | None = None):
    raise OutcomesError(Problem(rule, message, source, rows, column))


def read_mapping(mapping: str | os.PathLike[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    """The mapping from a YAML file or a dict, completed with :data:`DEFAULT_MAPPING`.

    Examples
    --------
    >>> m = read_mapping({"patient_key": ["clinic", "chart"], "rename": {"NPRS": "pain_nprs"}})
    >>> m["patient_key"], m["visit_date"], m["rename"]
    (['clinic', 'chart'], 'visit_date', {'NPRS': 'pain_nprs'})
    """
    source = "mapping"
    if mapping is None:
        given: Any = {}
    elif isinstance(mapping, Mapping):
        given = dict(mapping)
    else:
        import yaml

        source = str(mapping)
        try:
            given = yaml.safe_load(Path(mapping).read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            _fail("file_exists", "no such mapping file", source)
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            _fail("mapping_valid", f"is not valid YAML ({type(exc).__name__})", source)
    if not isinstance(given, Mapping):
        _fail("mapping_valid", "must be a mapping of keys to column names", source)
    unknown = sorted(set(given) - set(DEFAULT_MAPPING))
    if unknown:
        _fail("mapping_valid", f"unknown key(s) {unknown}; allowed: {sorted(DEFAULT_MAPPING)}", source)
    out = {**DEFAULT_MAPPING, **given}
    keys = out["patient_key"]
    if isinstance(keys, str):
        keys = [keys]
    if not keys or not all(isinstance(k, str) and k for k in keys):
        _fail("mapping_valid", "patient_key must be a column name or a list of column names", source,
              column="patient_key")
    out["patient_key"] = keys if isinstance(out["patient_key"], list) else keys[0]
    if not isinstance(out["rename"], Mapping):
        _fail("mapping_valid", "rename must map raw column names to contract columns", source, column="rename")
    gap = out["episode_gap_days"]
    if gap is not None and not (isinstance(gap, int) and gap > 0):
        _fail("mapping_valid", "episode_gap_days must be a positive whole number of days", source,
              column="episode_gap_days")
    out["rename"] = dict(out["rename"])
    return out


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


def _find(frame: pd.DataFrame, name: str | None) -> str | None:
    if name is None:
        return None
    by_norm = {_norm(c): c for c in frame.columns}
    return name if name in frame.columns else by_norm.get(_norm(name))


def _require(frame: pd.DataFrame, name: str, role: str, source: str) -> str:
    found = _find(frame, name)
    if found is None:
        _fail("mapping_column", f"no column {name!r} for {role}; name it in the mapping (--mapping YAML, "
              f"key {role})", source, (1,), name)
    return found


def _dates(frame: pd.DataFrame, col: str, fmt: str, rows: np.ndarray, source: str,
           required: bool) -> pd.Series:
    text = frame[col].astype("str").str.strip()
    blank = frame[col].isna().to_numpy() | (text == "").to_numpy()
    parsed = pd.to_datetime(text.where(~blank), format=fmt, errors="coerce")
    bad = parsed.isna().to_numpy() & ~blank
    if bad.any():
        _fail(f"{'visit' if required else 'birth'}_date_parsable",
              f"{int(bad.sum())} date(s) do not match the format {fmt!r} (set date_format in the mapping)",
              source, tuple(rows[bad]), col)
    if required and blank.any():
        _fail("visit_date_missing", f"{int(blank.sum())} visit row(s) have no date", source,
              tuple(rows[blank]), col)
    return parsed


def _keys(frame: pd.DataFrame, cols: list[str], rows: np.ndarray, source: str) -> pd.DataFrame:
    keys = frame[cols].astype("str").apply(lambda s: s.str.strip())
    blank = (frame[cols].isna() | keys.eq("")).any(axis=1).to_numpy()
    if blank.any():
        _fail("patient_key_missing", f"{int(blank.sum())} row(s) have no patient identifier", source,
              tuple(rows[blank]), ", ".join(cols))
    return keys


def _check_crosswalk(crosswalk: pd.DataFrame, key_cols: list[str], source: str) -> pd.DataFrame:
    want = [*key_cols, _CROSSWALK_ID]
    if list(crosswalk.columns) != want:
        _fail("crosswalk_valid", f"columns must be {want} (was the patient_key mapping changed?)", source, (1,))
    cw = crosswalk.astype("str").apply(lambda s: s.str.strip())
    for cols, what in ((key_cols, "identifier"), ([_CROSSWALK_ID], "pseudonym")):
        dup = cw.duplicated(cols, keep=False).to_numpy()
        if dup.any():
            _fail("crosswalk_valid", f"the same {what} appears more than once; restore the key file from "
                  "a backup", source, tuple(np.flatnonzero(dup) + 2), ", ".join(cols))
    return cw


def _age_bands(birth: pd.Series, first_visit: pd.Series, rows: np.ndarray, source: str,
               col: str) -> pd.Series:
    """Age in whole years at the episode's first visit, as an AGE_BANDS label."""
    had_birthday = (first_visit.dt.month > birth.dt.month) | (
        (first_visit.dt.month == birth.dt.month) & (first_visit.dt.day >= birth.dt.day))
    age = first_visit.dt.year - birth.dt.year - (~had_birthday).astype("int64")
    implausible = (age.lt(0) | age.gt(130)).fillna(False).to_numpy(dtype=bool)
    if implausible.any():
        _fail("birth_date_plausible", f"{int(implausible.sum())} row(s) give a birth date after the visit "
              "or an age over 130", source, tuple(rows[implausible]), col)
    minor = age.lt(_ADULT_AGE).fillna(False).to_numpy(dtype=bool)
    if minor.any():
        _fail("age_under_18", f"{int(minor.sum())} row(s) belong to patients under {_ADULT_AGE} at the "
              "episode's first visit; the data contract covers adults only: remove them from the export",
              source, tuple(rows[minor]), col)
    edges = [int(b.split("-")[0].rstrip("+")) for b in AGE_BANDS]  # 18, 30, ..., 90
    codes = np.searchsorted(np.asarray(edges), age.to_numpy(dtype=float, na_value=np.nan), side="right") - 1
    labels = np.asarray(AGE_BANDS, dtype=object)[np.clip(codes, 0, len(AGE_BANDS) - 1)]
    return pd.Series(labels, index=birth.index, dtype="str").where(age.notna())


def deidentify_frame(raw: pd.DataFrame, *, crosswalk: pd.DataFrame | None = None,
                     mapping: str | os.PathLike[str] | Mapping[str, Any] | None = None,
                     source: str = "<DataFrame>", rows: np.ndarray | None = None) -> DeidResult:
    """De-identify an EMR-like visit table in memory (see the module docstring).

    Parameters
    ----------
    raw : DataFrame
        One row per visit; identifier columns, a visit date, measure-code columns.
    crosswalk : DataFrame, optional
        Existing crosswalk (identifier column(s) + ``patient_id``) to reuse.
    mapping : dict or path to YAML, optional
        Column roles; see :data:`DEFAULT_MAPPING`.
    source : str
        Name used in error messages.
    rows : array of int, optional
        File row number of each raw row (default: position + 2).

    Returns
    -------
    DeidResult

    Raises
    ------
    OutcomesError
        Missing or unparseable identifier/date columns, minors, a broken crosswalk,
        no measure column, or identifiers left in the result.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"mrn": ["A", "B", "A"], "visit_date": ["2024-01-02", "2024-01-05", "2024-01-09"],
    ...                     "rom_shoulder_flexion": ["120", "90", "140"], "side": ["left", "right", "left"]})
    >>> res = deidentify_frame(raw)
    >>> res.n_new_patients, res.visits.groupby("patient_id")["visit_day"].max().sort_values().tolist()
    (2, [0, 7])
    """
    m = read_mapping(mapping)
    frame = raw.reset_index(drop=True).rename(columns=lambda c: str(c).strip())
    rows = np.arange(2, len(frame) + 2, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    rename = {_find(frame, k) or k: v for k, v in m["rename"].items()}
    frame = frame.rename(columns=rename)
    original = {new: old for old, new in rename.items() if old in raw.columns or old in frame.columns}
    key_names = m["patient_key"] if isinstance(m["patient_key"], list) else [m["patient_key"]]
    key_cols = [_require(frame, k, "patient_key", source) for k in key_names]
    date_col = _require(frame, m["visit_date"], "visit_date", source)
    birth_col = _find(frame, m["birth_date"])
    episode_col = _find(frame, m["episode_key"])
    if m["episode_key"] is not None and episode_col is None:
        _require(frame, m["episode_key"], "episode_key", source)

    by_norm = {_norm(c): c for c in frame.columns}
    measure_cols = {by_norm[c]: c for c in REGISTRY if c in by_norm}  # raw name -> code
    if not measure_cols:
        _fail("no_measures", "no measure column found (columns named by measure codes such as pain_nprs; "
              "use rename in the mapping)", source, (1,))
    kept = {by_norm[c]: c for c in _KEPT if c in by_norm and by_norm[c] not in key_cols}

    # --- patients: reuse or draw pseudonyms
    keys = _keys(frame, key_cols, rows, source)
    keys.columns = key_names
    old = (pd.DataFrame(columns=[*key_names, _CROSSWALK_ID], dtype="str") if crosswalk is None
           else _check_crosswalk(crosswalk, key_names, "crosswalk"))
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
    order = (start.groupby(work["patient"]).rank(method="dense").astype("int64").astype("str"))
    episode_id = work["patient"] + "-" + order
    wide = pd.DataFrame({"patient_id": work["patient"], "episode_id": episode_id,
                         "visit_day": (work["date"] - start).dt.days.astype("int64")})

    transformed = {c: "replaced by a random pseudonym (patient_id); kept only in the crosswalk"
                   for c in key_cols}
    transformed[date_col] = "converted to visit_day (days since the episode's first visit)"
    if episode_col is not None:
        transformed[episode_col] = "used to form episodes (episode_id = pseudonym-n)"
    if birth_col is not None and birth_col not in kept:
        birth = _dates(frame, birth_col, m["date_format"], rows, source, required=False)
        wide["age_band"] = _age_bands(birth, start, rows, source, birth_col)
        transformed[birth_col] = "converted to age_band at the episode's first visit (90+ aggregated)"
        kept.pop("age_band", None)  # computed from the birth date instead
    for raw_name, code in kept.items():
        wide[code] = frame[raw_name].astype("str").where(frame[raw_name].notna())
    for raw_name, code in measure_cols.items():
        wide[code] = frame[raw_name]
    for raw_name, code in {**kept, **measure_cols}.items():
        if original.get(raw_name, code) != code:
            transformed[raw_name] = f"renamed to {code}"
    used = {*key_cols, date_col, *measure_cols, *kept, *([birth_col] if birth_col else []),
            *([episode_col] if episode_col else [])}
    dropped = tuple(original.get(c, c) for c in frame.columns if c not in used)
    transformed = {original.get(c, c): what for c, what in transformed.items()}

    long = read_records(wide).frame  # the io module's wide -> long rules
    if "side" in long:
        unsided = ~long["measure"].map(lambda c: REGISTRY[c].sided).to_numpy(dtype=bool)
        long["side"] = long["side"].where(~unsided, "none")
    long = long[[c for c in ALL_COLUMNS if c in long.columns]]
    long = long.sort_values(["patient_id", "episode_id", "visit_day"], kind="stable").reset_index(drop=True)
    check_no_phi(long, source=f"de-identified {source}")
    return DeidResult(long, cw, len(new), dropped, transformed)


def _read_crosswalk(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    return pd.read_csv(path, dtype="str", keep_default_na=False)


def deidentify_export(raw_path: str | os.PathLike[str], *, out: str | os.PathLike[str],
                      key_file: str | os.PathLike[str],
                      mapping: str | os.PathLike[str] | Mapping[str, Any] | None = None) -> DeidSummary:
    """De-identify an EMR export file; write the contract file and update the crosswalk.

    Parameters
    ----------
    raw_path : path
        CSV (UTF-8) or Parquet export, one row per visit.  Only read.
    out : path
        De-identified long-form output (``.parquet`` suffix: Parquet, else CSV).
    key_file : path
        Crosswalk CSV (identifier -> pseudonym); created or extended, mode ``0o600``.
        Must not be in ``out``'s directory.
    mapping : dict or path to YAML, optional
        Column roles; see :data:`DEFAULT_MAPPING`.

    Returns
    -------
    DeidSummary

    Raises
    ------
    OutcomesError
        ``key_file_location`` / ``output_location`` for unsafe paths, and everything
        :func:`deidentify_frame` raises.  Nothing is written when it is raised.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "raw.csv").write_text("mrn,visit_date,pain_nprs\\nM1,2024-01-02,6\\nM1,2024-01-04,3\\n")
    >>> s = deidentify_export(d / "raw.csv", out=d / "share" / "visits.csv", key_file=d / "keys" / "cw.csv")
    >>> s.n_rows, s.n_patients, s.n_new_patients, oct((d / "keys" / "cw.csv").stat().st_mode & 0o777)
    (2, 1, 1, '0o600')
    """
    raw_path, out, key_file = Path(raw_path), Path(out), Path(key_file)
    name = str(raw_path)
    if key_file.resolve().parent == out.resolve().parent:
        _fail("key_file_location", "the crosswalk (key file) must not be written in the same directory as the "
              "de-identified output: whoever receives the data must not receive the key", str(key_file))
    for target, what in ((out, "output"), (key_file, "key file")):
        if target.resolve() == raw_path.resolve():
            _fail("output_location", f"the {what} would overwrite the raw export; choose another path",
                  str(target))
    if out.resolve() == key_file.resolve():
        _fail("output_location", "the output and the key file must be different files", str(out))
    table = read_records(raw_path, registry={})  # read only: encoding, blank rows, row numbers
    crosswalk = _read_crosswalk(key_file)
    res = deidentify_frame(table.frame, crosswalk=crosswalk, mapping=mapping, source=name, rows=table.rows)
    # The crosswalk first: if writing the output fails, no pseudonym in use is ever unrecorded.
    atomic_write_text(key_file, res.crosswalk.to_csv(index=False), mode=0o600)
    if out.suffix.lower() == ".parquet":
        with atomic_path(out) as tmp:
            res.visits.to_parquet(tmp, index=False)
    else:
        atomic_write_text(out, res.visits.to_csv(index=False))
    v = res.visits
    return DeidSummary(n_rows=len(v), n_patients=int(v["patient_id"].nunique()),
                       n_new_patients=res.n_new_patients, n_episodes=int(v["episode_id"].nunique()),
                       dropped_columns=res.dropped_columns, transformed=res.transformed, out=out,
                       key_file=key_file)
