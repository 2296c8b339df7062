"""Safe YAML loading into plain Python values, with the position of every key and value.

:func:`load_yaml` returns the document as plain ``dict``/``list``/scalars plus a
:class:`Positions` table keyed by *key paths*: the tuple of mapping keys and list indexes
leading from the document root to a value, e.g. ``("steps", 2, "with", "cmd")``. The root
is ``()``; a :class:`Place` walks those paths. Duplicate keys, unknown tags, recursive aliases,
a value a core tag refuses (``!!int x``, ``!!bool maybe``), lists and mappings nested deeper
than :data:`MAX_DEPTH`, alias expansion past :data:`MAX_NODES` values, text that is not UTF-8
and syntax errors are refused with an error carrying ``file:line:column`` (1-based): a syntax
error reads ``YAML syntax error: <problem>``; a duplicate key names where it was first written.
A file is read with :func:`opsrunner.regularfile.read_regular_file` (a regular file of at most
:data:`opsrunner.regularfile.YAML_LIMIT` bytes). Every YAML file opsrunner reads goes through
:func:`load_yaml`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from opsrunner.errors import FileRefused, Location, UsageError, WorkflowError
from opsrunner.regularfile import YAML_LIMIT, read_regular_file

try:
    from yaml._yaml import CParser as _CParser
except ImportError:  # PyYAML built without libyaml: the pure-Python loader reads everything
    _CParser = None  # type: ignore[assignment, misc]

KeyPath = tuple[Hashable, ...]

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_BINARY_TAG = "tag:yaml.org,2002:binary"
MAX_NODES = 200_000
"""Values in one document after alias expansion (bounds "billion laughs")."""
MAX_DEPTH = 100
"""Levels of lists and mappings within each other (and of merge keys within merged values)."""
_COLLECTION_TAGS = frozenset({_MAP_TAG, _SEQ_TAG, "tag:yaml.org,2002:set",
                              "tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs"})
_NULL = re.compile(r"~|null|Null|NULL|")
_BOOLS = "true, false, yes, no, on, off"


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
        raw = read_regular_file(path, what=kind, limit=YAML_LIMIT).data
    except FileRefused as exc:
        raise error(f"{kind} {exc.reason}", Location(source)) from None
    except OSError as exc:
        raise error(f"cannot read {kind}: {exc.strerror or exc}", Location(source)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = _offset_location(raw, exc.start, source)
        bad = raw[exc.start]
        raise error(f"{kind} is not valid UTF-8 (byte 0x{bad:02x} at offset {exc.start})",
                    where) from None
    return parse_yaml(text.removeprefix("\ufeff"), source, kind=kind, error=error,
                      empty_ok=empty_ok)


def parse_yaml(text: str, source: str, *, kind: str = "YAML file",
               error: type[UsageError] = WorkflowError, empty_ok: bool = False) -> tuple[Any, Positions]:
    """Like :func:`load_yaml` for ``text`` read from ``source`` (the file name in locations)."""
    try:
        node, loader = _compose(text)
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


class _Loader(yaml.SafeLoader):
    """The pure-Python safe loader (it counts columns in characters; its error messages are
    the ones users see), composing lists and mappings at most :data:`MAX_DEPTH` deep."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        return _compose_bounded(self, parent, index)


if _CParser is not None:
    class _FastLoader(Composer, _CParser, SafeConstructor, Resolver):
        """libyaml's event parser under the same composer, constructor and resolver as
        :class:`_Loader`: the same values and marks (but for an empty value in a flow
        collection, marked where libyaml puts it), about three times faster. Used only for
        documents it reads without error; any problem is reported by :class:`_Loader`."""

        def __init__(self, text: str) -> None:
            _CParser.__init__(self, text)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self._depth = 0

        def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
            return _compose_bounded(self, parent, index)

        def get_single_node(self) -> yaml.Node | None:
            return Composer.get_single_node(self)


def _compose_bounded(loader: Any, parent: yaml.Node | None, index: int) -> yaml.Node | None:
    """The composer's step for one node, refusing a list or mapping below :data:`MAX_DEPTH`
    levels (the composer recurses once per level)."""
    if loader._depth >= MAX_DEPTH and loader.check_event(yaml.SequenceStartEvent,
                                                         yaml.MappingStartEvent):
        raise _Problem(_too_deep(), loader.peek_event().start_mark)
    loader._depth += 1
    try:
        node: yaml.Node | None = Composer.compose_node(loader, parent, index)
        return node
    finally:
        loader._depth -= 1


_DIVERGENT = re.compile("[\t?!\ufeff\x85\u2028\u2029]")


def _libyaml_agrees(text: str) -> bool:
    """False for a text libyaml may read otherwise than the pure-Python loader: with a tab or
    a ``?`` (libyaml accepts ``a:\tb`` and ``{k: a?b}``), a ``!`` (a bare ``!`` tag), a BOM or
    Unicode line break inside, or no final newline (the marks of a trailing empty value)."""
    return text.endswith("\n") and _DIVERGENT.search(text) is None


def _compose(text: str) -> tuple[yaml.Node | None, SafeConstructor]:
    """The node tree of ``text`` and the loader that composed it (to construct scalars).

    A document libyaml reads is composed from its events (fast); anything else is read again
    by :class:`_Loader`, whose errors are the ones raised. So is, from the start, a text where
    the two may differ (:func:`_libyaml_agrees`): the pure-Python reading is the reference.
    """
    if _CParser is not None and _libyaml_agrees(text):
        fast = _FastLoader(text)
        try:
            return fast.get_single_node(), fast
        except Exception:  # the pure-Python loader words the problem
            pass
        finally:
            fast.dispose()
    loader = _Loader(text)
    try:
        return loader.get_single_node(), loader
    finally:
        loader.dispose()


def _unsupported(node: yaml.Node) -> str:
    """``unsupported YAML tag '!vault'``, or why a plain-value tag cannot take a list."""
    if node.tag in yaml.SafeLoader.yaml_constructors and node.tag not in _COLLECTION_TAGS:
        what = "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
        return f"tag !!{node.tag.rsplit(':', 1)[-1]} applies to a plain value, not to {what}"
    if node.tag in (_MAP_TAG, _SEQ_TAG):
        want = "a mapping" if node.tag == _MAP_TAG else "a list"
        return f"tag !!{node.tag.rsplit(':', 1)[-1]} applies to {want} only"
    return f"unsupported YAML tag {node.tag!r}"


def _too_deep() -> str:
    return (f"lists and mappings nested more than {MAX_DEPTH} levels deep "
            f"(the limit is {MAX_DEPTH})")


class _Builder:
    """Turns a composed node tree into plain values, recording positions by key path."""

    def __init__(self, loader: SafeConstructor, source: str) -> None:
        self.loader = loader
        self.source = source
        self.keys: dict[KeyPath, Location] = {}
        self.values: dict[KeyPath, Location] = {}
        self._active: set[int] = set()
        self._count = 0

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self._count += 1
        if self._count > MAX_NODES:
            raise _Problem(f"document too large (more than {MAX_NODES} values after aliases)",
                           node.start_mark)
        self.values[path] = _mark_location(node.start_mark, self.source)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if len(path) >= MAX_DEPTH:  # deeper through aliases than the composer saw
            raise _Problem(_too_deep(), node.start_mark)
        if id(node) in self._active:
            raise _Problem("recursive alias (a value that contains itself)", node.start_mark)
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
                return self._mapping(node, path)
            if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
                return self._sequence(node, path)
            raise _Problem(_unsupported(node), node.start_mark)
        finally:
            self._active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        own: dict[int, Hashable] = {}  # id(key node) -> key, each constructed once
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self._key(key_node)
            if key in seen:
                first = seen[key]
                raise _Problem(f"duplicate key {key!r} (first at line {first.line + 1}, "
                               f"column {first.column + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark
            own[id(key_node)] = key
        result: dict[Any, Any] = {}
        for key_node, value_node in self._entries(node, 0):
            key = own[id(key_node)] if id(key_node) in own else self._key(key_node)
            self.keys[(*path, key)] = _mark_location(key_node.start_mark, self.source)
            result[key] = self.build(value_node, (*path, key))
        return result

    def _entries(self, node: yaml.MappingNode, depth: int) -> list[tuple[yaml.Node, yaml.Node]]:
        """The key and value nodes of ``node`` with ``<<`` merge keys resolved as YAML 1.1
        says (explicit keys win, then the merged mappings in the order listed); unlike
        PyYAML's own, bounded and safe against a mapping that merges itself."""
        if depth >= MAX_DEPTH:
            raise _Problem(f"merge keys (<<) nested more than {MAX_DEPTH} levels deep "
                           f"(the limit is {MAX_DEPTH})", node.start_mark)
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        own: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                own.append((key_node, value_node))
                continue
            sources = (value_node.value if isinstance(value_node, yaml.SequenceNode)
                       else [value_node])
            for source in reversed(sources):  # the first listed wins: added last
                if not isinstance(source, yaml.MappingNode) or source.tag != _MAP_TAG:
                    raise _Problem("a merge key (<<) takes a mapping or a list of mappings",
                                   source.start_mark)
                if id(source) in self._active:
                    raise _Problem("recursive alias (a value that contains itself)",
                                   source.start_mark)
                self._active.add(id(source))
                try:
                    merged += self._entries(source, depth + 1)
                finally:
                    self._active.discard(id(source))
        return merged + own

    def _sequence(self, node: yaml.SequenceNode, path: KeyPath) -> list[Any]:
        result = []
        for index, item in enumerate(node.value):
            self.keys[(*path, index)] = _mark_location(item.start_mark, self.source)
            result.append(self.build(item, (*path, index)))
        return result

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag not in type(self.loader).yaml_constructors or node.tag in _COLLECTION_TAGS:
            raise _Problem(_unsupported(node), node.start_mark)
        problem = _refused_scalar(node)
        if problem:
            raise _Problem(problem, node.start_mark)
        try:
            return self.loader.construct_object(node, deep=True)
        except Exception as exc:
            raise _Problem(_construct_failure(node, exc), node.start_mark) from None

    def _key(self, node: yaml.Node) -> Hashable:
        if not isinstance(node, yaml.ScalarNode):
            raise _Problem("a mapping key must be a plain value, not a mapping or list",
                           node.start_mark)
        key = self._scalar(node)
        if not isinstance(key, Hashable):
            raise _Problem("a mapping key must be a plain value", node.start_mark)
        return key


def _refused_scalar(node: yaml.ScalarNode) -> str:
    """Why a core tag's constructor would accept ``node`` wrongly or crash on it ("" if not)."""
    value = node.value
    if node.tag == _NULL_TAG and not _NULL.fullmatch(value):
        return f"!!null takes no value (or ~, null), got {value!r}"
    if node.tag == _BOOL_TAG and value.lower() not in _BOOLS.split(", "):
        return f"{value!r} is not a boolean (!!bool takes: {_BOOLS})"
    if node.tag == _BINARY_TAG:
        try:
            base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            return "!!binary takes base64 text (A-Z, a-z, 0-9, +, / and = padding)"
    return ""


def _construct_failure(node: yaml.ScalarNode, exc: Exception) -> str:
    kind = node.tag.rsplit(":", 1)[-1]
    if kind == "timestamp":
        detail = f" ({exc})" if isinstance(exc, ValueError) and str(exc) else ""
        return f"{node.value} is not a date{detail}; expected YYYY-MM-DD (or a date and time)"
    what = {"int": "an integer", "float": "a number"}.get(kind, f"a valid {kind}")
    return f"{node.value!r} is not {what} (!!{kind})"


def _mark_location(mark: yaml.Mark, source: str) -> Location:
    return Location(source, mark.line + 1, mark.column + 1)


def _offset_location(data: bytes, offset: int, source: str) -> Location:
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return Location(source, data.count(b"\n", 0, offset) + 1, column)
