"""``opsrunner plugins`` for people: each task, its plugin, parameters and docstring."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from opsrunner.registry import Registry


def print_tasks(registry: Registry, console: Console | None = None) -> None:
    """Print every registered task, sorted by name."""
    console = console or Console()
    for name, spec in sorted(registry.tasks.items()):
        console.rule(f"[bold]{name}[/]  [dim]({spec.plugin})[/]", align="left")
        if spec.doc:
            console.print(Text(spec.doc), highlight=False, soft_wrap=True)
        if spec.params:
            table = Table(show_header=True, box=None, padding=(0, 2))
            table.add_column("parameter")
            table.add_column("type")
            table.add_column("default")
            for p in spec.params.values():
                table.add_row(Text(p.name), Text(p.type_name),
                              Text("(required)" if p.required else repr(p.default)))
            console.print(table)
        console.print()
