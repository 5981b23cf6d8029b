"""One entry point from a data file and a plan to every result: what notebooks, CLI and report call.

Examples
--------
>>> a = analyse()            # the bundled sample and the default plan
>>> a.claims.claims["measure"].iloc[0]
'pain_nprs'
>>> a.loaded.n_episodes == len(a.claims.episodes.drop_duplicates("episode_id"))  # doctest: +SKIP
True
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from outcomes.claims.conditions import claim_groups
from outcomes.claims.improvement import ClaimsResult, evaluate_claims
from outcomes.claims.other_claims import OtherClaimsResult, run_other_claims
from outcomes.disclosure import count_marks, disclose_claims
from outcomes.errors import OutcomesError, Problem
from outcomes.ingest.load import load_visits
from outcomes.ingest.visits import LoadedVisits
from outcomes.resources import sample_data
from outcomes.spec.plan import Plan, load_plan

__all__ = ["SAMPLE_DATA", "Analysis", "analyse", "load_analysis", "save_analysis", "summary_lines"]

#: The bundled synthetic sample (used when no data file is given).
SAMPLE_DATA = sample_data()


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
    def other_claims(self) -> OtherClaimsResult:
        """The clinic's other claims and every claim per condition (:mod:`outcomes.claims.other_claims`)."""
        return run_other_claims(self.loaded.visits, self.plan)

    @cached_property
    def claim_groups(self) -> pd.DataFrame:
        """Sizes of the groups the comparison claims compare (:func:`outcomes.claims.conditions.claim_groups`)."""
        return claim_groups(self.loaded.visits, self.plan)

    @cached_property
    def disclosed_claims(self) -> ClaimsResult:
        """The primary and secondary claims with small cells suppressed (:meth:`ClaimsResult.disclosed`)."""
        return self.claims.disclosed()

    @cached_property
    def disclosed_other_claims(self) -> OtherClaimsResult:
        """The other claims with small cells suppressed (:func:`outcomes.disclosure.disclose_claims`).

        A claim is suppressed when its primary row has fewer than ``min_cell_size``
        episodes or one of the groups it compares does (:attr:`claim_groups`); the
        per-condition table is suppressed where it is built, the strength measures'
        analyses by :meth:`ClaimsResult.disclosed`.
        """
        raw = self.other_claims
        results = disclose_claims(raw.results, self.plan.min_cell_size, groups=self.claim_groups).drop(columns="n_text")
        return replace(
            raw,
            results=results,
            claims=results[results["primary"]].reset_index(drop=True),
            strength={code: res.disclosed() for code, res in raw.strength.items()},
        )

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


# Pickle is safe here, and only here: the file is written by save_analysis in the same run, into
# the report's private temporary directory (mkdtemp: mode 0700, owned by this user), read by the
# notebooks that run, and deleted with that directory before the report is published.  No one
# else can write it, and it is never read from a user-supplied path.  A format that could not
# execute code (JSON, Parquet) would need a serialiser for every frame and dataclass of the result.
def save_analysis(analysis: Analysis, path: str | os.PathLike[str]) -> Path:
    """Write ``analysis`` (with its other claims computed) for :func:`load_analysis`.

    Only for the report's private temporary directory (see the comment above).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> a = analyse()
    >>> path = save_analysis(a, pathlib.Path(tempfile.mkdtemp()) / "analysis.pickle")
    >>> load_analysis(path).loaded.sha256 == a.loaded.sha256
    True
    """
    _ = analysis.other_claims, analysis.claim_groups  # computed once, carried to the notebooks
    target = Path(path)
    with open(target, "xb") as fh:  # never over an existing file
        pickle.dump(analysis, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return target


def load_analysis(path: str | os.PathLike[str]) -> Analysis:
    """The :class:`Analysis` written by :func:`save_analysis` in the same run (the notebooks' ``ANALYSIS``).

    Raises
    ------
    OutcomesError
        Rule ``analysis_file`` when the file is missing or holds no analysis.

    Examples
    --------
    >>> load_analysis("/nonexistent/analysis.pickle")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    outcomes.errors.OutcomesError: /nonexistent/analysis.pickle: [analysis_file] ...
    """
    try:
        with open(path, "rb") as fh:
            obj = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError):
        obj = None
    if not isinstance(obj, Analysis):
        raise OutcomesError(
            Problem("analysis_file", "no analysis saved by this run of outcomes report", os.fspath(path))
        )
    return obj


def summary_lines(analysis: Analysis, *, other_claims: bool = False) -> list[str]:
    """One line per claim: measure, verdict, estimate, CI, n used / excluded.

    What a clinic lead reads, so small cells are suppressed as in the report
    (:attr:`Analysis.disclosed_claims`): a claim of fewer than ``min_cell_size`` episodes
    (or comparing a group that small) shows the verdict ``suppressed`` and no estimate;
    counts of 1 to ``min_cell_size - 1`` are ``<11`` and counts hidden to protect them
    ``*``.

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
    mc = plan.min_cell_size
    disclosed = getattr(analysis, "disclosed_claims", None) or analysis.claims.disclosed()

    def lines_of(raw: pd.DataFrame, shown: pd.DataFrame, name_col: str) -> list[str]:
        n = count_marks(raw["n"], shown["n"], mc).mask(raw["n"].isna().to_numpy(), "0")
        excl = count_marks(raw["n_excluded"], shown["n_excluded"], mc).mask(raw["n_excluded"].isna().to_numpy(), "0")
        out = []
        for name, verdict, est, lo, hi, n_txt, e_txt in zip(
            shown[name_col], shown["verdict"], shown["estimate"], shown["ci_low"], shown["ci_high"], n, excl
        ):
            if np.isfinite(est):
                ci = f"{lo:.2f} to {hi:.2f}" if np.isfinite(lo) and np.isfinite(hi) else "-"
                numbers = f"{est:8.2f}  {ci:<14}"
            else:
                numbers = f"{'':8}  {'':<14}"
            out.append(f"{name:<58} {verdict:<15} {numbers} {n_txt:>4}  {e_txt:>8}")
        return out

    lines = [
        f"claim (P(improved by visit {plan.k}) vs p0 = {plan.p0:g}, "
        f"{plan.conf_level:.0%} CI, Kaplan-Meier)   verdict          estimate  CI                n  excluded"
    ]
    lines += lines_of(analysis.claims.claims, disclosed.claims, "measure")
    if other_claims:
        lines.append("other claims (estimate vs its threshold; see results.json for the methods)")
        lines += lines_of(analysis.other_claims.claims, analysis.disclosed_other_claims.claims, "id")
    return lines
