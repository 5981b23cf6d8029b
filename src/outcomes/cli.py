"""``outcomes`` command line: a thin layer over the public API.

Exit codes: 0 ok; 1 unusable input (data, plan); 2 usage error; 3 internal error
(a bug: please report it).  No traceback is printed unless ``--debug`` is given.
No statistics live here.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import OutcomesError, Problem

__all__ = ["main"]

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with a one-line message (never a traceback)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: usage error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _cmd_validate(args: argparse.Namespace) -> int:
    from .visits import load_visits

    loaded = load_visits(args.data, phi_guard=not args.allow_phi)
    print(loaded.describe())
    return EXIT_OK


def _cmd_synth(args: argparse.Namespace) -> int:
    from .synth import SynthParams, simulate_visits, write_visits

    sim = simulate_visits(SynthParams(n_episodes=args.episodes), seed=args.seed)
    write_visits(sim.visits, args.out)
    print(f"wrote {len(sim.visits)} rows, {args.episodes} episodes (seed {args.seed}) to {args.out}")
    return EXIT_OK


def _cmd_claims(args: argparse.Namespace) -> int:
    from .analysis import analyse, summary_lines
    from .results import dumps, write_results

    if args.engine == "dask":  # P2 claims only; see docs/scaling.md
        from .scaleout import evaluate_claims_dask

        if args.data is None:
            raise OutcomesError(Problem("engine_input", "--engine dask needs a Parquet file or directory", "<args>"))
        result = evaluate_claims_dask(args.data, args.plan, scheduler=args.scheduler)
    else:
        result = analyse(args.data, args.plan)
    print("\n".join(summary_lines(result)))
    if args.json is not None:
        if str(args.json) == "-":
            sys.stdout.write(dumps(result.document))
        else:
            write_results(result.document, args.json)
            print(f"wrote {args.json}")
    return EXIT_OK


def _cmd_deidentify(args: argparse.Namespace) -> int:
    from .deidentify import deidentify_export

    summary = deidentify_export(args.raw, out=args.out, key_file=args.key_file, mapping=args.mapping)
    print(summary.describe())
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import build_report

    build_report(args.data, args.plan, args.out, progress=True)
    return EXIT_OK


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="outcomes", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def add(name: str, func: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("--debug", action="store_true", help="show tracebacks")
        p.set_defaults(func=func)
        return p

    p = add("validate", _cmd_validate, "Check a visits file against the data contract and summarise it.")
    p.add_argument("data", type=Path, help="visits file (CSV or Parquet, long or wide form)")
    p.add_argument("--allow-phi", action="store_true",
                   help="skip the identifier check (only for data already known to be de-identified)")

    p = add("synth", _cmd_synth, "Generate synthetic, de-identified visit records with known truth.")
    p.add_argument("--episodes", type=int, default=400, help="number of episodes (default 400)")
    p.add_argument("--seed", type=int, default=20261201, help="random seed (default 20261201)")
    p.add_argument("--out", type=Path, required=True, help="output file (.csv or .parquet)")
    p = add("claims", _cmd_claims, "Test the claim 'patients improve within a few visits' (pain, ROM).")
    p.add_argument("data", type=Path, nargs="?", default=None,
                   help="visits file (default: the bundled sample data/sample/visits.csv)")
    p.add_argument("--plan", type=Path, default=None, help="analysis plan YAML (default: plans/default.yaml)")
    p.add_argument("--json", type=Path, default=None, metavar="FILE",
                   help="also write the results.json document to FILE ('-' for stdout)")
    p.add_argument("--engine", choices=("pandas", "dask"), default="pandas",
                   help="dask: out-of-core on Parquet, the P2 claims only (needs `pip install -e .[dask]`)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="with --engine dask: address of a distributed scheduler (default: local threads)")

    p = add("report", _cmd_report,
            "Run the notebooks on DATA and write DIR/report.html, DIR/results.json and DIR/notebooks/.")
    p.add_argument("data", type=Path, nargs="?", default=None,
                   help="visits file (default: the bundled sample data/sample/visits.csv)")
    p.add_argument("--plan", type=Path, default=None, help="analysis plan YAML (default: plans/default.yaml)")
    p.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR",
                   help="report directory, replaced as a whole on success (default: reports)")

    p = add("deidentify", _cmd_deidentify,
            "Turn a raw EMR export into de-identified visit records plus a private crosswalk.")
    p.add_argument("raw", type=Path, help="raw export (CSV or Parquet, one row per visit); only read")
    p.add_argument("--out", type=Path, required=True, help="de-identified output (.csv or .parquet)")
    p.add_argument("--key-file", type=Path, required=True, metavar="CROSSWALK",
                   help="crosswalk CSV (identifier -> pseudonym), reused and extended; not in --out's directory")
    p.add_argument("--mapping", type=Path, default=None, metavar="YAML",
                   help="column roles (see docs/privacy.md); default: mrn, visit_date, dob")
    return parser


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
    try:
        return int(args.func(args))
    except OutcomesError as exc:
        print(f"outcomes {args.command}: error:\n{exc.render()}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `outcomes validate x.csv | head`: the reader left; not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # a bug: say so plainly
        if args.debug:
            raise
        print(f"outcomes {args.command}: internal error ({type(exc).__name__}: {exc}).\n"
              "This is a bug in outcomes; rerun with --debug for the traceback.", file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
