"""``-e`` values: ``KEY=VALUE`` (a string) or ``@FILE`` (a YAML/JSON mapping).

``@FILE`` is read by :func:`opsrunner.yamlsrc.load_yaml`, as every YAML file: a regular file
of at most 8 MiB, UTF-8, aliases bounded; every problem names ``file:line:column``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from opsrunner.errors import UsageError
from opsrunner.yamlsrc import load_yaml

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_extra_vars(items: Iterable[str]) -> dict[str, Any]:
    """Merge ``-e`` items left to right (later ones win)."""
    out: dict[str, Any] = {}
    for item in items:
        if item.startswith("@"):
            if not item[1:]:
                raise UsageError("-e '@': give the file after @ (-e @vars.yml)")
            out.update(_from_file(Path(item[1:])))
            continue
        name, sep, value = item.partition("=")
        if not sep or not _NAME.match(name.strip()):
            raise UsageError(f"-e {item!r}: expected KEY=VALUE (KEY a variable name) or @FILE")
        out[name.strip()] = value
    return out


def _from_file(path: Path) -> dict[str, Any]:
    data, positions = load_yaml(path, kind="extra-vars file", error=UsageError, empty_ok=True)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError("an extra-vars file (-e @FILE) holds a mapping of variable names to "
                         "values, got "
                         f"{'a list' if isinstance(data, list) else type(data).__name__}",
                         positions.value(()))
    for key in data:
        if not (isinstance(key, str) and _NAME.match(key)):
            raise UsageError(f"{key!r} is not a variable name (letters, digits "
                             "and _, not starting with a digit)", positions.key((key,)))
    return data
