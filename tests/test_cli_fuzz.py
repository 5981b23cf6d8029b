"""CLI-level fuzzing (Hypothesis): arbitrary bytes and mutated copies of a valid visits CSV and a
valid plan YAML, written to a file and run through ``outcomes validate`` and ``outcomes claims``.

Whatever the file holds, the command ends with exit 0, 1 or 2: never 3 (an internal error), never
a traceback, never an exception escaping :func:`outcomes.cli.main`. Runs are deterministic
(``derandomize=True``) so CI sees the same examples every time; each test prints how many examples
it ran and records it as a junit property (``examples``).

Bootstrap work is bounded for the run with ``OUTCOMES_MAX_N_BOOT`` (a mutated plan may ask for
any ``n_boot`` up to the limit; the limit itself is tested in ``tests/test_hostile.py``).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes.cli import main

SETTINGS = dict(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Cells and YAML fragments that have broken readers before: huge and odd numbers, formulas,
#: control characters, dates, YAML syntax (anchors, tags, flow collections), encodings.
TOKENS = [
    "",
    "-1",
    "0",
    "3.5",
    "1e400",
    "nan",
    "inf",
    "-inf",
    "9223372036854775807",
    "18446744073709551616",
    "-9223372036854775809",
    "1e30",
    "=1+2",
    "\x00",
    "\x1b[31m",
    "\u202e",
    "caf\u00e9",
    "\ufeff",
    '"',
    "'",
    ",",
    ";",
    "\n",
    "\r",
    "\t",
    "2024-03-01",
    "14-07-1961",
    "a@b.example",
    "555-012-3456",
    "true",
    "[]",
    "{}",
    "[",
    "{",
    "&a",
    "*a",
    "!!python/object/apply:os.system ['true']",
    "!!binary aGk=",
    "~",
    "null",
    "- ",
    ": ",
    "? ",
    "|",
    ">",
    "%YAML 1.1",
    "---",
    "...",
    "P00001",
    "pain_nprs",
    "rom_slr_left",
    "left",
    "measures:",
    "k: 3",
    "n_boot: 100",
    "x" * 300,
]


def _run(argv: list[str]) -> tuple[int | None, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc: int | None = main(argv)
        except BaseException as exc:
            rc = None
            err.write(f"[escaped main(): {type(exc).__name__}: {exc}]")
    return rc, out.getvalue(), err.getvalue()


def _assert_clean(rc: int | None, out: str, err: str) -> None:
    assert rc in (0, 1, 2), f"exit {rc}; stderr: {err[-800:]}"
    assert "Traceback" not in err + out and "internal error" not in err, err[-800:]


@st.composite
def mutated(draw: st.DrawFn, base: bytes, separator: bytes) -> bytes:
    """``base`` with 1-4 mutations: byte flips, insertions, deletions, truncation, line
    duplication/removal/swap, and a field (CSV cell or YAML value) replaced by a hostile token."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(
            st.sampled_from(
                [
                    "flip",
                    "insert",
                    "delete",
                    "truncate",
                    "dup_line",
                    "drop_line",
                    "swap_lines",
                    "field",
                    "field",
                    "field",
                ]
            )
        )
        if not data:
            data = bytearray(draw(st.binary(max_size=20)))
            continue
        pos = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(
                st.one_of(st.binary(min_size=1, max_size=12), st.sampled_from(TOKENS).map(lambda t: t.encode("utf-8")))
            )
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 40))]
        elif op == "truncate":
            del data[pos:]
        else:
            lines = bytes(data).split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            if op == "dup_line":
                lines.insert(i, lines[i])
            elif op == "drop_line":
                del lines[i]
            elif op == "swap_lines":
                j = draw(st.integers(0, len(lines) - 1))
                lines[i], lines[j] = lines[j], lines[i]
            else:
                fields = lines[i].split(separator)
                k = draw(st.integers(0, len(fields) - 1))
                token = draw(st.sampled_from(TOKENS)).encode("utf-8")
                fields[k] = (b" " + token) if separator == b":" and k > 0 else token
                lines[i] = separator.join(fields)
            data = bytearray(b"\n".join(lines))
    return bytes(data)


@pytest.fixture(scope="module")
def valid_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small valid visits file (12 synthetic episodes): quick to validate and to analyse."""
    from outcomes.ingest.synth import SynthParams, simulate_visits, write_visits

    path = tmp_path_factory.mktemp("fuzz_data") / "visits.csv"
    write_visits(simulate_visits(SynthParams(n_episodes=12), seed=3).visits, path)
    return path


@pytest.fixture(scope="module")
def valid_plan() -> bytes:
    from outcomes.spec.plan import DEFAULT_PLAN_PATH

    return DEFAULT_PLAN_PATH.read_bytes()


def _fuzz(
    strategy: st.SearchStrategy[bytes], max_examples: int, target: Path, argv: Callable[[Path], list[str]]
) -> int:
    """Run ``argv(target)`` for each example written to ``target``; returns the number of examples."""
    seen = 0

    @settings(max_examples=max_examples, **SETTINGS)
    @given(strategy)
    def prop(content: bytes) -> None:
        nonlocal seen
        seen += 1
        target.write_bytes(content)
        _assert_clean(*_run(argv(target)))

    prop()
    return seen


def _report(record_property: Callable[[str, object], None], name: str, n: int, minimum: int) -> None:
    print(f"{name}: {n} examples, 0 failures")
    record_property("examples", n)
    assert n >= minimum, f"only {n} examples ran"


def test_validate_arbitrary_bytes(tmp_path: Path, record_property) -> None:
    n = _fuzz(st.binary(max_size=3000), 150, tmp_path / "data.csv", lambda p: ["validate", str(p)])
    _report(record_property, "validate <- arbitrary bytes", n, 100)


def test_validate_mutated_csv(tmp_path: Path, valid_csv: Path, record_property) -> None:
    assert _run(["validate", str(valid_csv)])[0] == 0  # the seed file is valid
    n = _fuzz(mutated(valid_csv.read_bytes(), b","), 200, tmp_path / "data.csv", lambda p: ["validate", str(p)])
    _report(record_property, "validate <- mutated valid CSV", n, 150)


def test_claims_arbitrary_plan_bytes(
    tmp_path: Path, valid_csv: Path, record_property, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTCOMES_MAX_N_BOOT", "2000")
    n = _fuzz(
        st.binary(max_size=2000), 80, tmp_path / "plan.yaml", lambda p: ["claims", str(valid_csv), "--plan", str(p)]
    )
    _report(record_property, "claims --plan <- arbitrary bytes", n, 60)


def test_claims_mutated_plan(
    tmp_path: Path, valid_csv: Path, valid_plan: bytes, record_property, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTCOMES_MAX_N_BOOT", "2000")
    plan = tmp_path / "seed.yaml"
    plan.write_bytes(valid_plan)
    assert _run(["claims", str(valid_csv), "--plan", str(plan)])[0] == 0  # the seed plan is valid
    n = _fuzz(
        mutated(valid_plan, b":"), 120, tmp_path / "plan.yaml", lambda p: ["claims", str(valid_csv), "--plan", str(p)]
    )
    _report(record_property, "claims --plan <- mutated valid plan", n, 90)


def test_claims_mutated_data(tmp_path: Path, valid_csv: Path, record_property, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTCOMES_MAX_N_BOOT", "2000")
    n = _fuzz(mutated(valid_csv.read_bytes(), b","), 40, tmp_path / "data.csv", lambda p: ["claims", str(p)])
    _report(record_property, "claims <- mutated valid CSV", n, 30)
