"""``outcomes report``: from a visits file to a self-contained HTML report, written atomically.

Steps of :func:`build_report`:

1. validate the data and the plan and evaluate the claims (:func:`outcomes.analysis.analyse`)
   *before anything is written*, so a missing or bad file fails with an
   :class:`~outcomes.errors.OutcomesError` and leaves no output directory;
2. run every notebook of :data:`NOTEBOOKS` with papermill (kernel ``python3`` of the
   current environment) with the parameters ``DATA`` and ``PLAN`` set to absolute paths;
3. convert ``clinic_summary`` to HTML with nbconvert: code hidden, figures embedded as
   ``data:`` URIs, and no script or style loaded from the network (no MathJax, require.js
   or Mermaid from a CDN), so the file opens offline and can be e-mailed;
4. write ``results.json`` (:func:`outcomes.results.write_results`);
5. swap the finished directory into place (:func:`outcomes.atomic.atomic_directory`): a
   failed run leaves any previous report untouched and no half-written directory.

The notebooks are read from the repository's ``notebooks/`` directory (found next to
``src/``, as :data:`outcomes.analysis.SAMPLE_DATA` is), which works from a clone and from
an editable install; pass ``notebooks_dir=`` (or set ``OUTCOMES_NOTEBOOKS``) otherwise.
See ``docs/report.md``.

Examples
--------
>>> from outcomes.analysis import analyse
>>> print(headline_markdown(analyse()).splitlines()[0])  # doctest: +ELLIPSIS
**Bottom line.** Pain (NPRS 0-10): an estimated 46% of episodes ...
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .analysis import SAMPLE_DATA, Analysis, analyse, summary_lines
from .atomic import atomic_directory
from .claims import CAVEAT
from .errors import OutcomesError, Problem
from .plan import DEFAULT_PLAN_PATH
from .results import write_results

__all__ = ["NOTEBOOKS", "REPO_NOTEBOOKS", "WORKERS", "ReportResult", "ReportError", "build_report", "notebooks_dir", "render_html",
           "headline_markdown", "other_claims_markdown", "verdicts_markdown", "about_markdown"]

#: Notebooks run for a report, in reading order (``clinic_summary`` becomes ``report.html``).
NOTEBOOKS: tuple[str, ...] = ("01_data_quality", "02_pain_within_a_few_visits", "03_range_of_motion",
                              "04_conditions", "05_other_claims", "clinic_summary")
_SUMMARY = "clinic_summary"
#: Extra kernel arguments: the kernel's own log lines (e.g. "running over TCP without
#: encryption" on a local loopback kernel) would interleave with the progress lines.
KERNEL_ARGS: tuple[str, ...] = ("--IPKernelApp.log_level=CRITICAL",)
#: Notebooks executed at the same time (each in its own kernel process).
WORKERS = max(1, min(2, os.cpu_count() or 1))
#: The repository's ``notebooks/`` directory (next to ``src/``; see the module notes).
REPO_NOTEBOOKS = SAMPLE_DATA.parents[2] / "notebooks"

_VERDICT_WORDS = {"supported": "supported", "not_supported": "not supported", "inconclusive": "inconclusive"}

# The lab template without anything fetched from the network: require.js, MathJax and Mermaid
# come from a CDN in nbconvert's templates; the summary needs none of them.  Plus a little CSS
# for a readable, printable page.
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block extra_css %}
<style type="text/css">
  main { max-width: 60rem; margin: 0 auto; padding: 1rem 2rem 3rem; }
  body { font-size: 15px; }
  .jp-RenderedMarkdown p, .jp-RenderedMarkdown li { line-height: 1.5; }
  .jp-RenderedMarkdown table { margin: 0.5rem 0 1rem; }
  .jp-OutputArea-output img { max-width: 100%; height: auto; }
  .jp-Cell { padding: 0.2rem 0; }
  footer.outcomes { color: #555; font-size: 12px; margin-top: 2rem; }
</style>
{% endblock extra_css %}
"""


class ReportError(RuntimeError):
    """A notebook failed while building a report (a bug, or data the notebooks cannot handle)."""


@dataclass(frozen=True)
class ReportResult:
    """What :func:`build_report` wrote.

    Attributes
    ----------
    out_dir : Path
        The report directory.
    report_html, results_json : Path
        ``out_dir / "report.html"`` and ``out_dir / "results.json"``.
    notebooks : tuple of Path
        The executed notebooks (``out_dir / "notebooks" / "<name>.ipynb"``).
    analysis : Analysis
        The analysis the report shows.
    seconds : float
        Wall-clock time of the whole run.
    """

    out_dir: Path
    report_html: Path
    results_json: Path
    notebooks: tuple[Path, ...]
    analysis: Analysis
    seconds: float


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _counts(verdicts: list[str]) -> str:
    parts = [f"{verdicts.count(v)} {w}" for v, w in _VERDICT_WORDS.items() if verdicts.count(v)]
    return ", ".join(parts)


def headline_markdown(analysis: Analysis) -> str:
    """The clinic summary's opening: the primary verdict in words and a table of every verdict.

    Parameters
    ----------
    analysis : Analysis
        Output of :func:`outcomes.analysis.analyse`.

    Returns
    -------
    str
        Markdown (rendered by the ``clinic_summary`` notebook).

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> text = headline_markdown(analyse())
    >>> "| Pain (NPRS 0-10) | inconclusive |" in text
    True
    """
    plan, claims = analysis.plan, analysis.claims.claims
    k, level = plan.k, _pct(plan.conf_level)
    primary = claims.iloc[0]
    secondary = claims.iloc[1:]
    lines = [f"**Bottom line.** {primary['sentence'].removesuffix(' ' + CAVEAT)}", ""]
    if len(secondary):
        lines += [f"**Range of motion.** Of {len(secondary)} range-of-motion measures: "
                  f"{_counts(list(secondary['verdict']))} (adjusted for testing several measures).", ""]
    lines += [
        f"A claim is *supported* when the whole {level} interval lies above {_pct(plan.p0)}, *not supported* "
        f"when it lies below, and *inconclusive* when it includes {_pct(plan.p0)}.",
        "",
        f"| Measure | Verdict | Improved by visit {k} | {level} CI | Episodes (n) |",
        "|:--|:--|--:|:--|--:|",
    ]
    for r in claims.itertuples():
        lines.append(f"| {r.label} | {_VERDICT_WORDS[r.verdict]} | {_pct(r.estimate)} | "
                     f"{_pct(r.ci_low)} to {_pct(r.ci_high)} | {r.n} |")
    return "\n".join(lines)


def verdicts_markdown(analysis: Analysis) -> str:
    """Every claim's verdict sentence (without the repeated caveat), one bullet each.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> verdicts_markdown(analyse()).startswith("- Pain (NPRS 0-10): an estimated")
    True
    """
    return "\n".join(f"- {s.removesuffix(' ' + CAVEAT)}" for s in analysis.claims.claims["sentence"])


def other_claims_markdown(analysis: Analysis) -> str:
    """The clinic's other claims (strength, twitch, soreness, combined therapy, early effect), one bullet each.

    Each line is the claim's verdict sentence, generated from its numbers (or why it could
    not be tested); the no-control-group caveat is stated once elsewhere on the page.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> text = other_claims_markdown(analyse())
    >>> text.count("\\n- ") + 1 == len(analyse().other_claims.claims)
    True
    """
    claims = analysis.other_claims.claims
    return "\n".join(f"- **{v.replace('_', ' ')}**: {s.removesuffix(' ' + CAVEAT)}"
                      for v, s in zip(claims["verdict"], claims["sentence"]))


def about_markdown(analysis: Analysis) -> str:
    """The caveat and where the numbers come from (data and plan fingerprints, version).

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> print(about_markdown(analyse()).splitlines()[0])  # doctest: +ELLIPSIS
    **Caveat.** These records have no control group...
    """
    loaded, plan = analysis.loaded, analysis.plan
    return "\n".join([
        f"**Caveat.** {CAVEAT}",
        "",
        f"**Records**: {loaded.n_episodes} episodes of care of {loaded.n_patients} patients, file "
        f"`{Path(loaded.source).name}` (SHA-256 `{loaded.sha256[:12]}`). **Plan**: `{plan.name}` "
        f"(SHA-256 `{plan.sha256[:12]}`), fixed before the data were analysed. Produced by outcomes "
        f"{__version__}; `results.json` next to this page holds every number.",
    ])


def notebooks_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Directory holding the report's notebooks.

    Order of precedence: ``path``, the ``OUTCOMES_NOTEBOOKS`` environment variable, the
    repository's ``notebooks/`` (next to ``src/``).

    Raises
    ------
    OutcomesError
        If a notebook of :data:`NOTEBOOKS` is missing there.

    Examples
    --------
    >>> notebooks_dir().name
    'notebooks'
    """
    chosen = path or os.environ.get("OUTCOMES_NOTEBOOKS") or REPO_NOTEBOOKS
    folder = Path(chosen).resolve()
    missing = [n for n in NOTEBOOKS if not (folder / f"{n}.ipynb").is_file()]
    if missing:
        raise OutcomesError(Problem(
            "notebooks_present",
            f"notebooks not found ({', '.join(missing)}.ipynb); run outcomes from a clone of the repository "
            "(pip install -e .) or set OUTCOMES_NOTEBOOKS to the notebooks/ directory", str(folder)))
    return folder


def render_html(notebook: str | os.PathLike[str], title: str = "Clinic outcomes summary") -> str:
    """A notebook as self-contained HTML: inputs and prompts hidden, no network resources.

    Examples
    --------
    >>> html = render_html(notebooks_dir() / "clinic_summary.ipynb")
    >>> "<script src=" in html, "data:image/png;base64," in html
    (False, True)
    """
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = nbformat.read(os.fspath(notebook), as_version=4)
    exporter = HTMLExporter(template_name="lab", extra_loaders=[DictLoader({"outcomes.html.j2": _TEMPLATE})],
                            template_file="outcomes.html.j2", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True, anchor_link_text="")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


def _run_notebook(src: Path, dst: Path, parameters: dict[str, str]) -> None:
    import papermill as pm

    # No ``cwd=``: papermill implements it with a process-wide chdir, which races between the
    # notebooks run in threads and can leave the caller in the wrong directory. Parameters are
    # absolute paths, so the kernel's working directory does not matter.
    try:
        pm.execute_notebook(os.fspath(src), os.fspath(dst), parameters=parameters, kernel_name="python3",
                            progress_bar=False, log_output=False, request_save_on_cell_execute=False,
                            extra_arguments=list(KERNEL_ARGS))
    except pm.PapermillExecutionError as exc:
        raise ReportError(f"notebook {src.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue} "
                          "(nothing was written; run the notebook in JupyterLab to see the cell)") from None


def build_report(
    data: str | os.PathLike[str] | None = None,
    plan: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] = "reports",
    *,
    progress: bool = True,
    notebooks: str | os.PathLike[str] | None = None,
) -> ReportResult:
    """Run the notebooks on ``data`` and write ``report.html``, ``results.json`` and ``notebooks/``.

    Parameters
    ----------
    data : path, optional
        Visits file (default: the bundled sample).
    plan : path, optional
        Analysis plan (default: ``plans/default.yaml``).
    out_dir : path
        Report directory; replaced as a whole on success, untouched on failure.
    progress : bool
        Print one line per notebook (stderr) and the terminal summary (stdout).
    notebooks : path, optional
        Where the notebooks are (see :func:`notebooks_dir`).

    Returns
    -------
    ReportResult

    Raises
    ------
    OutcomesError
        Unusable data or plan (nothing is written).
    ReportError
        A notebook failed (nothing is written).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "r"
    >>> build_report("missing.csv", out_dir=out, progress=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    outcomes.errors.OutcomesError: missing.csv: [file_exists] no such file ...
    >>> out.exists()
    False
    """
    start = time.perf_counter()
    data_path = Path(SAMPLE_DATA if data is None else data)
    plan_path = Path(DEFAULT_PLAN_PATH if plan is None else plan)
    analysis = analyse(data_path, plan_path)  # validation first: a bad input writes nothing
    source = notebooks_dir(notebooks)
    params = {"DATA": os.fspath(data_path.resolve()), "PLAN": os.fspath(plan_path.resolve())}
    out = Path(out_dir)
    say = (lambda *a, **k: print(*a, **k, file=sys.stderr, flush=True)) if progress else (lambda *a, **k: None)
    done: list[str] = []

    def run(name: str) -> None:
        t0 = time.perf_counter()
        _run_notebook(source / f"{name}.ipynb", tmp / "notebooks" / f"{name}.ipynb", params)
        done.append(name)
        say(f"  [{len(done)}/{len(NOTEBOOKS)}] {name}.ipynb done ({time.perf_counter() - t0:.1f} s)")

    with atomic_directory(out) as tmp:
        (tmp / "notebooks").mkdir()
        say(f"running {len(NOTEBOOKS)} notebooks on {data_path.name} ({WORKERS} at a time) ...")
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            list(pool.map(run, NOTEBOOKS))  # re-raises the first failure; the with-block then discards tmp
        (tmp / "report.html").write_text(render_html(tmp / "notebooks" / f"{_SUMMARY}.ipynb"), encoding="utf-8")
        write_results(analysis.document, tmp / "results.json")
    result = ReportResult(out_dir=out, report_html=out / "report.html", results_json=out / "results.json",
                          notebooks=tuple(out / "notebooks" / f"{n}.ipynb" for n in NOTEBOOKS),
                          analysis=analysis, seconds=time.perf_counter() - start)
    if progress:
        print("\n".join(summary_lines(analysis, other_claims=True)))
        print(f"wrote {result.report_html}, {result.results_json} and {len(NOTEBOOKS)} notebooks "
              f"in {result.seconds:.0f} s")
    return result
