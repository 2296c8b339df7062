"""The lab's ``ovirt-provider-ovn`` process: ``python -m opsrunner_lab.ovn_server CERT KEY ADDRESS
PORT``.

A keystone-like endpoint on ``http.server``, which resolves to the sysroot's copy of the stdlib
``http`` package (first on ``PYTHONPATH``), so the HSTS procedure's edit of ``server.py`` shows
after a restart. ``GET /`` and ``GET /v2.0/`` answer the identity API versions as JSON; every
other path is 404, and a method with no handler (HEAD, POST...) gets http.server's own 501,
all errors in JSON as the real provider sends them.
"""

from __future__ import annotations

import http.server
import json
import sys
from pathlib import Path

from opsrunner_lab.tls_server import serve_tls, server_context

_V2 = {"id": "v2.0", "status": "stable", "updated": "2014-04-17T00:00:00Z",
       "links": [{"rel": "self", "href": "/v2.0/"}]}
_VERSIONS = {"versions": {"values": [_V2]}}


class KeystoneHandler(http.server.BaseHTTPRequestHandler):
    """GET of the versions document; http.server's defaults for everything else."""

    error_content_type = "application/json"
    error_message_format = ('{"error": {"code": %(code)d, "message": "%(message)s", '
                            '"title": "%(explain)s"}}')
    timeout = 30

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "":
            self._json(200, _VERSIONS)
        elif path == "/v2.0":
            self._json(200, {"version": _V2})
        else:
            self.send_error(404, f"Could not find {self.path}")

    def _json(self, code: int, document: object) -> None:
        body = json.dumps(document).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class KeystoneServer(http.server.ThreadingHTTPServer):
    daemon_threads = True


def main(argv: list[str]) -> int:
    cert, key, address, port = Path(argv[0]), Path(argv[1]), argv[2], int(argv[3])
    server = KeystoneServer((address, port), KeystoneHandler)
    serve_tls(server, server_context(cert, key),
              f"ovirt-provider-ovn (lab) on {address}:{port}, "
              f"http.server from {http.server.__file__}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
