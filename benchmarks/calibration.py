"""Calibration of the primary verdict: prints type I error, CI coverage and power.

    python benchmarks/calibration.py --sims 200
    python benchmarks/calibration.py --boundary 4000   # size at the boundary, by interval
    python benchmarks/calibration.py --boundary 4000 --episodes 50 --dropout 0.15
    python benchmarks/calibration.py --dropout-scenarios 4000   # verdict when patients drop out

With ``--boundary N`` it prints only the size of the primary verdict when the true share equals
p0 (outcomes.claims.calibration.boundary_size), for the log-log and the likelihood-ratio
interval, with its Monte Carlo standard error.

Every dataset is seeded, so the figures are identical run to run. The same scenarios
(outcomes.claims.calibration.standard_scenarios), with the same seeds, are asserted in
tests/test_calibration.py.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from outcomes.claims.calibration import (
    boundary_scenario,
    boundary_size,
    dropout_scenarios,
    run_scenario,
    standard_scenarios,
    verdict_calibration,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--boundary", type=int, default=0, metavar="N", help="size at the boundary, N datasets")
    parser.add_argument("--dropout", type=float, default=None, help="per-visit dropout hazard (--boundary)")
    parser.add_argument(
        "--dropout-scenarios", type=int, default=0, metavar="N", help="verdict under dropout, N datasets a scenario"
    )
    args = parser.parse_args()
    if args.dropout_scenarios:
        t0 = time.perf_counter()
        out = verdict_calibration(dropout_scenarios(args.episodes), n_sims=args.dropout_scenarios, seed=args.seed)
        print(f"verdict under dropout: {args.dropout_scenarios} datasets a scenario; {time.perf_counter() - t0:.0f} s")
        with pd.option_context("display.width", 250, "display.max_columns", 20):
            print(out.round(4).to_string(index=False))
        return
    if args.boundary:
        t0 = time.perf_counter()
        params, truth = boundary_scenario(args.episodes, dropout=args.dropout)
        out = boundary_size(params, truth, n_sims=args.boundary, seed=args.seed)
        print(
            f"boundary: true share by visit 3 = {truth:.4f} (generator, 1,000,000 episodes) = p0; "
            f"{params.n_episodes} episodes a dataset, random dropout {params.dropout:g} a visit; "
            f"{time.perf_counter() - t0:.0f} s"
        )
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(out.round(4).to_string(index=False))
        return
    rows = []
    for sc in standard_scenarios(args.episodes):
        t0 = time.perf_counter()
        r = run_scenario(sc, n_sims=args.sims, seed=args.seed)
        rows.append(
            dict(
                scenario=sc.name,
                truth=round(r["truth"], 3),
                episodes=sc.params.n_episodes,
                sims=args.sims,
                quantity=sc.quantity,
                rate=r["rate"],
                exact_95ci=f"{r['ci_low']:.3f}-{r['ci_high']:.3f}",
                mean_estimate=round(r["mean_estimate"], 3),
                conf_level=r["conf_level"],
                seconds=round(time.perf_counter() - t0, 1),
            )
        )
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
