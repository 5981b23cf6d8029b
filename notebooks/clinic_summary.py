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
ANALYSIS = None

# %%
from outcomes.analysis import analyse, load_analysis
from outcomes.report.html import (
    about_lines,
    bottom_line,
    other_claims_lines,
    report_figures,
    verdict_sentences,
    verdict_table,
)

a = load_analysis(ANALYSIS) if ANALYSIS else analyse(DATA, PLAN)
figures = {f.name: f for f in report_figures(a)}  # the report's figures: small cells suppressed

# %% [markdown]
# The same page as `report.html`, from the same functions: small cells (fewer than the plan's
# `min_cell_size` episodes) are suppressed everywhere.

# %%
print("\n\n".join(bottom_line(a)))

# %% [markdown]
# ## Every verdict
#
# A claim is *supported* when the whole interval lies above the share the claim needs, *not
# supported* when it lies below, and *inconclusive* when it includes it.

# %%
verdict_table(a)

# %% [markdown]
# ## Every claim at a glance
#
# Each row is one measure: the share of episodes that improved by the visit the claim
# names, with its confidence interval. The claim needs the whole interval to the right
# of the dashed line.

# %%
figures["claims"].figure

# %% [markdown]
# ## How quickly pain improves
#
# The share of episodes whose pain had improved by each visit. The dotted line is the
# visit named in the claim, the dashed line the share the claim needs.

# %%
figures["curve"].figure

# %% [markdown]
# ## Pain over the visits
#
# Grey: a random sample of individual patients' courses. Blue: the average course with
# its confidence band.

# %%
figures["trajectories"].figure

# %% [markdown]
# ## By condition
#
# The same share for each condition treated (pain). Conditions with too few episodes
# (fewer than the plan's minimum cell size) are not shown, to protect patients' privacy.

# %%
figures["conditions"].figure

# %% [markdown]
# ## The clinic's other claims
#
# Strength, the twitch response, soreness after needling, needling combined with other
# therapy, and a larger effect early in treatment, each tested against the plan (details
# in the notebook `05_other_claims`). Twitch and combined therapy are comparisons within
# the clinic's records: associations, not proof of cause.

# %%
for verdict, sentence in other_claims_lines(a):
    print(f"- {verdict}: {sentence}\n")

# %% [markdown]
# ## Each verdict in words

# %%
print("\n\n".join(f"- {s}" for s in verdict_sentences(a)))

# %% [markdown]
# ## What these numbers can and cannot say

# %%
about = about_lines(a)
print(
    f"Caveat. {about['caveat']}\n\nRecords: {about['episodes']} episodes of care of {about['patients']} "
    f"patients, file {about['file']} (SHA-256 {about['data_sha256'][:12]}). Plan: {about['plan_name']} "
    f"(SHA-256 {about['plan_sha256'][:12]}), fixed before the data were analysed. outcomes {about['version']}."
)
