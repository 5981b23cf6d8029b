"""Verdicts on "patients improve within a few visits", one per claim measure.

For each claim measure (the plan's primary measure, then its secondary ROM measures)
the primary analysis is the Kaplan-Meier estimate of P(improved by visit k): the
cumulative incidence of first meeting the measure's improvement rule, with follow-up
censored at the last visit seen (see :mod:`outcomes.episodes`).

Verdict (three-way, pre-specified in the plan)
    ``supported`` when the one-sided (1 - alpha) lower bound of P(improved by k)
    exceeds ``p0``; ``not_supported`` when the one-sided upper bound is below ``p0``;
    ``inconclusive`` otherwise.  The reported interval is the two-sided
    (1 - 2 alpha) interval (90% for alpha = 0.05), whose ends are exactly those
    one-sided bounds, so the interval a reader sees always agrees with the verdict.
    Equivalently, the one-sided p-values (from inverting the same log-log interval)
    are compared with alpha.  The secondary ROM claims form one family: their
    p-values are Holm-adjusted (both directions) before the comparison.

Sensitivity analyses (reported beside the verdict, never replacing it)
    ``itt`` (dropouts before k count as not improved; Wilson interval), ``completers``
    (episodes still attending at visit k; Wilson), ``k_minus_1`` and ``k_plus_1``
    (Kaplan-Meier at k - 1 and k + 1), and, for measures with both an absolute and a
    relative rule, ``absolute_only`` and ``relative_only``.

Every sentence is generated from the numbers, and always says that an uncontrolled
before/after design cannot separate treatment from natural recovery and regression
to the mean.

Examples
--------
>>> from outcomes.synth import SynthParams, simulate_visits
>>> from outcomes.plan import Plan
>>> sim = simulate_visits(SynthParams(n_episodes=200), seed=1)
>>> res = evaluate_claims(sim.visits, Plan())
>>> res.claims.loc[0, ["measure", "verdict"]].tolist()  # doctest: +SKIP
['pain_nprs', 'supported']
>>> set(res.claims["verdict"]) <= {"supported", "not_supported", "inconclusive"}
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from .episodes import change_at_visit, measure_changes, summarize_episodes
from .measures import Measure
from .plan import Plan
from .stats import holm, km_at, km_median, km_table, paired_change, proportion_summary

__all__ = [
    "ClaimsResult",
    "evaluate_claims",
    "claim_measures",
    "verdict_from_bounds",
    "CAVEAT",
    "Verdict",
]

Verdict = Literal["supported", "not_supported", "inconclusive"]

CAVEAT = (
    "These records have no control group: an uncontrolled before/after comparison cannot "
    "separate the effect of treatment from natural recovery and regression to the mean."
)

_EXCLUSION_TEXT = {
    "no_baseline": "no baseline measurement at visit 1",
    "threshold_unreachable": "baseline too close to the best possible value to improve by the rule",
}


@dataclass(frozen=True)
class ClaimsResult:
    """Everything the claims produce, as tidy frames.

    Attributes
    ----------
    claims : DataFrame
        One row per claim: ``id``, ``measure``, ``label``, ``family`` (primary /
        secondary), ``k``, ``p0``, ``verdict``, ``estimate``, ``ci_low``, ``ci_high``,
        ``conf_level``, ``p_value`` (one-sided, H0: share <= p0, adjusted within the
        family), ``p_value_not`` (H0: share >= p0, adjusted), ``n``, ``n_excluded``,
        ``n_events``, ``sensitivity_agree``, ``rule``, ``sentence``.
    sensitivity : DataFrame
        One row per claim x analysis (the primary ``kaplan_meier`` first).
    curves : DataFrame
        Visits-to-improvement curve per claim (Kaplan-Meier table, visits 2..max_visit).
    medians : DataFrame
        Median visits to improvement per claim, with CI (NaN when not reached).
    change : DataFrame
        Change from baseline to visit k per claim and statistic.
    exclusions : DataFrame
        ``id``, ``measure``, ``reason``, ``n``, ``description``.
    episodes : DataFrame
        Per-episode summaries of all claim measures (for plots).
    plan : Plan
        The plan used.
    """

    claims: pd.DataFrame
    sensitivity: pd.DataFrame
    curves: pd.DataFrame
    medians: pd.DataFrame
    change: pd.DataFrame
    exclusions: pd.DataFrame
    episodes: pd.DataFrame
    plan: Plan


def claim_measures(visits: pd.DataFrame, plan: Plan) -> list[str]:
    """The claim measures in order: primary first, then the secondary (ROM) ones present.

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({"measure": ["rom_slr_left", "pain_nprs", "grip_strength_kg"]})
    >>> claim_measures(v, Plan())
    ['pain_nprs', 'rom_slr_left']
    """
    present = set(pd.unique(visits["measure"]))
    if plan.secondary_measures is None:
        secondary = [c for c, m in plan.registry.items() if m.kind == "rom" and c in present]
    else:
        secondary = [c for c in plan.secondary_measures if c in present]
    primary = [plan.primary_measure] if plan.primary_measure in present else []
    return primary + [c for c in secondary if c != plan.primary_measure]


def verdict_from_bounds(ci_low: float, ci_high: float, p0: float) -> Verdict:
    """Three-way verdict from the one-sided bounds (the ends of the 1 - 2 alpha interval).

    Examples
    --------
    >>> verdict_from_bounds(0.55, 0.70, 0.5), verdict_from_bounds(0.2, 0.45, 0.5)
    ('supported', 'not_supported')
    >>> verdict_from_bounds(0.45, 0.60, 0.5)
    'inconclusive'
    """
    if ci_low > p0:
        return "supported"
    if ci_high < p0:
        return "not_supported"
    return "inconclusive"


def _verdict_from_p(p_sup: float, p_not: float, alpha: float) -> Verdict:
    if p_sup < alpha:
        return "supported"
    if p_not < alpha:
        return "not_supported"
    return "inconclusive"


def _rule_text(m: Measure) -> str:
    verb = "drop" if m.direction < 0 else "gain"
    text = f"{verb} of at least {m.threshold_abs:g} {m.unit}"
    if m.threshold_rel is not None:
        text += f" and at least {m.threshold_rel:.0%} of baseline"
    return text


def _variants(m: Measure) -> dict[str, Measure]:
    """MCID variants of a two-part rule: each part alone."""
    if m.threshold_rel is None:
        return {}
    # The relative-only rule keeps a vanishing absolute floor so that "no change" never counts.
    return {"absolute_only": replace(m, threshold_rel=None),
            "relative_only": replace(m, threshold_abs=1e-6)}


def _km_row(summary: pd.DataFrame, k: int, plan: Plan, analysis: str) -> dict[str, Any]:
    inc = summary[summary["status"] == "included"]
    row = km_at(inc["time"].to_numpy(), inc["event"].to_numpy(), k, conf_level=plan.conf_level,
                p0=plan.p0).iloc[0].to_dict()
    row.update(analysis=analysis, k=k)
    return row


def _share_row(successes: int, n: int, plan: Plan, analysis: str, k: int) -> dict[str, Any]:
    row = proportion_summary(int(successes), int(n), conf_level=plan.conf_level, p0=plan.p0).iloc[0].to_dict()
    row.update(analysis=analysis, k=k)
    return row


def _analyse_measure(visits: pd.DataFrame, code: str, plan: Plan, summary: pd.DataFrame,
                     changes: pd.DataFrame) -> dict[str, Any]:
    m = plan.measure(code)
    inc = summary[summary["status"] == "included"]
    k = plan.k
    first = inc["first_improved"].to_numpy(dtype=float, na_value=np.inf)

    rows = [_km_row(summary, k, plan, "kaplan_meier")]
    rows.append(_share_row((first <= k).sum(), len(inc), plan, "itt", k))
    completers = inc["last_visit"].to_numpy() >= k
    rows.append(_share_row((first[completers] <= k).sum(), completers.sum(), plan, "completers", k))
    if k - 1 >= 2:
        rows.append(_km_row(summary, k - 1, plan, "k_minus_1"))
    rows.append(_km_row(summary, k + 1, plan, "k_plus_1"))
    for name, variant in _variants(m).items():
        reg = dict(plan.registry) | {code: variant}
        rows.append(_km_row(summarize_episodes(visits, reg, measures=[code]), k, plan, name))
    sens = pd.DataFrame(rows)
    sens["verdict"] = [verdict_from_bounds(lo, hi, plan.p0) for lo, hi in zip(sens["ci_low"], sens["ci_high"])]

    curve = km_table(inc["time"].to_numpy(), inc["event"].to_numpy(), conf_level=plan.conf_level)
    curve = curve[(curve["time"] >= 2) & (curve["time"] <= plan.max_visit)]
    median = km_median(inc["time"].to_numpy(), inc["event"].to_numpy(), conf_level=plan.conf_level)

    at_k = change_at_visit(changes, k, summary)
    change = paired_change(at_k["gain"].to_numpy(), baseline=at_k["baseline"].to_numpy(),
                           conf_level=plan.conf_level, n_boot=plan.n_boot, seed=plan.seed)
    change.insert(0, "n_not_measured_at_k", len(inc) - len(at_k))

    excl = (summary.loc[summary["status"] != "included", "status"].value_counts()
            .rename_axis("reason").reset_index(name="n"))
    return dict(measure=m, summary=summary, sensitivity=sens, curve=curve, median=median,
                change=change, exclusions=excl)


def _analysis_text(analysis: str, k: int) -> str:
    """A sensitivity analysis named in words."""
    return {
        "kaplan_meier": f"Kaplan-Meier by visit {k}",
        "itt": "counting dropouts as not improved",
        "completers": f"only episodes still attending at visit {k}",
        "k_minus_1": f"by visit {k - 1}",
        "k_plus_1": f"by visit {k + 1}",
        "absolute_only": "absolute threshold alone",
        "relative_only": "percentage threshold alone",
    }.get(analysis, analysis.replace("_", " "))


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _sentence(row: Mapping[str, Any], sens: pd.DataFrame, exclusions: pd.DataFrame, plan: Plan) -> str:
    verdict_words = {
        "supported": f"This is above the {_pct(plan.p0)} the claim needs: the claim is supported",
        "not_supported": f"This is below the {_pct(plan.p0)} the claim needs: the claim is not supported",
        "inconclusive": (f"The interval includes {_pct(plan.p0)}, so these records can neither confirm "
                         "nor refute the claim: inconclusive"),
    }
    adj = ""
    if row["family"] == "secondary":
        if row["verdict"] != "inconclusive":
            adj = " after Holm adjustment across the range-of-motion measures"
        unadjusted = verdict_from_bounds(row["ci_low"], row["ci_high"], plan.p0)
        if unadjusted != row["verdict"]:
            side = "above" if unadjusted == "supported" else "below"
            verdict_words["inconclusive"] = (
                f"The unadjusted interval lies {side} {_pct(plan.p0)}, but the evidence is not strong enough "
                "once the number of range-of-motion measures tested is taken into account: inconclusive")
    excl_txt = ""
    if row["n_excluded"]:
        parts = [f"{n} {_EXCLUSION_TEXT.get(r, r)}" for r, n in zip(exclusions["reason"], exclusions["n"])]
        excl_txt = f"; {row['n_excluded']} excluded: " + ", ".join(parts)
    text = (
        f"{row['label']}: an estimated {_pct(row['estimate'])} of episodes "
        f"({_pct(row['conf_level'])} CI {_pct(row['ci_low'])} to {_pct(row['ci_high'])}) met the improvement "
        f"rule ({row['rule']}) by visit {row['k']} (Kaplan-Meier, n = {row['n']}{excl_txt}). "
        f"{verdict_words[row['verdict']]}{adj}."
    )
    others = sens[sens["analysis"] != "kaplan_meier"]
    disagree = others[others["verdict"] != row["verdict"]]
    if disagree.empty:
        text += f" All {len(others)} sensitivity analyses agree."
    else:
        names = "; ".join(f"{_analysis_text(a, row['k'])}: {_pct(e)}, {v.replace('_', ' ')}"
                          for a, e, v in zip(disagree["analysis"], disagree["estimate"], disagree["verdict"]))
        text += f" Sensitivity analyses that disagree: {names}."
    return text + " " + CAVEAT


def evaluate_claims(visits: Any, plan: Plan) -> ClaimsResult:
    """Test "patients improve within a few visits" for each claim measure.

    Parameters
    ----------
    visits : DataFrame or LoadedVisits
        Canonical visits (``load_visits(...)`` or its ``.visits``).
    plan : Plan
        The analysis plan (k, p0, alpha, measures, seed).

    Returns
    -------
    ClaimsResult
        See :class:`ClaimsResult`; ``claims`` has one row per claim measure.

    Examples
    --------
    >>> from outcomes.synth import SynthParams, simulate_visits
    >>> sim = simulate_visits(SynthParams(n_episodes=150), seed=3)
    >>> res = evaluate_claims(sim.visits, Plan())
    >>> res.claims.loc[0, "id"], int(res.claims.loc[0, "k"]), float(res.claims.loc[0, "p0"])
    ('improved_by_visit_3:pain_nprs', 3, 0.5)
    >>> bool((res.claims["ci_low"] <= res.claims["estimate"]).all())
    True
    """
    frame = getattr(visits, "visits", visits)
    codes = claim_measures(frame, plan)
    if not codes:
        from .errors import OutcomesError, Problem

        raise OutcomesError(Problem("claim_measures_present",
                                    f"none of the plan's claim measures ({plan.primary_measure} or ROM) "
                                    "occur in the data", getattr(visits, "source", "<data>"), (), "measure"))
    # One vectorised pass over all claim measures; each claim then takes its slice.
    summaries = summarize_episodes(frame, plan.registry, measures=codes)
    changes = measure_changes(frame, plan.registry, measures=codes)
    parts = {code: _analyse_measure(frame, code, plan, summaries[summaries["measure"] == code],
                                    changes[changes["measure"] == code]) for code in codes}

    rows = []
    for code, part in parts.items():
        km = part["sensitivity"].iloc[0]
        m: Measure = part["measure"]
        n_excl = int(part["exclusions"]["n"].sum())
        rows.append(dict(
            id=f"improved_by_visit_{plan.k}:{code}", measure=code, label=m.label,
            family="primary" if code == plan.primary_measure else "secondary",
            k=plan.k, p0=plan.p0, estimate=float(km["estimate"]), ci_low=float(km["ci_low"]),
            ci_high=float(km["ci_high"]), conf_level=plan.conf_level, p_raw=float(km["p_value"]),
            n=int(km["n"]), n_excluded=n_excl, n_events=int(km["n_events_by_k"]), rule=_rule_text(m),
        ))
    claims = pd.DataFrame(rows)
    p_sup = claims["p_raw"].to_numpy()
    p_not = 1.0 - p_sup  # same normal pivot, other tail
    secondary = (claims["family"] == "secondary").to_numpy()
    if secondary.any():
        p_sup = p_sup.copy()
        p_not = p_not.copy()
        p_sup[secondary] = holm(p_sup[secondary])
        p_not[secondary] = holm(p_not[secondary])
    claims["p_value"] = p_sup
    claims["p_value_not"] = p_not
    claims["verdict"] = [_verdict_from_p(a, b, plan.alpha) for a, b in zip(p_sup, p_not)]
    claims = claims.drop(columns="p_raw")

    def stack(key: str) -> pd.DataFrame:
        frames = [parts[c][key].assign(id=i, measure=c) for c, i in zip(codes, claims["id"])]
        out = pd.concat(frames, ignore_index=True)
        return out[["id", "measure", *[c for c in out.columns if c not in ("id", "measure")]]]

    sensitivity = stack("sensitivity")
    exclusions = stack("exclusions")
    exclusions["description"] = exclusions["reason"].map(_EXCLUSION_TEXT).fillna(exclusions["reason"])
    agree, sentences = [], []
    for row in claims.to_dict("records"):
        sens = sensitivity[sensitivity["id"] == row["id"]]
        others = sens[sens["analysis"] != "kaplan_meier"]
        agree.append(bool((others["verdict"] == row["verdict"]).all()))
        sentences.append(_sentence(row, sens, exclusions[exclusions["id"] == row["id"]], plan))
    claims["sensitivity_agree"] = agree
    claims["sentence"] = sentences
    return ClaimsResult(
        claims=claims, sensitivity=sensitivity, curves=stack("curve"), medians=stack("median"),
        change=stack("change"), exclusions=exclusions,
        episodes=summaries, plan=plan,
    )
