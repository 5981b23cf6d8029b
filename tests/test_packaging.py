"""environment.yml and pyproject.toml must list the same dependencies; the version is written once."""

import importlib.metadata
import re
import tomllib
from pathlib import Path

import yaml

import outcomes

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _spec(req: str) -> str:
    # Package names compare case-insensitively (PEP 503): conda-forge writes types-pyyaml for types-PyYAML.
    spec = req.strip().replace(" ", "")
    name = _name(spec)
    return name + spec[len(name) :]


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted += extra
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str) and _name(d) not in {"python", "pip"}]
    assert sorted(map(_spec, conda)) == sorted(map(_spec, wanted))
    pip_part = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert pip_part == [{"pip": ["-e ."]}]


def test_pandas_3_required():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "pandas>=3.0" in project["dependencies"]
    assert not any(_name(d) == "lifelines" for d in project["dependencies"])


def test_version_single_sourced():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["hatch"]["version"]["path"] == "src/outcomes/version.py"
    assert outcomes.__version__ == importlib.metadata.version("outcomes")
