"""The engine's Apache httpd: real apache2 with mod_ssl, the sysroot's PKI and conf.d.

Each test runs its own lab folder with the engine on 127.0.81.2 (not 127.0.80.2), so it never
collides with a lab that is up on this machine.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from opsrunner_lab.daemon import LabServerError, pid_alive
from opsrunner_lab.httpd import httpd_unit
from opsrunner_lab.layout import ENGINE, ENGINE_PORTS, LabHost, LabLayout
from opsrunner_lab.sysroot import build_sysroots, lab_ca
from opsrunner_lab.unit import Unit

pytestmark = pytest.mark.lab

ADDRESS = "127.0.81.2"
HSTS_CONF = """\
LoadModule headers_module modules/mod_headers.so
Header always set Strict-Transport-Security "max-age=63072000; includeSubDomains"
<IfModule mod_rewrite.c>
    RewriteEngine On
    RewriteCond %{HTTPS} off
    RewriteRule (.*) https://%{HTTP_HOST}%{REQUEST_URI}
</IfModule>
"""


class IsolatedLayout(LabLayout):
    """A lab layout whose engine listens on ADDRESS."""

    def hosts(self) -> list[LabHost]:
        return [dataclasses.replace(h, address=ADDRESS) if h.name == ENGINE else h
                for h in super().hosts()]


@dataclasses.dataclass
class Engine:
    layout: LabLayout
    unit: Unit

    @property
    def pki(self) -> Path:
        return self.layout.sysroot(ENGINE) / "etc/pki/ovirt-engine"

    def get(self, path: str, tls: bool = True) -> tuple[int, dict[str, str], bytes]:
        """GET ``path`` (Host: engine.lab.local); over TLS the lab CA must validate Apache."""
        port = ENGINE_PORTS["https" if tls else "http"]
        sock = socket.create_connection((ADDRESS, port), timeout=10)
        if tls:
            context = ssl.create_default_context(cafile=str(self.layout.root / "pki/ca.pem"))
            sock = context.wrap_socket(sock, server_hostname="engine.lab.local")
        with contextlib.closing(sock):
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: engine.lab.local\r\n"
                         "Connection: close\r\n\r\n".encode())
            response = http.client.HTTPResponse(sock)
            response.begin()
            return response.status, dict(response.getheaders()), response.read()


def apache_pids(unit: Unit) -> list[int]:
    """The main apache2 process and its children."""
    main = unit.daemon.pid()
    if main is None:
        return []
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == main:
                children.append(int(stat.parent.name))
    return [main, *children]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    layout = IsolatedLayout(tmp_path, kvm_hosts=0)
    build_sysroots(layout)
    unit = httpd_unit(layout)
    try:
        yield Engine(layout, unit)
    finally:
        pids = apache_pids(unit)
        unit.stop()
        assert not [pid for pid in pids if pid_alive(pid)], "apache2 survived stop()"


@contextlib.contextmanager
def api_backend() -> Iterator[None]:
    """A stand-in for the API simulator on the engine's ovirt-engine port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f"api {self.path}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer((ADDRESS, ENGINE_PORTS["ovirt-engine"]), Handler)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_https_answers_with_the_apache_certificate_of_the_sysroot(engine: Engine) -> None:
    engine.unit.start()
    status, headers, _ = engine.get("/")
    assert (status, headers["Location"]) == (302, "https://engine.lab.local/ovirt-engine/")
    assert headers["Server"].startswith("Apache/2.4")
    assert "Strict-Transport-Security" not in headers


def test_engine_path_is_503_until_the_api_answers_then_proxied(engine: Engine) -> None:
    engine.unit.start()
    assert engine.get("/ovirt-engine/api")[0] == 503
    with api_backend():
        status, _, body = engine.get("/ovirt-engine/api?search=name%3Dx")
    assert (status, body) == (200, b"api /ovirt-engine/api?search=name%3Dx")


def test_hsts_conf_in_conf_d_takes_effect_after_a_restart(engine: Engine) -> None:
    engine.unit.start()
    conf_d = engine.layout.sysroot(ENGINE) / "etc/httpd/conf.d"
    (conf_d / "ovirt-enable-strict-transport-security.conf").write_text(HSTS_CONF)
    assert "Strict-Transport-Security" not in engine.get("/")[1]
    engine.unit.stop()
    engine.unit.start()
    status, headers, _ = engine.get("/")
    assert (status, headers["Strict-Transport-Security"]) == (
        302, "max-age=63072000; includeSubDomains")
    status, headers, _ = engine.get("/ovirt-engine/?x=1", tls=False)
    assert (status, headers["Location"]) == (302, "https://engine.lab.local/ovirt-engine/?x=1")


def test_stop_leaves_no_apache_process(engine: Engine) -> None:
    engine.unit.start()
    pids = apache_pids(engine.unit)
    assert len(pids) >= 2 and engine.unit.is_active()
    assert engine.unit.stop() is True
    assert [pid for pid in pids if pid_alive(pid)] == []
    assert not engine.unit.is_active()
    assert not engine.unit.daemon.pidfile.exists()
    with pytest.raises(OSError):
        socket.create_connection((ADDRESS, ENGINE_PORTS["https"]), timeout=2).close()


def test_certificate_of_another_key_fails_start_with_apaches_error(engine: Engine) -> None:
    other_cert = lab_ca(engine.layout).issue("engine.lab.local", ["engine.lab.local"])[1]
    (engine.pki / "certs/apache.cer").write_bytes(other_cert)
    with pytest.raises(LabServerError) as failure:
        engine.unit.start()
    assert "AH02565: Certificate and private key engine.lab.local:443:0" in str(failure.value)
    assert "do not match" in str(failure.value)
    assert not engine.unit.is_active()


def test_unreadable_certificate_fails_start_with_apaches_error(engine: Engine) -> None:
    (engine.pki / "certs/apache.cer").write_text("not a certificate\n")
    with pytest.raises(LabServerError, match="httpd exited") as failure:
        engine.unit.start()
    assert "AH02562: Failed to configure certificate" in str(failure.value)
    assert not engine.unit.is_active()


def test_start_without_sysroots_says_to_build_them(tmp_path: Path) -> None:
    unit = httpd_unit(IsolatedLayout(tmp_path))
    with pytest.raises(LabServerError, match="build the sysroots first"):
        unit.start()
    assert not unit.is_active()
