"""Claim: needling is "most effective when used in conjunction with other physical therapy".

Groups (episode level)
    Among episodes with at least one dry-needling visit (``treatment`` parsed with
    :func:`outcomes.spec.contract.parse_treatment`), *combined* = any visit of the episode
    also has ``exercise`` or ``manual_therapy``; *needling alone* = none does.
    ``education`` and ``modalities`` do not change the group.  Episodes never needled
    are excluded.  The group is fixed from all visits of the episode (it describes the
    plan of care, not what had happened by visit k).
Outcome
    The plan's primary measure.  ``improved by k`` = the improvement rule met at a visit
    <= ``k``; episodes that left before visit ``k`` without improving have an unknown
    outcome and are excluded (counted).  ``gain at k`` = improvement in the good direction
    from baseline to visit ``k``.
Estimates (adjusted for baseline value, condition and age band when recorded)
    Primary (verdict): standardized risk difference of P(improved by k), combined minus
    alone, by g-computation from a logistic regression with a delta-method interval
    (:func:`outcomes.stats.adjusted.standardized_risk_difference`); ``supported`` when the
    (1 - 2 alpha) interval lies above 0, ``not_supported`` below 0.  Supporting:
    difference in gain at ``k`` (linear model, HC3) and, as a sensitivity analysis, the
    propensity-score-weighted risk difference (stabilized inverse-probability weights).
Confounding by indication
    Therapists choose who gets exercise or manual therapy, often by how severe or how
    promising a case looks; adjustment removes only the part of that choice explained by
    the recorded baseline, condition and age band, so the comparison remains
    observational.

Examples
--------
>>> from outcomes.ingest.synth import SynthParams, simulate_visits
>>> from outcomes.spec.plan import Plan
>>> sim = simulate_visits(SynthParams(n_episodes=200), seed=4)
>>> combined_claim(sim.visits, Plan())["analysis"].tolist()
['gcomputation_risk_difference', 'ancova_change_at_k', 'ipw_risk_difference']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from outcomes.claims.result import (
    ESTIMATE_FIELDS,
    MIN_GROUP_SIZE,
    group_sizes,
    missing_columns,
    not_testable,
    not_testable_reason,
    result_frame,
)
from outcomes.episodes.core import change_at_visit, measure_changes, summarize_episodes
from outcomes.spec.contract import parse_treatment
from outcomes.spec.plan import Plan
from outcomes.stats.adjusted import ancova_difference, ipw_risk_difference, standardized_risk_difference

__all__ = ["EXTRA_THERAPIES", "combined_claim", "combined_groups", "treatment_groups"]

#: Therapies that make an episode "combined" when given with dry needling.
EXTRA_THERAPIES: tuple[str, ...] = ("exercise", "manual_therapy")


def treatment_groups(visits: pd.DataFrame) -> pd.DataFrame:
    """Per episode: ``needled`` (any dry-needling visit) and ``combined`` (any extra therapy).

    Examples
    --------
    >>> v = pd.DataFrame({"episode_id": ["A", "A", "B", "C"],
    ...                   "treatment": ["dry_needling", "exercise", "dry_needling+education", "exercise"]})
    >>> treatment_groups(v)
      episode_id  needled  combined
    0          A     True      True
    1          B     True     False
    2          C    False      True
    """
    vocab = pd.unique(visits["treatment"].dropna())
    codes = {t: parse_treatment(t) for t in vocab}  # distinct strings, not rows
    dn = visits["treatment"].map({t: "dry_needling" in c for t, c in codes.items()}).fillna(False).astype(bool)
    extra = visits["treatment"].map({t: bool(set(c) & set(EXTRA_THERAPIES)) for t, c in codes.items()})
    flags = pd.DataFrame(
        {"episode_id": visits["episode_id"], "needled": dn, "combined": extra.fillna(False).astype(bool)}
    )
    return flags.groupby("episode_id", sort=True).any().reset_index()


def _covariates(frame: pd.DataFrame) -> list[str]:
    return [c for c in ("condition", "age_band") if c in frame.columns and frame[c].notna().any()]


def _prepared(frame: pd.DataFrame, plan: Plan) -> dict[str, Any]:
    """The episodes of the claim: excluded counts, the binary-outcome set and the change-at-k set."""
    code, k = plan.primary_measure, plan.k
    summary = summarize_episodes(frame, plan.registry, measures=[code], event=plan.improvement_event)
    inc = summary[summary["status"] == "included"].merge(treatment_groups(frame), on="episode_id", how="left")
    needled = inc["needled"].fillna(False).to_numpy(dtype=bool)
    known = (inc["time"] >= k).to_numpy() | inc["event"].to_numpy(dtype=bool)
    excluded = {
        "not_included": len(summary) - len(inc),
        "never_needled": int((~needled).sum()),
        "left_before_k_unimproved": int((needled & ~known).sum()),
    }
    eps = inc[needled].assign(
        group=lambda d: d["combined"].astype(int), improved=lambda d: (d["event"] & (d["time"] <= k)).astype(int)
    )
    covs = _covariates(frame)
    at_k = change_at_visit(measure_changes(frame, plan.registry, measures=[code]), k, summary)
    at_k = at_k.drop(columns=[c for c in covs if c in at_k.columns]).merge(
        eps[["episode_id", "group", *covs]], on="episode_id", how="inner"
    )
    return dict(summary=summary, excluded=excluded, binary=eps[known[needled]], at_k=at_k, covs=covs)


def combined_groups(visits: Any, plan: Plan) -> pd.DataFrame:
    """Sizes of the two groups the combined-therapy claim compares (for small-cell suppression).

    Per group, the fewer episodes of its two sets: the binary outcome (risk differences)
    and the change at visit ``k`` (linear model).

    Returns
    -------
    DataFrame
        ``id`` (``"combined"``), ``group`` (``combined``, ``needling_alone``), ``n``; empty
        when the data has no ``treatment``.

    Examples
    --------
    >>> from outcomes.ingest.synth import SynthParams, simulate_visits
    >>> g = combined_groups(simulate_visits(SynthParams(n_episodes=120), seed=2).visits, Plan())
    >>> g["group"].tolist(), bool((g["n"] > 0).all())
    (['combined', 'needling_alone'], True)
    """
    frame = getattr(visits, "visits", visits)
    if missing_columns(frame, ["treatment"]):
        return group_sizes("combined", [], [])
    sets = _prepared(frame, plan)
    sizes = [sets[name]["group"].value_counts().reindex([1, 0], fill_value=0).to_numpy() for name in ("binary", "at_k")]
    return group_sizes("combined", ["combined", "needling_alone"], np.minimum(*sizes))


def combined_claim(visits: Any, plan: Plan) -> pd.DataFrame:
    """Compare needling combined with exercise / manual therapy against needling alone.

    Parameters
    ----------
    visits : DataFrame or LoadedVisits
        Canonical visits with ``treatment``.
    plan : Plan
        ``primary_measure`` (the outcome), ``k`` (improved by visit ``k``; gain at visit ``k``) and
        ``conf_level``; the covariates come from the data (condition, age band when recorded).

    Returns
    -------
    DataFrame
        :data:`outcomes.claims.result.RESULT_COLUMNS`: the primary
        ``gcomputation_risk_difference`` row (``estimate`` = difference in P(improved by
        k), combined minus alone), ``ancova_change_at_k`` (difference in gain at ``k``,
        measure units) and ``ipw_risk_difference`` (sensitivity).

    Examples
    --------
    >>> v = pd.DataFrame({"episode_id": "E1", "visit_number": [1, 2], "measure": "pain_nprs",
    ...                   "side": "none", "value": [5.0, 3.0]})
    >>> combined_claim(v, Plan())["reason"].iloc[0]
    'not testable: column treatment missing'
    """
    frame = getattr(visits, "visits", visits)
    missing = missing_columns(frame, ["treatment"])
    code, k = plan.primary_measure, plan.k
    if missing:
        return not_testable("combined", "combined", not_testable_reason(missing), code)
    sets = _prepared(frame, plan)
    summary, binary, at_k, covs, excluded = (sets[n] for n in ("summary", "binary", "at_k", "covs", "excluded"))
    if (binary["group"].value_counts().reindex([1, 0], fill_value=0) < MIN_GROUP_SIZE).any():
        return not_testable(
            "combined",
            "combined",
            f"not testable: fewer than {MIN_GROUP_SIZE} needled episodes with (or without) exercise / manual therapy",
            code,
        )
    adjust = dict(numeric=["baseline"], categorical=covs, conf_level=plan.conf_level)
    rd = standardized_risk_difference(binary, "improved", "group", **adjust)
    ipw = ipw_risk_difference(binary, "improved", "group", **adjust)
    anc = ancova_difference(at_k, "gain", "group", **adjust)

    n_comb, n_alone = int((binary["group"] == 1).sum()), int((binary["group"] == 0).sum())
    adjusted_for = ("baseline", *covs)
    fields = (*ESTIMATE_FIELDS, "n", "method")
    base = dict(claim="combined", id="combined", measure=code, k=k)
    rows = [
        dict(
            base,
            analysis="gcomputation_risk_difference",
            primary=True,
            verdict=rd["verdict"],
            **{f: rd[f] for f in fields},
            p0=rd["threshold"],
            n_excluded=len(summary) - rd["n"],
            n_combined=n_comb,
            n_alone=n_alone,
            risk_combined=rd["risk_1"],
            risk_alone=rd["risk_0"],
            adjusted_for=adjusted_for,
            **{f"n_excluded_{reason}": n for reason, n in excluded.items()},
        ),
        dict(
            base,
            analysis="ancova_change_at_k",
            **{f: anc[f] for f in fields},
            p0=anc["threshold"],
            n_excluded=len(summary) - anc["n"],
            adjusted_for=adjusted_for,
        ),
        dict(
            base,
            analysis="ipw_risk_difference",
            **{f: ipw[f] for f in fields},
            p0=ipw["threshold"],
            n_excluded=len(summary) - ipw["n"],
            max_weight=ipw["max_weight"],
        ),
    ]
    return result_frame(rows)
