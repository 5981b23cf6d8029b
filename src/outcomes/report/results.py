"""``results.json``: the machine-readable result of a run (schema: ``docs/results-schema.md``).

The document is deterministic: keys sorted, floats rounded to 6 decimals (p-values to 6
significant digits), no timestamps or paths that change between runs, so the same data and plan give
byte-identical output.

By default small cells are suppressed (``small_cells: "suppressed"``): the document
travels with the clinic report, so it holds what a clinic reader may see
(:meth:`outcomes.claims.improvement.ClaimsResult.disclosed`).  ``suppressed=False`` gives the
researchers' document (``small_cells: "unsuppressed"`` and a top-level ``warning``),
written only on explicit request (``outcomes report --research``,
``outcomes claims --unsuppressed-json``).

Examples
--------
>>> from outcomes.ingest.synth import SynthParams, simulate_visits
>>> from outcomes.spec.plan import Plan
>>> from outcomes.claims.improvement import evaluate_claims
>>> sim = simulate_visits(SynthParams(n_episodes=120), seed=5)
>>> doc = results_document(evaluate_claims(sim.visits, Plan()), data_sha256="0" * 64, n_episodes=120)
>>> sorted(doc)
['claims', 'data', 'outcomes_version', 'plan', 'schema_version', 'small_cells']
>>> {"id", "verdict", "estimate", "ci_low", "ci_high", "n", "n_excluded", "suppressed"} <= set(doc["claims"][0])
True
>>> research = results_document(evaluate_claims(sim.visits, Plan()), data_sha256="0" * 64, n_episodes=120,
...                             suppressed=False)
>>> research["small_cells"], research["warning"].startswith("UNSUPPRESSED")
('unsuppressed', True)
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from outcomes.analysis import Analysis
from outcomes.claims.dask_engine import ScaledClaims
from outcomes.claims.improvement import ClaimsResult
from outcomes.claims.other_claims import OtherClaimsResult
from outcomes.claims.result import PRIMARY_EXTRA_COLUMNS, RESULT_COLUMNS
from outcomes.report.sentences import claim_sentences, is_p_value_column, other_claim_sentences
from outcomes.safety.outputs import atomic_write_text
from outcomes.version import __version__

__all__ = [
    "CLAIM_FIELDS",
    "DISCLOSURE_FIELDS",
    "OTHER_CLAIM_FIELDS",
    "RESEARCH_WARNING",
    "SCHEMA_VERSION",
    "analysis_document",
    "dumps",
    "other_claims_section",
    "results_document",
    "write_results",
]

SCHEMA_VERSION = 2

#: Top-level ``warning`` of the unsuppressed (research) document.
RESEARCH_WARNING = (
    "UNSUPPRESSED: this file holds small cells (counts and estimates from fewer than the plan's "
    "min_cell_size episodes). It is for the research team only and must not leave it: do not send it "
    "with the clinic report; results.json is the document to share."
)
#: Extra fields of each claim of the suppressed document.
DISCLOSURE_FIELDS: tuple[str, ...] = ("suppressed", "suppression_reason")

#: The document's names of result columns that the library calls otherwise.
_PUBLISHED_NAMES = {"p0": "threshold"}
# Result columns with one value for every primary claim (the method is stated in the schema).
_SAME_FOR_EVERY_PRIMARY_CLAIM = ("claim", "analysis", "primary", "method", "reason")

#: Fields of each entry of ``claims`` (documented in docs/results-schema.md): the shared result
#: columns (:data:`outcomes.claims.result.RESULT_COLUMNS`) but those every primary claim shares,
#: the primary claims' own columns (:data:`outcomes.claims.result.PRIMARY_EXTRA_COLUMNS`) and the
#: sentence (:func:`outcomes.report.sentences.claim_sentences`).
CLAIM_FIELDS: tuple[str, ...] = (
    *(c for c in RESULT_COLUMNS if c not in _SAME_FOR_EVERY_PRIMARY_CLAIM),
    *PRIMARY_EXTRA_COLUMNS,
    "sentence",
)
#: Fields of each entry of ``other_claims`` and of its ``analyses`` (docs/results-schema.md): the
#: shared result columns as the schema names them (``p0``, the threshold the estimate is compared
#: with, published as ``threshold``), no ``k``, and the sentence
#: (:func:`outcomes.report.sentences.other_claim_sentences`).
OTHER_CLAIM_FIELDS: tuple[str, ...] = (*(_PUBLISHED_NAMES.get(c, c) for c in RESULT_COLUMNS if c != "k"), "sentence")


def _published(frame: pd.DataFrame, fields: tuple[str, ...]) -> pd.DataFrame:
    """``frame`` with the document's column names, only ``fields`` (and the disclosure fields present)."""
    out = frame.rename(columns=_PUBLISHED_NAMES)
    return out[[c for c in (*fields, *DISCLOSURE_FIELDS) if c in out.columns]]


def _clean(value: Any, key: str = "") -> Any:
    """Plain JSON values: numpy scalars unwrapped, floats rounded, NaN -> None.

    Floats are rounded to 6 decimals, p-values to 6 significant digits: a p-value of 3e-35
    stays 3e-35, never 0.0 (the report writes it ``< 1e-6``).

    Examples
    --------
    >>> _clean({"p_value": 3.2961e-35, "estimate": 0.12345678, "n": np.int64(4)})
    {'p_value': 3.2961e-35, 'estimate': 0.123457, 'n': 4}
    """
    if isinstance(value, Mapping):
        return {str(k): _clean(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA or value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return (float(f"{value:.6g}") if is_p_value_column(key) else round(value, 6)) + 0.0
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    # n_text is the display form of n (the report's); the document says null for a hidden count
    return [_clean(r) for r in frame.drop(columns="n_text", errors="ignore").to_dict("records")]


def results_document(
    result: ClaimsResult,
    *,
    data_sha256: str,
    n_episodes: int,
    data_source: str | None = None,
    extra: Mapping[str, Any] | None = None,
    suppressed: bool = True,
) -> dict[str, Any]:
    """Build the ``results.json`` document.

    Parameters
    ----------
    result : ClaimsResult
        Output of :func:`outcomes.claims.improvement.evaluate_claims`.
    data_sha256 : str
        SHA-256 of the input file's bytes.
    n_episodes : int
        Episodes in the validated data.
    data_source : str, optional
        File name only (no directories, so outputs do not depend on where data lives).
    extra : mapping, optional
        Further top-level sections (e.g. ``other_claims``), already suppressed or not as
        ``suppressed`` says.
    suppressed : bool, default True
        Small cells suppressed (:meth:`outcomes.claims.improvement.ClaimsResult.disclosed`): the
        document shared with a clinic.  ``False``: every number, plus :data:`RESEARCH_WARNING`.
    """
    plan = result.plan
    min_cell = plan.min_cell_size
    raw = result
    if suppressed:
        result = result.disclosed()
    sentences = claim_sentences(raw, shown=result.claims if suppressed else None)
    claims = result.claims.assign(sentence=sentences.to_numpy())
    claims = claims[list(CLAIM_FIELDS) + (list(DISCLOSURE_FIELDS) if suppressed else [])]
    sens = result.sensitivity
    episodes = None if suppressed and 0 < int(n_episodes) < min_cell else int(n_episodes)
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "outcomes_version": __version__,
        "small_cells": "suppressed" if suppressed else "unsuppressed",
        "plan": {"sha256": plan.sha256, **plan.canonical()},
        "data": {
            "sha256": data_sha256,
            "episodes": episodes,
            "source": Path(data_source).name if data_source else None,
        },
        "claims": [],
    }
    if not suppressed:
        doc["warning"] = RESEARCH_WARNING
    for claim in _records(claims):
        cid = claim["id"]
        claim["sensitivity"] = _records(sens.loc[sens["id"] == cid].drop(columns=["id", "measure"]))
        claim["exclusions"] = _records(
            result.exclusions.loc[result.exclusions["id"] == cid, ["reason", "n", "description"]]
        )
        claim["median_visits"] = _records(
            result.medians.loc[result.medians["id"] == cid].drop(columns=["id", "measure"])
        )[0]
        claim["change_at_k"] = _records(result.change.loc[result.change["id"] == cid].drop(columns=["id", "measure"]))
        doc["claims"].append(claim)
    for key, value in (extra or {}).items():
        doc[key] = _clean(value)
    return doc


def dumps(doc: Mapping[str, Any]) -> str:
    """Deterministic JSON text (sorted keys, 2-space indent, trailing newline)."""
    return json.dumps(_clean(doc), indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def write_results(doc: Mapping[str, Any], path: str | Path) -> None:
    """Write :func:`dumps` output atomically."""
    atomic_write_text(path, dumps(doc))


def other_claims_section(
    result: OtherClaimsResult, *, shown: OtherClaimsResult | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The ``results.json`` sections ``other_claims`` and ``other_claims_by_condition``.

    ``other_claims``: one object per claim (its primary row's fields) with
    ``analyses``, the list of its supporting rows, each with its sentence
    (:func:`outcomes.report.sentences.other_claim_sentences`).  ``other_claims_by_condition``:
    the per-condition table as displayed (small cells suppressed).

    Parameters
    ----------
    result : OtherClaimsResult
        The unsuppressed result (:func:`outcomes.claims.other_claims.run_other_claims`).
    shown : OtherClaimsResult, optional
        The same result disclosed (:attr:`outcomes.analysis.Analysis.disclosed_other_claims`):
        what is published.  Without it, ``result`` itself (the research team's document).

    Examples
    --------
    >>> from outcomes.ingest.synth import SynthParams, simulate_visits
    >>> from outcomes.spec.plan import Plan
    >>> from outcomes.claims.other_claims import run_other_claims
    >>> sim = simulate_visits(SynthParams(n_episodes=80), seed=2)
    >>> res = run_other_claims(sim.visits, Plan().with_(other_claims={"conditions": {"enabled": False}}))
    >>> doc = other_claims_section(res)
    >>> sorted(doc), "analyses" in doc["other_claims"][0]
    (['other_claims', 'other_claims_by_condition'], True)
    """

    def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return [
            {str(k): (None if v is pd.NA or (isinstance(v, float) and np.isnan(v)) else v) for k, v in r.items()}
            for r in frame.astype(object).to_dict("records")
        ]

    published = result if shown is None else shown
    sentences = other_claim_sentences(result, shown=None if shown is None else shown.results)
    rows = published.results.reset_index(drop=True).assign(sentence=sentences.to_numpy())
    results = _published(rows, OTHER_CLAIM_FIELDS)
    items = []
    for claim in records(results[results["primary"]]):
        rest = results[(results["id"] == claim["id"]) & ~results["primary"]]
        claim["analyses"] = records(rest.drop(columns=["claim", "id", "primary"]))
        items.append(claim)
    by_condition = published.by_condition.rename(columns=_PUBLISHED_NAMES)
    return {"other_claims": items, "other_claims_by_condition": records(by_condition)}


def analysis_document(result: Analysis | ScaledClaims, *, suppressed: bool = True) -> dict[str, Any]:
    """The ``results.json`` document of one analysis (pandas or Dask engine).

    Parameters
    ----------
    result : Analysis or ScaledClaims
        What :func:`outcomes.analysis.analyse` or
        :func:`outcomes.claims.dask_engine.evaluate_claims_dask` returned.
    suppressed : bool, default True
        Small cells suppressed: what travels with the report.  ``False``: the research team's
        document, every count and estimate, with a top-level ``warning`` (``outcomes report
        --research`` writes it as ``research/results.unsuppressed.json``); the pandas engine only.

    Raises
    ------
    ValueError
        ``suppressed=False`` for a Dask result.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> a = analyse()
    >>> analysis_document(a)["data"]["episodes"] == a.loaded.n_episodes
    True
    >>> "warning" in analysis_document(a, suppressed=False)
    True
    """
    if isinstance(result, ScaledClaims):
        if not suppressed:
            raise ValueError("the Dask engine writes the suppressed document only")
        return results_document(
            result.claims, data_sha256=result.sha256, n_episodes=result.n_episodes, data_source=result.source
        )
    shown = result.disclosed_other_claims if suppressed else None
    return results_document(
        result.claims,
        data_sha256=result.loaded.sha256,
        n_episodes=result.loaded.n_episodes,
        data_source=result.loaded.source,
        extra=other_claims_section(result.other_claims, shown=shown),
        suppressed=suppressed,
    )
