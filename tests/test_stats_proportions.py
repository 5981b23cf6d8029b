"""Known-answer tests for outcomes.stats.proportions."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from outcomes.errors import OutcomesError
from outcomes.stats import proportion_summary, wilson_ci


# R reference (snapshot of the `cards` package tests, tests/testthat/_snaps/proportion_ci.md,
# whose proportion_ci_wilson() wraps stats::prop.test(x, n, correct = FALSE)):
#   proportion_ci_wilson(x_rsp, conf.level = 0.9)   # 5 of 10
#     $conf.low 0.2692718   $conf.high 0.7307282
#   proportion_ci_wilson(x_true)                     # 32 of 32, 95%
#     $conf.low 0.8928208   $conf.high 1
#   proportion_ci_wilson(x_false)                    # 0 of 32, 95%
#     $conf.low 0           $conf.high 0.1071792
@pytest.mark.parametrize(
    ("x", "n", "level", "low", "high"),
    [(5, 10, 0.90, 0.2692718, 0.7307282), (32, 32, 0.95, 0.8928208, 1.0), (0, 32, 0.95, 0.0, 0.1071792)],
)
def test_wilson_matches_r_prop_test(x, n, level, low, high):
    got = wilson_ci(x, n, conf_level=level)
    assert got == pytest.approx((low, high), abs=5e-8)


def test_wilson_matches_statsmodels_on_a_grid():
    n = np.repeat(np.arange(1, 61), 61)
    x = np.tile(np.arange(61), 60)
    keep = x <= n
    n, x = n[keep], x[keep]
    for level in (0.8, 0.95, 0.99):
        low, high = wilson_ci(x, n, conf_level=level)
        ref_low, ref_high = proportion_confint(x, n, alpha=1 - level, method="wilson")
        np.testing.assert_allclose(low, ref_low, atol=1e-12)
        np.testing.assert_allclose(high, ref_high, atol=1e-12)


def test_wilson_scalar_and_array_forms():
    assert isinstance(wilson_ci(3, 10)[0], float)
    low, high = wilson_ci(np.array([[1, 2], [3, 4]]), 10)
    assert low.shape == (2, 2) and np.all(low < high)


def test_summary_row_and_exact_one_sided_binomial_p():
    row = proportion_summary(14, 30, p0=0.25).iloc[0]
    assert row.n == 30 and row.successes == 14 and row.method == "wilson"
    assert row.estimate == pytest.approx(14 / 30)
    assert (row.ci_low, row.ci_high) == pytest.approx(wilson_ci(14, 30))
    assert row.p_value == pytest.approx(stats.binom.sf(13, 30, 0.25), rel=1e-12)  # P(X >= 14 | p0)
    assert np.isnan(proportion_summary(14, 30).p_value.iloc[0])


def test_summary_columns_are_tidy():
    out = proportion_summary(1, 2)
    assert list(out.columns) == [
        "n",
        "successes",
        "estimate",
        "ci_low",
        "ci_high",
        "conf_level",
        "p0",
        "p_value",
        "method",
    ]
    assert isinstance(out, pd.DataFrame) and len(out) == 1


@pytest.mark.parametrize(
    ("call", "rule"),
    [
        (lambda: wilson_ci(11, 10), "binomial_counts"),
        (lambda: wilson_ci(1, 0), "binomial_counts"),
        (lambda: wilson_ci(np.nan, 10), "finite_values"),
        (lambda: wilson_ci(1, 10, conf_level=1.0), "conf_level_range"),
        (lambda: proportion_summary(1, 10, p0=1.2), "probability_range"),
        (lambda: proportion_summary(1.5, 10), "binomial_counts"),
    ],
)
def test_bad_input_raises_outcomes_error(call, rule):
    with pytest.raises(OutcomesError) as info:
        call()
    assert info.value.rules == (rule,)
