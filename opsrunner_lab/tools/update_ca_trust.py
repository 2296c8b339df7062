"""``update-ca-trust`` of the lab: rebuild a host's extracted trust from its anchors.

Like Oracle Linux 8's script (which ignores its parameters, so ``extract``, the ``export`` of
the OLVM Administration Guide, "Administration Tasks", section "Replacing the Oracle Linux
Virtualization Manager Apache SSL Certificate" ("Oracle Linux Virtualization Manager Apache
SSL証明書の置換") and none all do the same), it reads every file in
``/etc/pki/ca-trust/source/anchors/`` and ``/usr/share/pki/ca-trust-source/anchors/`` of the
sysroot (PEM, one or more certificates, or DER) plus this machine's system bundle
(``/etc/ssl/certs/ca-certificates.crt``, standing in for the ca-certificates package), and
writes, when their content changes:

- ``/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem``: PEM, each certificate after a
  ``# <label>`` comment (``p11-kit extract --comment``); ``/etc/pki/tls/certs/ca-bundle.crt``
  and ``/etc/pki/tls/cert.pem`` are made relative symlinks to it when missing;
- ``/etc/pki/ca-trust/extracted/java/cacerts`` and ``/etc/pki/java/cacerts`` (a regular file,
  not the real symlink): a real JKS truststore, password ``changeit`` (:mod:`.jks`).

A file that is not a certificate is skipped with a ``p11-kit:`` warning on stderr; exit 0.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import ssl
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from opsrunner_lab.sysroot_files import ensure_dir
from opsrunner_lab.tools.common import ToolError
from opsrunner_lab.tools.jks import jks_truststore
from opsrunner_lab.tools.lab_host import tool_host, write_if_changed

ANCHOR_DIRS = ("etc/pki/ca-trust/source/anchors", "usr/share/pki/ca-trust-source/anchors")
SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
TLS_BUNDLE = "etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"
JAVA_EXTRACTED = "etc/pki/ca-trust/extracted/java/cacerts"
JAVA_CACERTS = "etc/pki/java/cacerts"
BUNDLE_LINKS = ("etc/pki/tls/certs/ca-bundle.crt", "etc/pki/tls/cert.pem")
_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)


class AnchorError(ToolError):
    """An anchor file that holds no usable certificate."""


@dataclass(frozen=True)
class TrustedCert:
    """One trusted certificate: its label, DER and validity start (ms since the epoch)."""

    label: str
    der: bytes
    not_before_ms: int


def trusted_cert(der: bytes) -> TrustedCert:
    """Parse a DER certificate (ValueError if it is not one). Like p11-kit, it accepts the
    non-positive serial numbers some system roots have (cryptography warns about them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        cert = x509.load_der_x509_certificate(der)
    label = cert.subject.rfc4514_string()
    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.ORGANIZATION_NAME):
        values = cert.subject.get_attributes_for_oid(oid)
        if values:
            label = str(values[0].value)
            break
    start = int(cert.not_valid_before_utc.timestamp() * 1000)
    return TrustedCert(label, der, start)


def read_certificates(data: bytes) -> list[TrustedCert]:
    """The certificates of a PEM (``CERTIFICATE`` blocks) or DER file; AnchorError else."""
    if b"-----BEGIN" not in data:
        try:
            return [trusted_cert(data)]
        except ValueError:
            raise AnchorError("file not in a recognized format (PEM or DER certificate)") from None
    certs = []
    for kind, body in _PEM.findall(data):
        if kind != b"CERTIFICATE":
            continue
        try:
            certs.append(trusted_cert(base64.b64decode(body)))
        except (ValueError, binascii.Error):
            raise AnchorError("couldn't parse PEM block of type CERTIFICATE") from None
    if not certs:
        raise AnchorError("no CERTIFICATE block in the PEM file")
    return certs


def collect(sysroot: Path, system_bundle: Path = SYSTEM_BUNDLE) -> tuple[list[TrustedCert],
                                                                         list[str]]:
    """The trusted certificates (system bundle first, then the anchors by file name, each once)
    and a warning per anchor file skipped."""
    certs: list[TrustedCert] = []
    skipped: list[str] = []
    if system_bundle.is_file():
        for _kind, body in _PEM.findall(system_bundle.read_bytes()):
            try:
                certs.append(trusted_cert(base64.b64decode(body)))
            except (ValueError, binascii.Error):
                continue  # this machine's bundle, not the host's: nothing to report
    for folder in ANCHOR_DIRS:
        directory = sysroot / folder
        files = sorted(directory.iterdir()) if directory.is_dir() else []
        for path in files:
            if not path.is_file() or path.name.startswith("."):
                continue
            try:
                certs += read_certificates(path.read_bytes())
            except (AnchorError, OSError) as exc:
                skipped.append(f"p11-kit: /{folder}/{path.name}: {exc}; skipping it")
    unique = {cert.der: cert for cert in reversed(certs)}
    return [cert for cert in certs if unique.get(cert.der) is cert], skipped


def pem_bundle(certs: list[TrustedCert]) -> bytes:
    return "".join(f"# {cert.label}\n{ssl.DER_cert_to_PEM_cert(cert.der)}"
                   for cert in certs).encode()


def java_truststore(certs: list[TrustedCert]) -> bytes:
    """The JKS of ``certs``: aliases are the lowercased labels, made unique with ``_N``."""
    entries, seen = [], set()
    for cert in certs:
        alias, number = cert.label.lower(), 1
        while alias in seen:
            number += 1
            alias = f"{cert.label.lower()}_{number}"
        seen.add(alias)
        entries.append((alias, cert.der, cert.not_before_ms))
    return jks_truststore(entries)


def extract(sysroot: Path, system_bundle: Path = SYSTEM_BUNDLE) -> tuple[list[Path], list[str]]:
    """Rebuild the extracted trust of ``sysroot``; the files changed and the warnings."""
    certs, skipped = collect(sysroot, system_bundle)
    bundle, truststore = pem_bundle(certs), java_truststore(certs)
    java = sysroot / JAVA_CACERTS
    java_mode = java.stat().st_mode & 0o777 if java.is_file() and not java.is_symlink() else 0o644
    outputs = [(sysroot / TLS_BUNDLE, bundle, 0o444),
               (sysroot / JAVA_EXTRACTED, truststore, 0o444), (java, truststore, java_mode)]
    changed = [path for path, data, mode in outputs if write_if_changed(path, data, mode)]
    for link in BUNDLE_LINKS:
        path = sysroot / link
        if not os.path.lexists(path):
            ensure_dir(path.parent)
            path.symlink_to(os.path.relpath(sysroot / TLS_BUNDLE, path.parent))
            changed.append(path)
    return changed, skipped


def main(script: str, args: list[str]) -> int:
    """``update-ca-trust [extract]``: the arguments are ignored, as OL 8's script does."""
    try:
        host = tool_host(script)
        _changed, skipped = extract(host.sysroot)
    except (ToolError, OSError) as exc:
        print(f"update-ca-trust: {exc}", file=sys.stderr)
        return 1
    for warning in skipped:
        print(warning, file=sys.stderr)
    return 0
