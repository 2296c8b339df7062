"""``opsrunner lock status|break``: the target locks of runs (see :mod:`opsrunner.state.locks`).

Exit codes: 0 done; 1 usage error, a refused break, or a host that could not be checked.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from opsrunner.cli import INVENTORY_ENV
from opsrunner.cli.guard import guard
from opsrunner.state import STATE_ENV, StateDir

if TYPE_CHECKING:
    from opsrunner.connection import Connection
    from opsrunner.host import Host
    from opsrunner.state.locks import LockInfo

F = TypeVar("F", bound=Callable[..., Any])


def _state_option(f: F) -> F:
    return click.option("--state-dir", envvar=STATE_ENV, type=click.Path(file_okay=False),
                        help=f"The control node's state folder. Default: ${STATE_ENV}, "
                             "else .opsrunner.")(f)


def _inventory_option(help_text: str) -> Callable[[F], F]:
    return click.option("-i", "--inventory", "inventory", envvar=INVENTORY_ENV,
                        help=f"{help_text} Default: ${INVENTORY_ENV}.")


@click.group()
def lock() -> None:
    """Target locks: one run at a time on a host, across control nodes."""


def _hosts(inventory: str) -> tuple[dict[str, Host], Callable[[Host], Connection]]:
    """The inventory's hosts, and how to connect to one (host keys strictly verified)."""
    from opsrunner.connection import ConnectOptions
    from opsrunner.inventory import load_inventory
    from opsrunner.plugins import load_registry

    registry = load_registry(())
    hosts = load_inventory(inventory, registry).hosts
    for host in hosts.values():
        registry.connection_factory(host.connection)

    def connect(host: Host) -> Connection:
        return registry.connection_factory(host.connection)(host, ConnectOptions())

    return hosts, connect


@lock.command("status")
@_state_option
@_inventory_option("Also check the host locks of the inventory's hosts (connects to each).")
@click.option("--output", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: one JSON document on stdout.")
def status(state_dir: str | None, inventory: str | None, output: str) -> None:
    """List the locks: this control node's, and with -i each host's own."""

    def action() -> int:
        from opsrunner.state.locks import lock_status

        folder = StateDir.resolve(state_dir).locks
        if inventory:
            hosts, connect = _hosts(inventory)
            infos = lock_status(folder, list(hosts.values()), connect)
        else:
            infos = lock_status(folder)
        if output == "json":
            click.echo(json.dumps({"folder": str(folder),
                                   "locks": [info.as_json() for info in infos]}, indent=2))
        else:
            _print_table(folder, infos)
        return 0

    sys.exit(guard(action))


def _print_table(folder: Path, infos: list[LockInfo]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # piped output: wide enough for whole timestamps and paths rather than ellipses
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 240)
    if not infos:
        console.print(f"no locks in {folder}")
        return
    table = Table(box=None, padding=(0, 1), pad_edge=False, header_style="dim")
    for column in ("host", "where", "state", "run", "workflow", "user@control host", "pid",
                   "since"):
        table.add_column(column)
    style = {"held": "yellow", "stale": "red", "unknown": "red", "free": "green"}
    for info in infos:
        owner = info.owner
        cells = ([owner.run_id, owner.workflow, f"{owner.user}@{owner.control_host}",
                  str(owner.pid), owner.started] if owner else ["", "", "", "", ""])
        table.add_row(Text(info.host), info.where, Text(info.state, style.get(info.state, "")),
                      *(Text(cell) for cell in cells))  # Text: no markup from recorded values
    console.print(table)
    for info in infos:
        if info.note:
            console.print(f"{info.host} ({info.where}, {info.state}): {info.note}",
                          markup=False)


@lock.command("break")
@click.argument("host")
@click.option("--run", "run_id", required=True, metavar="RUN_ID",
              help="The run id of the lock's owner (from `opsrunner lock status`); a lock of "
                   "any other run is left alone.")
@_state_option
@_inventory_option("Also break HOST's own lock (connects to it).")
def break_(host: str, run_id: str, state_dir: str | None, inventory: str | None) -> None:
    """Break HOST's stale locks of run RUN_ID (the control node's, and with -i the host's).

    A lock whose run is still alive is refused: stop that run first.
    """

    def action() -> int:
        from opsrunner.errors import UsageError, unknown_name_message
        from opsrunner.state.locks import break_lock

        folder = StateDir.resolve(state_dir).locks
        if inventory:
            hosts, connect = _hosts(inventory)
            if host not in hosts:
                raise UsageError(unknown_name_message("host", host, hosts))
            said = break_lock(folder, host, run_id, hosts[host], connect)
        else:
            said = break_lock(folder, host, run_id)
        click.echo(said)
        return 0

    sys.exit(guard(action))
