"""``outcomes report``: validation first, one analysis, atomic output, self-contained HTML, results.json."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import nbformat
import pytest

import outcomes.analysis
import outcomes.report.html
from outcomes.cli import main
from outcomes.errors import OutcomesError
from outcomes.ingest.synth import SynthParams, simulate_visits, write_visits
from outcomes.report.html import NOTEBOOKS, ReportError, build_report, notebooks_dir, verdict_table
from outcomes.report.results import analysis_document
from outcomes.spec.plan import Plan

# Anything a browser would fetch: src/href to a URL, CSS url(...) / @import, protocol-relative links.
_EXTERNAL = re.compile(
    r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""", re.IGNORECASE
)
PLAN = Plan(n_boot=200)


def _bad_csv(tmp_path: Path) -> Path:
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,visit_day,measure,value\nP001,0,pain_nprs,6\nP001,7,pain_nprs,11\n")
    return bad


def _visits_csv(path: Path, n: int = 120, seed: int = 3) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_visits(simulate_visits(SynthParams(n_episodes=n), seed=seed).visits, path)
    return path


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


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One report of a 120-episode clinic, with every read of the input and run of a notebook counted."""
    tmp = tmp_path_factory.mktemp("report")
    data = _visits_csv(tmp / "in" / "visits.csv")
    calls = {"load_visits": 0, "analyse": 0, "notebooks": 0}
    mp = pytest.MonkeyPatch()
    real_load, real_analyse = outcomes.analysis.load_visits, outcomes.report.html.analyse

    def load(*args, **kwargs):
        calls["load_visits"] += 1
        return real_load(*args, **kwargs)

    def analyse(*args, **kwargs):
        calls["analyse"] += 1
        return real_analyse(*args, **kwargs)

    def notebook(*args, **kwargs):
        calls["notebooks"] += 1
        raise AssertionError("no notebook runs without research=True")

    mp.setattr(outcomes.analysis, "load_visits", load)
    mp.setattr(outcomes.report.html, "analyse", analyse)
    mp.setattr(outcomes.report.html, "_run_notebook", notebook)
    try:
        res = build_report(data, PLAN, tmp / "out", progress=False)
    finally:
        mp.undo()
    return res, data, calls


def test_one_read_one_analysis_no_notebooks(built):
    res, _, calls = built
    assert calls == {"load_visits": 1, "analyse": 1, "notebooks": 0}
    assert sorted(p.name for p in res.out_dir.iterdir()) == [".outcomes-output.json", "report.html", "results.json"]
    assert res.notebooks == () and res.unsuppressed_json is None


def test_html_and_json_carry_the_same_input_hash(built):
    res, data, _ = built
    doc = json.loads(res.results_json.read_text())
    html = res.report_html.read_text()
    assert doc["data"]["sha256"] == res.analysis.loaded.sha256 and doc["data"]["sha256"] in html
    assert doc["plan"]["sha256"] in html and doc["data"]["source"] == "visits.csv"
    assert str(data.parent) not in html  # the file name only, never its directory
    assert doc == analysis_document(res.analysis) and doc["small_cells"] == "suppressed"


def test_input_replaced_during_the_run_cannot_split_the_answer(tmp_path, monkeypatch):
    data = _visits_csv(tmp_path / "visits.csv", n=60)
    real = outcomes.report.html.render_report

    def render_then_replace(analysis):
        html = real(analysis)
        _visits_csv(data, n=45, seed=9)  # another clinic's file appears mid-run
        return html

    monkeypatch.setattr(outcomes.report.html, "render_report", render_then_replace)
    res = build_report(data, PLAN, tmp_path / "out", progress=False)
    doc = json.loads(res.results_json.read_text())
    html = res.report_html.read_text()
    assert doc["data"]["episodes"] == 60 and doc["data"]["sha256"] in html
    assert "60 episodes of care" in html
    new = outcomes.analysis.load_visits(data)
    assert new.n_episodes == 45 and new.sha256 != doc["data"]["sha256"]


def test_report_is_self_contained_and_has_every_verdict(built):
    res, _, _ = built
    html = res.report_html.read_text()
    assert _EXTERNAL.search(html) is None, _EXTERNAL.search(html)
    assert "<script" not in html and "mathjax" not in html.lower()
    assert html.count('<img src="data:image/png;base64,') == 4
    alts = re.findall(r'<img [^>]*alt="([^"]*)"', html)
    assert len(alts) == 4 and all(len(a) > 60 for a in alts)
    for row in verdict_table(res.analysis).itertuples():
        assert (
            f'<tr><td>{row.measure}</td><td>{row.verdict}</td><td class="num">{row.improved}</td>'
            f'<td>{row.interval}</td><td class="num">{row.episodes.replace("<", "&lt;")}</td></tr>'
        ) in html
    assert html.count("no control group") == 1  # the caveat, once


def test_same_data_and_plan_give_the_same_bytes(built, tmp_path):
    res, data, _ = built
    again = build_report(data, PLAN, tmp_path / "again", progress=False)
    assert again.report_html.read_bytes() == res.report_html.read_bytes()
    assert again.results_json.read_bytes() == res.results_json.read_bytes()


def test_progress_prints_the_suppressed_summary(tmp_path, capsys):
    data = _visits_csv(tmp_path / "v.csv", n=60)
    build_report(data, PLAN, tmp_path / "out")
    out = capsys.readouterr().out
    assert "pain_nprs" in out and "wrote" in out and "research" not in out


def test_missing_notebooks_is_a_clear_error(tmp_path):
    with pytest.raises(OutcomesError, match="notebooks not found"):
        notebooks_dir(tmp_path)


def _tiny_notebooks(folder: Path, fail: str | None = None) -> Path:
    """Stand-ins for the real notebooks (fast): each loads the analysis it is given and prints its hash."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in NOTEBOOKS:
        cells = [
            nbformat.v4.new_code_cell(
                'DATA = "x.csv"\nPLAN = "p.yaml"\nANALYSIS = None', metadata={"tags": ["parameters"]}
            ),
            nbformat.v4.new_code_cell(
                "from outcomes.analysis import load_analysis\nprint(load_analysis(ANALYSIS).loaded.sha256, ANALYSIS)"
            ),
        ]
        if name == fail:
            cells.append(nbformat.v4.new_code_cell("raise ValueError('boom')"))
        nbformat.write(
            nbformat.v4.new_notebook(
                cells=cells,
                metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            ),
            folder / f"{name}.ipynb",
        )
    return folder


@pytest.mark.slow  # twelve kernel start-ups
def test_research_notebooks_get_the_same_analysis_and_a_failure_keeps_the_old_report(tmp_path, capsys, caplog):
    caplog.set_level(logging.INFO, logger="outcomes")  # the notebook steps are logged at INFO
    data = _visits_csv(tmp_path / "in" / "visits.csv", n=60)
    out = tmp_path / "reports"
    res = build_report(data, PLAN, out, research=True, notebooks=_tiny_notebooks(tmp_path / "ok"))
    assert sorted(p.name for p in out.iterdir()) == [".outcomes-output.json", "report.html", "research", "results.json"]
    assert sorted(p.name for p in (out / "research").iterdir()) == ["notebooks", "results.unsuppressed.json"]
    assert sorted(p.name for p in (out / "research" / "notebooks").iterdir()) == sorted(f"{n}.ipynb" for n in NOTEBOOKS)
    executed = nbformat.read(out / "research" / "notebooks" / "clinic_summary.ipynb", as_version=4)
    sha, pickled = executed.cells[-1].outputs[0]["text"].split()
    assert sha == res.analysis.loaded.sha256  # the notebooks received this run's analysis
    assert not Path(pickled).exists() and not Path(pickled).parent.exists()  # the private copy is gone
    research = json.loads(res.unsuppressed_json.read_text())
    assert research["small_cells"] == "unsuppressed" and "must not leave" in research["warning"]
    assert research["data"]["sha256"] == json.loads(res.results_json.read_text())["data"]["sha256"]
    captured = capsys.readouterr()
    assert f"[{len(NOTEBOOKS)}/{len(NOTEBOOKS)}]" in caplog.text and "research team only" in captured.out
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    with pytest.raises(ReportError, match=r"03_range_of_motion\.ipynb failed.*ValueError: boom"):
        build_report(
            data,
            PLAN,
            out,
            research=True,
            progress=False,
            notebooks=_tiny_notebooks(tmp_path / "bad", fail="03_range_of_motion"),
        )
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad", "in", "ok", "reports"]  # no leftover temp dir


@pytest.mark.slow
def test_full_report_on_the_sample(tmp_path):
    res = build_report(out_dir=tmp_path / "reports", progress=False)
    html = res.report_html.read_text()
    assert _EXTERNAL.search(html) is None
    doc = json.loads(res.results_json.read_text())
    assert doc["data"]["episodes"] == 400
    assert [c["verdict"] for c in doc["claims"]] == list(res.analysis.disclosed_claims.claims["verdict"])
