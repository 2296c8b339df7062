"""``-e`` values: ``KEY=VALUE`` (a string) or ``@FILE`` (a YAML/JSON mapping)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from opsrunner.errors import UsageError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_extra_vars(items: Iterable[str]) -> dict[str, Any]:
    """Merge ``-e`` items left to right (later ones win)."""
    out: dict[str, Any] = {}
    for item in items:
        if item.startswith("@"):
            out.update(_from_file(Path(item[1:])))
            continue
        name, sep, value = item.partition("=")
        if not sep or not _NAME.match(name.strip()):
            raise UsageError(f"-e {item!r}: expected KEY=VALUE (KEY a variable name) or @FILE")
        out[name.strip()] = value
    return out


def _from_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"-e @{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"-e @{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) and _NAME.match(k) for k in data):
        raise UsageError(f"-e @{path}: expected a mapping of variable names to values")
    return data
