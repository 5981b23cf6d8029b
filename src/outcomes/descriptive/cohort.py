"""Who is in the analysis: cohort flow, exclusions, missingness and a Table 1 by condition.

Tidy tables for the data-quality notebook; every count comes straight from the
validated visits (:class:`outcomes.ingest.visits.LoadedVisits`) and the claims result
(:class:`outcomes.claims.improvement.ClaimsResult`), so the flow adds up to the ``n`` and
``n_excluded`` of the primary claim.

Definitions
-----------
attended visit v
    The episode has at least one measurement (any measure) at visit ``v``.
measure applies
    The episode has the measure at some visit (ROM measures are only taken for the
    body region treated, so "not applicable" is not "missing").
missing
    The measure applies and the episode attended visit ``v``, but the measure was not
    recorded there.
needling only
    Every visit's ``treatment`` of the episode is exactly ``dry_needling``.

Examples
--------
>>> from outcomes.analysis import analyse
>>> a = analyse()
>>> flow = cohort_flow(a.loaded, a.claims)
>>> flow.set_index("step")["n"].loc[["episodes", "in primary claim"]].tolist()
[400, 392]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from outcomes.claims.improvement import ClaimsResult
from outcomes.disclosure import suppress_counts
from outcomes.ingest.visits import LoadedVisits
from outcomes.spec.plan import Plan

__all__ = ["cohort_flow", "condition_characteristics", "exclusion_summary", "missingness", "table_one"]


def cohort_flow(loaded: LoadedVisits, result: ClaimsResult) -> pd.DataFrame:
    """Records -> episodes -> with a baseline -> in the claim -> reaching visit k.

    Parameters
    ----------
    loaded : LoadedVisits
        Validated visits.
    result : ClaimsResult
        Claims evaluated on them.

    Returns
    -------
    DataFrame
        ``step``, ``n``, ``unit`` (rows / patients / episodes) and ``description``;
        the steps concern the plan's primary measure.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> a = analyse()
    >>> f = cohort_flow(a.loaded, a.claims)
    >>> int(f.loc[f["step"] == "in primary claim", "n"].iloc[0]) == int(a.claims.claims.loc[0, "n"])
    True
    """
    plan = result.plan
    code = plan.primary_measure
    eps = result.episodes[result.episodes["measure"] == code]
    inc = eps[eps["status"] == "included"]
    excl = loaded.exclusions
    rows_excluded = int(excl.loc[excl["row"] > 1, "row"].nunique()) if len(excl) else 0
    k = plan.k
    measured_k = result.change.loc[(result.change["measure"] == code) & (result.change["statistic"] == "mean"), "n"]
    steps = [
        ("measurements", len(loaded.visits), "rows", f"measurement rows kept ({rows_excluded} rows excluded)"),
        ("episodes", loaded.n_episodes, "episodes", f"episodes of care ({loaded.n_patients} patients)"),
        ("with baseline", int((eps["status"] != "no_baseline").sum()), "episodes", f"{code} recorded at visit 1"),
        ("can improve", len(inc), "episodes", "baseline leaves room to improve by the rule"),
        ("in primary claim", len(inc), "episodes", "Kaplan-Meier denominator of the primary claim"),
        (
            f"attended visit {k}",
            int((inc["last_visit"] >= k).sum()),
            "episodes",
            f"still attending at visit {k} (completers)",
        ),
        (
            f"measured at visit {k}",
            int(measured_k.iloc[0]) if len(measured_k) else 0,
            "episodes",
            f"{code} recorded at visit {k} (change from baseline)",
        ),
    ]
    return pd.DataFrame(steps, columns=["step", "n", "unit", "description"])


def exclusion_summary(loaded: LoadedVisits, result: ClaimsResult) -> pd.DataFrame:
    """What was left out and why: rows dropped by the data contract, episodes left out of claims.

    Returns
    -------
    DataFrame
        ``stage`` (``data`` or ``claim``), ``measure`` (empty for data rows), ``reason``,
        ``n`` and ``unit`` (rows or episodes), ``description``.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> a = analyse()
    >>> row = exclusion_summary(a.loaded, a.claims).iloc[0]
    >>> row["stage"], row["measure"], row["reason"], int(row["n"])
    ('claim', 'pain_nprs', 'no_baseline', 7)
    """
    excl = loaded.exclusions
    data = (
        excl.groupby(["rule", "reason"], sort=True)
        .size()
        .rename("n")
        .reset_index()
        .rename(columns={"rule": "reason", "reason": "description"})
    )
    data = data.assign(
        stage="data", measure="", unit=np.where(data["reason"].str.endswith("column"), "columns", "rows")
    )
    claim = result.exclusions.assign(stage="claim", unit="episodes")
    cols = ["stage", "measure", "reason", "n", "unit", "description"]
    out = pd.concat([data[cols], claim[cols]], ignore_index=True)
    out["n"] = out["n"].astype("int64")
    return out


def missingness(visits: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """Share of attended visits at which an applicable measure was not recorded.

    Parameters
    ----------
    visits : DataFrame
        Canonical visits.
    plan : Plan
        Gives ``max_visit`` (later visits are pooled out).

    Returns
    -------
    DataFrame
        ``measure, visit_number, n_expected, n_measured, n_missing, pct_missing``
        (see the module definitions), visits ``1 .. max_visit``.

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({"episode_id": ["E1", "E1", "E1", "E2"], "visit_number": [1, 1, 2, 1],
    ...                   "measure": ["pain_nprs", "rom_hip_flexion", "pain_nprs", "pain_nprs"]})
    >>> print(missingness(v, Plan()).to_string())
               measure  visit_number  n_expected  n_measured  n_missing  pct_missing
    0        pain_nprs             1           2           2          0          0.0
    1        pain_nprs             2           1           1          0          0.0
    2  rom_hip_flexion             1           1           1          0          0.0
    3  rom_hip_flexion             2           1           0          1        100.0
    """
    v = visits[visits["visit_number"] <= plan.max_visit]
    attended = v[["episode_id", "visit_number"]].drop_duplicates()
    applies = visits[["episode_id", "measure"]].drop_duplicates()
    measured = v[["episode_id", "visit_number", "measure"]].drop_duplicates().assign(measured=True)
    grid = attended.merge(applies, on="episode_id").merge(
        measured, on=["episode_id", "visit_number", "measure"], how="left"
    )
    grid["measured"] = grid["measured"].fillna(False).astype(bool)
    out = (
        grid.groupby(["measure", "visit_number"], sort=True)["measured"]
        .agg(n_expected="size", n_measured="sum")
        .reset_index()
    )
    out["n_measured"] = out["n_measured"].astype("int64")
    out["n_missing"] = out["n_expected"] - out["n_measured"]
    out["pct_missing"] = 100.0 * out["n_missing"] / out["n_expected"]
    return out


def _episode_frame(visits: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """One row per episode: condition and the attributes Table 1 counts."""
    first = visits.drop_duplicates("episode_id").set_index("episode_id")
    ep = pd.DataFrame(index=first.index)
    ep["condition"] = (
        first["condition"].astype("str")
        if "condition" in first.columns
        else pd.Series(pd.NA, index=first.index, dtype="str")
    ).fillna("unknown")
    ep["female"] = first["sex"].eq("female").astype("boolean") if "sex" in first.columns else pd.NA
    if "age_band" in first.columns:
        ep["age_60_plus"] = first["age_band"].isin(["60-69", "70-79", "80-89", "90+"]).astype("boolean")
        ep["age_60_plus"] = ep["age_60_plus"].mask(first["age_band"].isna())
    else:
        ep["age_60_plus"] = pd.NA
    if "treatment" in visits.columns:
        only = visits["treatment"].eq("dry_needling").groupby(visits["episode_id"]).all()
        ep["needling_only"] = only.reindex(ep.index).astype("boolean")
    else:
        ep["needling_only"] = pd.NA
    ep["visits"] = visits.groupby("episode_id")["visit_number"].max().reindex(ep.index)
    ep["left_before_k"] = ep["visits"] < plan.k
    base = visits[(visits["measure"] == plan.primary_measure) & (visits["visit_number"] == 1)]
    ep["baseline"] = base.groupby("episode_id")["value"].mean().reindex(ep.index)
    return ep


def condition_characteristics(visits: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """Episode characteristics per condition (unsuppressed numbers; see :func:`table_one`).

    Returns
    -------
    DataFrame
        One row per condition (by decreasing number of episodes) and a final ``all`` row:
        ``condition, n_episodes, n_female, n_age_60_plus, n_needling_only,
        n_left_before_k, baseline_mean, baseline_sd`` (primary measure at visit 1),
        ``visits_median, visits_q1, visits_q3`` (visits attended).  Counts of an
        attribute missing from the data are ``<NA>``.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> a = analyse()
    >>> t = condition_characteristics(a.visits, a.plan)
    >>> t["condition"].iloc[-1], int(t["n_episodes"].iloc[-1])
    ('all', 400)
    """
    ep = _episode_frame(visits, plan)

    def summarise(g: pd.DataFrame) -> pd.Series:
        def count(col: str) -> object:
            return pd.NA if g[col].isna().all() else int(g[col].fillna(False).sum())

        q = g["visits"].quantile([0.25, 0.5, 0.75]).to_numpy()
        return pd.Series(
            {
                "n_episodes": len(g),
                "n_female": count("female"),
                "n_age_60_plus": count("age_60_plus"),
                "n_needling_only": count("needling_only"),
                "n_left_before_k": int(g["left_before_k"].sum()),
                "baseline_mean": g["baseline"].mean(),
                "baseline_sd": g["baseline"].std(),
                "visits_median": q[1],
                "visits_q1": q[0],
                "visits_q3": q[2],
            }
        )

    per = ep.groupby("condition", sort=True).apply(summarise).reset_index()
    per = per.sort_values(["n_episodes", "condition"], ascending=[False, True], kind="stable")
    overall = summarise(ep).to_frame().T.assign(condition="all")
    out = pd.concat([per, overall], ignore_index=True)
    for c in ("n_episodes", "n_left_before_k"):
        out[c] = out[c].astype("int64")
    for c in ("n_female", "n_age_60_plus", "n_needling_only"):
        out[c] = out[c].astype("Int64")
    for c in ("baseline_mean", "baseline_sd", "visits_median", "visits_q1", "visits_q3"):
        out[c] = out[c].astype("float64")
    return out[
        [
            "condition",
            "n_episodes",
            "n_female",
            "n_age_60_plus",
            "n_needling_only",
            "n_left_before_k",
            "baseline_mean",
            "baseline_sd",
            "visits_median",
            "visits_q1",
            "visits_q3",
        ]
    ]


def table_one(visits: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """Table 1 by condition, as display text with small cells suppressed.

    Counts of 1 to ``plan.min_cell_size - 1`` are shown as ``"<11"`` and, because the
    ``All`` row publishes column totals, one more cell per such column is hidden as
    ``"*"`` so the small one cannot be found by subtraction
    (:func:`outcomes.disclosure.suppress_counts`); percentages of hidden counts are
    withheld.  For a condition with fewer than ``min_cell_size`` episodes nothing but
    its (suppressed) count of episodes is shown.

    Returns
    -------
    DataFrame
        Indexed by condition (``All`` last); text columns ``Episodes``, ``Female``,
        ``Age 60+``, ``Needling only``, ``Left before visit k``, ``Baseline <measure>,
        mean (SD)``, ``Visits attended, median (IQR)``.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> a = analyse()
    >>> t = table_one(a.visits, a.plan)
    >>> t.loc["medial_epicondylalgia"].tolist()[:3]
    ['<11', '', '']
    >>> t.loc["All", "Episodes"]
    '400'
    """
    chars = condition_characteristics(visits, plan)
    counts = ["n_episodes", "n_female", "n_age_60_plus", "n_needling_only", "n_left_before_k"]
    per = chars.iloc[:-1].set_index("condition")
    shown = suppress_counts(
        per[counts].fillna(0), count_cols=counts, min_cell=plan.min_cell_size, total_row="All"
    ).reset_index(drop=True)
    n = chars["n_episodes"].to_numpy()

    def with_pct(col: str) -> pd.Series:
        pct = (100.0 * chars[col].astype("float64") / n).round().astype("Int64").astype("str")
        text: pd.Series = shown[col] + " (" + pct + "%)"
        text = text.where(shown[col].str.isdigit(), shown[col]).where(chars[col].notna(), "not recorded")
        return text

    label = plan.measure(plan.primary_measure).label if plan.primary_measure in plan.registry else "primary"
    table = pd.DataFrame(
        {
            "Episodes": shown["n_episodes"],
            "Female": with_pct("n_female"),
            "Age 60+": with_pct("n_age_60_plus"),
            "Needling only": with_pct("n_needling_only"),
            f"Left before visit {plan.k}": with_pct("n_left_before_k"),
            f"Baseline {label}, mean (SD)": (
                chars["baseline_mean"].map("{:.1f}".format) + " (" + chars["baseline_sd"].map("{:.1f}".format) + ")"
            ),
            "Visits attended, median (IQR)": (
                chars["visits_median"].map("{:g}".format)
                + " ("
                + chars["visits_q1"].map("{:g}".format)
                + "-"
                + chars["visits_q3"].map("{:g}".format)
                + ")"
            ),
        }
    )
    small = n < plan.min_cell_size
    table.loc[small, table.columns[1:]] = ""
    table.index = pd.Index(chars["condition"].replace({"all": "All"}).to_numpy(), name="condition")
    return table
