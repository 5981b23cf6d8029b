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
# # Do our patients improve within a few visits?
#
# The clinic says patients notice a positive reaction within a few visits. This page tests
# that claim on the clinic's own records, against a plan fixed before the data were
# analysed: an episode of care counts as *improved* when the pain score (or range of
# motion) changes by at least the amount patients and clinicians regard as a real change.

# %% tags=["parameters"]
DATA = "../data/sample/visits.csv"
PLAN = "../plans/default.yaml"

# %%
from IPython.display import Markdown

from outcomes import plots
from outcomes.analysis import analyse
from outcomes.report import about_markdown, headline_markdown, other_claims_markdown, verdicts_markdown
from outcomes.subgroups import condition_estimates
from outcomes.trajectories import trajectories

a = analyse(DATA, PLAN)
res, plan = a.claims, a.plan
primary = res.claims.iloc[0]

# %%
Markdown(headline_markdown(a))

# %% [markdown]
# ## Every claim at a glance
#
# Each row is one measure: the share of episodes that improved by the visit the claim
# names, with its confidence interval. The claim needs the whole interval to the right
# of the dashed line.

# %%
plots.claims_forest(res.claims)

# %% [markdown]
# ## How quickly pain improves
#
# The share of episodes whose pain had improved by each visit. The dotted line is the
# visit named in the claim, the dashed line the share the claim needs.

# %%
plots.improvement_curve(res.curves[res.curves["id"] == primary["id"]], primary)

# %% [markdown]
# ## Pain over the visits
#
# Grey: a random sample of individual patients' courses. Blue: the average course with
# its confidence band.

# %%
plots.spaghetti(trajectories(a.visits, res, primary["measure"]), plan.measure(primary["measure"]))

# %% [markdown]
# ## By condition
#
# The same share for each condition treated (pain). Conditions with too few episodes
# (fewer than the plan's minimum cell size) are not shown, to protect patients' privacy.

# %%
plots.condition_forest(condition_estimates(res), p0=plan.p0, k=plan.k)

# %% [markdown]
# ## The clinic's other claims
#
# Strength, the twitch response, soreness after needling, needling combined with other
# therapy, and a larger effect early in treatment, each tested against the plan (details
# in the notebook `05_other_claims`). Twitch and combined therapy are comparisons within
# the clinic's records: associations, not proof of cause.

# %%
Markdown(other_claims_markdown(a))

# %% [markdown]
# ## Each verdict in words

# %%
Markdown(verdicts_markdown(a))

# %% [markdown]
# ## What these numbers can and cannot say

# %%
Markdown(about_markdown(a))
