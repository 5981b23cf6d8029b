"""Verdicts on "patients improve within a few visits", one per claim measure.

For each claim measure (the plan's primary measure, then its secondary ROM measures)
the primary analysis is the Kaplan-Meier estimate of P(improved by visit k): the
cumulative incidence of first meeting the measure's improvement rule, with follow-up
censored at the last visit seen (see :mod:`outcomes.episodes.core`).

Verdict (three-way, pre-specified in the plan)
    ``supported`` when the one-sided (1 - alpha) lower bound of P(improved by k)
    exceeds ``p0`` **and** the share still exceeds ``p0`` under the plan's assumption
    about the patients who stopped early (``dropout_ratio``: the delta-adjusted share of
    :mod:`outcomes.stats.dropout`); ``not_supported`` when the one-sided upper bound is
    below ``p0``; ``inconclusive`` otherwise.  The reported interval is the two-sided
    (1 - 2 alpha) interval (90% for alpha = 0.05) of the plan's ``km_interval``
    (likelihood-ratio by default), whose ends are exactly those one-sided bounds; the
    one-sided p-value of ``supported`` is the larger of the Kaplan-Meier and the dropout
    p-values (an intersection-union test).  A claim whose interval lies above ``p0``
    but which fails the dropout check is ``inconclusive``, with ``robust_to_dropout``
    False and the ``tipping_point`` saying how well the dropouts would have had to do.
    The secondary ROM claims form one family: their p-values are Holm-adjusted (both
    directions) before the comparison.

Improvement event
    The plan's ``improvement_event``: ``sustained`` (the default: the rule met at a visit and
    still met at the next measurement) or ``once`` (met at one visit); see
    :mod:`outcomes.episodes.core`.

Sensitivity analyses (reported beside the verdict, never replacing it)
    ``itt`` (dropouts before k count as not improved; Wilson interval), ``completers``
    (episodes still attending at the visit that decides the status at k: k, or k + 1 for a
    sustained event; Wilson), ``k_minus_1`` and ``k_plus_1`` (Kaplan-Meier at k - 1 and
    k + 1), the other improvement event (``met_once`` or ``sustained``), and, for measures
    with both an absolute and a relative rule, ``absolute_only`` and ``relative_only``;
    ``dropout_adjusted`` (the delta-adjusted share, :mod:`outcomes.stats.dropout`).

The results are numbers only: the sentences a clinic lead reads are written from them in
:mod:`outcomes.report.sentences`.

Examples
--------
>>> from outcomes.ingest.synth import SynthParams, simulate_visits
>>> from outcomes.spec.plan import Plan
>>> sim = simulate_visits(SynthParams(n_episodes=200), seed=1)
>>> res = evaluate_claims(sim.visits, Plan())
>>> res.claims.loc[0, ["measure", "verdict"]].tolist()  # doctest: +SKIP
['pain_nprs', 'supported']
>>> set(res.claims["verdict"]) <= {"supported", "not_supported", "inconclusive"}
True
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from outcomes.claims.result import PRIMARY_EXTRA_COLUMNS, RESULT_COLUMNS
from outcomes.disclosure import count_marks, disclose_claims, hide_counts
from outcomes.episodes.core import EpisodeCore
from outcomes.errors import OutcomesError, Problem
from outcomes.spec.contract import DISCHARGE_REASONS
from outcomes.spec.measures import Measure
from outcomes.spec.plan import Plan
from outcomes.spec.plan_schema import ImprovementEvent
from outcomes.stats import (
    KM_METHOD,
    delta_adjusted_share,
    holm,
    km_at_from_counts,
    km_counts,
    km_from_counts,
    km_median,
    paired_change,
    proportion_summary,
)
from outcomes.stats.decision import Verdict, intersection_union_p, verdict_from_bounds

__all__ = [
    "STOPPED_COLUMNS",
    "ClaimCounts",
    "ClaimsResult",
    "claim_counts",
    "claim_measures",
    "claims_from_counts",
    "dropout_check",
    "evaluate_claims",
]


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
        One row per claim: :data:`outcomes.claims.result.RESULT_COLUMNS` (``claim``
        ``improved_by_visit``, ``analysis`` ``kaplan_meier``, ``k``, ``p0``, ``verdict``,
        ``estimate``, ``ci_low``, ``ci_high``, ``conf_level``, ``p_value`` (one-sided, H0:
        share <= p0, adjusted within the family), ``p_value_not`` (H0: share >= p0,
        adjusted), ``n``, ``n_excluded`` ...), then
        :data:`outcomes.claims.result.PRIMARY_EXTRA_COLUMNS` (``label``, ``family``
        (primary / secondary), ``n_events``, ``sensitivity_agree``, ``rule``).
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

    def disclosed(self) -> ClaimsResult:
        """The result as a clinic may see it: small cells suppressed in every frame.

        :func:`outcomes.disclosure.disclose_claims` with the plan's ``min_cell_size`` on
        ``claims`` (a claim of fewer episodes: no estimate, interval, p-value or verdict,
        which becomes ``"suppressed"``), then on ``sensitivity``, ``medians`` and
        ``change`` (rows of a suppressed claim, and rows of fewer episodes themselves) and
        on ``curves`` (visits with fewer than ``min_cell_size`` episodes at risk are not
        shown).  Complementary suppression (:func:`outcomes.disclosure.hide_counts`) where a
        published total would give a hidden count away: the reasons for exclusion sum to
        ``n_excluded``, and the episodes measured and not measured at visit ``k`` sum to
        the claim's ``n``.  ``episodes`` (per-episode rows, never published) is kept.

        Examples
        --------
        >>> from outcomes.ingest.synth import SynthParams, simulate_visits
        >>> sim = simulate_visits(SynthParams(n_episodes=60), seed=3)
        >>> shown = evaluate_claims(sim.visits, Plan(n_boot=200)).disclosed().claims
        >>> bool(shown.loc[shown["suppressed"], "estimate"].isna().all())
        True
        >>> bool((shown.loc[~shown["suppressed"], "n"] >= 11).all())
        True
        """
        mc = self.plan.min_cell_size
        claims = disclose_claims(self.claims, mc)
        gone = list(claims.loc[claims["suppressed"], "id"])
        exclusions = self.exclusions.copy()
        if len(exclusions):
            wide = exclusions.pivot_table(index="id", columns="reason", values="n", aggfunc="sum", fill_value=0)
            reasons = [str(c) for c in wide.columns]
            hidden = hide_counts(
                wide.set_axis(reasons, axis=1), count_cols=reasons, total_col="n_excluded", min_cell=mc
            )
            long = hidden[reasons].stack()
            key = pd.MultiIndex.from_frame(exclusions[["id", "reason"]].astype("str"))
            exclusions["n"] = pd.array(long.reindex(key).to_numpy(), dtype="Int64")
            total = hidden["n_excluded"].reindex(claims["id"].astype("str")).to_numpy()
            claims["n_excluded"] = pd.array(
                np.where(claims["id"].isin(hidden.index), total, claims["n_excluded"]), dtype="Int64"
            )
        if len(claims):
            # the reasons of the episodes that stopped early sum to the published n_censored_before_k
            stopped = hide_counts(
                self.claims.set_index("id")[[*STOPPED_COLUMNS, "n_censored_before_k"]].fillna(0).astype("int64"),
                count_cols=list(STOPPED_COLUMNS),
                total_col="n_censored_before_k",
                min_cell=mc,
            )
            for col in (*STOPPED_COLUMNS, "n_censored_before_k"):
                kept = claims[col].mask(claims["id"].map(stopped[col]).isna().to_numpy())
                claims[col] = kept.astype("Int64")
        change = disclose_claims(self.change, mc, suppressed_ids=gone)
        if len(change):
            first = self.change.drop_duplicates("id").set_index("id")  # n is the same for every statistic
            line = pd.DataFrame({"measured": first["n"], "not_measured": first["n_not_measured_at_k"]})
            hidden = hide_counts(
                line.fillna(0).astype("int64"),
                count_cols=["measured", "not_measured"],
                total_col="n_claim",
                min_cell=mc,
            )
            for col, part in (("n", "measured"), ("n_not_measured_at_k", "not_measured")):
                change[col] = change[col].mask(change["id"].map(hidden[part]).isna().to_numpy())
            change["n_text"] = count_marks(self.change["n"], change["n"], mc)
        return replace(
            self,
            claims=claims,
            exclusions=exclusions,
            change=change,
            sensitivity=disclose_claims(self.sensitivity, mc, suppressed_ids=gone),
            medians=disclose_claims(self.medians, mc, suppressed_ids=gone),
            curves=disclose_claims(self.curves, mc, n_col="n_risk", suppressed_ids=gone),
        )


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
    return {"absolute_only": replace(m, threshold_rel=None), "relative_only": replace(m, threshold_abs=1e-6)}


@dataclass(frozen=True)
class ClaimCounts:
    """The count tables every claim statistic is computed from.

    They are sums over episodes, so the tables of disjoint sets of whole episodes
    (e.g. partitions of a Dask frame) add up to the tables of their union
    (:meth:`combine`); :func:`claims_from_counts` then gives exactly the result of
    :func:`evaluate_claims` on all the episodes.

    Attributes
    ----------
    km : DataFrame
        ``measure, analysis, time, n_event, n_censor``: Kaplan-Meier counts of the
        included episodes (``analysis`` ``kaplan_meier`` or an MCID variant).
    shares : DataFrame
        ``measure, n_included, n_improved_by_k, n_completers, n_completers_improved``.
    change : DataFrame
        ``measure, gain, baseline, n``: change from baseline to visit k (included
        episodes measured at k), one row per distinct (gain, baseline) pair.
    exclusions : DataFrame
        ``measure, reason, n``.
    """

    km: pd.DataFrame
    shares: pd.DataFrame
    change: pd.DataFrame
    exclusions: pd.DataFrame

    @classmethod
    def combine(cls, parts: list[ClaimCounts]) -> ClaimCounts:
        """Add the tables of several disjoint sets of episodes.

        Examples
        --------
        >>> from outcomes.ingest.synth import SynthParams, simulate_visits
        >>> v = simulate_visits(SynthParams(n_episodes=60), seed=2).visits
        >>> a, b = (claim_counts(v[v["episode_id"] < "E000031"], Plan()),
        ...         claim_counts(v[v["episode_id"] >= "E000031"], Plan()))
        >>> both = ClaimCounts.combine([a, b])
        >>> int(both.shares["n_included"].sum()) == int(claim_counts(v, Plan()).shares["n_included"].sum())
        True
        """
        keys = {
            "km": ["measure", "analysis", "time"],
            "shares": ["measure"],
            "change": ["measure", "gain", "baseline"],
            "exclusions": ["measure", "reason"],
        }
        out = {}
        for name, key in keys.items():
            frame = pd.concat([getattr(p, name) for p in parts], ignore_index=True)
            out[name] = frame.groupby(key, sort=True, as_index=False).sum()
        return cls(**out)


#: The improvement event the plan did not choose, shown as a sensitivity analysis under this name.
_OTHER_EVENT: dict[ImprovementEvent, ImprovementEvent] = {"once": "sustained", "sustained": "once"}
_EVENT_ANALYSIS: dict[ImprovementEvent, str] = {"once": "met_once", "sustained": "sustained"}


def _km_counts(time: np.ndarray, event: np.ndarray, measure: str, analysis: str) -> pd.DataFrame:
    times, n_event, n_censor = km_counts(time, event)
    return pd.DataFrame(
        {
            "measure": measure,
            "analysis": analysis,
            "time": times.astype(np.int64),
            "n_event": n_event.astype(np.int64),
            "n_censor": n_censor.astype(np.int64),
        }
    )


def _measure_counts(core: EpisodeCore, code: str, plan: Plan) -> dict[str, pd.DataFrame]:
    """The count tables of one claim measure, from the episode arrays (no per-episode frame).

    Performance: the measure's summary rows and measurements are contiguous slices of the
    core's arrays, and the MCID variants re-apply only their rule to the measurements
    already sorted and grouped (the summary with a variant rule differs from the main one
    only in ``first_improved``, ``reachable``, ``event`` and ``time``).
    """
    k, i = plan.k, core.codes.measures.index(code)
    lo, hi = np.searchsorted(core.key_m[core.sel], [i, i + 1])
    keys = core.sel[lo:hi]  # this measure's summary rows, in summary order
    included = core.reachable[keys]  # reachable implies a baseline: status "included"
    inc = keys[included]
    first = core.first_improved[inc]
    # Completers: attending at the visit that decides the status at k (k + 1 for a sustained event).
    completers = core.last_visit[inc] >= k + (core.improvement_event == "sustained")
    km = [_km_counts(core.time[inc], core.event[inc], code, "kaplan_meier")]
    rule = {i: plan.measure(code)}
    other = _OTHER_EVENT[core.improvement_event]
    event, time = core.event_time(core.first_improved_by(rule, other), core.reachable, other)
    km.append(_km_counts(time[inc], event[inc], code, _EVENT_ANALYSIS[other]))
    for name, variant in _variants(plan.measure(code)).items():
        rule = {i: variant}
        reachable = core.reachable_by(rule)
        event, time = core.event_time(core.first_improved_by(rule), reachable)
        inc_v = keys[reachable[keys]]
        km.append(_km_counts(time[inc_v], event[inc_v], code, name))
    shares = pd.DataFrame(
        {
            "measure": [code],
            "n_included": [len(inc)],
            "n_improved_by_k": [(first <= k).sum()],
            "n_completers": [completers.sum()],
            "n_completers_improved": [(first[completers] <= k).sum()],
            **_stopped_by_reason(core, inc, k),
        }
    ).astype(dict.fromkeys(_COUNT_COLUMNS["shares"][1:], np.int64))
    excluded = keys[~included]
    status = pd.Series(pd.array(np.where(core.has_base[excluded], "threshold_unreachable", "no_baseline"), dtype="str"))
    excl = (
        status.value_counts()
        .rename_axis("reason")
        .reset_index(name="n")
        .assign(measure=code)[["measure", "reason", "n"]]
    )
    return dict(
        km=pd.concat(km, ignore_index=True), shares=shares, change=_change_counts(core, i, inc, plan), exclusions=excl
    )


#: Counts of the episodes whose status at visit k is unknown, by their ``discharge_reason``.
STOPPED_COLUMNS: tuple[str, ...] = (*(f"n_stopped_{r}" for r in DISCHARGE_REASONS), "n_stopped_not_recorded")


def _stopped_by_reason(core: EpisodeCore, inc: np.ndarray, k: int) -> dict[str, list[int]]:
    """Episodes of keys ``inc`` censored before ``k`` (status at ``k`` unknown), by discharge reason."""
    stopped = inc[~core.event[inc] & (core.time[inc] < k)]
    if "discharge_reason" in core.visits.columns:
        reason = core.visits["discharge_reason"].array.take(core.codes.first_row()).take(core.key_ep[stopped])
        counts = pd.Series(reason, dtype="str").value_counts(dropna=False)
    else:
        counts = pd.Series(dtype="int64")
    out = {f"n_stopped_{r}": [int(counts.get(r, 0))] for r in DISCHARGE_REASONS}
    out["n_stopped_not_recorded"] = [len(stopped) - sum(v[0] for v in out.values())]
    return out


def _change_counts(core: EpisodeCore, i: int, inc: np.ndarray, plan: Plan) -> pd.DataFrame:
    """Change from baseline to visit k of the included episodes: counts of (gain, baseline) pairs."""
    lo, hi = core.row_bounds[i], core.row_bounds[i + 1]
    k_lo, k_hi = core.key_bounds[i], core.key_bounds[i + 1]
    is_inc = np.zeros(len(core.key_row), dtype=bool)
    is_inc[inc] = True
    at_k = lo + np.flatnonzero((core.vn[lo:hi] == plan.k) & np.repeat(is_inc[k_lo:k_hi], core.lengths[k_lo:k_hi]))
    key = core.key_of(at_k)
    if k_hi > k_lo and core.key_side[k_lo] != core.key_side[k_hi - 1]:
        # Keys come side by side; the summary (and measure_changes) order is by episode.
        order = np.argsort(core.key_ep[key], kind="stable")
        at_k, key = at_k[order], key[order]
    baseline = core.baseline[key]
    code = core.codes.measures[i]
    gain = plan.measure(code).direction * (core.value[at_k] - baseline) + 0.0  # as measure_changes
    return (
        pd.DataFrame({"gain": gain, "baseline": baseline})
        .groupby(["gain", "baseline"], sort=True)
        .size()
        .rename("n")
        .reset_index()
        .assign(measure=code)[["measure", "gain", "baseline", "n"]]
    )


def _counts(core: EpisodeCore, plan: Plan, codes: list[str]) -> ClaimCounts:
    parts = [_measure_counts(core, code, plan) for code in codes]
    return ClaimCounts(**{name: pd.concat([p[name] for p in parts], ignore_index=True) for name in parts[0]})


def _counts_and_summaries(frame: pd.DataFrame, plan: Plan, codes: list[str]) -> tuple[ClaimCounts, pd.DataFrame]:
    # One vectorised pass over all claim measures; each claim then takes its slices.
    core = EpisodeCore(frame, plan.registry, codes, plan.improvement_event)
    return _counts(core, plan, codes), core.frame()


def claim_counts(visits: Any, plan: Plan, codes: list[str] | None = None) -> ClaimCounts:
    """Count tables of the claim statistics for a set of whole episodes.

    Parameters
    ----------
    visits : DataFrame or LoadedVisits
        Canonical visits; every episode must be complete (all its rows present).
    plan : Plan
        The analysis plan.
    codes : list of str, optional
        Claim measures (default :func:`claim_measures`); codes absent here are skipped.

    Examples
    --------
    >>> from outcomes.ingest.synth import SynthParams, simulate_visits
    >>> counts = claim_counts(simulate_visits(SynthParams(n_episodes=80), seed=4).visits, Plan())
    >>> sorted(counts.km.columns)
    ['analysis', 'measure', 'n_censor', 'n_event', 'time']
    """
    frame = getattr(visits, "visits", visits)
    codes = claim_measures(frame, plan) if codes is None else list(codes)
    present = set(pd.unique(frame["measure"]))
    codes = [c for c in codes if c in present]
    if not codes:
        return ClaimCounts(**{k: pd.DataFrame(columns=v) for k, v in _COUNT_COLUMNS.items()})
    # no summary frame needed
    return _counts(EpisodeCore(frame, plan.registry, codes, plan.improvement_event), plan, codes)


_COUNT_COLUMNS = {
    "km": ["measure", "analysis", "time", "n_event", "n_censor"],
    "shares": ["measure", "n_included", "n_improved_by_k", "n_completers", "n_completers_improved", *STOPPED_COLUMNS],
    "change": ["measure", "gain", "baseline", "n"],
    "exclusions": ["measure", "reason", "n"],
}


# A statistic without the data it needs (no included episode, nobody attending at visit k,
# fewer than 2 changes) is reported as NaN with its n, so one sparse measure never stops
# the others; NaN bounds give the verdict "inconclusive".
_NAN = {"estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan}


def _no_episodes(km: pd.DataFrame) -> bool:
    """Whether a Kaplan-Meier count table holds no episode."""
    return km["n_event"].sum() + km["n_censor"].sum() == 0


def _km_row(km: pd.DataFrame, k: int, plan: Plan, analysis: str) -> dict[Any, Any]:
    row: dict[Any, Any]
    if _no_episodes(km):
        row = dict(
            k=float(k),
            n=0,
            n_events_by_k=0,
            **_NAN,
            conf_level=plan.conf_level,
            p0=plan.p0,
            p_value=np.nan,
            method=KM_METHOD[plan.km_interval],
        )
    else:
        row = (
            km_at_from_counts(
                km["time"].to_numpy(dtype=float),
                km["n_event"].to_numpy(dtype=float),
                km["n_censor"].to_numpy(dtype=float),
                k,
                conf_level=plan.conf_level,
                p0=plan.p0,
                conf_type=plan.km_interval,
            )
            .iloc[0]
            .to_dict()
        )
    row.update(analysis=analysis, k=k)
    return row


#: The fields of the dropout check that enter the sensitivity table (as the other analyses' rows).
_DROPOUT_SENSITIVITY: tuple[str, ...] = ("analysis", "k", "n", "n_events_by_k", "estimate", "ci_low", "ci_high")
_DROPOUT_SENSITIVITY += ("conf_level", "p0", "p_value", "method")


def dropout_check(times: np.ndarray, n_event: np.ndarray, n_censor: np.ndarray, k: int, plan: Plan) -> pd.Series:
    """The plan's dropout check of a Kaplan-Meier count table: the delta-adjusted share at ``k``.

    :func:`outcomes.stats.delta_adjusted_share` with the plan's ``dropout_ratio``, ``p0``,
    ``conf_level``, ``n_boot`` and ``seed`` (so its ``tipping_point`` is at the plan's ``alpha``).
    The claims and the per-condition claims (:mod:`outcomes.claims.conditions`) both call it.

    Examples
    --------
    >>> row = dropout_check(np.array([2.0, 3.0, 4.0]), np.array([30.0, 20.0, 5.0]), np.array([20.0, 10.0, 15.0]),
    ...                     3, Plan(n_boot=200))
    >>> [float(row[c]) for c in ("delta", "n", "n_censored_before_k")]
    [0.5, 100.0, 20.0]
    """
    out = delta_adjusted_share(
        times,
        n_event,
        n_censor,
        k,
        delta=plan.dropout_ratio,
        p0=plan.p0,
        conf_level=plan.conf_level,
        n_boot=plan.n_boot,
        seed=plan.seed,
    )
    return out.iloc[0]


def _dropout_row(km: pd.DataFrame, k: int, plan: Plan) -> dict[Any, Any]:
    """The share under the plan's assumption about dropouts, and the tipping point (outcomes.stats.dropout)."""
    row: dict[Any, Any]
    if _no_episodes(km):
        row = dict(k=k, n=0, n_events_by_k=0, n_censored_before_k=0, **_NAN, conf_level=plan.conf_level, p0=plan.p0)
        row |= dict(p_value=np.nan, method="delta_adjusted_kaplan_meier_bootstrap", tipping_point=np.nan)
    else:
        times, events, censored = (km[c].to_numpy(dtype=float) for c in ("time", "n_event", "n_censor"))
        row = dropout_check(times, events, censored, k, plan).to_dict()
    row.update(analysis="dropout_adjusted", k=k)
    return row


def _share_row(successes: int, n: int, plan: Plan, analysis: str, k: int) -> dict[Any, Any]:
    row: dict[Any, Any]
    if n == 0:
        row = dict(n=0, successes=0, **_NAN, conf_level=plan.conf_level, p0=plan.p0, p_value=np.nan, method="wilson")
    else:
        row = proportion_summary(int(successes), int(n), conf_level=plan.conf_level, p0=plan.p0).iloc[0].to_dict()
    row.update(analysis=analysis, k=k)
    return row


def _curve_and_median(km: pd.DataFrame, plan: Plan) -> tuple[pd.DataFrame, pd.DataFrame]:
    if _no_episodes(km):
        curve = pd.DataFrame({c: pd.Series(dtype=float) for c in _CURVE_COLUMNS})
        median = pd.DataFrame(
            [dict(n=0, n_events=0, **_NAN, conf_level=plan.conf_level, method="kaplan_meier_median_loglog")]
        )
        return curve, median
    times, n_event, n_censor = (km[c].to_numpy(dtype=float) for c in ("time", "n_event", "n_censor"))
    curve = km_from_counts(times, n_event, n_censor, conf_level=plan.conf_level)
    curve = curve[(curve["time"] >= 2) & (curve["time"] <= plan.max_visit)]
    # km_median takes episode arrays: rebuilt from the counts (one entry per episode, not per visit).
    reps = np.column_stack([n_event, n_censor]).ravel().astype(np.int64)
    time_ep = np.repeat(np.repeat(times, 2), reps)
    event_ep = np.repeat(np.tile([1.0, 0.0], times.size), reps)
    return curve, km_median(time_ep, event_ep, conf_level=plan.conf_level)


_CURVE_COLUMNS = (
    "time",
    "n_risk",
    "n_event",
    "n_censor",
    "survival",
    "estimate",
    "std_err",
    "ci_low",
    "ci_high",
    "conf_level",
)
_CHANGE_STATISTICS = ("mean", "median", "hodges_lehmann", "d_z", "es_kazis")


def _change(gain: np.ndarray, base: np.ndarray, plan: Plan) -> pd.DataFrame:
    if gain.size >= 2:
        return paired_change(gain, baseline=base, conf_level=plan.conf_level, n_boot=plan.n_boot, seed=plan.seed)
    return pd.DataFrame(
        {
            "statistic": list(_CHANGE_STATISTICS),
            "n": gain.size,
            **_NAN,
            "conf_level": plan.conf_level,
            "p_value": np.nan,
            "method": "undefined: fewer than 2 episodes measured at visit k",
        }
    )


def _analyse_measure(counts: ClaimCounts, code: str, plan: Plan) -> dict[str, Any]:
    """Every statistic of one claim measure, from its count tables."""
    m = plan.measure(code)
    k = plan.k
    km_all = counts.km[counts.km["measure"] == code]
    km = km_all[km_all["analysis"] == "kaplan_meier"]
    sh = counts.shares[counts.shares["measure"] == code].iloc[0]

    rows = [_km_row(km, k, plan, "kaplan_meier")]
    rows.append(_share_row(sh["n_improved_by_k"], sh["n_included"], plan, "itt", k))
    rows.append(_share_row(sh["n_completers_improved"], sh["n_completers"], plan, "completers", k))
    if k - 1 >= 2:
        rows.append(_km_row(km, k - 1, plan, "k_minus_1"))
    rows.append(_km_row(km, k + 1, plan, "k_plus_1"))
    for name in (_EVENT_ANALYSIS[_OTHER_EVENT[plan.improvement_event]], *_variants(m)):
        rows.append(_km_row(km_all[km_all["analysis"] == name], k, plan, name))
    dropout = _dropout_row(km, k, plan)
    rows.append({c: dropout[c] for c in _DROPOUT_SENSITIVITY})
    sens = pd.DataFrame(rows)
    sens["verdict"] = [verdict_from_bounds(lo, hi, plan.p0) for lo, hi in zip(sens["ci_low"], sens["ci_high"])]

    curve, median = _curve_and_median(km, plan)

    ch = counts.change[counts.change["measure"] == code]
    reps = ch["n"].to_numpy(dtype=np.int64)
    # Rebuilt from the (gain, baseline) count table, sorted: the same input, in the same
    # order, for the pandas and the Dask engine.
    gain = np.repeat(ch["gain"].to_numpy(dtype=float), reps)
    base = np.repeat(ch["baseline"].to_numpy(dtype=float), reps)
    change = _change(gain, base, plan)
    change.insert(0, "n_not_measured_at_k", int(sh["n_included"]) - int(reps.sum()))

    excl = counts.exclusions[counts.exclusions["measure"] == code]
    excl = excl.sort_values(["n", "reason"], ascending=[False, True], kind="stable")[["reason", "n"]]
    return dict(
        measure=m,
        sensitivity=sens,
        curve=curve,
        median=median,
        change=change,
        exclusions=excl.reset_index(drop=True),
        dropout=dropout,
        shares=sh,
    )


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
    >>> from outcomes.ingest.synth import SynthParams, simulate_visits
    >>> sim = simulate_visits(SynthParams(n_episodes=150), seed=3)
    >>> res = evaluate_claims(sim.visits, Plan())
    >>> res.claims.iloc[0][["id", "k", "p0"]].astype(str).tolist()
    ['improved_by_visit_3:pain_nprs', '3', '0.5']
    >>> bool((res.claims["ci_low"] <= res.claims["estimate"]).all())
    True
    """
    frame = getattr(visits, "visits", visits)
    codes = claim_measures(frame, plan)
    if not codes:
        raise OutcomesError(
            Problem(
                "claim_measures_present",
                f"none of the plan's claim measures ({plan.primary_measure} or ROM) occur in the data",
                getattr(visits, "source", "<data>"),
                (),
                "measure",
            )
        )
    counts, summaries = _counts_and_summaries(frame, plan, codes)
    return claims_from_counts(counts, plan, codes, episodes=summaries)


def claims_from_counts(
    counts: ClaimCounts, plan: Plan, codes: list[str], episodes: pd.DataFrame | None = None
) -> ClaimsResult:
    """Verdicts and sensitivity analyses from count tables.

    What :func:`evaluate_claims` does after counting; the Dask engine
    (:mod:`outcomes.claims.dask_engine`) calls it with tables summed over partitions.

    Parameters
    ----------
    counts : ClaimCounts
        From :func:`claim_counts` (or :meth:`ClaimCounts.combine`).
    plan : Plan
        The analysis plan.
    codes : list of str
        Claim measures, primary first (:func:`claim_measures`).
    episodes : DataFrame, optional
        Per-episode summaries to carry in :attr:`ClaimsResult.episodes` (empty if None).

    Examples
    --------
    >>> from outcomes.ingest.synth import SynthParams, simulate_visits
    >>> v = simulate_visits(SynthParams(n_episodes=150), seed=3).visits
    >>> codes = claim_measures(v, Plan())
    >>> res = claims_from_counts(claim_counts(v, Plan()), Plan(), codes)
    >>> res.claims.equals(evaluate_claims(v, Plan()).claims)
    True
    """
    parts = {code: _analyse_measure(counts, code, plan) for code in codes}

    rows = []
    for code, part in parts.items():
        km = part["sensitivity"].iloc[0]
        dropout = part["dropout"]
        m: Measure = part["measure"]
        n_excl = int(part["exclusions"]["n"].sum())
        rows.append(
            dict(
                id=f"improved_by_visit_{plan.k}:{code}",
                measure=code,
                label=m.label,
                family="primary" if code == plan.primary_measure else "secondary",
                k=plan.k,
                p0=plan.p0,
                estimate=float(km["estimate"]),
                ci_low=float(km["ci_low"]),
                ci_high=float(km["ci_high"]),
                conf_level=plan.conf_level,
                p_raw=float(km["p_value"]),
                p_dropout=float(dropout["p_value"]),
                n=int(km["n"]),
                n_excluded=n_excl,
                n_events=int(km["n_events_by_k"]),
                rule=_rule_text(m),
                dropout_ratio=plan.dropout_ratio,
                n_censored_before_k=int(dropout["n_censored_before_k"]),
                estimate_dropout_adjusted=float(dropout["estimate"]),
                ci_low_dropout_adjusted=float(dropout["ci_low"]),
                tipping_point=float(dropout["tipping_point"]),
                robust_to_dropout=bool(dropout["p_value"] < plan.alpha),
                **{c: int(part["shares"][c]) for c in STOPPED_COLUMNS},
            )
        )
    claims = pd.DataFrame(rows)
    # "Supported" needs the share above p0 by Kaplan-Meier AND under the plan's assumption about
    # dropouts: an intersection-union test.  NaN (no dropout check possible) leaves the Kaplan-Meier p.
    p_km = claims["p_raw"].to_numpy()
    p_sup = intersection_union_p(p_km, claims["p_dropout"].to_numpy())
    p_not = 1.0 - p_km  # same pivot, other tail
    secondary = (claims["family"] == "secondary").to_numpy()
    if secondary.any():
        p_sup = p_sup.copy()
        p_not = p_not.copy()
        p_sup[secondary] = holm(p_sup[secondary])
        p_not[secondary] = holm(p_not[secondary])
    claims["p_value"] = p_sup
    claims["p_value_not"] = p_not
    claims["verdict"] = [_verdict_from_p(a, b, plan.alpha) for a, b in zip(p_sup, p_not)]
    claims = claims.drop(columns=["p_raw", "p_dropout"])

    def stack(key: str) -> pd.DataFrame:
        frames = [parts[c][key].assign(id=i, measure=c) for c, i in zip(codes, claims["id"])]
        out = pd.concat(frames, ignore_index=True)
        stacked: pd.DataFrame = out[["id", "measure", *[c for c in out.columns if c not in ("id", "measure")]]]
        return stacked

    sensitivity = stack("sensitivity")
    exclusions = stack("exclusions")
    exclusions["description"] = exclusions["reason"].map(_EXCLUSION_TEXT).fillna(exclusions["reason"])
    agree = []
    for cid, verdict in zip(claims["id"], claims["verdict"]):
        sens = sensitivity[sensitivity["id"] == cid]
        agree.append(bool((sens.loc[sens["analysis"] != "kaplan_meier", "verdict"] == verdict).all()))
    claims["sensitivity_agree"] = agree
    claims = claims.assign(
        claim="improved_by_visit",
        analysis="kaplan_meier",
        primary=True,
        method=KM_METHOD[plan.km_interval],
        reason=pd.Series([None] * len(claims), dtype="str"),
    )[[*RESULT_COLUMNS, *PRIMARY_EXTRA_COLUMNS]]
    return ClaimsResult(
        claims=claims,
        sensitivity=sensitivity,
        curves=stack("curve"),
        medians=stack("median"),
        change=stack("change"),
        exclusions=exclusions,
        episodes=pd.DataFrame() if episodes is None else episodes,
        plan=plan,
    )
