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
# # 04 Does the share improving by visit *k* differ between conditions?
#
# The primary claim pools every condition the clinic treats. Here the same Kaplan-Meier
# estimate of the share of episodes whose pain improved by visit *k* is shown for each
# condition separately. These estimates are descriptive: no verdict is drawn per
# condition and the intervals are not adjusted for looking at many conditions, so an
# interval that misses *p0* is not evidence on its own. Conditions with fewer than
# `min_cell_size` episodes are suppressed.

# %% tags=["parameters"]
DATA = "../data/sample/visits.csv"
PLAN = "../plans/default.yaml"
ANALYSIS = None

# %%
import pandas as pd

from outcomes.analysis import analyse, load_analysis
from outcomes.descriptive.subgroups import condition_estimates
from outcomes.report import figures as plots

pd.set_option("display.precision", 3)
a = load_analysis(ANALYSIS) if ANALYSIS else analyse(DATA, PLAN)
plan = a.plan
est = condition_estimates(a.claims)

# %%
plots.condition_forest(est, p0=plan.p0, k=plan.k)

# %%
print(est[["condition", "n_text", "estimate", "ci_low", "ci_high", "suppressed"]].round(3).to_string(index=False))

# %% [markdown]
# `<11`: fewer than 11 episodes, suppressed. `*` ("n withheld" in the figure): count hidden so that a suppressed count
# cannot be found by subtracting the others from the total (its estimate is still shown).
