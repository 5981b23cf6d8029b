"""YAML for plans and mappings, read so that no file can surprise the reader.

PyYAML's ``safe_load`` builds only plain data (no Python objects), but it still keeps
the *last* of two equal keys without a word (``k: 3`` ... ``k: 4`` silently means 4),
expands aliases without bound (the "billion laughs" bomb is a few hundred bytes), and
reads whatever path it is given. :func:`load_yaml_file` and :func:`parse_yaml` add,
before any value is used:

* the file checks of :func:`outcomes.safety.files.read_input_bytes` (regular file, at most
  ``max_plan_bytes``), UTF-8 text;
* a duplicate key anywhere is refused (``yaml_duplicate_key``), with its key path and line;
* at most ``max_yaml_aliases`` aliases, and at most ``max_yaml_nodes`` values once aliases
  are expanded (``limit_max_yaml_aliases``, ``limit_max_yaml_nodes``): a recursive alias or a
  bomb is refused before it is expanded;
* nesting too deep for the parser is refused (``yaml_syntax``), not a crash.

Written by hand because no maintained YAML library offers all three checks on top of the
safe loader (``ruamel.yaml`` refuses duplicate keys but has no alias budget).

Examples
--------
>>> parse_yaml("k: 3\\np0: 0.5\\n", source="plan.yaml")
{'k': 3, 'p0': 0.5}
>>> parse_yaml("k: 3\\nk: 4\\n", source="plan.yaml")  # doctest: +NORMALIZE_WHITESPACE
Traceback (most recent call last):
...
outcomes.errors.OutcomesError: plan.yaml, row 2, column k: [yaml_duplicate_key] the key appears more than once in the
    same mapping (first on line 1); keep one
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from outcomes.errors import OutcomesError, Problem
from outcomes.safety.files import read_input_bytes
from outcomes.safety.limits import current_limits, limit_problem

__all__ = ["key_path", "load_yaml_file", "parse_yaml"]


class _CountingLoader(yaml.SafeLoader):
    """The safe loader, counting aliases while composing (before anything is expanded)."""

    def __init__(self, stream: str, max_aliases: int, source: str) -> None:
        super().__init__(stream)
        self.aliases = 0
        self.max_aliases = max_aliases
        self.source = source

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > self.max_aliases:
                # types-PyYAML leaves Parser.peek_event unannotated (it returns the next Event)
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise OutcomesError(
                    limit_problem(
                        "max_yaml_aliases",
                        "the file uses more aliases (*name) than allowed",
                        self.source,
                        (mark.line + 1,),
                    )
                )
        return super().compose_node(parent, index)


def key_path(parts: list[Any]) -> str:
    """A key path as written in messages: ``other_claims.soreness.hours``, ``measures[2]``.

    Examples
    --------
    >>> key_path(["other_claims", "soreness", "hours"]), key_path(["secondary_measures", 2]), key_path([])
    ('other_claims.soreness.hours', 'secondary_measures[2]', '(top level)')
    """
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _check_tree(root: yaml.Node, source: str, max_nodes: int) -> None:
    """Refuse duplicate keys, and more than ``max_nodes`` values with aliases expanded (iteratively)."""
    stack: list[tuple[yaml.Node, list[Any]]] = [(root, [])]
    seen = 0
    while stack:
        node, path = stack.pop()
        seen += 1
        if seen > max_nodes:
            raise OutcomesError(
                limit_problem(
                    "max_yaml_nodes", "the file holds more values than allowed once its aliases are expanded", source
                )
            )
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], int] = {}
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else None
                if name is not None and name != "<<":
                    ident = (key.tag, name)
                    if ident in first:
                        raise OutcomesError(
                            Problem(
                                "yaml_duplicate_key",
                                "the key appears more than once in the same mapping (first on "
                                f"line {first[ident]}); keep one",
                                source,
                                (key.start_mark.line + 1,),
                                key_path([*path, name]),
                            )
                        )
                    first[ident] = key.start_mark.line + 1
                stack.append((key, path))
                stack.append((value, [*path, name if name is not None else "?"]))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, [*path, i]) for i, item in enumerate(node.value))


def parse_yaml(text: str, *, source: str) -> Any:
    """Parse YAML text with the checks of the module docstring; ``None`` for an empty document.

    Raises
    ------
    OutcomesError
        ``yaml_syntax``, ``yaml_duplicate_key``, ``limit_max_yaml_aliases``, ``limit_max_yaml_nodes``.

    Examples
    --------
    >>> levels = [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    >>> bomb = "l0: &l0 [x]\\n" + "\\n".join(levels)  # 9**8 = 43 million values once expanded
    >>> parse_yaml(bomb, source="p.yaml")  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    outcomes.errors.OutcomesError: p.yaml, row 7: [limit_max_yaml_aliases] the file uses more aliases (*name) than
        allowed; ...
    """
    limits = current_limits()
    loader: _CountingLoader | None = None
    try:
        loader = _CountingLoader(text, limits.max_yaml_aliases, source)  # the reader refuses control characters
        node = loader.get_single_node()
        if node is None:
            return None
        _check_tree(node, source, limits.max_yaml_nodes)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        rows = (mark.line + 1,) if mark is not None else ()
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise OutcomesError(Problem("yaml_syntax", f"not valid YAML ({problem})", source, rows)) from None
    except RecursionError:
        raise OutcomesError(Problem("yaml_syntax", "not valid YAML (nested too deeply)", source)) from None
    except ValueError:  # e.g. an integer of more than 4,300 digits (Python's int() limit)
        raise OutcomesError(
            Problem(
                "yaml_syntax",
                "not valid YAML (a value that cannot be read, such as a number with thousands of digits)",
                source,
            )
        ) from None
    finally:
        if loader is not None:
            loader.dispose()


def load_yaml_file(path: str | os.PathLike[str], *, source: str | None = None, what: str = "a YAML file") -> Any:
    """Read and parse a YAML file (plan, mapping) with every check of the module docstring.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "plan.yaml"
    >>> _ = p.write_text("k: 4\\n")
    >>> load_yaml_file(p)
    {'k': 4}
    """
    name = str(path) if source is None else source
    data = read_input_bytes(path, source=name, limit="max_plan_bytes", what=what)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise OutcomesError(Problem("encoding_utf8", "is not UTF-8 text", name)) from None
    if "\x00" in text:
        raise OutcomesError(Problem("yaml_syntax", "not valid YAML (binary content)", name))
    return parse_yaml(text, source=name)
