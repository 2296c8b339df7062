"""The engine API simulator served in-process for tests, on its own loopback address.

``running_api(layout)`` serves ``engine_app(layout)`` on ``layout.engine_address`` (a free port)
in a thread; ``ApiLab.connect()`` is a real ovirtsdk4 connection to it over plain HTTP, and
``ApiLab.request()`` a raw HTTP request for what the SDK hides (status, headers, body).
"""

from __future__ import annotations

import contextlib
import http.client
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import ovirtsdk4 as sdk

from opsrunner_lab.engine_api.server import EngineApiServer, admin_password_file, engine_app
from opsrunner_lab.engine_api.sso import DEFAULT_TOKEN_TTL
from opsrunner_lab.layout import LabLayout
from opsrunner_lab.sshd import free_port

ADMIN = "admin@internal"


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class ApiLab:
    layout: LabLayout
    server: EngineApiServer
    address: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}/ovirt-engine/api"

    @property
    def password(self) -> str:
        return admin_password_file(self.layout).read_text().rstrip("\n")

    def connect(self, **options: Any) -> sdk.Connection:
        options.setdefault("username", ADMIN)
        options.setdefault("password", self.password)
        return sdk.Connection(url=self.url, **options)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: Mapping[str, str] | None = None) -> RawResponse:
        """A raw request to ``path`` (absolute, e.g. ``/ovirt-engine/api/vms``)."""
        connection = http.client.HTTPConnection(self.address, self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            return RawResponse(response.status,
                               {k.lower(): v for k, v in response.getheaders()},
                               response.read())
        finally:
            connection.close()


@contextlib.contextmanager
def running_api(layout: LabLayout, token_ttl: float = DEFAULT_TOKEN_TTL) -> Iterator[ApiLab]:
    """Serve ``layout``'s simulator until the block ends (then shut down and joined)."""
    address = layout.engine_address
    port = free_port(address)
    server = EngineApiServer((address, port), engine_app(layout, token_ttl), quiet=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,))
    thread.start()
    try:
        yield ApiLab(layout, server, address, port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
