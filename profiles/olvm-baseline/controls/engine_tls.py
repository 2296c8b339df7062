"""Checks of the engine's TLS and PKI controls (engine_tls.yml): HSTS on every engine port,
http redirected to https, the Apache certificate served on 443 (expiry, names, chain), and the
engine PKI's files (apache-ca.pem, folder modes, the engine CA's expiry).

The engine is reached at the host's ``engine_address`` (default: ``engine_fqdn``, else
localhost) on its ``ports``; files are read through ``host_path`` (the host's sysroot).
Every assertion message is one line an auditor reads: what was found, what the profile
requires, where.
"""

from __future__ import annotations

import datetime
import hashlib
import shlex
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

Evidence = Callable[[str, object], None]
PathMap = Callable[[str], str]

PKI = "/etc/pki/ovirt-engine"
APACHE_CER = f"{PKI}/certs/apache.cer"
APACHE_CA = f"{PKI}/apache-ca.pem"
ENGINE_CA = f"{PKI}/ca.pem"
PKI_FOLDERS = ("/etc/pki", PKI)
PKI_MODE = 0o755
# service -> (key in the host's ``ports``, default port)
HSTS_PORTS = {"httpd": ("https", 443), "ovirt-imageio": ("ovirt-imageio", 54323),
              "ovirt-provider-ovn": ("ovirt-provider-ovn", 35357),
              "ovirt-websocket-proxy": ("ovirt-websocket-proxy", 6100)}
MAX_AGE = 31536000
HTTPD_MAX_AGE = 63072000


# ---------------------------------------------------------------- helpers

def engine_address(hostvars: dict[str, Any]) -> str:
    return str(hostvars.get("engine_address") or hostvars.get("engine_fqdn") or "localhost")


def port_of(hostvars: dict[str, Any], key: str, default: int) -> int:
    return int((hostvars.get("ports") or {}).get(key, default))


def curl_head(host: Any, url: str) -> tuple[str, dict[str, str]]:
    """The status line and headers (lower-case names) of ``curl -s -I -k url`` on the host."""
    res = host.run(f"curl -s -I -k --max-time 10 {shlex.quote(url)}")
    assert res.rc == 0, f"curl -s -I -k {url} on the engine failed (exit status {res.rc}): " \
                        f"nothing answers there"
    lines = [line.strip() for line in res.stdout.splitlines() if line.strip()]
    assert lines, f"curl -s -I -k {url} on the engine got no answer"
    headers = {name.strip().lower(): value.strip() for name, _, value in
               (line.partition(":") for line in lines[1:])}
    return lines[0], headers


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate as ``openssl x509 -fingerprint -sha256`` shows it."""
    digest = hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def expiry_text(cert: x509.Certificate) -> tuple[str, int]:
    """``expires 2026-12-20 (17 days)`` (``expired ... (3 days ago)``) and the whole days
    left (negative once expired)."""
    after = cert.not_valid_after_utc
    left = (after - now()).days
    day = after.strftime("%Y-%m-%d")
    if after < now():
        return f"expired {day} ({(now() - after).days} days ago)", left
    return f"expires {day} ({left} days)", left


def pem_certs(data: bytes, what: str) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        pytest.fail(f"{what} holds no PEM certificate")


def host_bytes(host: Any, host_path: PathMap, path: str) -> bytes:
    found = host.file(host_path(path))
    assert found.exists, f"{path} does not exist on the engine"
    content: bytes = found.content
    return content


def issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    """Whether ``ca`` signed ``cert`` (names and signature)."""
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def served_endpoint(hostvars: dict[str, Any]) -> tuple[str, int, str]:
    """(address, port, the engine FQDN sent as SNI) of the engine's HTTPS port."""
    fqdn = str(hostvars.get("engine_fqdn") or engine_address(hostvars))
    return engine_address(hostvars), port_of(hostvars, "https", 443), fqdn


def served_certificate(hostvars: dict[str, Any]) -> tuple[x509.Certificate, str]:
    """The certificate the engine's HTTPS port presents (read without trusting it), and the
    URL it was read from."""
    address, port, fqdn = served_endpoint(hostvars)
    url = f"https://{address}:{port}/"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((address, port), timeout=10) as sock, \
                context.wrap_socket(sock, server_hostname=fqdn) as tls:
            der = tls.getpeercert(binary_form=True)
    except OSError as exc:
        pytest.fail(f"{url} cannot be reached for a TLS handshake: {exc}")
    assert der, f"{url} presents no certificate"
    return x509.load_der_x509_certificate(der), url


def names_of(cert: x509.Certificate) -> list[str]:
    """The subjectAltName entries (DNS names, then IP addresses); empty without one."""
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [*alt.get_values_for_type(x509.DNSName),
            *(str(ip) for ip in alt.get_values_for_type(x509.IPAddress))]


def covers(name: str, fqdn: str) -> bool:
    """Whether SAN DNS entry ``name`` matches ``fqdn`` (one left-most ``*`` label)."""
    name, fqdn = name.lower().rstrip("."), fqdn.lower().rstrip(".")
    if name.startswith("*."):
        head, _, rest = fqdn.partition(".")
        return bool(head) and rest == name[2:]
    return name == fqdn


# ---------------------------------------------------------------- OLVM-TLS-001

@pytest.mark.parametrize("service", list(HSTS_PORTS))
def test_hsts_on_every_port(host: Any, hostvars: dict[str, Any], params: dict[str, Any],
                            evidence: Evidence, service: str) -> None:
    key, default = HSTS_PORTS[service]
    url = f"https://{engine_address(hostvars)}:{port_of(hostvars, key, default)}/"
    status, headers = curl_head(host, url)
    found = headers.get("strict-transport-security")
    evidence(f"{service}.strict_transport_security", found or "(none)")
    if service == "httpd":
        age = int(params.get("hsts_httpd_max_age", HTTPD_MAX_AGE))
        wanted = f"max-age={age}; includeSubDomains"
    else:
        age = int(params.get("hsts_max_age", MAX_AGE))
        wanted = f"max-age={age}"
    assert found is not None, (f"{url} ({service}) answers {status} with no "
                               f"Strict-Transport-Security header, the profile requires "
                               f"{wanted}")
    directives = [d.strip().lower() for d in found.split(";") if d.strip()]
    good_age = f"max-age={age}" in directives
    good_sub = service != "httpd" or "includesubdomains" in directives
    assert good_age and good_sub, (f"{url} ({service}) sends Strict-Transport-Security: "
                                   f"{found}, the profile requires {wanted}")


# ---------------------------------------------------------------- OLVM-TLS-002

def test_http_redirects_to_https(host: Any, hostvars: dict[str, Any],
                                 evidence: Evidence) -> None:
    url = f"http://{engine_address(hostvars)}:{port_of(hostvars, 'http', 80)}/ovirt-engine/"
    status, headers = curl_head(host, url)
    location = headers.get("location", "")
    evidence("http.status", status)
    evidence("http.location", location or "(none)")
    code = status.split()[1] if len(status.split()) > 1 else ""
    assert code.startswith("3") and location.startswith("https://"), (
        f"{url} answers {status}" + (f" to {location}" if location else "")
        + ", the profile requires a redirect to https://")


# ---------------------------------------------------------------- OLVM-TLS-003

def test_apache_certificate_not_expiring(host: Any, hostvars: dict[str, Any],
                                         host_path: PathMap, params: dict[str, Any],
                                         evidence: Evidence) -> None:
    min_days = int(params.get("apache_min_days", 30))
    served, url = served_certificate(hostvars)
    served_expiry, served_left = expiry_text(served)
    evidence("served.sha256", fingerprint(served))
    evidence("served.not_after", served.not_valid_after_utc.isoformat())
    on_disk = pem_certs(host_bytes(host, host_path, APACHE_CER), APACHE_CER)[0]
    file_expiry, file_left = expiry_text(on_disk)
    evidence("apache_cer.sha256", fingerprint(on_disk))
    evidence("apache_cer.not_after", on_disk.not_valid_after_utc.isoformat())
    assert served_left >= min_days, (
        f"{url} serves a certificate ({common_name(served)}) that {served_expiry}, the "
        f"profile requires at least {min_days} days")
    assert file_left >= min_days, (
        f"{APACHE_CER} ({common_name(on_disk)}) {file_expiry}, the profile requires at "
        f"least {min_days} days")
    assert fingerprint(on_disk) == fingerprint(served), (
        f"{url} serves a certificate (sha256 {fingerprint(served)[:23]}...) other than "
        f"{APACHE_CER} (sha256 {fingerprint(on_disk)[:23]}...): httpd was not restarted "
        f"since the file changed")


# ---------------------------------------------------------------- OLVM-TLS-004

def test_apache_certificate_covers_engine_fqdn(hostvars: dict[str, Any],
                                               evidence: Evidence) -> None:
    fqdn = str(hostvars.get("engine_fqdn") or "")
    assert fqdn, "the host has no engine_fqdn variable: the profile cannot tell which name " \
                 "the certificate must cover"
    served, url = served_certificate(hostvars)
    names = names_of(served)
    evidence("served.subject_alt_names", ", ".join(names) or "(none)")
    assert names, (f"{url} serves a certificate ({common_name(served)}) without a "
                   f"subjectAltName, the profile requires one naming {fqdn}")
    assert any(covers(n, fqdn) for n in names), (
        f"{url} serves a certificate for {', '.join(names)}, which does not cover the engine "
        f"FQDN {fqdn}")


# ---------------------------------------------------------------- OLVM-TLS-005

def _trusted(host: Any, hostvars: dict[str, Any],
             host_path: PathMap) -> tuple[list[x509.Certificate], str]:
    """The CA certificates clients are configured with, and where they come from: the
    control node's ``engine_ca_file``, else the engine's apache-ca.pem."""
    configured = hostvars.get("engine_ca_file")
    if configured:
        path = Path(str(configured)).expanduser()
        assert path.is_file(), f"engine_ca_file {path} does not exist on the control node"
        return pem_certs(path.read_bytes(), f"engine_ca_file {path}"), \
            f"engine_ca_file {path}"
    return pem_certs(host_bytes(host, host_path, APACHE_CA), APACHE_CA), \
        f"{APACHE_CA} of the engine"


def _served_chain(host: Any, hostvars: dict[str, Any]) -> list[x509.Certificate]:
    """Every certificate the HTTPS port sends (``openssl s_client -showcerts`` on the host)."""
    address, port, fqdn = served_endpoint(hostvars)
    res = host.run(f"openssl s_client -connect {shlex.quote(f'{address}:{port}')} "
                   f"-servername {shlex.quote(fqdn)} -showcerts </dev/null 2>/dev/null")
    try:
        return x509.load_pem_x509_certificates(res.stdout.encode())
    except ValueError:
        return []


def test_certificate_chain_validates(host: Any, hostvars: dict[str, Any], host_path: PathMap,
                                     evidence: Evidence) -> None:
    address, port, fqdn = served_endpoint(hostvars)
    url = f"https://{address}:{port}/"
    cas, source = _trusted(host, hostvars, host_path)
    roots = [c for c in cas if c.subject == c.issuer] or cas
    chain = _served_chain(host, hostvars)
    shown = " -> ".join(common_name(c) for c in chain) or "(not read)"
    evidence("served.chain", shown)
    evidence("trusted.ca", f"{source}: " + ", ".join(common_name(c) for c in roots))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False  # the names are OLVM-TLS-004's
    context.load_verify_locations(cadata="".join(
        c.public_bytes(Encoding.PEM).decode() for c in roots))
    problem = ""
    try:
        with socket.create_connection((address, port), timeout=10) as sock, \
                context.wrap_socket(sock, server_hostname=fqdn):
            pass
    except ssl.SSLCertVerificationError as exc:
        problem = exc.verify_message or str(exc)
    except OSError as exc:
        pytest.fail(f"{url} cannot be reached for a TLS handshake: {exc}")
    evidence("chain.validates", "no: " + problem if problem else "yes")
    assert not problem, (f"{url} serves the chain {shown}, which does not validate with "
                         f"{source} (roots {', '.join(common_name(c) for c in roots)}): "
                         f"{problem}")


# ---------------------------------------------------------------- OLVM-PKI-001

def test_apache_ca_is_a_file_with_third_party_certificate(
        host: Any, host_path: PathMap, evidence: Evidence) -> None:
    cert = pem_certs(host_bytes(host, host_path, APACHE_CER), APACHE_CER)[0]
    engine_ca = pem_certs(host_bytes(host, host_path, ENGINE_CA), ENGINE_CA)[0]
    third_party = not issued_by(cert, engine_ca)
    evidence("apache_cer.issuer", cert.issuer.rfc4514_string())
    evidence("apache_cer.issued_by_engine_ca", "no" if third_party else "yes")
    link = host.file(host_path(APACHE_CA))
    target = ""
    if link.is_symlink:
        target = host.run(f"readlink -- {shlex.quote(host_path(APACHE_CA))}").stdout.strip()
        evidence("apache_ca", f"symlink to {target}")
    elif link.is_file:
        evidence("apache_ca", f"file sha256 {hashlib.sha256(link.content).hexdigest()}")
    else:
        evidence("apache_ca", "missing")
    if not third_party:
        return
    issuer = cert.issuer.rfc4514_string()
    assert not link.is_symlink, (
        f"{APACHE_CER} is issued by {issuer}, not the engine CA, but {APACHE_CA} is still a "
        f"symlink to {target}: the third-party CA chain must replace it")
    assert link.is_file, (f"{APACHE_CER} is issued by {issuer}, not the engine CA, and "
                          f"{APACHE_CA} is missing: the third-party CA chain must be there")
    held = pem_certs(link.content, APACHE_CA)
    assert any(issued_by(cert, ca) for ca in held), (
        f"{APACHE_CA} holds {', '.join(common_name(c) for c in held)}, not the issuer "
        f"{issuer} of {APACHE_CER}")


# ---------------------------------------------------------------- OLVM-PKI-002

@pytest.mark.parametrize("folder", PKI_FOLDERS)
def test_pki_folders_mode(host: Any, host_path: PathMap, evidence: Evidence,
                          folder: str) -> None:
    found = host.file(host_path(folder))
    assert found.is_directory, f"{folder} is not a directory on the engine"
    mode, user, group = found.mode, found.user, found.group
    evidence(f"{folder}.mode", f"{mode:04o}")
    evidence(f"{folder}.owner", f"{user}:{group}")
    assert mode == PKI_MODE, f"{folder} is mode {mode:04o}, the profile requires 0755"
    assert (user, group) == ("root", "root"), \
        f"{folder} is owned by {user}:{group}, the profile requires root:root"


# ---------------------------------------------------------------- OLVM-PKI-003

def test_engine_ca_not_expiring(host: Any, host_path: PathMap, params: dict[str, Any],
                                evidence: Evidence) -> None:
    min_days = int(params.get("ca_min_days", 365))
    ca = pem_certs(host_bytes(host, host_path, ENGINE_CA), ENGINE_CA)[0]
    expiry, left = expiry_text(ca)
    evidence("engine_ca.sha256", fingerprint(ca))
    evidence("engine_ca.not_after", ca.not_valid_after_utc.isoformat())
    assert left >= min_days, (f"the engine CA {ENGINE_CA} ({common_name(ca)}) {expiry}, the "
                              f"profile requires at least {min_days} days")
