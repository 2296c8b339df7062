"""Build every lab host's sysroot: the file tree of its role at the real OLVM paths.

Idempotent: files and folders that exist are never overwritten (nor their modes changed),
so a lab restart keeps what workflows changed; only what is missing is created.
"""

from __future__ import annotations

import re
from pathlib import Path

from opsrunner_lab.layout import LabLayout
from opsrunner_lab.pki import LabCA
from opsrunner_lab.sysroot_engine import build_engine
from opsrunner_lab.sysroot_files import ensure_dir
from opsrunner_lab.sysroot_guest import build_guest
from opsrunner_lab.sysroot_kvm import build_kvm


def lab_ca(layout: LabLayout) -> LabCA:
    """The lab's CA (``<lab>/pki``), created on first use."""
    return LabCA(layout.root / "pki").ensure()


def build_sysroots(layout: LabLayout) -> dict[str, Path]:
    """Create what is missing of each host's sysroot; return them by host name."""
    ca = lab_ca(layout)
    roots: dict[str, Path] = {}
    for host in layout.hosts():
        if host.role == "engine":
            roots[host.name] = build_engine(layout, ca)
        elif host.role == "kvm":
            roots[host.name] = build_kvm(layout, host.name)
        else:
            roots[host.name] = build_guest(layout.sysroot(host.name), host.name,
                                           guest_release(host.name))
        ensure_dir(roots[host.name] / "root", 0o550)  # root's home, as on Oracle Linux
        ensure_dir(roots[host.name] / "run", 0o755)  # the volatile runtime folder (tmpfs)
    return roots


def guest_release(name: str) -> int:
    """The Oracle Linux major version a guest's name announces (``ol7-vm1`` -> 7); default 8."""
    match = re.match(r"ol(\d+)-", name)
    return int(match.group(1)) if match else 8
