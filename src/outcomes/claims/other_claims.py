"""The clinic's other claims: plan settings, the shared result format, and the runner.

Claims (one module each): strength (:mod:`outcomes.claims.strength`), twitch response
(:mod:`outcomes.claims.twitch`), post-needling soreness (:mod:`outcomes.claims.soreness`), needling
combined with other therapy (:mod:`outcomes.claims.combined`), "especially useful early in
treatment" (:mod:`outcomes.claims.early`), and every claim per condition
(:mod:`outcomes.descriptive.subgroups`).  Method notes and calibration: ``docs/other-claims.md``.

Plan section ``other_claims`` (all optional; defaults below)::

    other_claims:
      strength:   {enabled: auto}
      twitch:     {enabled: auto}
      soreness:   {enabled: auto, hours: 48, share: 0.90}
      combined:   {enabled: auto}
      early:      {enabled: auto, knee: 3}
      conditions: {enabled: auto, adjust: bh}

``enabled``: ``auto`` (run when the data has the needed columns, otherwise report
"not testable: column X missing"), ``true`` (the columns must be there: an error
otherwise) or ``false`` (reported as not run).

Result format
    Every claim function returns a tidy frame with :data:`RESULT_COLUMNS`, one row per
    result.  Exactly one row per claim ``id`` has ``primary = True``: it carries the
    verdict; the other rows are supporting analyses (verdict missing).  ``p_value`` of a
    primary row is one-sided, H0 "the claim is false" (effect <= ``threshold``), and
    ``p_value_not`` the other tail, both from the same pivot as the interval: the
    two-sided ``conf_level = 1 - 2 alpha`` interval's ends are the one-sided bounds, so
    ``supported`` <=> ``ci_low > threshold`` <=> ``p_value < alpha``
    (:func:`outcomes.claims.improvement.verdict_from_bounds`).

Examples
--------
>>> settings("soreness", {})["share"]
0.9
>>> [str(p) for p in validate_other_claims({"soreness": {"share": 2}}, "plan.yaml")]  # doctest: +NORMALIZE_WHITESPACE
['plan.yaml, column other_claims.soreness.share: [plan_other_claims] other_claims.soreness.share must be
  a number in (0, 1), got 2']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from outcomes.errors import OutcomesError, Problem
from outcomes.spec.plan_schema import default_other_claims, other_claims_problems

__all__ = [
    "DEFAULT_OTHER_CLAIMS",
    "RESULT_COLUMNS",
    "CLAIM_COLUMNS",
    "OtherClaimsResult",
    "validate_other_claims",
    "settings",
    "missing_columns",
    "not_testable",
    "wald_result",
    "result_frame",
    "evaluate_other_claims",
    "run_other_claims",
    "other_claims_section",
]

#: Each claim's default settings (from the declared plan schema, :mod:`outcomes.spec.plan_schema`).
DEFAULT_OTHER_CLAIMS: Mapping[str, Mapping[str, Any]] = default_other_claims()

#: Columns of every claim result frame (see the module notes).
RESULT_COLUMNS: tuple[str, ...] = (
    "claim", "id", "measure", "analysis", "primary", "verdict", "reason", "estimate", "ci_low",
    "ci_high", "conf_level", "threshold", "p_value", "p_value_not", "n", "n_excluded", "method",
    "sentence",
)

#: Data columns each claim needs (beyond the required contract columns).
CLAIM_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "strength": (),
    "twitch": ("twitch_response",),
    "soreness": ("soreness_hours",),
    "combined": ("treatment",),
    "early": (),
}

def settings(claim: str, other_claims: Mapping[str, Any]) -> dict[str, Any]:
    """A claim's settings: the defaults updated with the plan's ``other_claims[claim]``.

    Examples
    --------
    >>> settings("early", {"early": {"knee": 4}})
    {'enabled': 'auto', 'knee': 4}
    """
    return dict(DEFAULT_OTHER_CLAIMS[claim]) | dict(other_claims.get(claim) or {})


def validate_other_claims(other_claims: Mapping[str, Any], source: str) -> list[Problem]:
    """Every problem in a plan's ``other_claims`` section, each naming its key path.

    The section's schema is :class:`outcomes.spec.plan_schema.OtherClaimsModel` (the same one a whole
    plan is validated with).

    Examples
    --------
    >>> [p.column for p in validate_other_claims({"twitch": {"enabled": "yes"}, "x": {}}, "p.yaml")]
    ['other_claims.twitch.enabled', 'other_claims.x']
    """
    return other_claims_problems(other_claims, source)


# ----------------------------------------------------------------------------- result rows


def missing_columns(visits: pd.DataFrame, columns: Sequence[str]) -> str | None:
    """Why a claim cannot be tested on ``visits`` (a column absent or empty), or None.

    Examples
    --------
    >>> missing_columns(pd.DataFrame({"a": [1.0], "b": [np.nan]}), ["a", "b", "c"])
    'not testable: column b has no values'
    >>> missing_columns(pd.DataFrame({"a": [1.0]}), ["c"])
    'not testable: column c missing'
    """
    for col in columns:
        if col not in visits.columns:
            return f"not testable: column {col} missing"
        if visits[col].isna().all():
            return f"not testable: column {col} has no values"
    return None


def group_sizes(claim_id: str, groups: Sequence[str], counts: Sequence[int]) -> pd.DataFrame:
    """Episodes behind each arm of a claim (what small-cell suppression needs): ``id``, ``group``, ``n``.

    Empty ``groups`` give the empty frame of a claim that cannot be tested.

    Examples
    --------
    >>> group_sizes("twitch", ["twitch", "no_twitch"], [40, 7])
           id      group   n
    0  twitch     twitch  40
    1  twitch  no_twitch   7
    >>> group_sizes("twitch", [], []).shape
    (0, 3)
    """
    return pd.DataFrame({"id": pd.Series([claim_id] * len(groups), dtype="str"),
                         "group": pd.Series(list(groups), dtype="str"),
                         "n": pd.Series([int(c) for c in counts], dtype="int64")})


def not_testable(claim: str, claim_id: str, reason: str, measure: str | None = None) -> pd.DataFrame:
    """The one-row result of a claim that cannot be tested, with its reason.

    Examples
    --------
    >>> not_testable("twitch", "twitch", "not testable: column twitch_response missing")[
    ...     ["id", "verdict", "reason"]].iloc[0].tolist()
    ['twitch', 'not_testable', 'not testable: column twitch_response missing']
    """
    sentence = f"{claim_id}: {reason}."
    return result_frame([dict(claim=claim, id=claim_id, measure=measure, analysis="none", primary=True,
                              verdict="not_testable", reason=reason, n=0, n_excluded=0, method="none",
                              sentence=sentence)])


def wald_result(estimate: float, std_err: float, threshold: float, conf_level: float) -> dict[str, Any]:
    """Interval, one-sided p-values and three-way verdict from a normal pivot.

    The interval is ``estimate +/- z se`` with ``z`` the ``(1 + conf_level) / 2``
    quantile; ``p_value`` tests H0 ``effect <= threshold`` and ``p_value_not`` H0
    ``effect >= threshold``, so ``p_value < (1 - conf_level) / 2`` exactly when
    ``ci_low > threshold``.

    Examples
    --------
    >>> r = wald_result(0.5, 0.2, 0.0, 0.90)
    >>> round(r["ci_low"], 4), round(r["p_value"], 4), r["verdict"]
    (0.171, 0.0062, 'supported')
    """
    from outcomes.claims.improvement import verdict_from_bounds

    z = float(stats.norm.ppf(0.5 + conf_level / 2))
    if not (np.isfinite(estimate) and np.isfinite(std_err) and std_err > 0):
        return dict(estimate=float(estimate), ci_low=np.nan, ci_high=np.nan, conf_level=conf_level,
                    threshold=threshold, p_value=np.nan, p_value_not=np.nan, verdict="inconclusive")
    low, high = estimate - z * std_err, estimate + z * std_err
    zstat = (estimate - threshold) / std_err
    return dict(estimate=float(estimate), ci_low=float(low), ci_high=float(high), conf_level=conf_level,
                threshold=float(threshold), p_value=float(stats.norm.sf(zstat)),
                p_value_not=float(stats.norm.cdf(zstat)), verdict=verdict_from_bounds(low, high, threshold))


def result_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows (mappings) as a frame with exactly :data:`RESULT_COLUMNS`, in order.

    Examples
    --------
    >>> list(result_frame([{"claim": "x", "n": 3}]).columns) == list(RESULT_COLUMNS)
    True
    """
    frame = pd.DataFrame(list(rows), columns=list(RESULT_COLUMNS))
    frame["primary"] = frame["primary"].eq(True).to_numpy(dtype=bool)
    for col in ("n", "n_excluded"):
        frame[col] = pd.array(frame[col], dtype="Int64")
    for col in ("estimate", "ci_low", "ci_high", "conf_level", "threshold", "p_value", "p_value_not"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame


# ----------------------------------------------------------------------------- runner


@dataclass(frozen=True)
class OtherClaimsResult:
    """All results of the other claims.

    Attributes
    ----------
    results : DataFrame
        Every result row of claims 1-5 (:data:`RESULT_COLUMNS`).
    claims : DataFrame
        One row per claim: the ``primary`` rows of ``results``.
    by_condition : DataFrame
        Per-condition table (:func:`outcomes.claims.conditions.claims_by_condition`), empty when
        not run.
    """

    results: pd.DataFrame
    claims: pd.DataFrame
    by_condition: pd.DataFrame


def _enabled(claim: str, plan: Any) -> Any:
    return settings(claim, plan.other_claims)["enabled"]


def evaluate_other_claims(visits: Any, plan: Any, *, claims: Sequence[str] | None = None) -> pd.DataFrame:
    """Run the other claims 1-5 (strength, twitch, soreness, combined, early).

    Each runs when enabled (``auto``: when its columns are present, otherwise one
    ``not_testable`` row says which column is missing).

    Parameters
    ----------
    visits : DataFrame or LoadedVisits
        Canonical visits.
    plan : Plan
        Analysis plan (``other_claims`` settings, ``k``, ``alpha``, seeds).
    claims : sequence of str, optional
        Run only these (default all five, in the order above).

    Returns
    -------
    DataFrame
        Every result row (:data:`RESULT_COLUMNS`); ``frame[frame.primary]`` has one row
        per claim with its verdict.

    Raises
    ------
    OutcomesError
        Rule ``other_claim_columns`` when a claim is ``enabled: true`` but its columns are
        missing.

    Examples
    --------
    >>> from outcomes.ingest.synth import SynthParams, simulate_visits
    >>> from outcomes.spec.plan import Plan
    >>> sim = simulate_visits(SynthParams(n_episodes=120), seed=2)
    >>> out = evaluate_other_claims(sim.visits.drop(columns="twitch_response"), Plan())
    >>> out.loc[out["primary"], ["id", "verdict"]].set_index("id").loc["twitch", "verdict"]
    'not_testable'
    """
    from . import combined, early, soreness, strength, twitch

    frame = getattr(visits, "visits", visits)
    runners = {"strength": strength.strength_claims, "twitch": twitch.twitch_claim,
               "soreness": soreness.soreness_claim, "combined": combined.combined_claim,
               "early": early.early_claim}
    parts = []
    for claim in (runners if claims is None else claims):  # five claims, not data rows
        run = runners[claim]
        enabled = _enabled(claim, plan)
        if enabled is False:
            parts.append(not_testable(claim, claim, "not run: disabled in the analysis plan"))
            continue
        reason = missing_columns(frame, CLAIM_COLUMNS[claim])
        if reason is not None and enabled is True:
            raise OutcomesError(Problem("other_claim_columns", f"claim {claim} is enabled but {reason[14:]}",
                                        getattr(visits, "source", "<data>"), (), CLAIM_COLUMNS[claim][0]))
        parts.append(not_testable(claim, claim, reason) if reason else run(frame, plan))
    return pd.concat(parts, ignore_index=True)


def run_other_claims(visits: Any, plan: Any) -> OtherClaimsResult:
    """Claims 1-5 and, when enabled and the data has ``condition``, the per-condition table.

    Examples
    --------
    >>> from outcomes.ingest.synth import SynthParams, simulate_visits
    >>> from outcomes.spec.plan import Plan
    >>> sim = simulate_visits(SynthParams(n_episodes=80), seed=2)
    >>> res = run_other_claims(sim.visits, Plan().with_(other_claims={"conditions": {"enabled": False}}))
    >>> res.claims["id"].is_unique, res.by_condition.empty
    (True, True)
    """
    from outcomes.claims.conditions import claims_by_condition

    frame = getattr(visits, "visits", visits)
    results = evaluate_other_claims(frame, plan)
    claims = results[results["primary"]].reset_index(drop=True)
    enabled = _enabled("conditions", plan)
    by_condition = pd.DataFrame()
    if enabled is not False and "condition" in frame.columns and frame["condition"].notna().any():
        by_condition = claims_by_condition(frame, plan)
    elif enabled is True:
        raise OutcomesError(Problem("other_claim_columns", "claim conditions is enabled but column condition "
                                    "is missing", getattr(visits, "source", "<data>"), (), "condition"))
    return OtherClaimsResult(results=results, claims=claims, by_condition=by_condition)


def other_claims_section(result: OtherClaimsResult) -> dict[str, list[dict[str, Any]]]:
    """The ``results.json`` sections ``other_claims`` and ``other_claims_by_condition``.

    ``other_claims``: one object per claim (its primary row's fields) with
    ``analyses``, the list of its supporting rows.  ``other_claims_by_condition``: the
    per-condition table as displayed (small cells suppressed).

    Examples
    --------
    >>> from outcomes.ingest.synth import SynthParams, simulate_visits
    >>> from outcomes.spec.plan import Plan
    >>> sim = simulate_visits(SynthParams(n_episodes=80), seed=2)
    >>> res = run_other_claims(sim.visits, Plan().with_(other_claims={"conditions": {"enabled": False}}))
    >>> doc = other_claims_section(res)
    >>> sorted(doc), "analyses" in doc["other_claims"][0]
    (['other_claims', 'other_claims_by_condition'], True)
    """
    def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return [{k: (None if v is pd.NA or (isinstance(v, float) and np.isnan(v)) else v)
                 for k, v in r.items()} for r in frame.astype(object).to_dict("records")]

    items = []
    for claim in records(result.claims):
        rest = result.results[(result.results["id"] == claim["id"]) & ~result.results["primary"]]
        claim["analyses"] = records(rest.drop(columns=["claim", "id", "primary"]))
        items.append(claim)
    return {"other_claims": items, "other_claims_by_condition": records(result.by_condition)}
