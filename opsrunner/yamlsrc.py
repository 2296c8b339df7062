"""Safe YAML loading into plain Python values, with the position of every key and value.

:func:`load_yaml` returns the document as plain ``dict``/``list``/scalars plus a
:class:`Positions` table keyed by *key paths*: the tuple of mapping keys and list indexes
leading from the document root to a value, e.g. ``("steps", 2, "with", "cmd")``. The root
is ``()``; a :class:`Place` walks those paths. Duplicate keys, unknown tags, recursive aliases
and syntax errors are refused with an error carrying ``file:line:column`` (1-based): a syntax
error reads ``YAML syntax error: <problem>``; a duplicate key names where it was first written.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from opsrunner.errors import Location, UsageError, WorkflowError

KeyPath = tuple[Hashable, ...]

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAX_NODES = 200_000  # bounds alias expansion ("billion laughs")


@dataclass(frozen=True)
class Positions:
    """Where each key and value of one YAML document is written (a list item's key location
    is the item's own)."""

    file: str
    keys: Mapping[KeyPath, Location]
    values: Mapping[KeyPath, Location]

    def key(self, path: KeyPath) -> Location:
        """Location of the key at ``path`` (the nearest known ancestor's, if unknown)."""
        return self._nearest(self.keys, path)

    def value(self, path: KeyPath) -> Location:
        """Location of the value at ``path`` (the nearest known ancestor's, if unknown)."""
        return self._nearest(self.values, path)

    def _nearest(self, table: Mapping[KeyPath, Location], path: KeyPath) -> Location:
        for end in range(len(path), -1, -1):
            found = table.get(path[:end]) or self.values.get(path[:end])
            if found is not None:
                return found
        return Location(self.file)


@dataclass(frozen=True)
class Place:
    """A key path in one loaded document: ``key`` is where its key is written (for a list item:
    the item; for the root: the document), ``value`` where its value is."""

    positions: Positions
    path: KeyPath = ()

    def child(self, key: Hashable) -> Place:
        """The place of mapping key or list index ``key`` inside this value."""
        return Place(self.positions, (*self.path, key))

    @property
    def key(self) -> Location:
        return self.positions.key(self.path)

    @property
    def value(self) -> Location:
        return self.positions.value(self.path)


def load_yaml(path: str | Path, *, kind: str = "YAML file",
              error: type[UsageError] = WorkflowError, empty_ok: bool = False) -> tuple[Any, Positions]:
    """Read the single YAML document in ``path``.

    :param kind: what the file is, for messages ("empty workflow").
    :param error: the UsageError subclass raised for every problem.
    :param empty_ok: return ``None`` for an empty (or null) document instead of refusing it.
    """
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise error(f"cannot read {kind}: {exc.strerror or exc}", Location(source)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = _offset_location(raw, exc.start, source)
        bad = raw[exc.start]
        raise error(f"{kind} is not valid UTF-8 (byte 0x{bad:02x})", where) from None
    return parse_yaml(text.removeprefix("\ufeff"), source, kind=kind, error=error,
                      empty_ok=empty_ok)


def parse_yaml(text: str, source: str, *, kind: str = "YAML file",
               error: type[UsageError] = WorkflowError, empty_ok: bool = False) -> tuple[Any, Positions]:
    """Like :func:`load_yaml` for ``text`` read from ``source`` (the file name in locations)."""
    try:
        loader = yaml.SafeLoader(text)  # the pure-Python reader counts columns in characters
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, source, error) from None
    try:
        node = loader.get_single_node()
        builder = _Builder(loader, source)
        data = None if node is None else builder.build(node, ())
        if data is None and not empty_ok:
            where = _mark_location(node.start_mark, source) if node else Location(source, 1, 1)
            raise error(f"empty {kind}", where)
        return data, Positions(source, builder.keys, builder.values)
    except _Problem as exc:
        raise error(str(exc), _mark_location(exc.mark, source)) from None
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, source, kind, error) from None
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, source, error) from None
    finally:
        loader.dispose()


def _syntax_error(exc: yaml.MarkedYAMLError, source: str, kind: str,
                  error: type[UsageError]) -> UsageError:
    mark = exc.problem_mark or exc.context_mark
    where = _mark_location(mark, source) if mark else Location(source)
    if exc.problem == "but found another document":
        article = "an" if kind[:1].lower() in tuple("aeiou") else "a"
        return error(f"{article} {kind} holds a single YAML document; found a "
                     "second one", where)
    problem = exc.problem or exc.context or "invalid YAML"
    context = ""
    if exc.context and exc.problem:
        context = f" ({exc.context}"
        start = exc.context_mark
        if start is not None and mark is not None and start.line != mark.line:
            context += f" started at line {start.line + 1}, column {start.column + 1}"
        context += ")"
    return error(f"YAML syntax error: {problem}{context}", where)


def _reader_error(exc: yaml.reader.ReaderError, text: str, source: str,
                  error: type[UsageError]) -> UsageError:
    where = _offset_location(text.encode("utf-8"), len(text[:exc.position].encode()), source)
    code = exc.character if isinstance(exc.character, int) else ord(exc.character)
    return error(f"YAML syntax error: character 0x{code:02x} is not allowed", where)


class _Problem(Exception):
    """A well-formed document we refuse (duplicate key, unsupported tag, ...)."""

    def __init__(self, message: str, mark: yaml.Mark) -> None:
        super().__init__(message)
        self.mark = mark


class _Builder:
    """Turns a composed node tree into plain values, recording positions by key path."""

    def __init__(self, loader: yaml.SafeLoader, source: str) -> None:
        self.loader = loader
        self.source = source
        self.keys: dict[KeyPath, Location] = {}
        self.values: dict[KeyPath, Location] = {}
        self._active: set[int] = set()
        self._count = 0

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self._count += 1
        if self._count > _MAX_NODES:
            raise _Problem(f"document too large (more than {_MAX_NODES} values after aliases)",
                           node.start_mark)
        self.values[path] = _mark_location(node.start_mark, self.source)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if id(node) in self._active:
            raise _Problem("recursive alias (a value that contains itself)", node.start_mark)
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
                return self._mapping(node, path)
            if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
                return self._sequence(node, path)
            raise _Problem(f"unsupported YAML tag {node.tag!r}", node.start_mark)
        finally:
            self._active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self._key(key_node)
            if key in seen:
                first = seen[key]
                raise _Problem(f"duplicate key {key!r} (first at line {first.line + 1}, "
                               f"column {first.column + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark
        self.loader.flatten_mapping(node)  # resolves "<<" merge keys; explicit keys win
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node)
            self.keys[(*path, key)] = _mark_location(key_node.start_mark, self.source)
            result[key] = self.build(value_node, (*path, key))
        return result

    def _sequence(self, node: yaml.SequenceNode, path: KeyPath) -> list[Any]:
        result = []
        for index, item in enumerate(node.value):
            self.keys[(*path, index)] = _mark_location(item.start_mark, self.source)
            result.append(self.build(item, (*path, index)))
        return result

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag not in type(self.loader).yaml_constructors:
            raise _Problem(f"unsupported YAML tag {node.tag!r}", node.start_mark)
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:  # a date that does not exist: 2026-13-01
            kind = node.tag.rsplit(":", 1)[-1]
            expected = ("; expected YYYY-MM-DD (or a date and time)" if kind == "timestamp"
                        else "")
            what = "a date" if kind == "timestamp" else f"a valid {kind}"
            raise _Problem(f"{node.value} is not {what} ({exc}){expected}",
                           node.start_mark) from None

    def _key(self, node: yaml.Node) -> Hashable:
        if not isinstance(node, yaml.ScalarNode):
            raise _Problem("a mapping key must be a plain value, not a mapping or list",
                           node.start_mark)
        key = self._scalar(node)
        if not isinstance(key, Hashable):
            raise _Problem("a mapping key must be a plain value", node.start_mark)
        return key


def _mark_location(mark: yaml.Mark, source: str) -> Location:
    return Location(source, mark.line + 1, mark.column + 1)


def _offset_location(data: bytes, offset: int, source: str) -> Location:
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return Location(source, data.count(b"\n", 0, offset) + 1, column)
