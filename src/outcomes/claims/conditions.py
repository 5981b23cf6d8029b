"""Every claim per condition, in one tidy table, adjusted across conditions.

The clinic names the conditions it treats; this module re-runs every claim (the
primary claims of :mod:`outcomes.claims.improvement` and the other claims of
:mod:`outcomes.claims.other_claims`) on each condition's episodes.  The descriptive
per-condition forest plot of the primary estimate lives in :mod:`outcomes.descriptive.subgroups`.

Examples
--------
>>> BY_CONDITION_COLUMNS[:4]
('condition', 'label', 'n_episodes', 'n_episodes_shown')
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from outcomes.claims.combined import combined_groups
from outcomes.claims.improvement import claim_measures, dropout_check
from outcomes.claims.result import not_testable, result_frame
from outcomes.claims.runner import evaluate_other_claims
from outcomes.claims.soreness import soreness_groups
from outcomes.claims.strength import strength_measures
from outcomes.claims.twitch import twitch_groups
from outcomes.disclosure import disclose_claims, suppress_counts
from outcomes.episodes.core import summarize_episodes
from outcomes.errors import OutcomesError
from outcomes.spec.claim_settings import settings
from outcomes.spec.contract import CONDITIONS
from outcomes.spec.plan import Plan
from outcomes.stats import benjamini_hochberg, holm, km_at, km_counts
from outcomes.stats.decision import intersection_union_p

__all__ = ["BY_CONDITION_COLUMNS", "claim_groups", "claims_by_condition"]
#: Columns of :func:`claims_by_condition`.
BY_CONDITION_COLUMNS: tuple[str, ...] = (
    "condition",
    "label",
    "n_episodes",
    "n_episodes_shown",
    "claim",
    "id",
    "measure",
    "analysis",
    "verdict",
    "reason",
    "estimate",
    "ci_low",
    "ci_high",
    "conf_level",
    "p0",
    "p_value",
    "p_adjusted",
    "p_value_not",
    "p_not_adjusted",
    "adjust",
    "n",
    "n_shown",
    "suppressed",
    "suppression_reason",
)


def _km_rows(visits: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """Kaplan-Meier P(improved by k) of every claim measure and strength measure of one condition.

    The primary analysis of :func:`outcomes.claims.improvement.evaluate_claims` (same episodes, same
    estimator, and the same dropout check: the raw one-sided p-value is the larger of the Kaplan-Meier
    and the delta-adjusted one, :mod:`outcomes.stats.dropout`), without its sensitivity analyses.
    """
    codes = claim_measures(visits, plan)
    strength = strength_measures(visits, plan) if settings("strength", plan.other_claims)["enabled"] else []
    summary = summarize_episodes(visits, plan.registry, measures=codes + strength, event=plan.improvement_event)
    rows = []
    for code in codes + strength:  # a few measures, not data rows
        part = summary[summary["measure"] == code]
        inc = part[part["status"] == "included"]
        if inc.empty:
            continue
        km = km_at(
            inc["time"].to_numpy(),
            inc["event"].to_numpy(),
            plan.k,
            conf_level=plan.conf_level,
            p0=plan.p0,
            conf_type=plan.km_interval,
        ).iloc[0]
        dropout = dropout_check(*km_counts(inc["time"].to_numpy(), inc["event"].to_numpy()), plan.k, plan)
        claim = "strength" if code in strength else "improved_by_visit"
        cid = f"{'strength_' if code in strength else ''}improved_by_visit_{plan.k}:{code}"
        rows.append(
            dict(
                claim=claim,
                id=cid,
                measure=code,
                analysis="kaplan_meier",
                primary=True,
                estimate=km["estimate"],
                ci_low=km["ci_low"],
                ci_high=km["ci_high"],
                conf_level=km["conf_level"],
                k=plan.k,
                p0=plan.p0,
                p_value=float(intersection_union_p(km["p_value"], dropout["p_value"])),  # as the claim
                p_value_not=1.0 - km["p_value"],
                n=int(km["n"]),
                n_excluded=len(part) - len(inc),
                method=km["method"],
            )
        )
    return result_frame(rows)


def claim_groups(visits: Any, plan: Plan) -> pd.DataFrame:
    """Sizes of the groups each comparison claim compares, for small-cell suppression.

    The twitch claim (:func:`outcomes.claims.twitch.twitch_groups`), the combined-therapy claim
    (:func:`outcomes.claims.combined.combined_groups`) and the episodes behind the soreness claim,
    whose ``n`` counts visits (:func:`outcomes.claims.soreness.soreness_groups`); claims disabled
    in the plan are left out.  A claim with a group below ``plan.min_cell_size`` is
    suppressed as a whole (:func:`outcomes.disclosure.disclose_claims`).

    Returns
    -------
    DataFrame
        ``id``, ``group``, ``n`` (episodes).

    Examples
    --------
    >>> from outcomes.ingest.synth import SynthParams, simulate_visits
    >>> g = claim_groups(simulate_visits(SynthParams(n_episodes=120), seed=2).visits, Plan())
    >>> g[["id", "group"]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['twitch', 'twitch'], ['twitch', 'no_twitch'], ['combined', 'combined'],
     ['combined', 'needling_alone'], ['soreness', 'episodes']]
    """

    frame = getattr(visits, "visits", visits)
    runs = {"twitch": twitch_groups, "combined": combined_groups, "soreness": soreness_groups}
    parts = [
        run(frame, plan)
        for claim, run in runs.items()  # three claims, not data rows
        if settings(claim, plan.other_claims)["enabled"] is not False
    ]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["id", "group", "n"])
    return out.astype({"id": "str", "group": "str", "n": "int64"})


def _condition_rows(visits: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    parts = []
    runs = (
        (_km_rows, "improved_by_visit"),
        (partial(evaluate_other_claims, claims=("twitch", "soreness", "combined", "early")), "other"),
    )
    for run, name in runs:  # two runners per condition
        try:
            out = run(visits, plan)
        except OutcomesError as exc:
            out = not_testable(name, "*", f"not testable: {exc.problems[0].message}")
        parts.append(out[out["primary"]])
    return pd.concat(parts, ignore_index=True)


def claims_by_condition(visits: Any, plan: Plan) -> pd.DataFrame:
    """Every claim (primary claims and the other claims) per condition, adjusted across conditions.

    For each condition code in the data, on that condition's episodes alone: the
    primary analysis (Kaplan-Meier P(improved by k) vs ``p0``, as
    :func:`outcomes.claims.improvement.evaluate_claims`, without its sensitivity analyses) of the
    primary measure, the ROM measures that condition records and the strength measures;
    and the twitch, soreness, combined-therapy and early claims
    (:func:`outcomes.claims.runner.evaluate_other_claims`).  Rows not testable there
    (e.g. strength in neck pain) are dropped.

    Multiplicity: each claim ``id`` is one family across conditions; its one-sided
    p-values (``p_value``: H0 "claim false"; ``p_value_not``: H0 "claim true") are
    adjusted by Benjamini-Hochberg by default (plan ``other_claims.conditions.adjust``;
    ``holm`` for family-wise control).  BH because the per-condition table is
    exploratory and has many cells (a dozen conditions per claim): it controls the
    expected share of false "supported"/"not supported" verdicts among those shown
    without the power loss of family-wise control.  ROM p-values are not also
    Holm-adjusted within a condition here (raw Kaplan-Meier p-values enter).  The
    verdict uses the adjusted p-values; intervals are the plan's unadjusted
    ``1 - 2 alpha`` intervals.

    Small cells: a row whose ``n`` (episodes behind the estimate) is below
    ``plan.min_cell_size``, or whose claim compares a group that small in that condition
    (:func:`claim_groups`), is suppressed (:func:`outcomes.disclosure.disclose_claims`):
    estimate, interval and p-values blanked, verdict ``"suppressed"``, ``n`` missing and
    ``n_shown`` ``"<11"`` when it is 1-10, the reason in ``suppression_reason``;
    suppressed rows are left out of the adjustment family.  A condition with fewer
    episodes than that is not analysed at all (one suppressed row).

    Returns
    -------
    DataFrame
        :data:`BY_CONDITION_COLUMNS`, conditions in code order.

    Examples
    --------
    >>> from outcomes.ingest.synth import SynthParams, simulate_visits
    >>> mix = (("neck_pain", 0.47), ("low_back_pain", 0.47), ("tmd", 0.06))
    >>> sim = simulate_visits(SynthParams(n_episodes=110, conditions=mix), seed=21)
    >>> t = claims_by_condition(sim.visits, Plan().with_(n_boot=200))
    >>> tmd = t[t["condition"] == "tmd"]
    >>> tmd["n_shown"].tolist(), bool(tmd["suppressed"].all())
    (['<11'], True)
    >>> set(t["adjust"]) == {"bh"}
    True
    """
    frame = getattr(visits, "visits", visits)
    adjust = settings("conditions", plan.other_claims)["adjust"]
    adjust_fn = holm if adjust == "holm" else benjamini_hochberg
    cond = frame["condition"].astype("str")
    n_eps = frame.groupby(cond, sort=True)["episode_id"].nunique()
    parts, groups = [], []
    for code, n in n_eps.items():  # a dozen conditions, not data rows
        if n < plan.min_cell_size:
            rows = result_frame([dict(claim="all", id="*", analysis="none", primary=True, n=int(n))])
        else:
            rows = _condition_rows(frame[cond == code], plan)
            rows = rows[rows["verdict"].ne("not_testable").to_numpy()]
            groups.append(claim_groups(frame[cond == code], plan).assign(condition=code))
        parts.append(rows.assign(condition=code, n_episodes=int(n)))
    table = pd.concat(parts, ignore_index=True)
    # One claim per (condition, id): disclose_claims decides on each, with that condition's groups.
    key = table["condition"].astype("str") + "/" + table["id"].astype("str")
    sizes = pd.concat(groups, ignore_index=True) if groups else pd.DataFrame(columns=["id", "group", "n", "condition"])
    sizes = sizes.assign(id=sizes["condition"].astype("str") + "/" + sizes["id"].astype("str"))
    table = disclose_claims(table.assign(id=key), plan.min_cell_size, groups=sizes).assign(id=table["id"])
    small = table["suppressed"].to_numpy()
    table["p_adjusted"] = np.nan
    table["p_not_adjusted"] = np.nan
    for _, idx in table[~small].groupby("id", sort=False).groups.items():  # one family per claim id
        table.loc[idx, "p_adjusted"] = adjust_fn(table.loc[idx, "p_value"].to_numpy())
        table.loc[idx, "p_not_adjusted"] = adjust_fn(table.loc[idx, "p_value_not"].to_numpy())
    sup, nsup = table["p_adjusted"].to_numpy(), table["p_not_adjusted"].to_numpy()
    verdict = np.where(sup < plan.alpha, "supported", np.where(nsup < plan.alpha, "not_supported", "inconclusive"))
    shown = pd.Series(verdict, index=table.index).mask(np.isnan(sup))  # no p-value, no verdict
    table["verdict"] = shown.mask(small, "suppressed").astype("str")
    table["adjust"] = adjust
    table["n_shown"] = table["n_text"]
    table["reason"] = (
        table["reason"]
        .astype("str")
        .mask(table["suppressed"] & table["reason"].isna(), "suppressed: " + table["suppression_reason"])
    )
    # Episodes per condition, as published: the total number of episodes is public (results.json
    # data.episodes), so a single small condition could be recovered by subtraction;
    # suppress_counts adds the complementary suppression against that total.
    shown_eps = suppress_counts(
        n_eps.rename("n").to_frame(), count_cols=["n"], min_cell=plan.min_cell_size, total_row="all"
    )["n"].drop("all")
    table["n_episodes_shown"] = table["condition"].map(shown_eps).astype("str")
    hidden = ~table["n_episodes_shown"].str.fullmatch(r"\d+").to_numpy(dtype=bool, na_value=True)
    table["n_episodes"] = table["n_episodes"].astype("Int64").mask(hidden)
    table["label"] = table["condition"].map(CONDITIONS).fillna(table["condition"])
    return table[list(BY_CONDITION_COLUMNS)].reset_index(drop=True)
