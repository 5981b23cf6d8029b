"""P(improved by visit k) per condition, with small cells suppressed (for the forest plot).

Each condition's estimate is the same Kaplan-Meier estimate as the claim's
(:func:`outcomes.stats.km_at` on the episodes the claim included, the plan's ``km_interval``
at its ``conf_level``), computed on that condition's episodes alone.  These are
descriptive: no verdict is drawn per condition and the intervals are not adjusted
for multiplicity.  A condition with fewer than ``plan.min_cell_size`` episodes is
suppressed (:func:`outcomes.disclosure.suppress_estimates`): no estimate, and ``n``
hidden when it is 1 to ``min_cell_size - 1``; because the ``all`` row publishes the
total, one more condition's ``n`` is then hidden (shown as ``"*"``, its estimate kept).

Examples
--------
>>> from outcomes.analysis import analyse
>>> a = analyse()
>>> t = condition_estimates(a.claims)
>>> t.loc[0, "condition"], int(t.loc[0, "n"])
('all', 392)
>>> t.loc[t["condition"] == "medial_epicondylalgia", ["n", "estimate", "suppressed"]]
       n  estimate  suppressed
12  <NA>       NaN        True
"""

from __future__ import annotations

import pandas as pd

from outcomes.claims.improvement import ClaimsResult
from outcomes.disclosure import suppress_counts, suppress_estimates
from outcomes.spec.contract import CONDITIONS
from outcomes.stats import ConfType, km_at

__all__ = ["condition_estimates"]

_COLUMNS = ["condition", "label", "n", "n_text", "estimate", "ci_low", "ci_high", "conf_level", "suppressed"]


def _km(group: pd.DataFrame, k: int, conf_level: float, conf_type: ConfType) -> pd.Series:
    table = km_at(group["time"].to_numpy(), group["event"].to_numpy(), k, conf_level=conf_level, conf_type=conf_type)
    row = table.iloc[0]
    return row[["n", "estimate", "ci_low", "ci_high", "conf_level"]]


def condition_estimates(result: ClaimsResult, measure: str | None = None) -> pd.DataFrame:
    """Kaplan-Meier P(improved by visit k) for all episodes and for each condition.

    Parameters
    ----------
    result : ClaimsResult
        Output of :func:`outcomes.claims.improvement.evaluate_claims`.
    measure : str, optional
        Claim measure (default: the plan's primary measure).

    Returns
    -------
    DataFrame
        ``condition`` (``"all"`` first, then conditions by decreasing ``n``), ``label``,
        ``n`` (Int64, missing when hidden), ``n_text`` (``n`` as shown: the count, ``"<11"``,
        or ``"*"`` for a complementary suppression), ``estimate``, ``ci_low``, ``ci_high``,
        ``conf_level``, ``suppressed``.  Episodes without a recorded condition form the
        group ``"unknown"``.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> t = condition_estimates(analyse().claims)
    >>> bool(t.loc[~t["suppressed"], "n"].min() >= 11)
    True
    """
    plan = result.plan
    code = plan.primary_measure if measure is None else measure
    eps = result.episodes
    inc = eps[(eps["measure"] == code) & (eps["status"] == "included")]
    overall = _km(inc, plan.k, plan.conf_level, plan.km_interval).to_frame().T.assign(condition="all")
    if "condition" in inc.columns:
        cond = inc["condition"].astype("str").fillna("unknown")
        per = (
            inc.assign(condition=cond)
            .groupby("condition", sort=True)[["time", "event"]]
            .apply(_km, k=plan.k, conf_level=plan.conf_level, conf_type=plan.km_interval)
            .reset_index()
        )
        per = per.sort_values(["n", "condition"], ascending=[False, True], kind="stable")
    else:
        per = overall.iloc[:0]
    table = pd.concat([overall, per], ignore_index=True)
    table["n"] = table["n"].astype("int64")
    for c in ("estimate", "ci_low", "ci_high", "conf_level"):
        table[c] = table[c].astype("float64")
    table["label"] = table["condition"].map({"all": "All episodes", **CONDITIONS}).fillna(table["condition"])
    # The "all" row publishes the total of the condition rows, so when exactly one n is small
    # another is hidden too ("*"), else the small one could be found by subtraction.
    shown = suppress_counts(table.iloc[1:][["n"]], count_cols=["n"], min_cell=plan.min_cell_size, total_row="all")[
        "n"
    ].to_numpy()
    table = suppress_estimates(table, min_cell=plan.min_cell_size)
    table["n_text"] = pd.array([shown[-1], *shown[:-1]], dtype="str")
    table["n"] = table["n"].mask(~table["n_text"].str.isdigit())
    return table[_COLUMNS]
