"""Analysis plan: the declared schema (shapes, types, key paths, limits), safe YAML, hash, end to end."""

import json
import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes.analysis import analyse
from outcomes.errors import OutcomesError
from outcomes.ingest.synth import SynthParams, simulate_visits
from outcomes.spec.plan import DEFAULT_PLAN_PATH, Plan, load_plan, plan_from_mapping
from outcomes.spec.plan_schema import PlanModel, default_other_claims, plan_json_schema

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_FILE = ROOT / "docs" / "plan.schema.json"
ROM_CUSTOM = {
    "label": "Custom ROM",
    "unit": "degrees",
    "lower": 0,
    "upper": 180,
    "direction": 1,
    "kind": "rom",
    "threshold_abs": 8,
}


def _problems(data, source="bad.yaml"):
    with pytest.raises(OutcomesError) as exc:
        plan_from_mapping(data, source=source)
    assert exc.value.headline == f"The analysis plan {source} is invalid:"
    return exc.value.problems


def _plan_file(tmp_path, text, name="plan.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_default_plan_values_from_reference():
    plan = load_plan(ROOT / "plans" / "default.yaml")
    assert (plan.primary_measure, plan.k, plan.p0, plan.alpha, plan.min_cell_size) == ("pain_nprs", 3, 0.5, 0.05, 11)
    assert plan.secondary_measures is None  # auto: every ROM measure present
    assert plan.sha256 == load_plan(DEFAULT_PLAN_PATH).sha256
    assert (ROOT / "plans" / "default.yaml").read_bytes() == DEFAULT_PLAN_PATH.read_bytes()


def test_default_plan_hash_is_unchanged():
    # written into results.json and notebook outputs: a change here must be deliberate
    # (P9: improvement_event (sustained), km_interval (likelihood-ratio) and dropout_ratio (0.5) added)
    assert load_plan().sha256 == "1c4fe096b574aea757c7479e6322781d156ee8c0343203dcad79286051f02a08"
    assert Plan().sha256 == "ca3561ea0dbb41d11c6ed8d044ba443a5334afd1c9ee480e931adbea45a628b1"


def test_hash_ignores_comments_and_order_but_not_content(tmp_path):
    a = _plan_file(tmp_path, "k: 3\np0: 0.5\n", "a.yaml")
    b = _plan_file(tmp_path, "# comment\np0: 0.50\nk: 3\n", "b.yaml")
    c = _plan_file(tmp_path, "p0: 0.6\nk: 3\n", "c.yaml")
    assert load_plan(a).sha256 == load_plan(b).sha256 != load_plan(c).sha256
    assert load_plan(a).sha256 == Plan().sha256  # same as defaults


def test_measure_override_changes_hash_and_registry():
    plan = plan_from_mapping({"measures": {"pain_nprs": {"threshold_abs": 1.0}}})
    assert plan.measure("pain_nprs").threshold_abs == 1.0
    assert plan.sha256 != Plan().sha256


def test_schema_defaults_are_the_plan_defaults():
    model, plan = PlanModel(), Plan()
    for name in (
        "name",
        "description",
        "primary_measure",
        "secondary_measures",
        "k",
        "p0",
        "alpha",
        "max_visit",
        "min_cell_size",
        "seed",
        "n_boot",
        "trajectory",
    ):
        assert getattr(model, name) == getattr(plan, name), name
    assert default_other_claims()["soreness"] == {"enabled": "auto", "hours": 48.0, "share": 0.9}
    assert default_other_claims()["early"]["knee"] == 3


@pytest.mark.parametrize(
    "data, field, rule",
    [
        ({"primary_measure": "pain_score"}, "primary_measure", "plan_measure_registered"),
        ({"secondary_measures": ["rom_neck"]}, "secondary_measures", "plan_measure_registered"),
        ({"secondary_measures": "all"}, "secondary_measures", "plan_secondary_measures"),
        ({"secondary_measures": [1, 2]}, "secondary_measures", "plan_secondary_measures"),
        ({"k": 1}, "k", "plan_k"),
        ({"k": 2.5}, "k", "plan_k"),
        ({"k": 3.0}, "k", "plan_k"),  # an integer field refuses floats, even whole ones
        ({"k": True}, "k", "plan_k"),  # ... and booleans
        ({"k": "3"}, "k", "plan_k"),
        ({"seed": False}, "seed", "plan_seed"),
        ({"seed": -1}, "seed", "plan_seed"),
        ({"n_boot": 2000.0}, "n_boot", "plan_n_boot"),
        ({"n_boot": 50}, "n_boot", "plan_n_boot"),
        ({"min_cell_size": 0}, "min_cell_size", "plan_min_cell_size"),
        ({"min_cell_size": 10**40}, "min_cell_size", "plan_min_cell_size"),
        ({"max_visit": 3}, "max_visit", "plan_max_visit"),
        ({"p0": 0}, "p0", "plan_p0"),
        ({"p0": 1.2}, "p0", "plan_p0"),
        ({"p0": True}, "p0", "plan_p0"),
        ({"p0": "0.5"}, "p0", "plan_p0"),
        ({"p0": float("nan")}, "p0", "plan_p0"),
        ({"alpha": 0.6}, "alpha", "plan_alpha"),
        ({"alpha": float("inf")}, "alpha", "plan_alpha"),
        ({"name": 5}, "name", "plan_name"),
        ({"name": "x" * 300}, "name", "plan_name"),
        ({"description": ["a"]}, "description", "plan_description"),
        ({"trajectory": "cubic"}, "trajectory", "plan_trajectory"),
        ({"colour": "blue"}, "colour", "plan_field_known"),
        ({"measures": ["pain_nprs"]}, "measures", "plan_measures"),
        ({"measures": "pain_nprs"}, "measures", "plan_measures"),
        ({"measures": {"pain_nprs": {"threshold_abs": -2}}}, "measures.pain_nprs.threshold_abs", "plan_measures"),
        ({"measures": {"pain_nprs": {"colour": 1}}}, "measures.pain_nprs.colour", "plan_measures"),
        ({"measures": {"rom_custom": {**ROM_CUSTOM, "upper": -5}}}, "measures.rom_custom.upper", "plan_measures"),
        ({"measures": {"rom_custom": {**ROM_CUSTOM, "upper": "180"}}}, "measures.rom_custom.upper", "plan_measures"),
        ({"measures": {"rom_custom": {"label": "x"}}}, "measures.rom_custom.unit", "plan_measures"),
        ({"measures": {"m" * 300: ROM_CUSTOM}}, "measures." + "m" * 300, "plan_measures"),
        ({"measures": {1: ROM_CUSTOM, "pain_nprs": {}}}, "measures.1", "plan_key_type"),
        ({1: 2, "k": 3}, "1", "plan_key_type"),
        ({"other_claims": []}, "other_claims", "plan_other_claims"),
        ({"other_claims": {"soreness": {"hours": 400}}}, "other_claims.soreness.hours", "plan_other_claims"),
        ({"other_claims": {"soreness": {"hours": True}}}, "other_claims.soreness.hours", "plan_other_claims"),
        ({"other_claims": {"soreness": {"minutes": 4}}}, "other_claims.soreness.minutes", "plan_other_claims"),
        ({"other_claims": {"soreness": [1]}}, "other_claims.soreness", "plan_other_claims"),
        ({"other_claims": {"twitch": {"enabled": 1}}}, "other_claims.twitch.enabled", "plan_other_claims"),
        ({"other_claims": {"early": {"knee": 2.0}}}, "other_claims.early.knee", "plan_other_claims"),
        ({"other_claims": {"mood": {}}}, "other_claims.mood", "plan_other_claims"),
        ({"other_claims": {"early": {3: 4}}}, "other_claims.early.3", "plan_key_type"),
    ],
)
def test_bad_plans_name_the_key_path(data, field, rule):
    problems = _problems(data)
    problem = next(p for p in problems if p.column == field)
    assert problem.rule == rule and problem.source == "bad.yaml"
    if rule not in ("plan_key_type", "plan_field_known"):
        assert field[:40] in problem.message  # the key path is in the message too


def test_key_paths_and_values_in_messages():
    text = str(
        OutcomesError(
            _problems(
                {"other_claims": {"soreness": {"hours": 400}}, "measures": {"rom_custom": {**ROM_CUSTOM, "upper": "a"}}}
            )
        )
    )
    assert "other_claims.soreness.hours must be a number of hours in (0, 336], got 400" in text
    assert "measures.rom_custom.upper must be a finite number" in text
    long = str(OutcomesError(_problems({"name": "y" * 5000})))
    assert "5,000 characters" in long and "y" * 100 not in long  # a long value is never printed whole


@pytest.mark.parametrize("n_boot", [100_001, 1_000_000_000])
def test_n_boot_capped_with_a_way_to_raise_it(n_boot, monkeypatch):
    problem = _problems({"n_boot": n_boot})[0]
    assert problem.rule == "limit_max_n_boot" and problem.column == "n_boot"
    assert "OUTCOMES_MAX_N_BOOT" in problem.message and "100,000" in problem.message
    monkeypatch.setenv("OUTCOMES_MAX_N_BOOT", str(n_boot))
    assert plan_from_mapping({"n_boot": n_boot}).n_boot == n_boot


def test_visit_numbers_capped_by_the_limit(monkeypatch):
    assert _problems({"max_visit": 20_000})[0].rule == "limit_max_visit_number"
    assert _problems({"other_claims": {"early": {"knee": 10**12}}})[0].column == "other_claims.early.knee"
    monkeypatch.setenv("OUTCOMES_MAX_VISIT_NUMBER", "30000")
    assert plan_from_mapping({"max_visit": 20_000}).max_visit == 20_000


def test_all_problems_reported_at_once():
    with pytest.raises(OutcomesError) as exc:
        plan_from_mapping({"k": 0, "p0": 2, "primary_measure": "x"})
    assert {"plan_k", "plan_p0", "plan_measure_registered"} <= set(exc.value.rules)


@pytest.mark.parametrize("data", [False, True, [], [1, 2], 0, 3, 1.5, "k: 3", "", None])
def test_a_plan_that_is_not_a_mapping_is_refused(data):
    problems = _problems(data)
    assert [p.rule for p in problems] == ["plan_mapping"]


@pytest.mark.parametrize("text", ["false\n", "[]\n", "- 1\n- 2\n", "3\n", "just text\n", "''\n", "0\n", "!!str\n"])
def test_plan_files_that_are_not_mappings_are_refused(tmp_path, text):
    # `false` and `[]` used to run the default plan silently
    with pytest.raises(OutcomesError) as exc:
        load_plan(_plan_file(tmp_path, text))
    assert exc.value.rules == ("plan_mapping",)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n", "~\n", "{}\n"])
def test_an_empty_plan_file_is_the_default_plan(tmp_path, text):
    assert load_plan(_plan_file(tmp_path, text)).sha256 == Plan().sha256


def test_duplicate_key_refused_not_last_kept(tmp_path):
    with pytest.raises(OutcomesError) as exc:
        load_plan(_plan_file(tmp_path, "k: 3\np0: 0.5\nk: 4\n"))
    problem = exc.value.problems[0]
    assert (problem.rule, problem.column, problem.rows) == ("yaml_duplicate_key", "k", (3,))
    with pytest.raises(OutcomesError) as exc:
        load_plan(_plan_file(tmp_path, "other_claims:\n  soreness: {hours: 48, hours: 24}\n"))
    assert exc.value.problems[0].column == "other_claims.soreness.hours"


def test_alias_bomb_refused(tmp_path):
    levels = [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    bomb = "l0: &l0 [x]\n" + "\n".join(levels) + "\n"
    with pytest.raises(OutcomesError) as exc:
        load_plan(_plan_file(tmp_path, bomb))
    assert exc.value.rules == ("limit_max_yaml_aliases",)


def test_plan_size_limited(tmp_path, monkeypatch):
    path = _plan_file(tmp_path, "description: " + "x" * 2000 + "\n")
    monkeypatch.setenv("OUTCOMES_MAX_PLAN_BYTES", "1000")
    with pytest.raises(OutcomesError) as exc:
        load_plan(path)
    assert exc.value.rules == ("limit_max_plan_bytes",)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_fifo_plan_refused_without_hanging(tmp_path):
    fifo = tmp_path / "plan.yaml"
    os.mkfifo(fifo)
    outcome = {}

    def run():
        try:
            load_plan(fifo)
        except OutcomesError as exc:
            outcome["rules"] = exc.rules

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():  # a regression: unblock the reader, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("load_plan blocked on a FIFO")
    assert outcome["rules"] == ("regular_file",)


def test_bad_yaml_and_missing_file(tmp_path):
    with pytest.raises(OutcomesError, match="yaml_syntax"):
        load_plan(_plan_file(tmp_path, "k: [3\n"))
    with pytest.raises(OutcomesError, match="file_exists"):
        load_plan(tmp_path / "missing.yaml")
    with pytest.raises(OutcomesError, match="not_a_directory"):
        load_plan(tmp_path)
    for text in ("k: 1" + "0" * 5000 + "\n", "\x01k: 3\n", "name: a\x1f\n"):  # int() limit, control characters
        with pytest.raises(OutcomesError) as exc:
            load_plan(_plan_file(tmp_path, text, "odd.yaml"))
        assert exc.value.rules == ("yaml_syntax",)
    with pytest.raises(OutcomesError, match="encoding_utf8"):
        (tmp_path / "latin1.yaml").write_bytes("name: caf\u00e9\n".encode("latin-1"))
        load_plan(tmp_path / "latin1.yaml")


def test_plan_is_frozen():
    with pytest.raises(AttributeError):
        Plan().k = 4  # type: ignore[misc]


def test_with_revalidates():
    assert Plan().with_(k=4).k == 4
    with pytest.raises(OutcomesError):
        Plan().with_(k=True)


# --- the JSON Schema ---------------------------------------------------------------------------


def test_json_schema_file_is_current():
    assert SCHEMA_FILE.read_text() == json.dumps(plan_json_schema(), indent=2) + "\n", (
        "regenerate with: python -m outcomes.spec.plan_schema > docs/plan.schema.json"
    )


def test_json_schema_accepts_the_default_plan_and_refuses_bad_shapes():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors(yaml.safe_load(DEFAULT_PLAN_PATH.read_text())))
    assert not list(validator.iter_errors({"measures": {"rom_custom": ROM_CUSTOM}}))
    for bad in (
        {"k": True},
        {"measures": ["pain_nprs"]},
        {"colour": 1},
        {"other_claims": {"soreness": {"hours": 400}}},
        {"measures": {"Bad Code": {}}},
        {"trajectory": "cubic"},
    ):
        assert list(validator.iter_errors(bad)), bad


# --- measures: additions and overrides, end to end ---------------------------------------------


def _visits_with(measure_code: str, n_episodes: int = 60, seed: int = 5) -> pd.DataFrame:
    """Simulated visits where one ROM measure is renamed to ``measure_code`` (a plan-only measure)."""
    visits = simulate_visits(SynthParams(n_episodes=n_episodes), seed=seed).visits
    return visits.assign(measure=visits["measure"].replace("rom_cervical_flexion", measure_code))


def test_plan_addition_loads_and_is_analysed_as_a_secondary_claim(tmp_path):
    data = tmp_path / "v.csv"
    _visits_with("rom_custom").to_csv(data, index=False)
    assert "rom_custom" in pd.read_csv(data)["measure"].unique()
    with pytest.raises(OutcomesError) as exc:  # without the plan the measure is unknown
        analyse(data)
    assert "measure_registered" in exc.value.rules
    plan = _plan_file(
        tmp_path,
        "measures:\n  rom_custom: {label: Custom ROM, unit: degrees, lower: 0, "
        "upper: 180, direction: 1, kind: rom, threshold_abs: 8}\n",
    )
    result = analyse(data, plan)
    assert "rom_custom" in result.loaded.measures
    claims = result.claims.claims.set_index("measure")
    assert "rom_custom" in claims.index and claims.loc["rom_custom", "n"] > 0
    assert claims.index[0] == "pain_nprs"  # still the primary; rom_custom is secondary (Holm family)


def test_plan_bound_override_changes_what_the_loader_refuses(tmp_path):
    visits = simulate_visits(SynthParams(n_episodes=40), seed=3).visits
    pain = visits["measure"] == "pain_nprs"
    first = visits.index[pain & (visits["visit_number"] == 1)][0]
    visits.loc[first, "value"] = 15.0  # above NPRS's 0-10
    data = tmp_path / "v.csv"
    visits.to_csv(data, index=False)
    with pytest.raises(OutcomesError) as exc:
        analyse(data)
    assert exc.value.rules == ("value_in_bounds",)
    wide = analyse(data, _plan_file(tmp_path, "measures:\n  pain_nprs: {upper: 20}\n", "wide.yaml"))
    assert wide.visits.loc[wide.visits["measure"] == "pain_nprs", "value"].max() == 15.0
    narrow = _plan_file(tmp_path, "measures:\n  pain_nprs: {upper: 8}\n", "narrow.yaml")
    with pytest.raises(OutcomesError) as exc:  # tighter bounds refuse more values
        analyse(data, narrow)
    assert exc.value.rules == ("value_in_bounds",) and "0-8 points" in str(exc.value)
    assert len(exc.value.problems[0].rows) > 1


# --- property tests ----------------------------------------------------------------------------

PROPERTY = settings(derandomize=True, max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_DEFAULT = yaml.safe_load(DEFAULT_PLAN_PATH.read_text())
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10**6),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["auto", "log", "linear", "holm", "bh", "pain_nprs", "rom", "", "yes"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers(), st.booleans()), inner, max_size=4),
    ),
    max_leaves=12,
)


def _paths(data, prefix=()):
    """Every key path of a nested mapping."""
    for key, value in data.items():
        yield (*prefix, key)
        if isinstance(value, dict):
            yield from _paths(value, (*prefix, key))


_PATHS = sorted(_paths(_DEFAULT), key=str)


def _mutate(path, value, how):
    data = json.loads(json.dumps(_DEFAULT))
    node = data
    for key in path[:-1]:
        node = node[key]
    if how == "delete":
        del node[path[-1]]
    elif how == "rename":
        node[str(value)[:12] or "x"] = node.pop(path[-1])
    else:
        node[path[-1]] = value
    return data


@PROPERTY
@given(path=st.sampled_from(_PATHS), value=_VALUES, how=st.sampled_from(["replace", "delete", "rename"]))
def test_mutated_valid_plans_give_a_plan_or_outcomes_error(path, value, how):
    try:
        plan = plan_from_mapping(_mutate(path, value, how), source="m.yaml")
    except OutcomesError as exc:
        assert exc.problems and all(p.source == "m.yaml" for p in exc.problems)
        assert "Traceback" not in str(exc)
    else:
        assert isinstance(plan, Plan) and len(plan.sha256) == 64


_YAMLISH = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "k: ",
                "p0: ",
                "measures:",
                "  pain_nprs: {upper: ",
                "other_claims:",
                "  soreness:",
                "    hours: ",
                "- ",
                "&a ",
                "*a",
                "!!python/object:os.system ",
                "[",
                "]",
                "{",
                "}",
                ": ",
                ",",
                "'",
                '"',
                "\n",
                "\t",
                "  ",
                "~",
                "true",
                "3",
                ".nan",
                "1e400",
                "0x10",
                "2024-01-01",
                "? ",
                "<<: *a",
                "---\n",
                "...\n",
                "%YAML 1.1\n",
                "\x00",
                "\ufeff",
            ]
        ),
        st.text(max_size=6),
    ),
    max_size=25,
).map("".join)


@PROPERTY
@given(text=_YAMLISH)
def test_arbitrary_yamlish_text_gives_a_plan_or_outcomes_error(text, tmp_path_factory):
    path = tmp_path_factory.mktemp("p") / "plan.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        assert isinstance(load_plan(path), Plan)
    except OutcomesError as exc:
        assert exc.problems


@settings(PROPERTY, max_examples=100)
@given(data=st.binary(max_size=200))
def test_arbitrary_bytes_give_a_plan_or_outcomes_error(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("b") / "plan.yaml"
    path.write_bytes(data)
    try:
        load_plan(path)
    except OutcomesError as exc:
        assert exc.problems


def test_random_mutations_are_not_all_refused():
    # the property tests above must see both outcomes, or they prove nothing
    rng = np.random.default_rng(0)
    outcomes = set()
    for value in (4, 0.6, "linear", True, [1], None):
        for path in [_PATHS[i] for i in rng.choice(len(_PATHS), 5, replace=False)]:
            try:
                plan_from_mapping(_mutate(path, value, "replace"))
                outcomes.add("plan")
            except OutcomesError:
                outcomes.add("error")
    assert outcomes == {"plan", "error"}
