"""Dead-peer detection, as OpenSSH's ``ServerAliveInterval`` / ``ServerAliveCountMax``.

Every ``interval`` seconds the client sends the global request ``keepalive@openssh.com``
with *want reply* set (paramiko's own ``set_keepalive`` does not want a reply, so it cannot
tell a dead server from a quiet one). A server answers it, with success or failure; when
``count_max`` requests in a row get no answer, the transport is closed: a command waiting on
it ends and its host fails with :attr:`ServerAlive.reason`. A server stopped (SIGSTOP) or cut
off keeps the TCP connection open, so only this notices it.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import paramiko
from paramiko.common import cMSG_GLOBAL_REQUEST

KEEPALIVE_REQUEST = "keepalive@openssh.com"


class AliveCounter:
    """The counting of :class:`ServerAlive`, without threads or I/O.

    :meth:`tick` is called once per interval, just before a request is sent: a tick after
    which no answer came, while a request was waiting for one, is a miss; any answer resets the
    misses (as in OpenSSH).
    """

    def __init__(self, count_max: int) -> None:
        self.count_max = count_max
        self.sent = 0
        self.answered = 0
        self.misses = 0
        self._answered_at_tick = 0

    def answer(self) -> None:
        """The server answered a request."""
        self.answered += 1

    def tick(self) -> bool:
        """One interval passed; True when the server is dead (``count_max`` misses in a row).
        Otherwise the caller sends the next request (counted here)."""
        if self.answered > self._answered_at_tick:
            self.misses = 0
        elif self.sent > self.answered:
            self.misses += 1
        self._answered_at_tick = self.answered
        if self.misses >= self.count_max:
            return True
        self.sent += 1
        return False


class AliveTransport(paramiko.Transport):
    """A paramiko transport that reports answers to global requests to its watcher."""

    alive: ServerAlive | None = None

    def _parse_request_success(self, m: paramiko.Message) -> None:
        if self.alive is not None:
            self.alive.answered()
        paramiko.Transport._parse_request_success(self, m)  # type: ignore[attr-defined]

    def _parse_request_failure(self, m: paramiko.Message) -> None:
        if self.alive is not None:
            self.alive.answered()
        paramiko.Transport._parse_request_failure(self, m)  # type: ignore[attr-defined]

    def send_keepalive(self) -> None:
        """Send ``keepalive@openssh.com`` wanting a reply, without waiting for it."""
        message = paramiko.Message()
        message.add_byte(cMSG_GLOBAL_REQUEST)
        message.add_string(KEEPALIVE_REQUEST)
        message.add_boolean(True)
        self._send_user_message(message)  # type: ignore[attr-defined]


class ServerAlive:
    """Watches one transport (a daemon thread; see the module docstring).

    :param label: how messages name the host, e.g. ``node1 (10.0.0.5:22)``.
    """

    def __init__(self, transport: AliveTransport, label: str, interval: float,
                 count_max: int) -> None:
        self.transport = transport
        self.label = label
        self.interval = interval
        self.count_max = count_max
        self.reason: str | None = None
        self._counter = AliveCounter(count_max)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._due = threading.Event()
        transport.alive = self

    def start(self) -> None:
        for target, name in ((self._watch, "ssh-alive"), (self._send, "ssh-alive-send")):
            threading.Thread(target=target, daemon=True, name=f"{name} {self.label}").start()

    def stop(self) -> None:
        self._stop.set()
        self._due.set()

    def answered(self) -> None:
        with self._lock:
            self._counter.answer()

    def message(self) -> str:
        """What a host whose server stopped answering fails with."""
        return (f"{self.label}: no answer from the SSH server for "
                f"{_seconds(self.interval * self.count_max)} (ServerAliveInterval "
                f"{_seconds(self.interval)} \u00d7 ServerAliveCountMax {self.count_max}); "
                "the host is failed")

    def _watch(self) -> None:
        with self._lock:
            self._counter.tick()
        self._due.set()  # the first request goes out at once
        while not self._stop.wait(self.interval):
            if not self.transport.is_active():
                break
            with self._lock:
                dead = self._counter.tick()
            if dead:
                self.reason = self.message()
                self.transport.close()
                break
            self._due.set()
        self.stop()

    def _send(self) -> None:
        # A send can block while the connection's buffers are full (the server reads nothing):
        # it runs here so that the watch keeps counting meanwhile.
        while True:
            self._due.wait()
            self._due.clear()
            if self._stop.is_set() or not self.transport.is_active():
                return
            # A failed send (the transport closing, a key exchange that timed out) is a request
            # without an answer: the watch counts it.
            with contextlib.suppress(EOFError, OSError, paramiko.SSHException):
                self.transport.send_keepalive()


def _seconds(value: float) -> str:
    return f"{value:g} s"


def watch(transport: Any, label: str, interval: float, count_max: int) -> ServerAlive | None:
    """Start watching ``transport`` (an :class:`AliveTransport`); None when ``interval`` is 0
    (off) or the transport is another kind."""
    if interval <= 0 or count_max <= 0 or not isinstance(transport, AliveTransport):
        return None
    alive = ServerAlive(transport, label, interval, count_max)
    alive.start()
    return alive
