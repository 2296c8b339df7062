"""The lab's certificate authority: one root CA per lab, issuing TLS server certificates.

The CA stands in for the engine's own CA (``/etc/pki/ovirt-engine/ca.pem``). Its key and
certificate live in ``<lab>/pki`` (``ca.key`` mode 0600, ``ca.pem``) and are made once, so a
lab restart keeps every certificate it issued valid.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_COMMON_NAME = "opsrunner lab CA"
CA_DAYS = 3650
SERVER_DAYS = 825
_KEY_BITS = 2048


def write_pem(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` with exactly ``mode`` (never wider, whatever the umask).

    The file is created with ``mode`` before any byte is written, so a private key is
    never readable by others, even for a moment. Parent folders are created (0755).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(temporary, path)


def new_key() -> rsa.RSAPrivateKey:
    """A fresh RSA 2048 key (what engine-setup makes for Apache)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)


def key_pem(key: rsa.RSAPrivateKey) -> bytes:
    """``key`` as an unencrypted PKCS#8 PEM (the ``*.key.nopass`` format)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class LabCA:
    """The lab's root CA kept in ``folder`` (``ca.key``, ``ca.pem``), created on first use."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.key_path = folder / "ca.key"
        self.cert_path = folder / "ca.pem"
        self._key: rsa.RSAPrivateKey | None = None
        self._cert: x509.Certificate | None = None

    def ensure(self) -> LabCA:
        """Create the CA unless both its files exist; return self."""
        if not (self.key_path.exists() and self.cert_path.exists()):
            key = new_key()
            cert = self._self_signed(key)
            write_pem(self.key_path, key_pem(key), 0o600)
            write_pem(self.cert_path, cert.public_bytes(serialization.Encoding.PEM))
        return self

    @property
    def cert_pem(self) -> bytes:
        """The CA certificate (PEM), as ``ca.pem`` holds it."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def certificate(self) -> x509.Certificate:
        if self._cert is None:
            self.ensure()
            self._cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
        return self._cert

    def _private_key(self) -> rsa.RSAPrivateKey:
        if self._key is None:
            self.ensure()
            key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise TypeError(f"{self.key_path}: not an RSA key")
            self._key = key
        return self._key

    def issue(self, common_name: str, dns_names: Sequence[str] = (),
              ip_addresses: Sequence[str] = (), days: int = SERVER_DAYS) -> tuple[bytes, bytes]:
        """A new server key and certificate signed by this CA: ``(key_pem, cert_pem)``.

        The certificate carries ``common_name`` as subject CN, a subjectAltName with every
        DNS name and IP address given, and the serverAuth extended key usage.
        """
        key = new_key()
        names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
        names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
        builder = _builder(_name(common_name), self.certificate.subject, key, days)
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=True,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), True)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), False)
        ca_key = self._private_key()
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False)
        cert = builder.sign(ca_key, hashes.SHA256())
        return key_pem(key), cert.public_bytes(serialization.Encoding.PEM)

    def _self_signed(self, key: rsa.RSAPrivateKey) -> x509.Certificate:
        subject = _name(CA_COMMON_NAME)
        builder = _builder(subject, subject, key, CA_DAYS)
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), True)
        return builder.sign(key, hashes.SHA256())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "opsrunner lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: x509.Name, issuer: x509.Name, key: rsa.RSAPrivateKey,
             days: int) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False))
