"""Sphinx configuration for the ``outcomes`` API reference (``make docs``).

Built offline: no intersphinx (a build must not need the network), no theme assets fetched at build
time.  ``make docs`` runs ``sphinx-build -W --keep-going -n``: every warning is an error and every
cross-reference (``:func:``, ``:class:``, ``:mod:``, ``:data:`` and the type hints in signatures) must
resolve.  Only third-party names, which would need intersphinx, are excused below.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import types
from pathlib import Path
from typing import Any

from docutils import nodes
from pydantic import BaseModel
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

import outcomes

HERE = Path(__file__).resolve().parent

project = "outcomes"
author = "outcomes contributors"
copyright = "outcomes contributors"
release = outcomes.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
]

# The layer pages list their modules in autosummary tables without :toctree:, and document each module
# with automodule on the same page: no stub is generated, so nothing generated sits in docs/.
autosummary_generate = False
autodoc_default_options = {"members": True, "show-inheritance": True, "ignore-module-all": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True  # `field(default_factory=tuple)`, not `<factory>`
# numpydoc renders the Parameters / Returns sections; the class member tables it would add duplicate
# the members autodoc already documents.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

nitpicky = True
# Names from outside outcomes only (third-party and standard library: resolving them would need
# intersphinx, see above).  Never an ``outcomes`` name: a reference to outcomes that does not resolve
# is a bug in a docstring.
_THIRD_PARTY = (
    r"(pd|pandas|np|numpy|npt|scipy|statsmodels|matplotlib|jinja2|dask|distributed|yaml|pydantic|pydantic_core"
    r"|annotated_types|pyarrow|os|io|pathlib|collections|typing|types|argparse|logging|secrets|datetime|enum"
    r"|contextlib)"
)
nitpick_ignore_regex = [
    (r"py:.*", _THIRD_PARTY + r"(\..*)?"),
]

exclude_patterns = ["_build"]
templates_path: list[str] = []

html_theme = "pydata_sphinx_theme"
html_title = f"outcomes {release} API reference"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False
# The prose docs stay markdown in docs/ (no myst-parser); they are copied beside the HTML so the
# index's relative links (``architecture.md``) work in build/docs/.
html_extra_path = sorted(str(p) for p in HERE.parent.glob("*.md"))


# --- hooks ----------------------------------------------------------------------------------------------


def _signature(
    app: Sphinx, what: str, name: str, obj: object, options: Any, signature: str | None, annotation: str | None
) -> tuple[str, str | None] | tuple[()] | None:
    """Signatures autodoc shows as they are, except two cases.

    A pydantic model gets none: its ``__init__`` repeats every field's ``Annotated`` constraints.
    A constant keeps its own: ``()`` (not None) ends the event before numpydoc's handler, which
    reads a type alias such as ``tuple[...]`` as a call of ``tuple`` (and Sphinx then fails on it).
    """
    if what == "class" and inspect.isclass(obj) and issubclass(obj, BaseModel):
        return "", None
    if what in {"data", "attribute"}:
        return ()
    if signature and "<factory>" in signature and dataclasses.is_dataclass(obj):
        return _factory_defaults(obj, signature), annotation
    return None


def _factory_defaults(cls: Any, signature: str) -> str:
    """``rows: tuple[int, ...] = tuple()`` for a dataclass field's ``default_factory``.

    The ``__init__`` that :mod:`dataclasses` writes shows such a default as ``<factory>``, which is not
    Python: Sphinx then cannot parse the signature and splits its type hints into broken references.
    """
    for f in dataclasses.fields(cls):
        factory = f.default_factory
        if f.init and factory is not dataclasses.MISSING:
            shown = getattr(factory, "__qualname__", "")
            call = f"{shown}()" if shown.isidentifier() else "..."
            signature = re.sub(rf"(\b{f.name}: [^=]*=\s*)<factory>", r"\g<1>" + call, signature, count=1)
    return signature


def _field_of(cls: type, attr: str) -> bool:
    """Whether ``attr`` is a declared attribute of ``cls`` (described in its numpydoc Attributes section)."""
    if dataclasses.is_dataclass(cls) and attr in {f.name for f in dataclasses.fields(cls)}:
        return True
    return any(attr in vars(k).get("__annotations__", {}) for k in cls.__mro__) or hasattr(cls, attr)


def _canonical(target: str, module: str | None, objects: dict[str, Any]) -> str | None:
    """The documented name of ``target`` as Python resolves it in ``module``, or None.

    A docstring may name an object the way its module's code does: through an import
    (``OutcomesError`` in :mod:`outcomes.ingest.phi`) or a package's re-export
    (``outcomes.stats.km_at``).  This follows the name like Python does, to the one place the object is
    documented.  An attribute described in its class's Attributes section links to the class.
    """
    parts = target.split(".")
    obj: Any
    if parts[0] == "outcomes":
        for i in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            rest = parts[i:]
            break
        else:
            return None
    elif module is not None and module.startswith("outcomes."):
        obj, rest = importlib.import_module(module), parts
    else:
        return None
    name: str = obj.__name__
    for part in rest:
        parent, child = obj, getattr(obj, part, dataclasses.MISSING)
        if child is dataclasses.MISSING:
            if isinstance(parent, type) and _field_of(parent, part):
                return name
            return None
        qualname = getattr(child, "__qualname__", None)
        if isinstance(child, types.ModuleType):
            name = child.__name__
        elif isinstance(qualname, str) and isinstance(getattr(child, "__module__", None), str):
            name = f"{child.__module__}.{qualname}"
        else:
            name = f"{name}.{part}"
            if name not in objects:
                if isinstance(parent, type) and _field_of(parent, part):
                    return getattr(parent, "__module__", "") + "." + parent.__qualname__
                # a constant re-exported by value: the documented name that holds the same object
                same = [n for n in objects if n.rsplit(".", 1)[-1] == part and _value(n) is child]
                if len(same) != 1:
                    return None
                name = same[0]
        obj = child
    return name if name.startswith("outcomes.") and name in objects else None


def _value(name: str) -> object:
    module, _, attr = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attr, None)
    except ImportError:
        return None


def _in_layer(target: str, module: str, objects: dict[str, Any]) -> str | None:
    """A short name (``RawTable.codes``) that exactly one documented object of the current layer has.

    For the one-line summaries of autosummary tables (read in the package's context) and for a
    module naming a sibling's object it only imports for type checking.
    """
    layer = ".".join(module.split(".")[:2])
    head, _, rest = target.partition(".")
    found = [n for n in objects if n.startswith(layer + ".") and n.endswith("." + head)]
    if len(found) != 1:
        return None
    return _canonical(f"{found[0]}.{rest}", None, objects) if rest else found[0]


def _missing_reference(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.TextElement
) -> nodes.reference | None:
    if node.get("refdomain") != "py":
        return None
    domain = env.get_domain("py")
    objects = domain.objects  # type: ignore[attr-defined]
    target, module = node["reftarget"], node.get("py:module")
    name = _canonical(target, module, objects)
    if name is None and module and module.startswith("outcomes."):
        name = _in_layer(target, module, objects)
    if name is None:
        return None
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], name, node, contnode)


def setup(app: Sphinx) -> dict[str, bool]:
    app.connect("autodoc-process-signature", _signature, priority=400)  # before numpydoc
    app.connect("missing-reference", _missing_reference)
    return {"parallel_read_safe": True}
