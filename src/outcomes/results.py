"""``results.json``: the machine-readable result of a run (schema: ``docs/results-schema.md``).

The document is deterministic: keys sorted, floats rounded to 6 decimals, no
timestamps or paths that change between runs, so the same data and plan give
byte-identical output.

Examples
--------
>>> from outcomes.synth import SynthParams, simulate_visits
>>> from outcomes.plan import Plan
>>> from outcomes.claims import evaluate_claims
>>> sim = simulate_visits(SynthParams(n_episodes=120), seed=5)
>>> doc = results_document(evaluate_claims(sim.visits, Plan()), data_sha256="0" * 64, n_episodes=120)
>>> sorted(doc)
['claims', 'data', 'outcomes_version', 'plan', 'schema_version']
>>> {"id", "verdict", "estimate", "ci_low", "ci_high", "n", "n_excluded"} <= set(doc["claims"][0])
True
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .atomic import atomic_write_text
from .claims import ClaimsResult

__all__ = ["SCHEMA_VERSION", "results_document", "dumps", "write_results", "CLAIM_FIELDS"]

SCHEMA_VERSION = 1

#: Fields of each entry of ``claims`` (documented in docs/results-schema.md).
CLAIM_FIELDS: tuple[str, ...] = (
    "id", "measure", "label", "family", "k", "p0", "verdict", "estimate", "ci_low", "ci_high",
    "conf_level", "p_value", "p_value_not", "n", "n_excluded", "n_events", "sensitivity_agree",
    "rule", "sentence",
)


def _clean(value: Any) -> Any:
    """Plain JSON values: numpy scalars unwrapped, floats rounded, NaN -> None."""
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA or value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 6) + 0.0
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [_clean(r) for r in frame.to_dict("records")]


def results_document(
    result: ClaimsResult,
    *,
    data_sha256: str,
    n_episodes: int,
    data_source: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the ``results.json`` document.

    Parameters
    ----------
    result : ClaimsResult
        Output of :func:`outcomes.claims.evaluate_claims`.
    data_sha256 : str
        SHA-256 of the input file's bytes.
    n_episodes : int
        Episodes in the validated data.
    data_source : str, optional
        File name only (no directories, so outputs do not depend on where data lives).
    extra : mapping, optional
        Further top-level sections (e.g. ``other_claims``, ``subgroups``).
    """
    plan = result.plan
    claims = result.claims[list(CLAIM_FIELDS)]
    sens = result.sensitivity
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "outcomes_version": __version__,
        "plan": {"sha256": plan.sha256, **plan.canonical()},
        "data": {"sha256": data_sha256, "episodes": int(n_episodes),
                 "source": Path(data_source).name if data_source else None},
        "claims": [],
    }
    for claim in _records(claims):
        cid = claim["id"]
        claim["sensitivity"] = _records(sens.loc[sens["id"] == cid].drop(columns=["id", "measure"]))
        claim["exclusions"] = _records(
            result.exclusions.loc[result.exclusions["id"] == cid, ["reason", "n", "description"]])
        claim["median_visits"] = _records(result.medians.loc[result.medians["id"] == cid]
                                          .drop(columns=["id", "measure"]))[0]
        claim["change_at_k"] = _records(result.change.loc[result.change["id"] == cid]
                                        .drop(columns=["id", "measure"]))
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
