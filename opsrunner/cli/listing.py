"""``opsrunner plugins`` for people: each task, its plugin, what it does and its parameters.

Laid out for an 80-column terminal: the docstring's prose, reflowed, then one table row per
parameter with its name, its type over its default (or "required"), and its description from
the docstring's ``:param`` line. Inline literals lose their backquotes and get a colour.
"""

from __future__ import annotations

import re

from rich.console import Console
from rich.table import Table
from rich.text import Text

from opsrunner.registry import Registry
from opsrunner.taskdoc import TaskDoc, parse_doc
from opsrunner.taskspec import TaskSpec

TYPE_WIDTH = 22
"""The widest type / default cell; a longer default goes under the description instead."""

_LITERAL = re.compile(r"``(?P<double>.+?)``|:\w+:`~?(?P<role>[^`]+)`|`(?P<single>[^`]+)`")


def print_tasks(registry: Registry, console: Console | None = None) -> None:
    """Print every registered task, sorted by name (former names are not listed)."""
    console = console or Console()
    for name, spec in sorted(registry.tasks.items()):
        doc = parse_doc(spec.doc)
        console.rule(Text.assemble((name, "bold"), "  ", (f"({spec.plugin})", "dim")),
                     align="left")
        if doc.prose:
            paragraphs = (" ".join(p.split()) for p in doc.prose.split("\n\n"))
            console.print(readable("\n\n".join(paragraphs)))
        if spec.params:
            console.print(parameter_table(spec, doc))
        console.print()


def parameter_table(spec: TaskSpec, doc: TaskDoc) -> Table:
    """The parameters of ``spec``: name, type over default or "required", description."""
    table = Table(box=None, padding=(0, 1), pad_edge=False, header_style="dim")
    table.add_column("parameter", no_wrap=True, style="bold")
    table.add_column("type / default", max_width=TYPE_WIDTH)
    table.add_column("description", overflow="fold")
    for param in spec.params.values():
        kind = Text(param.type_name)
        text = readable(doc.params.get(param.name, ""))
        default = "" if param.required else repr(param.default)
        if param.required:
            kind.append("\nrequired", style="yellow")
        elif len(default) + 2 <= TYPE_WIDTH:
            kind.append(f"\n= {default}", style="dim")
        else:
            text.append(("\n" if text else "") + f"default: {default}", style="dim")
        table.add_row(Text(param.name), kind, text)
    return table


def readable(text: str) -> Text:
    """``text`` with ``literal``, `literal` and :role:`target` shown as coloured words."""
    out = Text()
    last = 0
    for match in _LITERAL.finditer(text):
        out.append(text[last:match.start()])
        out.append(match["double"] or match["role"] or match["single"], style="cyan")
        last = match.end()
    out.append(text[last:])
    return out
