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
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import yaml

from outcomes.errors import OutcomesError, Problem
from outcomes.safety.safe_yaml import load_yaml_file
from outcomes.spec.measures import REGISTRY, Measure, build_registry
from outcomes.spec.plan_schema import ImprovementEvent, KmInterval, describe_value, validate_plan

__all__ = ["DEFAULT_PLAN_PATH", "Plan", "load_plan", "plan_from_mapping"]

DEFAULT_PLAN_PATH = Path(__file__).with_name("plans") / "default.yaml"


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
    improvement_event : {"sustained", "once"}
        What counts as improved by visit ``k``: the rule met at a visit and still met at the next
        measurement (``sustained``, the default), or met at one visit (``once``); see
        :mod:`outcomes.episodes.core`.
    km_interval : {"likelihood-ratio", "log-log"}
        Interval of a Kaplan-Meier share at visit ``k`` and the one-sided test that inverts it:
        the Thomas-Grunkemeier likelihood-ratio interval (the default, which holds the size at
        the boundary; ``docs/calibration.md``) or the log-log (Greenwood) interval.
    dropout_ratio : float
        The verdict's assumption about the patients who stopped before visit ``k``: they improved
        at no less than this fraction of the rate of comparable patients who stayed (0 = the worst
        case, 1 = non-informative censoring).  "Supported" needs the share to exceed ``p0`` both by
        Kaplan-Meier and under this assumption (:mod:`outcomes.stats.dropout`).
    registry : dict of str -> Measure
        Measure registry with the plan's overrides applied.
    measures : dict
        The plan's ``measures`` section: registry overrides and additions (kept for the hash).
    other_claims : dict
        Settings of the clinic's other claims (strength, twitch, soreness, ...), validated by
        :func:`outcomes.spec.claim_settings.validate_other_claims`.
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
    trajectory: Literal["log", "linear"] = "log"
    improvement_event: ImprovementEvent = "sustained"
    km_interval: KmInterval = "likelihood-ratio"
    dropout_ratio: float = 0.5
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


def _top(problem: Problem) -> str:
    """The top-level plan field a problem is about (first part of its key path)."""
    return re.split(r"[.\[]", problem.column or "", maxsplit=1)[0]


def plan_from_mapping(data: Mapping[str, Any], source: str = "<mapping>") -> Plan:
    """Validate a mapping (parsed YAML) into a :class:`Plan`, reporting every bad field.

    The mapping is checked against the declared schema (:class:`outcomes.spec.plan_schema.PlanModel`:
    types, ranges, unknown keys, limits), then against the rules that need the registry or two
    fields at once: measure definitions (:func:`outcomes.spec.measures.build_registry`), measure codes
    registered, ``max_visit >= k + 1``.

    Raises
    ------
    OutcomesError
        Headed "The analysis plan X is invalid:", one problem per bad field, each naming the key
        path (``column``) and the rule.

    Examples
    --------
    >>> plan_from_mapping({"k": 1, "p0": 1.5}, source="bad.yaml")
    Traceback (most recent call last):
    ...
    outcomes.errors.OutcomesError: The analysis plan bad.yaml is invalid:
      - bad.yaml, column k: [plan_k] k must be an integer >= 2 (visit 1 is the baseline), got 1
      - bad.yaml, column p0: [plan_p0] p0 must be a number strictly between 0 and 1, got 1.5
    >>> plan_from_mapping([], source="list.yaml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    outcomes.errors.OutcomesError: ...[plan_mapping] a plan must be a YAML mapping of fields (e.g. `k: 3`), not a list
    """
    headline = f"The analysis plan {source} is invalid:"
    if not isinstance(data, Mapping):
        raise OutcomesError(
            Problem(
                "plan_mapping",
                f"a plan must be a YAML mapping of fields (e.g. `k: 3`), not {describe_value(data)}",
                source,
            ),
            headline,
        )
    model, problems = validate_plan(data, source)
    failed = {_top(p) for p in problems}

    registry: Mapping[str, Measure] = REGISTRY
    if "measures" not in failed:
        try:
            registry = build_registry(data.get("measures") or {}, source=source)
        except OutcomesError as exc:
            problems.extend(exc.problems)
            failed.add("measures")
    if model is not None and not problems and model.max_visit < model.k + 1:
        problems.append(
            Problem(
                "plan_max_visit",
                "max_visit must be at least k + 1 (the k+1 sensitivity analysis)",
                source,
                (),
                "max_visit",
            )
        )

    def registered(name: str, codes: list[Any]) -> None:
        unknown = [c for c in codes if c not in registry]
        if unknown:
            shown = ", ".join(describe_value(c) for c in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            problems.append(
                Problem(
                    "plan_measure_registered",
                    f"{name}: unknown measure {shown} (see docs/measures.md, or add it under measures:)",
                    source,
                    (),
                    name,
                )
            )

    if "measures" not in failed:  # codes are judged against the plan's own registry
        if "primary_measure" not in failed:
            registered("primary_measure", [data.get("primary_measure", Plan.primary_measure)])
        if "secondary_measures" not in failed and model is not None and model.secondary_measures:
            registered("secondary_measures", list(model.secondary_measures))
    if problems or model is None:
        raise OutcomesError(problems, headline)
    values = {name: getattr(model, name) for name in _KNOWN & set(data) - {"measures", "other_claims"}}
    return Plan(
        **values,
        registry=registry,
        measures=dict(data.get("measures") or {}),
        other_claims=dict(data.get("other_claims") or {}),
        source=source,
    )


def load_plan(path: str | Path | None = None) -> Plan:
    """Read and validate a plan YAML file (default: the shipped ``plans/default.yaml``).

    The file is read with :func:`outcomes.safety.safe_yaml.load_yaml_file`: a regular file of at most
    ``max_plan_bytes``, UTF-8, no duplicate key (``yaml_duplicate_key``), a bounded number of
    aliases. An empty file (or one of comments only) is the default plan; any other document that
    is not a mapping (``false``, ``[]``, ``3``, text) is refused (``plan_mapping``).

    Examples
    --------
    >>> load_plan().source.endswith("default.yaml")
    True
    """
    path = Path(path) if path is not None else DEFAULT_PLAN_PATH
    try:
        data = load_yaml_file(path, source=str(path), what="a plan YAML file")
    except (yaml.YAMLError, ValueError) as exc:
        # Not yet caught by safe_yaml: a control character refused by PyYAML's reader (raised before its
        # guard), an integer of more than 4,300 digits (ValueError from int()). Reported, never a traceback.
        reason = getattr(exc, "reason", None) or (
            "a number with too many digits" if isinstance(exc, ValueError) else "unreadable text"
        )
        raise OutcomesError(Problem("yaml_syntax", f"not valid YAML ({reason})", str(path))) from None
    return plan_from_mapping({} if data is None else data, source=str(path))
