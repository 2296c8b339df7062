"""The lab's ``ovirt-websocket-proxy`` process: ``python -m opsrunner_lab.wsproxy_server SYSROOT
ADDRESS PORT``.

Answers as the engine's websockify-based proxy does: a websocket upgrade gets ``101 Switching
Protocols`` (then a close frame: the lab has no console behind any ticket), any other request
``405 Method Not Allowed``. Every answer is built with ``webob.Response`` imported at run time
(from the sysroot's copy, first on ``PYTHONPATH``), so the HSTS procedure's edit of
``webob/response.py`` shows after a restart. The certificate and key are the
``SSL_CERTIFICATE``/``SSL_KEY`` of the sysroot's ``ovirt-websocket-proxy.conf.d`` (later files
win), read at start.
"""

from __future__ import annotations

import base64
import hashlib
import html
import importlib
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from opsrunner_lab.shell_conf import conf_dir_files, read_shell_confs
from opsrunner_lab.tls_server import serve_tls, server_context

CONF_DIR = "etc/ovirt-engine/ovirt-websocket-proxy.conf.d"
_WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_CLOSE_POLICY_VIOLATION = b"\x88\x02\x03\xf0"  # close frame, status 1008


def proxy_tls_files(sysroot: Path) -> tuple[Path, Path]:
    """The sysroot paths of the conf's ``SSL_CERTIFICATE`` and ``SSL_KEY``; ValueError if unset."""
    folder = sysroot / CONF_DIR
    settings = read_shell_confs(conf_dir_files(folder))
    missing = [name for name in ("SSL_CERTIFICATE", "SSL_KEY") if not settings.get(name)]
    if missing:
        raise ValueError(f"{folder}/*.conf set no {' and no '.join(missing)}")
    return (sysroot / settings["SSL_CERTIFICATE"].lstrip("/"),
            sysroot / settings["SSL_KEY"].lstrip("/"))


class ProxyHandler(BaseHTTPRequestHandler):
    """websockify's answers to plain HTTP, written from ``webob.Response`` objects."""

    server: ProxyServer
    server_version = "WebSockify"
    protocol_version = "HTTP/1.1"
    timeout = 30

    def do_GET(self) -> None:
        if self.headers.get("Upgrade", "").lower() != "websocket":
            self.send_error(405)
        elif not self.headers.get("Sec-WebSocket-Key"):
            self.send_error(400, "Missing Sec-WebSocket-Key header")
        else:
            self._switch_protocols(self.headers["Sec-WebSocket-Key"])

    def do_HEAD(self) -> None:
        self.send_error(405)

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """http.server's HTML error page, answered through webob (``Connection: close``)."""
        short, long = self.responses.get(code, ("???", "???"))
        body = self.error_message_format % {
            "code": code, "message": html.escape(message or short, quote=False),
            "explain": html.escape(explain or long, quote=False)}
        response = self._response(f"{code} {short}", [
            ("Connection", "close"), ("Content-Type", self.error_content_type)])
        response.body = body.encode("utf-8", "replace")
        self.close_connection = True
        self._send(response)

    def _switch_protocols(self, key: str) -> None:
        accept = base64.b64encode(hashlib.sha1((key + _WEBSOCKET_GUID).encode()).digest())
        self._send(self._response("101 Switching Protocols", [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", accept.decode())]))
        self.wfile.write(_CLOSE_POLICY_VIOLATION)
        self.close_connection = True

    def _response(self, status: str, headers: list[tuple[str, str]]) -> Any:
        """A ``webob.Response`` with Server and Date, then ``headers`` (and what webob adds)."""
        response = self.server.response_class(status=status, headerlist=[
            ("Server", self.version_string()), ("Date", self.date_time_string())])
        response.headerlist.extend(headers)
        return response

    def _send(self, response: Any) -> None:
        self.log_request(response.status_code)
        lines = [f"{self.protocol_version} {response.status}"]
        lines += [f"{name}: {value}" for name, value in response.headerlist]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if self.command != "HEAD" and response.status_code >= 200:
            self.wfile.write(response.body)
        self.wfile.flush()


class ProxyServer(ThreadingHTTPServer):
    """Serves ProxyHandler; ``response_class`` is ``webob.Response`` as imported at start."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], response_class: Any) -> None:
        super().__init__(address, ProxyHandler)
        self.response_class = response_class


def main(argv: list[str]) -> int:
    sysroot, address, port = Path(argv[0]), argv[1], int(argv[2])
    webob = importlib.import_module("webob")
    cert, key = proxy_tls_files(sysroot)
    server = ProxyServer((address, port), webob.Response)
    serve_tls(server, server_context(cert, key),
              f"ovirt-websocket-proxy (lab) on {address}:{port}, certificate {cert}, "
              f"webob from {webob.__file__}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
