"""Small-cell suppression: CMS 1-10 rule, complementary suppression, withheld estimates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from outcomes.disclosure import COMPLEMENTARY_MARK, small_mark, suppress_counts, suppress_estimates
from outcomes.errors import OutcomesError

HIDDEN = {"<11", COMPLEMENTARY_MARK}


def _exactly_recoverable(full: np.ndarray, hidden: np.ndarray, row_lines: bool, col_lines: bool) -> list:
    """Hidden cells pinned down by the published totals (independent check, one rank test per cell).

    Unknowns: the hidden cells.  Each published line gives one equation (inner cells minus the
    total = 0).  Cell k is determined iff adding the equation e_k does not raise the rank.
    """
    cells = list(zip(*np.nonzero(hidden)))
    if not cells:
        return []
    n_rows, n_cols = full.shape
    eqs = []
    for i in range(n_rows) if row_lines else ():
        eqs.append([(-1 if j == n_cols - 1 else 1) if r == i else 0 for r, j in cells])
    for j in range(n_cols) if col_lines else ():
        eqs.append([(-1 if i == n_rows - 1 else 1) if c == j else 0 for i, c in cells])
    a = np.array(eqs, dtype=float)
    rank = np.linalg.matrix_rank(a)
    return [
        cell for k, cell in enumerate(cells) if np.linalg.matrix_rank(np.vstack([a, np.eye(len(cells))[k]])) == rank
    ]


def _mask(shown: pd.DataFrame) -> np.ndarray:
    return shown.isin(HIDDEN).to_numpy()


def test_primary_marks_only_1_to_10():
    t = pd.DataFrame({"k": [0, 1, 10, 11, 250]})
    assert suppress_counts(t, count_cols=["k"])["k"].tolist() == ["0", "<11", "<11", "11", "250"]
    assert suppress_counts(t, count_cols=["k"], min_cell=5)["k"].tolist() == ["0", "<5", "10", "11", "250"]
    assert small_mark(11) == "<11"


def test_no_totals_means_no_complements():
    t = pd.DataFrame({"a": [3, 40], "b": [50, 60]})
    out = suppress_counts(t, count_cols=["a", "b"])
    assert out.values.tolist() == [["<11", "50"], ["40", "60"]]


def test_row_total_complement_picks_next_smallest():
    t = pd.DataFrame({"group": ["g"], "a": [4], "b": [90], "c": [30], "d": [0]})
    out = suppress_counts(t, count_cols=["a", "b", "c", "d"], total_col="total")
    assert out.iloc[0].tolist() == ["g", "<11", "90", COMPLEMENTARY_MARK, "0", "124"]


def test_zero_is_not_the_preferred_complement():
    t = pd.DataFrame({"a": [4, 4], "b": [0, 0], "c": [50, 0]})
    out = suppress_counts(t, count_cols=["a", "b", "c"], total_col="n")
    assert out.iloc[0].tolist() == ["<11", "0", COMPLEMENTARY_MARK, "54"]  # 50 hidden, not the zero
    assert out.iloc[1].tolist() == ["<11", "0", "0", "<11"]  # the small total is hidden itself


def test_column_total_complement():
    t = pd.DataFrame({"k": [5, 30, 70, 12]}, index=["a", "b", "c", "d"])
    out = suppress_counts(t, count_cols=["k"], total_row="total")
    assert out["k"].tolist() == ["<11", "30", "70", COMPLEMENTARY_MARK, "117"]
    assert out.index[-1] == "total"


def test_total_row_labels_other_columns():
    t = pd.DataFrame({"condition": ["neck_pain", "tmd"], "n": [30, 40]})
    out = suppress_counts(t, count_cols=["n"], total_row="total")
    assert out["condition"].tolist() == ["neck_pain", "tmd", "total"]


@pytest.mark.parametrize("seed", range(4))
def test_no_cell_recoverable_from_totals_both_directions(seed):
    rng = np.random.default_rng(seed)
    for _ in range(25):
        r, c = rng.integers(1, 7, 2)
        counts = rng.choice([0, 1, 4, 9, 11, 15, 40, 300], size=(r, c), p=[0.1, 0.15, 0.15, 0.1, 0.1, 0.15, 0.15, 0.1])
        cols = [f"c{j}" for j in range(c)]
        t = pd.DataFrame(counts, columns=cols)
        for total_col, total_row in (("n", "total"), ("n", None), (None, "total")):
            out = suppress_counts(t, count_cols=cols, total_col=total_col, total_row=total_row)
            full = counts
            if total_col:
                full = np.column_stack([full, full.sum(axis=1)])
            if total_row:
                full = np.vstack([full, full.sum(axis=0)])
            shown_cols = cols + ([total_col] if total_col else [])
            hidden = _mask(out[shown_cols])
            # every 1-10 count is hidden, every shown number is the true one
            assert (hidden | ~((full >= 1) & (full < 11))).all()
            shown = out[shown_cols].to_numpy()
            assert (shown[~hidden].astype(np.int64) == full[~hidden]).all()
            # no published line with exactly one hidden cell, and no exact recovery via several lines
            if total_col:
                assert (hidden.sum(axis=1) != 1).all()
            if total_row:
                assert (hidden.sum(axis=0) != 1).all()
            assert _exactly_recoverable(full, hidden, total_col is not None, total_row is not None) == []


def test_multi_line_recovery_is_blocked():
    # Greedy one-per-line complements leave cell (1, 3) determined by combining lines in this
    # table (found by a random search); the audit must hide more.
    counts = np.array(
        [
            [7, 20, 200, 0, 20, 200],
            [50, 50, 3, 7, 12, 200],
            [3, 20, 20, 1, 50, 12],
            [200, 50, 200, 1, 50, 50],
            [200, 12, 3, 12, 1, 200],
        ]
    )
    cols = [f"c{j}" for j in range(6)]
    out = suppress_counts(pd.DataFrame(counts, columns=cols), count_cols=cols, total_col="n", total_row="all")
    full = np.vstack([np.column_stack([counts, counts.sum(1)]), np.column_stack([counts, counts.sum(1)]).sum(0)])
    assert _exactly_recoverable(full, _mask(out[[*cols, "n"]]), True, True) == []


def test_input_not_modified_and_bad_counts_refused():
    t = pd.DataFrame({"a": [3, 40]})
    before = t.copy()
    suppress_counts(t, count_cols=["a"], total_row="all")
    pd.testing.assert_frame_equal(t, before)
    for bad in ([1.5, 2], [-1, 2], [np.nan, 2]):
        with pytest.raises(OutcomesError, match="counts_valid"):
            suppress_counts(pd.DataFrame({"a": bad}), count_cols=["a"])
    with pytest.raises(OutcomesError, match="counts_valid"):
        suppress_counts(t, count_cols=["zzz"])
    with pytest.raises(OutcomesError, match="min_cell_size"):
        suppress_counts(t, count_cols=["a"], min_cell=0)


def test_suppress_estimates_blanks_small_groups():
    r = pd.DataFrame(
        {
            "group": ["a", "b", "c", "d"],
            "n": [40, 11, 10, 0],
            "estimate": [0.6, 0.5, 0.7, np.nan],
            "ci_low": [0.4, 0.2, 0.3, np.nan],
            "ci_high": [0.8, 0.8, 0.9, np.nan],
            "p_value": [0.01, 0.2, 0.03, np.nan],
        }
    )
    out = suppress_estimates(r)
    assert out["suppressed"].tolist() == [False, False, True, True]
    assert out["estimate"].isna().tolist() == [False, False, True, True]
    assert out["ci_high"].isna().tolist() == [False, False, True, True]
    assert out["p_value"].tolist()[2] == 0.03  # not in cols: untouched
    assert out["n"].tolist()[:2] == [40, 11] and out["n"].isna().tolist() == [False, False, True, False]
    assert out["n"].tolist()[3] == 0  # zero is not a small cell
    out = suppress_estimates(r, cols=["estimate", "p_value"], min_cell=20)
    assert out["p_value"].isna().tolist() == [False, True, True, True]
    assert not out["ci_low"].isna().iloc[1]
    with pytest.raises(OutcomesError, match="counts_valid"):
        suppress_estimates(r, n_col="n_episodes")


def test_count_columns_are_numeric_n_columns_only():
    from outcomes.disclosure import count_columns

    t = pd.DataFrame({"n": [1], "n_excluded": [2], "n_text": ["<11"], "successes": [3.0], "k": [3], "nx": [1]})
    assert count_columns(t) == ["n", "n_excluded", "successes"]


@pytest.mark.parametrize("seed", range(3))
def test_hide_counts_leaves_nothing_recoverable_from_the_published_totals(seed):
    from outcomes.disclosure import hide_counts

    rng = np.random.default_rng(seed)
    counts = rng.choice([0, 2, 7, 11, 30, 200], size=(8, 3))
    t = pd.DataFrame(counts, columns=["a", "b", "c"])
    out = hide_counts(t, count_cols=["a", "b", "c"], total_col="n")
    hidden = out[["a", "b", "c", "n"]].isna().to_numpy()
    full = np.column_stack([counts, counts.sum(axis=1)])
    assert (hidden | ~((full >= 1) & (full < 11))).all()  # every small cell hidden
    assert (hidden.sum(axis=1) != 1).all()  # never one hidden cell alone in a line with its total
    shown = out[["a", "b", "c", "n"]].to_numpy(dtype=float, na_value=np.nan)
    assert (shown[~hidden] == full[~hidden]).all()


def test_disclose_claims_refuses_a_frame_without_its_columns():
    from outcomes.disclosure import disclose_claims

    with pytest.raises(OutcomesError, match="counts_valid"):
        disclose_claims(pd.DataFrame({"n": [3]}))
    with pytest.raises(OutcomesError, match="min_cell_size"):
        disclose_claims(pd.DataFrame({"id": ["a"], "n": [3]}), min_cell=0)
