# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 Does range of motion improve within a few visits?
#
# The same question as notebook 02, for every range-of-motion (ROM) measure in the
# records: did more than a share *p0* of episodes gain at least the measure's minimal
# detectable change by visit *k*? The ROM measures form one family of secondary claims,
# so their one-sided p-values are Holm-adjusted before the verdicts are drawn. Each
# measure is taken only for the body region treated, so every claim has its own *n*.

# %% tags=["parameters"]
DATA = "../data/sample/visits.csv"
PLAN = "../plans/default.yaml"
ANALYSIS = None

# %%
import pandas as pd

from outcomes.analysis import analyse, load_analysis
from outcomes.descriptive.trajectories import trajectories
from outcomes.report import figures as plots
from outcomes.report.sentences import claim_sentences, with_p_text

pd.set_option("display.precision", 3)
a = load_analysis(ANALYSIS) if ANALYSIS else analyse(DATA, PLAN)
res, plan = a.claims, a.plan
rom = res.claims[res.claims["family"] == "secondary"]
print(f"{len(rom)} ROM claims; k = {plan.k}; p0 = {plan.p0:.0%}; Holm-adjusted one-sided alpha = {plan.alpha}")

# %% [markdown]
# ## Verdicts
#
# Estimate and interval of the share improved by visit *k* for each measure. `p_value`
# is the Holm-adjusted one-sided p-value for "more than *p0* improve"; `p_value_not` for
# "fewer than *p0* improve".

# %%
print(
    with_p_text(
        rom[["measure", "n", "n_excluded", "estimate", "ci_low", "ci_high", "p_value", "p_value_not", "verdict"]]
    )
    .round(4)
    .to_string(index=False)
)

# %%
plots.claims_forest(rom)

# %% [markdown]
# ## Visits to improvement, one panel per measure

# %%
plots.improvement_curves_grid(res.curves, rom)

# %% [markdown]
# ## Trajectories
#
# A seeded sample of 8 episodes per measure (grey) with the mixed-model mean and its
# band (blue), in degrees (mouth opening in mm).

# %%
trajs = [trajectories(a.visits, res, m, n_show=8) for m in rom["measure"]]
plots.trajectories_grid(trajs, plan)

# %%
print(
    pd.DataFrame(
        {
            "measure": [t.measure for t in trajs],
            "episodes": [t.n_episodes for t in trajs],
            "converged": [t.converged for t in trajs],
        }
    ).to_string(index=False)
)

# %% [markdown]
# ## Change from baseline to visit *k*
#
# Mean and Hodges-Lehmann change (degrees or mm; positive = better) among the episodes
# measured at visit *k*.

# %%
change = res.change[
    res.change["measure"].isin(rom["measure"]) & res.change["statistic"].isin(["mean", "hodges_lehmann"])
]
print(change[["measure", "statistic", "n", "estimate", "ci_low", "ci_high"]].round(2).to_string(index=False))

# %% [markdown]
# ## Sensitivity analyses
#
# Verdict of each sensitivity analysis (unadjusted) next to the primary verdict.

# %%
sens = res.sensitivity[res.sensitivity["measure"].isin(rom["measure"])]
print(sens.pivot(index="measure", columns="analysis", values="verdict").loc[rom["measure"]].to_string())

# %% [markdown]
# ## In words

# %%
print("\n\n".join(claim_sentences(res)[(res.claims["family"] == "secondary").to_numpy()]))
