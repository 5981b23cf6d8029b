"""The measure registry: one place for units, hard bounds, direction and thresholds.

Every threshold used anywhere in ``outcomes`` is looked up here (or in a plan's
override), never repeated as a literal.  Sources are from
``docs/measures.md`` (generated from this registry); full references:

- Farrar JT et al. 2001, Pain 94:149-158: NPRS reduction of 2 points / 30% ~ "much
  improved" (PGIC), 2,724 chronic-pain patients.
- Salaffi F et al. 2004, Eur J Pain 8:283; Childs JD et al. 2005, Spine 30:1331;
  Cleland JA et al. 2008, Arch Phys Med Rehabil 89:69: NPRS MCID about 2 points.
- Myles PS et al. 2017, Br J Anaesth 118:424 (VAS); VAS rule = NPRS rule x 10 (choice).
- Cervical ROM (CROM device) MDC95 3.5-6.8 degrees: Anwar S et al. 2022; norms AAOS,
  Norkin & White.  We use the upper end, 6.8 (choice: conservative).
- Shoulder flexion/abduction SDD about 15 degrees: Tveita EK et al. 2008, BMC
  Musculoskelet Disord 9:49; Hayes K et al. 2001, Aust J Physiother 47:289.
- Shoulder rotation MDC90 about 5 (external) and 4 (internal) degrees, inclinometer.
- Wrist MDD 12-30 degrees: Reissner L et al. 2019 (we use 12).
- Straight-leg raise MDD 6-7 degrees (we use 7).
- Mouth opening SDD 9 mm for a single measurement: Kropmans T et al. 2000, J Oral Rehabil.
- Grip strength MCID 5.0-6.5 kg: Bohannon RW 2019; Kim JK et al. 2014 (we use 6.5).
- Hard bounds are data-error checks (choice), from ``clinical-measures.md``.

Examples
--------
>>> m = get_measure("pain_nprs")
>>> m.unit, m.lower, m.upper, m.direction
('points', 0.0, 10.0, -1)
>>> m.improvement(baseline=6, value=3)
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from outcomes.errors import OutcomesError, Problem
from outcomes.spec.plan_schema import MEASURE_REQUIRED, measures_problems

__all__ = [
    "REGISTRY",
    "Measure",
    "build_registry",
    "get_measure",
    "measures_of_kind",
    "registry_frame",
    "registry_markdown",
]

Kind = Literal["pain", "rom", "strength"]


@dataclass(frozen=True)
class Measure:
    """One registered measure.

    Parameters
    ----------
    code : str
        Column / measure code used in the data (snake_case).
    label : str
        Human-readable name used in reports.
    unit : str
        Unit of ``value``.
    lower, upper : float
        Hard bounds (inclusive).  Values outside are data errors, not clinical findings.
    direction : {-1, 1}
        ``-1``: lower is better (pain); ``1``: higher is better (ROM, strength).
    kind : {"pain", "rom", "strength"}
        Family; ROM measures form one multiplicity family.
    threshold_abs : float
        Minimal improvement in ``unit`` that counts (MCID for pain/strength, MDC for ROM).
    threshold_rel : float or None
        Minimal improvement as a fraction of baseline (pain: 0.30); both must hold.
    sided : bool
        True when the data must say which side (``side`` = left/right) was measured.
    source : str
        Where the threshold and bounds come from.
    """

    code: str
    label: str
    unit: str
    lower: float
    upper: float
    direction: int
    kind: Kind
    threshold_abs: float
    threshold_rel: float | None = None
    sided: bool = False
    source: str = ""

    def improvement(self, baseline: Any, value: Any) -> Any:
        """Whether ``value`` improves on ``baseline`` by the registered rule.

        Vectorised: accepts scalars or arrays; NaN compares as not improved.

        Examples
        --------
        >>> get_measure("pain_nprs").improvement(np.array([6, 6, 2]), np.array([4, 5, 0]))
        array([ True, False,  True])
        >>> get_measure("rom_slr_left").improvement(50, 57)
        True
        """
        gain = self.direction * (np.asarray(value, dtype=float) - np.asarray(baseline, dtype=float))
        ok = gain >= self.threshold_abs - 1e-9
        if self.threshold_rel is not None:
            base = np.abs(np.asarray(baseline, dtype=float))
            with np.errstate(invalid="ignore", divide="ignore"):
                ok = ok & (gain >= self.threshold_rel * base - 1e-9)
        return ok.item() if np.ndim(ok) == 0 else ok

    def reachable(self, baseline: Any) -> Any:
        """Whether improvement by the rule is possible at all from ``baseline``.

        A pain score of 1 cannot fall by 2 points: such episodes are reported apart,
        never silently counted as failures.

        Examples
        --------
        >>> get_measure("pain_nprs").reachable(np.array([1, 2, 7]))
        array([False,  True,  True])
        """
        base = np.asarray(baseline, dtype=float)
        best = self.lower if self.direction < 0 else self.upper
        return self.improvement(base, np.full_like(base, best))


def _rom(code: str, label: str, upper: float, mdc: float, source: str, sided: bool = False) -> Measure:
    return Measure(code, label, "degrees", 0.0, upper, 1, "rom", mdc, None, sided, source)


_CROM = "MDC95 3.5-6.8 deg (CROM), Anwar et al. 2022; upper end used (choice); bound: choice"
_SOURCES_NPRS = "Farrar et al. 2001 Pain 94:149 (2 points and 30%); Childs et al. 2005 Spine 30:1331"

_MEASURES: tuple[Measure, ...] = (
    Measure("pain_nprs", "Pain (NPRS 0-10)", "points", 0.0, 10.0, -1, "pain", 2.0, 0.30, False, _SOURCES_NPRS),
    Measure(
        "pain_vas",
        "Pain (VAS 0-100 mm)",
        "mm",
        0.0,
        100.0,
        -1,
        "pain",
        20.0,
        0.30,
        False,
        "NPRS rule x 10 (choice); Myles et al. 2017 Br J Anaesth 118:424",
    ),
    _rom("rom_cervical_rotation_left", "Cervical rotation, left", 100, 6.8, _CROM),
    _rom("rom_cervical_rotation_right", "Cervical rotation, right", 100, 6.8, _CROM),
    _rom("rom_cervical_flexion", "Cervical flexion", 90, 6.8, _CROM),
    _rom("rom_cervical_extension", "Cervical extension", 100, 6.8, _CROM),
    _rom("rom_cervical_lateral_flexion_left", "Cervical lateral flexion, left", 60, 6.8, _CROM),
    _rom("rom_cervical_lateral_flexion_right", "Cervical lateral flexion, right", 60, 6.8, _CROM),
    _rom(
        "rom_shoulder_flexion",
        "Shoulder flexion",
        190,
        15.0,
        "SDD about 15 deg, Tveita et al. 2008 BMC Musculoskelet Disord 9:49",
        sided=True,
    ),
    _rom(
        "rom_shoulder_abduction",
        "Shoulder abduction",
        190,
        15.0,
        "SDD about 15 deg, Tveita et al. 2008 BMC Musculoskelet Disord 9:49",
        sided=True,
    ),
    _rom(
        "rom_shoulder_external_rotation",
        "Shoulder external rotation",
        130,
        5.0,
        "MDC90 about 5 deg (inclinometer reliability studies)",
        sided=True,
    ),
    _rom(
        "rom_shoulder_internal_rotation",
        "Shoulder internal rotation",
        100,
        4.0,
        "MDC90 about 4 deg (inclinometer reliability studies)",
        sided=True,
    ),
    _rom("rom_elbow_flexion", "Elbow flexion", 165, 10.0, "5-10 deg (choice: 10)", sided=True),
    _rom(
        "rom_wrist_flexion", "Wrist flexion", 100, 12.0, "MDD 12-30 deg, Reissner et al. 2019 (lower end)", sided=True
    ),
    _rom(
        "rom_wrist_extension",
        "Wrist extension",
        100,
        12.0,
        "MDD 12-30 deg, Reissner et al. 2019 (lower end)",
        sided=True,
    ),
    _rom("rom_hip_flexion", "Hip flexion", 150, 10.0, "10 deg (choice); norms AAOS", sided=True),
    _rom(
        "rom_knee_flexion",
        "Knee flexion",
        165,
        10.0,
        "MDC95 2-10 deg (knee goniometry reliability studies; upper end)",
        sided=True,
    ),
    _rom("rom_slr_left", "Straight-leg raise, left", 120, 7.0, "MDD 6-7 deg (SLR inclinometer studies)"),
    _rom("rom_slr_right", "Straight-leg raise, right", 120, 7.0, "MDD 6-7 deg (SLR inclinometer studies)"),
    _rom(
        "rom_lumbar_flexion",
        "Lumbar flexion (dual inclinometer)",
        120,
        10.0,
        "degrees by dual inclinometer; 10 deg (choice)",
    ),
    Measure(
        "mouth_opening_mm",
        "Maximal mouth opening",
        "mm",
        0.0,
        75.0,
        1,
        "rom",
        9.0,
        None,
        False,
        "SDD 9 mm single measurement, Kropmans et al. 2000 J Oral Rehabil",
    ),
    Measure(
        "grip_strength_kg",
        "Grip strength",
        "kg",
        0.0,
        90.0,
        1,
        "strength",
        6.5,
        None,
        True,
        "MCID 5.0-6.5 kg, Bohannon 2019; Kim et al. 2014 (upper end)",
    ),
)

#: The built-in registry, keyed by code.  Read-only: use :func:`build_registry` to override.
REGISTRY: Mapping[str, Measure] = {m.code: m for m in _MEASURES}


def get_measure(code: str, registry: Mapping[str, Measure] | None = None) -> Measure:
    """Look a measure up by code.

    Raises
    ------
    OutcomesError
        With rule ``measure_registered`` when the code is unknown.

    Examples
    --------
    >>> get_measure("grip_strength_kg").kind
    'strength'
    """
    reg = REGISTRY if registry is None else registry
    try:
        return reg[code]
    except KeyError:
        raise OutcomesError(
            Problem("measure_registered", f"unknown measure code {code!r}", "registry", (), "measure")
        ) from None


def build_registry(
    overrides: Mapping[str, Mapping[str, Any]] | None = None, source: str = "plan"
) -> dict[str, Measure]:
    """The built-in registry with measures added or overridden (from a plan file).

    Parameters
    ----------
    overrides : mapping of code -> mapping of field -> value
        For an existing code, only the given fields change.  A new code must give
        every field except ``threshold_rel``, ``sided`` and ``source``.  Types and ranges
        are those of :class:`outcomes.spec.plan_schema.MeasureFields`.
    source : str
        Named in error messages.

    Raises
    ------
    OutcomesError
        Rule ``plan_measures``, one problem per field with its key path
        (``measures.rom_custom.upper``): a wrong type or range, an unknown field, a field
        missing from a new measure, ``lower`` not below ``upper`` once merged.

    Examples
    --------
    >>> reg = build_registry({"pain_nprs": {"threshold_abs": 1.0}})
    >>> reg["pain_nprs"].threshold_abs, REGISTRY["pain_nprs"].threshold_abs
    (1.0, 2.0)
    >>> build_registry({"rom_custom": {"label": "Custom", "upper": 180}})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    outcomes.errors.OutcomesError: The plan's measure definitions are invalid:
      - plan, column measures.rom_custom.unit: [plan_measures] measures.rom_custom.unit is required for a new measure...
    """

    reg = dict(REGISTRY)
    given, problems = measures_problems({} if overrides is None else overrides, source)
    for code, fields in given.items():
        col = f"measures.{code}"
        if code in reg:
            m = replace(reg[code], **fields)
        else:
            missing = [f for f in MEASURE_REQUIRED if f not in fields]
            problems += [
                Problem(
                    "plan_measures",
                    f"{col}.{f} is required for a new measure ({code} is not in the "
                    "built-in registry, docs/measures.md)",
                    source,
                    (),
                    f"{col}.{f}",
                )
                for f in missing
            ]
            if missing:
                continue
            m = Measure(code=code, **fields)
        if not m.lower < m.upper:
            end = "upper" if "upper" in fields else "lower"
            problems.append(
                Problem(
                    "plan_measures",
                    f"{col}.{end}: lower ({m.lower:g}) must be below upper ({m.upper:g})",
                    source,
                    (),
                    f"{col}.{end}",
                )
            )
            continue
        reg[code] = replace(
            m,
            lower=float(m.lower),
            upper=float(m.upper),
            threshold_abs=float(m.threshold_abs),
            direction=int(m.direction),
        )
    if problems:
        raise OutcomesError(problems, "The plan's measure definitions are invalid:")
    return reg


def measures_of_kind(kind: Kind, registry: Mapping[str, Measure] | None = None) -> list[str]:
    """Codes of all measures of one family, in registry order.

    Examples
    --------
    >>> measures_of_kind("strength")
    ['grip_strength_kg']
    """
    reg = REGISTRY if registry is None else registry
    return [c for c, m in reg.items() if m.kind == kind]


def registry_frame(registry: Mapping[str, Measure] | Iterable[Measure] | None = None) -> pd.DataFrame:
    """The registry as a tidy DataFrame (one row per measure), e.g. for docs.

    Examples
    --------
    >>> registry_frame().set_index("code").loc["pain_nprs", "threshold_abs"]
    np.float64(2.0)
    """

    reg = REGISTRY if registry is None else registry
    items = reg.values() if isinstance(reg, Mapping) else reg
    return pd.DataFrame([asdict(m) for m in items])


def registry_markdown(registry: Mapping[str, Measure] | None = None) -> str:
    """``docs/measures.md``: the registry as a Markdown table (a test keeps the file current).

    Examples
    --------
    >>> registry_markdown().splitlines()[0]
    '# Measure registry'
    """
    reg = REGISTRY if registry is None else registry
    lines = [
        "# Measure registry",
        "",
        "Generated from `outcomes.spec.measures` by `python -m outcomes.spec.measures > docs/measures.md`; "
        "do not edit.",
        "Hard bounds are data-error checks (outside = the file is refused); the threshold is the default",
        "improvement rule (MCID for pain and strength, MDC for range of motion). A plan's `measures:`",
        "section can override any field or add measures.",
        "",
        "| code | label | unit | bounds | better | kind | rule | sided | source |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in reg.values():
        rule = f">= {m.threshold_abs:g} {m.unit}"
        if m.threshold_rel is not None:
            rule += f" and >= {m.threshold_rel:.0%} of baseline"
        better = "lower" if m.direction < 0 else "higher"
        lines.append(
            f"| `{m.code}` | {m.label} | {m.unit} | {m.lower:g}-{m.upper:g} | {better} | {m.kind} "
            f"| {rule} | {'yes' if m.sided else 'no'} | {m.source} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(registry_markdown(), end="")
