"""Property tests: well-formed contract data always loads; corrupted data fails only with OutcomesError."""

import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes import LoadedVisits, load_visits
from outcomes.errors import OutcomesError
from outcomes.spec.contract import AGE_BANDS, CONDITIONS, SEXES, TREATMENTS
from outcomes.spec.measures import REGISTRY

MEASURES = [
    "pain_nprs",
    "pain_vas",
    "rom_cervical_flexion",
    "rom_shoulder_flexion",
    "grip_strength_kg",
    "mouth_opening_mm",
]
SETTINGS = settings(
    derandomize=True,
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def contract_frames(draw):
    """A small long-form table that meets the contract, as strings (how a CSV holds it)."""
    rows = []
    n_episodes = draw(st.integers(1, 5))
    for e in range(n_episodes):
        patient = f"P{draw(st.integers(0, 3)):03d}"
        episode = f"{patient}-E{e}"
        gaps = draw(st.lists(st.integers(1, 30), min_size=0, max_size=3))
        days = np.concatenate([[0], np.cumsum(gaps)]).astype(int)
        measures = draw(st.lists(st.sampled_from(MEASURES), min_size=1, max_size=3, unique=True))
        condition = draw(st.sampled_from(["", *list(CONDITIONS)]))
        age_band = draw(st.sampled_from(["", *list(AGE_BANDS)]))
        sex = draw(st.sampled_from(["", *list(SEXES)]))
        for day in days:
            treatment = "+".join(draw(st.lists(st.sampled_from(list(TREATMENTS)), max_size=2, unique=True)))
            twitch = draw(st.sampled_from(["", "true", "False", "YES", "no", "1", "0"]))
            soreness = draw(st.sampled_from(["", "0", "6", "47.5", "336"]))
            for m in measures:
                spec = REGISTRY[m]
                for side in ["left", "right"] if spec.sided else [draw(st.sampled_from(["", "none"]))]:
                    value = draw(
                        st.one_of(
                            st.integers(int(spec.lower), int(spec.upper)).map(str),
                            st.floats(spec.lower, spec.upper, allow_nan=False).map(lambda x: f"{x:.2f}"),
                            st.just(""),  # measurement not taken: excluded, not fatal
                        )
                    )
                    rows.append(
                        [
                            patient,
                            episode,
                            str(day),
                            m,
                            side,
                            value,
                            condition,
                            treatment,
                            age_band,
                            sex,
                            twitch,
                            soreness,
                        ]
                    )
    frame = pd.DataFrame(
        rows,
        columns=[
            "patient_id",
            "episode_id",
            "visit_day",
            "measure",
            "side",
            "value",
            "condition",
            "treatment",
            "age_band",
            "sex",
            "twitch_response",
            "soreness_hours",
        ],
    )
    order = draw(st.permutations(range(len(frame))))
    keep = draw(st.lists(st.sampled_from(list(frame.columns[6:])), unique=True))
    return frame.iloc[list(order)][list(frame.columns[:6]) + keep].reset_index(drop=True)


def _write(frame: pd.DataFrame, fmt: str, folder: Path) -> Path:
    path = folder / f"v.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)
    return path


@settings(SETTINGS, max_examples=30)
@given(frame=contract_frames(), fmt=st.sampled_from(["csv", "parquet"]))
def test_well_formed_data_always_loads(frame, fmt):
    taken = frame["value"] != ""
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(frame, fmt, Path(tmp))
        if not taken.any():  # nothing measured at all: refused, not an empty success
            with pytest.raises(OutcomesError, match="has_data_rows"):
                load_visits(path)
            return
        loaded = load_visits(path)
    assert len(loaded.visits) == taken.sum()
    assert (loaded.exclusions["rule"] == "value_missing").sum() == (~taken).sum()
    assert sorted(loaded.visits["value"]) == sorted(frame.loc[taken, "value"].astype(float))
    assert loaded.visits["row"].is_unique
    # visit numbers: dense rank of visit_day within the episode, over all rows of the file
    day = frame["visit_day"].astype(int)
    expected = day.groupby(frame["episode_id"]).rank(method="dense").astype("int64")
    got = loaded.visits.set_index("row")["visit_number"]
    assert (got.to_numpy() == expected.loc[got.index - 2].to_numpy()).all()
    assert (loaded.visits["side"] != "none").sum() == (frame.loc[taken, "side"].isin(["left", "right"])).sum()


def _corrupt(data: bytes, how: str, pos: float, junk: bytes) -> bytes:
    i = int(pos * len(data))
    if how == "truncate":
        return data[:i]
    if how == "insert":
        return data[:i] + junk + data[i:]
    if how == "replace":
        return data[:i] + junk + data[i + len(junk) :]
    if how == "drop_line":
        lines = data.split(b"\n")
        del lines[min(int(pos * len(lines)), len(lines) - 1)]
        return b"\n".join(lines)
    raise AssertionError(how)


@SETTINGS
@given(
    frame=contract_frames(),
    how=st.sampled_from(["truncate", "insert", "replace", "drop_line"]),
    pos=st.floats(0, 1),
    junk=st.binary(min_size=1, max_size=12),
    phi_guard=st.booleans(),
)
def test_corrupted_bytes_raise_only_outcomes_error(frame, how, pos, junk, phi_guard):
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    data = _corrupt(buffer.getvalue().encode(), how, pos, junk)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v.csv"
        path.write_bytes(data)
        try:
            load_visits(path, phi_guard=phi_guard)
        except OutcomesError as err:
            assert err.problems and all(p.source == str(path) for p in err.problems)
        assert path.read_bytes() == data


CELL_JUNK = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["-1", "1e9", "nan", "inf", "6,5", "3.5", " ", "TRUE", "left", "both", "0x1F", "\u00e9", '"']),
)


@SETTINGS
@given(frame=contract_frames(), data=st.data())
def test_corrupted_cells_and_columns_raise_only_outcomes_error(frame, data):
    frame = frame.copy()
    action = data.draw(st.sampled_from(["cell", "drop_column", "rename_column", "swap_columns"]))
    column = data.draw(st.sampled_from(list(frame.columns)))
    if action == "cell":
        row = data.draw(st.integers(0, len(frame) - 1))
        frame.loc[row, column] = data.draw(CELL_JUNK)
    elif action == "drop_column":
        frame = frame.drop(columns=column)
    elif action == "rename_column":
        frame = frame.rename(columns={column: data.draw(st.text(min_size=1, max_size=6))})
    else:
        other = data.draw(st.sampled_from(list(frame.columns)))
        frame = frame.rename(columns={column: other, other: column})
    try:
        if data.draw(st.booleans(), label="as_csv"):
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "v.csv"
                path.write_text(frame.to_csv(index=False), encoding="utf-8")
                load_visits(path, phi_guard=False)
        else:
            load_visits(frame, phi_guard=False)
    except OutcomesError as err:
        assert err.problems


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_fixed_example_loads(fmt, tmp_path):
    frame = pd.DataFrame(
        {
            "patient_id": ["P001"] * 3,
            "episode_id": ["E1"] * 3,
            "visit_day": ["0", "0", "5"],
            "measure": ["grip_strength_kg", "grip_strength_kg", "pain_nprs"],
            "side": ["left", "right", ""],
            "value": ["30", "32.50", ""],
        }
    )
    loaded = load_visits(_write(frame, fmt, tmp_path))
    assert loaded.visits["side"].tolist() == ["left", "right"]
    assert loaded.exclusions[["row", "rule"]].values.tolist() == [[4, "value_missing"]]


# --- arbitrary bytes: a LoadedVisits or an OutcomesError, never another exception --------------


def _load_bytes(data: bytes, name: str = "v.csv"):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            return load_visits(path)
        except OutcomesError as err:
            assert err.problems and all(p.source == str(path) for p in err.problems)
            return err
        finally:
            assert path.read_bytes() == data


_HEADERS = st.sampled_from(
    [
        b"",
        b"patient_id,visit_day,measure,value\n",
        b"PAR1",
        b"patient_id,visit_day,pain_nprs,rom_cervical_flexion\n",
        b"\xef\xbb\xbfpatient_id,visit_day,visit_number,measure,value,side\n",
    ]
)


@settings(SETTINGS, max_examples=150)
@given(head=_HEADERS, body=st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_outcomes_error(head, body):
    out = _load_bytes(head + body)
    assert isinstance(out, (OutcomesError, LoadedVisits))


_CELLS = st.sampled_from(
    [
        "",
        "0",
        "7",
        "-1",
        "1e30",
        "18446744073709551616",
        "9223372036854775807",
        "nan",
        "inf",
        "6,5",
        "pain_nprs",
        "rom_cervical_flexion",
        "left",
        "P1",
        "E1",
        '"',
        '""',
        "\r",
        "\x00",
        "\u202e",
        "=1+2",
        "1" * 400,
    ]
)


@settings(SETTINGS, max_examples=150)
@given(
    rows=st.lists(st.lists(_CELLS, min_size=1, max_size=7), min_size=1, max_size=8),
    head=_HEADERS,
    sep=st.sampled_from([b",", b";", b"\t"]),
)
def test_arbitrary_csv_like_tables_raise_only_outcomes_error(rows, head, sep):
    body = b"\n".join(sep.join(c.encode("utf-8", "surrogatepass") for c in row) for row in rows)
    out = _load_bytes(head + body + b"\n")
    assert isinstance(out, (OutcomesError, LoadedVisits))


@settings(SETTINGS, max_examples=80)
@given(
    frame=contract_frames(),
    how=st.sampled_from(["truncate", "insert", "replace"]),
    pos=st.floats(0, 1),
    junk=st.binary(min_size=1, max_size=16),
)
def test_corrupted_parquet_raises_only_outcomes_error(frame, how, pos, junk):
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    out = _load_bytes(_corrupt(buffer.getvalue(), how, pos, junk), "v.parquet")
    assert isinstance(out, (OutcomesError, LoadedVisits))


def test_arbitrary_bytes_strategies_reach_both_outcomes():
    # the property tests above see loadable data as well as refusals, or they would prove little
    ok = _load_bytes(b"patient_id,visit_day,measure,value\nP1,0,pain_nprs,6\n")
    bad = _load_bytes(b"patient_id,visit_day,measure,value\nP1,1e30,pain_nprs,6\n")
    assert isinstance(ok, LoadedVisits) and isinstance(bad, OutcomesError)
