"""``outcomes`` command line: a thin layer over the public API.

Exit codes: 0 ok; 1 unusable input (data, plan, mapping) or refused output path (see
``docs/outputs.md``), a disk that cannot be read or written, not enough memory; 2 usage error;
3 internal error (a bug: please report it); 130 interrupted (Ctrl-C), 143 terminated (SIGTERM),
129 hung up (SIGHUP): temporaries are removed on the way out. No traceback is printed unless
``--debug`` is given. Every output path is checked by :mod:`outcomes.safety.outputs` before any work.
``claims --json -`` writes only the JSON document to stdout (the summary then goes to stderr).
Logging is configured here and nowhere else: the library's records go to stderr as ``outcomes: ...``
lines, INFO and above by default, WARNING and above with ``--quiet``, DEBUG with ``--verbose``.
No statistics live here.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm  # type: ignore[import-untyped]  # no py.typed, no stubs installed

from outcomes.analysis import SAMPLE_DATA, Analysis, analyse, summary_lines
from outcomes.claims.dask_engine import ScaledClaims, evaluate_claims_dask
from outcomes.errors import OutcomesError, Problem, printable
from outcomes.ingest.deidentify import deidentify_export
from outcomes.ingest.load import load_visits
from outcomes.ingest.synth import SynthParams, simulate_visits, write_visits
from outcomes.report.html import build_report
from outcomes.report.results import analysis_document, dumps
from outcomes.safety.outputs import (
    Terminated,
    atomic_write_text,
    check_output_directory,
    check_output_file,
    install_signal_handlers,
    record_output,
    same_file,
)
from outcomes.spec.plan import DEFAULT_PLAN_PATH

__all__ = ["main"]

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with a one-line message (never a traceback)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(printable(f"{self.prog}: usage error: {message}"), file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _print(text: str, file: TextIO | None = None) -> None:
    """Print ``text`` line by line through :func:`~outcomes.errors.printable` (file names may hold escape bytes)."""
    print("\n".join(printable(line) for line in str(text).split("\n")), file=sys.stdout if file is None else file)


def _file_only(text: str) -> Path:
    """argparse type of an option that must name a file (not ``-``, stdout)."""
    if text == "-":
        raise argparse.ArgumentTypeError("must name a file ('-', stdout, is not allowed here)")
    return _path(text)


def _path(text: str) -> Path:
    """argparse type of a path: a NUL byte (which no file system can hold) or an empty path is a usage error."""
    if "\x00" in text:
        raise argparse.ArgumentTypeError("a path cannot contain a NUL byte")
    if not text:
        raise argparse.ArgumentTypeError("the path is empty")
    return Path(text)


def _whole(minimum: int) -> Callable[[str], int]:
    """argparse type of a whole number >= ``minimum`` (a usage error otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {minimum}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {minimum}")
        return value

    return parse


def _cmd_validate(args: argparse.Namespace) -> int:
    loaded = load_visits(args.data, phi_guard=not args.allow_phi)
    _print(loaded.describe())
    return EXIT_OK


def _cmd_synth(args: argparse.Namespace) -> int:
    check_output_file(args.out, force=args.force, what="output")  # before any work: a refused path costs nothing
    sim = simulate_visits(SynthParams(n_episodes=args.episodes), seed=args.seed)
    write_visits(sim.visits, args.out)
    record_output(args.out)
    _print(f"wrote {len(sim.visits)} rows, {args.episodes} episodes (seed {args.seed}) to {args.out}")
    return EXIT_OK


def _defaults(args: argparse.Namespace) -> list[Path]:
    """The files an analysis reads: the data and the plan (the bundled defaults when not given)."""

    return [
        SAMPLE_DATA if args.data is None else args.data,
        Path(DEFAULT_PLAN_PATH) if args.plan is None else args.plan,
    ]


def _cmd_claims(args: argparse.Namespace) -> int:
    if args.engine == "dask" and args.unsuppressed_json is not None:
        raise OutcomesError(Problem("engine_input", "--unsuppressed-json needs the pandas engine", "<args>"))
    to_stdout = args.json is not None and str(args.json) == "-"
    targets = [
        (path, suppressed, what)
        for path, suppressed, what in (
            (None if to_stdout else args.json, True, "--json file"),
            (args.unsuppressed_json, False, "--unsuppressed-json file"),
        )
        if path is not None
    ]
    if len(targets) == 2 and same_file(targets[0][0], targets[1][0]):
        raise OutcomesError(
            Problem(
                "output_same_file",
                "--json and --unsuppressed-json name the same file; give two different files",
                str(args.json),
            )
        )
    inputs = _defaults(args)
    for path, _, what in targets:  # before any work: a refused path costs nothing
        check_output_file(path, inputs=inputs, force=args.force, what=what)
    result: Analysis | ScaledClaims
    if args.engine == "dask":  # P2 claims only; see docs/scaling.md
        if args.data is None:
            raise OutcomesError(Problem("engine_input", "--engine dask needs a Parquet file or directory", "<args>"))
        result = evaluate_claims_dask(args.data, args.plan, scheduler=args.scheduler)
    else:
        result = analyse(args.data, args.plan)

    tell = sys.stderr if to_stdout else sys.stdout  # with --json -, stdout holds the JSON document and nothing else
    # summary_lines reads only .plan and .claims, which both engines' results have; the ignore goes (flagged as
    # unused) once outcomes.analysis.summary_lines is typed ``Analysis | ScaledClaims``
    _print("\n".join(summary_lines(result)), file=tell)  # type: ignore[arg-type]
    if to_stdout:
        sys.stdout.write(dumps(analysis_document(result)))
        sys.stdout.flush()
    for path, suppressed, _ in targets:
        atomic_write_text(path, dumps(analysis_document(result, suppressed=suppressed)))
        record_output(path)
        if not suppressed:
            _print(
                f"wrote {path}: UNSUPPRESSED small cells, for the research team only; never share or publish it",
                file=sys.stderr,
            )
        else:
            _print(f"wrote {path}", file=tell)
    return EXIT_OK


def _cmd_deidentify(args: argparse.Namespace) -> int:
    # deidentify_export applies the output policy to --out and --key-file before reading anything
    summary = deidentify_export(args.raw, out=args.out, key_file=args.key_file, mapping=args.mapping, force=args.force)
    _print(summary.describe())
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    check_output_directory(args.out, inputs=_defaults(args), force=args.force)  # before any work
    build_report(args.data, args.plan, args.out, progress=True, research=args.research, force=args.force)
    return EXIT_OK


def _common_options(p: argparse.ArgumentParser, *, top: bool) -> None:
    """``--debug``, ``--quiet``, ``--verbose``: accepted before the subcommand's name and after it.

    On a subcommand they default to ``SUPPRESS`` (absent unless given): argparse copies a subcommand's
    defaults over the values the main parser parsed, which would undo ``outcomes --verbose report``.
    """
    absent: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    p.add_argument("--debug", action="store_true", help="show tracebacks", **absent)
    loudness = p.add_mutually_exclusive_group()
    level = {"dest": "log_level", "action": "store_const", **({"default": logging.INFO} if top else absent)}
    loudness.add_argument("--quiet", const=logging.WARNING, help="on stderr, only warnings and errors", **level)
    loudness.add_argument("--verbose", const=logging.DEBUG, help="on stderr, also the debugging detail", **level)


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="outcomes", description=__doc__.splitlines()[0])
    _common_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def force(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--force",
            action="store_true",
            help="replace an output outcomes wrote earlier even if it changed since (never a file it did "
            "not write; see docs/outputs.md)",
        )

    def data_and_plan(p: argparse.ArgumentParser) -> None:
        """The visits file and the plan of a command that analyses: both optional, with bundled defaults."""
        p.add_argument(
            "data",
            type=_path,
            nargs="?",
            default=None,
            help="visits file (default: the bundled sample data/sample/visits.csv)",
        )
        p.add_argument("--plan", type=_path, default=None, help="analysis plan YAML (default: plans/default.yaml)")

    def add(name: str, func: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        _common_options(p, top=False)
        p.set_defaults(func=func)
        return p

    p = add("validate", _cmd_validate, "Check a visits file against the data contract and summarise it.")
    p.add_argument("data", type=_path, help="visits file (CSV or Parquet, long or wide form)")
    p.add_argument(
        "--allow-phi",
        action="store_true",
        help="skip the identifier check (only for data already known to be de-identified)",
    )

    p = add("synth", _cmd_synth, "Generate synthetic, de-identified visit records with known truth.")
    p.add_argument("--episodes", type=_whole(1), default=400, help="number of episodes (default 400)")
    p.add_argument("--seed", type=_whole(0), default=20261201, help="random seed (default 20261201)")
    p.add_argument("--out", type=_path, required=True, help="output file (.csv or .parquet)")
    force(p)
    p = add("claims", _cmd_claims, "Test the claim 'patients improve within a few visits' (pain, ROM).")
    data_and_plan(p)
    p.add_argument(
        "--json",
        type=_path,
        default=None,
        metavar="FILE",
        help="also write the results.json document to FILE ('-': stdout, the summary then goes to stderr)",
    )
    p.add_argument(
        "--unsuppressed-json",
        type=_file_only,
        default=None,
        metavar="FILE",
        help="also write the document with small cells unsuppressed, for the research team only "
        "(never to be shared; not '-')",
    )
    force(p)
    p.add_argument(
        "--engine",
        choices=("pandas", "dask"),
        default="pandas",
        help="dask: out-of-core on Parquet, the P2 claims only (needs `pip install -e .[dask]`)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="with --engine dask: address of a distributed scheduler (default: local threads)",
    )

    p = add(
        "report",
        _cmd_report,
        "Analyse DATA once and write DIR/report.html and DIR/results.json (and DIR/research/ with --research).",
    )
    data_and_plan(p)
    p.add_argument(
        "--out",
        type=_path,
        default=Path("reports"),
        metavar="DIR",
        help="report directory: new, empty or an earlier outcomes report, replaced as a whole on success "
        "(default: reports)",
    )
    p.add_argument(
        "--research",
        action="store_true",
        help="also write DIR/research/: unsuppressed results and the executed notebooks (not for the clinic)",
    )
    force(p)

    p = add(
        "deidentify",
        _cmd_deidentify,
        "Turn a raw EMR export into de-identified visit records plus a private crosswalk.",
    )
    p.add_argument("raw", type=_path, help="raw export (CSV or Parquet, one row per visit); only read")
    p.add_argument("--out", type=_path, required=True, help="de-identified output (.csv or .parquet)")
    p.add_argument(
        "--key-file",
        type=_path,
        required=True,
        metavar="CROSSWALK",
        help="crosswalk CSV (identifier -> pseudonym), reused and extended; not in --out's directory",
    )
    p.add_argument(
        "--mapping",
        type=_path,
        default=None,
        metavar="YAML",
        help="column roles (see docs/privacy.md); default: mrn, visit_date, dob",
    )
    force(p)
    return parser


@contextmanager
def _logging_to_stderr(level: int) -> Iterator[None]:
    """Within the block, the library's records of ``level`` and above (the steps of a report at INFO, a stale
    temporary removed at WARNING ...) are lines on stderr; the ``outcomes`` logger is restored afterwards."""
    logger = logging.getLogger("outcomes")
    handler = _StderrHandler(level)
    handler.setFormatter(logging.Formatter("outcomes: %(message)s"))
    saved = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved)


class _StderrHandler(logging.Handler):
    """One line a record, ``outcomes: ...``, escaped by :func:`~outcomes.errors.printable`, on the *current*
    ``sys.stderr`` (which tests may swap). Written by ``tqdm.write``: a progress bar on the terminal is cleared
    first and redrawn below the line, instead of being broken by it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = "\n".join(printable(line) for line in self.format(record).split("\n"))
            tqdm.write(text, file=sys.stderr)
        except Exception:  # logging's contract: a failing handler reports through handleError, never raises
            self.handleError(record)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (also used as the console-script entry point).

    Examples
    --------
    >>> main(["--help"])  # doctest: +ELLIPSIS
    usage: outcomes ...
    0
    """

    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or usage error (2)
        return int(exc.code or 0)
    name = f"outcomes {args.command}"
    # SIGTERM/SIGHUP unwind like Ctrl-C, through every ``finally``: temporaries are removed
    with install_signal_handlers(), _logging_to_stderr(args.log_level):
        try:
            return int(args.func(args))
        except OutcomesError as exc:
            print(f"{name}: error:\n{exc.render()}", file=sys.stderr)
            return EXIT_INPUT
        except KeyboardInterrupt:
            print(f"{name}: interrupted; temporary files were removed", file=sys.stderr)
            return 130
        except Terminated as exc:
            print(f"{name}: {exc}; temporary files were removed", file=sys.stderr)
            return exc.exit_code
        except BrokenPipeError:  # e.g. `outcomes validate x.csv | head`: the reader left; not an error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return EXIT_OK
        except MemoryError:
            print(
                f"{name}: error: not enough memory for this input; see the limits in docs/security.md (lower "
                "them to refuse such inputs before the work starts, or use a machine with more memory)",
                file=sys.stderr,
            )
            return EXIT_INPUT
        except OSError as exc:  # the disk, not the code: a file that vanished, a full disk, a read-only directory
            where = printable(exc.filename) if exc.filename else "a file"
            print(
                f"{name}: error: {where}: cannot be read or written ({printable(exc.strerror or type(exc).__name__)})",
                file=sys.stderr,
            )
            return EXIT_INPUT
        except Exception as exc:  # a bug: say so plainly
            if args.debug:
                raise
            print(
                f"{name}: internal error ({type(exc).__name__}).\n"
                "This is a bug in outcomes; rerun with --debug for the traceback.",
                file=sys.stderr,
            )
            return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
