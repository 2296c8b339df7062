"""A stand-in server for services with no behaviour the workflows observe beyond being up
or down (ovirt-engine-dwhd, ovirt-engine-notifier, vdsmd), or only an HTTP answer
(grafana-server). Run as ``python -m opsrunner_lab.idle NAME [ADDRESS PORT]``.
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opsrunner_lab.stop_signals import stop_event, wait_for


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"database": "ok", "version": "lab"}\n'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


def main(argv: list[str]) -> int:
    stop = stop_event()
    server = None
    if len(argv) >= 3:
        server = ThreadingHTTPServer((argv[1], int(argv[2])), _Health)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"{argv[0]} started", flush=True)
    wait_for(stop)
    if server is not None:
        server.shutdown()
    print(f"{argv[0]} stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
