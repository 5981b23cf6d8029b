"""Known-answer tests for outcomes.stats.mixed."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.regression.mixed_linear_model import MixedLM
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from outcomes.errors import OutcomesError
from outcomes.stats import TrajectoryFit, fit_trajectory
from outcomes.stats import mixed as mixed_module

# lme4's sleepstudy (Belenky et al. 2003), 180 rows, copied from the Rdatasets
# collection (vincentarelbundock/Rdatasets, csv/lme4/sleepstudy.csv, rownames dropped).
SLEEP = Path(__file__).parent / "data" / "sleepstudy.csv"


@pytest.fixture(scope="module")
def sleep_fit() -> TrajectoryFit:
    frame = pd.read_csv(SLEEP)
    return fit_trajectory(frame, value="Reaction", time="Days", group="Subject", transform="linear", baseline_time=0)


def test_sleepstudy_matches_lme4(sleep_fit):
    # R (lme4), Bates et al. 2015 JSS 67(1):
    #   summary(lmer(Reaction ~ Days + (Days | Subject), sleepstudy))   # REML
    #   Random effects:
    #    Groups   Name        Variance Std.Dev. Corr
    #    Subject  (Intercept) 612.10   24.741
    #             Days         35.07    5.922   0.07
    #    Residual             654.94   25.592
    #   Number of obs: 180, groups:  Subject, 18
    #   Fixed effects:
    #               Estimate Std. Error t value
    #   (Intercept)  251.405      6.825  36.838
    #   Days          10.467      1.546   6.771
    assert sleep_fit.converged and sleep_fit.n_obs == 180 and sleep_fit.n_groups == 18
    fe = sleep_fit.fixed_effects().set_index("term")
    assert fe.loc["intercept", "estimate"] == pytest.approx(251.405, abs=5e-4)
    assert fe.loc["intercept", "std_err"] == pytest.approx(6.825, abs=5e-4)
    assert fe.loc["time", "estimate"] == pytest.approx(10.467, abs=5e-4)
    assert fe.loc["time", "std_err"] == pytest.approx(1.546, abs=5e-4)
    sd = sleep_fit.random_effects_sd
    assert sd["intercept"] == pytest.approx(24.741, abs=5e-3)
    assert sd["slope"] == pytest.approx(5.922, abs=5e-3)
    assert sd["residual"] == pytest.approx(25.592, abs=5e-3)
    assert sleep_fit.random_effects_corr == pytest.approx(0.066, abs=0.005)  # printed 0.07


def test_curve_and_change_are_fixed_effect_contrasts(sleep_fit):
    b, cov = sleep_fit.params, sleep_fit.cov
    curve = sleep_fit.mean_curve([0, 5, 9])
    np.testing.assert_allclose(curve.estimate, b[0] + b[1] * np.array([0, 5, 9]))
    x = np.array([1.0, 9.0])
    assert curve.std_err.iloc[2] == pytest.approx(np.sqrt(x @ cov @ x))
    change = sleep_fit.change_at(9).iloc[0]
    assert change.estimate == pytest.approx(9 * b[1])
    assert change.std_err == pytest.approx(9 * np.sqrt(cov[1, 1]))
    assert change.ci_low < change.estimate < change.ci_high


def _simulate(n_episodes: int, n_visits: int, seed: int, piecewise: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ep = np.repeat(np.arange(n_episodes), n_visits)
    visit = np.tile(np.arange(1, n_visits + 1), n_episodes)
    u0 = rng.normal(0, 1.2, n_episodes)[ep]
    u1 = rng.normal(0, 0.3, n_episodes)[ep]
    if piecewise:  # -1.0 per visit up to visit 4, then -0.2 per visit
        mean = 7 - 1.0 * (np.minimum(visit, 4) - 1) - 0.2 * np.maximum(visit - 4, 0)
        y = mean + u0 + u1 * (visit - 1)
    else:
        y = 7 - 2.0 * np.log(visit) + u0 + u1 * np.log(visit)
    y = y + rng.normal(0, 0.8, ep.size)
    return pd.DataFrame({"episode_id": ep.astype(str), "visit_number": visit, "value": y})


def test_log_model_recovers_simulated_trajectory():
    frame = _simulate(400, 8, seed=3)
    fit = fit_trajectory(frame)
    assert fit.converged and fit.n_groups == 400 and fit.n_obs == 3200
    fe = fit.fixed_effects().set_index("term")
    assert fe.loc["intercept", "ci_low"] < 7 < fe.loc["intercept", "ci_high"]
    assert fe.loc["log_time", "ci_low"] < -2 < fe.loc["log_time", "ci_high"]
    change = fit.change_at(4).iloc[0]
    assert change.ci_low < -2 * np.log(4) < change.ci_high


def test_piecewise_slope_difference_detects_early_change():
    fit = fit_trajectory(_simulate(300, 8, seed=4, piecewise=True), transform="piecewise", knot=4)
    fe = fit.fixed_effects().set_index("term")
    assert fe.loc["slope_before", "ci_low"] < -1.0 < fe.loc["slope_before", "ci_high"]
    assert fe.loc["slope_after", "ci_low"] < -0.2 < fe.loc["slope_after", "ci_high"]
    diff = fit.slope_difference().iloc[0]
    assert diff.estimate == pytest.approx(fe.loc["slope_after", "estimate"] - fe.loc["slope_before", "estimate"])
    assert diff.ci_low < 0.8 < diff.ci_high and diff.p_value < 1e-6


def test_rows_with_missing_values_are_dropped_and_counted():
    frame = _simulate(30, 5, seed=5)
    frame.loc[[0, 7, 20], "value"] = np.nan
    assert fit_trajectory(frame).n_obs == 147


def test_convergence_warning_moves_to_next_optimizer_and_is_recorded(monkeypatch):
    real_fit = MixedLM.fit

    def flaky_fit(self, *args, method=None, **kwargs):
        if method == "lbfgs":
            warnings.warn("simulated failure to converge", ConvergenceWarning, stacklevel=2)
        return real_fit(self, *args, method=method, **kwargs)

    monkeypatch.setattr(MixedLM, "fit", flaky_fit)
    fit = fit_trajectory(_simulate(40, 6, seed=6))
    assert fit.converged and fit.optimizer == "bfgs"
    assert "lbfgs: simulated failure to converge" in fit.messages


def test_no_optimizer_converging_is_reported_not_hidden(monkeypatch):
    real_fit = MixedLM.fit

    def failing_fit(self, *args, method=None, **kwargs):
        warnings.warn("simulated failure to converge", ConvergenceWarning, stacklevel=2)
        return real_fit(self, *args, method=method, **kwargs)

    monkeypatch.setattr(MixedLM, "fit", failing_fit)
    fit = fit_trajectory(_simulate(40, 6, seed=6))
    assert not fit.converged
    assert len([m for m in fit.messages if "simulated" in m]) == len(mixed_module.OPTIMIZERS)


def test_fit_is_frozen(sleep_fit):
    with pytest.raises(AttributeError):
        sleep_fit.converged = False  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"value": "pain"}, "columns_present"),
        ({"transform": "quadratic"}, "transform"),
        ({"transform": "piecewise"}, "knot"),
        ({"baseline_time": 0}, "time_positive"),
        ({"conf_level": 0}, "conf_level_range"),
    ],
)
def test_bad_input_raises_outcomes_error(kwargs, rule):
    with pytest.raises(OutcomesError) as info:
        fit_trajectory(_simulate(10, 4, seed=1), **kwargs)
    assert info.value.rules == (rule,)


def test_too_few_groups_raises():
    with pytest.raises(OutcomesError) as info:
        fit_trajectory(_simulate(2, 4, seed=1))
    assert info.value.rules == ("too_few_observations",)


def test_slope_difference_needs_piecewise(sleep_fit):
    with pytest.raises(OutcomesError):
        sleep_fit.slope_difference()
