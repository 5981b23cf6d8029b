"""The fast load path gives what the plain one gives.

``load_visits`` reads text columns coded (Parquet dictionaries, CSV categoricals; see
``read_records(..., coded=True)``) and validates with numpy group codes; ``validate_records(read_records(...))``
reads every cell as text.  Both must return the same frames and raise the same messages.
"""

import numpy as np
import pandas as pd
import pytest

from outcomes import load_visits
from outcomes.errors import OutcomesError
from outcomes.ingest.coded import Groups
from outcomes.ingest.phi import scan_phi
from outcomes.ingest.records import read_records
from outcomes.ingest.rules import validate_records


def _base(n_episodes: int = 4) -> pd.DataFrame:
    rows = []
    for e in range(n_episodes):
        for day, number in ((0, 1), (7, 2), (14, 3)):
            for measure, side in (("pain_nprs", "none"), ("grip_strength_kg", "left"), ("grip_strength_kg", "right")):
                rows.append(
                    {
                        "patient_id": f"P{e % 3:03d}",
                        "episode_id": f"E{e:02d}",
                        "visit_day": str(day),
                        "visit_number": str(number),
                        "measure": measure,
                        "side": side,
                        "value": str(3 + e + day // 7),
                        "condition": "neck_pain",
                        "treatment": "exercise+dry_needling",
                        "age_band": "40-49",
                        "sex": "female",
                        "twitch_response": "yes",
                        "soreness_hours": "12",
                    }
                )
    return pd.DataFrame(rows)


def _variants() -> dict[str, pd.DataFrame]:
    base = _base()
    out = {"clean": base}
    out["shuffled"] = base.sample(frac=1, random_state=3).reset_index(drop=True)
    padded = base.copy()
    padded["measure"] = padded["measure"].where(padded.index % 2 == 0, " " + padded["measure"] + " ")
    padded["episode_id"] = padded["episode_id"].where(padded.index % 5 != 0, "")  # default: the patient
    padded["side"] = padded["side"].replace({"none": ""})
    padded.loc[3, "value"] = ""  # measurement not taken
    padded.loc[[4, 9], "condition"] = ""  # filled from the episode
    out["padded_and_blank_cells"] = padded
    blank_rows = pd.concat(
        [base.iloc[:5], pd.DataFrame([dict.fromkeys(base.columns, "")]), base.iloc[5:]], ignore_index=True
    )
    out["blank_row"] = blank_rows
    out["exact_duplicate"] = pd.concat([base, base.iloc[[2, 7]]], ignore_index=True)
    no_numbers = base.drop(columns=["visit_number", "episode_id"])
    out["derived_visit_numbers"] = no_numbers.iloc[::-1].reset_index(drop=True)
    bad = base.copy()
    bad.loc[1, "measure"] = "pain_nrps"
    bad.loc[2, "side"] = "Left"
    bad.loc[5, "condition"] = "low_back_pian"
    bad.loc[6, "value"] = "6,5"
    bad.loc[8, "visit_number"] = "9"
    bad.loc[10, "twitch_response"] = "maybe"
    bad.loc[11, "treatment"] = "exercise+cupping"
    bad.loc[12, "age_band"] = "44"
    out["many_errors"] = bad
    conflict = pd.concat([base, base.iloc[[0]].assign(value="9")], ignore_index=True)
    out["conflict"] = conflict
    varies = base.copy()
    varies.loc[0, "sex"] = "male"
    varies.loc[1, "soreness_hours"] = "13"
    out["varies"] = varies
    return out


def _write(frame: pd.DataFrame, fmt: str, path) -> str:
    target = path / f"v.{fmt}"
    if fmt == "csv":
        frame.to_csv(target, index=False)
    else:
        frame.to_parquet(target, index=False)
    return str(target)


def _outcome(func):
    try:
        loaded = func()
    except OutcomesError as exc:
        return str(exc)
    return loaded


def _assert_same(path) -> None:
    fast = _outcome(lambda: load_visits(path, phi_guard=False))
    plain = _outcome(lambda: validate_records(read_records(path)))
    if isinstance(plain, str):
        assert fast == plain
        return
    assert not isinstance(fast, str), fast
    pd.testing.assert_frame_equal(fast.visits, plain.visits, check_exact=True)
    pd.testing.assert_frame_equal(fast.exclusions, plain.exclusions, check_exact=True)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("name", list(_variants()))
def test_load_visits_equals_validate_of_plain_read(tmp_path, fmt, name):
    _assert_same(_write(_variants()[name], fmt, tmp_path))


@pytest.mark.parametrize("categorical", ["value", "measure", "side"])
def test_parquet_with_typed_and_categorical_columns(tmp_path, categorical):
    """Numbers stay numbers; a column stored as a categorical is read as one (not coded)."""
    frame = _base().astype({"visit_day": "int64", "visit_number": "int64", "soreness_hours": "float64"})
    frame["twitch_response"] = True
    frame[categorical] = frame[categorical].astype("category")
    path = tmp_path / "v.parquet"
    frame.to_parquet(path, index=False)
    assert categorical not in read_records(path, coded=True).codes
    _assert_same(path)


def test_wide_parquet_and_unnamed_columns(tmp_path):
    wide = pd.DataFrame(
        {
            "patient_id": ["P1", "P1", "P2", ""],
            "visit_day": ["0", "7", "0", ""],
            "side": ["left", "left", "", ""],
            "pain_nprs": ["6", "4", "", ""],
            "grip_strength_kg": ["30", "", "25", ""],
            "Unnamed: 5": ["", "", "", ""],
        }
    )
    for fmt in ("parquet", "csv"):
        _assert_same(_write(wide, fmt, tmp_path))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_coded_columns_are_factorized_cells(tmp_path, fmt):
    frame = _variants()["padded_and_blank_cells"]
    if fmt == "parquet":  # a dictionary in sorted, not first-seen, order is renumbered
        frame = frame.assign(measure=pd.Categorical(frame["measure"]).astype(str))
    path = _write(frame, fmt, tmp_path)
    coded, plain = read_records(path, coded=True), read_records(path)
    assert set(coded.codes) == {c for c in plain.frame.columns if pd.api.types.is_string_dtype(plain.frame[c])}
    for column, (codes, uniques) in coded.codes.items():
        expected_codes, expected_uniques = pd.factorize(plain.frame[column])
        np.testing.assert_array_equal(codes, expected_codes)
        pd.testing.assert_series_equal(uniques, pd.Series(expected_uniques), check_exact=True)
    pd.testing.assert_frame_equal(coded.notes, plain.notes)


def test_phi_scan_with_codes_equals_plain_scan(tmp_path):
    frame = _base().assign(
        note=["call 555-010-1234" if i % 4 == 0 else "ok" for i in range(len(_base()))],
        email=["a@example.com"] * len(_base()),
    )
    path = _write(frame, "csv", tmp_path)
    coded, plain = read_records(path, coded=True), read_records(path)
    with_codes = scan_phi(coded.frame, source=path, rows=coded.rows, codes=coded.codes)
    assert with_codes == scan_phi(plain.frame, source=path, rows=plain.rows)
    assert {p.rule for p in with_codes} == {"phi_phone", "phi_email"}


def test_groups_match_pandas_groupby():
    rng = np.random.default_rng(7)
    n = 2_000
    for codes in (np.sort(rng.integers(0, 50, n)), rng.integers(-1, 50, n)):
        groups = Groups(codes)
        values = rng.integers(0, 6, n).astype(float)
        mask = rng.random(n) < 0.8
        masked = pd.Series(np.where(mask, values, np.nan)).where(codes >= 0)
        by = masked.groupby(codes)
        for how in ("min", "max"):
            expected = by.transform(how).where(codes >= 0).to_numpy()
            np.testing.assert_array_equal(groups.spread(values, mask, how), expected)
        expected = by.rank(method="dense").where(codes >= 0).to_numpy()
        np.testing.assert_array_equal(groups.dense_rank(values, mask & (codes >= 0)), expected)
        inside = mask & (codes >= 0)
        varies = pd.Series(values[inside]).groupby(codes[inside]).nunique().gt(1).any()
        assert groups.varies(values, inside) == varies
        expected = by.transform("first").where(codes >= 0).to_numpy()
        np.testing.assert_array_equal(groups.first(values, mask), expected)
        expected = pd.Series(mask).groupby(codes).transform("any").where(codes >= 0, False).to_numpy(dtype=bool)
        np.testing.assert_array_equal(groups.any(mask), expected)
    full = Groups(np.repeat(np.arange(5), 3))  # rows in group order, every row masked
    days = np.array([0, 0, 7, 0, 3, 3, 1, 2, 9, 5, 5, 5, 0, 4, 2], dtype=float)
    expected = pd.Series(days).groupby(np.repeat(np.arange(5), 3)).rank(method="dense").to_numpy()
    np.testing.assert_array_equal(full.dense_rank(days, np.ones(15, dtype=bool)), expected)
    np.testing.assert_array_equal(
        full.dense_rank(np.sort(days), np.ones(15, dtype=bool)),
        pd.Series(np.sort(days)).groupby(np.repeat(np.arange(5), 3)).rank(method="dense").to_numpy(),
    )
    np.testing.assert_array_equal(full.first(np.arange(15.0), np.ones(15, dtype=bool)), np.repeat([0, 3, 6, 9, 12], 3))


def test_parquet_index_and_other_string_types(tmp_path):
    """Only plain ``str`` columns are coded: an index stored as a column, or a pd.NA ``string``
    column, is read exactly as pandas reads it."""
    frame = _variants()["padded_and_blank_cells"]
    path = tmp_path / "v.parquet"
    frame.set_index("patient_id").to_parquet(path)
    assert "patient_id" not in read_records(path, coded=True).codes
    _assert_same(path)
    frame.astype({"measure": "string"}).to_parquet(path, index=False)
    assert "measure" not in read_records(path, coded=True).codes
    _assert_same(path)


def test_load_visits_leaves_a_given_frame_alone():
    frame = _base()
    before = frame.copy()
    load_visits(frame, phi_guard=False)
    pd.testing.assert_frame_equal(frame, before)
