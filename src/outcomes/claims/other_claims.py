"""The clinic's other claims, run together: the registered claims and the per-condition table.

Claims (one module each, listed in :mod:`outcomes.claims.registry`): strength
(:mod:`outcomes.claims.strength`), twitch response (:mod:`outcomes.claims.twitch`),
post-needling soreness (:mod:`outcomes.claims.soreness`), needling combined with other therapy
(:mod:`outcomes.claims.combined`), "especially useful early in treatment"
(:mod:`outcomes.claims.early`), and every claim per condition (:mod:`outcomes.claims.conditions`).
Their settings: :mod:`outcomes.spec.claim_settings`; their result rows:
:mod:`outcomes.claims.result`.  Method notes and calibration: ``docs/other-claims.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pandas as pd

from outcomes.claims.conditions import claims_by_condition
from outcomes.claims.improvement import ClaimsResult
from outcomes.claims.runner import enabled_setting, evaluate_other_claims
from outcomes.claims.strength import strength_claims, strength_evaluations
from outcomes.errors import OutcomesError, Problem
from outcomes.spec.plan import Plan

__all__ = ["OtherClaimsResult", "run_other_claims"]


@dataclass(frozen=True)
class OtherClaimsResult:
    """All results of the other claims.

    Attributes
    ----------
    results : DataFrame
        Every result row of claims 1-5 (:data:`outcomes.claims.result.RESULT_COLUMNS`).
    claims : DataFrame
        One row per claim: the ``primary`` rows of ``results``.
    by_condition : DataFrame
        Per-condition table (:func:`outcomes.claims.conditions.claims_by_condition`), empty when
        not run.
    plan : Plan
        The plan used.
    strength : mapping of str to ClaimsResult
        The primary claim's analysis of each strength measure (its sensitivity analyses and
        exclusions; :func:`outcomes.claims.strength.strength_evaluations`), empty when the
        strength claim did not run.
    """

    results: pd.DataFrame
    claims: pd.DataFrame
    by_condition: pd.DataFrame
    plan: Plan
    strength: Mapping[str, ClaimsResult] = field(default_factory=dict)


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
    frame = getattr(visits, "visits", visits)
    strength = strength_evaluations(frame, plan) if enabled_setting("strength", plan) is not False else {}
    results = evaluate_other_claims(frame, plan, runners={"strength": partial(strength_claims, evaluations=strength)})
    claims = results[results["primary"]].reset_index(drop=True)
    enabled = enabled_setting("conditions", plan)
    by_condition = pd.DataFrame()
    if enabled is not False and "condition" in frame.columns and frame["condition"].notna().any():
        by_condition = claims_by_condition(frame, plan)
    elif enabled is True:
        raise OutcomesError(
            Problem(
                "other_claim_columns",
                "claim conditions is enabled but column condition is missing",
                getattr(visits, "source", "<data>"),
                (),
                "condition",
            )
        )
    return OtherClaimsResult(results=results, claims=claims, by_condition=by_condition, plan=plan, strength=strength)
