"""The hostile-input suite: every row of ``tests/hostile_cases.CASES`` through the CLI.

Each case builds small inputs in its own folder, runs one ``outcomes`` command and checks the
contract of issue 17 (see ``tests/hostile_cases.py`` and ``docs/security.md``): the expected exit
code (bad input 1, usage 2, never 3), no traceback, no raw control character, no cell value
(the sentinel) echoed or written, no user file deleted or changed, no partial output on refusal.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from hostile_cases import CASES, TOOL_BOOKKEEPING, Case, execute, problems_of

FAMILIES = {"data", "cell", "phi", "res", "plan", "deid", "inj", "out", "synth", "usage"}


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory):
    """Session folder for inputs that are costly to build (the 50M-row Parquet file ...)."""
    return tmp_path_factory.mktemp("hostile_shared")


def test_case_table_is_large_and_well_formed() -> None:
    ids = [c.id for c in CASES]
    assert len(CASES) >= 150, len(CASES)
    assert len(set(ids)) == len(ids), [i for i, n in Counter(ids).items() if n > 1]
    assert all(re.fullmatch(r"[a-z]+\.[a-z0-9_]+", i) for i in ids)
    counts = Counter(c.family for c in CASES)
    assert set(counts) == FAMILIES, counts
    assert min(counts.values()) >= 10, counts
    assert all(c.expect and c.expect <= {0, 1, 2} for c in CASES)
    assert sum(c.expect == {0} for c in CASES) >= 20  # good input must keep working too
    print(f"hostile suite: {len(CASES)} cases; by family: {dict(sorted(counts.items()))}")


def test_bookkeeping_names_match_the_output_policy() -> None:
    """The suite lets the tool rewrite its own records (manifest, marker): their names must be current."""
    from outcomes.safety import outputs

    assert set(TOOL_BOOKKEEPING) == {outputs.MANIFEST, outputs.MARKER}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, tmp_path, shared_dir, capfd, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    outcome = execute(case, tmp_path, shared_dir, capfd)
    problems = problems_of(outcome)
    assert not problems, (
        f"{case.id}: " + "; ".join(problems) + f"\n--- stderr (last 1500 chars) ---\n{outcome.err[-1500:]}"
    )
