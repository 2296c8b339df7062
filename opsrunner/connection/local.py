"""The ``local`` connection: runs on the control node itself (subprocess)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from opsrunner.connection import FETCH_CHUNK, ByteSink, remote_shell
from opsrunner.connection.hold import HeldProcess
from opsrunner.host import Host
from opsrunner.result import CommandResult


class LocalConnection:
    """A :class:`opsrunner.connection.Connection` for the control node.

    Environment values go through ``subprocess``'s environment, never argv. ``sudo`` is a
    no-op when already root; otherwise the command goes through ``sudo -n``.
    """

    def __init__(self, host: Host | None = None) -> None:
        self.host = host

    def run(self, command: str, *, env: Mapping[str, str] | None = None, sudo: bool = False,
            timeout: float | None = None, stdin: bytes | None = None) -> CommandResult:
        if env:
            remote_shell.check_env_names(env)
        full_env = {**os.environ, **{k: str(v) for k, v in (env or {}).items()}}
        argv = ["sh", "-c", command]
        if sudo and os.geteuid() != 0:
            argv = ["sudo", "-n", "--preserve-env", "--", *argv]
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=full_env, start_new_session=True)
        try:
            out, err = proc.communicate(stdin or b"", timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, err = proc.communicate()
            note = f"command timed out after {timeout:g}s and was killed"
            text = _text(err)
            return CommandResult(command, -1, _text(out), f"{text}\n{note}" if text else note)
        return CommandResult(command, proc.returncode, _text(out), _text(err))

    def put(self, data: bytes, path: str, *, mode: int | None = None, sudo: bool = False) -> None:
        target = Path(path)
        try:
            old: os.stat_result | None = target.stat()
        except FileNotFoundError:
            old = None
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            if mode is not None:
                os.chmod(tmp, mode)
            elif old is not None:
                os.chmod(tmp, old.st_mode & 0o7777)
            else:
                os.chmod(tmp, 0o644)
            if old is not None and os.geteuid() == 0:
                os.chown(tmp, old.st_uid, old.st_gid)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, path: str, *, sudo: bool = False) -> bytes:
        return Path(path).read_bytes()

    def fetch(self, path: str, out: ByteSink, *, sudo: bool = False) -> None:
        with open(path, "rb") as source:
            shutil.copyfileobj(source, out, FETCH_CHUNK)

    def hold(self, command: str, *, sudo: bool = False) -> HeldProcess:
        """Start ``command`` (``sh -c``, a new session, ``sudo -n`` unless root) with its
        standard input open; see :mod:`opsrunner.connection.hold`."""
        return HeldProcess(command, sudo=sudo)

    def close(self) -> None:
        return None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, 9)


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
