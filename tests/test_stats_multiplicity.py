"""Known-answer tests for outcomes.stats.multiplicity."""

import numpy as np
import pytest

from outcomes.errors import OutcomesError
from outcomes.stats import benjamini_hochberg, holm

# Worked by hand (m = 4), p = (0.01, 0.04, 0.03, 0.005):
#   Holm: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04;
#         running maximum 0.02, 0.03, 0.06, 0.06 -> input order (0.03, 0.06, 0.06, 0.02)
#         (= R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm")).
#   BH:   sorted p * 4 / rank = 0.02, 0.02, 0.04, 0.04; running minimum from the top
#         0.02, 0.02, 0.04, 0.04 -> input order (0.02, 0.04, 0.04, 0.02)
#         (= R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "BH")).
P = [0.01, 0.04, 0.03, 0.005]


def test_holm_hand_example():
    np.testing.assert_allclose(holm(P), [0.03, 0.06, 0.06, 0.02])


def test_bh_hand_example():
    np.testing.assert_allclose(benjamini_hochberg(P), [0.02, 0.04, 0.04, 0.02])


def test_holm_published_example_and_cap_at_one():
    # pingouin.holm docstring: holm([.50, .003, .32, .054, .0003]) -> [0.64, 0.012, 0.64, 0.162, 0.0015]
    np.testing.assert_allclose(holm([0.50, 0.003, 0.32, 0.054, 0.0003]), [0.64, 0.012, 0.64, 0.162, 0.0015])
    np.testing.assert_allclose(holm([0.6, 0.7]), [1.0, 1.0])  # 2 * 0.6 = 1.2 is capped at 1
    np.testing.assert_allclose(benjamini_hochberg([0.6, 0.7]), [0.7, 0.7])


def test_missing_p_values_stay_missing_and_shrink_the_family():
    out = holm([0.01, np.nan, 0.04])
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2]], holm([0.01, 0.04]))
    assert np.isnan(benjamini_hochberg([np.nan])).all()


def test_out_of_range_p_value_raises():
    with pytest.raises(OutcomesError) as info:
        holm([0.2, 1.5])
    assert info.value.rules == ("probability_range",)


def test_holm_equals_statsmodels_on_random_families_with_ties():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(3)
    for m in (1, 2, 5, 13, 40):
        p = np.round(rng.uniform(0, 0.2, size=m), 3)  # rounding makes ties
        np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=0, atol=1e-15)
