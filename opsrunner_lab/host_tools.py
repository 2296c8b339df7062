"""The small OLVM host tools of each lab host, in its ``bin/`` (first on its PATH).

- engine: ``update-ca-trust``, ``dnf`` (and ``yum``), ``rpm``, ``hosted-engine``;
- KVM hosts: ``update-ca-trust``, ``dnf``, ``yum``, ``rpm``;
- guests: ``dnf``, ``yum``, ``rpm``, and ``poweroff``, ``shutdown``, ``halt`` (which power the
  guest's VM off in the engine: :mod:`opsrunner_lab.tools.power`).

Each is a short ``#!<this Python>`` script calling its implementation in
:mod:`opsrunner_lab.tools` (``yum`` is a link to ``dnf``, as on Oracle Linux 8). The
programs of the lab's packages are linked in by ``dnf install`` (see
:mod:`opsrunner_lab.tools.lab_packages`). Installing also makes what a fresh host of the role
has: the extracted CA trust, and on the engine a deployed hosted engine's configuration.
"""

from __future__ import annotations

import os
from pathlib import Path

from opsrunner_lab.layout import LabHost, LabLayout
from opsrunner_lab.sysroot_files import ensure_dir, fqdn
from opsrunner_lab.tools import ToolMain, tool_script
from opsrunner_lab.tools.dnf import main as dnf_main
from opsrunner_lab.tools.hosted_engine import main as hosted_engine_main
from opsrunner_lab.tools.hosted_engine import write_deployment
from opsrunner_lab.tools.lab_host import ToolHost, write_if_changed
from opsrunner_lab.tools.lab_packages import sync_commands
from opsrunner_lab.tools.power import halt_main, poweroff_main, shutdown_main
from opsrunner_lab.tools.rpmdb import RpmDb, rpm_main
from opsrunner_lab.tools.update_ca_trust import TLS_BUNDLE, extract
from opsrunner_lab.tools.update_ca_trust import main as update_ca_trust_main

# tool name -> the function its script calls
TOOLS: dict[str, ToolMain] = {
    "update-ca-trust": update_ca_trust_main,
    "dnf": dnf_main,
    "rpm": rpm_main,
    "hosted-engine": hosted_engine_main,
    "poweroff": poweroff_main,
    "shutdown": shutdown_main,
    "halt": halt_main,
}
ROLE_TOOLS = {
    "engine": ("update-ca-trust", "dnf", "rpm", "hosted-engine"),
    "kvm": ("update-ca-trust", "dnf", "rpm"),
    "guest": ("dnf", "rpm", "poweroff", "shutdown", "halt"),
}
ALIASES = {"yum": "dnf"}


def install_host_tools(layout: LabLayout) -> list[Path]:
    """Install every host's tools into its ``bin/`` (mode 0755); idempotent. Returns the
    tools' paths (aliases included)."""
    installed: list[Path] = []
    for host in layout.hosts():
        installed += install_tools_of(layout, host)
    return installed


def install_tools_of(layout: LabLayout, host: LabHost) -> list[Path]:
    """Install ``host``'s tools and what its role has at first (see the module doc)."""
    bin_dir = ensure_dir(layout.bin_dir(host.name))
    sysroot = ensure_dir(layout.sysroot(host.name))
    names = ROLE_TOOLS[host.role]
    paths = []
    for name in names:
        path = bin_dir / name
        write_if_changed(path, tool_script(f"bin/{name}", TOOLS[name]).encode(), 0o755)
        paths.append(path)
    for alias, name in ALIASES.items():
        if name in names:
            path = bin_dir / alias
            if not (path.is_symlink() and os.readlink(path) == name):
                path.unlink(missing_ok=True)
                path.symlink_to(name)
            paths.append(path)
    tool_host = ToolHost(host.name, bin_dir, sysroot)
    sync_commands(tool_host, set(RpmDb.load(sysroot).packages))
    if "update-ca-trust" in names and not (sysroot / TLS_BUNDLE).exists():
        extract(sysroot)
    if "hosted-engine" in names:
        write_deployment(sysroot, fqdn(host.name))
    return paths
