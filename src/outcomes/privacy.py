"""PHI guard: refuse records that still carry patient identifiers.

HIPAA Safe Harbor (45 CFR 164.514(b)(2)) lists 18 kinds of identifiers that must
be removed before data count as de-identified.  :func:`scan_phi` looks for them
two ways:

* by **column name** (normalised: case, spaces, punctuation and camelCase do not
  matter): ``first_name``, ``E-mail``, ``PhoneNumber``, ``MRN``, ``dob``,
  ``visit_date``, ``zip``, ``street``, ``insurance_id`` ...;
* by **content**, with vectorised pandas ``str`` methods on the distinct
  non-empty values of each text column: e-mail addresses, US telephone / fax
  numbers written with separators, SSNs (``ddd-dd-dddd``), ZIP codes (a bare
  5-digit value only in a column that is not all plain numbers), calendar
  dates (ISO, ``m/d/yyyy``, ``d.m.yyyy``, ``12 Mar 2024``, ``March 12, 2024``;
  each candidate confirmed by :func:`pandas.to_datetime` with an explicit
  format), URLs, IPv4/IPv6 addresses, street addresses, ``MRN12345``-style record
  numbers, person names (``First Last`` / ``Last, First`` in a column where most
  values look like that) and exact ages over 89 in an age-like column.

Distinct values are computed on the whole column (cheap with Arrow strings); when
a column has more than :data:`MAX_VALUES` distinct values, a deterministic sample
is checked (the first values plus evenly spaced ones; no randomness).

Messages name the column, the kind of identifier and sample row numbers, never
the value.  Pseudonymous codes (``P0001``, hex hashes, UUIDs), measure codes,
numbers and the contract vocabulary pass.  Columns that are entirely empty are
not reported (they identify nobody).  An exact age column is only reported when
it holds an age over 89 (ages up to 89 are not Safe Harbor identifiers).

Examples
--------
>>> import pandas as pd
>>> ok = pd.DataFrame({"patient_id": ["P0001", "P0002"], "visit_day": [0, 7],
...                    "measure": ["pain_nprs"] * 2, "value": [6.0, 3.0]})
>>> scan_phi(ok, source="v.csv")
[]
>>> bad = ok.assign(contact=["testy@example.com", "jane@example.com"])
>>> [(p.rule, p.column, p.rows) for p in scan_phi(bad, source="v.csv")]
[('phi_email', 'contact', (2, 3))]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .contract import CONDITIONS, SEXES, SIDES, TREATMENTS
from .errors import OutcomesError, Problem

__all__ = ["scan_phi", "check_no_phi", "PhiError", "REMEDY", "MAX_VALUES"]

#: At most this many distinct values per column are checked by content.
MAX_VALUES = 10_000
#: How many sample row numbers a problem carries.
_ROWS_PER_PROBLEM = 3

#: Closing line of every PHI refusal.
REMEDY = ("Remove identifiers with `outcomes deidentify RAW --out FILE --key-file CROSSWALK` "
          "(see docs/privacy.md)")

_LABELS: dict[str, str] = {
    "name": "person names",
    "email": "e-mail addresses",
    "phone": "telephone or fax numbers",
    "ssn": "Social Security numbers",
    "mrn": "medical record numbers",
    "health_plan": "health plan / insurance numbers",
    "account": "account numbers",
    "licence": "certificate or licence numbers",
    "device": "device or vehicle identifiers",
    "biometric": "biometric identifiers or photographs",
    "address": "street addresses or places smaller than a state",
    "zip": "ZIP codes",
    "date": "calendar dates (only the year may stay; use visit_day offsets and age_band)",
    "age_over_89": "exact ages over 89 (Safe Harbor: aggregate as 90+)",
    "url": "web addresses (URLs)",
    "ip": "IP addresses",
}


# --------------------------------------------------------------------------- by name
@dataclass(frozen=True)
class _NameRule:
    kind: str
    tokens: frozenset[str]
    fragments: tuple[str, ...] = ()  # substrings of the compacted name


def _rule(kind: str, tokens: str, fragments: tuple[str, ...] = ()) -> _NameRule:
    return _NameRule(kind, frozenset(tokens.split()), fragments)


# Order matters: the first rule that matches names the kind ("ip_address" is an IP,
# "email_address" an e-mail, "license_plate" a vehicle identifier).
_NAME_RULES: tuple[_NameRule, ...] = (
    _rule("ip", "ip ipv4 ipv6 ipaddr", ("ipaddress",)),
    _rule("email", "email emails mail", ("email",)),
    _rule("url", "url urls uri website homepage webpage web", ()),
    _rule("phone", "phone phones telephone tel mobile cell cellphone fax pager", ("phone", "fax")),
    _rule("ssn", "ssn", ("socialsecurity",)),
    _rule("mrn", "mrn mrno nhs chart record records", ("medicalrecord",)),
    _rule("health_plan", "insurance insurer payer payor medicaid medicare subscriber beneficiary policy",
          ("healthplan", "memberid", "membernumber")),
    _rule("account", "account accounts acct claim", ()),
    _rule("device", "device serial imei vin vehicle plate udi", ("licenseplate", "licenceplate")),
    _rule("licence", "licence license licenses licences certificate passport", ()),
    _rule("biometric", "photo photograph picture fingerprint voiceprint biometric retina", ()),
    _rule("date", "dob dod dos birth birthdate birthday born date dates datetime timestamp", ()),
    _rule("zip", "zip zipcode zip3 zip5 zip4 postcode postal postalcode", ()),
    _rule("address", "address addr street city town county suburb neighborhood neighbourhood "
          "precinct apartment apt residence geocode latitude longitude lat lon lng gps", ()),
)
_NAME_TOKENS = frozenset("name names surname forename firstname lastname fullname givenname "
                         "familyname middlename maidenname nickname initials".split())
# A "name" column about one of these is not a person's name.
_NOT_PERSON = frozenset("measure condition treatment clinic site file study plan variable test drug "
                        "facility department program protocol outcome column field sheet dataset "
                        "project unit side".split())
_NOT_DATE_SUFFIX = frozenset({"update", "candidate", "validate", "mandate"})
_AGE_TOKENS = frozenset({"age", "ages", "ageyears", "agegroup", "ageband", "ageatvisit"})


def _name_tokens(column: object) -> list[str]:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(column)).lower()
    return [t for t in re.split(r"[^a-z0-9]+", text) if t]


def _kind_by_name(column: object) -> str | None:
    tokens = _name_tokens(column)
    compact = "".join(tokens)
    toks = set(tokens)
    for rule in _NAME_RULES:
        if toks & rule.tokens or any(f in compact for f in rule.fragments):
            return rule.kind
    if any(t.endswith("date") and len(t) > 4 and t not in _NOT_DATE_SUFFIX for t in tokens):
        return "date"  # visitdate, birthdate, admitdate ...
    if toks & _NAME_TOKENS and not toks & _NOT_PERSON:
        return "name"
    return None


def _is_age_like(column: object) -> bool:
    tokens = _name_tokens(column)
    return bool(set(tokens) & _AGE_TOKENS or "".join(tokens) in _AGE_TOKENS)


# ------------------------------------------------------------------------ by content
# Patterns are searched (anywhere in the value) unless noted; written for Python `re`.
_MONTH = r"(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-zA-Z]*\.?"
_SEARCH: tuple[tuple[str, str], ...] = (
    ("email", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    ("url", r"(?i:\b(?:https?|ftp)://\S+|\bwww\.[a-z0-9-]+\.[a-z]{2,})"),
    ("ssn", r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])"),
    ("phone", r"(?<![\d-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\d-])"),
    ("ip", r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
           r"(?![\d.])"),
    ("ip", r"(?i:(?<![0-9a-f:])(?:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}"
           r"|(?:[0-9a-f]{1,4}:){1,6}(?::[0-9a-f]{1,4}){1,6}|::1)(?![0-9a-f:]))"),
    ("mrn", r"(?i:\b(?:MRN|MR#|MR\s?No\.?)[\s:#-]*[A-Z0-9])"),
    ("address", r"(?i:\b\d{1,6}\s+(?:[a-z][a-z'.-]*\s+){1,4}(?:street|st|avenue|ave|road|rd|boulevard"
                r"|blvd|lane|ln|drive|dr|court|ct|place|pl|way|terrace|parkway|pkwy|highway|hwy"
                r"|circle|square)\b)"),
    ("address", r"(?i:\bP\.?\s?O\.?\s+Box\s+\d+)"),
    ("zip", r"(?<![\d-])\d{5}-\d{4}(?![\d-])"),
    ("zip", r"\b[A-Z]{2},?\s+\d{5}(?![\d-])"),  # "Springfield, IL 62704"
)
_ZIP_FULL = r"\d{5}(?:-\d{4})?"
_PLAIN_NUMBER = r"[-+]?\d+(?:\.\d*)?"
#: (pattern with one capture group, strptime formats that may confirm the capture)
_DATES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"(?<!\d)(\d{4}-\d{2}-\d{2})(?!\d)", ("%Y-%m-%d",)),
    (r"(?<![\d/])(\d{1,2}/\d{1,2}/\d{4})(?![\d/])", ("%m/%d/%Y", "%d/%m/%Y")),
    (r"(?<![\d/])(\d{1,2}/\d{1,2}/\d{2})(?![\d/])", ("%m/%d/%y",)),
    (r"(?<![\d.])(\d{1,2}\.\d{1,2}\.\d{4})(?![\d.])", ("%d.%m.%Y",)),
    (rf"(?<!\d)(\d{{1,2}}\s+{_MONTH},?\s+\d{{4}})(?!\d)", ("%d %b %Y",)),
    (rf"\b({_MONTH}\s+\d{{1,2}},?\s+\d{{4}})(?!\d)", ("%b %d %Y",)),
)
_ANY_PATTERN = "|".join(f"(?:{p})" for p in (*(p for _, p in _SEARCH), _ZIP_FULL,
                                              *(re.sub(r"\((?!\?)", "(?:", p) for p, _ in _DATES)))
#: Shapes that match none of the content patterns (checked first, for speed): UUIDs, hex
#: strings or digit runs of 6+, codes like P0001 / E-0001 (not MR...), lower-case codes
#: (measure, condition and treatment codes), numbers other than 5-digit ones.
_SAFE_SHAPE = (r"(?!(?i:mr))(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
               r"|[0-9a-fA-F]{6,}|[A-Za-z]{1,6}[-_]?\d{1,12}|[a-z][a-z0-9_+]*"
               r"|[-+]?(?:\d{1,4}|\d{6,})?(?:\.\d+)?)")
_GIVEN = r"[A-Z][a-z]+(?:-[A-Z][a-z]+)?"
_SURNAME = r"(?:Mc|Mac|O'|D'|De|Di|Van|Le|La)?[A-Z][a-z]+(?:-[A-Z][a-z]+)?"
_PERSON = (rf"{_GIVEN}(?:\s[A-Z]\.?)?\s{_SURNAME}|{_SURNAME},\s?{_GIVEN}(?:\s[A-Z]\.?)?"
           r"|[A-Z]{2,}(?:[-'][A-Z]+)?,\s?[A-Z]{2,}(?:\s[A-Z]\.?)?")
#: Share of checked values that must look like names before a column is called a name column.
_NAME_SHARE = 0.5
_NAME_MIN_DISTINCT = 3


def _vocabulary_words() -> frozenset[str]:
    from .measures import REGISTRY

    text = " ".join([*CONDITIONS, *CONDITIONS.values(), *TREATMENTS, *TREATMENTS.values(),
                     *SEXES, *SIDES, *(m.label for m in REGISTRY.values())])
    extra = ("pain back neck upper lower low high left right none yes no unknown not applicable missing "
             "test sample total mean median baseline follow up visit week day month year clinic "
             "session needling needle trigger point dry wet tennis golfer jaw cuff rotator frozen "
             "plantar achilles hamstring quadriceps calf ankle foot hand finger thumb tear injury "
             "fracture sprain strain syndrome disorder impingement whiplash disc thoracic lumbar "
             "cervical post surgery")
    return frozenset(re.findall(r"[a-z]+", (text + " " + extra).lower()))


_VOCAB_WORDS = _vocabulary_words()


def _checked_values(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Distinct values in order of first appearance, and their stripped non-empty text.

    Returns ``(distinct, text)``: ``text`` is indexed like ``distinct`` (a sample of it
    when there are more than :data:`MAX_VALUES`).
    """
    distinct = pd.Series(values.unique())  # hash-based, far cheaper than drop_duplicates
    return distinct, _checked_text(distinct)


def _checked_text(distinct: pd.Series) -> pd.Series:
    """Stripped non-empty text of the distinct values (RangeIndex) checked: all, or a sample."""
    uniq = distinct
    if len(uniq) > MAX_VALUES:  # deterministic sample: the first values and evenly spaced ones
        head = MAX_VALUES // 10
        spaced = np.linspace(head, len(uniq) - 1, MAX_VALUES - head).astype(np.int64)
        uniq = uniq.iloc[np.unique(np.concatenate([np.arange(head), spaced]))]
    text = uniq.astype("str").str.strip()
    return text[text.str.len() > 0]


def _date_hits(text: pd.Series) -> pd.Series:
    hit = pd.Series(False, index=text.index)
    for pattern, formats in _DATES:
        found = text.str.extract(pattern, expand=False).dropna()
        if found.empty:
            continue
        if "%b" in formats[0]:
            # "March 12, 2024" -> "Mar 12 2024" ("Sept" -> "Sep") so that %b can confirm it
            found = found.str.replace(r"[,.]", " ", regex=True).str.replace(r"\s+", " ", regex=True)
            found = found.str.replace(r"(?i)\b([a-z]{3})[a-z]*\b", r"\1", regex=True).str.strip()
        ok = pd.Series(False, index=found.index)
        for fmt in formats:
            ok = ok | pd.to_datetime(found, format=fmt, errors="coerce").notna()
        hit = hit | ok.reindex(text.index, fill_value=False)
    return hit


def _name_hits(text: pd.Series) -> pd.Series:
    looks = text.str.fullmatch(_PERSON)
    if looks.sum() < _NAME_MIN_DISTINCT or looks.mean() < _NAME_SHARE:
        return pd.Series(False, index=text.index)
    words = text[looks].str.lower().str.extractall(r"([a-z]+)")[0]
    clinical = words.isin(_VOCAB_WORDS) | words.str.contains(r"(?:itis|opathy|algia|osis|ectomy|plasty)$")
    vocab = clinical.groupby(level=0).any()
    looks = looks & ~vocab.reindex(text.index, fill_value=False)
    if looks.sum() < _NAME_MIN_DISTINCT or looks.mean() < _NAME_SHARE:
        return pd.Series(False, index=text.index)
    return looks


def _content_hits(text: pd.Series, column: object) -> dict[str, pd.Series]:
    """Boolean masks over ``text`` (distinct values), one per identifier kind found."""
    hits: dict[str, pd.Series] = {}

    def add(kind: str, mask: pd.Series) -> None:
        if mask.any():
            hits[kind] = hits[kind] | mask if kind in hits else mask

    # Cheap first: values shaped like codes, hashes or plain numbers cannot match any pattern.
    # Then one pass of the union of all patterns; the kinds are told apart on the few hits.
    candidates = text[~text.str.fullmatch(_SAFE_SHAPE)]
    candidates = candidates[candidates.str.contains(_ANY_PATTERN, regex=True)]
    if not candidates.empty:
        for kind, pattern in _SEARCH:
            add(kind, candidates.str.contains(pattern, regex=True).reindex(text.index, fill_value=False))
        if not text.str.fullmatch(_PLAIN_NUMBER).all():  # all plain numbers: ids or counts, not ZIPs
            add("zip", candidates.str.fullmatch(_ZIP_FULL).reindex(text.index, fill_value=False))
        add("date", _date_hits(candidates).reindex(text.index, fill_value=False))
    add("name", _name_hits(text))
    if _is_age_like(column):
        add("age_over_89", _ages_over_89(text))
    return hits


def _ages_over_89(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values):
        return pd.Series(values.to_numpy(dtype=float, na_value=np.nan) > 89, index=values.index)
    num = values.astype("str").str.extract(r"^\s*(\d{1,3}(?:\.\d+)?)\s*(?:y|yo|yr|yrs|years?)?\s*$",
                                           expand=False)
    return pd.to_numeric(num, errors="coerce").gt(89).fillna(False).astype(bool)


# ------------------------------------------------------------------------------ scan
def _file_rows(positions: np.ndarray, rows: np.ndarray | None) -> tuple[int, ...]:
    positions = positions[:_ROWS_PER_PROBLEM]
    if rows is None:
        return tuple(int(p) + 2 for p in positions)  # header = row 1
    return tuple(int(r) for r in np.asarray(rows)[positions])


def _positions_of(present: pd.Series, distinct: pd.Series, matched: pd.Index) -> np.ndarray:
    """Frame positions of the first rows holding any of the matched distinct values."""
    hit = present.isin(distinct.iloc[np.asarray(matched[:1000])]).to_numpy()
    return present.index.to_numpy()[np.flatnonzero(hit)[:_ROWS_PER_PROBLEM]]


class _Coded:
    """A text column as ``pd.factorize`` codes: what :func:`scan_phi` needs of ``present`` and
    ``distinct`` without copying the column or hashing it twice (written by hand for speed)."""

    def __init__(self, codes: np.ndarray, uniques):
        self.codes, self.distinct = codes, pd.Series(uniques).reset_index(drop=True)

    def positions(self, matched: pd.Index) -> np.ndarray:
        """Frame positions of the first rows holding any of the matched distinct values.

        Rows are searched in growing blocks, so a hit near the top costs no pass over the column.
        """
        wanted = np.asarray(matched[:1000])
        found: list[np.ndarray] = []
        start, size = 0, 1 << 16
        while start < len(self.codes) and sum(map(len, found)) < _ROWS_PER_PROBLEM:
            block = self.codes[start:start + size]
            found.append(np.flatnonzero(np.isin(block, wanted)) + start)
            start, size = start + size, size * 4
        return np.concatenate(found or [np.zeros(0, dtype=np.intp)])[:_ROWS_PER_PROBLEM]


def scan_phi(frame: pd.DataFrame, *, source: str, rows: np.ndarray | None = None,
             codes: dict | None = None) -> list[Problem]:
    """Find HIPAA Safe Harbor identifiers in a table, by column name and by content.

    Parameters
    ----------
    frame : DataFrame
        Records as read (any dtypes).
    source : str
        File name used in the problems.
    rows : array of int, optional
        Row number in the file of each frame row (header = row 1).  Default:
        position + 2 (a CSV with one header line).
    codes : dict, optional
        Text columns already factorized (column -> ``pd.factorize(frame[column])``, e.g.
        :attr:`outcomes.io.RawTable.codes`); other text columns are factorized here.

    Returns
    -------
    list of Problem
        One per (column, kind of identifier); rule ``phi_<kind>`` (``phi_name``,
        ``phi_email``, ``phi_phone``, ``phi_ssn``, ``phi_mrn``, ``phi_address``,
        ``phi_zip``, ``phi_date``, ``phi_age_over_89``, ``phi_url``, ``phi_ip``,
        ``phi_health_plan``, ``phi_account``, ``phi_licence``, ``phi_device``,
        ``phi_biometric``).  Messages never contain a value from the data.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"MRN": ["A1", "A2"], "note": ["call 555-010-1234", "ok"]})
    >>> for p in scan_phi(raw, source="raw.csv"):
    ...     print(p)
    raw.csv, row 2, column MRN: [phi_mrn] column name suggests medical record numbers
    raw.csv, row 2, column note: [phi_phone] 1 of 2 distinct values checked look like telephone or fax numbers
    """
    if rows is not None and len(rows) != len(frame):
        raise ValueError("rows must have one entry per frame row")
    problems: list[Problem] = []
    codes = codes or {}
    for i, column in enumerate(frame.columns):
        series = frame.iloc[:, i]
        if column in codes or isinstance(series.dtype, pd.StringDtype):  # text: factorize once, no copy
            coded = _Coded(*codes[column]) if column in codes else _Coded(*pd.factorize(series))
            text = _checked_text(coded.distinct)
            if not text.empty:
                problems += _text_problems(column, text, coded.positions, source, rows)
            continue
        present = series.reset_index(drop=True).dropna()
        if pd.api.types.is_bool_dtype(present):
            continue  # true/false identifies nobody
        numeric = (pd.api.types.is_numeric_dtype(present) or pd.api.types.is_datetime64_any_dtype(present)
                   or pd.api.types.is_timedelta64_dtype(present))
        if not numeric:
            distinct, text = _checked_values(present)
            if not text.empty:
                problems += _text_problems(column, text, lambda m: _positions_of(present, distinct, m), source, rows)
            continue
        if present.empty:
            continue
        first_row = _file_rows(present.index.to_numpy()[:1], rows)
        kind = _kind_by_name(column)
        if kind is not None:
            problems.append(Problem(f"phi_{kind}", f"column name suggests {_LABELS[kind]}", source,
                                    first_row, str(column)))
        elif pd.api.types.is_datetime64_any_dtype(present):
            problems.append(Problem("phi_date", f"column holds {_LABELS['date']}", source, first_row,
                                    str(column)))
        elif _is_age_like(column):
            # Numbers carry no text identifiers; only an exact age over 89 can be PHI.
            over = _ages_over_89(present).to_numpy()
            if over.any():
                problems.append(_content_problem("age_over_89", int(over.sum()), len(present), source,
                                                 _file_rows(present.index.to_numpy()[over], rows),
                                                 column, unit="values"))
    return problems


def _text_problems(column: object, text: pd.Series, positions: Callable[[pd.Index], np.ndarray], source: str,
                   rows: np.ndarray | None) -> list[Problem]:
    """Problems of a text column: a telling name, else identifiers in its checked distinct values.

    ``text`` holds the checked distinct values; ``positions`` maps some of them (by index) to
    the frame positions of the first rows holding them.
    """
    kind = _kind_by_name(column)
    if kind is not None:
        first_row = _file_rows(positions(text.index[:1])[:1], rows)
        return [Problem(f"phi_{kind}", f"column name suggests {_LABELS[kind]}", source, first_row, str(column))]
    return [_content_problem(kind, int(mask.sum()), len(text), source,
                             _file_rows(positions(text.index[mask.to_numpy()]), rows), column)
            for kind, mask in _content_hits(text, column).items()]


def _content_problem(kind: str, n_hit: int, n_checked: int, source: str, rows: tuple[int, ...],
                     column: object, unit: str = "distinct values checked") -> Problem:
    return Problem(f"phi_{kind}", f"{n_hit} of {n_checked} {unit} look like {_LABELS[kind]}", source,
                   rows, str(column))


class PhiError(OutcomesError):
    """An :class:`OutcomesError` about identifiers; its message ends with :data:`REMEDY`."""

    def render(self, limit: int = 20) -> str:  # noqa: D102 - see OutcomesError.render
        return super().render(limit) + "\n" + REMEDY


def check_no_phi(frame: pd.DataFrame, *, source: str, rows: np.ndarray | None = None,
                 codes: dict | None = None) -> None:
    """Raise if :func:`scan_phi` finds identifiers; otherwise return ``None`` (arguments as there).

    Raises
    ------
    PhiError
        An :class:`~outcomes.errors.OutcomesError` listing every column found, the
        kind of identifier and sample row numbers (never a value), ending with the
        ``outcomes deidentify`` command that removes them.

    Examples
    --------
    >>> import pandas as pd
    >>> check_no_phi(pd.DataFrame({"patient_id": ["P0001"], "visit_day": [0]}), source="ok.csv")
    >>> try:
    ...     check_no_phi(pd.DataFrame({"dob": ["1950-02-03"]}), source="raw.csv")
    ... except OutcomesError as err:
    ...     print(err)
    raw.csv appears to contain patient identifiers (HIPAA Safe Harbor); it was not loaded:
      - raw.csv, row 2, column dob: [phi_date] column name suggests calendar dates (only the year may stay; use visit_day offsets and age_band)
    Remove identifiers with `outcomes deidentify RAW --out FILE --key-file CROSSWALK` (see docs/privacy.md)
    """
    problems = scan_phi(frame, source=source, rows=rows, codes=codes)
    if problems:
        raise PhiError(problems, headline=f"{source} appears to contain patient identifiers "
                                          "(HIPAA Safe Harbor); it was not loaded:")
