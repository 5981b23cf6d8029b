"""Runs the registered other claims on canonical visits (:data:`outcomes.claims.registry.OTHER_CLAIMS`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from outcomes.claims.registry import OTHER_CLAIMS, ClaimRunner
from outcomes.claims.result import missing_columns, not_testable, not_testable_reason
from outcomes.errors import OutcomesError, Problem
from outcomes.spec.claim_settings import CLAIM_COLUMNS, settings

__all__ = ["enabled_setting", "evaluate_other_claims"]


def enabled_setting(claim: str, plan: Any) -> Any:
    return settings(claim, plan.other_claims)["enabled"]


def evaluate_other_claims(
    visits: Any,
    plan: Any,
    *,
    claims: Sequence[str] | None = None,
    runners: Mapping[str, ClaimRunner] | None = None,
) -> pd.DataFrame:
    """Run the other claims 1-5 (strength, twitch, soreness, combined, early).

    Each runs when enabled (``auto``: when its columns are present, otherwise one
    ``not_testable`` row says which column is missing).

    Parameters
    ----------
    visits : DataFrame or LoadedVisits
        Canonical visits.
    plan : Plan
        Analysis plan (``other_claims`` settings, ``k``, ``alpha``, seeds).
    claims : sequence of str, optional
        Run only these (default all five, in the order above).
    runners : mapping, optional
        Claim id to the function that tests it, replacing the registered one (e.g. strength
        with its per-measure analyses already computed, :func:`outcomes.claims.other_claims.run_other_claims`).

    Returns
    -------
    DataFrame
        Every result row (:data:`RESULT_COLUMNS`); ``frame[frame.primary]`` has one row
        per claim with its verdict.

    Raises
    ------
    OutcomesError
        Rule ``other_claim_columns`` when a claim is ``enabled: true`` but its columns are
        missing.

    Examples
    --------
    >>> from outcomes.ingest.synth import SynthParams, simulate_visits
    >>> from outcomes.spec.plan import Plan
    >>> sim = simulate_visits(SynthParams(n_episodes=120), seed=2)
    >>> out = evaluate_other_claims(sim.visits.drop(columns="twitch_response"), Plan())
    >>> out.loc[out["primary"], ["id", "verdict"]].set_index("id").loc["twitch", "verdict"]
    'not_testable'
    """
    frame = getattr(visits, "visits", visits)
    registered = {**OTHER_CLAIMS, **(runners or {})}
    parts = []
    for claim in OTHER_CLAIMS if claims is None else claims:  # five claims, not data rows
        run = registered[claim]
        enabled = enabled_setting(claim, plan)
        if enabled is False:
            parts.append(not_testable(claim, claim, "not run: disabled in the analysis plan"))
            continue
        missing = missing_columns(frame, CLAIM_COLUMNS[claim])
        if missing is not None and enabled is True:
            raise OutcomesError(
                Problem(
                    "other_claim_columns",
                    f"claim {claim} is enabled but {missing.text}",
                    getattr(visits, "source", "<data>"),
                    (),
                    CLAIM_COLUMNS[claim][0],
                )
            )
        parts.append(not_testable(claim, claim, not_testable_reason(missing)) if missing else run(frame, plan))
    return pd.concat(parts, ignore_index=True)
