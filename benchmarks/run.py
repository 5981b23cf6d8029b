"""Registry-scale benchmark: wall time and peak memory per stage, size, format and engine.

    python benchmarks/run.py --sizes 10k,100k,1m [--formats parquet,csv] [--no-baseline]
                             [--engines pandas,dask] [--stages load,pipeline,mixed,notebooks]

Synthetic data come from :mod:`outcomes.ingest.synth` (seed 20261201), written once per size as
Parquet and CSV to ``benchmarks/cache/`` (outside git).  Every (size, format, stage set)
runs in a FRESH child process, so its peak RSS is its own: the parent waits for it with
``os.wait4`` and reads ``ru_maxrss`` of that child alone.  Stage sets:

``load``       load_visits (read + PHI guard + contract validation) only;
``pipeline``   load -> summarize_episodes -> evaluate_claims (all P2 claim statistics:
               KM, ITT/completers, Wilson, Wilcoxon/HL, bootstrap; no mixed model), each
               stage timed and the whole;
``dask``       the same claims with ``outcomes.claims.dask_engine`` on a 2-worker LocalCluster;
``mixed``      the mixed model on pain, every episode (:func:`outcomes.stats.fit_trajectory`:
               statsmodels' MixedLM up to 2,000 episodes, the group-sum REML of
               :mod:`outcomes.stats.reml` above);
``baseline``   benchmarks/baseline.py, the analyst's first version (sizes <= --baseline-max);
``notebooks``  the notebook suite on the bundled sample (pytest --nbval), once.

A table is printed and rows are appended to ``benchmarks/results/results.csv`` with a run
timestamp, the git commit and machine information, so runs can be compared.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "benchmarks"
CACHE = HERE / "cache"
RESULTS = HERE / "results" / "results.csv"
SEED = 20261201
STAGE_SETS = ("load", "pipeline", "dask", "mixed", "baseline", "notebooks")
RESULT_FIELDS = (
    "run_at",
    "commit",
    "machine",
    "size",
    "n_rows",
    "format",
    "engine",
    "stage_set",
    "stage",
    "seconds",
    "peak_rss_mb",
    "status",
    "baseline_seconds",
    "ratio",
)


def parse_size(text: str) -> int:
    """'10k' -> 10000, '1m' -> 1000000, '2500' -> 2500."""
    text = text.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if mult > 1 else text) * mult)


def label(n: int) -> str:
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


# ------------------------------------------------------------------------------- children
def _child(args: argparse.Namespace) -> None:
    """Run one stage set in this (fresh) process and print one JSON line of timings."""
    times: dict[str, float] = {}
    info: dict[str, object] = {}

    def timed(name, func, *a, **k):
        t0 = time.perf_counter()
        out = func(*a, **k)
        times[name] = time.perf_counter() - t0
        return out

    data = Path(args.data) if args.data else None
    if args.child == "generate":
        from outcomes.ingest.synth import SynthParams, simulate_visits, write_visits

        visits = timed("simulate", lambda: simulate_visits(SynthParams(n_episodes=args.size), seed=SEED).visits)
        info["n_rows"] = len(visits)
        for fmt in ("parquet", "csv"):
            timed(f"write_{fmt}", write_visits, visits, CACHE / f"visits_{label(args.size)}.{fmt}")
    elif args.child in ("load", "pipeline"):
        from outcomes.claims.improvement import evaluate_claims
        from outcomes.episodes.core import summarize_episodes
        from outcomes.ingest.load import load_visits
        from outcomes.spec.plan import Plan

        loaded = timed("load_validate", load_visits, data)
        info["n_rows"] = len(loaded.visits)
        if args.child == "pipeline":
            plan = Plan()
            timed("summary", summarize_episodes, loaded.visits, plan.registry)
            timed("claims", evaluate_claims, loaded.visits, plan)
            times["total"] = sum(times.values())
    elif args.child == "dask":
        from distributed import Client, LocalCluster

        from outcomes.claims.dask_engine import evaluate_claims_dask
        from outcomes.spec.plan import Plan

        with (
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
            Client(cluster),
        ):
            res = timed("total", evaluate_claims_dask, data, Plan())
        info["n_rows"] = res.n_rows
    elif args.child == "mixed":
        import pandas as pd

        from outcomes.stats import fit_trajectory

        visits = pd.read_parquet(
            data, columns=["episode_id", "visit_number", "measure", "value"], filters=[("measure", "==", "pain_nprs")]
        )
        fit = timed("mixed_model", fit_trajectory, visits)
        info.update(n_rows=fit.n_obs, n_groups=fit.n_groups, engine=fit.optimizer, converged=fit.converged)
    elif args.child == "baseline":
        sys.path.insert(0, str(HERE))
        import baseline

        def partial(done):  # printed as each stage ends, so a capped run still shows them
            print(json.dumps({"times": dict(done), "info": {"status": "capped"}}), flush=True)

        times.update(baseline.run(data, partial))
        times["total"] = sum(times.values())
    elif args.child == "notebooks":
        nb = ROOT / "notebooks"
        ipynb = sorted(nb.glob("*.ipynb"))
        if not ipynb:
            print(json.dumps({"times": {}, "info": {"status": "skipped: no .ipynb notebooks in notebooks/"}}))
            return
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval",
            "--nbval-current-env",
            *(["--nbval-sanitize-with", str(nb / "sanitize.cfg")] if (nb / "sanitize.cfg").exists() else []),
            *map(str, ipynb),
        ]
        t0 = time.perf_counter()
        rc = subprocess.run(cmd, cwd=ROOT, capture_output=True).returncode
        times["notebooks"] = time.perf_counter() - t0
        info["status"] = "ok" if rc == 0 else f"failed (pytest exit {rc})"
    print(json.dumps({"times": times, "info": info}))


def run_child(stage_set: str, *, size: int, data: Path | None, timeout: float) -> dict:
    """Run a stage set in a fresh process; returns its timings, info and peak RSS (MB)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", stage_set, "--size", str(size)]
    if data is not None:
        cmd += ["--data", str(data)]
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            lines = [ln for ln in (out or "").splitlines() if ln.startswith("{")]
            done = json.loads(lines[-1])["times"] if lines else {}
            done["total"] = float(timeout)  # a lower bound: the run was stopped
            return {
                "times": done,
                "info": {"status": f"capped: killed after {timeout:.0f} s"},
                "peak_rss_mb": getattr(proc, "_peak_rss_kb", 0) / 1024 or None,
            }
        # communicate() has reaped the child; its rusage was recorded by Popen's wait.
    rss = getattr(proc, "_peak_rss_kb", None)
    if proc.returncode != 0:
        tail = (err or "").strip().splitlines()[-3:]
        return {"times": {}, "info": {"status": "error: " + " | ".join(tail)}, "peak_rss_mb": None}
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb"] = None if rss is None else rss / 1024
    return result


class _Popen(subprocess.Popen):
    """Popen that reaps its child with ``os.wait4`` to keep that child's own peak RSS."""

    def _try_wait(self, wait_flags):
        try:
            pid, status, usage = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return self.pid, 0
        if pid == self.pid:
            self._peak_rss_kb = usage.ru_maxrss  # kilobytes on Linux
        return pid, status


subprocess.Popen = _Popen  # type: ignore[misc]  # only inside this script


# ------------------------------------------------------------------------------- parent
def machine() -> str:
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    return f"{platform.machine()} {os.cpu_count()} cpu {mem:.0f} GiB {platform.python_version()}"


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
    except FileNotFoundError:
        return "unknown"
    sha = out.stdout.strip() if out.returncode == 0 else "uncommitted"
    return sha + ("+dirty" if dirty.stdout.strip() else "")


def ensure_data(size: int, timeout: float) -> None:
    paths = [CACHE / f"visits_{label(size)}.{f}" for f in ("parquet", "csv")]
    if all(p.exists() for p in paths):
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"generating {label(size)} episodes (seed {SEED}) -> {CACHE.relative_to(ROOT)}/ ...", flush=True)
    res = run_child("generate", size=size, data=None, timeout=timeout)
    if not all(p.exists() for p in paths):
        raise SystemExit(f"data generation failed: {res['info'].get('status')}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10k,100k,1m")
    ap.add_argument("--formats", default="parquet,csv")
    ap.add_argument("--engines", default="pandas,dask")
    ap.add_argument(
        "--stages",
        default="load,pipeline,mixed,notebooks",
        help="stage sets for the pandas engine (default: all but baseline, which --no-baseline controls)",
    )
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--baseline-max", default="100k", help="largest size the baseline runs at (default 100k)")
    ap.add_argument("--baseline-formats", default="parquet", help="formats the baseline runs on (default parquet)")
    ap.add_argument(
        "--baseline-timeout",
        type=float,
        default=300,
        help="seconds before the baseline is killed and reported as capped (default 300)",
    )
    ap.add_argument("--timeout", type=float, default=600, help="seconds before a child is killed (capped)")
    ap.add_argument("--child", choices=("generate", *STAGE_SETS), help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args)
        return 0

    sizes = [parse_size(s) for s in args.sizes.split(",") if s]
    formats = [f for f in args.formats.split(",") if f]
    engines = [e for e in args.engines.split(",") if e]
    stages = [s for s in args.stages.split(",") if s]
    if "dask" in engines and _missing("distributed"):
        print("dask engine skipped: `pip install -e .[dask]` first")
        engines.remove("dask")
    run_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    meta = {"run_at": run_at, "commit": git_commit(), "machine": machine()}
    rows: list[dict] = []

    def record(size, fmt, engine, stage_set, res):
        status = str(res["info"].get("status", "ok"))
        n_rows = res["info"].get("n_rows", "")
        times = res["times"] or {"-": None}
        for stage, sec in times.items():
            rows.append(
                {
                    **meta,
                    "size": size,
                    "n_rows": n_rows,
                    "format": fmt,
                    "engine": engine,
                    "stage_set": stage_set,
                    "stage": stage,
                    "seconds": sec,
                    "peak_rss_mb": res.get("peak_rss_mb"),
                    "status": status,
                }
            )
        shown = ", ".join(f"{k} {v:.2f}s" for k, v in res["times"].items())
        rss = res.get("peak_rss_mb")
        print(
            f"  {label(size):>5} {fmt:8} {engine:8} {stage_set:9} {shown or status}"
            + (f"  peak {rss:,.0f} MB" if rss else ""),
            flush=True,
        )

    for size in sizes:
        ensure_data(size, args.timeout)
        for fmt in formats:
            data = CACHE / f"visits_{label(size)}.{fmt}"
            for stage_set in ("load", "pipeline"):
                if stage_set in stages and "pandas" in engines:
                    record(
                        size, fmt, "pandas", stage_set, run_child(stage_set, size=size, data=data, timeout=args.timeout)
                    )
            if (
                not args.no_baseline
                and size <= parse_size(args.baseline_max)
                and fmt in args.baseline_formats.split(",")
            ):
                record(
                    size,
                    fmt,
                    "baseline",
                    "pipeline",
                    run_child("baseline", size=size, data=data, timeout=args.baseline_timeout),
                )
        if "dask" in engines:
            data = CACHE / f"visits_{label(size)}.parquet"
            record(size, "parquet", "dask", "pipeline", run_child("dask", size=size, data=data, timeout=args.timeout))
        if "mixed" in stages:
            data = CACHE / f"visits_{label(size)}.parquet"
            record(size, "parquet", "pandas", "mixed", run_child("mixed", size=size, data=data, timeout=args.timeout))
    if "notebooks" in stages:
        record(0, "sample", "pandas", "notebooks", run_child("notebooks", size=0, data=None, timeout=args.timeout))

    _ratios(rows)
    print_table(rows)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    new = not RESULTS.exists()
    with open(RESULTS, "a", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=RESULT_FIELDS)
        if new:
            writer.writeheader()
        writer.writerows({k: r.get(k, "") for k in RESULT_FIELDS} for r in rows)
    print(f"\nappended {len(rows)} rows to {RESULTS.relative_to(ROOT)}")
    return 0


def _missing(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is None


def _ratios(rows: list[dict]) -> None:
    """ours / baseline for the same size, format and stage (pandas pipeline stages)."""
    base = {
        (r["size"], r["format"], r["stage"]): r["seconds"]
        for r in rows
        if r["engine"] == "baseline" and r["seconds"] is not None
    }
    for r in rows:
        b = base.get((r["size"], r["format"], r["stage"]))
        if r["engine"] in ("pandas", "dask") and r["stage_set"] == "pipeline" and b and r["seconds"] is not None:
            r["baseline_seconds"] = b
            r["ratio"] = r["seconds"] / b
            capped = r["stage"] == "total" and any(
                x["engine"] == "baseline"
                and x["size"] == r["size"]
                and x["format"] == r["format"]
                and x["status"] != "ok"
                for x in rows
            )
            r["ratio_bound"] = "<=" if capped else ""


def print_table(rows: list[dict]) -> None:
    print("\n| size | rows | format | engine | stage set | stage | wall s | peak RSS MB | ours/baseline |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        sec = "" if r["seconds"] is None else f"{r['seconds']:.2f}"
        rss = "" if not r.get("peak_rss_mb") else f"{r['peak_rss_mb']:,.0f}"
        ratio = f"{r.get('ratio_bound', '')}{r['ratio']:.3f}" if r.get("ratio") else ""
        status = "" if r["status"] == "ok" else f" ({r['status']})"
        print(
            f"| {label(r['size']) if r['size'] else '-'} | {r['n_rows']} | {r['format']} | {r['engine']} | "
            f"{r['stage_set']} | {r['stage']}{status} | {sec} | {rss} | {ratio} |"
        )


if __name__ == "__main__":
    sys.exit(main())
