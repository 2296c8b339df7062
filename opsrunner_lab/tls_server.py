"""Serve a ``socketserver`` TCP server over TLS until SIGTERM: the body of the lab's small servers.

Generic over ``socketserver``, so a server class imported from a sysroot copy of ``http.server``
(the OVN provider's) is served as is.
"""

from __future__ import annotations

import socketserver
import ssl
import threading
from pathlib import Path

from opsrunner_lab.stop_signals import stop_event, wait_for

_POLL_INTERVAL = 0.1  # how soon serve_forever notices a shutdown (seconds)


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A TLS server context (TLS 1.2 or later) with ``cert`` and its ``key``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


def serve_tls(server: socketserver.TCPServer, context: ssl.SSLContext, banner: str) -> None:
    """Serve ``server`` with TLS until SIGTERM or SIGINT, then close it.

    The handshake runs in each request's thread (not in the accept loop), so a client that
    never completes it cannot block others. ``banner`` is printed once listening.
    """
    server.socket = context.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    stop = stop_event()
    thread = threading.Thread(target=server.serve_forever, args=(_POLL_INTERVAL,), name="serve",
                              daemon=True)
    thread.start()
    print(banner, flush=True)
    wait_for(stop)
    server.shutdown()
    server.server_close()
    print("stopped", flush=True)
