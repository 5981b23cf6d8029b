"""Registry scale: the claims on Dask.

Optional extra: ``pip install -e .[dask]`` (``dask[dataframe]`` + ``distributed``).
See ``docs/scaling.md`` for what scales out and the measured figures.

Claims on Dask (:func:`evaluate_claims_dask`, ``outcomes claims DATA.parquet --engine dask``)
    1. The Parquet file (or a directory of part files) is read with
       :func:`dask.dataframe.from_map`, one partition per run of row groups, each row
       carrying its row number in the file (header = row 1, as the pandas engine numbers
       Parquet rows: position + 2; for a directory, positions run on across the sorted
       part files).
    2. Rows are shuffled by episode (``episode_id``, or ``patient_id`` where it is empty,
       the contract's default), so every partition holds whole episodes.
    3. On the workers, per partition: the PHI guard, the contract validation
       (:func:`outcomes.ingest.rules.validate_records`, messages naming file rows), the
       per-episode summaries and the count tables of every claim statistic
       (:func:`outcomes.claims.improvement.claim_counts`: Kaplan-Meier events/censorings per visit,
       ITT and completer counts, the (change, baseline) table behind the Wilcoxon,
       Hodges-Lehmann and bootstrap statistics).
    4. Only problems and count tables come back to the driver; they are summed
       (:meth:`outcomes.claims.improvement.ClaimCounts.combine`) and
       :func:`outcomes.claims.improvement.claims_from_counts` builds the same ``ClaimsResult`` as
       the pandas engine: ``results.json`` is identical (tests/test_scaleout.py).
       Visit rows never reach the driver.

The mixed model is not distributed: :func:`outcomes.stats.fit_trajectory` switches to
the group-sum REML of :mod:`outcomes.stats.reml` above 2,000 episodes, which fits a
million episodes on one machine (``docs/scaling.md``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from outcomes.claims.improvement import ClaimCounts, ClaimsResult, claim_counts, claim_measures, claims_from_counts
from outcomes.errors import OutcomesError, Problem
from outcomes.ingest.coded import text_cells
from outcomes.ingest.phi import PhiError, scan_phi
from outcomes.ingest.records import check_parquet_metadata, tidy_records
from outcomes.ingest.rules import validate_records
from outcomes.safety.files import check_regular_file
from outcomes.spec.plan import Plan, load_plan

__all__ = ["ROWS_PER_PARTITION", "ScaledClaims", "evaluate_claims_dask"]

#: Row groups are gathered into partitions of about this many rows.
ROWS_PER_PARTITION = 1_000_000
_ROW, _EPISODE = "_row", "_episode"


# ----------------------------------------------------------------------------------- claims
@dataclass(frozen=True)
class ScaledClaims:
    """Result of the Dask engine: what ``outcomes claims`` prints and writes.

    ``claims.episodes`` is empty: the per-episode summaries stay on the workers.
    """

    claims: ClaimsResult
    plan: Plan
    source: str
    sha256: str
    n_rows: int
    n_episodes: int
    n_partitions: int = field(default=0)


def _parquet_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.parquet") if p.is_file())
        if not files:
            raise OutcomesError(Problem("file_exists", "directory holds no .parquet files", str(path)))
        return files
    check_regular_file(path, source=str(path), what="a Parquet file or a directory of them")  # no FIFO, no device
    with open(path, "rb") as fh:
        if fh.read(4) != b"PAR1":
            raise OutcomesError(
                Problem(
                    "parquet_readable",
                    "the Dask engine reads Parquet; convert the CSV first (or use --engine pandas)",
                    str(path),
                )
            )
    return [path]


def _pieces(files: list[Path], rows_per_partition: int) -> list[tuple[str, tuple[int, ...], int]]:
    """(file, row groups, row number of the first row) per partition."""

    pieces, first = [], 2  # header = row 1
    for f in files:
        try:
            parquet = pq.ParquetFile(f)
            meta, schema = parquet.metadata, parquet.schema_arrow
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise OutcomesError(
                Problem(
                    "parquet_readable",
                    f"is not a readable Parquet file ({type(exc).__name__}); export it again",
                    str(f),
                )
            ) from None
        check_parquet_metadata(meta, schema, str(f))  # the pandas engine's limits, from the footer alone
        groups: list[int] = []
        n, start = 0, first
        for i in range(meta.num_row_groups):
            groups.append(i)
            n += meta.row_group(i).num_rows
            if n >= rows_per_partition:
                pieces.append((str(f), tuple(groups), start))
                start, groups, n = start + n, [], 0
        if groups:
            pieces.append((str(f), tuple(groups), start))
        first += meta.num_rows
    return pieces


def _read_piece(piece: tuple[str, tuple[int, ...], int]) -> pd.DataFrame:
    """One partition: the row groups as the pandas engine reads them, plus file row numbers."""

    path, groups, first = piece
    frame = pq.ParquetFile(path).read_row_groups(list(groups)).to_pandas()
    frame.columns = [str(c) for c in frame.columns]
    return _with_episode_key(frame.assign(**{_ROW: np.arange(first, first + len(frame), dtype=np.int64)}))


def _key_text(frame: pd.DataFrame, column: str) -> pd.Series:
    """The column's cells as validation reads them (stripped text, empty -> NA)."""
    if column not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="str")
    return text_cells(frame[column])


def _with_episode_key(frame: pd.DataFrame) -> pd.DataFrame:
    """Shuffle key: episode_id, or patient_id where it is empty (the contract's default)."""
    key = _key_text(frame, "episode_id").fillna(_key_text(frame, "patient_id")).fillna("")
    return frame.assign(**{_EPISODE: key.astype("str")})


def _partition_result(part: pd.DataFrame, source: str, plan: Plan, phi_guard: bool) -> dict[str, Any]:
    """Everything one partition of whole episodes contributes (runs on a worker)."""

    if len(part) == 0:
        return {}
    part = part.sort_values(_ROW, kind="stable")  # file order: 'first kept' rules see rows as in the file
    rows = part[_ROW].to_numpy(dtype=np.int64)
    frame = part.drop(columns=[_ROW, _EPISODE]).reset_index(drop=True)
    if phi_guard:
        phi = scan_phi(frame, source=source, rows=rows)
        if phi:
            return {"phi": phi}
    raw = tidy_records(frame, rows, source, "", "parquet", registry=plan.registry)
    try:
        loaded = validate_records(raw, plan.registry)  # the plan's measure additions and overrides apply here too
    except OutcomesError as exc:
        return {"problems": list(exc.problems)}
    visits = loaded.visits
    candidates = claim_measures(pd.DataFrame({"measure": list(plan.registry)}), plan)
    present = set(pd.unique(visits["measure"]))
    return {
        "counts": claim_counts(visits, plan, candidates) if present & set(candidates) else None,
        "measures": present,
        "n_rows": len(visits),
        "n_episodes": loaded.n_episodes,
    }


def _merge_problems(problems: list[Problem]) -> list[Problem]:
    """One problem per (rule, column, message), row numbers pooled across partitions."""
    merged: dict[tuple[str, str | None, str], set[int]] = {}
    first: dict[tuple[str, str | None, str], Problem] = {}
    for p in problems:
        key = (p.rule, p.column, p.message)
        merged.setdefault(key, set()).update(p.rows)
        first.setdefault(key, p)
    out = [Problem(p.rule, p.message, p.source, tuple(sorted(merged[k])), p.column) for k, p in first.items()]
    return sorted(out, key=lambda p: (min(p.rows) if p.rows else 0, p.rule))


def _sha256(files: list[Path]) -> str:
    """SHA-256 of the file's bytes (of the part files in order for a directory), streamed."""
    h = hashlib.sha256()
    for f in files:
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 24), b""):
                h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def _scheduler(address: str | None) -> Iterator[None]:
    if address is None:  # an active distributed Client, or dask's local threads
        yield
        return
    from distributed import Client  # noqa: PLC0415  (optional extra: outcomes[dask])

    with Client(address):  # type: ignore[no-untyped-call]  # distributed ships no type hints
        yield


def evaluate_claims_dask(
    data: str | os.PathLike[str],
    plan: Plan | str | os.PathLike[str] | None = None,
    *,
    scheduler: str | None = None,
    phi_guard: bool = True,
    rows_per_partition: int = ROWS_PER_PARTITION,
    npartitions: int | None = None,
) -> ScaledClaims:
    """Load, validate and evaluate every claim on Dask; same results as the pandas engine.

    Parameters
    ----------
    data : path
        Parquet file, or a directory of Parquet part files (long or wide form).
    plan : Plan or path, optional
        Analysis plan (default ``plans/default.yaml``).
    scheduler : str, optional
        Address of a ``distributed`` scheduler (``tcp://host:8786``); default the active
        ``distributed.Client`` if any, else dask's local threads.
    phi_guard : bool
        Refuse identifiable columns (as :func:`outcomes.ingest.load.load_visits`).
    rows_per_partition : int
        Row groups are gathered into partitions of about this many rows when read.
    npartitions : int, optional
        Partitions after the shuffle by episode (default: as read).

    Returns
    -------
    ScaledClaims

    Raises
    ------
    OutcomesError
        Unreadable file, identifiers, or contract problems (naming file rows).

    Examples
    --------
    >>> import tempfile, pathlib, dask
    >>> from outcomes.ingest.synth import SynthParams, simulate_visits, write_visits
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "v.parquet"
    >>> write_visits(simulate_visits(SynthParams(n_episodes=150), seed=3).visits, p)
    >>> with dask.config.set(scheduler="synchronous"):
    ...     res = evaluate_claims_dask(p)
    >>> res.n_episodes, res.claims.claims["measure"].iloc[0]
    (150, 'pain_nprs')
    """
    import dask  # noqa: PLC0415  (optional extra: outcomes[dask])
    import dask.dataframe as dd  # noqa: PLC0415  (optional extra: outcomes[dask])

    plan_obj = plan if isinstance(plan, Plan) else load_plan(None if plan is None else Path(plan))
    path = Path(data)
    files = _parquet_files(path)
    pieces = _pieces(files, rows_per_partition)
    source = str(data)
    meta = _read_piece((pieces[0][0], (), pieces[0][2])) if pieces else None
    with _scheduler(scheduler):
        # dask ships no type hints for these
        ddf = dd.from_map(_read_piece, pieces, meta=meta, enforce_metadata=False)  # type: ignore[no-untyped-call]
        shuffled = ddf.shuffle(on=_EPISODE, npartitions=npartitions or max(ddf.npartitions, 1))
        delayed = dask.delayed  # type: ignore[attr-defined]
        tasks = [delayed(_partition_result)(part, source, plan_obj, phi_guard) for part in shuffled.to_delayed()]
        results = list(dask.compute(*tasks))  # type: ignore[attr-defined,no-untyped-call]
    phi = [p for r in results for p in r.get("phi", [])]
    if phi:
        raise PhiError(
            _merge_problems(phi),
            headline=f"{source} appears to contain patient identifiers (HIPAA Safe Harbor); it was not loaded:",
        )
    problems = _merge_problems([p for r in results for p in r.get("problems", [])])
    if not any("n_rows" in r for r in results) and not problems:
        problems = [Problem("has_data_rows", "no data rows (only a header, or only blank rows)", source)]
    if problems:
        k = len(problems)
        raise OutcomesError(problems, f"{source} does not meet the data contract ({k} problem{'s' if k != 1 else ''}):")
    present = set().union(*(r["measures"] for r in results if "measures" in r))
    codes = claim_measures(pd.DataFrame({"measure": sorted(present)}), plan_obj)
    if not codes:
        raise OutcomesError(
            Problem(
                "claim_measures_present",
                f"none of the plan's claim measures ({plan_obj.primary_measure} or ROM) occur in the data",
                source,
                (),
                "measure",
            )
        )
    counts = ClaimCounts.combine([r["counts"] for r in results if r.get("counts") is not None])
    claims = claims_from_counts(counts, plan_obj, codes)
    return ScaledClaims(
        claims=claims,
        plan=plan_obj,
        source=source,
        sha256=_sha256(files),
        n_rows=sum(r.get("n_rows", 0) for r in results),
        n_episodes=sum(r.get("n_episodes", 0) for r in results),
        n_partitions=len(results),
    )
