"""Bring the lab up, report its state, take it down.

``up`` is idempotent: what runs keeps running, what is missing is made or started, and
files a workflow changed are kept (sysroots are never rebuilt over existing files). A guest
whose VM is powered off in the engine keeps its sshd stopped (see :mod:`.guest_power`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from opsrunner_lab import systemctl
from opsrunner_lab.daemon import LabServerError
from opsrunner_lab.guest_power import powered_off
from opsrunner_lab.lab_inventory import write_inventory
from opsrunner_lab.layout import ENGINE, LabHost, LabLayout
from opsrunner_lab.modules import python_m
from opsrunner_lab.sshd import client_key, sshd_daemon, sshd_of
from opsrunner_lab.systemctl import Systemctl
from opsrunner_lab.units import host_units


@dataclass(frozen=True)
class ServiceState:
    """One row of ``opsrunner lab status``; ``vm_down``: a guest's sshd or service, down because
    its VM is powered off in the engine (expected, not a fault)."""

    host: str
    service: str
    address: str
    ports: dict[str, int]
    active: bool
    pid: int | None
    vm_down: bool = False


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabServerError("the lab must run as root: it starts sshd (privilege separation), "
                             "PostgreSQL as user postgres and Apache on ports 80/443; "
                             "run it with sudo or as root")


def write_tools(layout: LabLayout, host: LabHost) -> None:
    """The host's ``bin/``: lab tools that shadow system ones (``systemctl`` first)."""
    folder = layout.bin_dir(host.name)
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "systemctl"
    script.write_text(f"#!/bin/sh\nexec {' '.join(python_m(systemctl))} "
                      f"--lab '{layout.root}' --host '{host.name}' \"$@\"\n")
    script.chmod(0o755)


def up(root: Path, kvm_hosts: int | None = None, address_prefix: str | None = None,
       guests: Sequence[str] | None = None) -> LabLayout:
    """Make and start everything; return the layout (its inventory is ready).

    ``kvm_hosts``, ``address_prefix`` and ``guests`` default to the lab's recorded ones. The
    engine knows one VM per guest: a guest added to the lab gets its VM when the engine starts,
    or at once from an engine that already runs; VMs already there are never changed.
    """
    require_root()
    layout = LabLayout.load(root)
    layout = LabLayout(root, layout.kvm_hosts if kvm_hosts is None else kvm_hosts,
                       address_prefix or layout.address_prefix,
                       layout.guests if guests is None else guests)
    layout.save()
    from opsrunner_lab.engine_tools import install_engine_tools
    from opsrunner_lab.host_tools import install_host_tools
    from opsrunner_lab.imageio import install_imageio
    from opsrunner_lab.ovn_provider import install_ovn_provider
    from opsrunner_lab.postgres import install_db_tools, provision
    from opsrunner_lab.sysroot import build_sysroots
    from opsrunner_lab.websocket_proxy import install_websocket_proxy

    key = client_key(layout.client_key.parent)
    build_sysroots(layout)
    install_db_tools(layout)
    install_engine_tools(layout)
    install_imageio(layout)
    install_websocket_proxy(layout)
    install_ovn_provider(layout)
    known: list[str] = []
    for host in layout.hosts():
        write_tools(layout, host)
    install_host_tools(layout)
    for host in layout.hosts():
        server = sshd_of(layout, host)
        server.prepare()
        server.authorize_once(Path(f"{key}.pub").read_text())
        if not (host.role == "guest" and powered_off(layout, host.name)):
            sshd_daemon(layout, host).start()
        known.append(server.known_hosts_line())
    layout.known_hosts.write_text("".join(known))
    layout.known_hosts.chmod(0o600)
    for host in layout.hosts():  # like a boot: the enabled units start (not in a VM that is off)
        if host.role == "guest" and powered_off(layout, host.name):
            continue
        ctl = Systemctl(layout, host.name)
        enabled = ctl.enabled()
        for name, unit in ctl.units.items():
            if enabled[name]:
                unit.start()
    add_guests_to_running_engine(layout)
    provision(layout)
    write_inventory(layout)
    return layout


def add_guests_to_running_engine(layout: LabLayout) -> list[str]:
    """If the engine simulator runs, have it add the VMs of guests it has none of (it does so
    itself when it starts); the names of the VMs added."""
    from opsrunner_lab.engine_api.lab_internal import request_guest_vms
    from opsrunner_lab.engine_api.seed import lab_guest_vms
    from opsrunner_lab.engine_api.unit import NAME as ENGINE_UNIT

    if not host_units(layout, ENGINE)[ENGINE_UNIT].is_active():
        return []
    return request_guest_vms(layout, lab_guest_vms(layout))


def status(root: Path) -> list[ServiceState]:
    """Every host's sshd and service units, up or down."""
    layout = LabLayout.load(root)
    rows = []
    for host in layout.hosts():
        off = host.role == "guest" and powered_off(layout, host.name)
        pid = sshd_daemon(layout, host).pid()
        rows.append(ServiceState(host.name, "sshd", host.address, {"ssh": host.port},
                                 pid is not None, pid, off and pid is None))
        for unit in host_units(layout, host.name).values():
            pid = unit.daemon.pid()
            rows.append(ServiceState(host.name, unit.name, host.address,
                                     unit.ports, pid is not None, pid, off and pid is None))
    return rows


def down(root: Path, purge: bool = False) -> list[str]:
    """Stop every service and sshd (services first); with ``purge`` delete the lab folder.
    Returns what was stopped."""
    layout = LabLayout.load(root)
    stopped = []
    for host in reversed(layout.hosts()):
        for unit in reversed(list(host_units(layout, host.name).values())):
            if unit.stop():
                stopped.append(f"{host.name}/{unit.name}")
        if sshd_daemon(layout, host).stop():
            stopped.append(f"{host.name}/sshd")
    if purge and layout.root.exists():
        if not layout.state_file.exists():
            raise LabServerError(f"{layout.root} does not look like a lab folder (no state.json); "
                                 f"not deleting it")
        shutil.rmtree(layout.root)
    return stopped
