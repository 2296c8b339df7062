"""``opsrunner lab up|status|down``: the lab, the embedded default inventory.

Every command first checks the lab extra is installed (:func:`.extra.require_extra`): without
it, one line says what to install and the command exits 1.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import click

from opsrunner.cli.guard import guard
from opsrunner_lab.extra import require_extra


@click.group()
def lab() -> None:
    """The lab: a local OLVM estate of real servers on loopback (the default inventory)."""


def _lab_dir(path: str | None) -> Path:
    from opsrunner_lab.layout import default_lab_dir

    return Path(path).resolve() if path else default_lab_dir()


def _run(action: Callable[[], int]) -> NoReturn:
    """Exit with ``action``'s status; first, exit 1 with the install hint if the lab extra is
    missing (before anything could import its packages)."""

    def checked() -> int:
        require_extra()
        return action()

    sys.exit(guard(checked))


@lab.command("up")
@click.option("--dir", "folder", type=click.Path(file_okay=False),
              help="Lab folder (default: $OPSRUNNER_LAB_DIR or /var/lib/opsrunner/lab).")
@click.option("--kvm-hosts", type=click.IntRange(1, 80), default=None,
              help="Number of KVM hosts (default: as before, else 2).")
@click.option("--guests", default=None, metavar="NAMES",
              help="Comma-separated guest names, each one a VM of the engine; the prefix is the "
                   "Oracle Linux release, e.g. ol8-vm1,ol7-vm1,ol6-vm1,ol9-vm1 (default: as before, "
                   "else ol8-vm1).")
def lab_up(folder: str | None, kvm_hosts: int | None, guests: str | None) -> None:
    """Create and start the lab (idempotent); print the inventory path."""

    def action() -> int:
        import time

        from opsrunner_lab import manager
        from opsrunner_lab.layout import check_guests

        names = None
        if guests is not None:
            try:
                names = check_guests([n.strip() for n in guests.split(",") if n.strip()])
            except ValueError as error:
                raise click.BadParameter(str(error), param_hint="--guests") from None
        started = time.monotonic()
        layout = manager.up(_lab_dir(folder), kvm_hosts, guests=names)
        click.echo(f"lab up in {time.monotonic() - started:.1f}s; inventory:", err=True)
        click.echo(str(layout.inventory))
        return 0

    _run(action)


@lab.command("status")
@click.option("--dir", "folder", type=click.Path(file_okay=False))
def lab_status(folder: str | None) -> None:
    """Each host and service, up or down, with its address and ports (exit 3 if any is down).

    A guest whose VM is powered off in the engine shows "down (VM down)": expected, exit 0.
    """

    def action() -> int:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        from opsrunner_lab import manager

        rows = manager.status(_lab_dir(folder))
        table = Table("host", "service", "state", "address", "ports", "pid")
        for row in rows:
            state = "up" if row.active else "down (VM down)" if row.vm_down else "down"
            style = "green" if row.active else "yellow" if row.vm_down else "red"
            table.add_row(row.host, row.service, Text(state, style=style),
                          row.address, ", ".join(f"{k} {v}" for k, v in row.ports.items()),
                          str(row.pid or "-"))
        Console().print(table)
        return 0 if rows and all(r.active or r.vm_down for r in rows) else 3

    _run(action)


@lab.command("down")
@click.option("--dir", "folder", type=click.Path(file_okay=False))
@click.option("--purge", is_flag=True, help="Also delete the lab folder.")
def lab_down(folder: str | None, purge: bool) -> None:
    """Stop every lab service and sshd (and with --purge delete the lab)."""

    def action() -> int:
        from opsrunner_lab import manager

        stopped = manager.down(_lab_dir(folder), purge)
        click.echo(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
        return 0

    _run(action)
