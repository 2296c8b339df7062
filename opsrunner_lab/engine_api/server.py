"""The engine API simulator's HTTP server (plain HTTP; the lab's Apache terminates TLS).

Run as ``python -m opsrunner_lab.engine_api.server --lab ROOT [--address A] [--port P]
[--token-ttl SECONDS]``; it serves until SIGTERM. State lives in ``<lab>/data/engine-api``, the
admin password in ``<lab>/secrets/engine-admin-password``.
"""

from __future__ import annotations

import argparse
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from opsrunner_lab.engine_api.app import EngineApp, Request, Response
from opsrunner_lab.engine_api.lab_internal import ensure_internal_token, internal_token_file
from opsrunner_lab.engine_api.seed import ADMIN_LOGIN, add_guest_vms, lab_guest_vms, seed_estate
from opsrunner_lab.engine_api.settings import lab_settings
from opsrunner_lab.engine_api.sso import DEFAULT_TOKEN_TTL, Sso, ensure_admin_password
from opsrunner_lab.engine_api.store import Store
from opsrunner_lab.engine_api.unit import SERVER
from opsrunner_lab.engine_api.xmlcodec import XML_TYPE, to_xml
from opsrunner_lab.guest_disk import LabGuestDisk
from opsrunner_lab.layout import ENGINE_PORTS, LabLayout
from opsrunner_lab.stop_signals import stop_event, wait_for

ADMIN_PASSWORD_FILE = "engine-admin-password"
STATE_FILE = "state.json"


def admin_password_file(layout: LabLayout) -> Path:
    """Where the lab keeps the engine admin's password (the lab inventory points at it)."""
    return layout.secrets / ADMIN_PASSWORD_FILE


def state_file(layout: LabLayout) -> Path:
    """The simulator's persistent state."""
    return layout.data / "engine-api" / STATE_FILE


def engine_app(layout: LabLayout, token_ttl: float = DEFAULT_TOKEN_TTL) -> EngineApp:
    """The simulator of ``layout``'s lab: its state loaded (or seeded) with a VM for every guest
    (:func:`~opsrunner_lab.engine_api.seed.add_guest_vms`), its admin password, its settings
    (:func:`~opsrunner_lab.engine_api.settings.lab_settings`), its internal token (``/lab/``
    paths) and its guests' disks kept with their VMs' snapshots
    (:class:`~opsrunner_lab.guest_disk.LabGuestDisk`)."""
    layout.secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
    password = ensure_admin_password(admin_password_file(layout))
    token = ensure_internal_token(internal_token_file(layout))
    store = Store(state_file(layout), seed_estate(layout))
    app = EngineApp(store, Sso({ADMIN_LOGIN: password}, token_ttl),
                    settings=lab_settings(layout), internal_token=token,
                    guest_disk=LabGuestDisk(layout))
    add_guest_vms(store, lab_guest_vms(layout))  # after the app installed the store's hooks
    return app


class EngineApiServer(ThreadingHTTPServer):
    """A threading HTTP server answering with ``app``; ``quiet`` drops the access log."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: EngineApp, quiet: bool = False) -> None:
        super().__init__(address, EngineApiHandler)
        self.app = app
        self.quiet = quiet


class EngineApiHandler(BaseHTTPRequestHandler):
    """Hands each request to the server's app; HTTP/1.1 with keep-alive, as Apache proxies."""

    protocol_version = "HTTP/1.1"
    server_version = "ovirt-engine-lab"
    timeout = 120  # an idle keep-alive connection is closed after this many seconds
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: EngineApiServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        client = headers.get("x-forwarded-for", self.client_address[0]).split(",")[0].strip()
        try:
            response = self.server.app.handle(Request(self.command, self.path, headers, body,
                                                      client))
        except Exception:
            traceback.print_exc()
            response = Response(500, to_xml("fault", {
                "reason": "Operation Failed",
                "detail": "[Internal error of the lab's engine simulator; see its log]"}),
                XML_TYPE)
        self.send_response(response.status)
        if response.content_type is not None:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        if not self.server.quiet:
            super().log_message(format, *args)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {SERVER}")
    parser.add_argument("--lab", type=Path, required=True, help="the lab folder")
    parser.add_argument("--address", help="listen address (default: the lab engine's)")
    parser.add_argument("--port", type=int, default=ENGINE_PORTS["ovirt-engine"])
    parser.add_argument("--token-ttl", type=float, default=DEFAULT_TOKEN_TTL,
                        help="seconds an SSO token stays valid without use")
    options = parser.parse_args(argv)
    layout = LabLayout.load(options.lab)
    address = options.address or layout.engine_address
    server = EngineApiServer((address, options.port), engine_app(layout, options.token_ttl))
    stop = stop_event()
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
    thread.start()
    print(f"ovirt-engine (lab API simulator) on http://{address}:{options.port}/ovirt-engine/",
          flush=True)
    wait_for(stop)
    server.shutdown()
    server.server_close()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
