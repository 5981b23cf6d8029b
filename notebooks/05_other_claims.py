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
# # 05 Do the clinic's other promises hold in its own records?
#
# Besides "patients improve within a few visits", the clinic says needling improves strength,
# that a local twitch response is "a positive and desirable reaction", that soreness "lasts a
# few hours up to two days", that needling is "most effective when used in conjunction with
# other physical therapy" and "especially useful early in treatment", and it names the
# conditions it treats. Each is tested here with the plan's settings (`other_claims` in the
# plan; methods in `docs/other-claims.md`). A claim whose data column is missing is reported
# as "not testable" with the reason. Twitch and combined therapy are comparisons inside
# observational records: associations, not causes.

# %% tags=["parameters"]
DATA = "../data/sample/visits.csv"
PLAN = "../plans/default.yaml"
ANALYSIS = None

# %%
import pandas as pd

from outcomes.analysis import analyse, load_analysis
from outcomes.claims.soreness import needled_visits
from outcomes.report import claim_figures as plots_claims
from outcomes.report.sentences import other_claim_sentences, with_p_text
from outcomes.spec.claim_settings import settings

pd.set_option("display.precision", 3)
pd.set_option("display.width", 120)
a = load_analysis(ANALYSIS) if ANALYSIS else analyse(DATA, PLAN)
other = a.other_claims
cols = ["id", "verdict", "estimate", "ci_low", "ci_high", "p0", "n", "n_excluded"]
print(other.claims[cols].round(3).to_string(index=False))

# %% [markdown]
# Each verdict in words (generated from the numbers):

# %%
for sentence in other_claim_sentences(other)[other.results["primary"].to_numpy()]:
    print("-", sentence, "\n")

# %% [markdown]
# ## Supporting analyses
# Change at visit *k* for strength (beside its MCID), the log-rank test and Kaplan-Meier shares
# for twitch, soreness quantiles (hours), the linear-model and propensity-weighted estimates for
# combined therapy, and the early and late slopes.

# %%
support = other.results[~other.results["primary"]]
print(
    with_p_text(support[["id", "analysis", "estimate", "ci_low", "ci_high", "p_value", "n"]])
    .round(3)
    .to_string(index=False)
)

# %% [markdown]
# ## Soreness after needling
# Distribution per needled visit, with the plan's limit (48 h by default).

# %%
plots_claims.soreness_distribution(needled_visits(a.visits), hours=settings("soreness", a.plan.other_claims)["hours"])

# %% [markdown]
# ## Every claim per condition
# Verdicts are Benjamini-Hochberg adjusted across conditions within each claim (the plan may ask
# for Holm); intervals are the unadjusted 90% intervals. Cells with fewer than `min_cell_size`
# episodes are suppressed (`<11`).

# %%
plots_claims.conditions_forest(other.by_condition)

# %%
table = other.by_condition[["condition", "id", "n_shown", "verdict", "estimate", "ci_low", "ci_high", "p_adjusted"]]
print(table.round(3).to_string(index=False))
