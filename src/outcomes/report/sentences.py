"""The plain-language sentences a clinic lead reads, written from the claims' structured results.

Claims return numbers only (:mod:`outcomes.claims.result`); every sentence of the report,
``results.json``, the notebooks and the terminal is written here, from those fields and
the plan, never sliced from other text.  Two rules hold for every sentence:

* a count of 1 to ``min_cell_size - 1`` is written ``"<11"``
  (:func:`outcomes.disclosure.count_text`), and the reasons for exclusion lose their
  counts when any of them is that small (:func:`outcomes.disclosure.exclusion_text`);
* a claim withheld by the small-cell rule (``suppressed`` in the disclosed frame) gets
  :func:`suppressed_sentence` instead: its name and the rule, no number.

The primary claims' sentences end with :data:`CAVEAT` (no control group); the twitch
claim's with :data:`ASSOCIATION_CAVEAT` and the combined-therapy claim's with
:data:`CONFOUNDING_CAVEAT`.

Examples
--------
>>> from outcomes.ingest.synth import SynthParams, simulate_visits
>>> from outcomes.claims.improvement import evaluate_claims
>>> from outcomes.spec.plan import Plan
>>> res = evaluate_claims(simulate_visits(SynthParams(n_episodes=150), seed=3).visits, Plan())
>>> claim_sentences(res).iloc[0].startswith("Pain (NPRS 0-10): an estimated")
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from outcomes.claims.improvement import ClaimsResult
from outcomes.claims.other_claims import OtherClaimsResult
from outcomes.disclosure import count_text, exclusion_text
from outcomes.spec.contract import DISCHARGE_REASONS
from outcomes.spec.plan import Plan
from outcomes.stats.decision import verdict_from_bounds

__all__ = [
    "ASSOCIATION_CAVEAT",
    "CAVEAT",
    "CONFOUNDING_CAVEAT",
    "OTHER_CLAIM_NAMES",
    "P_FLOOR",
    "claim_sentences",
    "format_p",
    "is_p_value_column",
    "other_claim_sentences",
    "suppressed_sentence",
    "with_p_text",
]

#: Ends every sentence of the primary and secondary claims (and the early-effect claim).
CAVEAT = (
    "These records have no control group: an uncontrolled before/after comparison cannot "
    "separate the effect of treatment from natural recovery and regression to the mean."
)
#: Ends the twitch claim's sentence.
ASSOCIATION_CAVEAT = (
    "This is an association in observational records, not an effect of the twitch response: "
    "episodes with and without one may differ in other ways, and the exposure window (the first "
    "visits) overlaps the follow-up in which improvement is counted."
)
#: Ends the combined-therapy claim's sentence.
CONFOUNDING_CAVEAT = (
    "Therapists choose who also gets exercise or manual therapy (confounding by indication); the "
    "adjustment removes only what the recorded baseline, condition and age band explain, so this is an "
    "observational comparison, not proof that combining causes better results."
)

#: How a suppressed other claim is named in its sentence (a strength claim: "Strength, <measure label>").
OTHER_CLAIM_NAMES: Mapping[str, str] = {
    "strength": "Strength",
    "twitch": "Twitch response",
    "soreness": "Soreness after needling",
    "combined": "Needling combined with other therapy",
    "early": "Larger effect early in treatment",
}

# The reasons for exclusion of the comparison claims, by the code in their ``n_excluded_<code>``
# columns, in the order the sentence lists them; ``k`` is the plan's visit.
_EXCLUDED: Mapping[str, Mapping[str, Callable[[int], str]]] = {
    "twitch": {
        "not_included": lambda k: "not included for the measure",
        "no_twitch_record": lambda k: f"no twitch record in visits 1-{k}",
        "left_before_k": lambda k: f"left before visit {k}",
    },
    "combined": {
        "not_included": lambda k: "not included for the measure",
        "never_needled": lambda k: "never needled",
        "left_before_k_unimproved": lambda k: f"left before visit {k} without improving",
    },
}

#: Each sensitivity analysis in words, from ``k`` and the plan's improvement event.
_ANALYSIS_TEXT: Mapping[str, Callable[[int, str], str]] = {
    "kaplan_meier": lambda k, e: f"Kaplan-Meier by visit {k}",
    "itt": lambda k, e: "counting dropouts as not improved",
    "completers": lambda k, e: f"only episodes still attending at visit {k + (e == 'sustained')}",
    "k_minus_1": lambda k, e: f"by visit {k - 1}",
    "k_plus_1": lambda k, e: f"by visit {k + 1}",
    "met_once": lambda k, e: "counting the rule met at one visit, whether or not it held",
    "sustained": lambda k, e: "counting only improvement still seen at the next visit",
    "dropout_adjusted": lambda k, e: "with the plan's assumption about the patients who stopped early",
    "absolute_only": lambda k, e: "absolute threshold alone",
    "relative_only": lambda k, e: "percentage threshold alone",
}
#: The improvement event in words, after "met the improvement rule (...) by visit k".
_EVENT_TEXT: Mapping[str, str] = {"once": "", "sustained": " and still met it at the next visit"}

Row = Mapping[str, Any]


#: Below this a p-value is written as "< 1e-6": its digits say nothing the reader can use.
P_FLOOR = 1e-6


def format_p(p: float) -> str:
    """A p-value as a table shows it: two significant digits, ``< 1e-6`` below :data:`P_FLOOR`, never ``0.0``.

    Examples
    --------
    >>> [format_p(p) for p in (0.0342, 0.000021, 3e-35, 0.0, 1.0, float("nan"))]
    ['0.034', '2.1e-05', '< 1e-6', '< 1e-6', '1', 'NA']
    """
    if p != p:  # NaN
        return "NA"
    return "< 1e-6" if p < P_FLOOR else f"{p:.2g}"


def is_p_value_column(name: object) -> bool:
    """Whether a result column holds a p-value (``p_value``, ``p_value_not``, ``p_adjusted``, ``p_not_adjusted``).

    Examples
    --------
    >>> [is_p_value_column(c) for c in ("p_value_not", "p0", "estimate")]
    [True, False, False]
    """
    return str(name).startswith(("p_value", "p_adjusted", "p_not_adjusted"))


def with_p_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` for display, its p-value columns (``p_value*``, ``p_adjusted``,
    ``p_not_adjusted``) written by :func:`format_p` (so a later ``.round()`` cannot make them 0.0).

    Examples
    --------
    >>> with_p_text(pd.DataFrame({"estimate": [0.5], "p_value": [3e-35]})).to_dict("records")
    [{'estimate': 0.5, 'p_value': '< 1e-6'}]
    """
    out = frame.copy()
    for c in out.columns:
        if is_p_value_column(c):
            out[c] = pd.array([format_p(float(v)) for v in out[c]], dtype="str")
    return out


def _p_words(p: float) -> str:
    """``p = 0.034`` or ``p < 1e-6``, as a sentence writes it."""
    text = format_p(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def suppressed_sentence(name: str, min_cell: int = 11) -> str:
    """What a clinic reader sees instead of a suppressed result: no number but the rule.

    Examples
    --------
    >>> suppressed_sentence("twitch")
    'twitch: too few episodes (fewer than 11) were available to report it.'
    """
    return f"{name}: too few episodes (fewer than {int(min_cell)}) were available to report it."


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _analysis_text(analysis: str, k: int, event: str = "once") -> str:
    """A sensitivity analysis named in words."""
    text = _ANALYSIS_TEXT.get(analysis)
    return text(k, event) if text else analysis.replace("_", " ")


def _given(value: Any) -> bool:
    """Whether a field holds a value (not None, NaN or NA)."""
    return value is not None and bool(pd.notna(value))


def _true(row: Row, field: str) -> bool:
    value = row.get(field)
    return bool(value) if _given(value) else False


def _dropout_words(row: Row, plan: Plan) -> str:
    """Why a claim above p0 by Kaplan-Meier is not confirmed: what the dropouts would have had to do."""
    ratio = _pct(plan.dropout_ratio)
    text = (
        f"{count_text(row['n_censored_before_k'], plan.min_cell_size)} episodes stopped before their status at "
        f"visit {row['k']} was known; if "
        f"they improved at {ratio} of the rate of comparable patients who stayed, the share could be as low as "
        f"{_pct(row['ci_low_dropout_adjusted'])}"
    )
    tip = row.get("tipping_point")
    if tip is not None and _given(tip):
        text += f", and the claim holds only if they improved at {_pct(tip)} of that rate or more"
    return text + _reasons_words(row, plan.min_cell_size)


def _reasons_words(row: Row, min_cell: int) -> str:
    """The discharge reasons of the episodes that stopped early, when the data record any (counts shown
    only when none is small: :func:`outcomes.disclosure.exclusion_text`)."""
    counts = {text.lower(): row.get(f"n_stopped_{r}") for r, text in DISCHARGE_REASONS.items()}
    given = {r: int(n) for r, n in counts.items() if n is not None and _given(n)}
    if not any(given.values()):
        return ""  # no reason recorded (or no discharge_reason column)
    missing = row.get("n_stopped_not_recorded")
    given["not recorded"] = int(missing) if missing is not None and _given(missing) else 0
    return " (their discharge notes: " + exclusion_text(given, min_cell, sep="; ") + ")"


def _robust_words(row: Row, plan: Plan) -> str:
    """How much worse the dropouts could have done without changing a supported verdict (the tipping point)."""
    tip = row.get("tipping_point")
    if not row.get("n_censored_before_k"):
        return "No episode stopped before its status at that visit was known."
    if tip is None or not _given(tip):
        return ""
    if tip == 0:
        return "It holds even if none of the patients who stopped early would have improved."
    return (
        f"It holds as long as the patients who stopped early improved at {_pct(tip)} or more of the rate of "
        f"comparable patients who stayed; the plan assumes {_pct(plan.dropout_ratio)}"
        f"{_reasons_words(row, plan.min_cell_size)}."
    )


def _improvement_sentence(row: Row, sens: pd.DataFrame, exclusions: pd.DataFrame, plan: Plan) -> str:
    """One primary or secondary claim: estimate, interval, rule, n, exclusions, verdict, dissent."""
    verdict_words = {
        "supported": f"This is above the {_pct(plan.p0)} the claim needs: the claim is supported",
        "not_supported": f"This is below the {_pct(plan.p0)} the claim needs: the claim is not supported",
        "inconclusive": (
            f"The interval includes {_pct(plan.p0)}, so these records can neither confirm "
            "nor refute the claim: inconclusive"
        ),
    }
    adj = ""
    unadjusted = verdict_from_bounds(row["ci_low"], row["ci_high"], plan.p0)
    dropout_failed = (
        unadjusted == "supported" and row["verdict"] == "inconclusive" and not _true(row, "robust_to_dropout")
    )
    if dropout_failed:
        verdict_words["inconclusive"] = (
            f"The interval lies above {_pct(plan.p0)}, but {_dropout_words(row, plan)}, so these records "
            "cannot confirm the claim: inconclusive"
        )
    elif row["family"] == "secondary":
        if row["verdict"] != "inconclusive":
            adj = " after Holm adjustment across the range-of-motion measures"
        if unadjusted != row["verdict"]:
            side = "above" if unadjusted == "supported" else "below"
            verdict_words["inconclusive"] = (
                f"The unadjusted interval lies {side} {_pct(plan.p0)}, but the evidence is not strong enough "
                "once the number of range-of-motion measures tested is taken into account: inconclusive"
            )
    min_cell = plan.min_cell_size
    reasons = {str(r): int(n) for r, n in zip(exclusions["description"], exclusions["n"])}
    if row["n"] == 0:
        why = f" (excluded: {exclusion_text(reasons, min_cell, sep=', ')})" if reasons else ""
        return f"{row['label']}: no episode could be analysed{why}, so these records cannot test the claim. {CAVEAT}"
    if row["n"] < min_cell:
        return (
            f"{row['label']}: only {count_text(row['n'], min_cell)} episodes could be analysed, too few to "
            f"report an estimate without risking that a patient could be recognised. {CAVEAT}"
        )
    excl_txt = ""
    if row["n_excluded"]:
        excl_txt = f"; {count_text(row['n_excluded'], min_cell)} excluded: " + exclusion_text(
            reasons, min_cell, sep=", "
        )
    text = (
        f"{row['label']}: an estimated {_pct(row['estimate'])} of episodes "
        f"({_pct(row['conf_level'])} CI {_pct(row['ci_low'])} to {_pct(row['ci_high'])}) met the improvement "
        f"rule ({row['rule']}) by visit {row['k']}{_EVENT_TEXT[plan.improvement_event]} "
        f"(Kaplan-Meier, n = {row['n']}{excl_txt}). "
        f"{verdict_words[row['verdict']]}{adj}."
    )
    if row["verdict"] == "supported":
        text += " " + _robust_words(row, plan)
    others = sens[sens["analysis"] != "kaplan_meier"]
    disagree = others[others["verdict"] != row["verdict"]]
    if disagree.empty:
        text += f" All {len(others)} sensitivity analyses agree."
    else:
        # an analysis of fewer than min_cell episodes is named, never quoted (small cells)
        event = plan.improvement_event
        names = "; ".join(
            f"{_analysis_text(a, row['k'], event)}: {_pct(e)}, {v.replace('_', ' ')}"
            if n >= min_cell
            else f"{_analysis_text(a, row['k'], event)}: fewer than {min_cell} episodes"
            for a, e, v, n in zip(disagree["analysis"], disagree["estimate"], disagree["verdict"], disagree["n"])
        )
        text += f" Sensitivity analyses that disagree: {names}."
    return text + " " + CAVEAT


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]


def _shown(sentences: list[str], names: list[str], shown: pd.DataFrame | None, min_cell: int) -> pd.Series:
    """The sentences, those of rows suppressed in ``shown`` replaced by :func:`suppressed_sentence`."""
    if shown is not None:
        gone = shown["suppressed"].to_numpy(dtype=bool)
        sentences = [suppressed_sentence(n, min_cell) if g else s for s, n, g in zip(sentences, names, gone)]
    return pd.Series(sentences, dtype="str", name="sentence")


def claim_sentences(result: ClaimsResult, *, shown: pd.DataFrame | None = None) -> pd.Series:
    """The sentence of each primary and secondary claim, in the order of ``result.claims``.

    Parameters
    ----------
    result : ClaimsResult
        The unsuppressed result (:func:`outcomes.claims.improvement.evaluate_claims`).
    shown : DataFrame, optional
        The disclosed claims (``result.disclosed().claims``): a claim suppressed there gets
        :func:`suppressed_sentence` with its label.  Without it, every claim's numbers are
        written (small counts still as ``"<11"``): the research team's text.

    Returns
    -------
    Series
        One sentence per claim (``str``), index ``0 .. len(result.claims) - 1``.

    Examples
    --------
    >>> from outcomes.ingest.synth import SynthParams, simulate_visits
    >>> from outcomes.claims.improvement import evaluate_claims
    >>> res = evaluate_claims(simulate_visits(SynthParams(n_episodes=60), seed=3).visits, Plan(n_boot=200))
    >>> shown = res.disclosed().claims
    >>> s = claim_sentences(res, shown=shown)
    >>> bool(s[shown["suppressed"].to_numpy()].str.contains("too few episodes").all())
    True
    >>> bool(s[~shown["suppressed"].to_numpy()].str.endswith(CAVEAT).all())
    True
    """
    plan, claims = result.plan, result.claims
    sentences = [
        _improvement_sentence(
            row,
            result.sensitivity[result.sensitivity["id"] == row["id"]],
            result.exclusions[result.exclusions["id"] == row["id"]],
            plan,
        )
        for row in _records(claims)
    ]  # one per claim measure, not data rows
    return _shown(sentences, claims["label"].astype("str").tolist(), shown, plan.min_cell_size)


def _strength(row: Row, siblings: pd.DataFrame, result: OtherClaimsResult) -> str:
    plan = result.plan
    m = plan.measure(row["measure"])
    if row["primary"]:
        ev = result.strength[row["measure"]]
        head = ev.claims.iloc[0]
        text = _improvement_sentence(
            {str(k): v for k, v in head.to_dict().items()}, ev.sensitivity, ev.exclusions, ev.plan
        )
        if row["verdict"] != head["verdict"]:
            text += f" After Holm adjustment across the {len(result.strength)} strength measures: {row['verdict']}."
        return text
    return (
        f"{m.label}: {str(row['change_statistic']).replace('_', '-')} gain from baseline to visit {plan.k} "
        f"{row['estimate']:.1f} {m.unit} ({row['conf_level']:.0%} CI {row['ci_low']:.1f} to "
        f"{row['ci_high']:.1f}; n = {count_text(row['n'], plan.min_cell_size)}); the MCID is "
        f"{m.threshold_abs:g} {m.unit}."
    )


def _excluded(claim: str, row: Row, k: int) -> dict[str, int]:
    return {text(k): int(row[f"n_excluded_{code}"]) for code, text in _EXCLUDED[claim].items()}


def _twitch(row: Row, siblings: pd.DataFrame, result: OtherClaimsResult) -> str:
    plan = result.plan
    k, mc = plan.k, plan.min_cell_size

    def count(n: float) -> str:
        return count_text(int(n), mc)

    if row["analysis"] == "logrank":
        return (
            f"Visits-to-improvement curves, twitch vs no twitch: log-rank chi-square "
            f"{row['chi_square']:.2f} (1 df), {_p_words(row['p_value'])} (two-sided); events "
            f"{count(row['n_events_with'])}/{count(row['n_with'])} vs "
            f"{count(row['n_events_without'])}/{count(row['n_without'])}."
        )
    if not row["primary"]:  # the Kaplan-Meier share of one group
        label = str(row["analysis"])[3:].replace("_", " ")
        if not np.isfinite(row["estimate"]):
            return f"{label}: not estimable at visit {k}."
        return f"{label}: {100 * row['estimate']:.0f}% improved by visit {k} (Kaplan-Meier, n = {count(row['n'])})."
    m = plan.measure(row["measure"])
    words = {
        "supported": "are associated with more improvement",
        "not_supported": "are associated with less improvement",
        "inconclusive": "show no clear difference in improvement",
    }[row["verdict"]]
    excl_txt = exclusion_text(_excluded("twitch", row, k), mc)
    return (
        f"Episodes with a local twitch response at one of the first {k} visits {words}: by visit {k} their "
        f"{m.label} gain was {row['estimate']:+.2f} {m.unit} ({row['conf_level']:.0%} CI {row['ci_low']:+.2f} to "
        f"{row['ci_high']:+.2f}) compared with episodes without one, adjusted for baseline (ANCOVA; "
        f"n = {count(row['n_with'])} with, {count(row['n_without'])} without"
        f"{'; excluded: ' + excl_txt if excl_txt else ''}). {ASSOCIATION_CAVEAT}"
    )


def _signed_points(x: float) -> str:
    return f"{100 * x:+.0f}" if np.isfinite(x) else "n/a"


def _combined(row: Row, siblings: pd.DataFrame, result: OtherClaimsResult) -> str:
    plan = result.plan
    k, mc = plan.k, plan.min_cell_size
    pct = _signed_points
    if row["analysis"] == "ipw_risk_difference":
        if not np.isfinite(row["estimate"]):
            return "Sensitivity (propensity weights): not estimable."
        return (
            f"Sensitivity (stabilized inverse-propensity weights, largest weight "
            f"{row['max_weight']:.1f}): difference in share improved by visit {k} "
            f"{pct(row['estimate'])} ({pct(row['ci_low'])} to {pct(row['ci_high'])}) percentage points."
        )
    adj_txt = ", ".join(str(c).replace("_", " ") for c in row["adjusted_for"])
    if row["analysis"] == "ancova_change_at_k":
        m = plan.measure(row["measure"])
        return (
            f"Difference in {m.label} gain at visit {k}, combined minus alone, adjusted for "
            f"{adj_txt}: {row['estimate']:+.2f} {m.unit} ({row['conf_level']:.0%} CI "
            f"{row['ci_low']:+.2f} to {row['ci_high']:+.2f}; n = {count_text(row['n'], mc)})."
        )
    n_comb, n_alone = count_text(row["n_combined"], mc), count_text(row["n_alone"], mc)
    if not np.isfinite(row["estimate"]):
        return (
            f"Needling with exercise or manual therapy vs needling alone: the adjusted model could not be "
            f"estimated (n = {n_comb} combined, {n_alone} alone). {CONFOUNDING_CAVEAT}"
        )
    words = {
        "supported": "more episodes improved with combined care",
        "not_supported": "fewer episodes improved with combined care",
        "inconclusive": "no clear difference between combined care and needling alone",
    }[row["verdict"]]
    ipw = siblings[siblings["analysis"] == "ipw_risk_difference"].iloc[0]
    excl_txt = exclusion_text(_excluded("combined", row, k), mc)
    return (
        f"Needling with exercise or manual therapy vs needling alone: {words}. Adjusted for {adj_txt}, the "
        f"share improved by visit {k} differed by {pct(row['estimate'])} percentage points ({row['conf_level']:.0%} "
        f"CI {pct(row['ci_low'])} to {pct(row['ci_high'])}; standardized risks {100 * row['risk_combined']:.0f}% vs "
        f"{100 * row['risk_alone']:.0f}%; n = {n_comb} combined, {n_alone} alone"
        f"{'; excluded: ' + excl_txt if excl_txt else ''}). Propensity-weighted sensitivity analysis: "
        f"{pct(ipw['estimate'])} ({pct(ipw['ci_low'])} to {pct(ipw['ci_high'])}) percentage points. "
        f"{CONFOUNDING_CAVEAT}"
    )


def _soreness(row: Row, siblings: pd.DataFrame, result: OtherClaimsResult) -> str:
    if not row["primary"]:  # a quantile of the hours
        return f"{round(100 * row['quantile'])}% of needled visits had soreness of at most {row['estimate']:.1f} h."
    mc = result.plan.min_cell_size

    def count(n: int) -> str:
        return count_text(n, mc)

    quantiles = dict(zip(siblings["quantile"], siblings["estimate"]))
    hours, share, n_excl = float(row["hours"]), float(row["p0"]), int(row["n_excluded"])
    words = {
        "supported": "supported",
        "not_supported": "not supported",
        "inconclusive": "inconclusive (the interval includes the threshold)",
    }[row["verdict"]]
    ci = (
        f"{row['conf_level']:.0%} CI {100 * row['ci_low']:.0f}% to {100 * row['ci_high']:.0f}%, clustered by episode"
        if np.isfinite(row["ci_low"])
        else "no interval: too little variation"
    )
    return (
        f"Soreness after needling resolved within {hours:g} hours after {100 * row['estimate']:.0f}% of needled "
        f"visits ({ci}; n = {count(row['n'])} visits in {count(row['n_episodes'])} episodes"
        f"{f', {count(n_excl)} needled visits without a soreness report excluded' if n_excl else ''}); median "
        f"{quantiles[0.5]:.0f} h (interquartile range {quantiles[0.25]:.0f}-{quantiles[0.75]:.0f} h). The claim "
        f'"a few hours up to two days" is read as at least {100 * share:.0f}% resolved within {hours:g} h: {words}.'
    )


def _early(row: Row, siblings: pd.DataFrame, result: OtherClaimsResult) -> str:
    plan = result.plan
    m = plan.measure(row["measure"])
    knee = int(row["knee"])
    if not row["primary"]:  # one segment's slope
        when = "up to" if row["analysis"] == "slope_early" else "after"
        return (
            f"Improvement per visit {when} visit {knee}: {row['estimate']:.2f} {m.unit} "
            f"({row['conf_level']:.0%} CI {row['ci_low']:.2f} to {row['ci_high']:.2f})."
        )

    def count(n: int) -> str:
        return count_text(n, plan.min_cell_size)

    slopes = dict(zip(siblings["analysis"], siblings["estimate"]))
    n_excl = int(row["n_excluded"])
    words = {
        "supported": "larger early in treatment than later: supported",
        "not_supported": "larger later than early: not supported",
        "inconclusive": "not clearly different early and late: inconclusive",
    }[row["verdict"]]
    return (
        f"{m.label}: average improvement per visit was {slopes['slope_early']:.2f} {m.unit} up to visit {knee} and "
        f"{slopes['slope_late']:.2f} {m.unit} after it; the difference (early minus late) is {row['estimate']:.2f} "
        f"({row['conf_level']:.0%} CI {row['ci_low']:.2f} to {row['ci_high']:.2f}; piecewise mixed model, "
        f"n = {count(row['n'])} episodes, {count(row['n_visits'])} visits"
        f"{f', {count(n_excl)} excluded' if n_excl else ''}"
        f"{'' if row['converged'] else '; the model did not converge, read with care'}). Improvement is "
        f"{words}. {CAVEAT}"
    )


# One writer per claim kind: (row, the other rows of its claim, the result) -> sentence.
_WRITERS: Mapping[str, Callable[[Row, pd.DataFrame, OtherClaimsResult], str]] = {
    "strength": _strength,
    "twitch": _twitch,
    "combined": _combined,
    "soreness": _soreness,
    "early": _early,
}


def _other_claim_name(claim: str, measure: Any, plan: Plan) -> str:
    if claim == "strength" and measure in plan.registry:
        return f"Strength, {plan.registry[measure].label}"
    return OTHER_CLAIM_NAMES.get(claim, claim)


def other_claim_sentences(result: OtherClaimsResult, *, shown: pd.DataFrame | None = None) -> pd.Series:
    """The sentence of every row of ``result.results`` (each claim's verdict and its supporting rows).

    Parameters
    ----------
    result : OtherClaimsResult
        The unsuppressed result (:func:`outcomes.claims.other_claims.run_other_claims`).
    shown : DataFrame, optional
        The disclosed rows (``Analysis.disclosed_other_claims.results``): a row suppressed
        there gets :func:`suppressed_sentence` with the claim's name (:data:`OTHER_CLAIM_NAMES`).

    Returns
    -------
    Series
        One sentence per row (``str``), index ``0 .. len(result.results) - 1``; a claim that
        could not be tested says why (``"<id>: <reason>."``).

    Examples
    --------
    >>> from outcomes.ingest.synth import SynthParams, simulate_visits
    >>> from outcomes.claims.other_claims import run_other_claims
    >>> sim = simulate_visits(SynthParams(n_episodes=120), seed=2)
    >>> res = run_other_claims(sim.visits.drop(columns="twitch_response"),
    ...                        Plan().with_(other_claims={"conditions": {"enabled": False}}))
    >>> s = other_claim_sentences(res)
    >>> s[(res.results["id"] == "twitch").to_numpy()].tolist()
    ['twitch: not testable: column twitch_response missing.']
    >>> bool(s[(res.results["id"] == "combined").to_numpy()].iloc[0].endswith(CONFOUNDING_CAVEAT))
    True
    """
    results, plan = result.results.reset_index(drop=True), result.plan
    sentences = []
    for i, row in enumerate(_records(results)):  # a few rows a claim, not data rows
        if row["verdict"] == "not_testable":
            sentences.append(f"{row['id']}: {row['reason']}.")
            continue
        siblings = results[(results["id"] == row["id"]) & (results.index != i)]
        sentences.append(_WRITERS[str(row["claim"])](row, siblings, result))
    names = [_other_claim_name(str(c), m, plan) for c, m in zip(results["claim"], results["measure"])]
    return _shown(sentences, names, shown, plan.min_cell_size)
