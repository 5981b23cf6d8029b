"""The declared schema of an analysis plan: every field, its type, its range, its key path.

A plan (``docs/plan.md``) is parsed YAML; :class:`PlanModel` (pydantic v2, strict, no
unknown keys, finite numbers only) declares what it may hold, down to each ``measures:``
entry (:class:`MeasureFields`) and each claim of ``other_claims:``. :func:`plan_problems`
turns every breach into one :class:`~outcomes.errors.Problem` whose ``column`` is the key
path (``other_claims.soreness.hours``, ``measures.rom_custom.upper``) and whose rule is
``plan_<top-level field>`` (``plan_field_known`` for an unknown top-level key,
``plan_key_type`` for a key that is not text, ``limit_<name>`` for a value over a stated
limit of :mod:`outcomes.safety.limits`, such as ``n_boot`` over ``max_n_boot``).

Strict means: an integer field refuses ``true`` and ``3.0``; a number field refuses
``true`` and ``"0.5"``; a text field refuses ``5``; ``.nan`` and ``.inf`` are refused
everywhere. :func:`plan_json_schema` is the same schema as JSON Schema
(``docs/plan.schema.json``, kept current by a test; regenerate it with
``python -m outcomes.spec.plan_schema > docs/plan.schema.json``).

Cross-field rules (``max_visit >= k + 1``, measure codes registered, a new measure giving
every field, ``lower < upper`` once merged with the registry) need the registry and are
checked by :func:`outcomes.spec.plan.plan_from_mapping` and :func:`outcomes.spec.measures.build_registry`.

Examples
--------
>>> [str(p) for p in plan_problems({"k": True, "other_claims": {"soreness": {"hours": 400}}}, "p.yaml")]
... # doctest: +NORMALIZE_WHITESPACE
['p.yaml, column k: [plan_k] k must be an integer >= 2 (visit 1 is the baseline), got true',
 'p.yaml, column other_claims.soreness.hours: [plan_other_claims] other_claims.soreness.hours must be a number
  of hours in (0, 336], got 400']
"""

from __future__ import annotations

import json
import types
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from outcomes.errors import Problem
from outcomes.safety.limits import Limits, current_limits, limit_problem
from outcomes.safety.safe_yaml import key_path
from outcomes.spec.contract import SORENESS_MAX_HOURS, SORENESS_RESOLVED_HOURS

__all__ = [
    "IMPROVEMENT_EVENTS",
    "KM_INTERVALS",
    "MEASURE_CODE_PATTERN",
    "MEASURE_REQUIRED",
    "ClaimSettings",
    "ConditionsSettings",
    "EarlySettings",
    "ImprovementEvent",
    "KmInterval",
    "MeasureFields",
    "OtherClaimsModel",
    "PlanModel",
    "SorenessSettings",
    "default_other_claims",
    "describe_value",
    "key_problems",
    "measures_problems",
    "other_claims_problems",
    "plan_json_schema",
    "plan_problems",
    "validate_plan",
]

#: What counts as improvement (docs/plan.md): the rule met at one visit, or met and still met at the
#: next measurement ("sustained", the default).
ImprovementEvent = Literal["once", "sustained"]
IMPROVEMENT_EVENTS: tuple[ImprovementEvent, ...] = ("once", "sustained")
#: The interval (and the one-sided test inverting it) of a Kaplan-Meier share at visit k
#: (docs/calibration.md: the likelihood-ratio interval holds the size at the boundary).
KmInterval = Literal["likelihood-ratio", "log-log"]
KM_INTERVALS: tuple[KmInterval, ...] = ("likelihood-ratio", "log-log")

#: A measure code: snake_case, starting with a letter, at most 64 characters.
MEASURE_CODE_PATTERN = r"^[a-z][a-z0-9_]*$"
_CODE_CHARS = 64
#: Fields a measure *added* by a plan must give (the others have defaults).
MEASURE_REQUIRED: tuple[str, ...] = ("label", "unit", "lower", "upper", "direction", "kind", "threshold_abs")

_CONFIG = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)
_MAX_COUNT = 1_000_000_000  # counts (cell size): far beyond any clinic, small enough for every integer type


def _one_of(*allowed: Any) -> tuple[PlainValidator, WithJsonSchema]:
    """A value equal to one of ``allowed`` *and of its type* (``true`` is not ``1``, ``1.0`` not ``1``):
    the metadata of a field ``Annotated[Any, *_one_of(...)]``.

    Written by hand because ``typing.Literal`` compares with ``==`` (so ``True`` passes as ``1``).
    """

    def check(value: Any) -> Any:
        if not any(type(value) is type(a) and value == a for a in allowed):
            raise PydanticCustomError("plan_choice", "not one of the allowed values")
        return value

    return PlainValidator(check), WithJsonSchema({"enum": list(allowed)})


def _at_most(limit: str) -> AfterValidator:
    """Refuse a value over the stated limit ``limit`` (read when the plan is validated, not imported)."""

    def check(value: int) -> int:
        if value > getattr(current_limits(), limit):
            raise PydanticCustomError(f"limit_{limit}", "over the limit")
        return value

    return AfterValidator(check)


_Code = Annotated[str, StringConstraints(pattern=MEASURE_CODE_PATTERN, max_length=_CODE_CHARS)]


def _secondary(value: Any) -> tuple[str, ...] | None:
    if value is None or (type(value) is str and value == "auto"):
        return None
    if isinstance(value, list | tuple) and all(type(c) is str for c in value):
        return tuple(value)
    raise PydanticCustomError("plan_secondary", "not auto or a list of codes")


_Secondary = Annotated[
    Any,
    PlainValidator(_secondary),
    WithJsonSchema({"anyOf": [{"const": "auto"}, {"type": "null"}, {"type": "array", "items": {"type": "string"}}]}),
]
_VisitNumber = Annotated[
    int, Field(ge=2, json_schema_extra={"maximum": Limits().max_visit_number}), _at_most("max_visit_number")
]


def _codes_only(schema: dict[str, Any]) -> None:
    """JSON Schema of ``measures:``: keys are measure codes only (pydantic states the pattern of the
    keys it accepts but not that other keys are refused)."""
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "object":
            branch["additionalProperties"] = False
            branch["propertyNames"] = {"pattern": MEASURE_CODE_PATTERN, "maxLength": _CODE_CHARS}


class MeasureFields(BaseModel):
    """One entry of ``measures:``: fields overriding a registered measure, or defining a new one.

    For a registered code only the given fields change; a new code must give
    :data:`MEASURE_REQUIRED` (checked by :func:`outcomes.spec.measures.build_registry`).
    """

    model_config = _CONFIG

    # Defaults (None) mean "not given" and are never validated; a null written in the plan is
    # validated, so it is refused except for threshold_rel (null = no relative rule). pydantic's
    # stub types Field(None) as None, which no annotation of what a plan may write can hold: hence
    # the ignore[assignment] on those fields.
    label: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        None,  # type: ignore[assignment]
        description="text of 1 to 200 characters (the name shown in reports)",
    )
    unit: Annotated[str, StringConstraints(min_length=1, max_length=50)] = Field(
        None,  # type: ignore[assignment]
        description="text of 1 to 50 characters",
    )
    lower: float = Field(None, description="a finite number (hard lower bound, inclusive)")  # type: ignore[assignment]
    upper: float = Field(None, description="a finite number above lower (hard upper bound, inclusive)")  # type: ignore[assignment]
    direction: Annotated[Any, *_one_of(-1, 1)] = Field(None, description="-1 (lower is better) or 1 (higher is better)")
    kind: Annotated[Any, *_one_of("pain", "rom", "strength")] = Field(None, description="pain, rom or strength")
    threshold_abs: float = Field(None, gt=0, description="a number > 0 (MCID or MDC, in the unit)")  # type: ignore[assignment]
    threshold_rel: float | None = Field(None, gt=0, lt=1, description="a fraction in (0, 1) of baseline, or null")
    sided: bool = Field(None, description="true or false (the data must give side left/right)")  # type: ignore[assignment]
    source: Annotated[str, StringConstraints(max_length=1000)] = Field(
        None,  # type: ignore[assignment]
        description="text of at most 1,000 characters (where the rule comes from)",
    )


class ClaimSettings(BaseModel):
    """Settings every other claim has."""

    model_config = _CONFIG

    enabled: Annotated[Any, *_one_of("auto", True, False)] = Field(
        "auto", description="auto, true or false (auto: run when the data has the needed columns)"
    )


class SorenessSettings(ClaimSettings):
    """``other_claims.soreness``."""

    hours: float = Field(
        SORENESS_RESOLVED_HOURS,
        gt=0,
        le=SORENESS_MAX_HOURS,
        description=f"a number of hours in (0, {SORENESS_MAX_HOURS:g}]",
    )
    share: float = Field(0.90, gt=0, lt=1, description="a number in (0, 1)")


class EarlySettings(ClaimSettings):
    """``other_claims.early``."""

    knee: _VisitNumber = Field(3, description="an integer visit number >= 2 (at most max_visit_number)")


class ConditionsSettings(ClaimSettings):
    """``other_claims.conditions``."""

    adjust: Annotated[Any, *_one_of("holm", "bh")] = Field("bh", description="'holm' or 'bh'")


class OtherClaimsModel(BaseModel):
    """``other_claims:``: one optional mapping of settings per claim (``null`` = the defaults)."""

    model_config = _CONFIG

    strength: ClaimSettings | None = Field(None, description="a mapping of settings (enabled)")
    twitch: ClaimSettings | None = Field(None, description="a mapping of settings (enabled)")
    soreness: SorenessSettings | None = Field(None, description="a mapping of settings (enabled, hours, share)")
    combined: ClaimSettings | None = Field(None, description="a mapping of settings (enabled)")
    early: EarlySettings | None = Field(None, description="a mapping of settings (enabled, knee)")
    conditions: ConditionsSettings | None = Field(None, description="a mapping of settings (enabled, adjust)")


class PlanModel(BaseModel):
    """The whole plan file (``docs/plan.md``); every field optional, with the defaults shown."""

    model_config = ConfigDict(**_CONFIG, title="outcomes analysis plan")

    name: Annotated[str, StringConstraints(max_length=200)] = Field(
        "default", description="text of at most 200 characters"
    )
    description: Annotated[str, StringConstraints(max_length=10_000)] = Field(
        "", description="text of at most 10,000 characters"
    )
    primary_measure: _Code = Field("pain_nprs", description="a registered measure code (snake_case)")
    secondary_measures: _Secondary = Field(
        None, description="'auto' (every ROM measure present in the data) or a list of registered measure codes"
    )
    k: _VisitNumber = Field(3, description="an integer >= 2 (visit 1 is the baseline)")
    p0: float = Field(0.5, gt=0, lt=1, description="a number strictly between 0 and 1")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="a number strictly between 0 and 0.5")
    max_visit: _VisitNumber = Field(12, description="an integer >= k + 1 (at most max_visit_number)")
    min_cell_size: int = Field(11, ge=1, le=_MAX_COUNT, description=f"an integer from 1 to {_MAX_COUNT:,}")
    seed: int = Field(20261201, ge=0, le=2**63 - 1, description="an integer from 0 to 2**63 - 1")
    n_boot: Annotated[
        int, Field(ge=100, json_schema_extra={"maximum": Limits().max_n_boot}), _at_most("max_n_boot")
    ] = Field(2000, description="an integer >= 100 (at most max_n_boot, 100,000 unless raised)")
    trajectory: Annotated[Any, *_one_of("log", "linear")] = Field("log", description="log or linear")
    improvement_event: Annotated[Any, *_one_of(*IMPROVEMENT_EVENTS)] = Field(
        "sustained",
        description="sustained (the rule met and still met at the next measurement) or once (met at one visit)",
    )
    dropout_ratio: float = Field(
        0.5,
        ge=0,
        le=1,
        description="a number from 0 to 1: the rate at which patients who stopped early are assumed to improve, "
        "relative to comparable patients who stayed (0: not at all; 1: alike)",
    )
    km_interval: Annotated[Any, *_one_of(*KM_INTERVALS)] = Field(
        "likelihood-ratio",
        description="likelihood-ratio (Thomas-Grunkemeier) or log-log (Greenwood): the Kaplan-Meier interval and test",
    )
    measures: dict[_Code, MeasureFields] | None = Field(
        None,
        description="a mapping of measure code -> fields (override or add measures; docs/measures.md)",
        json_schema_extra=_codes_only,
    )
    other_claims: OtherClaimsModel | None = Field(
        None, description="a mapping of claim -> settings (docs/other-claims.md)"
    )


# --------------------------------------------------------------------------- errors -> Problems


def describe_value(value: Any) -> str:
    """A short description of a plan value for a message (never a long text, never a huge number).

    Examples
    --------
    >>> describe_value(True), describe_value(2.5), describe_value("x" * 50), describe_value(10 ** 5000)
    ('true', '2.5', "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... (50 characters)", 'a number of about 5,001 digits')
    """
    if value is None:
        return "null (empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if value.bit_length() < 64:
            return repr(value)
        return f"a number of about {int(value.bit_length() * 0.30103) + 1:,} digits"  # str() of it may be refused
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else f"{value[:30]!r}... ({len(value):,} characters)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a value of type {type(value).__name__}"


def _inner(annotation: Any) -> Any:
    """The model (or ``dict`` of models) a field holds, through ``Optional`` and ``Annotated``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is types.UnionType:
            args = [a for a in get_args(annotation) if a is not type(None)]
            annotation = args[0] if len(args) == 1 else Any
        else:
            break
    if get_origin(annotation) is dict:
        return ("dict", _inner(get_args(annotation)[1]))
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _lookup(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[FieldInfo | None, type[BaseModel] | None]:
    """The field at key path ``loc`` and the model holding it (``None`` when the path leaves the schema)."""
    current: Any = model
    info, parent = None, None
    for key in loc:
        if isinstance(current, tuple):  # a dict of models: this key is the entry's name
            current = current[1]
            continue
        if current is None:
            return None, None
        parent, info = current, current.model_fields.get(key) if isinstance(key, str) else None
        if info is None:
            return None, parent
        current = _inner(info.annotation)
    return info, parent


def _problems(exc: ValidationError, source: str, model: type[BaseModel], prefix: tuple[Any, ...] = ()) -> list[Problem]:
    """One Problem per pydantic error, in schema order, naming the key path (never pydantic's wording)."""
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        loc = tuple(part for part in error["loc"] if part != "[key]")
        full = (*prefix, *loc)
        path = key_path(list(full))
        kind = error["type"]
        top = full[0] if full else ""
        rule = f"plan_{top}" if full else "plan_mapping"
        if kind.startswith("limit_"):
            value = error["input"]
            problems.append(
                limit_problem(kind.removeprefix("limit_"), f"{path} is {describe_value(value)}", source, column=path)
            )
            continue
        if "[key]" in error["loc"]:
            problems.append(
                Problem(
                    rule,
                    f"{path}: a measure code must be snake_case (lower-case letters, digits "
                    f"and _, starting with a letter) of at most {_CODE_CHARS} characters",
                    source,
                    (),
                    path,
                )
            )
            continue
        if kind == "extra_forbidden":
            _, parent = _lookup(model, loc)
            known = ", ".join(parent.model_fields) if parent is not None else ""
            if len(full) == 1:
                rule, what = "plan_field_known", f"unknown plan field {describe_value(full[-1])}"
            else:
                what = f"unknown key {path}"
            problems.append(Problem(rule, f"{what}; known: {known}", source, (), path))
            continue
        info, _ = _lookup(model, loc)
        description = info.description if info is not None and info.description else "of the declared type"
        problems.append(
            Problem(rule, f"{path} must be {description}, got {describe_value(error['input'])}", source, (), path)
        )
    return problems


def key_problems(data: Any, source: str, prefix: tuple[Any, ...] = ()) -> list[Problem]:
    """Keys that are not text, anywhere in ``data`` (YAML reads ``1:``, ``yes:``, ``2024-01-01:`` as others).

    Examples
    --------
    >>> [str(p) for p in key_problems({"measures": {5: {}}}, "p.yaml")]  # doctest: +NORMALIZE_WHITESPACE
    ['p.yaml, column measures.5: [plan_key_type] the key 5 is not text: plan keys are names (k, p0,
      measure codes ...)']
    """
    problems: list[Problem] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(data, prefix)]
    while stack:  # iterative: a deep plan cannot exhaust the stack
        node, path = stack.pop()
        if isinstance(node, Mapping):
            for key, value in node.items():
                if isinstance(key, str):
                    stack.append((value, (*path, key)))
                    continue
                name = describe_value(key).removeprefix("a value of type ")
                problems.append(
                    Problem(
                        "plan_key_type",
                        f"the key {describe_value(key)} is not text: plan keys are names (k, p0, measure codes ...)",
                        source,
                        (),
                        key_path([*path, name]),
                    )
                )
        elif isinstance(node, list | tuple):
            stack.extend((item, (*path, i)) for i, item in enumerate(node))
    return sorted(problems, key=lambda p: p.column or "")


def validate_plan(data: Mapping[str, Any], source: str) -> tuple[PlanModel | None, list[Problem]]:
    """The plan as :class:`PlanModel`, or ``None`` and every breach of the schema.

    Examples
    --------
    >>> validate_plan({"k": 4}, "p.yaml")[0].k
    4
    """
    problems = key_problems(data, source)
    if problems:
        return None, problems
    try:
        return PlanModel.model_validate(dict(data)), []
    except ValidationError as exc:
        return None, _problems(exc, source, PlanModel)


def plan_problems(data: Mapping[str, Any], source: str) -> list[Problem]:
    """Every breach of :class:`PlanModel` in a parsed plan (empty: the plan meets the schema).

    Examples
    --------
    >>> plan_problems({"k": 4, "trajectory": "log"}, "p.yaml")
    []
    >>> [p.rule for p in plan_problems({"measures": ["pain_nprs"], "n_boot": 10**9}, "p.yaml")]
    ['limit_max_n_boot', 'plan_measures']
    """
    return validate_plan(data, source)[1]


class _Measures(BaseModel):  # the measures mapping as a model, so that key paths resolve through it
    model_config = _CONFIG
    measures: dict[_Code, MeasureFields]


class _OtherClaims(BaseModel):
    model_config = _CONFIG
    other_claims: OtherClaimsModel


def measures_problems(measures: Any, source: str) -> tuple[dict[str, dict[str, Any]], list[Problem]]:
    """The ``measures:`` section validated: ``{code: fields given}`` (validated values), and the problems.

    Examples
    --------
    >>> measures_problems({"pain_nprs": {"upper": 20}}, "p.yaml")
    ({'pain_nprs': {'upper': 20.0}}, [])
    >>> [p.column for p in measures_problems({"rom_x": {"uper": 1}}, "p.yaml")[1]]
    ['measures.rom_x.uper']
    """
    problems = key_problems(measures, source, ("measures",))
    if problems:
        return {}, problems
    try:
        parsed = _Measures.model_validate({"measures": measures}).measures
    except ValidationError as exc:
        return {}, _problems(exc, source, _Measures)
    return {code: fields.model_dump(exclude_unset=True) for code, fields in parsed.items()}, []


def other_claims_problems(other_claims: Any, source: str) -> list[Problem]:
    """Every breach of :class:`OtherClaimsModel` in a plan's ``other_claims:`` section.

    Examples
    --------
    >>> [p.column for p in other_claims_problems({"twitch": {"enabled": "yes"}, "x": {}}, "p.yaml")]
    ['other_claims.twitch.enabled', 'other_claims.x']
    """
    problems = key_problems(other_claims, source, ("other_claims",))
    if problems:
        return problems
    try:
        _OtherClaims.model_validate({"other_claims": other_claims})
    except ValidationError as exc:
        return _problems(exc, source, _OtherClaims)
    return []


def default_other_claims() -> dict[str, dict[str, Any]]:
    """Each claim's default settings, from the schema.

    Examples
    --------
    >>> default_other_claims()["soreness"]
    {'enabled': 'auto', 'hours': 48.0, 'share': 0.9}
    """
    out = {}
    for claim, info in OtherClaimsModel.model_fields.items():
        out[claim] = _inner(info.annotation)().model_dump()
    return out


def plan_json_schema() -> dict[str, Any]:
    """The plan schema as JSON Schema (draft 2020-12), as checked in at ``docs/plan.schema.json``.

    Limits that can be raised (``n_boot``, visit numbers) show their default maximum.

    Examples
    --------
    >>> schema = plan_json_schema()
    >>> schema["additionalProperties"], schema["properties"]["k"]["minimum"]
    (False, 2)
    """
    schema = PlanModel.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(plan_json_schema(), indent=2))
