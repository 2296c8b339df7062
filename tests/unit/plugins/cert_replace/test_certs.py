"""Validation of the cert_replace inputs (``_certs``) and its file helpers (``_cert_files``)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from opsrunner import TaskFailed
from opsrunner.testing import MakeTask
from opsrunner_plugins.cert_replace.certs import CertInputs, read_inputs, validate
from opsrunner_plugins.cert_replace.files import PkiGuard, with_settings

FQDN = "engine.example.com"
NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
PEM = serialization.Encoding.PEM
KEYS = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(5)]


def _cert(cn: str, key: rsa.RSAPrivateKey, issuer: str, issuer_key: rsa.RSAPrivateKey, *,
          ca: bool, names: tuple[str, ...] = (), days: int = 365) -> x509.Certificate:
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(NOW - datetime.timedelta(days=10))
               .not_valid_after(NOW + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


ROOT = _cert("Root", KEYS[0], "Root", KEYS[0], ca=True, days=3650)
INT1 = _cert("Int1", KEYS[1], "Root", KEYS[0], ca=True)
INT2 = _cert("Int2", KEYS[2], "Int1", KEYS[1], ca=True)


def inputs(chain: list[x509.Certificate], *, issuer: tuple[str, int] = ("Int2", 2),
           names: tuple[str, ...] = (FQDN,), days: int = 200, key: int = 3) -> CertInputs:
    cert = _cert(names[0] if names else "x", KEYS[3], issuer[0], KEYS[issuer[1]], ca=False,
                 names=names, days=days)
    key_pem = KEYS[key].private_bytes(PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
    return CertInputs(b"".join(c.public_bytes(PEM) for c in chain), cert.public_bytes(PEM),
                      key_pem, chain, cert, KEYS[key])


def refusal(given: CertInputs, fqdn: str = FQDN, min_days: int = 30) -> str:
    with pytest.raises(TaskFailed) as caught:
        validate(given, fqdn, min_days, NOW)
    return str(caught.value)


def test_good_chains_with_one_and_two_intermediates_pass() -> None:
    assert validate(inputs([INT2, INT1, ROOT]), FQDN, 30, NOW) == []
    assert validate(inputs([INT1, ROOT], issuer=("Int1", 1)), FQDN, 30, NOW) == []


def test_wrong_order_shows_found_and_expected() -> None:
    assert refusal(inputs([INT1, INT2, ROOT])) == (
        "the CA chain is in the wrong order: found Int1 -> Int2 -> Root; expected (last "
        "intermediate to root) Int2 -> Int1 -> Root")


def test_missing_intermediate_and_missing_root_are_incomplete() -> None:
    assert refusal(inputs([INT2, ROOT])).startswith(
        "the CA chain is incomplete: no certificate in it issued 'Int2' (issuer 'CN=Int1')")
    assert refusal(inputs([INT2, INT1])).startswith(
        "the CA chain is incomplete: no certificate in it issued 'Int1' (issuer 'CN=Root')")


def test_unrelated_and_non_ca_certificates_are_refused() -> None:
    other = _cert("Other", KEYS[4], "Other", KEYS[4], ca=True)
    assert refusal(inputs([INT2, INT1, ROOT, other])) == (
        "the CA chain holds certificates outside the certificate's chain: 'Other'")
    leafy = _cert("Int2", KEYS[2], "Int1", KEYS[1], ca=False)
    assert refusal(inputs([leafy, INT1, ROOT])) == (
        "'Int2' in the CA chain is not a CA certificate (basicConstraints CA:TRUE missing)")


def test_key_not_matching() -> None:
    assert refusal(inputs([INT2, INT1, ROOT], key=4)) == (
        f"the key does not match the certificate {FQDN!r} (their public keys differ): give "
        "the private key the certificate was issued for")


def test_expiry_refused_below_min_days_warned_below_30() -> None:
    assert refusal(inputs([INT2, INT1, ROOT], days=-2)).startswith(
        f"the certificate {FQDN!r} expired on ")
    assert refusal(inputs([INT2, INT1, ROOT], days=20), min_days=25).startswith(
        f"the certificate {FQDN!r} expires in 20 days (")
    warned = validate(inputs([INT2, INT1, ROOT], days=20), FQDN, 10, NOW)
    assert len(warned) == 1 and warned[0].startswith(
        f"WARNING: the certificate {FQDN!r} expires in 20 days")


def test_names_must_cover_the_engine_fqdn() -> None:
    assert refusal(inputs([INT2, INT1, ROOT], names=("other.example.com", "x.example.com"))) == (
        "the certificate 'other.example.com' does not cover the engine FQDN "
        f"{FQDN!r}: its names are other.example.com, x.example.com")
    assert validate(inputs([INT2, INT1, ROOT], names=("*.example.com",)), FQDN, 30, NOW) == []
    assert "does not cover" in refusal(inputs([INT2, INT1, ROOT], names=("*.com",)))


def test_read_inputs_refuses_non_pem_and_encrypted_keys(tmp_path: Path) -> None:
    good = inputs([INT2, INT1, ROOT])
    ca, cert, key = tmp_path / "ca.pem", tmp_path / "apache.cer", tmp_path / "apache.key"
    ca.write_bytes(good.ca_pem)
    cert.write_bytes(good.cert.public_bytes(serialization.Encoding.DER))
    key.write_bytes(good.key_pem)
    with pytest.raises(TaskFailed, match=r"^cert .*apache.cer: not a PEM file \(no -----BEGIN"):
        read_inputs(str(ca), str(cert), str(key))
    cert.write_bytes(good.cert_pem)
    assert read_inputs(str(ca), str(cert), str(key)).cert == good.cert
    key.write_bytes(KEYS[3].private_bytes(PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.BestAvailableEncryption(b"pw")))
    with pytest.raises(TaskFailed, match="the private key is encrypted"):
        read_inputs(str(ca), str(cert), str(key))
    with pytest.raises(TaskFailed, match=r"^ca_chain /nonexistent: cannot read it"):
        read_inputs("/nonexistent", str(cert), str(key))


def test_with_settings_replaces_appends_and_is_stable() -> None:
    text = "PROXY_PORT=6100\nSSL_CERTIFICATE=/old.cer\n# SSL_KEY=commented\n"
    wanted = {"SSL_CERTIFICATE": "/new.cer", "SSL_KEY": "/new.key"}
    done = with_settings(text, wanted)
    assert done == ("PROXY_PORT=6100\nSSL_CERTIFICATE=/new.cer\n# SSL_KEY=commented\n"
                    "SSL_KEY=/new.key\n")
    assert with_settings(done, wanted) == done
    assert with_settings("", {"A": '""'}) == 'A=""\n'


def test_pki_guard_refuses_other_modes_and_detects_changes(tmp_path: Path,
                                                           make_task: MakeTask) -> None:
    pki = tmp_path / "etc/pki/ovirt-engine"
    pki.mkdir(parents=True)
    (tmp_path / "etc/pki").chmod(0o755)
    pki.chmod(0o700)
    with pytest.raises(TaskFailed, match=r"^/etc/pki/ovirt-engine has mode 0700; the procedure "
                                         r"requires 0755"):
        PkiGuard(make_task())
    pki.chmod(0o755)
    guard = PkiGuard(make_task())
    guard.check("nothing")
    (tmp_path / "etc/pki").chmod(0o750)
    with pytest.raises(TaskFailed, match=r"^step x changed /etc/pki: it was mode 0755 .*now mode "
                                         r"0750"):
        guard.check("step x")
