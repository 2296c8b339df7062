"""The inventory ``opsrunner lab up`` writes: SimpleInventory layout, ready to use with -i."""

from __future__ import annotations

from typing import Any

import yaml

from opsrunner.lab.layout import ENGINE, ENGINE_PORTS, LabLayout

GROUPS = {"engine": "engines", "kvm": "kvm_hosts", "guest": "guests"}


def write_inventory(layout: LabLayout) -> None:
    """Write hosts.yaml, groups.yaml and defaults.yaml into ``layout.inventory``."""
    hosts: dict[str, Any] = {}
    for host in layout.hosts():
        data: dict[str, Any] = {"sysroot": str(layout.sysroot(host.name)), "lab": True}
        if host.name == ENGINE:
            data["ports"] = dict(ENGINE_PORTS)
            data["engine_fqdn"] = "engine.lab.local"
            data["engine_address"] = layout.engine_address
        hosts[host.name] = {"hostname": host.address, "port": host.port,
                            "groups": [GROUPS[host.role]], "data": data}
    groups = {name: {"groups": ["olvm"]} for name in GROUPS.values()}
    groups["olvm"] = {}
    defaults = {"username": "root", "ssh_key": str(layout.client_key),
                "known_hosts": str(layout.known_hosts)}
    folder = layout.inventory
    folder.mkdir(parents=True, exist_ok=True)
    header = "# Written by `opsrunner lab up`; rewritten on every lab up.\n"
    for name, content in (("hosts.yaml", hosts), ("groups.yaml", groups),
                          ("defaults.yaml", defaults)):
        (folder / name).write_text(header + yaml.safe_dump(content, sort_keys=False))
