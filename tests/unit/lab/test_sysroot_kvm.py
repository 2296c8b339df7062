"""A KVM host's VDSM PKI: the engine CA issues the host's certificate for its FQDN, valid
398 days, its key 0400 vdsm:kvm, the CA beside it; a rebuild keeps both."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509

from opsrunner_lab.layout import LabLayout
from opsrunner_lab.pki import LabCA
from opsrunner_lab.sysroot_kvm import (
    VDSM_CA,
    VDSM_CERT,
    VDSM_CERT_DAYS,
    VDSM_KEY,
    VDSM_OWNER,
    build_kvm,
)


def test_the_vdsm_certificate_is_the_engine_cas_for_the_host(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab", 2, "127.0.99.")
    ca = LabCA(layout.root / "pki").ensure()
    root = build_kvm(layout, "kvm2")
    cert = x509.load_pem_x509_certificate((root / VDSM_CERT).read_bytes())
    cert.verify_directly_issued_by(ca.certificate)
    assert (root / VDSM_CA).read_bytes() == ca.cert_pem
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["kvm2.lab.local"]
    assert names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address(layout.host("kvm2").address)]
    lifetime = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    assert VDSM_CERT_DAYS - 1 <= lifetime.days <= VDSM_CERT_DAYS
    key = (root / VDSM_KEY).stat()
    assert (key.st_mode & 0o777, key.st_uid, key.st_gid) == (0o400, *VDSM_OWNER)


def test_a_rebuild_keeps_the_certificate(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab", 1, "127.0.99.")
    root = build_kvm(layout, "kvm1")
    first = (root / VDSM_CERT).read_bytes()
    assert build_kvm(layout, "kvm1") == root
    assert (root / VDSM_CERT).read_bytes() == first
