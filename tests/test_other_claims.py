"""The other-claims runner: enabled/auto/not testable, plan settings, results.json section."""

import json

import pytest

from outcomes.claims.other_claims import run_other_claims
from outcomes.claims.result import RESULT_COLUMNS
from outcomes.claims.runner import evaluate_other_claims
from outcomes.errors import OutcomesError
from outcomes.ingest.synth import SynthParams, simulate_visits
from outcomes.report.results import dumps, other_claims_section
from outcomes.spec.plan import Plan, plan_from_mapping
from outcomes.stats.decision import wald_result


@pytest.fixture(scope="module")
def visits():
    return simulate_visits(SynthParams(n_episodes=150), seed=31).visits


def test_every_claim_has_one_primary_row(visits):
    out = evaluate_other_claims(visits, Plan())
    assert list(out.columns)[: len(RESULT_COLUMNS)] == list(RESULT_COLUMNS)  # shared columns first, in order
    assert "threshold" not in out.columns  # one name, p0, for every claim
    heads = out[out["primary"]]
    assert heads["claim"].tolist() == ["strength", "twitch", "soreness", "combined", "early"]
    assert heads["id"].is_unique
    assert set(heads["verdict"]) <= {"supported", "not_supported", "inconclusive"}


def test_missing_columns_are_not_testable_with_reason(visits):
    out = evaluate_other_claims(visits.drop(columns=["treatment", "soreness_hours"]), Plan())
    heads = out[out["primary"]].set_index("claim")
    assert heads.loc["combined", "reason"] == "not testable: column treatment missing"
    assert heads.loc["soreness", "verdict"] == "not_testable"
    assert heads.loc["twitch", "verdict"] != "not_testable"


def test_enabled_true_requires_columns_and_false_skips(visits):
    plan = Plan().with_(other_claims={"soreness": {"enabled": True}, "early": {"enabled": False}})
    with pytest.raises(OutcomesError) as err:
        evaluate_other_claims(visits.drop(columns="soreness_hours"), plan)
    assert err.value.rules == ("other_claim_columns",)
    out = evaluate_other_claims(visits, plan)
    assert out.loc[out["claim"] == "early", "reason"].iloc[0] == "not run: disabled in the analysis plan"


def test_plan_validation_names_the_field():
    with pytest.raises(OutcomesError) as err:
        plan_from_mapping({"other_claims": {"conditions": {"adjust": "bonferroni"}, "early": {"knee": 1}}})
    assert {p.column for p in err.value.problems} == {"other_claims.conditions.adjust", "other_claims.early.knee"}


def test_wald_verdict_agrees_with_interval_and_p():
    for est in (-0.5, 0.1, 0.3, 0.9):
        r = wald_result(est, 0.2, 0.2, 0.9)
        assert (r["verdict"] == "supported") == (r["ci_low"] > 0.2) == (r["p_value"] < 0.05)
        assert (r["verdict"] == "not_supported") == (r["ci_high"] < 0.2) == (r["p_value_not"] < 0.05)


def test_results_section_is_json_and_deterministic():
    mix = (("neck_pain", 0.4), ("lateral_epicondylalgia", 0.3), ("low_back_pain", 0.3))
    small = simulate_visits(SynthParams(n_episodes=100, conditions=mix), seed=32).visits
    plan = Plan().with_(n_boot=200)
    a = other_claims_section(run_other_claims(small, plan))
    b = other_claims_section(run_other_claims(small, plan))
    assert dumps(a) == dumps(b)
    doc = json.loads(dumps(a))
    assert [c["id"] for c in doc["other_claims"]][1:] == ["twitch", "soreness", "combined", "early"]
    assert all("analyses" in c and "sentence" in c for c in doc["other_claims"])
    assert doc["other_claims_by_condition"]
