"""Settings of the clinic's other claims: the plan section ``other_claims``, defaults and columns.

Plan section ``other_claims`` (all optional; defaults below)::

    other_claims:
      strength:   {enabled: auto}
      twitch:     {enabled: auto}
      soreness:   {enabled: auto, hours: 48, share: 0.90}
      combined:   {enabled: auto}
      early:      {enabled: auto, knee: 3}
      conditions: {enabled: auto, adjust: bh}

``enabled``: ``auto`` (run when the data has the needed columns, otherwise report
"not testable: column X missing"), ``true`` (the columns must be there: an error
otherwise) or ``false`` (reported as not run).  The schema is
:class:`outcomes.spec.plan_schema.OtherClaimsModel`.

Examples
--------
>>> settings("soreness", {})["share"]
0.9
>>> [str(p) for p in validate_other_claims({"soreness": {"share": 2}}, "plan.yaml")]  # doctest: +NORMALIZE_WHITESPACE
['plan.yaml, column other_claims.soreness.share: [plan_other_claims] other_claims.soreness.share must be
  a number in (0, 1), got 2']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from outcomes.errors import Problem
from outcomes.spec.plan_schema import default_other_claims, other_claims_problems

__all__ = ["CLAIM_COLUMNS", "DEFAULT_OTHER_CLAIMS", "settings", "validate_other_claims"]

#: Each claim's default settings (from the declared plan schema, :mod:`outcomes.spec.plan_schema`).
DEFAULT_OTHER_CLAIMS: Mapping[str, Mapping[str, Any]] = default_other_claims()


#: Data columns each claim needs (beyond the required contract columns).
CLAIM_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "strength": (),
    "twitch": ("twitch_response",),
    "soreness": ("soreness_hours",),
    "combined": ("treatment",),
    "early": (),
}


def settings(claim: str, other_claims: Mapping[str, Any]) -> dict[str, Any]:
    """A claim's settings: the defaults updated with the plan's ``other_claims[claim]``.

    Examples
    --------
    >>> settings("early", {"early": {"knee": 4}})
    {'enabled': 'auto', 'knee': 4}
    """
    return dict(DEFAULT_OTHER_CLAIMS[claim]) | dict(other_claims.get(claim) or {})


def validate_other_claims(other_claims: Mapping[str, Any], source: str) -> list[Problem]:
    """Every problem in a plan's ``other_claims`` section, each naming its key path.

    The section's schema is :class:`outcomes.spec.plan_schema.OtherClaimsModel` (the same one a whole
    plan is validated with).

    Examples
    --------
    >>> [p.column for p in validate_other_claims({"twitch": {"enabled": "yes"}, "x": {}}, "p.yaml")]
    ['other_claims.twitch.enabled', 'other_claims.x']
    """
    return other_claims_problems(other_claims, source)
