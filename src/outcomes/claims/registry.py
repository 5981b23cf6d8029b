"""The registry of the clinic's other claims: one line a claim (a new claim is one module plus one line here).

Each entry maps the claim's id (its key in the plan's ``other_claims`` section,
:mod:`outcomes.spec.claim_settings`) to the function that tests it on canonical visits
and a plan, returning rows of :data:`outcomes.claims.result.RESULT_COLUMNS`.  The
primary claim "patients improve within a few visits" is :mod:`outcomes.claims.improvement`;
the per-condition table (:mod:`outcomes.claims.conditions`) runs these per condition.

Examples
--------
>>> list(OTHER_CLAIMS)
['strength', 'twitch', 'soreness', 'combined', 'early']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from outcomes.claims.combined import combined_claim
from outcomes.claims.early import early_claim
from outcomes.claims.soreness import soreness_claim
from outcomes.claims.strength import strength_claims
from outcomes.claims.twitch import twitch_claim

__all__ = ["OTHER_CLAIMS", "ClaimRunner"]

#: A claim's test: canonical visits and the plan in, result rows out.
ClaimRunner = Callable[[pd.DataFrame, Any], pd.DataFrame]

#: The other claims, in the order they are run and reported.
OTHER_CLAIMS: Mapping[str, ClaimRunner] = {
    "strength": strength_claims,
    "twitch": twitch_claim,
    "soreness": soreness_claim,
    "combined": combined_claim,
    "early": early_claim,
}
