"""Run one command on a paramiko channel: the remote line, stdin, output, sudo, timeout.

The remote line first prints ``<tag> pid <n>`` on stderr (``tag`` is random per command),
so that a timeout can kill the command's whole process group. With a sudo password, sudo
runs with the prompt ``<tag> password:`` and the command prints ``<tag> ready`` once sudo
let it through. The password is sent only when that prompt appears (or a PAM prompt that
ends in ``password:``, which sudo shows instead when its sudoers say so), and the env preamble
and stdin only after ``ready``: when sudo needs no password (NOPASSWD, cached credentials)
nothing secret is left on the command's stdin. Control lines are removed from stderr.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import select
import shlex
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import paramiko

from opsrunner.connection import ByteSink, remote_shell

_CHUNK = 65536
_POLL = 0.2  # seconds between buffer checks when no wake-up came
_PAM_PROMPT = re.compile(rb"(?i)password[^\n]*:\s*$")


@dataclass(frozen=True)
class RawResult:
    """A command's exit status and raw output; ``rc`` is -1 after a timeout."""

    rc: int
    stdout: bytes
    stderr: bytes
    timed_out: bool = False


def remote_line(command: str, tag: str, *, env: Mapping[str, str] | None, sudo: bool,
                with_password: bool) -> str:
    """The line sent to the login shell (see the module docstring for the protocol)."""
    if not sudo:  # one shell: it reports its pid, then runs the command itself
        script = f"echo {tag} pid $$ >&2; {remote_shell.script_body(env=bool(env))}"
        return f"exec sh -c {shlex.quote(script)} opsrunner {shlex.quote(command)}"
    if with_password:
        ready = f"printf '%s\\n' '{tag} ready' >&2; exec {remote_shell.wrap(command, env=env)}"
        line = f"sudo -S -p {shlex.quote(tag + ' password:')} -- sh -c {shlex.quote(ready)}"
    else:
        line = remote_shell.wrap(command, env=env, sudo=sudo)
    return f"exec sh -c {shlex.quote(f'echo {tag} pid $$ >&2; exec {line}')}"


def new_tag() -> str:
    return f"opsrunner-{secrets.token_hex(8)}"


class ChannelCommand:
    """Feeds, drains and times one exec channel; see :meth:`run`.

    :param payload: the env preamble followed by the command's stdin.
    :param kill_group: called with the remote process group id when the timeout passes.
    :param stdout: where the command's output goes as it arrives (then the result's
        ``stdout`` is empty); None keeps it in the result.
    """

    def __init__(self, channel: paramiko.Channel, tag: str, *, payload: bytes,
                 sudo_password: str | None, timeout: float | None,
                 kill_group: Callable[[int], None], stdout: ByteSink | None = None) -> None:
        self.channel = channel
        self.payload = payload
        self.sudo_password = sudo_password
        self.timeout = timeout
        self.kill_group = kill_group
        self.pid: int | None = None
        self._tag = tag.encode()
        self._prompt = self._tag + b" password:"
        self._prompts_seen = 0
        self._gate_open = False  # True once control lines are over: stderr is all output
        self._pending = bytearray()
        self._out = bytearray()
        self._stdout = stdout
        self._err = bytearray()
        self._writer: threading.Thread | None = None

    def run(self, line: str) -> RawResult:
        """Execute ``line`` and return once the channel ends or the timeout passes."""
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        wakeup = self.channel.fileno()
        self.channel.exec_command(line)
        if self.sudo_password is None:
            self._start_writer()
        while not self._finished():
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return self._timed_out()
            # paramiko's channel pipe can miss a wake-up when stdout and stderr data race,
            # so the wait is bounded and the buffers are checked again anyway.
            select.select([wakeup], [], [], _POLL if remaining is None else min(remaining, _POLL))
            self._drain()
        remaining = None if deadline is None else max(deadline - time.monotonic(), 0)
        if not self.channel.status_event.wait(remaining):
            return self._timed_out()
        self._flush_pending()
        self._join_writer()
        return RawResult(self.channel.recv_exit_status(), bytes(self._out), bytes(self._err))

    def _finished(self) -> bool:
        chan = self.channel
        ended = bool(chan.eof_received) or chan.closed
        return ended and not chan.recv_ready() and not chan.recv_stderr_ready()

    def _drain(self) -> None:
        while self.channel.recv_ready():
            data = self.channel.recv(_CHUNK)
            if self._stdout is None:
                self._out += data
            else:
                self._stdout.write(data)
        while self.channel.recv_stderr_ready():
            self._take_stderr(self.channel.recv_stderr(_CHUNK))

    def _take_stderr(self, data: bytes) -> None:
        if self._gate_open:
            self._err += data
            return
        self._pending += data
        while not self._gate_open:
            at_prompt = self._pending.find(self._prompt)
            newline = self._pending.find(b"\n")
            if at_prompt >= 0 and (newline < 0 or at_prompt < newline):
                self._err += self._pending[:at_prompt]
                del self._pending[:at_prompt + len(self._prompt)]
                self._answer_prompt()
            elif newline >= 0:
                text = bytes(self._pending[:newline])
                del self._pending[:newline + 1]
                self._take_line(text)
            elif self.sudo_password is not None and _PAM_PROMPT.search(self._pending):
                self._pending.clear()
                self._answer_prompt()
            else:
                break
        if self._gate_open:
            self._flush_pending()

    def _take_line(self, text: bytes) -> None:
        if text.startswith(self._tag + b" pid "):
            with contextlib.suppress(ValueError):
                self.pid = int(text.split()[-1])
            self._gate_open = self.sudo_password is None
        elif text == self._tag + b" ready":
            self._gate_open = True
            self._start_writer()
        else:
            self._err += text + b"\n"

    def _answer_prompt(self) -> None:
        self._prompts_seen += 1
        if self._prompts_seen == 1 and self.sudo_password is not None:
            self.channel.sendall((self.sudo_password + "\n").encode())
        else:  # the password was refused: end stdin so sudo gives up
            self.channel.shutdown_write()

    def _flush_pending(self) -> None:
        self._err += self._pending
        self._pending.clear()

    def _start_writer(self) -> None:
        if not self.payload:
            self.channel.shutdown_write()
            return
        self._writer = threading.Thread(target=self._write, daemon=True, name="ssh-stdin")
        self._writer.start()

    def _write(self) -> None:
        # The command may exit without reading its stdin; the channel then refuses more data.
        with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
            self.channel.sendall(self.payload)
            self.channel.shutdown_write()

    def _join_writer(self) -> None:
        if self._writer is not None:
            self._writer.join(timeout=5)

    def _timed_out(self) -> RawResult:
        if self.pid is not None:
            self.kill_group(self.pid)
        self.channel.close()
        self._join_writer()
        self._drain()
        self._flush_pending()
        note = f"command timed out after {self.timeout:g}s and was killed"
        err = bytes(self._err)
        sep = b"\n" if err and not err.endswith(b"\n") else b""
        return RawResult(-1, bytes(self._out), err + sep + note.encode(), timed_out=True)
