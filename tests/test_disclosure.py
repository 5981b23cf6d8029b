"""Small cells suppressed in every clinic-facing output, and the disclosure step's known answers.

The walk: a tiny synthetic clinic (16 episodes, plan k = 4: the pain claim has enough
episodes, every ROM claim and one arm of the combined-therapy comparison do not) is run
through ``build_report``; then ``report.html`` (its text and the texts and data drawn in
each figure), ``results.json`` (recursively), the terminal summary and the sentences are
searched for any count of 1-10 and any estimate of a claim from fewer than 11 episodes.
The unsuppressed research document of the same analysis says which those are.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.text
import numpy as np
import pandas as pd
import pytest

from outcomes.analysis import analyse, load_analysis, save_analysis, summary_lines
from outcomes.disclosure import SUPPRESSED, count_marks, disclose_claims, hide_counts
from outcomes.ingest.synth import SynthParams, simulate_visits, write_visits
from outcomes.report.html import build_report, report_figures
from outcomes.report.results import RESEARCH_WARNING, SCHEMA_VERSION, analysis_document
from outcomes.report.sentences import suppressed_sentence
from outcomes.spec.plan import Plan

MIN = 11
ESTIMATES = ("estimate", "ci_low", "ci_high", "p_value", "p_value_not", "p_adjusted", "p_not_adjusted")
# Counts written in words: "n = 5", "5 episodes", "5 with, 6 without", "3/12 vs 4/20" ...
COUNT_PATTERNS = [
    re.compile(p)
    for p in (
        r"\bn\s*=\s*(\d+)",
        r"(\d+)\s+(?:episodes|patients|needled visits|excluded|with\b|without|combined|alone)",
        r"(\d+)/(\d+)",
        r"(\d+) of (\d+)",
    )
]


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _small_counts_in(text: str) -> list[str]:
    found = []
    for pattern in COUNT_PATTERNS:
        for m in pattern.finditer(text):
            found += [g for g in m.groups() if 0 < int(g) < MIN]
    return found


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tiny")
    data = tmp / "tiny.csv"
    write_visits(simulate_visits(SynthParams(n_episodes=16), seed=3).visits, data)
    plan = Plan(k=4, n_boot=200)
    res = build_report(data, plan, tmp / "out", progress=False)
    return res, json.loads(res.results_json.read_text()), analysis_document(res.analysis, suppressed=False)


def test_the_clinic_is_tiny_enough_to_matter(run):
    res, _, research = run
    ns = [c["n"] for c in research["claims"]]
    assert ns[0] >= MIN and all(0 < n < MIN for n in ns[1:])  # pain shown, every ROM claim small
    groups = res.analysis.claim_groups
    assert ((groups["n"] > 0) & (groups["n"] < MIN)).any() and (groups["n"] >= MIN).any()
    excluded = [c["n_excluded"] for c in research["claims"]] + [c["n_events"] for c in research["claims"]]
    assert any(0 < n < MIN for n in excluded)


def _walk(shown, raw, path=""):
    """Pairs of (suppressed, unsuppressed) dicts at the same place of the two documents."""
    if isinstance(shown, dict):
        yield path, shown, raw
        for key, value in shown.items():
            if key in raw and key != "plan":  # plan parameters (k, min_cell_size ...) are no counts
                yield from _walk(value, raw[key], f"{path}.{key}")
    elif isinstance(shown, list):
        assert len(shown) == len(raw), path
        for i, (a, b) in enumerate(zip(shown, raw)):
            yield from _walk(a, b, f"{path}[{i}]")


def _is_count(key: str) -> bool:
    return key == "n" or key.startswith("n_") or key in ("successes", "episodes")


def test_results_json_has_no_small_count_and_no_estimate_of_a_small_claim(run):
    res, doc, research = run
    assert doc["schema_version"] == SCHEMA_VERSION == 2 and doc["small_cells"] == "suppressed"
    assert "warning" not in doc and research["warning"] == RESEARCH_WARNING
    assert doc["data"]["sha256"] == research["data"]["sha256"] == res.analysis.loaded.sha256
    small_groups = set(res.analysis.claim_groups.query("0 < n < @MIN")["id"])
    checked = 0
    for path, shown, raw in _walk(doc, research):
        for key, value in shown.items():
            if _is_count(key) and isinstance(value, int | float) and not isinstance(value, bool):
                assert value == 0 or value >= MIN, (path, key, value)
        small = isinstance(raw.get("n"), int) and 0 < raw["n"] < MIN
        if small or (raw.get("id") in small_groups and ".other_claims[" in path + "["):
            checked += 1
            assert all(shown.get(k) is None for k in ESTIMATES), path
            assert shown.get("verdict") in (None, SUPPRESSED), path
            if "sentence" in shown:
                assert not re.search(r"\d+%", shown["sentence"]), (path, shown["sentence"])
    assert checked >= 20  # the walk met many small cells


def _html_text(html: str) -> tuple[str, list[str]]:
    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self.alts: list[str] = []

        def handle_starttag(self, tag, attrs):
            self.alts += [v for k, v in attrs if k == "alt"]

        def handle_data(self, data):
            self.parts.append(data)

    parser = Text()
    parser.feed(html)
    return " ".join(parser.parts), parser.alts


def _forbidden_intervals(analysis) -> set[str]:
    """CI texts of every suppressed claim (as the report would print them), minus those shown anyway."""
    raw, shown = analysis.claims.claims, analysis.disclosed_claims.claims
    text = [f"{_pct(lo)} to {_pct(hi)}" for lo, hi in zip(raw["ci_low"], raw["ci_high"])]
    hidden = {t for t, s in zip(text, shown["suppressed"]) if s}
    return hidden - {t for t, s in zip(text, shown["suppressed"]) if not s}


def test_report_html_shows_no_small_count_or_suppressed_estimate(run):
    res, _, _ = run
    html = res.report_html.read_text()
    text, alts = _html_text(html)
    for part in [text, *alts]:
        assert _small_counts_in(part) == [], _small_counts_in(part)
        for interval in _forbidden_intervals(res.analysis):
            assert interval not in part
    labels = res.analysis.disclosed_claims.claims
    for label in labels.loc[labels["suppressed"], "label"]:
        assert suppressed_sentence(label, MIN).removesuffix(".") in text
    assert text.count("suppressed") >= len(labels[labels["suppressed"]])


def test_summary_lines_show_no_small_count(run):
    res, _, _ = run
    lines = summary_lines(res.analysis, other_claims=True)
    body = [ln for ln in lines if not ln.startswith(("claim (", "other claims"))]
    assert len(body) == len(res.analysis.claims.claims) + len(res.analysis.other_claims.claims)
    for line in body:
        n, excluded = line.split()[-2:]
        for count in (n, excluded):
            assert count in ("0", f"<{MIN}", "*") or int(count) >= MIN, line
        if " suppressed " in line:
            assert not re.search(r"\d\.\d\d", line), line


def test_figures_draw_no_small_count_and_no_suppressed_estimate(run):
    res, _, _ = run
    a = res.analysis
    raw, shown = a.claims.claims, a.disclosed_claims.claims
    hidden_values = np.concatenate(
        [raw.loc[shown["suppressed"], c].to_numpy(dtype=float) for c in ("estimate", "ci_low", "ci_high")]
    )
    visible_values = np.concatenate(
        [shown[c].dropna().to_numpy(dtype=float) for c in ("estimate", "ci_low", "ci_high")]
    )
    drawn_anyway = np.concatenate([visible_values, [0.0, 1.0, a.plan.p0]])  # axis limits and the p0 line
    forbidden = [v for v in hidden_values[np.isfinite(hidden_values)] if not np.isclose(drawn_anyway, v).any()]
    assert forbidden  # the tiny clinic has suppressed estimates to look for
    figures = report_figures(a)
    assert {f.name for f in figures if f.figure is not None} == {"claims", "curve", "trajectories", "conditions"}
    for f in figures:
        texts = [t.get_text() for t in f.figure.findobj(matplotlib.text.Text)]
        assert texts, f.name
        for t in texts:
            assert _small_counts_in(t) == [], (f.name, t)
            for interval in _forbidden_intervals(a):
                assert interval not in t, (f.name, t)
    forest = next(f.figure for f in figures if f.name == "claims").axes[0]
    drawn = np.concatenate([np.asarray(line.get_xdata(), dtype=float) for line in forest.get_lines()])
    assert not any(np.isclose(drawn, v).any() for v in forbidden)
    # the curve stops where fewer than 11 episodes are at risk
    curve = a.claims.curves[a.claims.curves["id"] == raw["id"].iloc[0]]
    last = curve.loc[curve["n_risk"] >= MIN, "time"].max()
    step = next(f.figure for f in figures if f.name == "curve").axes[0].get_lines()[0]
    assert np.asarray(step.get_xdata(), dtype=float).max() <= last < curve["time"].max()


def test_sentences_of_shown_claims_name_no_small_count(run):
    _, doc, _ = run
    sentences = [c["sentence"] for c in doc["claims"]] + [c["sentence"] for c in doc["other_claims"]]
    sentences += [a["sentence"] for c in doc["other_claims"] for a in c["analyses"]]
    for s in sentences:
        assert _small_counts_in(s) == [], s


def test_research_files_only_on_request(run):
    res, _, _ = run
    assert sorted(p.name for p in res.out_dir.iterdir()) == [".outcomes-output.json", "report.html", "results.json"]
    assert res.unsuppressed_json is None and res.notebooks == ()


# --------------------------------------------------------------------------- known answers


def test_disclose_claims_known_answer():
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "t", "t", "s", "s"],
            "primary": [True, True, True, True, True, False, True, False],
            "n": pd.array([40, 10, 11, 0, 30, 12, 8, 40], dtype="Int64"),
            "n_excluded": pd.array([3, 0, 25, 0, 11, 1, 0, 0], dtype="Int64"),
            "estimate": [0.5, 0.6, 0.7, np.nan, 0.2, 0.3, 0.9, 0.8],
            "p_value": [0.01, 0.02, 0.03, np.nan, 0.04, 0.05, 0.06, 0.07],
            "verdict": [
                "supported",
                "inconclusive",
                "not_supported",
                "inconclusive",
                "supported",
                None,
                "supported",
                None,
            ],
        }
    )
    groups = pd.DataFrame({"id": ["t", "t", "c", "c"], "group": ["x", "y", "x", "y"], "n": [25, 5, 11, 0]})
    out = disclose_claims(frame, 11, groups=groups)
    assert out["suppressed"].tolist() == [False, True, False, False, True, True, True, True]
    assert out["verdict"].tolist()[:5] == ["supported", SUPPRESSED, "not_supported", "inconclusive", SUPPRESSED]
    assert out["verdict"].isna().tolist()[5] and out["verdict"].tolist()[6] == SUPPRESSED
    assert out["estimate"].isna().tolist() == [False, True, False, True, True, True, True, True]
    assert out["p_value"].isna().tolist() == out["estimate"].isna().tolist()
    assert out["n"].isna().tolist() == [False, True, False, False, False, False, True, False]
    assert out["n"].fillna(-1).tolist() == [40, -1, 11, 0, 30, 12, -1, 40]
    assert out["n_excluded"].fillna(-1).tolist() == [-1, 0, 25, 0, 11, -1, 0, 0]
    assert out["n_text"].tolist() == ["40", "<11", "11", "0", "30", "12", "<11", "40"]
    assert out["suppression_reason"].tolist()[4] == "a compared group has fewer than 11 episodes"
    assert out["suppression_reason"].tolist()[7] == "fewer than 11 episodes"  # its claim's primary row is small
    assert "sentence" not in out.columns  # prose is the report's (tests/test_sentences.py)
    # the input is untouched; another min_cell_size moves the line
    assert frame["estimate"].notna().sum() == 7
    assert disclose_claims(frame, 5, groups=groups)["suppressed"].tolist() == [False] * 8
    assert disclose_claims(frame, 11, suppressed_ids=["a"])["suppressed"].tolist()[0]


def test_hide_counts_protects_a_small_cell_against_its_total():
    t = pd.DataFrame({"no_baseline": [7, 40, 3], "unreachable": [30, 0, 2]}, index=["pain", "rom", "grip"])
    out = hide_counts(t, count_cols=["no_baseline", "unreachable"], total_col="n_excluded")
    assert out.loc["pain"].isna().tolist() == [True, True, False]  # 7 hidden, 30 hidden with it, 37 shown
    assert out.loc["rom"].tolist() == [40, 0, 40]
    assert out.loc["grip"].isna().all()  # 3 + 2 = 5: everything small
    assert count_marks(pd.Series([7, 30, 37]), out.loc["pain"].reset_index(drop=True)).tolist() == ["<11", "*", "37"]


def test_exclusions_and_n_excluded_agree_after_suppression():
    a = analyse()  # the 400-episode sample: pain excludes 7 + 1 episodes
    shown = a.disclosed_claims
    pain = shown.claims.iloc[0]
    assert pd.isna(pain["n_excluded"]) and pain["n"] == 392 and not pain["suppressed"]
    assert shown.exclusions.loc[shown.exclusions["id"] == pain["id"], "n"].isna().all()
    raw = a.claims.claims
    big = raw["n"] >= MIN
    assert shown.claims.loc[big, "estimate"].tolist() == raw.loc[big, "estimate"].tolist()  # large cells unchanged


def test_analysis_pickle_round_trip_and_refusal(tmp_path):
    a = analyse()
    path = save_analysis(a, tmp_path / "a.pickle")
    b = load_analysis(path)
    assert b.loaded.sha256 == a.loaded.sha256 and "other_claims" in vars(b)  # carried, not recomputed
    with pytest.raises(FileExistsError):
        save_analysis(a, path)
    (tmp_path / "junk.pickle").write_bytes(b"not a pickle")
    from outcomes.errors import OutcomesError

    with pytest.raises(OutcomesError, match="analysis_file"):
        load_analysis(tmp_path / "junk.pickle")
    assert Path(path).exists()
