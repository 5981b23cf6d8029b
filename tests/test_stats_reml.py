"""Group-sum REML (outcomes.stats.reml) against lme4 and against statsmodels' MixedLM."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from outcomes.errors import OutcomesError
from outcomes.stats import fit_trajectory
from outcomes.stats import mixed as mixed_module
from outcomes.stats.reml import _Criterion, reml_fit

SLEEP = Path(__file__).parent / "data" / "sleepstudy.csv"


def _simulated(n_groups: int, seed: int, slope_sd: float = 0.4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    visits = rng.integers(2, 9, size=n_groups)  # unbalanced: 2 to 8 visits per episode
    ep = np.repeat(np.arange(n_groups), visits)
    visit = np.concatenate([np.arange(1, v + 1) for v in visits])
    u0, u1 = rng.normal(0, 1.2, n_groups), rng.normal(0, slope_sd, n_groups)
    y = 6.5 + u0[ep] + (-1.4 + u1[ep]) * np.log(visit) + rng.normal(0, 0.8, ep.size)
    return pd.DataFrame({"episode_id": [f"E{e:05d}" for e in ep], "visit_number": visit, "value": y})


def test_sleepstudy_matches_lme4():
    # R 4.3, lme4 1.1-35:
    #   fm <- lmer(Reaction ~ Days + (Days | Subject), sleepstudy)   # REML
    #   summary(fm)
    #   REML criterion at convergence: 1743.6
    #   Random effects:  Subject (Intercept) Std.Dev. 24.741; Days 5.922; Corr 0.07
    #                    Residual 25.592
    #   Fixed effects:   (Intercept) 251.405 (6.825); Days 10.467 (1.546)
    d = pd.read_csv(SLEEP)
    X = np.column_stack([np.ones(len(d)), d["Days"]])
    fit = reml_fit(d["Reaction"], X, X, d["Subject"])
    assert fit.params == pytest.approx([251.405, 10.467], abs=5e-4)
    assert np.sqrt(np.diag(fit.cov)) == pytest.approx([6.825, 1.546], abs=5e-4)
    sd = np.sqrt(np.diag(fit.cov_re))
    assert sd == pytest.approx([24.741, 5.922], abs=5e-3)
    assert fit.cov_re[0, 1] / sd.prod() == pytest.approx(0.066, abs=0.005)
    assert np.sqrt(fit.scale) == pytest.approx(25.592, abs=5e-3)
    assert -2 * fit.llf == pytest.approx(1743.6, abs=0.05)
    assert fit.converged and not fit.singular and (fit.n_groups, fit.n_obs) == (18, 180)


@pytest.mark.parametrize(("transform", "knot"), [("log", None), ("linear", None), ("piecewise", 3.0)])
def test_same_fit_as_statsmodels_mixedlm_on_the_same_data(transform, knot):
    frame = _simulated(400, seed=11)
    ref = fit_trajectory(frame, transform=transform, knot=knot, engine="statsmodels")
    fast = fit_trajectory(frame, transform=transform, knot=knot, engine="reml")
    assert fast.optimizer == "reml_group_sums" and fast.converged
    assert fast.params == pytest.approx(ref.params, rel=1e-4, abs=1e-4)
    for name in ("intercept", "slope", "residual"):
        assert fast.random_effects_sd[name] == pytest.approx(ref.random_effects_sd[name], rel=1e-3, abs=1e-4)
    # Standard errors: lme4's sigma^2 (X'V^-1 X)^-1, evaluated at MixedLM's own variance
    # estimates, is what reml_fit reports; MixedLM inverts the full observed information
    # (fixed and variance parameters), which differs by a few per cent when the time
    # transform is misspecified (linear time for log-shaped data: 4 %).
    t = frame["visit_number"].to_numpy(dtype=float)
    X = mixed_module._design(t, transform, 1.0, knot)
    Z = np.column_stack([np.ones_like(t), np.log(t) if transform == "log" else t - 1.0])
    codes, uniques = pd.factorize(frame["episode_id"])
    crit = _Criterion(frame["value"].to_numpy(dtype=float), X, Z, codes, len(uniques))
    sd, r = ref.random_effects_sd, ref.random_effects_corr
    cov_re = (
        np.array(
            [
                [sd["intercept"] ** 2, r * sd["intercept"] * sd["slope"]],
                [r * sd["intercept"] * sd["slope"], sd["slope"] ** 2],
            ]
        )
        / sd["residual"] ** 2
    )
    lam = np.linalg.cholesky(cov_re)
    xvx = crit.parts(np.array([lam[0, 0], lam[1, 0], lam[1, 1]]))[2]
    lme4_se = np.sqrt(np.diag(sd["residual"] ** 2 * np.linalg.inv(xvx)))
    assert np.sqrt(np.diag(fast.cov)) == pytest.approx(lme4_se, rel=1e-3)
    assert np.sqrt(np.diag(fast.cov)) == pytest.approx(np.sqrt(np.diag(ref.cov)), rel=0.05)
    assert fast.fixed_effects().columns.tolist() == ref.fixed_effects().columns.tolist()


def test_auto_engine_switches_above_the_group_limit(monkeypatch):
    frame = _simulated(60, seed=2)
    assert fit_trajectory(frame).optimizer != "reml_group_sums"
    monkeypatch.setattr(mixed_module, "STATSMODELS_MAX_GROUPS", 59)
    assert fit_trajectory(frame).optimizer == "reml_group_sums"


def test_recovers_the_simulated_trajectory_on_many_episodes():
    fit = fit_trajectory(_simulated(20_000, seed=5), engine="reml")
    fe = fit.fixed_effects().set_index("term")
    for term, truth in (("intercept", 6.5), ("log_time", -1.4)):
        assert fe.loc[term, "ci_low"] < truth < fe.loc[term, "ci_high"]
    assert fit.random_effects_sd["slope"] == pytest.approx(0.4, abs=0.03)
    assert fit.n_groups == 20_000


def test_no_random_variation_is_a_singular_fit_like_lme4():
    # Pure noise around a common trajectory: every random-effect variance is 0 in truth,
    # lme4 would report "boundary (singular) fit".
    rng = np.random.default_rng(3)
    ep = np.repeat(np.arange(300), 5)
    t = np.tile(np.log(np.arange(1.0, 6.0)), 300)
    X = np.column_stack([np.ones_like(t), t])
    fit = reml_fit(5.0 - t + rng.normal(0, 1, t.size), X, X, ep)
    assert fit.converged and fit.singular
    assert min(fit.theta[0], fit.theta[2]) < 1e-4


def test_small_slope_variance_agrees_with_statsmodels():
    frame = _simulated(300, seed=3, slope_sd=0.05)
    ref = fit_trajectory(frame, engine="statsmodels")
    fast = fit_trajectory(frame, engine="reml")
    assert fast.params == pytest.approx(ref.params, rel=1e-4, abs=1e-4)
    assert fast.random_effects_sd["slope"] == pytest.approx(ref.random_effects_sd["slope"], abs=2e-3)


def test_row_order_and_group_labels_do_not_change_the_fit():
    frame = _simulated(200, seed=8)
    a = reml_fit(*_design(frame))
    shuffled = frame.sample(frac=1.0, random_state=1).assign(episode_id=lambda f: "x" + f["episode_id"])
    b = reml_fit(*_design(shuffled))
    # Same optimum up to the optimizer's tolerance (sums are added in another order).
    assert b.params == pytest.approx(a.params, rel=1e-5)
    assert b.cov == pytest.approx(a.cov, rel=1e-4)


def _design(frame: pd.DataFrame):
    t = np.log(frame["visit_number"].to_numpy(dtype=float))
    X = np.column_stack([np.ones_like(t), t])
    return frame["value"].to_numpy(dtype=float), X, X, frame["episode_id"].to_numpy()


@pytest.mark.parametrize(
    ("args", "rule"),
    [
        ((np.ones(4), np.ones((4, 2)), np.ones((4, 3)), np.arange(4)), "design_shape"),
        ((np.array([1.0, np.nan, 2, 3]), np.ones((4, 2)), np.ones((4, 2)), np.arange(4)), "finite_values"),
        ((np.arange(6.0), np.ones((6, 2)), np.ones((6, 2)), np.repeat([0, 1, 2], 2)), "design_rank"),
        ((np.arange(4.0), np.ones((4, 1)), np.ones((4, 2)), np.arange(3)), "same_length"),
    ],
)
def test_bad_input_raises_outcomes_error(args, rule):
    with pytest.raises(OutcomesError) as info:
        reml_fit(*args)
    assert info.value.rules == (rule,)


def test_unknown_engine_is_refused():
    with pytest.raises(OutcomesError) as info:
        fit_trajectory(_simulated(10, seed=1), engine="fast")
    assert info.value.rules == ("engine",)


def test_analytic_gradient_matches_finite_differences():
    from scipy import optimize

    frame = _simulated(150, seed=4)
    y, X, Z, g = _design(frame)
    codes, uniques = pd.factorize(g)
    crit = _Criterion(y, X, Z, codes, len(uniques))
    for theta in ([1.0, 0.0, 1.0], [0.9, 0.3, 0.2], [2.0, -0.5, 0.05]):
        theta = np.array(theta)
        numeric = optimize.approx_fprime(theta, lambda t: crit(t)[0], 1e-6)
        assert crit(theta)[1] == pytest.approx(numeric, rel=1e-3, abs=1e-3)
