"""A background server process of the lab, tracked by a pid file so any process can stop it.

The lab's daemons outlive the command that started them (``opsrunner lab up``, or the lab's
``systemctl`` run over SSH), so they are found again through their pid file, checked against
``/proc/<pid>/cmdline`` (a recycled pid is never signalled), and stopped by process group.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opsrunner.errors import OpsrunnerError
from opsrunner_lab.processes import pid_alive, start_time


class LabServerError(OpsrunnerError):
    """A lab server could not be set up, started or stopped; the message says why (log tail)."""


def log_tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file, or ``(no log)``."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


@dataclass
class Daemon:
    """One foreground-mode server started detached (own session), tracked by ``pidfile``.

    :param ready: returns True once the server answers (e.g. its port accepts).
    :param cwd: working folder of the server (default: the caller's).
    :param term_every: while a stop waits, SIGTERM is sent again every so many seconds
        (None: once), for servers that can miss the first one (see ``imageio_unit``).

    The server is spawned with ``posix_spawn`` in a new session (no Python object keeps
    it: it is meant to outlive the call that started it), stdin from /dev/null, stdout and
    stderr appended to ``logfile``.
    """

    name: str
    argv: Sequence[str]
    pidfile: Path
    logfile: Path
    ready: Callable[[], bool] = field(default=lambda: True)
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    start_timeout: float = 20.0
    term_every: float | None = None

    def pid(self) -> int | None:
        """The running daemon's pid, or None (stale pid files are ignored).

        The pid file holds the pid and the process's start time, so a recycled pid is
        never taken for the daemon.
        """
        try:
            pid_text, started = self.pidfile.read_text().split()[:2]
            pid = int(pid_text)
        except (FileNotFoundError, ValueError):
            return None
        if not pid_alive(pid) or start_time(pid) != started:
            return None
        return pid

    def is_running(self) -> bool:
        return self.pid() is not None

    def start(self) -> int:
        """Start unless running; wait until ready; return the pid. LabServerError on failure."""
        running = self.pid()
        if running is not None:
            return running
        self.pidfile.parent.mkdir(parents=True, exist_ok=True)
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        pid = self._spawn()
        self.pidfile.write_text(f"{pid} {start_time(pid)}\n")
        deadline = time.monotonic() + self.start_timeout
        exited = False
        while time.monotonic() < deadline:
            _reap(pid)
            if not pid_alive(pid):
                exited = True
                break
            with contextlib.suppress(OSError):
                if self.ready():
                    return pid
            time.sleep(0.05)
        self.stop()
        status = "exited" if exited else "did not become ready"
        raise LabServerError(f"{self.name} {status} ({' '.join(self.argv[:1])}); "
                             f"log {self.logfile}:\n{log_tail(self.logfile)}")

    def _spawn(self) -> int:
        env = dict(os.environ if self.env is None else self.env)
        argv = [str(a) for a in self.argv]
        if self.cwd is not None:  # posix_spawn has no chdir: the shell does it, then execs
            argv = ["/bin/sh", "-c", 'cd "$0" && exec "$@"', str(self.cwd), *argv]
        log = os.open(self.logfile, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        devnull = os.open(os.devnull, os.O_RDONLY)
        try:
            return os.posix_spawnp(argv[0], argv, env, setsid=True, file_actions=[
                (os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, log, 1),
                (os.POSIX_SPAWN_DUP2, log, 2)])
        except OSError as exc:
            raise LabServerError(f"{self.name}: cannot start {argv[0]}: {exc.strerror}") from None
        finally:
            os.close(log)
            os.close(devnull)

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop the daemon and its process group; True if it was running. Idempotent."""
        pid = self.pid()
        if pid is None:
            self.pidfile.unlink(missing_ok=True)
            return False
        _signal_group(pid, signal.SIGTERM)
        every = self.term_every or math.inf
        deadline = time.monotonic() + timeout
        again = time.monotonic() + every
        while pid_alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.05)
            if time.monotonic() >= again:
                _signal_group(pid, signal.SIGTERM)
                again += every
        if pid_alive(pid):
            _signal_group(pid, signal.SIGKILL)
            while pid_alive(pid):
                _reap(pid)
                time.sleep(0.05)
        _reap(pid)
        self.pidfile.unlink(missing_ok=True)
        return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our own child (no zombie left behind)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def port_open(address: str, port: int, timeout: float = 0.5) -> bool:
    """Whether a TCP connect to ``address:port`` succeeds."""
    import socket

    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False
