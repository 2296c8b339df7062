"""Validation of a third-party Apache certificate on the control node, before any change.

:func:`validate` checks, in this order, each refusal a :class:`TaskFailed` naming the file and
what is allowed: the files are PEM; the key is unencrypted and matches the certificate; the
certificate is valid now and for at least ``min_days`` more days; the CA chain starts with the
certificate's issuer and goes up, one issuer at a time, to a self-signed root (the order the OLVM
Administration Guide, "Administration Tasks", section "Replacing the Oracle Linux Virtualization
Manager Apache SSL Certificate" ("Oracle Linux Virtualization Manager Apache SSL証明書の置換")
requires: last intermediate first, root last); the certificate names the engine FQDN.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID

from opsrunner import TaskFailed

WARN_DAYS = 30


@dataclass(frozen=True)
class CertInputs:
    """The three inputs as read (bytes exactly as given) and parsed."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes = field(repr=False)
    chain: list[x509.Certificate]
    cert: x509.Certificate
    key: PrivateKeyTypes = field(repr=False)

    @property
    def fingerprint(self) -> str:
        """SHA-256 fingerprint of the certificate, hex."""
        return self.cert.fingerprint(hashes.SHA256()).hex()


def label(cert: x509.Certificate) -> str:
    """The certificate's common name (its whole subject when it has none)."""
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def read_inputs(ca_chain: str, cert: str, key: str) -> CertInputs:
    """Read and parse the CA chain, certificate and key files of the control node."""
    ca_pem, cert_pem, key_pem = (_read(ca_chain, "ca_chain"), _read(cert, "cert"),
                                 _read(key, "key"))
    chain = _certificates(ca_pem, ca_chain, "ca_chain")
    certs = _certificates(cert_pem, cert, "cert")
    if len(certs) != 1:
        raise TaskFailed(f"cert {cert}: holds {len(certs)} certificates; give the Apache "
                         "certificate alone (its CA chain goes in ca_chain)")
    if b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in key_pem or b"ENCRYPTED" in key_pem[:200]:
        raise TaskFailed(f"key {key}: the private key is encrypted; apache.key.nopass must be "
                         "unencrypted (decrypt it first, e.g. openssl pkey -in KEY -out KEY.nopass)")
    try:
        private = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise TaskFailed(f"key {key}: not a PEM private key ({exc})") from None
    return CertInputs(ca_pem, cert_pem, key_pem, chain, certs[0], private)


def validate(inputs: CertInputs, engine_fqdn: str, min_days: int,
             now: datetime.datetime | None = None) -> list[str]:
    """Refuse (TaskFailed) unusable inputs; return warnings (expiry within 30 days)."""
    _key_matches(inputs)
    warnings = _validity(inputs.cert, min_days, now or datetime.datetime.now(datetime.UTC))
    _chain_order(inputs.cert, inputs.chain)
    _names_cover(inputs.cert, engine_fqdn)
    return warnings


def _read(path: str, name: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise TaskFailed(f"{name} {path}: cannot read it on the control node: "
                         f"{exc.strerror or exc}") from None


def _certificates(data: bytes, path: str, name: str) -> list[x509.Certificate]:
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise TaskFailed(f"{name} {path}: not a PEM file (no -----BEGIN CERTIFICATE----- block); "
                         "convert DER with: openssl x509 -inform der -in FILE -out FILE.pem")
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise TaskFailed(f"{name} {path}: a PEM certificate block cannot be read ({exc})") from None


def _key_matches(inputs: CertInputs) -> None:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    key_public = inputs.key.public_key().public_bytes(serialization.Encoding.DER, spki)
    cert_public = inputs.cert.public_key().public_bytes(serialization.Encoding.DER, spki)
    if key_public != cert_public:
        raise TaskFailed(f"the key does not match the certificate {label(inputs.cert)!r} (their "
                         "public keys differ): give the private key the certificate was issued for")


def _validity(cert: x509.Certificate, min_days: int, now: datetime.datetime) -> list[str]:
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    stamp = "%Y-%m-%d %H:%M UTC"
    if now < start:
        raise TaskFailed(f"the certificate {label(cert)!r} is not valid yet: valid from "
                         f"{start.strftime(stamp)}")
    if now > end:
        raise TaskFailed(f"the certificate {label(cert)!r} expired on {end.strftime(stamp)}")
    days = (end - now).days
    if days < min_days:
        raise TaskFailed(f"the certificate {label(cert)!r} expires in {days} days "
                         f"({end.strftime(stamp)}), fewer than min_days={min_days}")
    if days < WARN_DAYS:
        return [f"WARNING: the certificate {label(cert)!r} expires in {days} days "
                f"({end.strftime(stamp)})"]
    return []


def issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer``'s name and key signed ``child``."""
    if child.issuer != issuer.subject:
        return False
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _chain_order(cert: x509.Certificate, chain: list[x509.Certificate]) -> None:
    """The expected order follows issuers from ``cert``; compare it with the given one."""
    expected: list[x509.Certificate] = []
    child = cert
    while True:
        issuer = next((c for c in chain if issued_by(child, c) and c not in expected), None)
        if issuer is None:
            raise TaskFailed(
                f"the CA chain is incomplete: no certificate in it issued {label(child)!r} "
                f"(issuer {child.issuer.rfc4514_string()!r}); the chain must go from the last "
                "intermediate up to the self-signed root")
        _require_ca(issuer)
        expected.append(issuer)
        if issued_by(issuer, issuer):
            break
        child = issuer
    if len(expected) != len(chain):
        extra = [label(c) for c in chain if c not in expected]
        raise TaskFailed(f"the CA chain holds certificates outside the certificate's chain: "
                         f"{', '.join(repr(e) for e in extra)}")
    if expected != chain:
        raise TaskFailed("the CA chain is in the wrong order: found "
                         f"{' -> '.join(label(c) for c in chain)}; expected (last intermediate "
                         f"to root) {' -> '.join(label(c) for c in expected)}")


def _require_ca(cert: x509.Certificate) -> None:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise TaskFailed(f"{label(cert)!r} in the CA chain is not a CA certificate "
                         "(basicConstraints CA:TRUE missing)")


def cert_names(cert: x509.Certificate) -> list[str]:
    """The DNS names of the subjectAltName (the common name when there is no SAN)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [label(cert)]
    return [str(name) for name in san.get_values_for_type(x509.DNSName)]


def _names_cover(cert: x509.Certificate, fqdn: str) -> None:
    names = cert_names(cert)
    wanted = fqdn.lower().rstrip(".")
    for name in names:
        pattern = name.lower().rstrip(".")
        if pattern == wanted or (pattern.startswith("*.") and "." in wanted
                                 and wanted.split(".", 1)[1] == pattern[2:]):
            return
    raise TaskFailed(f"the certificate {label(cert)!r} does not cover the engine FQDN {fqdn!r}: "
                     f"its names are {', '.join(names) or '(none)'}")
