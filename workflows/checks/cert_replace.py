"""Checks after workflows/cert-replace.yml: the engine's HTTPS port presents the new
certificate and it validates against the new CA chain (and the engine FQDN); apache-ca.pem is a
regular file equal to the CA; /etc/pki and /etc/pki/ovirt-engine are still 0755.

They need the run's ``-e ca_chain=... -e cert=...`` (control-node files). The port is reached at
``engine_address`` (default: the engine FQDN) and ``ports.https`` (default 443).
"""

from __future__ import annotations

import hashlib
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

APACHE_CA = "/etc/pki/ovirt-engine/apache-ca.pem"
SEED_MODE = 0o755


def _control_file(hostvars: dict[str, Any], name: str) -> bytes:
    path = hostvars.get(name)
    if not path:
        pytest.fail(f"{name} is not set: run the checks with -e {name}=<control-node PEM file>")
    return Path(str(path)).expanduser().read_bytes()


@pytest.fixture
def presented(hostvars: dict[str, Any]) -> bytes:
    """The DER certificate the HTTPS port presents, after a handshake that verifies it
    against the new CA chain and the engine FQDN."""
    fqdn = str(hostvars["engine_fqdn"])
    address = str(hostvars.get("engine_address") or fqdn)
    port = int((hostvars.get("ports") or {}).get("https", 443))
    context = ssl.create_default_context(cadata=_control_file(hostvars, "ca_chain").decode())
    with socket.create_connection((address, port), timeout=10) as sock, \
            context.wrap_socket(sock, server_hostname=fqdn) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der, "the server presented no certificate"
    return der


def test_https_presents_the_new_certificate(presented: bytes, hostvars: dict[str, Any]) -> None:
    wanted = x509.load_pem_x509_certificate(_control_file(hostvars, "cert"))
    expected = hashlib.sha256(wanted.public_bytes(serialization.Encoding.DER)).hexdigest()
    assert hashlib.sha256(presented).hexdigest() == expected, \
        "the engine's HTTPS port presents another certificate than the new one"


def test_apache_ca_is_a_regular_file_equal_to_the_ca(host: Any, hostvars: dict[str, Any],
                                                      host_path: Any) -> None:
    found = host.file(host_path(APACHE_CA))
    assert not found.is_symlink, f"{APACHE_CA} is still a symlink (to {found.linked_to})"
    assert found.is_file, f"{APACHE_CA} is not a regular file"
    assert found.content == _control_file(hostvars, "ca_chain"), \
        f"{APACHE_CA} differs from the CA chain file"


@pytest.mark.parametrize("folder", ["/etc/pki", "/etc/pki/ovirt-engine"])
def test_pki_folder_mode_unchanged(host: Any, host_path: Any, folder: str) -> None:
    found = host.file(host_path(folder))
    assert found.is_directory, f"{folder} is not a directory"
    assert found.mode == SEED_MODE, f"{folder} is mode {found.mode:04o}, not 0755"
    assert found.user == "root", f"{folder} is owned by {found.user}, not root"
