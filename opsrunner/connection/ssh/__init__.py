"""The ``ssh`` connection: one paramiko client per host per run, strict host keys.

The client connects on first use (:mod:`opsrunner.connection.ssh.connect`) and serves every command
(:mod:`opsrunner.connection.ssh.channel`) and SFTP transfer of the run. A client whose transport died
is replaced before the next command starts (never while one runs). A server that stops
answering (:mod:`opsrunner.connection.ssh.alive`) fails the command that waits on it with
"no answer from the SSH server for ...".
"""

from __future__ import annotations

import contextlib
import errno
import io
import threading
from collections.abc import Iterator, Mapping

import paramiko

from opsrunner.connection import FETCH_CHUNK, ByteSink, ConnectOptions, remote_shell
from opsrunner.connection.hold import HeldChannel
from opsrunner.connection.ssh.channel import ChannelCommand, RawResult, new_tag, remote_line
from opsrunner.connection.ssh.connect import (
    host_label,
    login_name,
    open_client,
    server_alive_failure,
)
from opsrunner.connection.ssh.files import (
    SUDO_GET,
    SUDO_PUT,
    check_sudo_helper,
    sftp_put,
    staged_privately,
    sudo_put_env,
)
from opsrunner.errors import HostConnectionError
from opsrunner.host import Host
from opsrunner.result import CommandResult

# `kill -s SIG -- -pgid` is the spelling every sh (dash included) accepts for a group.
_KILL_GROUP = ("kill -s TERM -- -{pid} 2>/dev/null || exit 0; for i in 1 2 3 4 5 6 7 8 9 10; do "
               "sleep 0.1; kill -s 0 -- -{pid} 2>/dev/null || exit 0; done; "
               "kill -s KILL -- -{pid} 2>/dev/null; exit 0")


class SSHConnection:
    """A :class:`opsrunner.connection.Connection` over SSH (paramiko).

    With ``sudo`` the command runs through ``sudo`` unless the login user is root;
    ``host.sudo_password`` is answered only to sudo's own prompt. Files move over SFTP;
    ``sudo`` file access of a non-root user goes through a private temp folder and ``sudo``.
    """

    def __init__(self, host: Host, options: ConnectOptions) -> None:
        self.host = host
        self.options = options
        self._lock = threading.Lock()
        self._client: paramiko.SSHClient | None = None
        self._sftp_client: paramiko.SFTPClient | None = None

    @property
    def user(self) -> str:
        return login_name(self.host)

    def run(self, command: str, *, env: Mapping[str, str] | None = None, sudo: bool = False,
            timeout: float | None = None, stdin: bytes | None = None) -> CommandResult:
        raw = self._exec(command, env=env, sudo=sudo, timeout=timeout, stdin=stdin)
        return CommandResult(command, raw.rc, _text(raw.stdout), _text(raw.stderr))

    def put(self, data: bytes, path: str, *, mode: int | None = None, sudo: bool = False) -> None:
        if sudo and self.user != "root":
            self._sudo_put(data, path, mode)
            return
        with self._sftp_errors():
            sftp_put(self._sftp(), data, path, mode)

    def get(self, path: str, *, sudo: bool = False) -> bytes:
        buffer = io.BytesIO()
        self.fetch(path, buffer, sudo=sudo)
        return buffer.getvalue()

    def fetch(self, path: str, out: ByteSink, *, sudo: bool = False) -> None:
        """Streams over SFTP, or through sudo (a user other than root) from ``cat``'s output
        as it arrives."""
        if sudo and self.user != "root":
            raw = self._exec(SUDO_GET, env={"OPSRUNNER_PATH": path}, sudo=True, stdout=out)
            check_sudo_helper(raw.rc, _text(raw.stderr), path)
            return
        try:
            with self._sftp_errors(), self._sftp().open(path, "rb") as fh:
                fh.prefetch()
                while chunk := fh.read(FETCH_CHUNK):
                    out.write(chunk)
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, "no such file", path) from None

    def hold(self, command: str, *, sudo: bool = False) -> HeldChannel:
        """Start ``command`` on a new session channel of this connection (exec, no pty) and
        return while it runs; see :mod:`opsrunner.connection.hold`. ``sudo`` as for ``run``."""
        sudo = sudo and self.user != "root"
        password = self.host.sudo_password if sudo else None
        tag = new_tag()
        line = remote_line(command, tag, env=None, sudo=sudo, with_password=password is not None)
        _, channel = self._open_channel()
        try:
            channel.exec_command(line)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            channel.close()
            raise HostConnectionError(f"{host_label(self.host)}: cannot start a held command: "
                                      f"{exc or type(exc).__name__}") from None
        return HeldChannel(channel, tag, label=host_label(self.host), sudo_password=password)

    def close(self) -> None:
        with self._lock:
            sftp, client = self._sftp_client, self._client
            self._sftp_client = self._client = None
        if sftp is not None:
            sftp.close()
        if client is not None:
            client.close()

    @contextlib.contextmanager
    def _sftp_errors(self) -> Iterator[None]:
        """A dropped connection during a transfer is a HostConnectionError, not a file error."""
        try:
            yield
        except (paramiko.SSHException, EOFError) as exc:
            client = self._client
            reason = server_alive_failure(client.get_transport() if client else None)
            raise HostConnectionError(reason or (
                f"{host_label(self.host)}: connection lost during a file transfer: "
                f"{exc or type(exc).__name__}")) from None

    def _transport(self, *, fresh: bool = False) -> paramiko.Transport:
        """The live transport, connecting (again) when there is none or ``fresh``."""
        with self._lock:
            transport = self._client.get_transport() if self._client else None
            if fresh or transport is None or not transport.is_active():
                if self._client is not None:
                    self._client.close()
                self._client = self._sftp_client = None
                self._client = open_client(self.host, self.options)
                transport = self._client.get_transport()
            assert transport is not None
            return transport

    def _sftp(self) -> paramiko.SFTPClient:
        transport = self._transport()
        with self._lock:
            if self._sftp_client is None:
                try:
                    self._sftp_client = paramiko.SFTPClient.from_transport(transport)
                except (paramiko.SSHException, EOFError, OSError) as exc:
                    raise HostConnectionError(
                        f"{host_label(self.host)}: SFTP is not available: {exc}") from None
            assert self._sftp_client is not None
            return self._sftp_client

    def _exec(self, command: str, *, env: Mapping[str, str] | None, sudo: bool,
              timeout: float | None = None, stdin: bytes | None = None,
              stdout: ByteSink | None = None) -> RawResult:
        payload = (remote_shell.env_preamble(env) if env else b"") + (stdin or b"")
        sudo = sudo and self.user != "root"
        password = self.host.sudo_password if sudo else None
        tag = new_tag()
        line = remote_line(command, tag, env=env, sudo=sudo, with_password=password is not None)
        transport, channel = self._open_channel()
        lost = f"{host_label(self.host)}: connection lost while running {command!r}"
        with channel:
            runner = ChannelCommand(channel, tag, payload=payload, sudo_password=password,
                                    timeout=timeout, kill_group=self._kill_group,
                                    stdout=stdout)
            try:
                raw = runner.run(line)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise HostConnectionError(server_alive_failure(transport)
                                          or f"{lost}: {exc or type(exc).__name__}") from None
        if raw.rc == -1 and not raw.timed_out and not transport.is_active():
            raise HostConnectionError(server_alive_failure(transport) or lost)
        return raw

    def _open_channel(self) -> tuple[paramiko.Transport, paramiko.Channel]:
        """A new session channel; reconnects once if the server dropped the connection
        (safe: no command has started yet)."""
        for fresh in (False, True):
            transport = self._transport(fresh=fresh)
            try:
                return transport, transport.open_session(timeout=self.options.connect_timeout)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                failure = exc
        raise HostConnectionError(f"{host_label(self.host)}: cannot open a session: {failure}")

    def _kill_group(self, pid: int) -> None:
        self._exec(_KILL_GROUP.format(pid=pid), env=None, sudo=False, timeout=10)

    def _sudo_put(self, data: bytes, path: str, mode: int | None) -> None:
        with self._sftp_errors(), staged_privately(self._sftp(), data, "/tmp") as staged:
            raw = self._exec(SUDO_PUT, env=sudo_put_env(path, staged, mode), sudo=True)
        check_sudo_helper(raw.rc, _text(raw.stderr), path)


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
