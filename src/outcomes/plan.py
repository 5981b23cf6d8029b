"""The analysis plan: the claim's parameters, fixed before looking at the data.

A plan is a small YAML file (``plans/default.yaml``, documented in ``docs/plan.md``)
loaded into a frozen, validated :class:`Plan`.  Its canonical SHA-256 (of the
parsed, fully-resolved content, so comments and key order do not matter) goes
into every result.

Examples
--------
>>> plan = load_plan()
>>> plan.primary_measure, plan.k, plan.p0, plan.alpha
('pain_nprs', 3, 0.5, 0.05)
>>> len(plan.sha256)
64
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from .errors import OutcomesError, Problem
from .measures import REGISTRY, Measure, build_registry

__all__ = ["Plan", "load_plan", "plan_from_mapping", "DEFAULT_PLAN_PATH"]

DEFAULT_PLAN_PATH = Path(__file__).with_name("plans") / "default.yaml"

_TRAJECTORIES = ("log", "linear")


@dataclass(frozen=True)
class Plan:
    """A validated analysis plan.  Build with :func:`load_plan` or :func:`plan_from_mapping`.

    Attributes
    ----------
    primary_measure : str
        The primary claim's measure (default ``pain_nprs``).
    secondary_measures : tuple of str or None
        Secondary measures; ``None`` means every ROM measure present in the data.
    k : int
        "A few visits": improvement must be seen by visit ``k`` (visit 1 = baseline).
    p0 : float
        Share of episodes that must improve for the claim to hold.
    alpha : float
        One-sided significance level of the verdict.
    max_visit : int
        Last visit of the visits-to-improvement curve.
    min_cell_size : int
        Smallest count shown to a clinic reader (smaller ones are suppressed).
    seed, n_boot : int
        Bootstrap seed and number of resamples.
    trajectory : {"log", "linear"}
        Time scale of the mixed model.
    registry : dict of str -> Measure
        Measure registry with the plan's overrides applied.
    measures : dict
        The plan's ``measures`` section: registry overrides and additions (kept for the hash).
    other_claims : dict
        Settings of the clinic's other claims (strength, twitch, soreness, ...), validated by
        :func:`outcomes.other_claims.validate_other_claims`.
    """

    name: str = "default"
    description: str = ""
    primary_measure: str = "pain_nprs"
    secondary_measures: tuple[str, ...] | None = None
    k: int = 3
    p0: float = 0.5
    alpha: float = 0.05
    max_visit: int = 12
    min_cell_size: int = 11
    seed: int = 20261201
    n_boot: int = 2000
    trajectory: str = "log"
    registry: Mapping[str, Measure] = field(default_factory=lambda: dict(REGISTRY), compare=False)
    measures: Mapping[str, Any] = field(default_factory=dict)
    other_claims: Mapping[str, Any] = field(default_factory=dict)
    source: str = "<defaults>"

    @property
    def conf_level(self) -> float:
        """Two-sided level of the reported interval: its ends are the one-sided (1 - alpha) bounds.

        Examples
        --------
        >>> Plan().conf_level
        0.9
        """
        return round(1 - 2 * self.alpha, 10)

    def canonical(self) -> dict[str, Any]:
        """The plan's content as plain data (what is hashed and written to results)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in ("registry", "source"):
                continue
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @property
    def sha256(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`canonical` (sorted keys, no whitespace)."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def measure(self, code: str) -> Measure:
        """The (possibly overridden) registry entry for ``code``."""
        return self.registry[code]

    def with_(self, **changes: Any) -> Plan:
        """A copy with fields changed and re-validated (e.g. ``plan.with_(k=4)``).

        Examples
        --------
        >>> Plan().with_(k=4).k
        4
        """
        data = self.canonical() | changes
        return plan_from_mapping(data, source=self.source)


_KNOWN = {f.name for f in fields(Plan)} - {"registry", "source"}


def plan_from_mapping(data: Mapping[str, Any], source: str = "<mapping>") -> Plan:
    """Validate a mapping (parsed YAML) into a :class:`Plan`, reporting every bad field.

    Raises
    ------
    OutcomesError
        One problem per bad field, each naming the field (``column``) and the rule.

    Examples
    --------
    >>> plan_from_mapping({"k": 1, "p0": 1.5}, source="bad.yaml")
    Traceback (most recent call last):
    ...
    outcomes.errors.OutcomesError: The analysis plan bad.yaml is invalid:
      - bad.yaml, column k: [plan_k] k must be an integer >= 2 (visit 1 is the baseline), got 1
      - bad.yaml, column p0: [plan_p0] p0 must be a number strictly between 0 and 1, got 1.5
    """
    if not isinstance(data, Mapping):
        raise OutcomesError(Problem("plan_mapping", "a plan must be a YAML mapping of fields", source))
    problems: list[Problem] = []

    def bad(fieldname: str, rule: str, message: str) -> None:
        problems.append(Problem(rule, message, source, (), fieldname))

    unknown = sorted(set(data) - _KNOWN)
    for key in unknown:
        bad(str(key), "plan_field_known", f"unknown plan field {key!r}; known: {', '.join(sorted(_KNOWN))}")

    defaults = Plan()
    values: dict[str, Any] = {k: data.get(k, getattr(defaults, k)) for k in _KNOWN}

    registry: Mapping[str, Measure] = REGISTRY
    overrides = values.pop("measures") or {}
    try:
        registry = build_registry(overrides, source=source)
    except OutcomesError as exc:
        problems.extend(exc.problems)

    def integer(name: str, minimum: int, why: str) -> None:
        v = values[name]
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            bad(name, f"plan_{name}", f"{name} must be an integer >= {minimum}{why}, got {v!r}")

    integer("k", 2, " (visit 1 is the baseline)")
    integer("max_visit", 2, "")
    integer("min_cell_size", 1, "")
    integer("seed", 0, "")
    integer("n_boot", 100, "")
    if not problems and values["max_visit"] < values["k"] + 1:
        bad("max_visit", "plan_max_visit", "max_visit must be at least k + 1 (the k+1 sensitivity analysis)")

    def fraction(name: str, upper: float) -> None:
        v = values[name]
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < upper:
            bad(name, f"plan_{name}", f"{name} must be a number strictly between 0 and {upper:g}, got {v!r}")
        else:
            values[name] = float(v)

    fraction("p0", 1)
    fraction("alpha", 0.5)

    if values["trajectory"] not in _TRAJECTORIES:
        bad("trajectory", "plan_trajectory", f"trajectory must be one of {_TRAJECTORIES}")

    def measure_code(name: str, code: Any) -> None:
        if not isinstance(code, str) or code not in registry:
            bad(name, "plan_measure_registered", f"unknown measure {code!r} (see docs/measures.md)")

    measure_code("primary_measure", values["primary_measure"])
    sec = values["secondary_measures"]
    if sec in (None, "auto"):
        values["secondary_measures"] = None
    elif isinstance(sec, list | tuple):
        for code in sec:
            measure_code("secondary_measures", code)
        values["secondary_measures"] = tuple(sec)
    else:
        bad("secondary_measures", "plan_secondary_measures", "secondary_measures must be 'auto' or a list")

    for name in ("name", "description"):
        if not isinstance(values[name], str):
            bad(name, f"plan_{name}", f"{name} must be text")

    other = values["other_claims"]
    if not isinstance(other, Mapping):
        bad("other_claims", "plan_other_claims", "other_claims must be a mapping of claim -> settings")
    else:
        from .other_claims import validate_other_claims

        values["other_claims"] = dict(other)
        problems.extend(validate_other_claims(other, source))

    if problems:
        raise OutcomesError(problems, f"The analysis plan {source} is invalid:")
    return Plan(**values, registry=registry, measures=dict(overrides), source=source)


def load_plan(path: str | Path | None = None) -> Plan:
    """Read and validate a plan YAML file (default: the shipped ``plans/default.yaml``).

    Examples
    --------
    >>> load_plan().source.endswith("default.yaml")
    True
    """
    path = Path(path) if path is not None else DEFAULT_PLAN_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OutcomesError(Problem("file_exists", "plan file not found", str(path))) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise OutcomesError(Problem("file_readable", f"cannot read plan: {exc.__class__.__name__}",
                                    str(path))) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        rows = (mark.line + 1,) if mark is not None else ()
        raise OutcomesError(Problem("plan_yaml", f"not valid YAML ({getattr(exc, 'problem', exc)})",
                                    str(path), rows)) from None
    return plan_from_mapping(data or {}, source=str(path))


