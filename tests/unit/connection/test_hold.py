"""Held commands of the local connection: lines with timeouts, EOF, stdin kept open."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from opsrunner.connection import ConnectOptions
from opsrunner.connection.hold import HeldProcess, holder_of
from opsrunner.connection.local import LocalConnection
from opsrunner.host import Host
from opsrunner.result import CommandResult


@pytest.fixture
def conn() -> LocalConnection:
    return LocalConnection(Host(name="control", hostname="localhost", connection="local"))


def test_local_and_ssh_connections_can_hold_and_others_not(conn: LocalConnection) -> None:
    from opsrunner.connection.ssh import SSHConnection

    assert holder_of(conn) is conn
    ssh = SSHConnection(Host(name="n", hostname="192.0.2.1"), ConnectOptions())
    assert holder_of(ssh) is ssh

    class RunOnly:
        def run(self, command: str) -> CommandResult:
            return CommandResult(command, 0, "", "")

    assert holder_of(RunOnly()) is None


def test_lines_then_eof(conn: LocalConnection) -> None:
    held = conn.hold("echo one; printf 'two\\nthree'")
    try:
        assert held.readline(5) == "one\n"
        assert held.readline(5) == "two\n"
        assert held.readline(5) == "three"  # the last line may lack its newline
        assert held.readline(5) == ""
        assert held.readline(5) == ""
    finally:
        held.close()


def test_stdin_stays_open_until_close(conn: LocalConnection, tmp_path: Path) -> None:
    marker = tmp_path / "saw-eof"
    held = conn.hold(f"echo started; cat >/dev/null; echo eof > {marker}")
    assert held.readline(5) == "started\n"
    with pytest.raises(TimeoutError):
        held.readline(0.3)  # still reading its stdin: no line, no EOF
    assert not marker.exists()
    held.close()
    assert marker.read_text() == "eof\n"  # close waited for it to see EOF and end
    assert isinstance(held, HeldProcess) and held.proc.returncode == 0
    held.close()  # idempotent


def test_timeout_is_timeout_error_and_the_command_keeps_running(conn: LocalConnection) -> None:
    held = conn.hold("sleep 0.5; echo late; cat")
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            held.readline(0.1)
        assert time.monotonic() - started < 0.4
        assert held.readline(5) == "late\n"
    finally:
        held.close()


def test_stderr_is_kept_apart(conn: LocalConnection) -> None:
    held = conn.hold("echo oops >&2; echo out")
    try:
        assert held.readline(5) == "out\n"
        assert held.readline(5) == ""
        assert "oops" in held.stderr
    finally:
        held.close()


def test_new_session_and_close_kills_a_command_that_ignores_eof(conn: LocalConnection) -> None:
    held = conn.hold("trap '' TERM; echo $$; sleep 30 & sleep 30; wait")
    assert isinstance(held, HeldProcess)
    pid = int(held.readline(5))
    assert os.getsid(pid) == pid  # its own session: a group to kill
    started = time.monotonic()
    held.close(wait=0.2)
    assert time.monotonic() - started < 5
    assert held.proc.returncode is not None


def test_sudo_as_root_runs_the_command_itself(conn: LocalConnection) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (sudo -n would ask for a password)")
    held = conn.hold("id -u", sudo=True)
    try:
        assert held.readline(5) == "0\n"
    finally:
        held.close()
