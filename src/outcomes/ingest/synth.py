"""Synthetic visit records with a known ground truth.

The generator draws de-identified episodes of dry-needling care (no real
patients) so that every estimator in ``outcomes`` can be checked against a
number that is known exactly.  The model, per episode *i* and visit *j*
(``j = 0`` is the baseline visit, ``visit_number = j + 1``):

* condition from :attr:`SynthParams.conditions`; the measures recorded follow
  the condition (see :data:`CONDITION_MEASURES`), always with ``pain_nprs``;
* latent baseline pain ``b_i`` (normal, condition-shifted, clipped to 1-10);
  each ROM / strength measure starts at a person's normal value minus a deficit
  that grows with baseline pain;
* a latent responder flag (``responder_share``); a responder recovers the
  fraction ``f_i = effect * (1 + twitch_effect * twitch_i) * (1 + combined_effect
  * combined_i)`` (clipped to 1) of every deficit (grip: ``f_i * strength_effect``),
  a non-responder recovers nothing, so ``effect = 0`` is the global null;
* recovery follows ``1 - exp(-rate_i * j ** (1 / early_late_ratio))`` with a
  lognormal per-episode ``rate_i`` (median ``rate``);
* measured value = latent + normal noise, rounded as a clinic records it (pain
  integer, degrees and mm whole, grip 0.1 kg) and clipped to the registry's hard
  bounds;
* visits: 1-3 per week, ``min_visits`` to ``max_visits`` planned, a per-visit
  dropout hazard (raised by ``dropout_informative`` once pain has improved by the
  registered rule), and occasional missing measurements.

Ground truth: :func:`true_share_improved` (what a Kaplan-Meier estimate of "share
improved by visit k" targets under non-informative censoring),
:func:`true_soreness_share`, and the per-episode latent table
:attr:`SimulatedData.episodes`.

Examples
--------
>>> sim = simulate_visits(SynthParams(n_episodes=20), seed=1)
>>> sim.visits["episode_id"].nunique(), sorted(sim.visits["side"].unique())[-1]
(20, 'right')
>>> bool(sim.visits["value"].notna().all())
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import expit, logit
from scipy.stats import norm

from outcomes.errors import OutcomesError, Problem
from outcomes.safety.limits import current_limits, limit_problem
from outcomes.safety.outputs import atomic_path, atomic_write_text
from outcomes.spec.contract import (
    AGE_BANDS,
    CONDITIONS,
    DISCHARGE_REASONS,
    SEXES,
    SORENESS_MAX_HOURS,
    SORENESS_RESOLVED_HOURS,
)
from outcomes.spec.measures import Measure, get_measure
from outcomes.spec.plan_schema import ImprovementEvent

__all__ = [
    "CONDITION_MEASURES",
    "DEFAULT_CONDITION_MIX",
    "SAMPLE_PARAMS",
    "SAMPLE_SEED",
    "TWITCH_WINDOW",
    "SimulatedData",
    "SynthParams",
    "effect_for_share",
    "ground_truth",
    "simulate_visits",
    "true_share_improved",
    "true_soreness_share",
    "write_sample",
    "write_visits",
]

#: ROM / strength measures recorded per condition (pain_nprs is always recorded too).
CONDITION_MEASURES: Mapping[str, tuple[str, ...]] = {
    "neck_pain": ("rom_cervical_rotation_left", "rom_cervical_rotation_right", "rom_cervical_flexion"),
    "tension_type_headache": ("rom_cervical_rotation_left", "rom_cervical_rotation_right"),
    "migraine": ("rom_cervical_rotation_left", "rom_cervical_rotation_right"),
    "low_back_pain": ("rom_lumbar_flexion",),
    "sciatica": ("rom_slr_left", "rom_slr_right"),
    "shoulder_pain": ("rom_shoulder_flexion", "rom_shoulder_external_rotation"),
    "lateral_epicondylalgia": ("grip_strength_kg", "rom_wrist_extension"),
    "medial_epicondylalgia": ("grip_strength_kg", "rom_wrist_extension"),
    "carpal_tunnel": ("grip_strength_kg", "rom_wrist_extension"),
    "tmd": ("mouth_opening_mm",),
    "muscle_strain": ("rom_hip_flexion",),
    "muscle_spasm": ("rom_hip_flexion",),
}

#: Twitch responses in the first this-many visits mark an episode as a "twitch" episode.
TWITCH_WINDOW = 3

# Normal adult values (choice, from the AAOS / Norkin & White norms summarised in
# docs/measures.md; lumbar flexion by dual inclinometer about 60 deg; grip by sex,
# roughly adult means) and how large a deficit is relative to the average one.
_NORMAL: Mapping[str, float] = {
    "rom_cervical_rotation_left": 80,
    "rom_cervical_rotation_right": 80,
    "rom_cervical_flexion": 50,
    "rom_lumbar_flexion": 60,
    "rom_slr_left": 80,
    "rom_slr_right": 80,
    "rom_shoulder_flexion": 180,
    "rom_shoulder_external_rotation": 90,
    "rom_wrist_extension": 70,
    "rom_hip_flexion": 120,
    "mouth_opening_mm": 49,
    "grip_strength_kg": 34,
}
_DEFICIT_SCALE: Mapping[str, float] = {"grip_strength_kg": 1.6, "rom_wrist_extension": 1.2}
_GRIP_BY_SEX: Mapping[str, float] = {"female": 27.0, "male": 42.0, "other": 34.0, "unknown": 34.0}
#: Decimals a clinic records (pain integer, degrees / mm whole, grip to 0.1 kg).
_DECIMALS: Mapping[str, int] = {"grip_strength_kg": 1}
#: Mean baseline pain shift by condition (choice: radicular and headache pain higher).
_PAIN_SHIFT: Mapping[str, float] = {
    "sciatica": 0.6,
    "migraine": 0.5,
    "muscle_spasm": -0.8,
    "muscle_strain": -0.5,
    "tmd": -0.4,
}
_PAIRED = {"rom_slr_left": "left", "rom_slr_right": "right"}  # unsided codes for one side
_UNAFFECTED_FACTOR = 0.3  # deficit on the unaffected leg in sciatica (choice)
_PARTNERS = ("exercise", "manual_therapy")  # combined with dry_needling, chosen 60/40

DEFAULT_CONDITION_MIX: tuple[tuple[str, float], ...] = (
    ("neck_pain", 0.16),
    ("low_back_pain", 0.17),
    ("shoulder_pain", 0.12),
    ("lateral_epicondylalgia", 0.07),
    ("medial_epicondylalgia", 0.015),
    ("carpal_tunnel", 0.05),
    ("tension_type_headache", 0.06),
    ("migraine", 0.045),
    ("tmd", 0.045),
    ("sciatica", 0.08),
    ("muscle_strain", 0.08),
    ("muscle_spasm", 0.095),
)
_AGE_MIX = (0.12, 0.17, 0.20, 0.21, 0.17, 0.09, 0.035, 0.005)
_SEX_MIX = (0.56, 0.42, 0.01, 0.01)


@dataclass(frozen=True)
class SynthParams:
    """Parameters of the synthetic clinic (all have sensible defaults).

    Parameters
    ----------
    n_episodes : int
        Number of episodes of care.
    responder_share : float
        True share of episodes with a real treatment response.
    effect : float
        Mean fraction of the baseline deficit (pain, lost ROM) a responder recovers
        at full response.  ``0`` is the global null: nothing but noise.
    rate, rate_sd_log : float
        Median per-visit recovery speed and the SD of its log across episodes.
    early_late_ratio : float
        Time warp of recovery: progress is ``1 - exp(-rate * j ** (1 / early_late_ratio))``;
        ``1`` = plain exponential in visit count, ``> 1`` more front-loaded,
        ``< 1`` slower start.
    pain_baseline_mean, pain_baseline_sd : float
        Latent baseline NPRS (before condition shifts and measurement noise).
    pain_noise_sd : float
        Measurement noise of NPRS, points (0.65 ~ SEM for an MDC of about 1.8).
    rom_deficit : float
        Mean baseline ROM / strength deficit as a fraction of the normal value.
    rom_noise_sd : float
        ROM / strength noise SD as a fraction of the measure's registered MDC/MCID
        (0.36 = MDC95 / (1.96 * sqrt 2), i.e. the SEM).
    strength_effect : float
        Multiplier of the recovered fraction for ``grip_strength_kg``.
    dropout : float
        Per-visit hazard of leaving before the next planned visit.
    dropout_informative : float
        Extra hazard once pain has improved by the registered rule (responders stop
        early once better); ``0`` = dropout independent of outcome.
    dropout_nonresponder : float
        Extra hazard of latent non-responders (episodes without a real treatment response)
        of leaving before each visit up to ``dropout_nonresponder_until``: the informative
        dropout that biases a Kaplan-Meier estimate upwards; ``0`` = none.
    dropout_nonresponder_until : int
        Last visit before which the non-responders' extra hazard applies (default 4).
    missing_rate : float
        Chance that any one measurement (or soreness report) is not recorded.
    min_visits, max_visits : int
        Range of planned visits per episode.
    visits_per_week : tuple of int
        Range of visit frequency; gaps are ``7 / frequency`` +- noise, 1-7 days.
    conditions : tuple of (code, weight)
        Condition mix over :data:`outcomes.spec.contract.CONDITIONS`.
    twitch_rate : float
        Chance of a local twitch response on a needled visit.
    twitch_effect : float
        Relative extra recovery of episodes with a twitch in the first
        :data:`TWITCH_WINDOW` visits (``0.2`` = 20 % more); ``0`` = none.
    soreness_median_hours, soreness_sd_log : float
        Lognormal post-needling soreness duration (recorded on needled visits).
    combined_share : float
        Share of episodes treated with dry needling plus exercise / manual therapy.
    combined_effect : float
        Relative extra recovery of combined episodes; ``0`` = none.
    confounding : float
        Log-odds change of combined therapy per SD of baseline pain, negative
        direction (milder baselines get combined care more often); ``0`` = none.
    skip_needling : float
        Share of follow-up visits of combined episodes without needling.
    repeat_patient_share : float
        Share of episodes that belong to a patient seen in an earlier episode.

    Examples
    --------
    >>> SynthParams().n_episodes
    400
    >>> SynthParams(effect=2.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    outcomes.errors.OutcomesError: ...effect must be within [0, 1]...
    """

    n_episodes: int = 400
    responder_share: float = 0.65
    effect: float = 0.6
    rate: float = 0.35
    rate_sd_log: float = 0.5
    early_late_ratio: float = 1.0
    pain_baseline_mean: float = 6.0
    pain_baseline_sd: float = 1.3
    pain_noise_sd: float = 0.65
    rom_deficit: float = 0.25
    rom_noise_sd: float = 0.36
    strength_effect: float = 0.8
    dropout: float = 0.05
    dropout_informative: float = 0.10
    dropout_nonresponder: float = 0.0
    dropout_nonresponder_until: int = 4
    missing_rate: float = 0.01
    min_visits: int = 4
    max_visits: int = 12
    visits_per_week: tuple[int, int] = (1, 3)
    conditions: tuple[tuple[str, float], ...] = DEFAULT_CONDITION_MIX
    twitch_rate: float = 0.4
    twitch_effect: float = 0.2
    soreness_median_hours: float = 20.0
    soreness_sd_log: float = 0.8
    combined_share: float = 0.5
    combined_effect: float = 0.15
    confounding: float = 0.5
    skip_needling: float = 0.15
    repeat_patient_share: float = 0.05

    def __post_init__(self) -> None:
        bad: list[str] = []
        unit = (
            "responder_share",
            "effect",
            "dropout",
            "dropout_informative",
            "dropout_nonresponder",
            "missing_rate",
            "twitch_rate",
            "combined_share",
            "skip_needling",
            "repeat_patient_share",
            "rom_deficit",
        )
        bad += [f"{n} must be within [0, 1]" for n in unit if not 0 <= getattr(self, n) <= 1]
        positive = (
            "rate",
            "early_late_ratio",
            "pain_baseline_sd",
            "pain_noise_sd",
            "rom_noise_sd",
            "soreness_median_hours",
            "soreness_sd_log",
        )
        bad += [f"{n} must be positive" for n in positive if not getattr(self, n) > 0]
        nonneg = ("rate_sd_log", "twitch_effect", "combined_effect", "strength_effect", "confounding")
        bad += [f"{n} must be >= 0" for n in nonneg if not getattr(self, n) >= 0]
        n_episodes: object = self.n_episodes  # typed int, but a caller may pass anything: checked as given
        if not (isinstance(n_episodes, (int, np.integer)) and n_episodes >= 1):
            bad.append("n_episodes must be a positive integer")
        if not 2 <= self.min_visits <= self.max_visits:
            bad.append("need 2 <= min_visits <= max_visits")
        lo, hi = self.visits_per_week
        if not 1 <= lo <= hi <= 7:
            bad.append("visits_per_week must be (low, high) with 1 <= low <= high <= 7")
        codes = [c for c, _ in self.conditions]
        weights = np.array([w for _, w in self.conditions], dtype=float)
        if not codes or set(codes) - set(CONDITIONS) or len(set(codes)) < len(codes):
            bad.append("conditions must be distinct codes from outcomes.spec.contract.CONDITIONS")
        if weights.size and (np.any(weights < 0) or not weights.sum() > 0):
            bad.append("condition weights must be >= 0 and not all 0")
        if bad:
            raise OutcomesError(
                [Problem("synth_params", m, "SynthParams") for m in bad], "Invalid synthetic-data parameters:"
            )


@dataclass(frozen=True)
class SimulatedData:
    """Output of :func:`simulate_visits`.

    Attributes
    ----------
    visits : pandas.DataFrame
        Long contract frame (one row per measurement), columns as in
        :data:`outcomes.spec.contract.ALL_COLUMNS`.
    episodes : pandas.DataFrame
        One row per episode with its latent truth (``responder``, ``rate``,
        ``recovery_fraction``, ``twitch_any_first_k`` ...).
    params : SynthParams
    seed : int
    """

    visits: pd.DataFrame = field(repr=False)
    episodes: pd.DataFrame = field(repr=False)
    params: SynthParams
    seed: int


# ----------------------------------------------------------------------------- model


@dataclass(frozen=True)
class _Latent:
    """Everything drawn for n episodes x V visits (complete data, plus masks)."""

    cond: np.ndarray  # (E,) index into codes of CONDITIONS
    sex: np.ndarray  # (E,) index into SEXES
    age: np.ndarray  # (E,) index into AGE_BANDS
    patient: np.ndarray  # (E,) patient number (0-based)
    side_right: np.ndarray  # (E,) bool, side of sided measures
    combined: np.ndarray  # (E,) bool
    partner: np.ndarray  # (E,) index into _PARTNERS
    responder: np.ndarray  # (E,) bool
    rate: np.ndarray  # (E,)
    fraction: np.ndarray  # (E,) recovered fraction at full response
    base_pain: np.ndarray  # (E,) latent baseline pain
    severity: np.ndarray  # (E,) standardised baseline pain
    twitch_any: np.ndarray  # (E,) bool
    per_week: np.ndarray  # (E,) visits per week
    n_planned: np.ndarray  # (E,)
    n_visits: np.ndarray  # (E,) observed (after dropout)
    slot_measure: np.ndarray  # (E, S) index into _MEASURE_CODES, -1 = none
    values: np.ndarray  # (E, V, S) measured values, complete (NaN where no slot)
    missing: np.ndarray  # (E, V, S) bool
    needled: np.ndarray  # (E, V) bool
    twitch: np.ndarray  # (E, V) bool
    soreness: np.ndarray  # (E, V) hours (NaN when not needled or not reported)
    day: np.ndarray  # (E, V) visit_day
    discharge: np.ndarray  # (E,) index into DISCHARGE_REASONS, -1 = none recorded


_COND_CODES = tuple(CONDITIONS)
_MEASURE_CODES = ("pain_nprs", *tuple(sorted({m for ms in CONDITION_MEASURES.values() for m in ms})))
_N_SLOTS = 1 + max(len(v) for v in CONDITION_MEASURES.values())


def _slot_table() -> np.ndarray:
    """(conditions, slots) measure index, -1 where the condition has no such slot."""
    tab = np.full((len(_COND_CODES), _N_SLOTS), -1, dtype=np.int64)
    for ci, code in enumerate(_COND_CODES):
        for s, m in enumerate(("pain_nprs",) + CONDITION_MEASURES[code]):
            tab[ci, s] = _MEASURE_CODES.index(m)
    return tab


_SLOTS = _slot_table()


def _measure_arrays(attr: Callable[[Measure], float]) -> npt.NDArray[np.float64]:
    return np.array([attr(get_measure(m)) for m in _MEASURE_CODES], dtype=float)


def _record(latent: np.ndarray, noise: np.ndarray, m_idx: np.ndarray) -> np.ndarray:
    """Add noise, round as recorded, clip to the registry's hard bounds."""
    lower = _measure_arrays(lambda m: m.lower)[m_idx]
    upper = _measure_arrays(lambda m: m.upper)[m_idx]
    scale = 10.0 ** np.array([_DECIMALS.get(m, 0) for m in _MEASURE_CODES])[m_idx]
    x = np.round((latent + noise) * scale[:, None]) / scale[:, None]
    recorded: np.ndarray = np.clip(x, lower[:, None], upper[:, None])
    return recorded


def _draw(p: SynthParams, rng: np.random.Generator) -> _Latent:
    """The whole model, vectorised over episodes x visits.  Draw order is fixed."""
    n, V = p.n_episodes, p.max_visits
    j = np.arange(V)
    weights = np.zeros(len(_COND_CODES))
    for code, w in p.conditions:
        weights[_COND_CODES.index(code)] = w
    cond = rng.choice(len(_COND_CODES), size=n, p=weights / weights.sum())
    # patients: every patient has >= 1 episode; repeat episodes join earlier patients
    n_pat = max(1, n - round(p.repeat_patient_share * n))
    patient = np.sort(np.concatenate([np.arange(n_pat), rng.integers(0, n_pat, n - n_pat)]))
    sex = rng.choice(len(SEXES), size=n_pat, p=_SEX_MIX)[patient]
    age = rng.choice(len(AGE_BANDS), size=n_pat, p=_AGE_MIX)[patient]
    side_right = rng.random(n) < 0.6

    shift = np.array([_PAIN_SHIFT.get(c, 0.0) for c in _COND_CODES])[cond]
    base_pain = np.clip(p.pain_baseline_mean + shift + p.pain_baseline_sd * rng.standard_normal(n), 1, 10)
    severity = (base_pain - p.pain_baseline_mean) / p.pain_baseline_sd
    combined = rng.random(n) < expit(logit(np.clip(p.combined_share, 1e-9, 1 - 1e-9)) - p.confounding * severity)
    partner = (rng.random(n) >= 0.6).astype(np.int64)
    responder = rng.random(n) < p.responder_share
    rate = p.rate * np.exp(p.rate_sd_log * rng.standard_normal(n))

    needled = np.ones((n, V), dtype=bool)
    needled[:, 1:] = ~(combined[:, None] & (rng.random((n, V - 1)) < p.skip_needling))
    twitch = needled & (rng.random((n, V)) < p.twitch_rate)
    # any(axis=1) of a 2-D array is a 1-D array; numpy's stub also allows for a scalar
    twitch_any = cast(npt.NDArray[np.bool_], twitch[:, :TWITCH_WINDOW].any(axis=1))
    soreness = np.exp(np.log(p.soreness_median_hours) + p.soreness_sd_log * rng.standard_normal((n, V)))
    soreness = np.clip(np.round(soreness, 1), 0.1, SORENESS_MAX_HOURS)
    soreness[~needled | (rng.random((n, V)) < p.missing_rate)] = np.nan

    fraction = np.clip(
        responder * p.effect * (1 + p.twitch_effect * twitch_any) * (1 + p.combined_effect * combined), 0, 1
    )
    progress = 1 - np.exp(-rate[:, None] * j[None, :] ** (1 / p.early_late_ratio))
    remaining = 1 - fraction[:, None] * progress  # share of each deficit left at visit j

    slot_measure = _SLOTS[cond]
    deficit = np.clip(p.rom_deficit * (1 + 0.25 * severity) + 0.08 * rng.standard_normal(n), 0.03, 0.7)
    values = np.full((n, V, _N_SLOTS), np.nan)
    missing = rng.random((n, V, _N_SLOTS)) < p.missing_rate
    mdc = _measure_arrays(lambda m: m.threshold_abs)
    grip = _MEASURE_CODES.index("grip_strength_kg")
    for s in range(_N_SLOTS):  # a handful of slots, not episodes
        m_idx = slot_measure[:, s]
        noise = rng.standard_normal((n, V))
        person = np.exp(0.08 * rng.standard_normal(n))
        local = np.exp(0.25 * rng.standard_normal(n))
        if s == 0:
            latent = base_pain[:, None] * remaining
            values[:, :, s] = _record(latent, p.pain_noise_sd * noise, m_idx)
            continue
        ok = m_idx >= 0
        mi = np.where(ok, m_idx, 0)
        normal = np.array([_NORMAL.get(m, 0.0) for m in _MEASURE_CODES])[mi]
        normal = np.where(mi == grip, np.array([_GRIP_BY_SEX[x] for x in SEXES])[sex], normal) * person
        scale = np.array([_DEFICIT_SCALE.get(m, 1.0) for m in _MEASURE_CODES])[mi]
        codes = np.array(_MEASURE_CODES)[mi]
        paired = np.isin(codes, list(_PAIRED))
        affected = (codes == "rom_slr_right") == side_right
        scale = scale * np.where(paired & ~affected, _UNAFFECTED_FACTOR, 1.0)
        d = np.clip(deficit * scale * local, 0.02, 0.8)
        rem = np.where(
            (mi == grip)[:, None], 1 - np.clip(fraction * p.strength_effect, 0, 1)[:, None] * progress, remaining
        )
        latent = normal[:, None] * (1 - d[:, None] * rem)
        rec = _record(latent, p.rom_noise_sd * mdc[mi][:, None] * noise, mi)
        values[:, :, s] = np.where(ok[:, None], rec, np.nan)
    present = slot_measure[:, None, :] >= 0
    missing &= present
    lost = ~(present & ~missing).any(axis=2)
    missing[:, :, 0] &= ~lost  # never lose a whole visit: keep its pain score

    lo, hi = p.visits_per_week
    per_week = rng.integers(lo, hi + 1, n)
    gaps = np.clip(np.round(7 / per_week[:, None] + 0.8 * rng.standard_normal((n, V - 1))), 1, 7)
    day = np.concatenate([np.zeros((n, 1)), np.cumsum(gaps, axis=1)], axis=1).astype(np.int64)

    n_planned = rng.integers(p.min_visits, p.max_visits + 1, n)
    pain = values[:, :, 0]
    improved = get_measure("pain_nprs").improvement(pain[:, :1], pain) & ~missing[:, :, 0]
    seen = np.maximum.accumulate(improved, axis=1)  # rule met at or before visit j
    # column i: leaves after visit i + 1, before visit i + 2
    early = np.arange(V - 1) + 2 <= p.dropout_nonresponder_until
    extra = p.dropout_nonresponder * (~responder[:, None] & early[None, :])
    hazard = np.clip(p.dropout + p.dropout_informative * seen[:, :-1] + extra, 0, 1)
    leave = rng.random((n, V - 1)) < hazard
    first_leave = np.where(leave.any(axis=1), leave.argmax(axis=1) + 1, V)
    n_visits = np.minimum(n_planned, first_leave)
    discharge = _discharge_reasons(rng, n_visits < n_planned, seen[np.arange(n), n_visits - 1], responder)
    return _Latent(
        cond,
        sex,
        age,
        patient,
        side_right,
        combined,
        partner,
        responder,
        rate,
        fraction,
        base_pain,
        severity,
        twitch_any,
        per_week,
        n_planned,
        n_visits,
        slot_measure,
        values,
        missing,
        needled,
        twitch,
        soreness,
        day,
        discharge,
    )


#: ``discharge_reason`` of an episode, by how it ended (rows: completed the planned visits and
#: improved, completed and not improved, left early improved, left early not improved, a latent
#: non-responder who left early), as probabilities of the codes of ``DISCHARGE_REASONS`` in order
#: (goals_met, no_improvement, moved_or_cost, unknown) and of no reason recorded (last column).
_DISCHARGE_MIX = np.array(
    [
        [0.85, 0.00, 0.00, 0.05, 0.10],
        [0.10, 0.70, 0.05, 0.05, 0.10],
        [0.60, 0.00, 0.20, 0.10, 0.10],
        [0.05, 0.35, 0.35, 0.15, 0.10],
        [0.00, 0.60, 0.20, 0.10, 0.10],
    ]
)


def _discharge_reasons(
    rng: np.random.Generator, early: np.ndarray, improved: np.ndarray, responder: np.ndarray
) -> np.ndarray:
    """Index into ``DISCHARGE_REASONS`` per episode (-1: none recorded).  Drawn last: the earlier draws,
    and so every other column of a seeded dataset, are those of a generator without this column."""
    row = np.where(early, np.where(improved, 2, np.where(responder, 3, 4)), np.where(improved, 0, 1))
    cum = np.cumsum(_DISCHARGE_MIX[row], axis=1)
    pick = (rng.random(row.size)[:, None] < cum).argmax(axis=1)
    return np.where(pick == len(DISCHARGE_REASONS), -1, pick)


# ----------------------------------------------------------------------------- frames


def _ids(prefix: str, n: int) -> pd.api.extensions.ExtensionArray:
    width = max(5, len(str(n)))
    return pd.array(np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), width)), dtype="str")


def _strings(vocab: Sequence[str], idx: np.ndarray) -> pd.api.extensions.ExtensionArray:
    return pd.array(np.asarray(vocab, dtype=str), dtype="str")[idx]


def _treatments(lat: _Latent) -> np.ndarray:
    """Vocabulary of treatment strings and per-(episode, visit) index into it."""
    # 0 dry_needling, 1/2 dry_needling+partner, 3/4 partner alone (un-needled visit)
    group = np.where(lat.combined, 1 + lat.partner, 0)
    return np.where(lat.needled, group[:, None], 3 + lat.partner[:, None])


_TREATMENT_VOCAB = ("dry_needling", *tuple(f"dry_needling+{x}" for x in _PARTNERS), *_PARTNERS)


def _visits_frame(lat: _Latent) -> pd.DataFrame:
    n, V, S = lat.values.shape
    observed = np.arange(V)[None, :] < lat.n_visits[:, None]
    keep = observed[:, :, None] & (lat.slot_measure[:, None, :] >= 0) & ~lat.missing
    flat = np.flatnonzero(keep)
    ep, rest = np.divmod(flat, V * S)
    vis, slot = np.divmod(rest, S)
    m_idx = lat.slot_measure[ep, slot]
    sided = np.array([get_measure(m).sided for m in _MEASURE_CODES])[m_idx]
    side = np.where(sided, np.where(lat.side_right[ep], 1, 0), 2)
    needled = lat.needled[ep, vis]
    twitch = pd.array(lat.twitch[ep, vis], dtype="boolean")
    twitch[~needled] = pd.NA
    return pd.DataFrame(
        {
            "patient_id": _ids("P", int(lat.patient.max()) + 1)[lat.patient[ep]],
            "episode_id": _ids("E", n)[ep],
            "visit_day": lat.day[ep, vis],
            "visit_number": (vis + 1).astype(np.int64),
            "measure": _strings(_MEASURE_CODES, m_idx),
            "side": _strings(("left", "right", "none"), side),
            "value": lat.values.reshape(-1)[flat],
            "condition": _strings(_COND_CODES, lat.cond[ep]),
            "treatment": _strings(_TREATMENT_VOCAB, _treatments(lat)[ep, vis]),
            "age_band": _strings(AGE_BANDS, lat.age[ep]),
            "sex": _strings(SEXES, lat.sex[ep]),
            "twitch_response": twitch,
            "soreness_hours": lat.soreness[ep, vis],
            "discharge_reason": _reasons(lat.discharge)[ep],
        }
    )


def _reasons(codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``discharge_reason`` strings (missing where none was recorded)."""
    text: pd.api.extensions.ExtensionArray = pd.array(
        np.array(list(DISCHARGE_REASONS), dtype=object)[np.maximum(codes, 0)], dtype="str"
    )
    text[codes < 0] = pd.NA
    return text


def _episodes_frame(lat: _Latent) -> pd.DataFrame:
    n = lat.cond.size
    group = np.where(lat.combined, 1 + lat.partner, 0)
    return pd.DataFrame(
        {
            "episode_id": _ids("E", n),
            "patient_id": _ids("P", int(lat.patient.max()) + 1)[lat.patient],
            "condition": _strings(_COND_CODES, lat.cond),
            "treatment_group": _strings(_TREATMENT_VOCAB, group),
            "combined": lat.combined,
            "side": _strings(("left", "right"), lat.side_right.astype(int)),
            "age_band": _strings(AGE_BANDS, lat.age),
            "sex": _strings(SEXES, lat.sex),
            "responder": lat.responder,
            "rate": lat.rate,
            "recovery_fraction": lat.fraction,
            "twitch_any_first_k": lat.twitch_any,
            "baseline_pain_latent": lat.base_pain,
            "severity_z": lat.severity,
            "visits_per_week": lat.per_week,
            "n_planned": lat.n_planned,
            "n_visits": lat.n_visits,
            "dropped_out": lat.n_visits < lat.n_planned,
            "discharge_reason": _reasons(lat.discharge),
        }
    )


def simulate_visits(params: SynthParams = SynthParams(), *, seed: int) -> SimulatedData:
    """Simulate visit records with a known truth.

    Parameters
    ----------
    params : SynthParams
        Model parameters (see :class:`SynthParams` and the module docstring).
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives identical output.

    Returns
    -------
    SimulatedData
        ``visits`` (long contract frame, sorted by episode, visit, measure slot) and
        ``episodes`` (latent truth, one row per episode).

    Raises
    ------
    OutcomesError
        Rule ``limit_max_synth_episodes`` for more episodes than ``max_synth_episodes``
        (:mod:`outcomes.safety.limits`; raise it with ``OUTCOMES_MAX_SYNTH_EPISODES``), before any
        memory is allocated. Zero or negative episodes are refused by :class:`SynthParams`.

    Examples
    --------
    >>> sim = simulate_visits(SynthParams(n_episodes=50), seed=7)
    >>> list(sim.visits.columns[:7])
    ['patient_id', 'episode_id', 'visit_day', 'visit_number', 'measure', 'side', 'value']
    >>> sim.visits.groupby("episode_id")["visit_day"].min().eq(0).all()
    np.True_
    >>> len(sim.episodes)
    50
    >>> simulate_visits(SynthParams(n_episodes=10**8), seed=1)  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    outcomes.errors.OutcomesError: synth, column n_episodes: [limit_max_synth_episodes] 100,000,000 episodes were asked
        for; the limit is 5,000,000 ...
    """
    limit = current_limits().max_synth_episodes
    if params.n_episodes > limit:  # before anything is allocated: memory grows with the episodes
        raise OutcomesError(
            limit_problem(
                "max_synth_episodes",
                f"{int(params.n_episodes):,} episodes were asked for",
                "synth",
                column="n_episodes",
            )
        )
    lat = _draw(params, np.random.default_rng(seed))
    return SimulatedData(_visits_frame(lat), _episodes_frame(lat), params, seed)


# ----------------------------------------------------------------------------- truth

Subset = Literal["all", "twitch", "no_twitch", "combined", "needling_alone"]


def _restricted(params: SynthParams, measure: str, n: int) -> SynthParams:
    """Params whose condition mix keeps only conditions that record ``measure``.

    The share among episodes that have the measure is unchanged (condition is
    drawn first; nothing is standardised on the sample), and no draws are wasted.
    """
    keep = tuple(
        (c, w) for c, w in params.conditions if w > 0 and (measure == "pain_nprs" or measure in CONDITION_MEASURES[c])
    )
    if not keep:
        raise OutcomesError(
            Problem("synth_measure", f"no condition in the mix records {measure!r}", "SynthParams", (), "measure")
        )
    return replace(params, conditions=keep, n_episodes=n)


def _check_k(k: int, params: SynthParams) -> None:
    if not 2 <= k <= params.max_visits:
        raise OutcomesError(
            Problem("synth_k", f"k must be within 2..{params.max_visits}", "true_share_improved", (), "k")
        )


def true_share_improved(
    params: SynthParams,
    *,
    measure: str = "pain_nprs",
    k: int = 3,
    n_mc: int = 200_000,
    seed: int = 0,
    subset: Subset = "all",
    event: ImprovementEvent = "once",
) -> float:
    """Population share of episodes whose measured value meets the rule by visit ``k``.

    Among episodes that record ``measure`` and whose measured baseline makes
    improvement reachable (:meth:`Measure.reachable`), the probability that some
    measured value at visits 2..k meets :meth:`Measure.improvement` against the
    measured baseline, with no dropout, no missingness and no planned discharge
    before ``k``: what a Kaplan-Meier estimate targets under non-informative
    censoring.  Monte Carlo over ``n_mc`` episodes of the same model
    (:func:`simulate_visits`' code path); Monte Carlo SE <= 0.5 / sqrt(n_mc).

    With ``effect = 0`` the share is not 0: measurement noise alone produces
    rule-meeting drops (about 0.05 for pain by visit 3 with the defaults).

    Parameters
    ----------
    params : SynthParams
        ``n_episodes`` is ignored (``n_mc`` is used).
    measure : str
        Registered measure code recorded by at least one condition in the mix.
    k : int
        Visit number (baseline = visit 1), ``2 <= k <= max_visits``.
    n_mc : int
        Monte Carlo episodes.
    seed : int
        Seed of the Monte Carlo draw.
    subset : {"all", "twitch", "no_twitch", "combined", "needling_alone"}
        Restrict to episodes with / without a twitch in the first
        :data:`TWITCH_WINDOW` visits, or to one treatment group (for claims).
    event : {"once", "sustained"}
        The improvement event (a plan's ``improvement_event``): the rule met at some visit
        2..k, or met at a visit j <= k and again at visit j + 1.

    Examples
    --------
    >>> p = SynthParams()
    >>> round(true_share_improved(p, n_mc=20_000, seed=1), 2)
    0.44
    >>> true_share_improved(replace(p, effect=0.0), n_mc=20_000, seed=1) > 0.0
    True
    >>> round(true_share_improved(p, n_mc=20_000, seed=1, event="sustained"), 2)
    0.38
    """
    _check_k(k, params)
    m = get_measure(measure)
    lat = _draw(_restricted(params, measure, n_mc), np.random.default_rng(seed))
    return _share(lat, m, k, subset, event)


def _share(lat: _Latent, m: Measure, k: int, subset: Subset, event: ImprovementEvent = "once") -> float:
    m_idx = _MEASURE_CODES.index(m.code)
    has = lat.slot_measure == m_idx  # (E, S), at most one slot per row
    vals = lat.values[np.arange(has.shape[0]), :, has.argmax(axis=1)]
    base = vals[:, 0]
    eligible = has.any(axis=1) & np.asarray(m.reachable(base))
    chosen = {
        "all": np.ones_like(eligible),
        "twitch": lat.twitch_any,
        "no_twitch": ~lat.twitch_any,
        "combined": lat.combined,
        "needling_alone": ~lat.combined,
    }[subset]
    eligible &= chosen
    met_at = np.asarray(m.improvement(base[:, None], vals[:, 1 : k + 1]), dtype=bool)  # visits 2 .. k + 1
    if event == "sustained":  # met at a visit j <= k and at visit j + 1
        met_at = met_at[:, :-1] & met_at[:, 1:]
    # any(axis=1) of a 2-D array is a 1-D array; numpy's stub also allows for a scalar
    met = cast(npt.NDArray[np.bool_], met_at[:, : k - 1].any(axis=1))
    if not eligible.any():
        raise OutcomesError(
            Problem("synth_measure", f"no eligible episodes for {m.code!r}", "true_share_improved", (), "measure")
        )
    return float(met[eligible].mean())


def true_soreness_share(params: SynthParams, *, hours: float = SORENESS_RESOLVED_HOURS) -> float:
    """True share of recorded soreness durations at or below ``hours``.

    Exact (lognormal CDF), allowing for the recording to 0.1 h: a recorded value
    is <= ``hours`` when the latent one is below ``hours + 0.05``.

    Examples
    --------
    >>> round(true_soreness_share(SynthParams()), 3)
    0.863
    """
    z = (math.log(hours + 0.05) - math.log(params.soreness_median_hours)) / params.soreness_sd_log
    return float(norm.cdf(z))


def ground_truth(
    params: SynthParams,
    *,
    measures: tuple[str, ...] | None = None,
    ks: tuple[int, ...] = (2, 3, 4),
    n_mc: int = 200_000,
    seed: int = 0,
    event: ImprovementEvent = "once",
) -> pd.DataFrame:
    """Table of true shares improved (as :func:`true_share_improved`) for many cells at once.

    One Monte Carlo draw per measure (and one more with ``effect = 0`` for the
    noise-only share), evaluated for every ``k`` and subset.

    Returns
    -------
    pandas.DataFrame
        Columns ``measure``, ``k``, ``subset``, ``true_share``, ``null_share``
        (the same with ``effect = 0``), ``n_mc``, ``seed``.

    Examples
    --------
    >>> t = ground_truth(SynthParams(), measures=("pain_nprs",), ks=(3,), n_mc=20_000, seed=1)
    >>> t.loc[t["subset"] == "all", ["true_share", "null_share"]].round(2).values.tolist()
    [[0.44, 0.05]]
    """
    if measures is None:
        measures = tuple(
            m
            for m in _MEASURE_CODES
            if m == "pain_nprs" or any(m in CONDITION_MEASURES[c] for c, w in params.conditions if w > 0)
        )
    subsets: tuple[Subset, ...] = ("all", "twitch", "no_twitch", "combined", "needling_alone")
    rows = []
    for code in measures:  # a few measures, not episodes
        m = get_measure(code)
        for k in ks:
            _check_k(k, params)
        rng_params = _restricted(params, code, n_mc)
        lat = _draw(rng_params, np.random.default_rng(seed))
        null = _draw(replace(rng_params, effect=0.0), np.random.default_rng(seed))
        rows += [
            (code, k, sub, _share(lat, m, k, sub, event), _share(null, m, k, sub, event)) for k in ks for sub in subsets
        ]
    out = pd.DataFrame(rows, columns=["measure", "k", "subset", "true_share", "null_share"])
    return out.assign(n_mc=n_mc, seed=seed)


def effect_for_share(
    target: float,
    params: SynthParams = SynthParams(),
    *,
    k: int = 3,
    measure: str = "pain_nprs",
    seed: int = 0,
    n_mc: int = 200_000,
    vary: Literal["effect", "responder_share"] = "effect",
    tol: float = 0.005,
    event: ImprovementEvent = "once",
) -> SynthParams:
    """Params (``effect`` or ``responder_share`` changed) whose true share equals ``target``.

    Bisection with common random numbers (one ``seed``), so the Monte Carlo share
    is monotone in the varied parameter.  The result's
    ``true_share_improved(result, k=k, measure=measure, n_mc=n_mc, seed=seed, event=event)`` is
    within ``tol`` of ``target``.

    Raises
    ------
    OutcomesError
        Rule ``synth_target`` when the target is outside what the parameter can
        reach (e.g. below the noise-only share of ``effect = 0``).

    Examples
    --------
    >>> p = effect_for_share(0.5, k=4, n_mc=20_000, seed=3)
    >>> abs(true_share_improved(p, k=4, n_mc=20_000, seed=3) - 0.5) <= 0.005
    True
    """
    _check_k(k, params)
    m = get_measure(measure)
    base = _restricted(params, measure, n_mc)

    def share(x: float) -> float:
        return _share(_draw(_varied(base, vary, x), np.random.default_rng(seed)), m, k, "all", event)

    lo, hi = 0.0, 1.0
    s_lo, s_hi = share(lo), share(hi)
    if not s_lo - tol <= target <= s_hi + tol:
        raise OutcomesError(
            Problem(
                "synth_target",
                f"target {target:.3f} is outside the reachable range {s_lo:.3f}-{s_hi:.3f} when varying {vary}",
                "effect_for_share",
                (),
                vary,
            )
        )
    x, s = (lo, s_lo) if abs(s_lo - target) <= abs(s_hi - target) else (hi, s_hi)
    for _ in range(40):
        if abs(s - target) <= tol / 2:
            break
        x = (lo + hi) / 2
        s = share(x)
        lo, hi = (x, hi) if s < target else (lo, x)
    if abs(s - target) > tol:
        raise OutcomesError(
            Problem("synth_target", f"could not reach {target:.3f} within {tol}", "effect_for_share", (), vary)
        )
    return _varied(params, vary, x)


def _varied(params: SynthParams, vary: Literal["effect", "responder_share"], x: float) -> SynthParams:
    """``params`` with ``vary`` set to ``x`` (one call per name: the type checker checks each field's type)."""
    return replace(params, effect=x) if vary == "effect" else replace(params, responder_share=x)


# ----------------------------------------------------------------------------- files

#: Seed and parameters of ``data/sample/visits.csv`` (``make sample``).
SAMPLE_SEED = 20261201
SAMPLE_PARAMS = SynthParams()
_FLOAT_FORMAT = "%.10g"


def write_visits(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a visits frame to ``.csv`` or ``.parquet`` atomically, with deterministic bytes.

    CSV: UTF-8, ``\\n`` line ends, no index, floats as ``%.10g`` (``6``, ``62.3``),
    missing as empty.  Parquet: pyarrow, no index.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "v.csv"
    >>> write_visits(simulate_visits(SynthParams(n_episodes=3), seed=1).visits, out)
    >>> out.read_text().splitlines()[0]  # doctest: +ELLIPSIS
    'patient_id,episode_id,visit_day,visit_number,measure,side,value,condition,...'
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        text = frame.to_csv(index=False, lineterminator="\n", float_format=_FLOAT_FORMAT, na_rep="")
        atomic_write_text(path, text)
    elif suffix in (".parquet", ".pq"):
        with atomic_path(path) as tmp:
            frame.to_parquet(tmp, index=False, engine="pyarrow")
    else:
        raise OutcomesError(Problem("output_format", "output must end in .csv or .parquet", str(path.name), (), None))


def write_sample(path: str | Path = "data/sample/visits.csv") -> SimulatedData:
    """Regenerate the bundled sample (400 episodes, :data:`SAMPLE_SEED`), byte-identical.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "visits.csv"
    >>> write_sample(out).episodes.shape[0]
    400
    """
    sim = simulate_visits(SAMPLE_PARAMS, seed=SAMPLE_SEED)
    write_visits(sim.visits, path)
    return sim
