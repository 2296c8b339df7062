"""Held commands: a long-lived command on a host whose standard input stays open.

An optional capability of a connection (not part of the :class:`~opsrunner.connection.Connection`
protocol): ``hold(command, *, sudo=False) -> HeldCommand`` starts ``command`` through ``sh -c``
(as root through sudo with ``sudo``) and returns at once. The command reads its standard input
until :meth:`HeldCommand.close`, which ends that input (the command sees EOF), so a command can
keep something (a ``flock``) exactly as long as the control node holds it, and lose it when
the control node goes away. :func:`holder_of` tells whether a connection can do it.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import subprocess
import time
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from opsrunner.errors import HostConnectionError

if TYPE_CHECKING:
    import paramiko

_CHUNK = 65536
_POLL = 0.2  # seconds between buffer checks of an SSH channel when no wake-up came
CLOSE_WAIT = 5.0  # seconds close() waits for the command to end
_PAM_PROMPT = re.compile(rb"(?i)password[^\n]*:\s*$")


class HeldCommand(Protocol):
    """A running command with an open standard input.

    * ``readline(timeout)`` returns the next line of the command's standard output with its
      ``\\n`` (the last one may lack it), ``""`` once the output ended. It raises
      ``TimeoutError`` when no whole line came within ``timeout`` seconds (the command keeps
      running) and :class:`~opsrunner.errors.HostConnectionError` when the connection died.
    * ``stderr`` is what the command wrote on its standard error so far (what ``readline``
      has seen), for error messages.
    * ``close(wait=CLOSE_WAIT)`` ends the standard input, waits up to ``wait`` seconds for
      the command to end, then closes the channel or kills the process group; idempotent,
      never raises.
    """

    @property
    def stderr(self) -> str: ...

    def readline(self, timeout: float) -> str: ...

    def close(self, *, wait: float = ...) -> None: ...


@runtime_checkable
class Holder(Protocol):
    """A connection that can hold a command (see the module docstring)."""

    def hold(self, command: str, *, sudo: bool = False) -> HeldCommand: ...


def holder_of(connection: object) -> Holder | None:
    """``connection`` when it has ``hold``, else None (a connection type without the capability)."""
    return connection if isinstance(connection, Holder) else None


class _Lines:
    """Splits a byte stream into text lines."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def pop(self, *, ended: bool) -> str | None:
        newline = self.buffer.find(b"\n")
        if newline < 0 and not (ended and self.buffer):
            return "" if ended else None
        end = newline + 1 if newline >= 0 else len(self.buffer)
        line = bytes(self.buffer[:end])
        del self.buffer[:end]
        return line.decode("utf-8", errors="replace")


class HeldProcess:
    """A :class:`HeldCommand` of the control node: ``sh -c`` in a new session."""

    def __init__(self, command: str, *, sudo: bool = False) -> None:
        argv = ["sh", "-c", command]
        if sudo and os.geteuid() != 0:
            argv = ["sudo", "-n", "--", *argv]
        self.command = command
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self._lines = _Lines()
        self._err = bytearray()
        self._out_ended = False
        self._err_ended = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def stderr(self) -> str:
        return self._err.decode("utf-8", errors="replace")

    def readline(self, timeout: float) -> str:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        out, err = self.proc.stdout.fileno(), self.proc.stderr.fileno()
        deadline = time.monotonic() + timeout
        while (line := self._lines.pop(ended=self._out_ended)) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no line from {self.command!r} within {timeout:g}s")
            ready, _, _ = select.select([fd for fd, done in ((out, self._out_ended),
                                                             (err, self._err_ended))
                                         if not done], [], [], remaining)
            if err in ready:
                data = os.read(err, _CHUNK)
                self._err += data
                self._err_ended = not data
            if out in ready:
                data = os.read(out, _CHUNK)
                self._lines.buffer += data
                self._out_ended = not data
        return line

    def close(self, *, wait: float = CLOSE_WAIT) -> None:
        proc = self.proc
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, 9)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=CLOSE_WAIT)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


class HeldChannel:
    """A :class:`HeldCommand` on an SSH session channel (exec, no pty).

    The channel runs :func:`opsrunner.connection.ssh.channel.remote_line`'s line: the first
    stderr line ``<tag> pid <n>`` names the remote process; with a sudo password, sudo's
    prompt ``<tag> password:`` is answered once and ``<tag> ready`` opens the gate. Those
    control lines never reach :attr:`stderr`. A second prompt (a refused password) ends
    the channel and raises HostConnectionError.
    """

    def __init__(self, channel: paramiko.Channel, tag: str, *, label: str,
                 sudo_password: str | None = None) -> None:
        self.channel = channel
        self.label = label
        self.pid: int | None = None
        self._tag = tag.encode()
        self._password = sudo_password
        self._prompts = 0
        self._gate_open = False
        self._pending = bytearray()
        self._err = bytearray()
        self._lines = _Lines()
        self._wakeup = channel.fileno()

    @property
    def stderr(self) -> str:
        return self._err.decode("utf-8", errors="replace")

    def readline(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            self._drain()
            ended = self._ended()
            line = self._lines.pop(ended=ended)
            if line is not None:
                return line
            transport = self.channel.get_transport()
            if transport is None or not transport.is_active():
                raise HostConnectionError(f"{self.label}: connection lost while holding a command")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.label}: no answer from the held command within "
                                   f"{timeout:g}s")
            # paramiko's wake-up pipe can miss a wake-up when stdout and stderr race: bounded wait.
            select.select([self._wakeup], [], [], min(remaining, _POLL))

    def close(self, *, wait: float = CLOSE_WAIT) -> None:
        channel = self.channel
        with contextlib.suppress(Exception):  # a dead transport refuses everything: fine
            if not channel.closed:
                channel.shutdown_write()
                if wait > 0:
                    channel.status_event.wait(wait)
        with contextlib.suppress(Exception):
            channel.close()

    def _ended(self) -> bool:
        chan = self.channel
        return (bool(chan.eof_received) or chan.closed) and not chan.recv_ready()

    def _drain(self) -> None:
        while self.channel.recv_ready():
            self._lines.buffer += self.channel.recv(_CHUNK)
        while self.channel.recv_stderr_ready():
            self._take_stderr(self.channel.recv_stderr(_CHUNK))

    def _take_stderr(self, data: bytes) -> None:
        if self._gate_open:
            self._err += data
            return
        self._pending += data
        prompt = self._tag + b" password:"
        while not self._gate_open:
            at_prompt = self._pending.find(prompt)
            newline = self._pending.find(b"\n")
            if at_prompt >= 0 and (newline < 0 or at_prompt < newline):
                self._err += self._pending[:at_prompt]
                del self._pending[:at_prompt + len(prompt)]
                self._answer_prompt()
            elif newline >= 0:
                text = bytes(self._pending[:newline])
                del self._pending[:newline + 1]
                self._take_line(text)
            elif self._password is not None and _PAM_PROMPT.search(self._pending):
                self._pending.clear()  # sudoers may let PAM's prompt replace sudo's own
                self._answer_prompt()
            else:
                break
        if self._gate_open:
            self._err += self._pending
            self._pending.clear()

    def _take_line(self, text: bytes) -> None:
        if text.startswith(self._tag + b" pid "):
            with contextlib.suppress(ValueError):
                self.pid = int(text.split()[-1])
            self._gate_open = self._password is None
        elif text == self._tag + b" ready":
            self._gate_open = True
        else:
            self._err += text + b"\n"

    def _answer_prompt(self) -> None:
        self._prompts += 1
        if self._prompts == 1 and self._password is not None:
            self.channel.sendall((self._password + "\n").encode())
            return
        self.close(wait=0)
        raise HostConnectionError(f"{self.label}: sudo refused the password "
                                  "(host.sudo_password) for a held command")
