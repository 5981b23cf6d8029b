"""One entry point from a data file and a plan to every result: what notebooks, CLI and report call.

Examples
--------
>>> a = analyse()            # the bundled sample and the default plan
>>> a.claims.claims["measure"].iloc[0]
'pain_nprs'
>>> a.document["data"]["episodes"] == a.loaded.n_episodes
True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .claims import ClaimsResult, evaluate_claims
from .other_claims import OtherClaimsResult, other_claims_section, run_other_claims
from .plan import Plan, load_plan
from .results import results_document
from .suppress import count_text
from .visits import LoadedVisits, load_visits

__all__ = ["Analysis", "analyse", "SAMPLE_DATA", "summary_lines"]

#: The bundled synthetic sample (used when no data file is given).
SAMPLE_DATA = Path(__file__).resolve().parents[2] / "data" / "sample" / "visits.csv"


@dataclass(frozen=True)
class Analysis:
    """Loaded data, plan and results of one run.

    Attributes
    ----------
    loaded : LoadedVisits
        Validated visits and exclusions.
    plan : Plan
        The analysis plan.
    claims : ClaimsResult
        Verdicts on the primary and secondary claims.
    """

    loaded: LoadedVisits
    plan: Plan
    claims: ClaimsResult

    @cached_property
    def document(self) -> dict[str, Any]:
        """The ``results.json`` document."""
        return results_document(self.claims, data_sha256=self.loaded.sha256,
                                n_episodes=self.loaded.n_episodes, data_source=self.loaded.source,
                                extra=other_claims_section(self.other_claims))

    @cached_property
    def other_claims(self) -> OtherClaimsResult:
        """The clinic's other claims and every claim per condition (:mod:`outcomes.other_claims`)."""
        return run_other_claims(self.loaded.visits, self.plan)

    @property
    def visits(self) -> pd.DataFrame:
        """The validated visits."""
        return self.loaded.visits


def analyse(data: str | Path | pd.DataFrame | None = None, plan: str | Path | Plan | None = None) -> Analysis:
    """Load, validate and evaluate every claim.

    Parameters
    ----------
    data : path or DataFrame, optional
        Visits file (CSV/Parquet, long or wide); default the bundled sample.
    plan : path or Plan, optional
        Analysis plan; default ``plans/default.yaml``.

    Examples
    --------
    >>> analyse().plan.k
    3
    """
    plan_obj = plan if isinstance(plan, Plan) else load_plan(plan)  # first: its registry reads the data
    loaded = load_visits(SAMPLE_DATA if data is None else data, registry=plan_obj.registry)
    return Analysis(loaded=loaded, plan=plan_obj, claims=evaluate_claims(loaded.visits, plan_obj))


def summary_lines(analysis: Analysis, *, other_claims: bool = False) -> list[str]:
    """One line per claim: measure, verdict, estimate, CI, n used / excluded.

    Counts of 1 to ``min_cell_size - 1`` episodes are shown as ``<11`` (this is what a
    clinic lead reads), and so are estimates from fewer than ``min_cell_size`` episodes.

    Parameters
    ----------
    analysis : Analysis
        A finished analysis.
    other_claims : bool, default False
        Also list the clinic's other claims (strength, twitch, soreness ...).

    Examples
    --------
    >>> print(summary_lines(analyse())[0])  # doctest: +ELLIPSIS
    claim...
    """
    plan = analysis.plan
    count = partial(count_text, min_cell=plan.min_cell_size)

    def line(name: str, verdict: str, est: float, lo: float, hi: float, n: float, excl: float) -> str:
        if n < plan.min_cell_size or not np.isfinite(est):
            numbers = f"{'':8}  {'':<14}"
        else:
            ci = f"{lo:.2f} to {hi:.2f}" if np.isfinite(lo) and np.isfinite(hi) else "-"
            numbers = f"{est:8.2f}  {ci:<14}"
        return f"{name:<58} {verdict:<15} {numbers} {count(n):>4}  {count(excl):>8}"

    lines = [f"claim (P(improved by visit {plan.k}) vs p0 = {plan.p0:g}, "
             f"{plan.conf_level:.0%} CI, Kaplan-Meier)   verdict          estimate  CI                n  excluded"]
    for r in analysis.claims.claims.itertuples():
        lines.append(line(r.measure, r.verdict, r.estimate, r.ci_low, r.ci_high, r.n, r.n_excluded))
    if other_claims:
        lines.append("other claims (estimate vs its threshold; see results.json for the methods)")
        for r in analysis.other_claims.claims.itertuples():
            lines.append(line(r.id, r.verdict, r.estimate, r.ci_low, r.ci_high, np.nan_to_num(r.n),
                              np.nan_to_num(r.n_excluded)))
    return lines
