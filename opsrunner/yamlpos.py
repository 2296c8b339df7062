"""YAML loading that remembers where each mapping key, mapping value and list item came from.

Mappings load as :class:`YamlMap` and sequences as :class:`YamlList` (plain ``dict``/``list``
subclasses); scalars load as usual, their places kept by the container that holds them.
Duplicate keys are an error (PyYAML would silently keep the last).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from opsrunner.errors import Location, UsageError


class YamlMap(dict[Any, Any]):
    """A mapping plus the location of itself, of each key and of each value."""

    def __init__(self, location: Location) -> None:
        super().__init__()
        self.location = location
        self.key_locations: dict[Any, Location] = {}
        self.value_locations: dict[Any, Location] = {}

    def key_at(self, key: Any) -> Location:
        """Where ``key`` is written (the mapping's own place when unknown)."""
        return self.key_locations.get(key, self.location)

    def value_at(self, key: Any) -> Location:
        """Where the value of ``key`` is written (the mapping's own place when unknown)."""
        return self.value_locations.get(key, self.location)


class YamlList(list[Any]):
    """A list plus the location of itself and of each item."""

    def __init__(self, location: Location) -> None:
        super().__init__()
        self.location = location
        self.item_locations: list[Location] = []

    def item_at(self, index: int) -> Location:
        """Where item ``index`` is written."""
        if 0 <= index < len(self.item_locations):
            return self.item_locations[index]
        return self.location


class _Loader(yaml.SafeLoader):
    """SafeLoader building YamlMap/YamlList."""


def _where(node: yaml.Node) -> Location:
    mark = node.start_mark
    return Location(mark.name, mark.line + 1, mark.column + 1)


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Iterator[YamlMap]:
    result = YamlMap(_where(node))
    yield result
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable):
            raise ConstructorError(None, None, "a mapping key must be a plain value",
                                   key_node.start_mark)
        if key in result.key_locations:
            first = result.key_locations[key]
            problem = f"duplicate key {key!r} (first at line {first.line})"
            raise ConstructorError(None, None, problem, key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_locations[key] = _where(key_node)
        result.value_locations[key] = _where(value_node)


def _construct_list(loader: _Loader, node: yaml.SequenceNode) -> Iterator[YamlList]:
    result = YamlList(_where(node))
    yield result
    for item in node.value:
        result.append(loader.construct_object(item, deep=True))
        result.item_locations.append(_where(item))


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_list)


def load_yaml_file(path: Path, error: type[UsageError] = UsageError) -> Any:
    """The one document in ``path`` (``None`` when empty); failures raise ``error``."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise error(f"{path} is not UTF-8 text", Location(str(path))) from None
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror}", Location(str(path))) from None
    return load_yaml_text(text, str(path), error)


def load_yaml_text(text: str, source: str, error: type[UsageError] = UsageError) -> Any:
    """Like :func:`load_yaml_file` for text read from ``source`` (used in locations)."""
    loader = _Loader(text)
    loader.name = source
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        place = Location(source, mark.line + 1, mark.column + 1) if mark else Location(source)
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        raise error(f"invalid YAML: {problem}{context}", place) from None
    except yaml.YAMLError as exc:
        raise error(f"invalid YAML: {exc}", Location(source)) from None
    finally:
        loader.dispose()
