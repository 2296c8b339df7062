"""The lab's update-ca-trust: the PEM bundle, the JKS truststore, the links and warnings."""

from __future__ import annotations

import datetime
import os
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from opsrunner_lab.host_tools import install_host_tools
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.tools import update_ca_trust
from opsrunner_lab.tools.jks import JksError, jks_truststore, read_truststore
from opsrunner_lab.tools.update_ca_trust import (
    JAVA_CACERTS,
    JAVA_EXTRACTED,
    TLS_BUNDLE,
    extract,
)

ANCHORS = "etc/pki/ca-trust/source/anchors"


def make_ca(name: str) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.fixture
def system_bundle(tmp_path: Path) -> tuple[Path, x509.Certificate]:
    root = make_ca("System Root CA")
    path = tmp_path / "ca-certificates.crt"
    path.write_bytes(pem(root))
    return path, root


def test_anchors_and_the_system_bundle_become_the_bundle_and_the_truststore(
        tmp_path: Path, system_bundle: tuple[Path, x509.Certificate]) -> None:
    bundle_path, root = system_bundle
    sysroot = tmp_path / "root"
    (sysroot / ANCHORS).mkdir(parents=True)
    first, second, third = make_ca("Third Party Root"), make_ca("Intermediate A"), make_ca("B")
    (sysroot / ANCHORS / "third-party.pem").write_bytes(pem(first) + pem(second))
    (sysroot / ANCHORS / "b.crt").write_bytes(der(third))
    (sysroot / ANCHORS / "again.pem").write_bytes(pem(root))  # already in the system bundle
    changed, warnings = extract(sysroot, bundle_path)
    assert warnings == []
    bundle = (sysroot / TLS_BUNDLE).read_text()
    expected = [(cert.subject.rfc4514_string().removeprefix("CN="), cert)
                for cert in (root, third, first, second)]  # system first, then by file name
    assert bundle == "".join(f"# {label}\n{ssl.DER_cert_to_PEM_cert(der(cert))}"
                             for label, cert in expected)
    entries = read_truststore((sysroot / JAVA_CACERTS).read_bytes())
    assert entries == [(label.lower(), der(cert)) for label, cert in expected]
    assert (sysroot / JAVA_EXTRACTED).read_bytes() == (sysroot / JAVA_CACERTS).read_bytes()
    assert not (sysroot / JAVA_CACERTS).is_symlink()
    assert stat.S_IMODE((sysroot / TLS_BUNDLE).stat().st_mode) == 0o444
    for link in ("etc/pki/tls/certs/ca-bundle.crt", "etc/pki/tls/cert.pem"):
        assert not os.path.isabs(os.readlink(sysroot / link))
        assert (sysroot / link).resolve() == sysroot / TLS_BUNDLE
    assert sorted(changed) == sorted(sysroot / path for path in (
        TLS_BUNDLE, JAVA_EXTRACTED, JAVA_CACERTS, "etc/pki/tls/certs/ca-bundle.crt",
        "etc/pki/tls/cert.pem"))


def test_a_new_anchor_changes_the_files_and_a_rerun_changes_nothing(
        tmp_path: Path, system_bundle: tuple[Path, x509.Certificate]) -> None:
    bundle_path, _root = system_bundle
    sysroot = tmp_path / "root"
    (sysroot / "etc/pki/java").mkdir(parents=True)
    (sysroot / JAVA_CACERTS).write_bytes(b"")
    (sysroot / "etc/pki").chmod(0o755)
    extract(sysroot, bundle_path)
    before = (sysroot / JAVA_CACERTS).read_bytes()
    assert extract(sysroot, bundle_path) == ([], [])
    new = make_ca("New Third Party CA")
    (sysroot / ANCHORS).mkdir(parents=True)
    (sysroot / ANCHORS / "new.pem").write_bytes(pem(new))
    changed, _ = extract(sysroot, bundle_path)
    assert sorted(changed) == sorted(sysroot / p for p in (TLS_BUNDLE, JAVA_EXTRACTED,
                                                           JAVA_CACERTS))
    assert (sysroot / JAVA_CACERTS).read_bytes() != before
    assert ("new third party ca", der(new)) in read_truststore((sysroot / JAVA_CACERTS)
                                                               .read_bytes())
    assert pem(new).decode() in (sysroot / TLS_BUNDLE).read_text()
    assert stat.S_IMODE((sysroot / "etc/pki").stat().st_mode) == 0o755
    assert stat.S_IMODE((sysroot / JAVA_CACERTS).stat().st_mode) == 0o644


def test_a_malformed_anchor_is_skipped_with_a_warning(
        tmp_path: Path, system_bundle: tuple[Path, x509.Certificate]) -> None:
    bundle_path, root = system_bundle
    sysroot = tmp_path / "root"
    (sysroot / ANCHORS).mkdir(parents=True)
    good = make_ca("Good CA")
    (sysroot / ANCHORS / "a-garbage.pem").write_text("not a certificate\n")
    (sysroot / ANCHORS / "b-broken.crt").write_text(
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    (sysroot / ANCHORS / "c-key.pem").write_text(
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    (sysroot / ANCHORS / "d-good.pem").write_bytes(pem(good))
    _changed, warnings = extract(sysroot, bundle_path)
    assert warnings == [
        f"p11-kit: /{ANCHORS}/a-garbage.pem: file not in a recognized format "
        f"(PEM or DER certificate); skipping it",
        f"p11-kit: /{ANCHORS}/b-broken.crt: couldn't parse PEM block of type CERTIFICATE; "
        f"skipping it",
        f"p11-kit: /{ANCHORS}/c-key.pem: no CERTIFICATE block in the PEM file; skipping it",
    ]
    assert [alias for alias, _ in read_truststore((sysroot / JAVA_CACERTS).read_bytes())] == [
        "system root ca", "good ca"]
    assert root.subject.rfc4514_string() == "CN=System Root CA"


@pytest.mark.parametrize("args", [[], ["extract"], ["export"]])
def test_the_installed_tool_ignores_its_arguments(
        tmp_path: Path, args: list[str], system_bundle: tuple[Path, x509.Certificate],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(update_ca_trust, "SYSTEM_BUNDLE", system_bundle[0])
    layout = LabLayout(tmp_path / "lab", kvm_hosts=0)
    install_host_tools(layout)
    sysroot = layout.sysroot(ENGINE)
    (sysroot / ANCHORS).mkdir(parents=True, exist_ok=True)
    (sysroot / ANCHORS / "bad.pem").write_text("junk\n")
    (sysroot / ANCHORS / "lab.pem").write_bytes(pem(make_ca("Lab Anchor")))
    assert update_ca_trust.main(str(layout.bin_dir(ENGINE) / "update-ca-trust"), args) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (f"p11-kit: /{ANCHORS}/bad.pem: file not in a recognized format "
                   f"(PEM or DER certificate); skipping it\n")
    assert "# Lab Anchor\n" in (sysroot / TLS_BUNDLE).read_text()


def test_the_truststore_integrity_check() -> None:
    cert = der(make_ca("X"))
    data = jks_truststore([("x", cert, 0)])
    assert data[:8] == bytes.fromhex("FEEDFEED00000002")
    assert read_truststore(data) == [("x", cert)]
    with pytest.raises(JksError, match=r"^keystore was tampered with, or password was incorrect$"):
        read_truststore(data, "secret")
    with pytest.raises(JksError, match=r"^not a JKS version 2 keystore$"):
        read_truststore(b"-----BEGIN CERTIFICATE-----" + bytes(40))
