"""A background server process of the lab, tracked by a pid file so any process can stop it.

The lab's daemons outlive the command that started them (``opsrunner lab up``, or the lab's
``systemctl`` run over SSH), so they are found again through their pid file, checked against
``/proc/<pid>/cmdline`` (a recycled pid is never signalled), and stopped by process group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opsrunner.errors import OpsrunnerError
from opsrunner.lab.processes import pid_alive, start_time

# Daemons started by this process, kept so their Popen objects are not collected while they
# run (they are meant to outlive the call that started them); stop() reaps them.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


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
    :param user: run as this user (the lab runs as root; PostgreSQL runs as postgres).
    """

    name: str
    argv: Sequence[str]
    pidfile: Path
    logfile: Path
    ready: Callable[[], bool] = field(default=lambda: True)
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    user: str | None = None
    start_timeout: float = 20.0

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
        env = dict(os.environ if self.env is None else self.env)
        with self.logfile.open("ab") as log:
            proc = subprocess.Popen(list(self.argv), stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=log, env=env, cwd=self.cwd, user=self.user,
                                    start_new_session=True, close_fds=True)
        _CHILDREN[proc.pid] = proc
        self.pidfile.write_text(f"{proc.pid} {start_time(proc.pid)}\n")
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            with contextlib.suppress(OSError):
                if self.ready():
                    return proc.pid
            time.sleep(0.05)
        self.stop()
        _CHILDREN.pop(proc.pid, None)
        status = "exited" if proc.poll() is not None else "did not become ready"
        raise LabServerError(f"{self.name} {status} ({' '.join(self.argv[:1])}); "
                             f"log {self.logfile}:\n{log_tail(self.logfile)}")

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop the daemon and its process group; True if it was running. Idempotent."""
        pid = self.pid()
        if pid is None:
            self.pidfile.unlink(missing_ok=True)
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.05)
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
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            del _CHILDREN[pid]
        return
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
