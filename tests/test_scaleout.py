"""The Dask engine gives the pandas engine's results; the sampled mixed model is honest."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from outcomes.analysis import analyse  # noqa: E402
from outcomes.claims.dask_engine import evaluate_claims_dask  # noqa: E402
from outcomes.cli import main  # noqa: E402
from outcomes.errors import OutcomesError  # noqa: E402
from outcomes.ingest.synth import SynthParams, simulate_visits  # noqa: E402
from outcomes.report.results import analysis_document, dumps, results_document  # noqa: E402

ROW_GROUP = 700  # rows per row group: cuts through episodes


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def visits() -> pd.DataFrame:
    return simulate_visits(SynthParams(n_episodes=300, missing_rate=0.05), seed=11).visits


def _write(frame: pd.DataFrame, path) -> None:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=ROW_GROUP)


def _pandas_document(path) -> str:
    a = analyse(path)
    return dumps(
        results_document(
            a.claims, data_sha256=a.loaded.sha256, n_episodes=a.loaded.n_episodes, data_source=a.loaded.source
        )
    )


def test_dask_engine_gives_the_pandas_results(client, visits, tmp_path):
    path = tmp_path / "visits.parquet"
    _write(visits, path)
    # the row groups (read partitions) cut through episodes: the shuffle must reunite them
    group = np.arange(len(visits)) // ROW_GROUP
    spans = pd.Series(group).groupby(visits["episode_id"].to_numpy()).nunique()
    assert (spans > 1).sum() >= 3
    res = evaluate_claims_dask(path, rows_per_partition=ROW_GROUP, npartitions=3)
    assert res.n_partitions == 3
    assert res.n_episodes == 300
    assert res.claims.episodes.empty  # per-episode summaries stay on the workers
    assert dumps(analysis_document(res)) == _pandas_document(path)


def test_cli_dask_engine_writes_the_same_results_json(client, visits, tmp_path, capsys):
    path = tmp_path / "visits.parquet"
    _write(visits, path)
    out = tmp_path / "results.json"
    assert main(["claims", str(path), "--engine", "dask", "--json", str(out)]) == 0
    assert "pain_nprs" in capsys.readouterr().out
    assert json.loads(out.read_text()) == json.loads(_pandas_document(path))


def test_bad_row_in_a_later_partition_names_the_file_row(client, visits, tmp_path):
    bad = visits.copy()
    pain = np.flatnonzero((bad["measure"] == "pain_nprs").to_numpy())
    position = int(pain[pain > 3 * ROW_GROUP][0])  # in the fourth row group
    bad.loc[position, "value"] = 11.0  # outside 0-10
    path = tmp_path / "bad.parquet"
    _write(bad, path)
    with pytest.raises(OutcomesError) as dask_err:
        evaluate_claims_dask(path, rows_per_partition=ROW_GROUP, npartitions=3)
    with pytest.raises(OutcomesError) as pandas_err:
        analyse(path)
    [problem] = dask_err.value.problems
    assert problem.rule == "value_in_bounds"
    assert problem.rows == (position + 2,)  # header = row 1
    assert dask_err.value.problems == pandas_err.value.problems


def test_csv_is_refused_by_the_dask_engine(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("patient_id,visit_day,measure,value\nP1,0,pain_nprs,5\n")
    with pytest.raises(OutcomesError) as err:
        evaluate_claims_dask(path)
    assert err.value.rules == ("parquet_readable",)
