"""The channel protocol of ssh_exec: control lines, sudo prompt, stdin gating, timeout.

A scripted fake channel stands in for paramiko's; the real sshd and sudo are exercised by
tests/lab/test_ssh.py.
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

from opsrunner.connection import remote_shell
from opsrunner.connection.ssh.channel import ChannelCommand, remote_line

TAG = "opsrunner-0123456789abcdef"


class FakeChannel:
    """Plays back stderr chunks, recording what the client sent.

    A chunk is served only once everything sent before it was acknowledged by ``gate``
    (``"password"``: after the password line; ``"stdin"``: after stdin was closed).
    """

    def __init__(self, script: list[tuple[str, bytes, str | None]], rc: int = 0,
                 hang: bool = False) -> None:
        self.script = list(script)
        self.rc = rc
        self.hang = hang
        self.sent = bytearray()
        self.stdin_closed = threading.Event()
        self.eof_received = False
        self.closed = False
        self.status_event = threading.Event()
        self._read, self._write = os.pipe()
        os.write(self._write, b"x")  # always "readable": the loop polls the fake
        self.executed: str | None = None

    def fileno(self) -> int:
        return self._read

    def exec_command(self, line: str) -> None:
        self.executed = line

    def _ready(self, stream: str) -> bool:
        if not self.script:
            if not self.hang:
                self.eof_received = True
                self.status_event.set()
            return False
        name, _, gate = self.script[0]
        if gate == "password" and b"\n" not in self.sent:
            return False
        if gate == "stdin" and not self.stdin_closed.is_set():
            return False
        return name == stream

    def recv_ready(self) -> bool:
        return self._ready("out")

    def recv_stderr_ready(self) -> bool:
        return self._ready("err")

    def recv(self, size: int) -> bytes:
        return self.script.pop(0)[1]

    def recv_stderr(self, size: int) -> bytes:
        return self.script.pop(0)[1]

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def shutdown_write(self) -> None:
        self.stdin_closed.set()

    def recv_exit_status(self) -> int:
        return self.rc

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._read)
            os.close(self._write)


def command(channel: FakeChannel, *, password: str | None = None, payload: bytes = b"",
            timeout: float | None = 5, killed: list[int] | None = None) -> ChannelCommand:
    kill = killed.append if killed is not None else _never
    return ChannelCommand(channel, TAG, payload=payload,  # type: ignore[arg-type]
                          sudo_password=password, timeout=timeout, kill_group=kill)


def _never(pid: int) -> None:
    raise AssertionError("nothing should be killed")


def run(channel: FakeChannel, *, password: str | None = None,
        payload: bytes = b"") -> tuple[int, bytes, bytes]:
    try:
        raw = command(channel, password=password, payload=payload).run("line")
    finally:
        channel.close()
    return raw.rc, raw.stdout, raw.stderr


def test_control_lines_are_removed_and_output_kept() -> None:
    channel = FakeChannel([("err", f"{TAG} pid 4242\nwarn\n".encode(), None),
                           ("out", b"hello\n", None), ("err", b"more\n", None)], rc=3)
    assert run(channel, payload=b"in") == (3, b"hello\n", b"warn\nmore\n")
    assert channel.sent == b"in"
    assert channel.executed == "line"


def test_password_answers_the_tagged_prompt_once_then_stdin_follows() -> None:
    channel = FakeChannel([("err", f"{TAG} pid 7\nlecture\n{TAG} pass".encode(), None),
                           ("err", b"word:", None),
                           ("err", f"{TAG} ready\nafter\n".encode(), "password"),
                           ("out", b"done", "stdin")])
    rc, out, err = run(channel, password="pw", payload=b"PREAMBLE+STDIN")
    assert (rc, out, err) == (0, b"done", b"lecture\nafter\n")
    assert channel.sent == b"pw\nPREAMBLE+STDIN"  # the password first, stdin after ready


def test_no_prompt_means_the_password_is_never_sent() -> None:
    channel = FakeChannel([("err", f"{TAG} pid 7\n{TAG} ready\n".encode(), None),
                           ("out", b"ok", "stdin")])
    assert run(channel, password="pw", payload=b"data") == (0, b"ok", b"")
    assert channel.sent == b"data"


def test_an_untagged_pam_password_prompt_is_answered_too() -> None:
    channel = FakeChannel([("err", f"{TAG} pid 7\nEnter LDAP Password: ".encode(), None),
                           ("err", f"{TAG} ready\n".encode(), "password"),
                           ("out", b"ok", "stdin")])
    assert run(channel, password="pw", payload=b"env") == (0, b"ok", b"")
    assert channel.sent == b"pw\nenv"


def test_a_second_prompt_closes_stdin_instead_of_resending() -> None:
    channel = FakeChannel([("err", f"{TAG} pid 7\n{TAG} password:".encode(), None),
                           ("err", f"Sorry, try again.\n{TAG} password:".encode(), "password"),
                           ("err", b"sudo: 1 incorrect password attempt\n", "stdin")], rc=1)
    rc, _, err = run(channel, password="bad", payload=b"secret-env")
    assert rc == 1
    assert err == b"Sorry, try again.\nsudo: 1 incorrect password attempt\n"
    assert channel.sent == b"bad\n"  # never the env preamble


def test_timeout_kills_the_remote_group_and_returns_minus_one() -> None:
    channel = FakeChannel([("err", f"{TAG} pid 99\n".encode(), None),
                           ("out", b"partial", None)], hang=True)
    killed: list[int] = []
    raw = command(channel, timeout=0.2, killed=killed).run("line")
    assert (raw.rc, raw.stdout, raw.timed_out) == (-1, b"partial", True)
    assert raw.stderr == b"command timed out after 0.2s and was killed"
    assert killed == [99]
    assert channel.closed


def test_remote_line_runs_the_command_and_reports_its_pid_first() -> None:
    line = remote_line("echo out; echo err >&2", TAG, env={"A": "x y"}, sudo=False,
                       with_password=False)
    done = subprocess.run(["sh", "-c", line], input=remote_shell.env_preamble({"A": "x y"}),
                          capture_output=True, check=False)
    pid_line, rest = done.stderr.split(b"\n", 1)
    assert pid_line.startswith(f"{TAG} pid ".encode()) and int(pid_line.split()[-1]) > 1
    assert (done.stdout, rest) == (b"out\n", b"err\n")


@pytest.mark.parametrize("env", [None, {"A": "x y"}])
def test_the_command_runs_in_the_reporting_shell_itself_without_arguments(
        env: dict[str, str] | None) -> None:
    line = remote_line('echo "[$#][${1-}][$A]"; echo "$$" >&2', TAG, env=env, sudo=False,
                       with_password=False)
    stdin = remote_shell.env_preamble(env) if env else b""
    done = subprocess.run(["sh", "-c", f"A=; {line}"], input=stdin, capture_output=True,
                          check=False)
    pid_line, own_pid = done.stderr.decode().split("\n")[:2]
    assert done.stdout.decode() == f"[0][][{'x y' if env else ''}]\n"
    assert pid_line == f"{TAG} pid {own_pid}"  # no second shell between them


FAKE_SUDO = """#!/bin/sh
# like `sudo -S -p PROMPT -- cmd...`: prompt on stderr, one password line from stdin
[ "$1" = -S ] && [ "$2" = -p ] && [ "$4" = -- ] || { echo "fake sudo: bad args" >&2; exit 2; }
printf %s "$3" >&2
IFS= read -r password
[ "$password" = pw ] || { echo "Sorry" >&2; exit 1; }
shift 4
exec "$@"
"""


def test_remote_line_with_password_works_through_a_sudo_like_program(tmp_path: Path) -> None:
    (tmp_path / "sudo").write_text(FAKE_SUDO)
    (tmp_path / "sudo").chmod(0o755)
    env = {"A": "secret value"}
    line = remote_line('printf %s "$A"; cat', TAG, env=env, sudo=True, with_password=True)
    assert "secret" not in line
    done = subprocess.run(
        ["sh", "-c", line], input=b"pw\n" + remote_shell.env_preamble(env) + b"+in",
        capture_output=True, check=False,
        env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"})
    pid_line, prompt_and_ready = done.stderr.split(b"\n", 1)
    assert pid_line.startswith(f"{TAG} pid ".encode())
    assert prompt_and_ready == f"{TAG} password:{TAG} ready\n".encode()
    assert (done.returncode, done.stdout) == (0, b"secret value+in")
    assert "sudo -n --" in remote_line("id", TAG, env=None, sudo=True, with_password=False)
