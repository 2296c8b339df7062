"""A KVM host's file tree, as an OLVM 4.5 host has it after the engine deployed VDSM on it."""

from __future__ import annotations

from pathlib import Path

from opsrunner_lab.layout import LabLayout
from opsrunner_lab.sysroot_files import ensure_dir, ensure_file, fqdn, write_os_identity

# vdsm:kvm on every oVirt host, whether or not such a user exists on this machine.
VDSM_OWNER = (36, 36)
_VDSM_CONF = """\
[vars]
ssl = true
ssl_ciphers = HIGH:!aNULL
ssl_excludes = OP_NO_TLSv1,OP_NO_TLSv1_1

[addresses]
management_port = 54321
"""


def build_kvm(layout: LabLayout, host: str) -> Path:
    """Create what is missing of KVM host ``host``'s sysroot; return it."""
    root = ensure_dir(layout.sysroot(host))
    write_os_identity(root, 8, fqdn(host))
    ensure_file(root / "etc/vdsm/vdsm.conf", _VDSM_CONF)
    ensure_dir(root / "var/lib/vdsm", 0o755, VDSM_OWNER)
    ensure_dir(root / "var/log/vdsm", 0o755, VDSM_OWNER)
    ensure_dir(root / "rhev", 0o755)
    ensure_dir(root / "rhev/data-center", 0o755, VDSM_OWNER)
    ensure_dir(root / "rhev/data-center/mnt", 0o755, VDSM_OWNER)
    return root
