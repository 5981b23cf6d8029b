"""The committed notebooks: structure, size, no PHI in outputs, in sync with their .py twins,
and strict nbval really fails when a committed number changes."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pandas as pd
import pytest

from outcomes.ingest.phi import scan_phi
from outcomes.report.html import NOTEBOOKS, REPO_NOTEBOOKS

ROOT = REPO_NOTEBOOKS.parent
PATHS = [REPO_NOTEBOOKS / f"{n}.ipynb" for n in NOTEBOOKS]


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_structure(path):
    nb = _read(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert first.source.splitlines()[0].rstrip().endswith("?")  # opens with its question
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    tree = ast.parse(params[0].source)
    assigned = {}
    for node in tree.body:  # literals only, so papermill can override them
        assert isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        assigned[node.targets[0].id] = node.value.value
    assert assigned == {"DATA": "../data/sample/visits.csv", "PLAN": "../plans/default.yaml", "ANALYSIS": None}
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs or c is params[0] or "import" in c.source for c in code)
    for c in code:
        logic = [ln for ln in c.source.splitlines() if ln.strip() and not ln.startswith(("import ", "from ", "#"))]
        assert len(logic) <= 10, c.source  # short cells: analysis logic lives in outcomes
        for out in c.outputs:
            assert out.output_type != "error"
            assert not (out.output_type == "stream" and out.name == "stderr"), out.text
    assert path.stat().st_size < 400_000


def test_total_size():
    assert sum(p.stat().st_size for p in PATHS) < 1_500_000


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_ipynb_in_sync_with_py(path):
    py = jupytext.read(path.with_suffix(".py"))
    nb = _read(path)
    assert [(c.cell_type, c.source) for c in py.cells] == [(c.cell_type, c.source) for c in nb.cells]


def _text_outputs(nb: nbformat.NotebookNode) -> list[str]:
    lines = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            texts = [out.get("text", "")] + [
                v for k, v in out.get("data", {}).items() if k.startswith("text/") and isinstance(v, str)
            ]
            for t in texts:
                lines += [ln.strip() for ln in re.split(r"<[^>]+>|\n", t) if ln.strip()]
    return lines


def test_committed_outputs_have_no_phi():
    lines = [ln for p in PATHS for ln in _text_outputs(_read(p))]
    assert len(lines) > 200
    frame = pd.DataFrame({"notebook_output": lines})
    assert scan_phi(frame, source="notebooks") == []


def test_phi_scan_would_catch_an_identifier():
    frame = pd.DataFrame({"notebook_output": ["ok", "contact jane.doe@example.com", "visit 3"]})
    assert [p.rule for p in scan_phi(frame, source="notebooks")] == ["phi_email"]


def _absolute_parameters(nb: nbformat.NotebookNode) -> None:
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = (
        f'DATA = "{ROOT / "data" / "sample" / "visits.csv"}"\n'
        f'PLAN = "{ROOT / "plans" / "default.yaml"}"\n'
        "ANALYSIS = None"
    )


@pytest.mark.slow
def test_strict_nbval_fails_when_a_committed_number_changes(tmp_path):
    nb = _read(REPO_NOTEBOOKS / "04_conditions.ipynb")
    _absolute_parameters(nb)
    nbformat.write(nb, tmp_path / "ok.ipynb")
    # change one printed digit of the per-condition table (a stdout stream output)
    cell = next(c for c in nb.cells if any(o.output_type == "stream" for o in c.get("outputs", [])))
    out = next(o for o in cell.outputs if o.output_type == "stream")
    m = re.search(r"0\.(\d)", out.text)
    digit = m.group(1)
    out.text = out.text[: m.start(1)] + str((int(digit) + 1) % 10) + out.text[m.end(1) :]
    nbformat.write(nb, tmp_path / "bad.ipynb")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")

    def nbval(name: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:xdist",
                "-q",
                "--nbval",
                "--nbval-current-env",
                "--nbval-sanitize-with",
                str(REPO_NOTEBOOKS / "sanitize.cfg"),
                name,
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )

    ok, bad = nbval("ok.ipynb"), nbval("bad.ipynb")
    assert ok.returncode == 0, ok.stdout[-2000:]
    assert bad.returncode == 1, bad.stdout[-2000:]
    assert "Cell outputs differ" in bad.stdout and "1 failed" in bad.stdout
