"""The engine's main Apache SSL configuration lives in its sysroot as engine-setup writes it,
``/etc/httpd/conf.d/ssl.conf``, and the lab's real Apache serves what that file names: the real
ovirtsdk4 reaches the API simulator through it over verified TLS, and after ``ssl.conf`` is
edited to another certificate a restart serves that one. Engine on 127.0.138.2."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import ovirtsdk4 as sdk
import pytest
from cryptography import x509
from engine_api_lab import ADMIN

from opsrunner_lab.daemon import LabServerError
from opsrunner_lab.engine_api.server import EngineApiServer, admin_password_file, engine_app
from opsrunner_lab.httpd import httpd_unit
from opsrunner_lab.layout import ENGINE, ENGINE_PORTS, LabLayout
from opsrunner_lab.sysroot import build_sysroots
from opsrunner_lab.sysroot_ssl_conf import SSL_CONF
from opsrunner_lab.unit import Unit

PREFIX = "127.0.138."
PKI = "/etc/pki/ovirt-engine"


@pytest.fixture
def layout(tmp_path: Path) -> LabLayout:
    lab = LabLayout(tmp_path / "lab", kvm_hosts=1, address_prefix=PREFIX)
    build_sysroots(lab)
    return lab


@pytest.fixture
def apache(layout: LabLayout) -> Iterator[Unit]:
    """Apache in front of the API simulator on the engine's ovirt-engine port."""
    server = EngineApiServer((layout.engine_address, ENGINE_PORTS["ovirt-engine"]),
                             engine_app(layout), quiet=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,))
    thread.start()
    unit = httpd_unit(layout)
    try:
        yield unit
    finally:
        unit.stop()
        server.shutdown()
        server.server_close()
        thread.join()


def _served_certificate(layout: LabLayout) -> x509.Certificate:
    context = ssl.create_default_context(cafile=str(layout.root / "pki/ca.pem"))
    with socket.create_connection((layout.engine_address, ENGINE_PORTS["https"]),
                                  timeout=10) as sock, \
            context.wrap_socket(sock, server_hostname=layout.engine_address) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def _certificate(layout: LabLayout, relative: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((layout.sysroot(ENGINE) / relative).read_bytes())


def test_ssl_conf_is_in_the_sysroot_as_engine_setup_writes_it(layout: LabLayout) -> None:
    lines = (layout.sysroot(ENGINE) / SSL_CONF).read_text().splitlines()
    assert f"SSLCertificateFile {PKI}/certs/apache.cer" in lines
    assert f"SSLCertificateKeyFile {PKI}/keys/apache.key.nopass" in lines
    assert f"SSLCACertificateFile {PKI}/apache-ca.pem" in lines
    assert not [line for line in lines if line.startswith("SSLProtocol")]


def test_the_sdk_reaches_the_api_through_the_certificate_ssl_conf_names(
        layout: LabLayout, apache: Unit) -> None:
    apache.start()
    served = _served_certificate(layout)
    assert served == _certificate(layout, "etc/pki/ovirt-engine/certs/apache.cer")
    connection = sdk.Connection(url=f"https://{layout.engine_address}/ovirt-engine/api",
                                username=ADMIN,
                                password=admin_password_file(layout).read_text().strip(),
                                ca_file=str(layout.root / "pki/ca.pem"))
    try:
        assert connection.system_service().get().product_info.version.major == 4
        assert connection.system_service().vms_service().list()
    finally:
        connection.close()


def test_an_edited_ssl_conf_takes_effect_at_the_next_restart(layout: LabLayout,
                                                             apache: Unit) -> None:
    apache.start()
    conf = layout.sysroot(ENGINE) / SSL_CONF
    conf.write_text(conf.read_text()
                    .replace("certs/apache.cer", "certs/websocket-proxy.cer")
                    .replace("keys/apache.key.nopass", "keys/websocket-proxy.key.nopass"))
    assert _served_certificate(layout) == _certificate(layout, f"{PKI[1:]}/certs/apache.cer")
    apache.stop()
    apache.start()
    assert _served_certificate(layout) == _certificate(
        layout, f"{PKI[1:]}/certs/websocket-proxy.cer")


def test_apache_does_not_start_when_ssl_conf_names_no_certificate(layout: LabLayout,
                                                                  apache: Unit) -> None:
    conf = layout.sysroot(ENGINE) / SSL_CONF
    conf.write_text("\n".join(line for line in conf.read_text().splitlines()
                              if not line.startswith("SSLCertificateFile")))
    with pytest.raises(LabServerError, match="sets no SSLCertificateFile"):
        apache.start()
    assert not apache.is_active()
