"""Claim: needling improves strength ("muscle length, strength, flexibility").

Every measure registered with ``kind = "strength"`` (``grip_strength_kg``, MCID 6.5 kg,
and any the plan adds) that occurs in the data is tested exactly as the primary claim
(:func:`outcomes.claims.improvement.evaluate_claims`, reused, not re-implemented): the Kaplan-Meier
share of episodes whose gain from baseline reaches the measure's MCID by visit ``k``,
verdict ``supported`` when its one-sided (1 - alpha) lower bound exceeds ``p0``.  With
several strength measures their p-values are Holm-adjusted as one family (as the ROM
claims are).  Supporting rows: mean and Hodges-Lehmann change (gain) from baseline to
visit ``k`` beside the MCID.

Examples
--------
>>> from outcomes.ingest.synth import SynthParams, simulate_visits
>>> from outcomes.spec.plan import Plan
>>> sim = simulate_visits(SynthParams(n_episodes=200), seed=4)
>>> out = strength_claims(sim.visits, Plan())
>>> out[["id", "analysis"]].values.tolist()[:2]  # doctest: +NORMALIZE_WHITESPACE
[['strength_improved_by_visit_3:grip_strength_kg', 'kaplan_meier'],
 ['strength_improved_by_visit_3:grip_strength_kg', 'mean_change_at_k']]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import pandas as pd

from outcomes.claims.improvement import ClaimsResult, evaluate_claims
from outcomes.claims.result import not_testable, result_frame
from outcomes.spec.plan import Plan
from outcomes.stats import holm

__all__ = ["strength_claims", "strength_evaluations", "strength_measures"]

_CHANGE_STATS = {"mean": "mean_change_at_k", "hodges_lehmann": "hodges_lehmann_change_at_k"}


def strength_measures(visits: pd.DataFrame, plan: Plan) -> list[str]:
    """Strength measures of the plan's registry present in ``visits``, in registry order.

    Examples
    --------
    >>> strength_measures(pd.DataFrame({"measure": ["pain_nprs", "grip_strength_kg"]}), Plan())
    ['grip_strength_kg']
    """
    present = set(pd.unique(visits["measure"]))
    return [c for c, m in plan.registry.items() if m.kind == "strength" and c in present]


def strength_evaluations(visits: Any, plan: Plan) -> dict[str, ClaimsResult]:
    """The primary claim's analysis of each strength measure in ``visits``, keyed by measure.

    :func:`outcomes.claims.improvement.evaluate_claims` with the strength measure as the
    primary measure and no secondary ones: its sensitivity analyses and exclusions are those
    the strength claim reports (unadjusted; :func:`strength_claims` applies Holm across
    measures).  Empty when no strength measure occurs.

    Examples
    --------
    >>> from outcomes.ingest.synth import SynthParams, simulate_visits
    >>> ev = strength_evaluations(simulate_visits(SynthParams(n_episodes=200), seed=4).visits, Plan())
    >>> list(ev), ev["grip_strength_kg"].claims["family"].tolist()
    (['grip_strength_kg'], ['primary'])
    """
    frame = getattr(visits, "visits", visits)
    return {
        code: evaluate_claims(frame, plan.with_(primary_measure=code, secondary_measures=[]))
        for code in strength_measures(frame, plan)
    }  # a measure or two, not data rows


def strength_claims(visits: Any, plan: Plan, *, evaluations: Mapping[str, ClaimsResult] | None = None) -> pd.DataFrame:
    """Test "strength improves within a few visits" for every strength measure.

    Parameters
    ----------
    visits : DataFrame or LoadedVisits
        Canonical visits.
    plan : Plan
        ``k``, ``p0``, ``alpha`` and the registry's MCIDs.
    evaluations : mapping, optional
        :func:`strength_evaluations` of the same visits and plan, when already computed.

    Returns
    -------
    DataFrame
        :data:`outcomes.claims.result.RESULT_COLUMNS`; per measure a primary
        ``kaplan_meier`` row (verdict vs ``p0``) and change-at-``k`` rows
        (``p0`` = the MCID; ``change_statistic`` names the statistic).  One
        ``not_testable`` row when no strength measure is present.

    Examples
    --------
    >>> v = pd.DataFrame({"episode_id": "E1", "patient_id": "P1", "visit_number": [1, 2],
    ...                   "measure": "pain_nprs", "side": "none", "value": [5.0, 3.0]})
    >>> strength_claims(v, Plan())["reason"].iloc[0]
    'not testable: no strength measure (grip_strength_kg) in the data'
    """
    frame = getattr(visits, "visits", visits)
    results = strength_evaluations(frame, plan) if evaluations is None else dict(evaluations)
    codes = list(results)
    if not codes:
        known = ", ".join(c for c, m in plan.registry.items() if m.kind == "strength")
        return not_testable("strength", "strength", f"not testable: no strength measure ({known}) in the data")
    heads = pd.concat([r.claims for r in results.values()], ignore_index=True)
    p_sup, p_not = heads["p_value"].to_numpy(), heads["p_value_not"].to_numpy()
    if len(codes) > 1:  # one family, as the ROM claims
        p_sup, p_not = holm(p_sup), holm(p_not)
    verdicts = np.where(p_sup < plan.alpha, "supported", np.where(p_not < plan.alpha, "not_supported", "inconclusive"))
    rows = []
    for (code, res), head, ps, pn, verdict in zip(results.items(), heads.to_dict("records"), p_sup, p_not, verdicts):
        cid = f"strength_improved_by_visit_{plan.k}:{code}"
        m = plan.measure(code)
        rows.append(
            dict(
                claim="strength",
                id=cid,
                measure=code,
                analysis="kaplan_meier",
                primary=True,
                verdict=str(verdict),
                estimate=head["estimate"],
                ci_low=head["ci_low"],
                ci_high=head["ci_high"],
                conf_level=head["conf_level"],
                k=plan.k,
                p0=plan.p0,
                p_value=ps,
                p_value_not=pn,
                n=head["n"],
                n_excluded=head["n_excluded"],
                method=head["method"],
            )
        )
        change = res.change.set_index("statistic")
        for stat, analysis in _CHANGE_STATS.items():
            c = cast("dict[str, Any]", change.loc[stat].to_dict())
            rows.append(
                dict(
                    claim="strength",
                    id=cid,
                    measure=code,
                    analysis=analysis,
                    estimate=c["estimate"],
                    ci_low=c["ci_low"],
                    ci_high=c["ci_high"],
                    conf_level=c["conf_level"],
                    k=plan.k,
                    p0=m.threshold_abs,
                    p_value=c["p_value"],
                    n=c["n"],
                    n_excluded=int(c["n_not_measured_at_k"]) + head["n_excluded"],
                    method=c["method"],
                    change_statistic=stat,
                )
            )
    return result_frame(rows)
