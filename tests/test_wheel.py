"""The wheel is the package: built from this checkout, installed into a fresh venv outside it, it reports.

``test_wheel_contents`` only builds the wheel (a few seconds). The others install it with its dependencies
into a new virtual environment in a temporary directory (pip's cache makes that 1.5-2 minutes, most of it
unpacking numpy, pandas, scipy, pyarrow and matplotlib) and run ``outcomes`` from a directory outside the
repository, so nothing can come from the checkout: they are marked slow (``make test`` and CI run them).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import outcomes
from outcomes.cli import main
from outcomes.report.html import NOTEBOOKS

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "outcomes"
# What the installed package needs from the repository's top level: wheel path -> its one source.
FROM_TOP_LEVEL = {
    "outcomes/data/sample/visits.csv": ROOT / "data" / "sample" / "visits.csv",
    **{f"outcomes/notebooks/{name}.ipynb": ROOT / "notebooks" / f"{name}.ipynb" for name in NOTEBOOKS},
}
# Package data that lives inside src/outcomes.
PACKAGE_DATA = {
    "outcomes/py.typed",
    "outcomes/spec/plans/default.yaml",
    *(f"outcomes/report/templates/{p.name}" for p in (SRC / "report" / "templates").glob("*.j2")),
}
# Variables that would let the fresh environment see the checkout (or another environment).
_LEAKY = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "OUTCOMES_NOTEBOOKS", "PYTHONSTARTUP"}


def _outside_repository(path: Path) -> Path:
    assert not path.resolve().is_relative_to(ROOT), f"{path} is inside the repository"
    return path


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _LEAKY}


def _run(args: list[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=_env(), capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{args[:3]} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip wheel`` of the checkout: the declared build backend (hatchling) in an isolated build env."""
    out = _outside_repository(tmp_path_factory.mktemp("wheel"))
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", out, ROOT], cwd=out)
    (built,) = out.glob("outcomes-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv outside the repository with the wheel and its dependencies installed."""
    base = _outside_repository(tmp_path_factory.mktemp("fresh"))
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=base)
    # The dependencies at the versions of the environment running this test, so that results.json can be
    # compared byte for byte with the checkout's (another numpy or pandas could move a last digit).
    constraints = base / "constraints.txt"
    pins = {d.metadata["Name"].lower(): d.version for d in importlib.metadata.distributions() if d.metadata["Name"]}
    pins.pop("outcomes", None)
    constraints.write_text("".join(f"{name}=={version}\n" for name, version in sorted(pins.items())))
    pip = [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-compile", "--constraint", constraints]
    _run([*pip, wheel], cwd=base)
    return venv


@pytest.fixture(scope="module")
def checkout_results(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """results.json of ``outcomes report`` (bundled sample) run from this checkout."""
    out = tmp_path_factory.mktemp("checkout") / "r"
    assert main(["report", "--out", str(out)]) == 0
    return (out / "results.json").read_bytes()


def test_wheel_contents(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        packaged = {name: z.read(name) for name in FROM_TOP_LEVEL if name in names}
        metadata = z.read(f"outcomes-{outcomes.__version__}.dist-info/METADATA").decode()
    modules = {f"outcomes/{p.relative_to(SRC).as_posix()}" for p in SRC.rglob("*.py") if "__pycache__" not in p.parts}
    dist_info = {n for n in names if n.startswith(f"outcomes-{outcomes.__version__}.dist-info/")}
    # The package's modules, its data, the notebooks and the sample: nothing else (no tests, no
    # .pyc, no other data file of data/ or notebooks/ such as raw_emr_export.csv or the jupytext pairs).
    assert modules <= names
    assert names - dist_info - modules == PACKAGE_DATA | set(FROM_TOP_LEVEL)
    assert f"outcomes-{outcomes.__version__}.dist-info/licenses/LICENSE" in dist_info
    assert not any(n.endswith(".pyc") or "__pycache__" in n or n.startswith("tests/") for n in names)
    # Built from the one source: the packaged copies are the repository's bytes.
    for name, source in FROM_TOP_LEVEL.items():
        assert packaged[name] == source.read_bytes(), name
    assert f"\nVersion: {outcomes.__version__}\n" in metadata
    assert "\nLicense-Expression: BSD-3-Clause\n" in metadata


@pytest.mark.slow
def test_installed_wheel_reports_the_bundled_sample(fresh_venv: Path, checkout_results: bytes) -> None:
    work = _outside_repository(fresh_venv.parent / "work")
    work.mkdir()
    where = _run(
        [
            fresh_venv / "bin" / "python",
            "-c",
            "import json, importlib.metadata, outcomes, outcomes.resources as r; print(json.dumps(["
            "outcomes.__file__, str(r.sample_data()), str(r.research_notebooks()), outcomes.__version__, "
            "importlib.metadata.version('outcomes')]))",
        ],
        cwd=work,
    )
    package, sample, notebooks, version, dist_version = json.loads(where.stdout)
    venv = fresh_venv.resolve()
    for path in (package, sample, notebooks):
        assert Path(path).resolve().is_relative_to(venv), path
    assert version == dist_version == outcomes.__version__

    _run([fresh_venv / "bin" / "outcomes", "report", "--out", work / "r"], cwd=work)
    assert (work / "r" / "report.html").is_file()
    assert (work / "r" / "results.json").read_bytes() == checkout_results


@pytest.mark.slow
def test_installed_wheel_runs_the_research_notebooks(fresh_venv: Path) -> None:
    work = _outside_repository(fresh_venv.parent / "research")
    work.mkdir()
    _run([fresh_venv / "bin" / "outcomes", "report", "--research", "--out", work / "r"], cwd=work)
    research = work / "r" / "research"
    assert (research / "results.unsuppressed.json").is_file()
    assert sorted(p.stem for p in (research / "notebooks").glob("*.ipynb")) == sorted(NOTEBOOKS)
