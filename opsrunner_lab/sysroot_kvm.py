"""A KVM host's file tree, as an OLVM 4.5 host has it after the engine deployed VDSM on it.

Host deploy also enrolls the host's VDSM certificate: the engine CA (the lab's CA) issues
``/etc/pki/vdsm/certs/vdsmcert.pem`` for the host's FQDN (and its address), valid
:data:`VDSM_CERT_DAYS` days, with its key ``/etc/pki/vdsm/keys/vdsmkey.pem`` (0400 vdsm:kvm)
and the engine CA beside it as ``/etc/pki/vdsm/certs/cacert.pem``.
"""

from __future__ import annotations

from pathlib import Path

from opsrunner_lab.layout import LabLayout
from opsrunner_lab.pki import LabCA
from opsrunner_lab.sysroot_files import ensure_dir, ensure_file, fqdn, write_os_identity

# vdsm:kvm on every oVirt host, whether or not such a user exists on this machine.
VDSM_OWNER = (36, 36)
VDSM_PKI = "etc/pki/vdsm"
VDSM_CERT = f"{VDSM_PKI}/certs/vdsmcert.pem"
VDSM_KEY = f"{VDSM_PKI}/keys/vdsmkey.pem"
VDSM_CA = f"{VDSM_PKI}/certs/cacert.pem"
VDSM_CERT_DAYS = 398
"""How long the engine's host certificates are valid (about 13 months)."""
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
    write_vdsm_pki(root, LabCA(layout.root / "pki").ensure(), host, layout.host(host).address)
    return root


def write_vdsm_pki(root: Path, ca: LabCA, host: str, address: str) -> None:
    """``/etc/pki/vdsm``: the engine CA, and the host's certificate and key issued by it.

    A certificate or key that exists is kept (with its pair): rebuilding never re-enrolls.
    """
    ensure_dir(root / "etc/pki", 0o755)
    ensure_dir(root / VDSM_PKI, 0o755)
    ensure_dir(root / VDSM_PKI / "certs", 0o755)
    ensure_dir(root / VDSM_PKI / "keys", 0o755, VDSM_OWNER)
    ensure_file(root / VDSM_CA, ca.cert_pem)
    cert, key = root / VDSM_CERT, root / VDSM_KEY
    if cert.exists() or key.exists():
        return  # never replace half of a pair
    key_pem, cert_pem = ca.issue(fqdn(host), [fqdn(host)], [address], days=VDSM_CERT_DAYS)
    ensure_file(key, key_pem, 0o400, VDSM_OWNER)
    ensure_file(cert, cert_pem, 0o644)
