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
# # 01 Data quality: who is in the analysis, and what is missing?
#
# Before testing any claim we check what the records hold: how many measurement rows,
# patients and episodes of care; how many episodes have the baseline the claim needs;
# how many are still attending at visit *k*; what was left out and why; which
# measurements are missing; and what the episodes of each condition look like (Table 1).
#
# Every number below comes from `outcomes`; this notebook only calls it.

# %% tags=["parameters"]
DATA = "../data/sample/visits.csv"
PLAN = "../plans/default.yaml"
ANALYSIS = None

# %%
import pandas as pd

from outcomes.analysis import analyse, load_analysis
from outcomes.descriptive import cohort
from outcomes.report import figures as plots

pd.set_option("display.precision", 3)
a = load_analysis(ANALYSIS) if ANALYSIS else analyse(DATA, PLAN)
print(f"data sha256 {a.loaded.sha256[:12]}, plan sha256 {a.plan.sha256[:12]}")

# %% [markdown]
# ## Cohort flow
#
# From measurement rows to the episodes in the primary claim (the plan's primary measure)
# and those still measured at visit *k*. An episode is one course of treatment of one
# patient; visit 1 is its baseline.

# %%
cohort.cohort_flow(a.loaded, a.claims)

# %% [markdown]
# ## What was left out, and why
#
# `data` rows were dropped by the data contract (blank rows, exact duplicates, empty
# values, unknown columns); `claim` episodes were kept in the data but could not enter
# a claim: no baseline measurement, or a baseline already so good that the improvement
# rule cannot be met (reported apart, never counted as failure).

# %%
cohort.exclusion_summary(a.loaded, a.claims)

# %% [markdown]
# ## Missing measurements
#
# For each measure and visit: the share of attended visits at which a measure that
# applies to the episode (it was taken at some visit) was not recorded. Missing
# follow-up censors the visits-to-improvement curve at the last unbroken visit.

# %%
missing = cohort.missingness(a.visits, a.plan)
plots.missingness_heatmap(missing)

# %%
print(missing.groupby("measure")[["n_expected", "n_missing"]].sum().to_string())

# %% [markdown]
# ## Table 1: episodes by condition
#
# Counts of 1 to 10 are shown as `<11` (CMS cell-size rule, `min_cell_size` in the plan);
# because the `All` row gives the totals, one more cell of such a column is hidden (`*`)
# so the small one cannot be found by subtraction. Conditions with fewer than 11
# episodes show nothing else.

# %%
cohort.table_one(a.visits, a.plan)
