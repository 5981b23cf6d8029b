"""Claim: a local twitch response is "a positive and desirable reaction".

Testable only as an association in observational records.  Outcome: the plan's
primary measure (pain).

Exposure
    An episode is *twitch* when ``twitch_response`` is true at >= 1 of its first ``k``
    visits, *no twitch* when it is recorded false at every recorded one of them.
    Episodes with no twitch record in visits 1..k (never needled there) are excluded, and
    so are episodes that did not attend visit ``k``: only they had the whole exposure
    window observed (an episode that left at visit 2 had fewer chances of a twitch).
Immortal-time caveat
    The exposure window (visits 1..k) overlaps follow-up: improvement at visit 2 is
    counted while exposure is still being decided, and a patient who improves may be
    needled differently afterwards.  The comparison is therefore descriptive, not causal.
Analyses
    Primary (verdict): difference in gain (improvement in the good direction) from
    baseline to visit ``k``, twitch minus no twitch, adjusted for the baseline value
    (ANCOVA, OLS with HC3 SE; :func:`outcomes.stats.adjusted.ancova_difference`).  Verdict
    ``supported`` ("associated with more improvement") when the (1 - 2 alpha) interval
    lies above 0, ``not_supported`` when it lies below 0, ``inconclusive`` otherwise.
    Supporting: log-rank test of the visits-to-improvement curves
    (:func:`outcomes.stats.logrank`, scipy) and Kaplan-Meier P(improved by k) per group.

Examples
--------
>>> from outcomes.ingest.synth import SynthParams, simulate_visits
>>> from outcomes.spec.plan import Plan
>>> sim = simulate_visits(SynthParams(n_episodes=200), seed=4)
>>> twitch_claim(sim.visits, Plan())["analysis"].tolist()
['ancova_change_at_k', 'logrank', 'km_twitch', 'km_no_twitch']
"""

from __future__ import annotations

from typing import Any

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
from outcomes.spec.plan import Plan
from outcomes.stats import km_at, logrank
from outcomes.stats.adjusted import ancova_difference

__all__ = ["twitch_claim", "twitch_exposure", "twitch_groups"]


def twitch_exposure(visits: pd.DataFrame, k: int) -> pd.DataFrame:
    """Per episode: whether a twitch response was recorded at >= 1 of the first ``k`` visits.

    Returns
    -------
    DataFrame
        ``episode_id``, ``n_recorded`` (visits 1..k with a twitch record), ``twitch``
        (boolean; NA when nothing was recorded in the window).

    Examples
    --------
    >>> v = pd.DataFrame({"episode_id": ["A", "A", "B", "B", "C"], "visit_number": [1, 2, 1, 4, 1],
    ...                   "twitch_response": pd.array([False, True, False, True, None], dtype="boolean")})
    >>> twitch_exposure(v, 3)
      episode_id  n_recorded  twitch
    0          A           2    True
    1          B           1   False
    2          C           0    <NA>
    """
    window = visits.loc[visits["visit_number"] <= k, ["episode_id", "visit_number", "twitch_response"]]
    window = window.drop_duplicates(["episode_id", "visit_number"])
    tw = window["twitch_response"].astype("boolean")
    grouped = pd.DataFrame(
        {"episode_id": window["episode_id"], "rec": tw.notna(), "yes": tw.fillna(False).astype(bool)}
    ).groupby("episode_id", sort=True)
    out = pd.DataFrame({"n_recorded": grouped["rec"].sum().astype("int64"), "any": grouped["yes"].any()})
    twitch = pd.array(out["any"].to_numpy(), dtype="boolean")
    twitch[out["n_recorded"].to_numpy() == 0] = pd.NA
    return pd.DataFrame(
        {"episode_id": out.index.to_numpy(), "n_recorded": out["n_recorded"].to_numpy(), "twitch": twitch}
    )


def _episodes(frame: pd.DataFrame, plan: Plan) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    code, k = plan.primary_measure, plan.k
    summary = summarize_episodes(frame, plan.registry, measures=[code], event=plan.improvement_event)
    inc = summary[summary["status"] == "included"]
    expo = twitch_exposure(frame, k)
    inc = inc.merge(expo, on="episode_id", how="left")
    known = inc["twitch"].notna().to_numpy()
    attended = (inc["last_visit"] >= k).to_numpy()
    excluded = {
        "not_included": len(summary) - len(inc),
        "no_twitch_record": int((~known).sum()),
        "left_before_k": int((known & ~attended).sum()),
    }
    used = inc[known & attended].assign(group=lambda d: d["twitch"].astype(bool).astype(int))
    at_k = change_at_visit(measure_changes(frame, plan.registry, measures=[code]), k, summary)
    at_k = at_k.merge(used[["episode_id", "group"]], on="episode_id", how="inner")
    return used, at_k, excluded


def twitch_groups(visits: Any, plan: Plan) -> pd.DataFrame:
    """Sizes of the two groups the twitch claim compares (for small-cell suppression).

    The groups of its primary analysis (episodes measured at visit ``k``, with and
    without a twitch response); the log-rank and Kaplan-Meier rows use these episodes
    and those not measured at ``k``, so no analysis of the claim has smaller groups.

    Returns
    -------
    DataFrame
        ``id`` (``"twitch"``), ``group`` (``twitch``, ``no_twitch``), ``n``; empty when the
        data has no ``twitch_response``.

    Examples
    --------
    >>> from outcomes.ingest.synth import SynthParams, simulate_visits
    >>> g = twitch_groups(simulate_visits(SynthParams(n_episodes=120), seed=2).visits, Plan())
    >>> g["group"].tolist(), bool((g["n"] > 0).all())
    (['twitch', 'no_twitch'], True)
    """
    frame = getattr(visits, "visits", visits)
    if missing_columns(frame, ["twitch_response"]):
        return group_sizes("twitch", [], [])
    _, at_k, _ = _episodes(frame, plan)
    counts = at_k["group"].value_counts().reindex([1, 0], fill_value=0).to_numpy()
    return group_sizes("twitch", ["twitch", "no_twitch"], counts.tolist())


def twitch_claim(visits: Any, plan: Plan) -> pd.DataFrame:
    """Compare improvement of episodes with and without a twitch response early on.

    Parameters
    ----------
    visits : DataFrame or LoadedVisits
        Canonical visits with ``twitch_response``.
    plan : Plan
        ``primary_measure`` (the outcome), ``k`` (the exposure window, visits 1 to ``k``, and the
        visit whose gain is compared) and ``conf_level``.

    Returns
    -------
    DataFrame
        :data:`outcomes.claims.result.RESULT_COLUMNS`: the primary ANCOVA row
        (``estimate`` = adjusted difference in gain at visit ``k``, in the measure's
        unit), a ``logrank`` row (two-sided ``p_value``) and Kaplan-Meier rows per group.

    Examples
    --------
    >>> v = pd.DataFrame({"episode_id": "E1", "visit_number": [1, 2], "measure": "pain_nprs",
    ...                   "side": "none", "value": [5.0, 3.0]})
    >>> twitch_claim(v, Plan())["reason"].iloc[0]
    'not testable: column twitch_response missing'
    """
    frame = getattr(visits, "visits", visits)
    missing = missing_columns(frame, ["twitch_response"])
    if missing:
        return not_testable("twitch", "twitch", not_testable_reason(missing), plan.primary_measure)
    code, k = plan.primary_measure, plan.k
    used, at_k, excluded = _episodes(frame, plan)
    n_groups = used["group"].value_counts().reindex([1, 0], fill_value=0)
    if (at_k["group"].value_counts().reindex([1, 0], fill_value=0) < MIN_GROUP_SIZE).any():
        return not_testable(
            "twitch",
            "twitch",
            f"not testable: fewer than {MIN_GROUP_SIZE} episodes measured at visit {k} "
            "with (or without) a twitch response",
            code,
        )
    n_total_excl = sum(excluded.values())

    anc = ancova_difference(at_k, "gain", "group", numeric=["baseline"], conf_level=plan.conf_level)
    rows = [
        dict(
            claim="twitch",
            id="twitch",
            measure=code,
            analysis="ancova_change_at_k",
            primary=True,
            verdict=anc["verdict"],
            **{c: anc[c] for c in ESTIMATE_FIELDS},
            k=k,
            p0=anc["threshold"],
            n=anc["n"],
            n_excluded=n_total_excl + (len(used) - anc["n"]),
            method=anc["method"],
            n_with=int(n_groups[1]),
            n_without=int(n_groups[0]),
            **{f"n_excluded_{reason}": n for reason, n in excluded.items()},
        )
    ]
    tw, no = used[used["group"] == 1], used[used["group"] == 0]
    lr = logrank(tw["time"], tw["event"].astype(int), no["time"], no["event"].astype(int)).iloc[0]
    rows.append(
        dict(
            claim="twitch",
            id="twitch",
            measure=code,
            analysis="logrank",
            p_value=lr["p_value"],
            n=int(lr["n_a"] + lr["n_b"]),
            n_excluded=n_total_excl,
            method="logrank (scipy)",
            chi_square=lr["statistic"],
            n_with=int(lr["n_a"]),
            n_without=int(lr["n_b"]),
            n_events_with=int(lr["events_a"]),
            n_events_without=int(lr["events_b"]),
        )
    )
    for name, part in (("km_twitch", tw), ("km_no_twitch", no)):
        km = km_at(
            part["time"].to_numpy(),
            part["event"].to_numpy(),
            k,
            conf_level=plan.conf_level,
            conf_type=plan.km_interval,
        ).iloc[0]
        rows.append(
            dict(
                claim="twitch",
                id="twitch",
                measure=code,
                analysis=name,
                estimate=km["estimate"],
                ci_low=km["ci_low"],
                ci_high=km["ci_high"],
                conf_level=km["conf_level"],
                n=int(km["n"]),
                method=km["method"],
            )
        )
    return result_frame(rows)
