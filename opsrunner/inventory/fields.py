"""Helpers shared by the inventory readers: loading a YAML file, checking value types, paths
and secret references in vars.

Every check raises :class:`InventoryError` naming ``where`` (e.g. ``host 'web1', field
'port'``) and the location in the file.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, NoReturn

from opsrunner.errors import InventoryError, Location, shown_value, suggest
from opsrunner.pathnames import path_problem
from opsrunner.secrets import is_secret_ref, read_secret
from opsrunner.yamlsrc import Place, load_yaml

_DIGITS = re.compile(r"[0-9]{1,5}", re.ASCII)


def load(file: Path) -> tuple[Any, Place]:
    """The one YAML document in ``file`` (``None`` when empty) and the place of its root.

    :raises InventoryError: unreadable file or invalid YAML (e.g. "YAML syntax error: ...").
    """
    data, positions = load_yaml(file, kind="inventory file", error=InventoryError,
                                empty_ok=True)
    return data, Place(positions)


def fail(where: str, problem: str, location: Location) -> NoReturn:
    """Raise the InventoryError ``<location>: <where>: <problem>``."""
    raise InventoryError(f"{where}: {problem}", location)


def unknown_key(where: str, kind: str, name: object, allowed: Collection[str],
                location: Location) -> NoReturn:
    """Raise "unknown <kind> 'x'; did you mean 'y'? (allowed: ...)"."""
    listing = ", ".join(sorted(allowed))
    fail(where, f"unknown {kind} {name!r}{suggest(str(name), allowed)} (allowed: {listing})",
         location)


def mapping(value: Any, where: str, location: Location,
            what: str = "a mapping") -> dict[Any, Any]:
    """``value`` as a mapping; ``None`` (an empty entry) is an empty one."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        fail(where, f"must be {what}, got {_kind(value)}", location)
    return value


def text(value: Any, where: str, location: Location) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value:
        fail(where, f"must be a non-empty string, got {_kind(value)}", location)
    return value


def word(value: Any, where: str, location: Location) -> str:
    """A non-empty string without spaces or control characters (a host or user name)."""
    name = text(value, where, location)
    if any(c.isspace() or not c.isprintable() for c in name):
        fail(where, f"must be a name without spaces or control characters, got {_kind(name)}",
             location)
    return name


def port(value: Any, where: str, location: Location, *, digits: bool = False) -> int:
    """A TCP port number (an integer 1-65535); with ``digits`` also a string of ASCII digits
    (Ansible's ``ansible_port: "22"``)."""
    if digits and isinstance(value, str) and _DIGITS.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        fail(where, f"must be a port number (an integer 1-65535), got {_kind(value)}", location)
    return value


def choice(value: Any, choices: Mapping[str, str], where: str, location: Location,
           note: str = "") -> str:
    """What ``choices`` maps the string ``value`` to; ``note`` follows the listing."""
    if not isinstance(value, str) or value not in choices:
        fail(where, f"must be one of {', '.join(choices)}{note}, got {_kind(value)}", location)
    return choices[value]


def boolean(value: Any, where: str, location: Location) -> bool:
    """``true`` or ``false``."""
    if not isinstance(value, bool):
        fail(where, f"must be true or false, got {_kind(value)}", location)
    return value


def seconds(value: Any, where: str, location: Location) -> float:
    """A number of seconds, 0 or more (0 turns the feature off)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e6:
        fail(where, f"must be a number of seconds (0 or more), got {_kind(value)}", location)
    return float(value)


def count(value: Any, where: str, location: Location) -> int:
    """A whole number, 1 or more."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 1e6:
        fail(where, f"must be a whole number (1 or more), got {_kind(value)}", location)
    return value


def names(value: Any, where: str, place: Place) -> list[tuple[str, Location]]:
    """A list of names (the value at ``place``), each with its location."""
    if not isinstance(value, list):
        fail(where, f"must be a list of group names, got {_kind(value)}", place.value)
    result: list[tuple[str, Location]] = []
    for index, item in enumerate(value):
        at = place.child(index).value
        result.append((text(item, where, at), at))
    return result


def path(value: Any, base_dir: Path, where: str, location: Location) -> str:
    """A file path; ``~`` is expanded and a relative path is taken relative to ``base_dir``.

    A path that cannot name a file (a NUL, a name over 255 bytes, ``~nosuchuser``) is refused.
    """
    given = text(value, where, location)
    try:
        expanded = Path(given).expanduser()
    except RuntimeError:  # ~user of an unknown user, or no home folder
        fail(where, f"must be a file path, got {_kind(given)}, whose home folder is unknown",
             location)
    full = expanded if expanded.is_absolute() else base_dir / expanded
    problem = path_problem(full)
    if problem is not None:
        fail(where, f"must be a file path, got {_kind(given)}, which {problem}", location)
    return str(full)


def secret(ref: Any, base_dir: Path, where: str, location: Location, secrets: set[str]) -> str:
    """The secret a ``{secret_env: NAME}`` / ``{secret_file: PATH}`` reference points to.

    The value is added to ``secrets``; a ``secret_file`` that cannot name a file is refused
    by :func:`opsrunner.secrets.read_secret`.
    """
    value = read_secret(ref, base_dir, where, location=location, error=InventoryError)
    secrets.add(value)
    return value


def resolve_vars(value: Any, base_dir: Path, where: str, place: Place,
                 secrets: set[str]) -> Any:
    """A copy of ``value`` (written at ``place``), every secret reference in it (at any depth)
    read."""
    if is_secret_ref(value):
        return secret(value, base_dir, where, place.value, secrets)
    if isinstance(value, dict):
        return {key: resolve_vars(item, base_dir, f"{where}.{key}", place.child(key), secrets)
                for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_vars(item, base_dir, f"{where}[{index}]", place.child(index), secrets)
                for index, item in enumerate(value)]
    return value


def _kind(value: Any) -> str:
    """What was given, as messages show it: ``nothing``, ``a list``, ``str 'x'``, ``int 7``."""
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return shown_value(value)
