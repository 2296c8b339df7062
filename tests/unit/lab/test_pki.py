"""The lab CA: a persistent root CA that issues server certificates clients can verify."""

from __future__ import annotations

import datetime
import ipaddress
import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import (
    PolicyBuilder,
    ServerVerifier,
    Store,
    VerificationError,
)

from opsrunner_lab.pki import CA_COMMON_NAME, LabCA, write_pem


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LabCA:
    return LabCA(tmp_path_factory.mktemp("pki")).ensure()


@pytest.fixture(scope="module")
def issued(ca: LabCA) -> tuple[bytes, bytes]:
    return ca.issue("engine.lab.local", ["engine.lab.local", "engine"], ["127.0.80.2"], days=30)


def verifier(ca: LabCA, name: x509.DNSName | x509.IPAddress) -> ServerVerifier:
    return PolicyBuilder().store(Store([ca.certificate])).build_server_verifier(name)


def test_ca_is_a_ten_year_root_named_for_the_lab(ca: LabCA) -> None:
    cert = ca.certificate
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == CA_COMMON_NAME
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert datetime.timedelta(days=3649) < lifetime < datetime.timedelta(days=3652)


def test_ca_files_are_kept_with_a_private_key_only_root_can_read(ca: LabCA) -> None:
    assert stat.S_IMODE(ca.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(ca.cert_path.stat().st_mode) == 0o644
    again = LabCA(ca.folder).ensure()
    assert again.cert_pem == ca.cert_pem == ca.cert_path.read_bytes()


@pytest.mark.parametrize("name", [x509.DNSName("engine.lab.local"), x509.DNSName("engine"),
                                  x509.IPAddress(ipaddress.ip_address("127.0.80.2"))])
def test_issued_certificate_verifies_for_each_subject_alt_name(
        ca: LabCA, issued: tuple[bytes, bytes], name: x509.DNSName | x509.IPAddress) -> None:
    leaf = x509.load_pem_x509_certificate(issued[1])
    chain = verifier(ca, name).verify(leaf, [])
    assert [c.subject for c in chain] == [leaf.subject, ca.certificate.subject]


def test_issued_certificate_does_not_verify_for_another_name(
        ca: LabCA, issued: tuple[bytes, bytes]) -> None:
    leaf = x509.load_pem_x509_certificate(issued[1])
    with pytest.raises(VerificationError):
        verifier(ca, x509.DNSName("kvm1.lab.local")).verify(leaf, [])


def test_issued_certificate_does_not_verify_against_another_ca(
        tmp_path: Path, issued: tuple[bytes, bytes]) -> None:
    other = LabCA(tmp_path).ensure()
    leaf = x509.load_pem_x509_certificate(issued[1])
    with pytest.raises(VerificationError):
        verifier(other, x509.DNSName("engine.lab.local")).verify(leaf, [])


def test_issued_certificate_is_a_server_certificate(issued: tuple[bytes, bytes]) -> None:
    leaf = x509.load_pem_x509_certificate(issued[1])
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "engine.lab.local"
    usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc < datetime.timedelta(days=31)


def test_issued_key_matches_its_certificate(ca: LabCA, issued: tuple[bytes, bytes]) -> None:
    key = serialization.load_pem_private_key(issued[0], password=None)
    leaf = x509.load_pem_x509_certificate(issued[1])
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    assert (key.public_key().public_bytes(serialization.Encoding.DER, public)
            == leaf.public_key().public_bytes(serialization.Encoding.DER, public))
    assert issued[0].startswith(b"-----BEGIN PRIVATE KEY-----")
    second = ca.issue("engine.lab.local", ["engine.lab.local"])
    assert second[0] != issued[0]


def test_write_pem_sets_the_exact_mode_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "apache.key.nopass"
    old = os.umask(0)
    try:
        write_pem(path, b"secret", 0o600)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == b"secret"
    write_pem(path, b"replaced", 0o640)
    assert (path.read_bytes(), stat.S_IMODE(path.stat().st_mode)) == (b"replaced", 0o640)
    assert sorted(p.name for p in path.parent.iterdir()) == ["apache.key.nopass"]
