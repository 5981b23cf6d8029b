"""report.html is escaped by construction: hostile names from the plan, the data file and the
condition vocabulary are text on the page, never an element, an attribute or a script.

The report is rendered through the Python API (``build_report``) with a plan built by
``plan_from_mapping`` (the plan YAML loader accepts the same ``measures:`` mapping; a
Plan object keeps the test independent of the YAML front end) and a data file whose
name is hostile; condition labels come from the contract's vocabulary, so a hostile one
is patched in.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from outcomes.ingest.synth import SynthParams, simulate_visits, write_visits
from outcomes.report.html import build_report
from outcomes.spec import contract
from outcomes.spec.plan import Plan, plan_from_mapping

SCRIPT = '<script>alert("label")</script>'
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
TEMPLATE = "{{7*7}}{% raw %}"
URL = "javascript:alert(1)"
MATH = r"$\frac{1}{0}$ \usepackage"  # mathtext / LaTeX would parse (and fail on) this

HOSTILE_PLAN = {
    "name": f"{SCRIPT}{ATTRIBUTE}",
    "description": f"{TEMPLATE} <a href='{URL}'>click</a> <iframe src=//evil.example></iframe>",
    "n_boot": 200,
    "measures": {
        "pain_nprs": {"label": f"{SCRIPT} {MATH}", "unit": f"{ATTRIBUTE} {TEMPLATE}"},
        "rom_cervical_rotation_left": {"label": f"<style>body{{display:none}}</style>{URL}"},
    },
}
HOSTILE_FILE = '"><img src=x onerror=alert(1)>{{7*7}}.csv'
HOSTILE_CONDITION = f"<svg onload=alert(1)>{MATH}"


class _Structure(HTMLParser):
    """Every element and attribute of a page, and the text of every attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: set[tuple[str, str]] = set()
        self.values: list[tuple[str, str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            self.attributes.add((tag, name))
            self.values.append((tag, name, value or ""))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Structure:
    parser = _Structure()
    parser.feed(html)
    parser.close()
    return parser


def _report(tmp_path: Path, name: str, plan: Plan, csv_name: str) -> str:
    visits = simulate_visits(SynthParams(n_episodes=120), seed=3).visits
    data = tmp_path / name / csv_name
    data.parent.mkdir()
    write_visits(visits, data)
    res = build_report(data, plan, tmp_path / name / "out", progress=False)
    return res.report_html.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pages(tmp_path_factory, request):
    tmp = tmp_path_factory.mktemp("injection")
    benign = _report(tmp, "benign", Plan(n_boot=200), "visits.csv")
    mp = pytest.MonkeyPatch()
    request.addfinalizer(mp.undo)
    mp.setitem(contract.CONDITIONS, "neck_pain", HOSTILE_CONDITION)  # the label drawn for a condition code
    hostile = _report(tmp, "hostile", plan_from_mapping(HOSTILE_PLAN, source="hostile.yaml"), HOSTILE_FILE)
    return _parse(benign), _parse(hostile), hostile


def test_the_plan_really_carries_the_hostile_labels():
    plan = plan_from_mapping(HOSTILE_PLAN, source="hostile.yaml")
    assert plan.measure("pain_nprs").label.startswith(SCRIPT) and plan.name.startswith(SCRIPT)


def test_hostile_names_add_no_element_or_attribute(pages):
    benign, hostile, _ = pages
    assert hostile.tags == benign.tags  # same elements, in the same order
    assert hostile.attributes == benign.attributes


def test_no_script_no_event_handler_no_external_reference(pages):
    _, hostile, html = pages
    assert not {"script", "iframe", "svg", "object", "embed", "link", "base", "form"} & set(hostile.tags)
    assert not [a for a in hostile.attributes if a[1].lower().startswith("on")]
    for tag, name, value in hostile.values:
        if name in ("src", "href", "action", "srcset"):
            assert value.startswith("data:image/png;base64,"), (tag, name, value[:60])
    assert "<script" not in html.lower()  # not even inside a comment or an attribute


def test_hostile_text_is_shown_as_text(pages):
    _, hostile, html = pages
    text = "".join(hostile.text)
    assert SCRIPT in text  # the label is there, verbatim, as text
    assert HOSTILE_FILE in text  # the file name (not its directory)
    assert TEMPLATE in text and "49" not in TEMPLATE  # template syntax in data is not evaluated
    assert f"{SCRIPT}{ATTRIBUTE}" in text  # the plan's name
    assert "&lt;script&gt;" in html and "&#34;&gt;&lt;img" in html
    alts = [v for tag, name, v in hostile.values if tag == "img" and name == "alt"]
    assert len(alts) == 4 and all(len(a) > 40 for a in alts)
    assert any(SCRIPT in a for a in alts)  # the measure label inside an attribute, escaped
    assert any(HOSTILE_CONDITION in a for a in alts)  # the condition label, drawn and described
