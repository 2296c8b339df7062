"""The context a task function receives: its host, its connection, the run's mode."""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from opsrunner.connection import ByteSink, Connection
from opsrunner.errors import StepTimeout, TaskFailed
from opsrunner.host import Host
from opsrunner.result import CommandResult

if TYPE_CHECKING:
    from opsrunner.engine import EnginePool, EngineSession


class Task:
    """Everything a task may use for one host in one step.

    :param host: the resolved inventory host.
    :param connect: returns the host's (pooled) connection; called on first use only.
    :param check: check mode: the task reads, decides, reports the change it would make,
        and changes nothing.
    :param vars: the variables of this host at this step (inventory, workflow, ``-e``,
        registered results), for tasks that need more than their parameters.
    :param deadline: ``time.monotonic()`` value after which the step has timed out.
    :param log: receives progress lines the task wants shown and journaled.
    :param confirmed: the user confirmed destructive changes (``--yes``).
    :param run_id: the run's identifier (journal file name, backup names).
    :param engines: the run's engine sessions, behind :attr:`engine`.
    """

    def __init__(self, host: Host, connect: Callable[[], Connection], *, check: bool = False,
                 vars: Mapping[str, Any] | None = None, deadline: float | None = None,
                 log: Callable[[str], None] | None = None, confirmed: bool = False,
                 run_id: str = "", engines: EnginePool | None = None) -> None:
        self.host = host
        self.confirmed = confirmed
        self.run_id = run_id
        self.check = check
        self.vars: Mapping[str, Any] = vars or {}
        self.deadline = deadline
        self._connect = connect
        self._connection: Connection | None = None
        self._log = log
        self._engines = engines

    @property
    def connection(self) -> Connection:
        """The host's connection, opened on first use."""
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    @property
    def engine(self) -> EngineSession:
        """The engine API session for this host (see :mod:`opsrunner.engine`).

        Built from the ``engine_*`` variables of this host, or of the inventory's engine host;
        shared by the run. In check mode it reads but refuses to write.
        """
        if self._engines is None:
            raise TaskFailed("this task needs the engine API, but it was started without the "
                             "run's engine sessions (Task(..., engines=EnginePool(...)))")
        return self._engines.session(self.host, self.vars, log=self.log)

    def remaining(self, timeout: float | None = None) -> float | None:
        """Seconds left before the step's deadline, capped by ``timeout``."""
        if self.deadline is None:
            return timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise StepTimeout("step timed out")
        return left if timeout is None else min(left, timeout)

    def run(self, command: str, *, env: Mapping[str, str] | None = None, sudo: bool | None = None,
            timeout: float | None = None, stdin: bytes | None = None,
            check_rc: bool = False) -> CommandResult:
        """Run ``command`` (a shell string) on the host; see :class:`Connection` for contracts.

        ``sudo`` defaults to the host's ``sudo`` setting. With ``check_rc`` a non-zero exit
        raises :class:`TaskFailed` quoting the command's stderr.
        """
        res = self.connection.run(command, env=env, sudo=self.host.sudo if sudo is None else sudo,
                                  timeout=self.remaining(timeout), stdin=stdin)
        if res.rc == -1 and self.deadline is not None and time.monotonic() >= self.deadline:
            raise StepTimeout("step timed out")
        if check_rc and res.rc != 0:
            detail = (res.stderr or res.stdout).strip().splitlines()
            self.fail(f"command failed (rc={res.rc}): {command}" +
                      (f": {detail[-1]}" if detail else ""))
        return res

    def put(self, data: bytes, path: str, *, mode: int | None = None) -> None:
        """Write ``data`` to ``path`` on the host (``path`` is used as given)."""
        self.connection.put(data, path, mode=mode, sudo=self.host.sudo)

    def get(self, path: str) -> bytes:
        """Read the whole file at ``path`` on the host."""
        return self.connection.get(path, sudo=self.host.sudo)

    def fetch(self, path: str, local: Path) -> tuple[int, str]:
        """Copy ``path`` of the host to ``local`` on the control node, in chunks; returns its
        size and sha256. ``local`` is written under a temporary name (mode 0600) and renamed
        into place only when complete; a failed copy leaves nothing behind."""
        import contextlib
        import os
        import tempfile

        local.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=local.parent, prefix=f".{local.name}.")
        try:
            with os.fdopen(fd, "wb") as raw:
                hashed = _HashingWriter(raw)
                fetch = getattr(self.connection, "fetch", None)  # connection plugins before fetch
                if fetch is None:
                    hashed.write(self.connection.get(path, sudo=self.host.sudo))
                else:
                    fetch(path, hashed, sudo=self.host.sudo)
            os.replace(temporary, local)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        return hashed.size, hashed.digest.hexdigest()

    def path(self, path: str) -> str:
        """Map an absolute path of the real system into the host's sysroot."""
        root = self.host.sysroot
        if root in ("", "/"):
            return path
        return posixpath.join(root, path.lstrip("/"))

    def log(self, message: str) -> None:
        """Report a progress line for this host."""
        if self._log is not None:
            self._log(message)

    def fail(self, message: str) -> NoReturn:
        """Fail this host's step with ``message``."""
        raise TaskFailed(message)


class _HashingWriter:
    """A binary stream that counts and hashes what it passes on."""

    def __init__(self, out: ByteSink) -> None:
        import hashlib

        self._out = out
        self.size = 0
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self._out.write(data)
