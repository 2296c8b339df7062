"""The server-alive watch: OpenSSH's ServerAliveInterval x ServerAliveCountMax counting."""

from __future__ import annotations

import threading
import time

import paramiko

from opsrunner.connection.ssh.alive import AliveCounter, AliveTransport, ServerAlive, watch


def test_count_max_unanswered_requests_in_a_row_mean_the_server_is_dead():
    counter = AliveCounter(3)
    assert counter.tick() is False and counter.sent == 1  # the first request
    assert [counter.tick() for _ in range(3)] == [False, False, True]
    assert counter.misses == 3


def test_any_answer_resets_the_misses():
    counter = AliveCounter(2)
    counter.tick()
    assert counter.tick() is False and counter.misses == 1
    counter.answer()  # a late answer, to the first request
    assert counter.tick() is False and counter.misses == 0
    assert counter.tick() is False and counter.misses == 1
    assert counter.tick() is True


def test_a_server_that_answers_every_interval_is_alive():
    counter = AliveCounter(1)
    counter.tick()
    for _ in range(100):
        counter.answer()
        assert counter.tick() is False
    assert counter.sent == 101 and counter.misses == 0


class _Quiet(AliveTransport):
    """A transport whose server answers only while ``answering`` is set."""

    def __init__(self) -> None:  # no socket, no thread: only what the watch uses
        self.active = True
        self.answering = threading.Event()
        self.answering.set()
        self.sent = 0
        self.closed = threading.Event()

    def is_active(self) -> bool:
        return self.active

    def send_keepalive(self) -> None:
        self.sent += 1
        if self.answering.is_set():
            self._parse_request_failure(paramiko.Message())  # OpenSSH: "request failed"

    def close(self) -> None:
        self.active = False
        self.closed.set()


def test_the_watch_closes_the_transport_of_a_server_that_stopped_answering(monkeypatch):
    monkeypatch.setattr(paramiko.Transport, "_parse_request_failure", lambda self, m: None)
    transport = _Quiet()
    alive = watch(transport, "node1 (127.0.0.1:22)", 0.05, 3)
    assert isinstance(alive, ServerAlive)
    time.sleep(0.4)
    assert not transport.closed.is_set() and transport.sent >= 4
    transport.answering.clear()
    stopped_at = time.monotonic()
    assert transport.closed.wait(5)
    assert 0.1 <= time.monotonic() - stopped_at < 2
    assert alive.reason == ("node1 (127.0.0.1:22): no answer from the SSH server for 0.15 s "
                            "(ServerAliveInterval 0.05 s \u00d7 ServerAliveCountMax 3); the host "
                            "is failed")


def test_an_interval_of_0_turns_the_watch_off():
    assert watch(_Quiet(), "n", 0, 3) is None
    assert watch(object(), "n", 15, 3) is None  # another kind of transport
