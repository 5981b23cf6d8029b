"""The architecture is checked, not hoped for (docs/architecture.md).

import-linter (``lint-imports``, contracts in ``pyproject.toml``) proves the layering; these
tests prove what a layers contract cannot see: no import cycle anywhere, not even between
two modules of one layer; no import inside a function (the usual way to dodge a cycle),
except of an optional dependency; no module importing another module's private name.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "outcomes"
MODULES = sorted(SRC.rglob("*.py"))

#: Imported inside functions on purpose: optional extras (``pip install outcomes[dask]``), the
#: POSIX-only ``fcntl``, and papermill, which only ``report --research`` uses and whose import
#: (nbformat -> jsonschema -> rfc3987_syntax) costs seconds at every command's start-up.
OPTIONAL = ("dask", "distributed", "fcntl", "papermill")

#: Never imported by ``import outcomes.cli`` (the start-up of every command).
NOT_AT_STARTUP = ("papermill", "nbformat", "jsonschema", "dask", "distributed")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("outcomes")


def test_no_import_cycles(graph):
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if importer.startswith(f"{imported}.") or imported == "outcomes":
                continue  # a package's __init__ re-exporting its own modules is not a cycle
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back and not any(m == "outcomes" for m in back):
                cycles.append(" -> ".join((importer, *back)))
    assert not cycles, "\n".join(cycles)


def test_the_graph_sees_every_module(graph):
    assert {_module_name(p) for p in MODULES} <= set(graph.modules)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_are_at_module_level(path):
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    inner = [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        and id(node) not in top
        and not _optional(node)
        and not _type_checking_only(tree, node)
    ]
    assert not inner, "\n".join(inner)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_private_names_from_other_modules(path):
    own = _module_name(path)
    tree = ast.parse(path.read_text())
    private = [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("outcomes")
        and node.module != own
        and not (node.module or "").startswith(f"{own}.")  # a package's __init__ and its own modules
        and not _same_package_private_module(own, node.module or "")
        and any(alias.name.startswith("_") and not alias.name.startswith("__") for alias in node.names)
    ]
    assert not private, "\n".join(private)


def _same_package_private_module(own: str, module: str) -> bool:
    """``outcomes.stats._validate`` is private to ``outcomes.stats``: its own modules may use it."""
    last = module.rsplit(".", 1)[-1]
    return last.startswith("_") and own.rsplit(".", 1)[0] == module.rsplit(".", 1)[0]


def _optional(node: ast.Import | ast.ImportFrom) -> bool:
    names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
    return all(n.split(".")[0] in OPTIONAL for n in names)


def _type_checking_only(tree: ast.Module, node: ast.AST) -> bool:
    guards = {"TYPE_CHECKING", "typing.TYPE_CHECKING"}
    blocks = [b for b in tree.body if isinstance(b, ast.If) and ast.unparse(b.test) in guards]
    return any(child is node for block in blocks for child in ast.walk(block))


def test_the_command_starts_without_the_notebook_tools():
    roots = ", ".join(repr(m) for m in NOT_AT_STARTUP)
    code = f"import sys, outcomes.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in ({roots},)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out
