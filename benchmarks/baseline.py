"""The analysis as an analyst would first write it: the yardstick of benchmarks/run.py.

DELIBERATELY NAIVE - this file exists only to be slow in the obvious ways, so that the
speed of ``outcomes`` can be stated as a ratio.  It is never imported by the package.

- load: ``pd.read_csv`` / ``pd.read_parquet``, then row-wise ``DataFrame.apply`` checks;
- per-episode summary: ``groupby().apply()`` with a Python loop over each episode's
  visits to find the first improved visit and the end of follow-up;
- Kaplan-Meier: a Python loop over the distinct times (risk set recounted each time);
- ITT / completers: Wilson intervals from a per-episode loop;
- Wilcoxon: ``scipy.stats.wilcoxon``; Hodges-Lehmann: all pairwise Walsh averages of at
  most 5,000 changes (the whole set does not fit in memory at 100k episodes; this makes
  the baseline *faster* than a faithful one, so the ratio is conservative);
- bootstrap: resampling rows in a Python loop (``rng.choice`` per resample).

It follows the same plan (k = 3, p0 = 0.5, 90 % intervals, 2000 resamples, absolute-only
and relative-only pain variants) so that it does the same amount of statistics.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from outcomes.spec.measures import REGISTRY

K, P0, CONF, N_BOOT, SEED = 3, 0.5, 0.90, 2000, 20261201
CLAIM_MEASURES = ["pain_nprs", *[c for c, m in REGISTRY.items() if m.kind == "rom"]]


def load(path: Path) -> pd.DataFrame:
    df = pd.read_parquet(path) if str(path).endswith(".parquet") else pd.read_csv(path)

    def check(row):  # the obvious row-wise validation
        m = REGISTRY.get(row["measure"])
        if m is None or pd.isna(row["value"]) or not (m.lower <= row["value"] <= m.upper):
            return False
        return row["visit_day"] >= 0 and isinstance(row["patient_id"], str)

    ok = df.apply(check, axis=1)
    if not ok.all():
        raise ValueError(f"{(~ok).sum()} bad rows")
    return df.drop_duplicates()


def summarise_one(g: pd.DataFrame, m) -> pd.Series:
    g = g.sort_values("visit_number")
    base = g.loc[g["visit_number"] == 1, "value"]
    if base.empty:
        return pd.Series(
            {
                "baseline": np.nan,
                "time": 0,
                "event": False,
                "included": False,
                "last_visit": g["visit_number"].max(),
                "first": np.nan,
            }
        )
    b = base.iloc[0]
    followup, first = 0, np.nan
    expected = 1
    for v, val in zip(g["visit_number"], g["value"]):  # per-episode Python loop
        if v == expected:
            followup = v
            expected += 1
        if np.isnan(first) and m.improvement(b, val):
            first = v
    reachable = bool(m.reachable(b))
    event = reachable and not np.isnan(first) and first <= followup
    return pd.Series(
        {
            "baseline": b,
            "time": first if event else followup,
            "event": event,
            "included": reachable,
            "last_visit": g["visit_number"].max(),
            "first": first,
        }
    )


def summarise(df: pd.DataFrame, code: str, m=None) -> pd.DataFrame:
    m = m or REGISTRY[code]
    sub = df[df["measure"] == code]
    return sub.groupby(["episode_id", "side"]).apply(summarise_one, m=m).reset_index()


def km_at(time_: np.ndarray, event: np.ndarray, k: int) -> tuple[float, float, float]:
    surv, gw = 1.0, 0.0
    for t in sorted(set(time_)):  # risk set recounted at each time
        if t > k:
            break
        n = sum(1 for x in time_ if x >= t)
        d = sum(1 for x, e in zip(time_, event) if x == t and e)
        if d:
            surv *= 1 - d / n
            gw += d / (n * (n - d)) if n > d else np.inf
    z = stats.norm.ppf(0.5 + CONF / 2)
    if 0 < surv < 1:
        theta, se = np.log(-np.log(surv)), np.sqrt(gw) / abs(np.log(surv))
        lo, hi = np.exp(-np.exp(theta + z * se)), np.exp(-np.exp(theta - z * se))
        return 1 - surv, 1 - hi, 1 - lo
    return 1 - surv, np.nan, np.nan


def wilson(x: int, n: int) -> tuple[float, float, float]:
    z = stats.norm.ppf(0.5 + CONF / 2)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return p, centre - half, centre + half


def change_stats(gain: np.ndarray, baseline: np.ndarray) -> dict:
    rng = np.random.default_rng(SEED)
    boots = []
    for _ in range(N_BOOT):  # row resampling in a Python loop
        idx = rng.choice(len(gain), len(gain))
        s = gain[idx]
        boots.append((np.median(s), s.mean() / s.std(ddof=1), s.mean() / baseline[idx].std(ddof=1)))
    boots = np.array(boots)
    sub = gain[:5000]
    walsh = np.add.outer(sub, sub)[np.triu_indices(len(sub))] / 2
    return {
        "mean": gain.mean(),
        "t": stats.ttest_1samp(gain, 0),
        "wilcoxon": stats.wilcoxon(gain),
        "hl": np.median(walsh),
        "boot_ci": np.quantile(boots, [0.05, 0.95], axis=0),
    }


def claims(df: pd.DataFrame) -> list[dict]:
    out = []
    for code in CLAIM_MEASURES:
        if code not in set(df["measure"]):
            continue
        m = REGISTRY[code]
        s = summarise(df, code)
        inc = s[s["included"]]
        res = {"measure": code, "km": km_at(inc["time"].tolist(), inc["event"].tolist(), K)}
        for kk in (K - 1, K + 1):
            res[f"km_{kk}"] = km_at(inc["time"].tolist(), inc["event"].tolist(), kk)
        itt = sum(1 for f in inc["first"] if f <= K)
        res["itt"] = wilson(itt, len(inc))
        comp = inc[inc["last_visit"] >= K]
        res["completers"] = wilson(sum(1 for f in comp["first"] if f <= K), len(comp))
        if m.threshold_rel is not None:
            from dataclasses import replace

            for name, v in (
                ("absolute_only", replace(m, threshold_rel=None)),
                ("relative_only", replace(m, threshold_abs=1e-6)),
            ):
                sv = summarise(df, code, v)
                sv = sv[sv["included"]]
                res[name] = km_at(sv["time"].tolist(), sv["event"].tolist(), K)
        sub = df[(df["measure"] == code) & (df["visit_number"] == K)].merge(
            inc[["episode_id", "side", "baseline"]], on=["episode_id", "side"]
        )
        gain = (m.direction * (sub["value"] - sub["baseline"])).to_numpy(dtype=float)
        if len(gain) > 2:
            res["change"] = change_stats(gain, sub["baseline"].to_numpy(dtype=float))
        out.append(res)
    return out


def run(path: str | Path, report=lambda times: None) -> dict[str, float]:
    """Time the three stages; returns seconds per stage (``report`` sees each as it ends)."""
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    df = load(Path(path))
    times["load_validate"] = time.perf_counter() - t0
    report(times)
    t0 = time.perf_counter()
    for code in df["measure"].unique():  # every measure, as summarize_episodes does
        summarise(df, code)
    times["summary"] = time.perf_counter() - t0
    report(times)
    t0 = time.perf_counter()
    claims(df)
    times["claims"] = time.perf_counter() - t0
    return times


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(run(sys.argv[1]))
