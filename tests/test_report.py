"""``outcomes report``: validation first, atomic output, self-contained HTML, results.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from outcomes.analysis import analyse
from outcomes.cli import main
from outcomes.errors import OutcomesError
from outcomes.report import (NOTEBOOKS, ReportError, build_report, headline_markdown, notebooks_dir,
                             render_html, verdicts_markdown)

# Anything a browser would fetch: src/href to a URL, CSS url(...) / @import, protocol-relative links.
_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""",
                       re.IGNORECASE)


def _bad_csv(tmp_path: Path) -> Path:
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,visit_day,measure,value\nP001,0,pain_nprs,6\nP001,7,pain_nprs,11\n")
    return bad


@pytest.mark.parametrize("kind", ["missing", "bad"])
def test_cli_bad_input_exits_1_and_writes_nothing(tmp_path, capsys, kind):
    data = tmp_path / "missing.csv" if kind == "missing" else _bad_csv(tmp_path)
    out = tmp_path / "out" / "reports"
    assert main(["report", str(data), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "outcomes report: error" in err
    assert ("file_exists" in err) if kind == "missing" else ("pain_nprs" in err and "row 3" in err)
    assert not out.exists() and not out.parent.exists()


def test_build_report_validates_before_creating_anything(tmp_path):
    with pytest.raises(OutcomesError):
        build_report(_bad_csv(tmp_path), out_dir=tmp_path / "r", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def _tiny_notebooks(folder: Path, fail: str | None = None) -> Path:
    """Stand-ins for the real notebooks (fast): each prints its DATA parameter's file name."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in NOTEBOOKS:
        cells = [nbformat.v4.new_code_cell('DATA = "x.csv"\nPLAN = "p.yaml"', metadata={"tags": ["parameters"]}),
                 nbformat.v4.new_code_cell("from pathlib import Path\nprint(Path(DATA).name)")]
        if name == fail:
            cells.append(nbformat.v4.new_code_cell("raise ValueError('boom')"))
        nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
            "name": "python3", "display_name": "Python 3", "language": "python"}}), folder / f"{name}.ipynb")
    return folder


@pytest.mark.slow  # ten kernel start-ups (about 15 s)
def test_report_is_written_atomically_and_a_failure_keeps_the_old_one(tmp_path, capsys):
    out = tmp_path / "reports"
    res = build_report(out_dir=out, notebooks=_tiny_notebooks(tmp_path / "ok"))
    assert sorted(p.name for p in out.iterdir()) == ["notebooks", "report.html", "results.json"]
    assert sorted(p.name for p in (out / "notebooks").iterdir()) == sorted(f"{n}.ipynb" for n in NOTEBOOKS)
    executed = nbformat.read(out / "notebooks" / "clinic_summary.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"].strip() == "visits.csv"  # parameters were injected
    captured = capsys.readouterr()
    assert f"[{len(NOTEBOOKS)}/{len(NOTEBOOKS)}]" in captured.err and "pain_nprs" in captured.out and "wrote" in captured.out
    doc = json.loads(res.results_json.read_text())
    assert {"sha256", "episodes"} <= set(doc["data"]) and "sha256" in doc["plan"]
    for claim in doc["claims"]:
        assert {"id", "measure", "k", "p0", "verdict", "estimate", "ci_low", "ci_high", "n", "n_excluded"} <= set(claim)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    with pytest.raises(ReportError, match="03_range_of_motion.ipynb failed.*ValueError: boom"):
        build_report(out_dir=out, notebooks=_tiny_notebooks(tmp_path / "bad", fail="03_range_of_motion"),
                     progress=False)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad", "ok", "reports"]  # no leftover temp dir


def test_missing_notebooks_is_a_clear_error(tmp_path):
    with pytest.raises(OutcomesError, match="notebooks not found"):
        notebooks_dir(tmp_path)


def test_committed_summary_html_is_self_contained_and_has_every_verdict():
    html = render_html(notebooks_dir() / "clinic_summary.ipynb")
    assert _EXTERNAL.search(html) is None, _EXTERNAL.search(html)
    assert "<script src" not in html and "mathjax" not in html.lower()
    assert html.count("data:image/png;base64,") >= 4
    assert "analyse(DATA, PLAN)" not in html  # code hidden
    assert 'class="jp-CodeMirrorEditor' not in html
    claims = analyse().claims.claims
    words = {"supported": "supported", "not_supported": "not supported", "inconclusive": "inconclusive"}
    cells = re.sub(r"<td[^>]*>", "<td>", html)
    for label, verdict in zip(claims["label"], claims["verdict"]):
        assert f"<td>{label}</td>\n<td>{words[verdict]}</td>" in cells


def test_summary_text_has_each_claim_and_the_caveat_once():
    a = analyse()
    head, words = headline_markdown(a), verdicts_markdown(a)
    assert head.count("\n| ") == len(a.claims.claims) + 1  # header + one row per claim
    assert words.count("\n- ") == len(a.claims.claims) - 1
    assert "no control group" not in words  # the caveat is stated once, on its own


@pytest.mark.slow
def test_full_report_on_the_sample(tmp_path):
    res = build_report(out_dir=tmp_path / "reports", progress=False)
    html = res.report_html.read_text()
    assert _EXTERNAL.search(html) is None
    doc = json.loads(res.results_json.read_text())
    assert doc["data"]["episodes"] == 400
    assert [c["verdict"] for c in doc["claims"]] == list(res.analysis.claims.claims["verdict"])
