"""The inventory ``opsrunner lab up`` writes: SimpleInventory layout, ready to use with -i."""

from __future__ import annotations

from typing import Any

import yaml

from opsrunner_lab.layout import ENGINE, ENGINE_PORTS, LabLayout

GROUPS = {"engine": "engines", "kvm": "kvm_hosts", "guest": "guests"}


def engine_api_vars(layout: LabLayout) -> dict[str, Any]:
    """Where and how to reach the engine API: URL, user, password (a secret file), CA."""
    from opsrunner_lab.engine_api.server import admin_password_file
    from opsrunner_lab.engine_api.sso import ensure_admin_password

    password = admin_password_file(layout)
    ensure_admin_password(password)
    return {"engine_url": f"https://{layout.engine_address}/ovirt-engine/api",
            "engine_user": "admin@internal",
            "engine_password": {"secret_file": str(password)},
            "engine_ca_file": str(layout.sysroot(ENGINE) / "etc/pki/ovirt-engine/ca.pem")}


def write_inventory(layout: LabLayout) -> None:
    """Write hosts.yaml, groups.yaml and defaults.yaml into ``layout.inventory``."""
    hosts: dict[str, Any] = {}
    for host in layout.hosts():
        data: dict[str, Any] = {"sysroot": str(layout.sysroot(host.name)), "lab": True}
        if host.name == ENGINE:
            data["ports"] = dict(ENGINE_PORTS)
            data["engine_fqdn"] = "engine.lab.local"
            data["engine_address"] = layout.engine_address
            data.update(engine_api_vars(layout))
        if host.role == "guest":
            data["vm_name"] = host.name  # the engine VM this guest is
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
