"""The API reference builds with warnings as errors (``make docs``), so a broken docstring fails ``make test``.

``docs/api/conf.py`` is nitpicky: every cross-reference must resolve; only third-party names (which
would need intersphinx, i.e. the network) are excused, never an ``outcomes`` name.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "docs" / "api"
#: ``make docs``'s options (plus -q, and -E so that every build reads every page).
SPHINX_BUILD = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-E", "-b", "html"]


def sphinx(src: Path, out: Path, *, confdir: Path = CONF) -> subprocess.CompletedProcess[str]:
    """``make docs``'s command: warnings are errors, nitpicky, offline."""
    return subprocess.run(
        [*SPHINX_BUILD, "-c", str(confdir), "-d", str(out / ".doctrees"), str(src), str(out)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=600,
    )


@pytest.mark.slow
def test_api_reference_builds_without_a_warning(tmp_path: Path) -> None:
    done = sphinx(CONF, tmp_path / "html")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    html = tmp_path / "html"
    pages = {p.stem for p in html.glob("*.html")}
    layers = {"spec", "ingest", "episodes", "stats", "claims", "disclosure", "descriptive", "analysis"}
    assert layers | {"report", "safety", "errors", "cli", "index"} <= pages
    # the markdown docs the index links to sit beside it
    assert (html / "architecture.md").is_file()
    assert 'href="architecture.md"' in (html / "index.html").read_text(encoding="utf-8")
    # the reference documents the code, not just the page titles
    assert 'id="outcomes.ingest.load.load_visits"' in (html / "ingest.html").read_text(encoding="utf-8")


#: Modules whose docstrings only name what they document themselves: a page of them alone builds clean.
PROBE = ".. automodule:: outcomes.errors\n\n.. automodule:: outcomes.stats.survival\n\n"


def probe(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    """Build one page: the probe modules, then ``body``."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "index.rst").write_text(f"Probe\n=====\n\n{PROBE}{body}\n", encoding="utf-8")
    return sphinx(src, tmp_path / "html")


@pytest.mark.parametrize(
    ("body", "reported"),
    [
        # an outcomes name that does not exist is not excused like a third-party one
        (":func:`outcomes.stats.survival.no_such_function`", "outcomes.stats.survival.no_such_function"),
        (":func:`outcomes.stats.no_such_function`", "outcomes.stats.no_such_function"),
        # a private name is not documented
        (":func:`outcomes.errors._private_helper`", "outcomes.errors._private_helper"),
        # an attribute that its class does not have
        (":attr:`outcomes.errors.Problem.no_such_field`", "outcomes.errors.Problem.no_such_field"),
        # malformed reST
        ("Bad indentation:\n\n   - item\n  - item", "unexpected unindent"),
    ],
)
def test_a_broken_docstring_fails_the_build(tmp_path: Path, body: str, reported: str) -> None:
    done = probe(tmp_path, body)
    assert done.returncode != 0
    assert reported in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr  # only that one warning: the probe itself is clean


def test_references_resolve_as_python_names_them(tmp_path: Path) -> None:
    """Re-exports and a module's imports resolve; third-party names are excused; nothing else is."""
    body = "\n\n".join(
        [
            ":func:`outcomes.stats.km_at` (a package re-export)",
            ".. py:currentmodule:: outcomes.ingest.phi",
            ":class:`OutcomesError` (imported by the current module)",
            ":attr:`outcomes.errors.Problem.rows` (a field, in its class's Attributes section)",
            ":class:`pandas.DataFrame` (third party: excused, as intersphinx would need the network)",
        ]
    )
    done = probe(tmp_path, body)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
    assert 'href="#outcomes.stats.survival.km_at"' in page
    assert 'href="#outcomes.errors.OutcomesError"' in page
    assert 'href="#outcomes.errors.Problem"' in page
