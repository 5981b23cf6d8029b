"""PHI guard: refuse records that still carry patient identifiers.

HIPAA Safe Harbor (45 CFR 164.514(b)(2)) lists 18 kinds of identifiers that must
be removed before data count as de-identified.  :func:`scan_phi` looks for them
two ways, with the rules of ONE declared table, :data:`RULES` (one row per kind of
identifier: its column-name words in English, Spanish, Portuguese, French and
German, its content patterns, and examples; ``docs/privacy.md`` prints it):

* by **column name**, token-aware: the name is split into words on case changes,
  digits and punctuation (``PatientDOB`` -> ``patient dob``, ``D.O.B.`` -> ``dob``,
  ``prénom`` -> ``prenom``), and a rule matches a *word* (``dob``, ``nombre``,
  ``vorname``), a *known compound spelling* made of whole words (``date of birth``,
  ``firstname``, ``fecha nacimiento``), or a *weak* word that only counts when the
  name is that word plus generic qualifiers (``cell``, ``cell_no`` are telephone
  numbers, ``cell_count`` is not; ``lat`` is a latitude, ``lat_flexion_deg`` is not).
  Raw substrings never match, so ``record_id``, ``claim_group`` and
  ``soreness_hours`` pass;
* by **content**, with vectorised pandas ``str`` methods on the distinct non-empty
  values of each text column: e-mail addresses, telephone and fax numbers (US, with
  or without separators, international ``+44 20 7946 0958``), SSNs (``078-05-1120``,
  ``123 45 6789``), ZIP and postal codes, calendar dates in many spellings (ISO,
  ``14-07-1961``, ``14/07/61``, ``July 14 1961``, ``14 de julio de 1961``,
  ``14.VII.1961``, ``19610714`` in a column of such values; each confirmed as a real
  calendar date), URLs, IP addresses, street addresses, record numbers, person names
  (``Jane Doe``, ``Doe, Jane``, ``A. Jones``, ``Jones, A.`` in a column where most
  values look like that) and exact ages over 89 in an age column (``age``,
  ``years_old``, ``edad``, ``idade``, ``Alter``, ``âge``).

Some content patterns are only trusted in context: a bare 9-digit number is an SSN
only in a column named like one (``ss_no``, ``sin``); a bare 5-digit number is a ZIP
code only in a column that is not all plain numbers; a bare 8-digit ``yyyymmdd`` is a
date in a column whose name says date (``dt``) or where most values are such dates;
a bare 10-digit number is a telephone number in a text column, or in a column of
numbers not named as an id.

Distinct values are computed on the whole column (cheap with Arrow strings); when
a column has more than :data:`MAX_VALUES` distinct values, a deterministic sample
is checked (the first values plus evenly spaced ones; no randomness).  Values
shaped like codes, hashes or plain numbers (the private ``_SAFE_SHAPE``) are set aside
before any pattern runs, and one union of all patterns picks the few values the
per-kind patterns then tell apart: the cost grows with the distinct values of a
column, never with its rows.

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
>>> column_kind("D.O.B."), column_kind("pt_nm"), column_kind("fecha_nacimiento"), column_kind("record_id")
('date', 'name', 'date', None)
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from outcomes.errors import OutcomesError, Problem
from outcomes.ingest.coded import Factorized
from outcomes.spec.contract import CONDITIONS, SEXES, SIDES, TREATMENTS
from outcomes.spec.measures import REGISTRY

__all__ = [
    "MAX_VALUES",
    "REMEDY",
    "RULES",
    "ContentPattern",
    "PhiError",
    "PhiRule",
    "check_no_phi",
    "column_kind",
    "column_words",
    "scan_phi",
]

#: At most this many distinct values per column are checked by content.
MAX_VALUES = 10_000
#: How many sample row numbers a problem carries.
_ROWS_PER_PROBLEM = 3
#: Share of a column's checked values that must look alike for a "mostly" pattern (names, bare dates).
_MOSTLY = 0.5

#: Closing line of every PHI refusal.
REMEDY = "Remove identifiers with `outcomes deidentify RAW --out FILE --key-file CROSSWALK` (see docs/privacy.md)"


# ------------------------------------------------------------------------------ the table
@dataclass(frozen=True)
class ContentPattern:
    """One content pattern of a :class:`PhiRule`.

    Attributes
    ----------
    regex : str
        Python regular expression, searched in each distinct value (``full``: the whole
        value must match).  Named groups feed ``confirm``.
    where : {"any", "text", "mostly", "context"}
        Where a hit counts: anywhere; only in a column that is not all plain numbers; only
        when at least half of the column's checked values (and ``min_hits`` of them) hit;
        only in a column whose name has one of the rule's ``context`` words.  A column
        named with a context word counts every hit.
    confirm : {None, "date", "digits", "person", "age"}
        Second check of a hit: the groups ``y``/``m``/``d`` (or ``a``/``b``, either order,
        or ``mon``, a month word or Roman numeral) form a real calendar date; the group
        ``p`` holds 8-15 digits; a person-name shape holds no clinical word; a number
        above 89.
    full : bool
        Match the whole value instead of searching it.
    not_in : frozenset of str
        Column-name words that switch the pattern off (a bare 10-digit number in a
        column named ``..._id`` is an id, not a telephone number).
    min_hits : int
        With ``where="mostly"``: at least this many distinct values must hit.
    """

    regex: str
    where: str = "any"
    confirm: str | None = None
    full: bool = False
    not_in: frozenset[str] = frozenset()
    min_hits: int = 1


@dataclass(frozen=True)
class PhiRule:
    """One kind of identifier: how its columns are named and what its values look like.

    Column names are compared as words (see :func:`column_words`); plural ``-s`` /
    ``-es`` is ignored.

    Attributes
    ----------
    kind : str
        Problems carry the rule ``phi_<kind>``.
    label : str
        What the kind is, in messages.
    tokens : frozenset of str
        A column-name word that alone makes the column this kind (``dob``, ``nombre``).
    compounds : frozenset of str
        Known compound spellings, written joined: a run of whole words of the name
        (``date of birth`` -> ``dateofbirth``; stop words such as ``of``/``de`` may be left
        out) or one word spelt so (``firstname``).
    weak : frozenset of str
        Words that make the column this kind only when every other word of the name is a
        generic qualifier (``patient``, ``home``, ``no``, ``number`` ...) or one of
        ``qualifiers``: ``cell`` and ``cell_no`` are telephone numbers, ``cell_count`` is not.
    qualifiers : frozenset of str
        Rule-specific qualifiers for ``weak`` words (``visit_dt``, ``admit_dt``).
    suffixes : tuple of str
        A word ending so is this kind (``admitdate``, ``aufnahmedatum``) unless listed in
        ``not_suffixed`` (``update``, ``candidate``).
    not_suffixed : frozenset of str
        Words with one of ``suffixes`` that are not identifiers.
    unless : frozenset of str
        A name with one of these words is not this kind (``measure_name``, ``file_name``).
    context : frozenset of str
        Column-name words (or joined compounds) under which every content pattern of
        the rule counts, whatever its ``where`` (a bare 9-digit number in ``ss_no``).
    patterns : tuple of ContentPattern
        What values of this kind look like.
    examples : tuple of str
        Identifying column names (tested: each is refused with ``phi_<kind>``).
    value_examples : tuple of str
        Identifying values (tested: a column of each is refused with ``phi_<kind>``).
    harmless : tuple of str
        Column names close to this kind that must pass (tested).
    by_name : bool
        False for a kind that a column name alone never makes (``age_over_89``).
    """

    kind: str
    label: str
    tokens: frozenset[str] = frozenset()
    compounds: frozenset[str] = frozenset()
    weak: frozenset[str] = frozenset()
    qualifiers: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    not_suffixed: frozenset[str] = frozenset()
    unless: frozenset[str] = frozenset()
    context: frozenset[str] = frozenset()
    patterns: tuple[ContentPattern, ...] = ()
    examples: tuple[str, ...] = ()
    value_examples: tuple[str, ...] = ()
    harmless: tuple[str, ...] = ()
    by_name: bool = True


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _p(
    regex: str,
    where: str = "any",
    confirm: str | None = None,
    *,
    full: bool = False,
    not_in: str = "",
    min_hits: int = 1,
) -> ContentPattern:
    return ContentPattern(regex, where, confirm, full, _words(not_in), min_hits)


# Month words of English, Spanish, Portuguese, French and German, written as found in text
# (accents included); each maps to its month number after accents are removed.
_MONTH_WORDS: dict[int, str] = {
    1: "january jan enero ene janeiro janvier janv januar jänner janner",
    2: "february feb febrero fevereiro fev février fevrier févr fevr februar",
    3: "march mar marzo março marco mars märz marz maerz mrz",
    4: "april apr abril abr avril avr",
    5: "may mayo maio mai",
    6: "june jun junio junho juin juni",
    7: "july jul julio julho juillet juil juli",
    8: "august aug agosto ago août aout",
    9: "september sept sep septiembre setiembre setembro set septembre",
    10: "october oct octubre outubro out octobre oktober okt",
    11: "november nov noviembre novembro novembre",
    12: "december dec diciembre dic dezembro dez décembre decembre déc dezember",
}
_ROMAN_MONTHS = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii")


def _plain(text: str) -> str:
    """Lower case without accents (``Février`` -> ``fevrier``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


_MONTH_NUMBER: dict[str, int] = {
    **{_plain(w): m for m, words in _MONTH_WORDS.items() for w in words.split()},
    **{r: i + 1 for i, r in enumerate(_ROMAN_MONTHS)},
}
_MONTH = (
    "(?P<mon>(?i:"
    + "|".join(sorted({w for ws in _MONTH_WORDS.values() for w in ws.split()}, key=lambda w: (-len(w), w)))
    + r"))(?![^\W\d_])\.?"
)
_ROMAN = "(?P<mon>" + "|".join(sorted((r.upper() for r in _ROMAN_MONTHS), key=lambda r: -len(r))) + ")"
_YMD8 = r"(?P<y>(?:18|19|20|21)\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)"
_DMY8 = r"(?P<d>[0-3]\d)(?P<m>[01]\d)(?P<y>(?:18|19|20)\d{2})"
_ALNUM_EDGE = (r"(?<![0-9A-Za-z.])", r"(?![0-9A-Za-z.])")  # a whole token: not part of a code or hash
_PHONE_WORD = (
    r"(?i:\b(?:tel|t[ée]l[ée]fono|telefone|telefon|phone|ph|call|cell|mobile|mob|fax|m[óo]vil|celular|handy)\b\.?:?\s*)"
)
_UP, _LO = "A-ZÀ-ÖØ-Þ", "a-zß-öø-ÿ"
_GIVEN = rf"[{_UP}][{_LO}]+(?:-[{_UP}][{_LO}]+)?"
_PARTICLE = r"(?:(?:da|de|del|della|der|di|do|dos|du|la|le|van|von|y)\s)"
_SURNAME = rf"(?:Mc|Mac|O'|D'|De|Di|Van|Le|La)?[{_UP}][{_LO}]+(?:-[{_UP}][{_LO}]+)?"
_INITIALS = rf"(?:[{_UP}]\.\s?){{1,3}}"
_CAPS = rf"[{_UP}]{{2,}}(?:[-'][{_UP}]+)?"
_PERSON = "|".join(
    (
        rf"{_GIVEN}(?:\s{_GIVEN})?(?:\s[{_UP}]\.?)?\s{_PARTICLE}*{_SURNAME}(?:[\s-]{_SURNAME})?",  # Jane (Q.) Doe
        rf"{_INITIALS}\s?{_PARTICLE}*{_SURNAME}",  # A. Jones, J. R. Smith
        rf"{_SURNAME},\s?{_GIVEN}(?:\s[{_UP}]\.?)?",  # Doe, Jane
        rf"{_SURNAME},\s?(?:[{_UP}]\.?\s?){{1,3}}",  # Jones, A.
        rf"{_CAPS},\s?{_CAPS}(?:\s[{_UP}]\.?)?",  # DOE, JANE
        rf"{_CAPS},\s?(?:[{_UP}]\.?\s?){{1,3}}",  # JONES, A.
    )
)
_AGE_VALUE = r"\d{1,3}(?:\.\d+)?\s*(?i:y|yo|y\.o\.|yr|yrs|years?|años|anos|ans|jahre)?"
_ID_WORDS = "id ids key keys code codes uuid guid hash pseudonym token ref"

#: The rule table.  Name matching takes the first rule whose name words match (``ip_address`` is
#: an IP, ``email_address`` an e-mail, ``license_plate`` a vehicle identifier); content is
#: checked against every rule.
RULES: tuple[PhiRule, ...] = (
    PhiRule(
        "ip",
        "IP addresses",
        tokens=_words("ip ipv ipv4 ipv6 ipaddr"),
        compounds=_words("ipaddress ipaddr direccionip enderecoip adresseip"),
        patterns=(
            _p(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])"),
            _p(
                r"(?i:(?<![0-9a-f:])(?:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}"
                r"|(?:[0-9a-f]{1,4}:){1,6}(?::[0-9a-f]{1,4}){1,6}|::1)(?![0-9a-f:]))"
            ),
        ),
        examples=("ip_address", "IPv4", "client_ip"),
        value_examples=("192.0.2.44", "2001:db8:85a3::8a2e:370:7334"),
        harmless=("ipsilateral_side", "tip_width"),
    ),
    PhiRule(
        "email",
        "e-mail addresses",
        tokens=_words("email mail correo courriel"),
        compounds=_words("emailaddress correoelectronico adressemail"),
        patterns=(_p(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),),
        examples=("E-mail Address", "e_mail", "correo", "courriel"),
        value_examples=("testy@example.com",),
        harmless=("mailing_wave",),
    ),
    PhiRule(
        "url",
        "web addresses (URLs)",
        tokens=_words("url uri website homepage webpage webseite"),
        weak=_words("web link"),
        patterns=(_p(r"(?i:\b(?:https?|ftp)://\S+|\bwww\.[a-z0-9-]+\.[a-z]{2,})"),),
        examples=("Website URL", "homepage", "web"),
        value_examples=("https://example.com/p/17", "www.example.com"),
        harmless=("web_survey_score",),
    ),
    PhiRule(
        "phone",
        "telephone or fax numbers",
        tokens=_words(
            "phone telephone tel telefono telefone telefon telephon mobile mobil movil celular "
            "cellphone cellular fax pager tfno tlf handynummer"
        ),
        compounds=_words(
            "phonenumber cellphone mobilephone homephone workphone contactnumber contactno "
            "numerodetelephone numerotelephone"
        ),
        weak=_words("cell cel mob handy portable ph"),
        context=_words("contact cell cel mob handy portable ph"),
        patterns=(
            _p(r"(?<![\d-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?\d{3}[\s.-]?\d{4}|\d{3}[\s.-]\d{3}[\s.-]\d{4})(?![\d-])"),
            _p(r"(?<![\w+])\+(?P<p>[1-9][\d\s().-]{6,20}\d)(?!\d)", confirm="digits"),
            _p(r"(?<![\d.])0\d{2,4}[\s-]\d{3,4}[\s-]\d{3,4}(?![\d.])"),
            _p(_PHONE_WORD + r"\+?\(?\d[\d\s().-]{5,}\d"),
            _p(_ALNUM_EDGE[0] + r"(?:\+?1)?\d{10}" + _ALNUM_EDGE[1], "text"),
            _p(_ALNUM_EDGE[0] + r"(?:\+?1)?\d{10}" + _ALNUM_EDGE[1], "mostly", not_in=_ID_WORDS),
        ),
        examples=(
            "Phone_Number",
            "FAX",
            "mobile",
            "cell",
            "cell_no",
            "Teléfono",
            "telefone",
            "Handynummer",
            "home_cell",
            "celular",
        ),
        value_examples=(
            "555-012-3456",
            "(555) 012-3456",
            "(555)0134567",
            "555 013 4567",
            "5550134567",
            "+44 20 7946 0958",
            "+1 555.012.3456",
            "020 7946 0958",
            "call 555-0134",
            "tel: 5550134",
        ),
        harmless=("cell_count", "cellularity_score", "phase", "telemetry_minutes"),
    ),
    PhiRule(
        "ssn",
        "Social Security or national identity numbers",
        tokens=_words("ssn nss cpf nir dni curp svnr"),
        compounds=_words(
            "socialsecurity socsec nationalid nationalidentifier nationalinsurance taxid "
            "taxnumber numeroseguridadsocial segurosocial securitesociale numsecu numerosecu "
            "steuerid steuernummer sozialversicherung sozialversicherungsnummer"
        ),
        weak=_words("ss sin tin nino"),
        context=_words("ss sin tin nino social security tax national"),
        patterns=(
            _p(r"(?<![\d-])(?:\d{3}-\d{2}-\d{4}|\d{3}\s\d{2}\s\d{4}|\d{3}\.\d{2}\.\d{4})(?![\d-])"),
            _p(r"(?i:\b(?:ssn|s\.s\.n\.?|social security(?: number| no\.?)?)\W{0,3})\d{9}(?!\d)"),
            _p(_ALNUM_EDGE[0] + r"\d{9}" + _ALNUM_EDGE[1], "context"),
        ),
        examples=("SSN", "Social Security Number", "S.S.N.", "ss_no", "national_id", "numero_seguridad_social"),
        value_examples=("078-05-1120", "123 45 6789", "SSN: 123456789"),
        harmless=("session", "assessment_score"),
    ),
    PhiRule(
        "mrn",
        "medical record numbers",
        tokens=_words("mrn mrno nhs nhc prontuario fallnummer patientennummer"),
        compounds=_words(
            "medicalrecord medrec medrecno recordnumber recordno recordnum patientnumber "
            "patientno patno ptno ptnumber chartnumber chartno historiaclinica numerohistoria "
            "hospitalnumber hospno caseno casenumber numerodossier numdossier"
        ),
        weak=_words("chart"),
        qualifiers=_words("id"),
        patterns=(_p(r"(?i:\b(?:MRN|MR#|MR\s?No\.?|NHC|NHS\s?(?:No\.?|number))[\s:#-]*(?=[A-Z0-9-]*\d)[A-Z0-9])"),),
        examples=("MRN", "Medical Record #", "chart_no", "patient_number", "pt_no", "historia_clinica", "prontuario"),
        value_examples=("MRN12345", "MRN-FAKE-0001", "MR# 123"),
        harmless=("record_id", "records_complete", "chart_review_flag"),
    ),
    PhiRule(
        "health_plan",
        "health plan / insurance numbers",
        tokens=_words(
            "insurance insurer payer payor medicaid medicare subscriber beneficiary seguro convenio "
            "versicherung versicherungsnummer versichertennummer krankenkasse mutuelle aseguradora"
        ),
        compounds=_words("healthplan memberid membernumber memberno policynumber policyno policyid groupnumber"),
        weak=_words("policy"),
        examples=("insurance_id", "Health Plan Number", "member_id", "policy_no", "seguro", "Versicherungsnummer"),
        harmless=("plan_version", "suppression_rule"),
    ),
    PhiRule(
        "account",
        "account numbers",
        tokens=_words("account acct iban cuenta konto compte"),
        compounds=_words("claimnumber claimno claimnum claimnr billingnumber invoicenumber"),
        examples=("account_number", "acct", "claim_no", "IBAN", "numero_cuenta"),
        harmless=("claim_group", "claim_id", "accounted_for"),
    ),
    PhiRule(
        "device",
        "device or vehicle identifiers",
        tokens=_words("device serial imei vin vehicle udi kennzeichen"),
        compounds=_words("licenseplate licenceplate numberplate serialnumber serialno"),
        weak=_words("plate placa matricula"),
        examples=("device_serial", "license_plate", "VIN", "imei"),
        harmless=("plateau_day",),
    ),
    PhiRule(
        "licence",
        "certificate or licence numbers",
        tokens=_words(
            "licence license certificate passport pasaporte passaporte reisepass licencia licenca fuhrerschein"
        ),
        compounds=_words("driverslicense driverlicense dlnumber certno certificatenumber"),
        weak=_words("dl cert permis"),
        examples=("drivers_license", "passport_no", "Führerschein", "licencia"),
        harmless=("certainty",),
    ),
    PhiRule(
        "biometric",
        "biometric identifiers or photographs",
        tokens=_words("photo photograph picture fingerprint voiceprint biometric retina foto fotografia huella selfie"),
        compounds=_words("facephoto faceimage irisscan huelladactilar"),
        weak=_words("face iris"),
        examples=("photo", "fingerprint", "foto_paciente"),
        harmless=("photobiomodulation_sessions",),
    ),
    PhiRule(
        "date",
        "calendar dates (only the year may stay; use visit_day offsets and age_band)",
        tokens=_words(
            "dob dod birthdate birthday birth born date datetime timestamp fecha datum nacimiento "
            "naissance nascimento nascita geburt geburtstag cumpleanos aniversario anniversaire"
        ),
        compounds=_words(
            "dateofbirth datebirth fechanac fecnac fnac fechanacimiento datanasc dtnasc "
            "datanascimento datenaissance datedenaissance datenaiss gebdat gebdatum"
        ),
        weak=_words("dt dte dos doa dov ymd yyyymmdd ddmmyyyy mmddyyyy nac nasc naiss"),
        qualifiers=_words(
            "visit admit admission discharge service appt appointment referral surgery op injury "
            "onset exam eval evaluation start end stop death entry intake seen first last next"
        ),
        suffixes=("date", "datum"),
        not_suffixed=_words(
            "update updates candidate candidates validate invalidate mandate accommodate "
            "consolidate liquidate intimidate sedate"
        ),
        context=_words("dt dte dos doa dov ymd yyyymmdd ddmmyyyy mmddyyyy"),
        patterns=(
            _p(r"(?<!\d)(?P<y>\d{4})[-/.](?P<m>[01]?\d)[-/.](?P<d>[0-3]?\d)(?!\d)", confirm="date"),
            _p(r"(?<!\d)(?P<a>[0-3]?\d)[-/.](?P<b>[0-3]?\d)[-/.](?P<y>\d{4})(?!\d)", confirm="date"),
            _p(r"(?<![\d/])(?P<a>[0-3]?\d)/(?P<b>[0-3]?\d)/(?P<y>\d{2})(?![\d/])", confirm="date"),
            _p(
                r"(?<!\d)(?P<d>[0-3]?\d)(?i:st|nd|rd|th|er|º)?\.?[\s/-]*(?:de\s+)?"
                + _MONTH
                + r",?[\s/-]*(?:de\s+)?(?P<y>\d{4})(?!\d)",
                confirm="date",
            ),
            _p(
                r"(?<![^\W\d_])" + _MONTH + r"[\s/-]*(?P<d>[0-3]?\d)(?i:st|nd|rd|th)?,?[\s/-]+(?P<y>\d{4})(?!\d)",
                confirm="date",
            ),
            _p(
                r"(?<!\d)(?P<d>[0-3]?\d)-(?P<mon>(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))-(?P<y>\d{2})(?!\d)",
                confirm="date",
            ),
            _p(r"(?<!\d)(?P<d>[0-3]?\d)[./-]\s?" + _ROMAN + r"[./-]\s?(?P<y>\d{4})(?!\d)", confirm="date"),
            _p(
                r"(?i:\b(?:dob|d\.o\.b\.?|born|birth\w*|date|fecha|datum|geb\.?|nac\.?|nasc\.?)\W{0,3})"
                + _YMD8
                + r"(?!\d)",
                confirm="date",
            ),
            _p(_ALNUM_EDGE[0] + _YMD8 + _ALNUM_EDGE[1], "mostly", confirm="date"),
            _p(_ALNUM_EDGE[0] + _DMY8 + _ALNUM_EDGE[1], "mostly", confirm="date"),
        ),
        examples=(
            "DOB",
            "D.O.B.",
            "DoB",
            "Date of Birth",
            "date_of_birth",
            "BirthDate",
            "birth_dt",
            "visit_date",
            "VisitDate",
            "visit_dt",
            "geburtsdatum",
            "fecha_nacimiento",
            "data_nascimento",
            "date_de_naissance",
            "Geburtstag",
            "admitdate",
            "dos",
        ),
        value_examples=(
            "2024-03-12",
            "1961-07-14T09:30:00",
            "14-07-1961",
            "3/12/2024",
            "14/07/61",
            "12.03.2024",
            "12 Mar 2024",
            "July 14 1961",
            "March 12, 2024",
            "14 de julio de 1961",
            "14. Juli 1961",
            "14 juillet 1961",
            "14-JUL-61",
            "14.VII.1961",
            "DOB 19610714",
            "seen on 7/4/24",
        ),
        harmless=("visit_day", "update_count", "candidate_flag", "validated", "days_since_onset"),
    ),
    PhiRule(
        "zip",
        "ZIP or postal codes",
        tokens=_words("zip zipcode postcode postal postalcode plz postleitzahl"),
        compounds=_words("codigopostal codepostal"),
        weak=_words("cep cp"),
        context=_words("cep cp"),
        patterns=(
            _p(r"(?<![\d-])\d{5}-\d{4}(?![\d-])"),
            _p(r"\b[A-Z]{2},?\s+\d{5}(?![\d-])"),  # "Springfield, IL 62704"
            _p(r"^\d{5}(?:-\d{4})?$", "text"),
            _p(r"\b[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}\b"),  # UK "SW1A 1AA"
            _p(r"\b[A-Z]\d[A-Z]\s\d[A-Z]\d\b"),  # Canada "K1A 0B1"
        ),
        examples=("ZIP Code", "zip5", "postcode", "PLZ", "codigo_postal", "code_postal"),
        value_examples=("02139-4307", "Springfield, IL 62704", "SW1A 1AA"),
        harmless=("zipper_score",),
    ),
    PhiRule(
        "address",
        "street addresses or places smaller than a state",
        tokens=_words(
            "address addr street city town county suburb neighborhood neighbourhood precinct apartment "
            "residence geocode latitude longitude gps direccion domicilio calle ciudad endereco cidade "
            "adresse ville strasse stadt wohnort municipio localidad barrio bairro anschrift birthplace "
            "geburtsort"
        ),
        weak=_words("lat lon lng long apt rua rue ort coords coordinates"),
        patterns=(
            _p(
                r"(?i:\b\d{1,6}\s+(?:[a-z][a-z'.-]*\s+){1,4}(?:street|st|avenue|ave|road|rd|boulevard"
                r"|blvd|lane|ln|drive|dr|court|ct|place|pl|way|terrace|parkway|pkwy|highway|hwy"
                r"|circle|square)\b)"
            ),
            _p(r"(?i:\bP\.?\s?O\.?\s+Box\s+\d+)"),
            _p(
                r"(?i:\b(?:calle|avenida|rua|travessa|rue|chemin)\s+[^\W\d_][\w'.-]*(?:\s+[\w'.-]+){0,4}?,?\s+\d{1,5}\b)"
            ),
            _p(r"(?i:\b\d{1,5},?\s+(?:rue|avenue|boulevard|chemin|allée)\s+[^\W\d_])"),
            _p(r"(?i:\b[^\W\d_]+(?:straße|strasse|str\.|weg|gasse|platz|allee)\s+\d{1,4}[a-z]?\b)"),
        ),
        examples=(
            "Street Address",
            "city",
            "home_address",
            "lat",
            "lat_long",
            "direccion",
            "endereço",
            "Straße",
            "domicilio",
        ),
        value_examples=(
            "123 Main St",
            "42 Placeholder Avenue, Apt 4",
            "PO Box 1234",
            "Calle Mayor 12",
            "12 rue de la Paix",
            "Hauptstraße 5",
        ),
        harmless=("lat_flexion_deg", "long_term_followup", "longest_streak"),
    ),
    PhiRule(
        "name",
        "person names",
        tokens=_words(
            "name surname forename firstname lastname fullname givenname familyname middlename "
            "maidenname nickname initials fname lname mname nombre apellido nome sobrenome apelido nom "
            "prenom vorname nachname familienname rufname cognome"
        ),
        compounds=_words(
            "patientname ptname patname clientname nombrecompleto nomecompleto nomcomplet "
            "primernombre primerapellido segundoapellido nomdefamille nomfamille"
        ),
        weak=_words("nm inits"),
        unless=_words(
            "measure condition treatment clinic site file study plan variable test drug facility "
            "department program protocol outcome column field sheet dataset project unit side "
            "exercise muscle body region trial group team hospital archivo fichier datei clinica "
            "estudio product brand"
        ),
        context=_words("patient paciente patiente client cliente person persona pessoa individual"),
        patterns=(_p(_PERSON, "mostly", "person", full=True, min_hits=3),),
        examples=(
            "First Name",
            "lastName",
            "patient_name",
            "Surname",
            "pt_nm",
            "pat_name",
            "fname",
            "lname",
            "nombre",
            "apellido",
            "nome",
            "sobrenome",
            "nom",
            "prénom",
            "prenom",
            "vorname",
            "Nachname",
            "name",
        ),
        value_examples=(),  # a name column needs several names: see the tests
        harmless=("measure_name", "file_name", "clinic_name", "nominal_value", "renamed"),
    ),
    PhiRule(
        "age_over_89",
        "exact ages over 89 (Safe Harbor: aggregate as 90+)",
        context=_words("age edad idade alter yearsold yrsold ageyears ageyrs years yrs"),
        patterns=(_p(_AGE_VALUE, "context", "age", full=True),),
        examples=("age", "years_old", "age_years", "edad", "idade", "Alter", "âge", "patient_age"),
        harmless=("age_band", "stage", "dosage", "page_count"),
        by_name=False,
    ),
)

_BY_KIND: dict[str, PhiRule] = {r.kind: r for r in RULES}
#: Words that qualify a weak word without changing what it is (``home_cell``, ``pt_nm``, ``cell_no``).
_QUALIFIERS = _words(
    "patient pt pat client person subject member home work primary secondary main alt alternate "
    "other emergency mother father parent guardian spouse partner kin relative current prev "
    "previous no nr num number nbr nro numero"
)
#: Left out when compounds are matched (``date of birth`` = ``date birth``).
_STOP = _words("of the de da do du des del la le di of")
_CASE_SPLIT = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")


def column_words(column: object) -> tuple[str, ...]:
    """The words of a column name, as the name rules compare them.

    Accents are removed, camelCase, digits and punctuation split words, and a run of
    single letters is one word (``D.O.B.`` -> ``dob``).

    Examples
    --------
    >>> column_words("PatientDOB"), column_words("D.O.B."), column_words("prénom_2"), column_words("lat_flexion_deg")
    (('patient', 'dob'), ('dob',), ('prenom', '2'), ('lat', 'flexion', 'deg'))
    """
    text = unicodedata.normalize("NFKD", str(column))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    parts = [w for w in re.split(r"[^0-9a-z]+", _CASE_SPLIT.sub("_", text).casefold()) if w]
    words: list[str] = []
    letters: list[str] = []
    for w in [*parts, ""]:  # "" flushes the last run
        if len(w) == 1 and w.isalpha():
            letters.append(w)
            continue
        if letters:
            words.append("".join(letters))
            letters = []
        if w:
            words.append(w)
    return tuple(words)


def _forms(word: str) -> set[str]:
    """A word and its singular (``names`` -> ``name``, ``addresses`` -> ``address``)."""
    out = {word}
    if len(word) > 3 and word.endswith("s"):
        out.add(word[:-1])
        if len(word) > 4 and word.endswith("es"):
            out.add(word[:-2])
    return out


def _runs(words: tuple[str, ...], longest: int = 4) -> set[str]:
    """Joined runs of consecutive words, with and without stop words, and the whole name joined."""
    out = {"".join(words)}
    for seq in (words, tuple(w for w in words if w not in _STOP)):
        for i in range(len(seq)):
            for j in range(i + 1, min(len(seq), i + longest) + 1):
                out |= _forms("".join(seq[i:j]))
    return out


def _has(words: tuple[str, ...], runs: set[str], vocabulary: frozenset[str]) -> bool:
    return bool(vocabulary) and (bool(runs & vocabulary) or any(_forms(w) & vocabulary for w in words))


def _name_matches(rule: PhiRule, words: tuple[str, ...], runs: set[str]) -> bool:
    if not rule.by_name or any(_forms(w) & rule.unless for w in words):
        return False
    if any(_forms(w) & rule.tokens for w in words) or runs & (rule.tokens | rule.compounds):
        return True
    if any(w.endswith(s) and len(w) > len(s) + 1 and w not in rule.not_suffixed for w in words for s in rule.suffixes):
        return True
    ignored = _QUALIFIERS | rule.qualifiers | _STOP
    rest = [w for w in words if not w.isdigit() and not _forms(w) & ignored]
    return bool(rest) and all(_forms(w) & rule.weak for w in rest)


@functools.lru_cache(maxsize=4096)
def _column_facts(column: str) -> tuple[str | None, frozenset[str]]:
    """(kind by name, kinds whose content ``context`` the name is in), computed once per name."""
    words = column_words(column)
    runs = _runs(words)
    kind = next((r.kind for r in RULES if _name_matches(r, words, runs)), None)
    context = frozenset(r.kind for r in RULES if _has(words, runs, r.context))
    return kind, context


def column_kind(column: object) -> str | None:
    """The kind of identifier a column name suggests (a ``kind`` of :data:`RULES`), or None.

    Examples
    --------
    >>> [column_kind(c) for c in ("cell", "cell_no", "cell_count", "Nachname", "measure_name", "age")]
    ['phone', 'phone', None, 'name', None, None]
    """
    return _column_facts(str(column))[0]


# ------------------------------------------------------------------------------ content
def _uncaptured(regex: str) -> str:
    return re.sub(r"\(\?P<\w+>", "(?:", regex)


_SEARCHED: tuple[tuple[PhiRule, ContentPattern], ...] = tuple(
    (r, p) for r in RULES for p in r.patterns if p.confirm not in ("person", "age")
)
_ANY_PATTERN = "|".join(f"(?:{_uncaptured(p.regex)})" for _, p in _SEARCHED)
#: Shapes that match none of the searched patterns (checked first, for speed): UUIDs, hex strings
#: or digit runs of 6-7 or 14+ digits, codes like P0001 / E-0001 (not MR...), lower-case codes
#: (measure, condition and treatment codes), numbers other than 5-digit and 8-13-digit ones.
_SAFE_SHAPE = (
    r"(?!(?i:mr))(?!\+?\d{8,13}$)(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}"
    r"-[0-9a-fA-F]{12}|[0-9a-fA-F]{6,}|[A-Za-z]{1,6}[-_]?\d{1,12}|[a-z][a-z0-9_+]*"
    r"|[-+]?(?:\d{1,4}|\d{6,})?(?:\.\d+)?)"
)
_PLAIN_NUMBER = r"[-+]?\d+(?:\.\d*)?"
#: Every searched pattern needs an ASCII digit, ``@``, ``:`` or ``www.``; text without one (and without
#: any non-ASCII character, which may be a digit of another script) skips the union. Written without
#: lookarounds or ``\d`` so that pandas runs it on Arrow's RE2 engine, far faster than Python's ``re``.
_MAY_MATCH = r"[0-9@:]|www\.|[^\x00-\x7f]"
#: Passed as ``flags`` with the patterns that need Python's ``re`` (lookarounds): a no-op for text
#: patterns, it sends pandas straight to ``re`` instead of re-parsing the pattern on every call to
#: find out (half the time of a scan of a small table).
_PYTHON_RE = re.UNICODE


def _vocabulary_words() -> frozenset[str]:
    text = " ".join(
        [
            *CONDITIONS,
            *CONDITIONS.values(),
            *TREATMENTS,
            *TREATMENTS.values(),
            *SEXES,
            *SIDES,
            *(m.label for m in REGISTRY.values()),
        ]
    )
    extra = (
        "pain back neck upper lower low high left right none yes no unknown not applicable missing "
        "test sample total mean median baseline follow up visit week day month year clinic "
        "session needling needle trigger point dry wet tennis golfer jaw cuff rotator frozen "
        "plantar achilles hamstring quadriceps calf ankle foot hand finger thumb tear injury "
        "fracture sprain strain syndrome disorder impingement whiplash disc thoracic lumbar "
        "cervical post surgery knee hip elbow wrist shoulder spine trap trapezius muscle tendon "
        "ligament joint nerve chronic acute bilateral anterior posterior lateral medial dolor "
        "hombro rodilla cuello espalda douleur genou epaule schmerz knie schulter nacken ombro joelho"
    )
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


def _month_numbers(words: pd.Series) -> pd.Series:
    plain = words.str.normalize("NFKD").str.replace(r"[\u0300-\u036f]", "", regex=True).str.casefold()
    return plain.map(_MONTH_NUMBER).astype("Int64").astype("str")


def _calendar(found: pd.DataFrame) -> pd.Series:
    """True where the captured groups form a real calendar date of 1800-2199 (either order for ``a``/``b``)."""
    year = found["y"].where(found["y"].str.len() == 4, "20" + found["y"])

    def valid(month: pd.Series, day: pd.Series) -> pd.Series:
        iso = year + "-" + month.str.zfill(2) + "-" + day.str.zfill(2)
        when = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce")
        return (when.notna() & when.dt.year.between(1800, 2199)).astype(bool)

    if "a" in found:
        return valid(found["b"], found["a"]) | valid(found["a"], found["b"])
    month = _month_numbers(found["mon"]) if "mon" in found else found["m"]
    return valid(month, found["d"])


def _person_hits(text: pd.Series, pattern: str) -> pd.Series:
    looks = text.str.fullmatch(pattern, flags=_PYTHON_RE).astype(bool)
    if not looks.any():
        return looks
    words = text[looks].str.lower().str.extractall(r"([^\W\d_]+)")[0]
    clinical = words.isin(_VOCAB_WORDS) | words.str.contains(r"(?:itis|opathy|algia|osis|ectomy|plasty)$")
    return looks & ~clinical.groupby(level=0).any().reindex(text.index, fill_value=False)


def _ages_over_89(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values):
        return pd.Series(values.to_numpy(dtype=float, na_value=np.nan) > 89, index=values.index)
    num = values.astype("str").str.extract(r"^\s*(\d{1,3}(?:\.\d+)?)", expand=False)
    return pd.to_numeric(num, errors="coerce").gt(89).fillna(False).astype(bool)


def _pattern_hits(pattern: ContentPattern, pool: pd.Series) -> pd.Series:
    """Boolean mask over ``pool`` of the values the pattern finds (and confirms)."""
    if pool.empty:
        return pd.Series(False, index=pool.index)
    if pattern.confirm == "person":
        return _person_hits(pool, pattern.regex)
    if pattern.full:
        looks = pool.str.fullmatch(pattern.regex, flags=_PYTHON_RE).astype(bool)
        return looks & _ages_over_89(pool) if pattern.confirm == "age" else looks
    if pattern.confirm is None:
        return pool.str.contains(pattern.regex, regex=True, flags=_PYTHON_RE).astype(bool)
    found = pool.str.extract(pattern.regex).dropna(how="all")
    if found.empty:
        return pd.Series(False, index=pool.index)
    ok = (
        _calendar(found)
        if pattern.confirm == "date"
        else found["p"].str.count(r"\d", flags=_PYTHON_RE).between(8, 15).astype(bool)
    )
    return ok.reindex(pool.index, fill_value=False)


def _content_hits(text: pd.Series, column: object) -> dict[str, pd.Series]:
    """Boolean masks over ``text`` (distinct values), one per identifier kind found."""
    hits: dict[str, pd.Series] = {}
    context = _column_facts(str(column))[1]
    words = set(column_words(column))
    # Cheap first: values shaped like codes, hashes or plain numbers cannot match a searched pattern.
    # Then one pass of the union of all searched patterns; the kinds are told apart on the few hits.
    loose = text[~text.str.fullmatch(_SAFE_SHAPE, flags=_PYTHON_RE).astype(bool)]
    candidates = loose[loose.str.contains(_MAY_MATCH, regex=True).astype(bool)] if len(loose) else loose
    if len(candidates):
        candidates = candidates[candidates.str.contains(_ANY_PATTERN, regex=True, flags=_PYTHON_RE).astype(bool)]
    all_numbers: list[bool] = []  # computed once, when first needed

    def numbers_only() -> bool:
        if not all_numbers:
            all_numbers.append(bool(text.str.fullmatch(_PLAIN_NUMBER).all()))
        return all_numbers[0]

    for rule in RULES:
        in_context = rule.kind in context
        for pattern in rule.patterns:
            if pattern.where == "context" and not in_context:
                continue
            if pattern.not_in and not in_context and any(_forms(w) & pattern.not_in for w in words):
                continue
            pool = {"age": text, "person": loose}.get(pattern.confirm or "", candidates)
            mask = _pattern_hits(pattern, pool)
            n_hit = int(mask.sum())
            if not n_hit:
                continue
            if not in_context and pattern.where == "text" and numbers_only():
                continue
            if (
                not in_context
                and pattern.where == "mostly"
                and (n_hit < pattern.min_hits or n_hit < _MOSTLY * len(text))
            ):
                continue
            mask = mask.reindex(text.index, fill_value=False)
            hits[rule.kind] = hits[rule.kind] | mask if rule.kind in hits else mask
    return hits


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

    def __init__(
        self, codes: npt.NDArray[np.signedinteger[Any]], uniques: pd.Series | pd.Index | npt.NDArray[Any]
    ) -> None:
        self.codes, self.distinct = codes, pd.Series(uniques).reset_index(drop=True)

    def positions(self, matched: pd.Index) -> np.ndarray:
        """Frame positions of the first rows holding any of the matched distinct values.

        Rows are searched in growing blocks, so a hit near the top costs no pass over the column.
        """
        wanted = np.asarray(matched[:1000])
        found: list[np.ndarray] = []
        start, size = 0, 1 << 16
        while start < len(self.codes) and sum(map(len, found)) < _ROWS_PER_PROBLEM:
            block = self.codes[start : start + size]
            found.append(np.flatnonzero(np.isin(block, wanted)) + start)
            start, size = start + size, size * 4
        return np.concatenate(found or [np.zeros(0, dtype=np.intp)])[:_ROWS_PER_PROBLEM]


#: Integers from this size up may be dates (``19610714``), SSNs or telephone numbers written bare.
_LONG_INTEGER = 10_000_000


def scan_phi(
    frame: pd.DataFrame,
    *,
    source: str,
    rows: np.ndarray | None = None,
    codes: Mapping[str, Factorized] | None = None,
) -> list[Problem]:
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
        :attr:`outcomes.ingest.records.RawTable.codes`); other text columns are factorized here.

    Returns
    -------
    list of Problem
        One per (column, kind of identifier); rule ``phi_<kind>`` for a ``kind`` of
        :data:`RULES` (``phi_name``, ``phi_email``, ``phi_phone``, ``phi_ssn``, ``phi_mrn``,
        ``phi_address``, ``phi_zip``, ``phi_date``, ``phi_age_over_89``, ``phi_url``,
        ``phi_ip``, ``phi_health_plan``, ``phi_account``, ``phi_licence``, ``phi_device``,
        ``phi_biometric``).  Messages never contain a value from the data.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"MRN": ["A1", "A2"], "note": ["call 555-010-1234", "ok"]})
    >>> for p in scan_phi(raw, source="raw.csv"):
    ...     print(p)
    raw.csv, row 2, column MRN: [phi_mrn] column name suggests medical record numbers
    raw.csv, row 2, column note: [phi_phone] 1 of 2 distinct values checked look like telephone or fax numbers
    >>> [p.rule for p in scan_phi(pd.DataFrame({"extra": ["14-07-1961", "19610714"]}), source="x.csv")]
    ['phi_date']
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
        numeric = (
            pd.api.types.is_numeric_dtype(present)
            or pd.api.types.is_datetime64_any_dtype(present)
            or pd.api.types.is_timedelta64_dtype(present)
        )
        long_integers = (
            pd.api.types.is_integer_dtype(present) and not present.empty and abs(present).max() >= _LONG_INTEGER
        )
        if not numeric or long_integers:
            distinct, text = _checked_values(present)
            if not text.empty:
                problems += _text_problems(
                    column, text, functools.partial(_positions_of, present, distinct), source, rows
                )
            continue
        if present.empty:
            continue
        first_row = _file_rows(present.index.to_numpy()[:1], rows)
        kind = column_kind(column)
        if kind is not None:
            problems.append(_name_problem(kind, source, first_row, column))
        elif pd.api.types.is_datetime64_any_dtype(present):
            problems.append(
                Problem("phi_date", f"column holds {_BY_KIND['date'].label}", source, first_row, str(column))
            )
        elif "age_over_89" in _column_facts(str(column))[1]:
            # Numbers carry no text identifiers; only an exact age over 89 can be PHI.
            over = _ages_over_89(present).to_numpy()
            if over.any():
                problems.append(
                    _content_problem(
                        "age_over_89",
                        int(over.sum()),
                        len(present),
                        source,
                        _file_rows(present.index.to_numpy()[over], rows),
                        column,
                        unit="values",
                    )
                )
    return problems


def _text_problems(
    column: object, text: pd.Series, positions: Callable[[pd.Index], np.ndarray], source: str, rows: np.ndarray | None
) -> list[Problem]:
    """Problems of a text column: a telling name, else identifiers in its checked distinct values.

    ``text`` holds the checked distinct values; ``positions`` maps some of them (by index) to
    the frame positions of the first rows holding them.
    """
    kind = column_kind(column)
    if kind is not None:
        return [_name_problem(kind, source, _file_rows(positions(text.index[:1])[:1], rows), column)]
    return [
        _content_problem(
            kind, int(mask.sum()), len(text), source, _file_rows(positions(text.index[mask.to_numpy()]), rows), column
        )
        for kind, mask in _content_hits(text, column).items()
    ]


def _name_problem(kind: str, source: str, rows: tuple[int, ...], column: object) -> Problem:
    return Problem(f"phi_{kind}", f"column name suggests {_BY_KIND[kind].label}", source, rows, str(column))


def _content_problem(
    kind: str,
    n_hit: int,
    n_checked: int,
    source: str,
    rows: tuple[int, ...],
    column: object,
    unit: str = "distinct values checked",
) -> Problem:
    return Problem(
        f"phi_{kind}", f"{n_hit} of {n_checked} {unit} look like {_BY_KIND[kind].label}", source, rows, str(column)
    )


class PhiError(OutcomesError):
    """An :class:`OutcomesError` about identifiers; its message ends with :data:`REMEDY`."""

    def render(self, limit: int = 20) -> str:
        return super().render(limit) + "\n" + REMEDY


def check_no_phi(
    frame: pd.DataFrame,
    *,
    source: str,
    rows: np.ndarray | None = None,
    codes: Mapping[str, Factorized] | None = None,
) -> None:
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
    >>> try:  # doctest: +NORMALIZE_WHITESPACE
    ...     check_no_phi(pd.DataFrame({"dob": ["1950-02-03"]}), source="raw.csv")
    ... except OutcomesError as err:
    ...     print(err)
    raw.csv appears to contain patient identifiers (HIPAA Safe Harbor); it was not loaded:
      - raw.csv, row 2, column dob: [phi_date] column name suggests calendar dates (only the year may stay; use
          visit_day offsets and age_band)
    Remove identifiers with `outcomes deidentify RAW --out FILE --key-file CROSSWALK` (see docs/privacy.md)
    """
    problems = scan_phi(frame, source=source, rows=rows, codes=codes)
    if problems:
        raise PhiError(
            problems,
            headline=f"{source} appears to contain patient identifiers (HIPAA Safe Harbor); it was not loaded:",
        )
