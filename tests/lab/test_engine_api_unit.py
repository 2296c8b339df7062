"""The ``ovirt-engine`` unit: the simulator as the lab runs it (a daemon on the engine's address,
port 8702) behind the lab's real Apache, spoken to by ovirtsdk4 over TLS with the lab CA.
The lab's engine is on 127.0.95.2, so a lab that is up on this machine is not disturbed."""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
import pytest

from opsrunner_lab.engine_api.server import admin_password_file
from opsrunner_lab.engine_api.unit import engine_api_unit
from opsrunner_lab.httpd import httpd_unit
from opsrunner_lab.layout import ENGINE_PORTS, LabLayout
from opsrunner_lab.processes import pid_alive
from opsrunner_lab.sysroot import build_sysroots
from opsrunner_lab.unit import Unit

PREFIX = "127.0.95."


@dataclass
class EngineHost:
    layout: LabLayout
    api: Unit
    httpd: Unit

    @property
    def ca_file(self) -> Path:
        return self.layout.root / "pki" / "ca.pem"

    def connect(self) -> sdk.Connection:
        return sdk.Connection(url=f"https://{self.layout.engine_address}/ovirt-engine/api",
                              username="admin@internal",
                              password=admin_password_file(self.layout).read_text().rstrip("\n"),
                              ca_file=str(self.ca_file))

    def https_get(self, path: str) -> int:
        """The status of a GET through Apache (TLS verified with the lab CA)."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        sock = socket.create_connection((self.layout.engine_address, ENGINE_PORTS["https"]), 10)
        with contextlib.closing(context.wrap_socket(sock, server_hostname="engine.lab.local")) \
                as tls:
            tls.sendall(f"GET {path} HTTP/1.1\r\nHost: engine.lab.local\r\n"
                        "Connection: close\r\n\r\n".encode())
            response = http.client.HTTPResponse(tls)
            response.begin()
            response.read()
            return response.status


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineHost]:
    layout = LabLayout(tmp_path / "lab", kvm_hosts=1, address_prefix=PREFIX)
    layout.save()
    build_sysroots(layout)
    host = EngineHost(layout, engine_api_unit(layout), httpd_unit(layout))
    try:
        host.api.start()
        host.httpd.start()
        yield host
    finally:
        pids = [pid for pid in (host.api.daemon.pid(), host.httpd.daemon.pid()) if pid]
        host.api.stop()
        host.httpd.stop()
        assert not [pid for pid in pids if pid_alive(pid)], "a server survived stop()"


def test_the_sdk_works_through_apache_tls_and_state_survives_a_restart(engine: EngineHost
                                                                       ) -> None:
    assert engine.api.ports == {"http": ENGINE_PORTS["ovirt-engine"]}
    connection = engine.connect()
    try:
        system = connection.system_service()
        assert system.get().product_info.name == "Oracle Linux Virtualization Manager"
        hosts = [(h.id, h.name, h.address) for h in system.hosts_service().list()]
        assert [h[1:] for h in hosts] == [("kvm1", PREFIX + "11")]
        added = system.events_service().add(types.Event(
            description="before the restart", severity=types.LogSeverity.NORMAL,
            origin="opsrunner", custom_id=1))
        assert engine.api.stop() is True
        assert engine.https_get("/ovirt-engine/api") == 503
        with pytest.raises(sdk.Error):
            system.hosts_service().list()
        engine.api.start()
        # The restarted engine forgot the token: the SDK logs in again by itself.
        assert [(h.id, h.name, h.address) for h in system.hosts_service().list()] == hosts
        event = system.events_service().event_service(added.id).get()
        assert event.description == "before the restart"
    finally:
        connection.close()
    log = engine.layout.log_dir("engine") / "ovirt-engine.log"
    assert "ovirt-engine (lab API simulator) on http://127.0.95.2:8702/ovirt-engine/" in \
        log.read_text()
