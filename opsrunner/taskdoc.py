"""A task's docstring read for people: its prose, and each parameter's description.

Parameters are described with Sphinx's field lines, ``:param name: text``, continued on the
lines below that are indented deeper. ``opsrunner plugins`` shows the prose first and the
descriptions in its parameter table.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

_PARAM = re.compile(r"(?P<indent>\s*):param\s+(?:(?P<names>\w+(?:\s*,\s*\w+)+)|(?:[^:]*\s)?(?P<name>\w+))"
                    r"\s*:(?P<text>.*)")


@dataclass(frozen=True)
class TaskDoc:
    """``prose``: the docstring without its ``:param`` lines; ``params``: name -> description."""

    prose: str = ""
    params: dict[str, str] = field(default_factory=dict)


def parse_doc(doc: str | None) -> TaskDoc:
    """Split a docstring (indented or not) into its prose and its parameter descriptions.

    A ``:param name:`` line (also ``:param type name:``, or ``:param a, b:`` for several
    parameters sharing one text) starts a description; the following non-blank lines indented
    deeper continue it, joined with single spaces. A parameter given without text maps to "".
    The prose is every other line, with runs of blank lines collapsed to one and no blank line
    first or last.
    """
    params: dict[str, str] = {}
    prose: list[str] = []
    current: list[str] = []
    depth = 0
    for line in inspect.cleandoc(doc or "").splitlines():
        start = _PARAM.fullmatch(line)
        if start:
            current = re.split(r"\s*,\s*", start["names"]) if start["names"] else [start["name"]]
            depth = len(start["indent"])
            params.update(dict.fromkeys(current, start["text"].strip()))
        elif current and line.strip() and len(line) - len(line.lstrip()) > depth:
            for name in current:
                params[name] = f"{params[name]} {line.strip()}".strip()
        else:
            current = []
            if line.strip() or (prose and prose[-1]):
                prose.append(line.rstrip())
    while prose and not prose[-1]:
        prose.pop()
    return TaskDoc("\n".join(prose), params)
