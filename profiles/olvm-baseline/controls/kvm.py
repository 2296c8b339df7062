"""Controls of each KVM host: its VDSM certificate, read over SSH (testinfra) from the host and
parsed on the control node with the cryptography package.

The engine talks to VDSM over TLS with this certificate; the engine CA issued it when the host
was added (or its certificate enrolled again), for about 13 months.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

Evidence = Callable[[str, object], None]

VDSM_CERT = "/etc/pki/vdsm/certs/vdsmcert.pem"
VDSM_CA = "/etc/pki/vdsm/certs/cacert.pem"


def _read_cert(host: Any, host_path: Callable[[str], str], path: str) -> x509.Certificate:
    file = host.file(host_path(path))
    assert file.exists, f"{path} is missing on the host"
    try:
        return x509.load_pem_x509_certificate(file.content)
    except ValueError as error:
        raise AssertionError(f"{path} on the host is not a PEM certificate: {error}") from None


def _fingerprint(cert: x509.Certificate) -> str:
    return "SHA256:" + cert.fingerprint(hashes.SHA256()).hex(":").upper()


def _stamp(when: datetime.datetime) -> str:
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _subject(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


def test_vdsm_certificate_is_not_expiring(host: Any, host_path: Callable[[str], str],
                                          hostvars: dict[str, Any], params: dict[str, Any],
                                          evidence: Evidence) -> None:
    min_days = int(params.get("vdsm_min_days", 30))
    cert = _read_cert(host, host_path, VDSM_CERT)
    not_after = cert.not_valid_after_utc
    evidence("notAfter", _stamp(not_after))
    evidence("fingerprint", _fingerprint(cert))
    left = (not_after - datetime.datetime.now(datetime.UTC)).total_seconds() / 86400
    name = hostvars.get("inventory_hostname", "")
    if left < 0:
        raise AssertionError(f"the VDSM certificate {VDSM_CERT} of host {name} expired on "
                             f"{_stamp(not_after)}, the profile wants {min_days} days left")
    assert left >= min_days, (f"the VDSM certificate {VDSM_CERT} of host {name} expires on "
                              f"{_stamp(not_after)} ({left:.0f} days left), the profile wants "
                              f"at least {min_days} days left")


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def test_vdsm_certificate_is_issued_by_the_engine_ca(host: Any,
                                                      host_path: Callable[[str], str],
                                                      hostvars: dict[str, Any],
                                                      evidence: Evidence) -> None:
    name = hostvars.get("inventory_hostname", "")
    cert = _read_cert(host, host_path, VDSM_CERT)
    local_ca = _read_cert(host, host_path, VDSM_CA)
    evidence("issuer", cert.issuer.rfc4514_string())
    evidence("ca fingerprint", _fingerprint(local_ca))
    assert _issued_by(cert, local_ca), (
        f"the VDSM certificate of host {name} (issuer {cert.issuer.rfc4514_string()}) is not "
        f"signed by the CA in {VDSM_CA} ({_subject(local_ca)}, {_fingerprint(local_ca)})")
    ca_file = str(hostvars.get("engine_ca_file") or "")
    assert ca_file, (f"host {name} has no engine_ca_file (its engine's CA, "
                     "/etc/pki/ovirt-engine/ca.pem, copied to the control node) to compare "
                     f"{VDSM_CA} with")
    try:
        engine_ca = x509.load_pem_x509_certificate(Path(ca_file).read_bytes())
    except (OSError, ValueError) as error:
        raise AssertionError(f"cannot read the engine CA {ca_file}: {error}") from None
    evidence("engine ca fingerprint", _fingerprint(engine_ca))
    assert local_ca == engine_ca, (
        f"{VDSM_CA} of host {name} ({_subject(local_ca)}, {_fingerprint(local_ca)}) is not "
        f"the engine CA {ca_file} ({_subject(engine_ca)}, {_fingerprint(engine_ca)})")
