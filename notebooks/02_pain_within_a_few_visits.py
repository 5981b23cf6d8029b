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
# # 02 Does pain improve within a few visits?
#
# The clinic says patients "notice a positive reaction within a few visits". The plan
# fixes what that means before the data are seen: an episode *improves* when its pain
# score meets the registered improvement rule, *a few visits* means by visit *k*, and the
# claim holds when more than a share *p0* of episodes improve by then. By default
# (`improvement_event: sustained`) an improvement counts only when the rule is still met
# at the next visit. The estimate is the Kaplan-Meier cumulative share improved by visit
# *k*, so an episode that stops attending counts for the visits it was seen, not as a
# failure and not as a success; its interval is the likelihood-ratio one (`km_interval`).
# Because patients who stop early may be the ones not improving, "supported" also needs
# the share to stay above *p0* if they improved at only `dropout_ratio` times the rate of
# comparable patients who stayed (the `dropout_adjusted` row below, and its tipping point).

# %% tags=["parameters"]
DATA = "../data/sample/visits.csv"
PLAN = "../plans/default.yaml"
ANALYSIS = None

# %%
import pandas as pd

from outcomes.analysis import analyse, load_analysis
from outcomes.descriptive.trajectories import change_at_k, trajectories
from outcomes.report import figures as plots
from outcomes.report.sentences import claim_sentences, with_p_text

pd.set_option("display.precision", 3)
a = load_analysis(ANALYSIS) if ANALYSIS else analyse(DATA, PLAN)
res, plan = a.claims, a.plan
code = plan.primary_measure
claim = res.claims[res.claims["measure"] == code].iloc[0]
print(
    f"{claim['label']}: improved = {claim['rule']}; k = {plan.k}; p0 = {plan.p0:.0%}; "
    f"one-sided alpha = {plan.alpha} ({claim['conf_level']:.0%} two-sided interval)"
)

# %% [markdown]
# ## Individual trajectories and the mean
#
# Thin grey lines: a random sample of episodes (seeded by the plan, so the same sample
# every run). Thick line and band: the population mean and its confidence band from a
# linear mixed model with a random intercept and slope per episode, on the plan's time
# scale (`trajectory`). Scores are whole points, so individual lines overlap.

# %%
traj = trajectories(a.visits, res, code)
plots.spaghetti(traj, plan.measure(code))

# %%
print(f"mixed model: {traj.n_episodes} episodes, {traj.n_obs} measurements, converged: {traj.converged}")
traj.fit.fixed_effects()

# %% [markdown]
# ## Visits to improvement
#
# The Kaplan-Meier curve of the share of episodes that have met the rule by each visit,
# with its pointwise confidence band. The dotted line marks visit *k*, the dashed line
# the share *p0* the claim needs; the marker at visit *k* is the primary estimate.

# %%
curve = res.curves[res.curves["measure"] == code]
plots.improvement_curve(curve, claim)

# %%
print(curve[["time", "n_risk", "n_event", "n_censor", "estimate", "ci_low", "ci_high"]].round(3).to_string(index=False))

# %%
res.medians[res.medians["measure"] == code].drop(columns=["id"])

# %% [markdown]
# ## Change from baseline to visit *k*
#
# Each bar is one episode measured at visit *k*, ranked by improvement (positive =
# better); hatched bars did not meet the rule. The table gives the mean, median,
# Hodges-Lehmann and standardised changes (`d_z` = mean change / SD of change; `es_kazis`
# = mean change / SD at baseline) with their intervals.

# %%
plots.waterfall(change_at_k(a.visits, res, code), plan.measure(code), plan.k)

# %%
res.change[res.change["measure"] == code].drop(columns=["id", "measure"])

# %% [markdown]
# ## Verdict and sensitivity analyses
#
# The verdict comes from the primary analysis and the dropout check. The sensitivity
# analyses ask whether it depends on how dropouts are counted, on the exact visit, on
# whether the improvement must hold, or on the two parts of the improvement rule; they are
# reported beside the verdict, never instead of it.

# %%
print(claim_sentences(res)[(res.claims["measure"] == code).to_numpy()].iloc[0])

# %%
row = res.claims[res.claims["measure"] == code].iloc[0]
print(
    f"dropout check: {row['n_censored_before_k']} episodes stopped before their status at visit {plan.k} "
    f"was known; assumed to improve at {plan.dropout_ratio:.0%} of the rate of those who stayed: "
    f"{row['estimate_dropout_adjusted']:.3f} (one-sided lower bound {row['ci_low_dropout_adjusted']:.3f}); "
    f"tipping point {row['tipping_point']:.3f}; robust: {row['robust_to_dropout']}"
)

# %%
sens = res.sensitivity[res.sensitivity["measure"] == code]
plots.sensitivity_forest(sens, p0=plan.p0)

# %%
print(
    with_p_text(sens[["analysis", "k", "n", "estimate", "ci_low", "ci_high", "p_value", "verdict"]])
    .round(4)
    .to_string(index=False)
)
