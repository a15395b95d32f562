"""The one YAML loader of the specs, and how a spec error names its file and entry.

:func:`load` reads a YAML file safely (no Python tags) and refuses what PyYAML lets pass in
silence: a key given twice in one mapping (the last one would win) and a top level that
is not a mapping; a syntax error names its line and column. Every error is a
:class:`~transforms.sdtm.algorithms.SpecError` whose message starts with the file.

:class:`Entry` names a file and an entry in it, as the message of every spec error does::

    sdtm_specs/POMMAINT/sdtm/ae.yaml: variables[3].length: must be a whole number 1-200

``Entry(path) / "variables" / 3 / "length"`` builds that name; :func:`mapping`,
:func:`sequence` and :func:`keys` check an entry's type and keys and say which entry is
wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from transforms.errors import SpecError


class Entry:
    """A file and the path of an entry in it (keys and list positions)."""

    __slots__ = ("file", "keys")

    def __init__(self, file: Path | str, keys: tuple[str | int, ...] = ()) -> None:
        self.file = Path(file)
        self.keys = keys

    def __truediv__(self, key: str | int) -> Entry:
        return Entry(self.file, (*self.keys, key))

    @property
    def path(self) -> str:
        """The entry's path in the file: ``variables[3].rule`` (empty for the whole file)."""
        text = ""
        for key in self.keys:
            text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
        return text

    def __str__(self) -> str:
        return f"{self.file}: {self.path}" if self.keys else str(self.file)

    def __repr__(self) -> str:
        return f"Entry({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Entry) and (self.file, self.keys) == (other.file, other.keys)

    def __hash__(self) -> int:
        return hash((self.file, self.keys))

    def error(self, problem: str) -> SpecError:
        """A spec error about this entry: ``<file>: <entry>: <problem>``."""
        return SpecError(f"{self}: {problem}")


def _kind(value: object) -> str:
    return "nothing" if value is None else type(value).__name__


def mapping(value: Any, where: Entry | str) -> Mapping[str, Any]:
    """``value`` if it is a mapping; else a spec error naming ``where``."""
    if not isinstance(value, Mapping):
        raise SpecError(f"{where}: expected a mapping, found {_kind(value)}")
    return value


def sequence(value: Any, where: Entry | str) -> Sequence[Any]:
    """``value`` if it is a list; else a spec error naming ``where``."""
    if not isinstance(value, list):
        raise SpecError(f"{where}: expected a list, found {_kind(value)}")
    return value


def keys(
    raw: Mapping[str, Any], where: Entry | str, required: set[str], optional: set[str]
) -> None:
    """A spec error naming ``where`` if a required key is missing or an unknown one given."""
    if missing := required - set(raw):
        raise SpecError(f"{where}: missing {sorted(missing)}")
    if unknown := set(raw) - required - optional:
        raise SpecError(f"{where}: unknown key(s) {sorted(unknown)}")


# libyaml's parser when PyYAML was built with it (8 times faster: the DAG file reads the
# specs while Airflow parses it), the same safe constructor either way.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[misc,valid-type]
    """The safe loader, refusing a key given twice in one mapping."""


def _mapping_once(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:  # the mapping's own keys; merged ones (<<) may be overridden
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            first = seen[key].start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} given twice (first on line {first})", key_node.start_mark
            )
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_once)


def load(path: Path) -> Mapping[str, Any]:
    """The mapping a YAML spec file holds. Refuses a missing or unreadable file, a syntax
    error (with its line and column), a key given twice and a top level that is not a
    mapping, each as a :class:`SpecError` that names the file. A file of comments alone
    holds an empty mapping."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SpecError(f"{path}: spec file missing") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read the spec: {exc}") from exc
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader: no Python tags
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise SpecError(f"{path}: {at}not valid YAML: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:  # nothing but comments: no entries
        return {}
    if not isinstance(data, Mapping):
        raise SpecError(f"{path}: the file must hold a mapping (key: value), found {_kind(data)}")
    return data
