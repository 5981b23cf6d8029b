"""``outcomes report``: one analysis, a self-contained ``report.html`` and ``results.json``, written atomically.

Steps of :func:`build_report`:

1. read, validate and analyse the data with the plan **once**
   (:func:`outcomes.analysis.analyse`) *before anything is written*, so a missing or bad
   file fails with an :class:`~outcomes.errors.OutcomesError` and leaves no output;
2. render ``report.html`` from that :class:`~outcomes.analysis.Analysis` with the Jinja2
   template ``templates/report.html.j2`` (autoescaping on: every text from the user, such
   as file, plan, measure and condition names, labels and units, is data and never
   markup); small cells suppressed (:attr:`~outcomes.analysis.Analysis.disclosed_claims`);
   inline CSS, figures embedded as ``data:image/png`` with an ``alt`` text, no script and
   nothing fetched from the network, so the file opens offline and can be e-mailed;
3. write ``results.json`` from the same analysis (:func:`~outcomes.report.results.analysis_document`,
   small cells suppressed): both carry the same input SHA-256;
4. with ``research=True`` only: ``research/results.unsuppressed.json``
   (:func:`~outcomes.report.results.analysis_document` with ``suppressed=False``) and the executed notebooks in
   ``research/notebooks/``; the notebooks receive the same analysis (pickled into a private
   temporary directory, parameter ``ANALYSIS``), they never re-read the input;
5. swap the finished directory into place (:func:`outcomes.safety.outputs.atomic_directory`): a
   failed run leaves any previous report untouched and no half-written directory.

The notebooks are those the package ships (:func:`outcomes.resources.research_notebooks`:
package data in an installed wheel, the repository's ``notebooks/`` in a checkout or an
editable install); pass ``notebooks=`` (or set ``OUTCOMES_NOTEBOOKS``) for others.  See
``docs/report.md``.

Examples
--------
>>> from outcomes.analysis import analyse
>>> html = render_report(analyse())
>>> html.startswith("<!DOCTYPE html>"), "<script" in html, html.count("data:image/png;base64,")
(True, False, 4)
"""

from __future__ import annotations

import base64
import io
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import matplotlib
import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined
from matplotlib.figure import Figure
from tqdm import tqdm  # type: ignore[import-untyped]  # no py.typed, no stubs installed

from outcomes.analysis import SAMPLE_DATA, Analysis, analyse, save_analysis, summary_lines
from outcomes.descriptive.subgroups import condition_estimates
from outcomes.descriptive.trajectories import trajectories
from outcomes.disclosure import SUPPRESSED, count_text
from outcomes.errors import OutcomesError, Problem, printable
from outcomes.report import figures as plots
from outcomes.report.results import analysis_document, dumps
from outcomes.report.sentences import CAVEAT, claim_sentences, other_claim_sentences
from outcomes.resources import research_notebooks
from outcomes.safety.outputs import atomic_directory, check_output_directory
from outcomes.spec.plan import DEFAULT_PLAN_PATH, Plan
from outcomes.version import __version__

__all__ = [
    "KERNEL_ARGS",
    "NOTEBOOKS",
    "REPO_NOTEBOOKS",
    "WORKERS",
    "ReportError",
    "ReportFigure",
    "ReportResult",
    "about_lines",
    "bottom_line",
    "build_report",
    "figure_png",
    "notebooks_dir",
    "other_claims_lines",
    "progress_bar",
    "render_report",
    "report_context",
    "report_figures",
    "verdict_sentences",
    "verdict_table",
]

#: Notebooks run for ``report --research``, in reading order.
NOTEBOOKS: tuple[str, ...] = (
    "01_data_quality",
    "02_pain_within_a_few_visits",
    "03_range_of_motion",
    "04_conditions",
    "05_other_claims",
    "clinic_summary",
)
#: Extra kernel arguments: the kernel's own log lines (e.g. "running over TCP without
#: encryption" on a local loopback kernel) would interleave with the progress lines.
KERNEL_ARGS: tuple[str, ...] = ("--IPKernelApp.log_level=CRITICAL",)
#: Notebooks executed at the same time (each in its own kernel process).
WORKERS = max(1, min(2, os.cpu_count() or 1))
#: The notebooks the package ships (:func:`outcomes.resources.research_notebooks`; see the module notes).
REPO_NOTEBOOKS = research_notebooks()
#: The template of ``report.html`` (package data ``outcomes/report/templates``).
TEMPLATE = "report.html.j2"
#: Progress (INFO) and what the user should know (WARNING); handlers are the application's (``outcomes.cli``).
logger = logging.getLogger(__name__)

_VERDICT_WORDS = {
    "supported": "supported",
    "not_supported": "not supported",
    "inconclusive": "inconclusive",
    SUPPRESSED: "suppressed",
    "not_testable": "not testable",
}
# Labels come from the plan: drawn as plain text, never parsed as mathtext ("$...$") or LaTeX,
# so a label can neither change what a figure says nor make drawing it fail.
_PLAIN_TEXT = {"text.parse_math": False, "text.usetex": False}
# PNG metadata: no "Software" (matplotlib version) entry, so the bytes depend only on the pixels.
_PNG_METADATA = {"Software": None}


class ReportError(RuntimeError):
    """A notebook failed while building a research report (a bug, or data the notebooks cannot handle)."""


@dataclass(frozen=True)
class ReportResult:
    """What :func:`build_report` wrote.

    Attributes
    ----------
    out_dir : Path
        The report directory.
    report_html, results_json : Path
        ``out_dir / "report.html"`` and ``out_dir / "results.json"`` (small cells suppressed).
    notebooks : tuple of Path
        The executed notebooks (``out_dir / "research" / "notebooks" / "<name>.ipynb"``);
        empty unless ``research=True``.
    unsuppressed_json : Path or None
        ``out_dir / "research" / "results.unsuppressed.json"`` with ``research=True``.
    analysis : Analysis
        The one analysis every file shows.
    seconds : float
        Wall-clock time of the whole run.
    """

    out_dir: Path
    report_html: Path
    results_json: Path
    notebooks: tuple[Path, ...]
    unsuppressed_json: Path | None
    analysis: Analysis
    seconds: float


@dataclass(frozen=True)
class ReportFigure:
    """One figure of the report.

    Attributes
    ----------
    name : str
        ``claims``, ``curve``, ``trajectories`` or ``conditions``.
    title, text : str
        Section heading and the paragraph above the figure.
    alt : str
        What the figure shows, in words (the ``alt`` text of its ``<img>``).
    figure : Figure or None
        None when there is nothing to draw (every row suppressed); ``note`` says why.
    note : str
        Shown instead of a missing figure.
    """

    name: str
    title: str
    text: str
    alt: str
    figure: Figure | None
    note: str = ""


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _words(verdict: Any) -> str:
    return _VERDICT_WORDS.get(str(verdict), str(verdict).replace("_", " "))


def _without_caveat(sentence: str) -> str:
    return sentence.removesuffix(" " + CAVEAT)


def _shown_claim_sentences(analysis: Analysis) -> pd.Series:
    return claim_sentences(analysis.claims, shown=analysis.disclosed_claims.claims)


def verdict_table(analysis: Analysis) -> pd.DataFrame:
    """Every primary and secondary claim as the report's table shows it (small cells suppressed).

    Returns
    -------
    DataFrame
        Display text: ``measure`` (label), ``verdict``, ``improved`` (estimated share
        improved by visit k), ``interval`` (its CI), ``episodes`` (n, ``<11`` when small).
        A suppressed claim shows ``suppressed`` and no numbers.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> verdict_table(analyse()).iloc[0].tolist()
    ['Pain (NPRS 0-10)', 'not supported', '38%', '34% to 42%', '392']
    """
    claims = analysis.disclosed_claims.claims
    shown = claims["estimate"].notna().to_numpy()
    improved = [_pct(e) if ok else "" for e, ok in zip(claims["estimate"], shown)]
    interval = [
        f"{_pct(lo)} to {_pct(hi)}" if ok and np.isfinite(lo) and np.isfinite(hi) else ""
        for lo, hi, ok in zip(claims["ci_low"], claims["ci_high"], shown)
    ]
    return pd.DataFrame(
        {
            "measure": claims["label"].astype("str").to_numpy(),
            "verdict": [_words(v) for v in claims["verdict"]],
            "improved": improved,
            "interval": interval,
            "episodes": claims["n_text"].to_numpy(),
        }
    )


def _verdict_counts(verdicts: pd.Series) -> str:
    counts = verdicts.value_counts()
    return ", ".join(f"{int(counts[v])} {w}" for v, w in _VERDICT_WORDS.items() if v in counts.index)


def bottom_line(analysis: Analysis) -> list[str]:
    """The report's opening: the primary verdict in words, then the range-of-motion verdicts counted.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> print(bottom_line(analyse())[0])  # doctest: +ELLIPSIS
    Pain (NPRS 0-10): an estimated 38% of episodes ...
    """
    claims = analysis.disclosed_claims.claims
    lines = [_without_caveat(str(_shown_claim_sentences(analysis).iloc[0]))]
    secondary = claims.iloc[1:]
    if len(secondary):
        lines.append(
            f"Of {len(secondary)} range-of-motion measures: {_verdict_counts(secondary['verdict'])} "
            "(adjusted for testing several measures)."
        )
    return lines


def verdict_sentences(analysis: Analysis) -> list[str]:
    """Every claim's verdict in words (the no-control-group caveat is stated once, in "about").

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> a = analyse()
    >>> len(verdict_sentences(a)) == len(a.claims.claims), any(CAVEAT in s for s in verdict_sentences(a))
    (True, False)
    """
    return [_without_caveat(str(s)) for s in _shown_claim_sentences(analysis)]


def other_claims_lines(analysis: Analysis) -> list[tuple[str, str]]:
    """The clinic's other claims: ``(verdict in words, sentence)`` each, small cells suppressed.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> a = analyse()
    >>> [v for v, _ in other_claims_lines(a)][:2]
    ['not supported', 'not supported']
    """
    shown = analysis.disclosed_other_claims.results
    sentences = other_claim_sentences(analysis.other_claims, shown=shown)[shown["primary"].to_numpy()]
    return [(_words(v), _without_caveat(str(s))) for v, s in zip(shown.loc[shown["primary"], "verdict"], sentences)]


def about_lines(analysis: Analysis) -> dict[str, str]:
    """Where the numbers come from: records, file name (no directories), fingerprints, plan, version.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> about = about_lines(analyse())
    >>> about["file"], about["episodes"], len(about["data_sha256"])
    ('visits.csv', '400', 64)
    """
    loaded, plan = analysis.loaded, analysis.plan
    mc = plan.min_cell_size
    return {
        "caveat": CAVEAT,
        "episodes": count_text(loaded.n_episodes, mc),
        "patients": count_text(loaded.n_patients, mc),
        "file": Path(loaded.source).name,
        "data_sha256": loaded.sha256,
        "plan_name": plan.name,
        "plan_description": plan.description,
        "plan_sha256": plan.sha256,
        "version": __version__,
        "min_cell_size": str(mc),
    }


@contextmanager
def _plain_text() -> Iterator[None]:
    with matplotlib.rc_context(cast(Any, _PLAIN_TEXT)):
        yield


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes, identical for identical figures (no software or time stamp).

    Examples
    --------
    >>> from outcomes.report import figures as plots
    >>> from outcomes.analysis import analyse
    >>> fig = plots.claims_forest(analyse().disclosed_claims.claims)
    >>> png = figure_png(fig)
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n", png == figure_png(fig)
    (True, True)
    """
    buf = io.BytesIO()
    with _plain_text():
        fig.savefig(buf, format="png", metadata=_PNG_METADATA)
    return buf.getvalue()


def _interval_words(est: float, lo: float, hi: float) -> str:
    return f"{_pct(est)} ({_pct(lo)} to {_pct(hi)})" if np.isfinite(lo) and np.isfinite(hi) else _pct(est)


def report_figures(analysis: Analysis) -> list[ReportFigure]:
    """The report's figures, drawn from the disclosed (small-cell suppressed) results.

    Claims forest, improvement curve of the primary measure, its trajectories, and the
    per-condition forest; a figure with nothing to show (its claim suppressed) is
    ``None`` with a note.  Texts from the plan are drawn as plain text (no mathtext).

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> figs = report_figures(analyse())
    >>> [f.name for f in figs], all(f.figure is not None for f in figs)
    (['claims', 'curve', 'trajectories', 'conditions'], True)
    """

    plan, res = analysis.plan, analysis.disclosed_claims
    claims, primary = res.claims, res.claims.iloc[0]
    k, level, mc = plan.k, _pct(plan.conf_level), plan.min_cell_size
    note = f"Not shown: fewer than {mc} episodes were available."
    rows = "; ".join(
        f"{lab}: {_words(v)}" + (f", {_interval_words(e, lo, hi)}" if np.isfinite(e) else "")
        for lab, v, e, lo, hi in zip(
            claims["label"], claims["verdict"], claims["estimate"], claims["ci_low"], claims["ci_high"]
        )
    )
    shown = not bool(primary["suppressed"])
    label = str(primary["label"])
    with _plain_text():
        forest = plots.claims_forest(claims)
        curve = plots.improvement_curve(res.curves[res.curves["id"] == primary["id"]], primary) if shown else None
        traj = trajectories(analysis.visits, res, str(primary["measure"])) if shown else None
        spaghetti = plots.spaghetti(traj, plan.measure(str(primary["measure"]))) if traj is not None else None
        est = condition_estimates(res)
        conditions = plots.condition_forest(est, p0=plan.p0, k=k) if not est["suppressed"].all() else None
    n_cond, n_hidden = len(est) - 1, int(est["suppressed"].iloc[1:].sum())
    per_condition = "; ".join(
        f"{lab}: {_interval_words(e, lo, hi)}"
        for lab, e, lo, hi, sup in zip(est["label"], est["estimate"], est["ci_low"], est["ci_high"], est["suppressed"])
        if not sup
    )
    return [
        ReportFigure(
            "claims",
            "Every claim at a glance",
            "Each row is one measure: the share of episodes that improved by the visit the claim names, with its "
            "confidence interval. The claim needs the whole interval to the right of the dashed line.",
            f"Forest plot of the share of episodes improved by visit {k} for each measure, with its {level} "
            f"interval, against the {_pct(plan.p0)} the claim needs. {rows}.",
            forest,
        ),
        ReportFigure(
            "curve",
            f"How quickly {label} improves",
            "The share of episodes that had improved by each visit. The dotted line is the visit named in the "
            "claim, the dashed line the share the claim needs.",
            f"Step curve of the cumulative share of episodes whose {label} met the improvement rule, by visit, "
            f"with its {level} band; dotted line at visit {k}, dashed line at {_pct(plan.p0)}. By visit {k}: "
            + (
                _interval_words(primary["estimate"], primary["ci_low"], primary["ci_high"])
                + ", "
                + _words(primary["verdict"])
                if shown
                else "suppressed"
            )
            + ".",
            curve,
            "" if shown else note,
        ),
        ReportFigure(
            "trajectories",
            f"{label} over the visits",
            "Grey: a random sample of individual episodes. Blue: the average course with its confidence band.",
            f"Line chart of {label} by visit: thin grey lines for "
            f"{traj.n_shown if traj is not None else 0} randomly chosen episodes and the mixed-model mean "
            f"with its {level} band."
            if shown
            else "No chart: too few episodes.",
            spaghetti,
            "" if shown else note,
        ),
        ReportFigure(
            "conditions",
            "By condition",
            f"The same share for each condition treated. Conditions with fewer than {mc} episodes are not "
            "shown, to protect patients' privacy.",
            f"Forest plot of the share of episodes improved by visit {k} for all episodes and for each of "
            f"{n_cond} conditions, with unadjusted {level} intervals (descriptive); conditions suppressed "
            f"for too few episodes: {n_hidden}. {per_condition}.",
            conditions,
            "" if conditions is not None else note,
        ),
    ]


def report_context(analysis: Analysis) -> dict[str, Any]:
    """Everything the template shows, as plain data (text, lists, dicts); no markup anywhere.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> ctx = report_context(analyse())
    >>> sorted(ctx)
    ['about', 'bottom_line', 'figures', 'k', 'level', 'other_claims', 'p0', 'rule', 'table', 'title', 'verdicts']
    """
    plan = analysis.plan
    figures = [
        dict(
            name=f.name,
            title=f.title,
            text=f.text,
            alt=f.alt,
            note=f.note,
            png=base64.b64encode(figure_png(f.figure)).decode("ascii") if f.figure is not None else None,
        )
        for f in report_figures(analysis)
    ]
    return {
        "title": "Do our patients improve within a few visits?",
        "bottom_line": bottom_line(analysis),
        "k": plan.k,
        "level": _pct(plan.conf_level),
        "p0": _pct(plan.p0),
        "rule": (
            f"A claim is supported when the whole {_pct(plan.conf_level)} interval lies above "
            f"{_pct(plan.p0)} and the share stays above {_pct(plan.p0)} even if the patients who stopped "
            f"early improved at only {_pct(plan.dropout_ratio)} of the rate of comparable patients who "
            f"stayed; not supported when the interval lies below {_pct(plan.p0)}; inconclusive otherwise. "
            "The range-of-motion claims are tested as one family, so each needs stronger evidence (Holm "
            f"adjustment). A claim from fewer than {plan.min_cell_size} episodes is suppressed: "
            "no estimate or verdict is shown, to protect patients' privacy."
        ),
        "table": verdict_table(analysis).to_dict("records"),
        "figures": figures,
        "other_claims": [dict(verdict=v, sentence=s) for v, s in other_claims_lines(analysis)],
        "verdicts": verdict_sentences(analysis),
        "about": about_lines(analysis),
    }


def _environment() -> Any:
    # autoescape=True for every template: whatever the context holds is escaped on output.
    return Environment(
        loader=PackageLoader("outcomes.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render_report(analysis: Analysis) -> str:
    """``report.html`` for ``analysis``: the template filled with :func:`report_context`.

    Deterministic: the same data and plan give the same bytes.

    Examples
    --------
    >>> from outcomes.analysis import analyse
    >>> a = analyse()
    >>> render_report(a) == render_report(a)
    True
    """
    return str(_environment().get_template(TEMPLATE).render(**report_context(analysis)))


def notebooks_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Directory holding the research notebooks.

    Order of precedence: ``path``, the ``OUTCOMES_NOTEBOOKS`` environment variable, the
    notebooks the package ships (:data:`REPO_NOTEBOOKS`).

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
        raise OutcomesError(
            Problem(
                "notebooks_present",
                f"notebooks not found ({', '.join(missing)}.ipynb); run outcomes from a clone of the repository "
                "(pip install -e .) or set OUTCOMES_NOTEBOOKS to the notebooks/ directory",
                str(folder),
            )
        )
    return folder


def _step(bar: Any, say: Callable[[str], None], message: str) -> None:
    """Start a step: one log record, and the step's name beside the bar."""
    say(message)
    bar.set_postfix_str(message)


def progress_bar(total: int, desc: str, *, log: logging.Logger = logger, show: bool = True) -> Any:
    """A tqdm bar of ``total`` steps on stderr, drawn only where someone watches it.

    The bar is drawn when ``show`` is true, stderr is a terminal (``sys.stderr.isatty()``) and
    ``log`` passes INFO records (``outcomes --quiet``, or a program that configured no logging,
    gets no bar); otherwise it is disabled (``disable=True``: it writes nothing), so CI logs,
    pipes and notebooks stay clean. The bar is cleared when it closes (``leave=False``).

    Parameters
    ----------
    total : int
        Number of steps (``bar.update(1)`` after each).
    desc : str
        Label shown before the bar.
    log : logging.Logger
        The logger whose INFO records the bar accompanies.
    show : bool
        False: never draw (e.g. ``build_report(progress=False)``).

    Returns
    -------
    tqdm.tqdm
        Use it as a context manager.

    Examples
    --------
    >>> with progress_bar(2, "steps") as bar:  # stderr is not a terminal under the doctests
    ...     bar.update(2)
    >>> bar.disable, bar.n
    (True, 0)
    """
    stderr = sys.stderr
    drawn = show and stderr is not None and stderr.isatty() and log.isEnabledFor(logging.INFO)
    return tqdm(total=total, desc=desc, unit="step", file=stderr, leave=False, disable=not drawn)


def _run_notebook(src: Path, dst: Path, parameters: dict[str, str]) -> None:
    # Imported here, not at the top: papermill imports nbformat -> jsonschema -> rfc3987_syntax,
    # which builds a parser at import (seconds), and only ``--research`` runs notebooks; every other
    # command (``validate`` first) would pay for it at start-up (tests/test_architecture.py).
    import papermill as pm  # noqa: PLC0415

    # No ``cwd=``: papermill implements it with a process-wide chdir, which races between the
    # notebooks run in threads and can leave the caller in the wrong directory. Parameters are
    # absolute paths, so the kernel's working directory does not matter.
    try:
        pm.execute_notebook(
            os.fspath(src),
            os.fspath(dst),
            parameters=parameters,
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,
            extra_arguments=list(KERNEL_ARGS),
        )
    except pm.PapermillExecutionError as exc:
        raise ReportError(
            f"notebook {src.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue} "
            "(nothing was written; run the notebook in JupyterLab to see the cell)"
        ) from None


def _write_research(
    analysis: Analysis, folder: Path, source: Path, params: dict[str, str], say: Callable[[str], None], bar: Any
) -> None:
    """``research/``: the unsuppressed document and the notebooks, run on this very analysis (a ``bar`` step each)."""
    (folder / "notebooks").mkdir(parents=True)
    (folder / "results.unsuppressed.json").write_text(
        dumps(analysis_document(analysis, suppressed=False)), encoding="utf-8"
    )
    done: list[str] = []
    # The analysis reaches the kernels as a file in a private directory (0700), deleted when the
    # notebooks are done, before the report directory is published (see analysis.save_analysis).
    with tempfile.TemporaryDirectory(prefix="outcomes-analysis-") as private:
        given = {**params, "ANALYSIS": os.fspath(save_analysis(analysis, Path(private) / "analysis.pickle"))}

        def run(name: str) -> None:
            t0 = time.perf_counter()
            _run_notebook(source / f"{name}.ipynb", folder / "notebooks" / f"{name}.ipynb", given)
            done.append(name)
            bar.update(1)
            say(f"[{len(done)}/{len(NOTEBOOKS)}] {name}.ipynb done ({time.perf_counter() - t0:.1f} s)")

        _step(bar, say, f"running {len(NOTEBOOKS)} research notebooks ({WORKERS} at a time)")
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            list(pool.map(run, NOTEBOOKS))  # re-raises the first failure; the caller then discards everything


def build_report(
    data: str | os.PathLike[str] | None = None,
    plan: str | os.PathLike[str] | Plan | None = None,
    out_dir: str | os.PathLike[str] = "reports",
    *,
    progress: bool = True,
    research: bool = False,
    force: bool = False,
    notebooks: str | os.PathLike[str] | None = None,
) -> ReportResult:
    """Analyse ``data`` once and write ``report.html`` and ``results.json`` (and ``research/`` on request).

    Parameters
    ----------
    data : path, optional
        Visits file (default: the bundled sample).
    plan : path or Plan, optional
        Analysis plan (default: ``plans/default.yaml``).
    out_dir : path
        Report directory; replaced as a whole on success, untouched on failure.
    progress : bool
        True (the default): log each step at INFO (logger ``outcomes.report.html``: shown by the
        CLI on stderr, or by whatever logging the caller configured), draw a progress bar when
        stderr is a terminal and INFO records are enabled (:func:`progress_bar`), and print the
        terminal summary to stdout. False: no summary and no bar, and the steps are logged at
        DEBUG only. Warnings are logged either way; logging, not this flag, decides where they go.
    research : bool
        Also write ``research/results.unsuppressed.json`` (small cells included, with a
        warning) and the executed notebooks in ``research/notebooks/``; not for the clinic.
    force : bool
        Replace an earlier report directory even though files outcomes wrote in it changed since
        (:func:`outcomes.safety.outputs.check_output_directory`); a file outcomes did not write is never deleted.
    notebooks : path, optional
        Where the notebooks are (see :func:`notebooks_dir`); used with ``research=True``.

    Returns
    -------
    ReportResult

    Raises
    ------
    OutcomesError
        Unusable data or plan (nothing is written).
    ReportError
        A research notebook failed (nothing is written).

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
    >>> res = build_report(out_dir=out, progress=False)
    >>> sorted(p.name for p in out.iterdir()), res.notebooks
    (['.outcomes-output.json', 'report.html', 'results.json'], ())
    """
    start = time.perf_counter()
    data_path = Path(SAMPLE_DATA if data is None else data)
    plan_arg = plan if isinstance(plan, Plan) else Path(DEFAULT_PLAN_PATH if plan is None else plan)
    inputs = [data_path, None if isinstance(plan_arg, Plan) else plan_arg]
    check_output_directory(out_dir, inputs=inputs, force=force)  # before any work: a refused --out costs nothing
    say = logger.info if progress else logger.debug  # progress=False: the steps are DEBUG records only
    with progress_bar(3 + (len(NOTEBOOKS) if research else 0), "report", show=progress) as bar:
        _step(bar, say, f"analysing {data_path.name}")
        analysis = analyse(data_path, plan_arg)  # the one read and analysis; a bad input writes nothing
        bar.update(1)
        _step(bar, say, "drawing the figures")
        html = render_report(analysis)
        bar.update(1)
        source = notebooks_dir(notebooks) if research else None
        out = Path(out_dir)
        _step(bar, say, "writing the report")
        with atomic_directory(out, inputs=inputs, force=force) as tmp:  # checked again at the swap
            (tmp / "report.html").write_text(html, encoding="utf-8")
            (tmp / "results.json").write_text(dumps(analysis_document(analysis)), encoding="utf-8")
            if source is not None:
                # for the record only: the notebooks take the analysis itself (ANALYSIS), not these files
                params = {"DATA": os.fspath(data_path.resolve()), "PLAN": analysis.plan.source}
                _write_research(analysis, tmp / "research", source, params, say, bar)
        bar.update(1)
    research_dir = out / "research"
    result = ReportResult(
        out_dir=out,
        report_html=out / "report.html",
        results_json=out / "results.json",
        notebooks=tuple(research_dir / "notebooks" / f"{n}.ipynb" for n in NOTEBOOKS) if research else (),
        unsuppressed_json=research_dir / "results.unsuppressed.json" if research else None,
        analysis=analysis,
        seconds=time.perf_counter() - start,
    )
    if progress:
        print("\n".join(summary_lines(analysis, other_claims=True)))
        extra = f" and {printable(research_dir)} (unsuppressed: for the research team only)" if research else ""
        print(
            f"wrote {printable(result.report_html)}, {printable(result.results_json)}{extra} in {result.seconds:.0f} s"
        )
    return result
