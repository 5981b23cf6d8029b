"""The visit-records data contract: column names and controlled vocabularies.

This module holds the *vocabulary* of the contract (see ``docs/data-contract.md``);
:mod:`outcomes.ingest.rules` enforces it.  Canonical long form, one row per
measurement taken at a visit:

=================  ========  =====================================================
column             required  meaning
=================  ========  =====================================================
patient_id         yes       pseudonymous code (never a name or record number)
visit_day          yes       integer days since the episode's first visit (= 0)
measure            yes       a registered measure code (:mod:`outcomes.spec.measures`)
value              yes       number, within the measure's hard bounds
episode_id         no        default: one episode per patient
visit_number       no        1-based; derived from ``visit_day`` order if absent
side               no        ``left`` / ``right`` / ``none``
condition          no        one of :data:`CONDITIONS`; constant within an episode
treatment          no        ``+``-joined codes of :data:`TREATMENTS`
age_band           no        one of :data:`AGE_BANDS`; constant within an episode
sex                no        one of :data:`SEXES`; constant within an episode
twitch_response    no        bool, visit level (local twitch response elicited)
soreness_hours     no        post-needling soreness duration reported, hours
discharge_reason   no        one of :data:`DISCHARGE_REASONS`; constant within an episode
=================  ========  =====================================================

Examples
--------
>>> "tmd" in CONDITIONS
True
>>> parse_treatment("exercise+dry_needling")
('dry_needling', 'exercise')
"""

from __future__ import annotations

__all__ = [
    "AGE_BANDS",
    "ALL_COLUMNS",
    "ATTRIBUTE_COLUMNS",
    "CONDITIONS",
    "DISCHARGE_REASONS",
    "EPISODE_CONSTANT_COLUMNS",
    "FALSE_SPELLINGS",
    "KEY_COLUMNS",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "SEXES",
    "SIDES",
    "SORENESS_MAX_HOURS",
    "SORENESS_RESOLVED_HOURS",
    "TREATMENTS",
    "TRUE_SPELLINGS",
    "VISIT_LEVEL_COLUMNS",
    "parse_treatment",
]

#: Columns every file must have (canonical long form).
REQUIRED_COLUMNS: tuple[str, ...] = ("patient_id", "visit_day", "measure", "value")
#: Optional columns that describe the episode or the visit (neither a key nor the measurement), in
#: canonical order: each is only needed by some claims.
ATTRIBUTE_COLUMNS: tuple[str, ...] = (
    "condition",
    "treatment",
    "age_band",
    "sex",
    "twitch_response",
    "soreness_hours",
    "discharge_reason",
)
#: Columns a file may have; each has a default or is only needed by some claims.
OPTIONAL_COLUMNS: tuple[str, ...] = ("episode_id", "visit_number", "side", *ATTRIBUTE_COLUMNS)
#: Every column of the contract, required first, in canonical order.
ALL_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

#: Attributes of the episode: must not vary between its rows.
EPISODE_CONSTANT_COLUMNS: tuple[str, ...] = ("condition", "age_band", "sex", "discharge_reason")
#: Attributes of the visit: must not vary between the rows of one visit.
VISIT_LEVEL_COLUMNS: tuple[str, ...] = ("treatment", "twitch_response", "soreness_hours")
#: One measurement is identified by these (after defaults are filled in).
KEY_COLUMNS: tuple[str, ...] = ("episode_id", "visit_number", "measure", "side")

#: Condition codes: the clinic's list (seed text), one code each.
CONDITIONS: dict[str, str] = {
    "neck_pain": "Neck pain",
    "low_back_pain": "Low back pain",
    "shoulder_pain": "Shoulder pain",
    "lateral_epicondylalgia": "Tennis elbow (lateral epicondylalgia)",
    "medial_epicondylalgia": "Golfer's elbow (medial epicondylalgia)",
    "carpal_tunnel": "Carpal tunnel syndrome",
    "tension_type_headache": "Tension-type headache",
    "migraine": "Migraine",
    "tmd": "Jaw pain (temporomandibular disorder)",
    "sciatica": "Sciatica",
    "muscle_strain": "Muscle strain",
    "muscle_spasm": "Muscle tightness and spasm",
}

#: Why an episode of care ended (``discharge_reason``), as a clinic's discharge note records it: the
#: patients who stop before visit k are the ones whose outcome the verdict must assume
#: (:mod:`outcomes.stats.dropout`); the reasons say which assumption their records support.
DISCHARGE_REASONS: dict[str, str] = {
    "goals_met": "Goals met",
    "no_improvement": "No improvement",
    "moved_or_cost": "Moved, cost or other life reasons",
    "unknown": "Unknown",
}

#: Intervention codes that may be ``+``-joined in ``treatment``.
TREATMENTS: dict[str, str] = {
    "dry_needling": "Dry needling",
    "exercise": "Therapeutic exercise",
    "manual_therapy": "Manual therapy",
    "education": "Education / advice",
    "modalities": "Heat, ice, electrotherapy",
}

#: Ten-year bands; ages over 89 are aggregated as ``90+`` (HIPAA Safe Harbor).
AGE_BANDS: tuple[str, ...] = ("18-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80-89", "90+")
#: Codes of ``sex``.
SEXES: tuple[str, ...] = ("female", "male", "other", "unknown")
#: Codes of ``side`` (``none`` for a measure without a side).
SIDES: tuple[str, ...] = ("left", "right", "none")

#: How a true ``twitch_response`` may be written (case-insensitive); a value neither true nor false is refused.
TRUE_SPELLINGS: tuple[str, ...] = ("true", "yes", "1")
#: How a false ``twitch_response`` may be written (case-insensitive).
FALSE_SPELLINGS: tuple[str, ...] = ("false", "no", "0")

#: Soreness reports above this (two weeks) are data errors, not soreness: rule ``soreness_in_bounds``
#: refuses them, and the soreness claim's window (plan ``other_claims.soreness.hours``) is at most this.
SORENESS_MAX_HOURS: float = 336.0
#: Default window of the soreness claim (plan ``other_claims.soreness.hours``): the clinic says "the
#: soreness lasts a few hours up to two days" (its dry-needling FAQ, the seed text), so the claim tested
#: by default is that soreness has resolved within two days, 48 hours.
SORENESS_RESOLVED_HOURS: float = 48.0


def parse_treatment(text: str) -> tuple[str, ...]:
    """Split a ``+``-joined treatment string into sorted, de-duplicated codes.

    Unknown codes are returned as they are; :mod:`outcomes.ingest.rules` rejects them.

    Examples
    --------
    >>> parse_treatment("dry_needling + manual_therapy")
    ('dry_needling', 'manual_therapy')
    >>> parse_treatment("")
    ()
    """
    return tuple(sorted({p.strip() for p in str(text).split("+") if p.strip()}))
