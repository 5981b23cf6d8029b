"""Regenerate the committed notebooks: ``make notebooks`` = ``python tools/notebooks_build.py``.

The reviewable sources are the jupytext percent files ``notebooks/*.py``.  For each one
this module

1. reads it with jupytext (the paired ``.ipynb`` is rebuilt from the ``.py``: edit the
   ``.py``, or sync edits made in JupyterLab, which writes both files);
2. executes it with nbclient in ``notebooks/`` on the sample data (kernel ``python3`` of
   the current environment, no parameters: the defaults in the ``parameters`` cell);
3. strips what changes from run to run without changing a result (execution timings,
   kernel/session ids, random cell ids replaced by ids derived from the cell source);
4. writes ``notebooks/<name>.ipynb`` atomically.

One log line a notebook on stderr (``notebooks_build: ...``), and a progress bar when stderr is
a terminal (:func:`outcomes.report.html.progress_bar`).

Strict nbval (``make test``) then re-executes the committed notebooks and compares every
output with the committed one (see ``notebooks/sanitize.cfg`` and ``docs/report.md``).

Examples
--------
>>> cell_id("print(1)", set())
'c-f36c2897'
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jupytext
import nbformat
from nbclient import NotebookClient
from tqdm.contrib.logging import logging_redirect_tqdm  # type: ignore[import-untyped]  # no py.typed, no stubs

from outcomes.report.html import KERNEL_ARGS, NOTEBOOKS, REPO_NOTEBOOKS, WORKERS, progress_bar
from outcomes.safety.outputs import atomic_write_text

__all__ = ["build_notebook", "cell_id", "clean_notebook", "main"]

#: Notebook-level metadata kept (everything else, e.g. papermill or widget state, is dropped).
_KEEP_METADATA = ("kernelspec", "jupytext", "language_info")

logger = logging.getLogger("notebooks_build")  # not __name__: run as a script, that is "__main__"


def cell_id(source: str, taken: set[str]) -> str:
    """A cell id derived from the cell's source (stable across rebuilds), unique within ``taken``.

    Examples
    --------
    >>> taken = set()
    >>> cell_id("x = 1", taken) == cell_id("x = 1", taken)
    False
    """
    base = "c-" + hashlib.sha1(source.encode("utf-8")).hexdigest()[:8]
    cid, i = base, 1
    while cid in taken:
        i += 1
        cid = f"{base}-{i}"
    taken.add(cid)
    return cid


def clean_notebook(nb: Any) -> Any:
    """Drop volatile metadata in place (timings, ids, papermill) and return ``nb``.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    >>> nb.cells[0].metadata["execution"] = {"iopub.status.busy": "2026-01-01"}
    >>> clean_notebook(nb).cells[0].metadata
    {}
    """
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in _KEEP_METADATA}
    if "language_info" in nb.metadata:
        nb.metadata["language_info"] = {
            k: v for k, v in nb.metadata["language_info"].items() if k in ("name", "file_extension", "mimetype")
        }
    taken: set[str] = set()
    for cell in nb.cells:
        cell.id = cell_id(cell.source, taken)
        for key in ("execution", "papermill", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
    return nb


def build_notebook(py: Path, *, timeout: int = 600) -> Path:
    """Execute ``notebooks/<name>.py`` and write ``notebooks/<name>.ipynb`` with its outputs."""
    nb = jupytext.read(py)
    NotebookClient(
        nb,
        kernel_name="python3",
        timeout=timeout,
        record_timing=False,
        extra_arguments=list(KERNEL_ARGS),
        resources={"metadata": {"path": str(py.parent)}},
    ).execute()
    target = py.with_suffix(".ipynb")
    atomic_write_text(target, nbformat.writes(clean_notebook(nb)) + "\n")  # type: ignore[no-untyped-call]
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """Rebuild the named notebooks (default: all of them); log one line each (``--quiet``: warnings only)."""
    parser = argparse.ArgumentParser(prog="tools/notebooks_build.py", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"notebooks to rebuild (default: {' '.join(NOTEBOOKS)})")
    parser.add_argument("--quiet", action="store_true", help="only warnings and errors on stderr (no progress)")
    args = parser.parse_args(argv)
    names = args.names or list(NOTEBOOKS)
    # A script configures the root logger: its own lines and the library's warnings, one format;
    # logging_redirect_tqdm writes them through tqdm so that they do not break the bar.
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(name)s: %(message)s")
    total = time.perf_counter()
    with logging_redirect_tqdm(), progress_bar(len(names), "notebooks", log=logger) as bar:

        def one(name: str) -> None:
            t0 = time.perf_counter()
            out = build_notebook(REPO_NOTEBOOKS / f"{Path(name).stem}.py")
            bar.update(1)
            logger.info("%s: %.1f s, %.0f KB", out.name, time.perf_counter() - t0, out.stat().st_size / 1024)

        # Each notebook runs in its own kernel process: two at a time keeps a 2-core machine busy.
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            list(pool.map(one, names))
    logger.info("all done in %.1f s", time.perf_counter() - total)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
