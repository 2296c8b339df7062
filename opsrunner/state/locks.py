"""Target locks: one run at a time on a host, across control nodes.

A run takes, for each target host before its first step, two locks and holds them to its end:

* the control node's: ``flock`` on ``<state>/locks/<host>.lock``, which records the owner
  (:class:`LockOwner`, one JSON line). The kernel releases it when the run's process ends,
  however it ends; a record left behind with nobody holding the lock is *stale*.
* the host's: ``flock`` on ``<sysroot>/run/opsrunner/host.lock`` held by a shell in a
  long-lived SSH channel (:func:`host_lock_script`), with the owner in ``host.owner``. It is
  released when the channel closes, so two control nodes cannot work on one engine either.
  A holder that outlived its run (a dropped control node whose sshd session lingers) keeps
  it: reported as stale when its owner was a process of this control node that is gone.

:func:`lock_status` lists the locks, :func:`break_lock` breaks one of a given run id only.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import hashlib
import json
import math
import os
import posixpath
import re
import shlex
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsrunner.connection import Connection
from opsrunner.connection.hold import CLOSE_WAIT, HeldCommand, holder_of
from opsrunner.errors import HostConnectionError, LockBusy, LockError, UsageError
from opsrunner.host import Host

__all__ = ["CONTROL_NODE", "HOST", "LockBusy", "LockError", "LockInfo", "LockOwner", "RunLocks",
           "break_lock", "lock_status"]

CONTROL_NODE = "control node"
HOST = "host"
HELD, STALE, FREE, UNKNOWN = "held", "stale", "free", "unknown"
HOST_LOCK_DIR = "run/opsrunner"  # under the host's sysroot
HOST_LOCK_TAG = "opsrunner-host-lock"  # the holder shell's $0, checked before a break kills it
ANSWER_TIMEOUT = 30.0  # seconds a host lock command may take to answer, beyond any wait
_POLL = 0.25  # seconds between attempts while waiting, and between checks of ``stop``
_STATUS_WORKERS = 16


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine exists and is not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


@dataclass(frozen=True)
class LockOwner:
    """Who holds a lock: the run, its process on its control node, and since when.

    ``started`` is ISO-8601 UTC; ``state_dir`` the absolute path of the owner's state folder;
    ``holder_pid`` (host locks only) the host's process that holds the ``flock``.
    """

    run_id: str
    pid: int
    user: str
    control_host: str
    workflow: str
    started: str
    state_dir: str = ""
    holder_pid: int | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LockOwner:
        """The owner in ``data``; missing or mistyped keys become "" / 0 / None."""

        def text(key: str) -> str:
            value = data.get(key)
            return "" if value is None else str(value)

        def number(key: str) -> int | None:
            value = data.get(key)
            if isinstance(value, bool):
                return None
            if isinstance(value, int):
                return value
            return int(value) if isinstance(value, str) and value.isdigit() else None

        return cls(run_id=text("run_id"), pid=number("pid") or 0, user=text("user"),
                   control_host=text("control_host"), workflow=text("workflow"),
                   started=text("started"), state_dir=text("state_dir"),
                   holder_pid=number("holder_pid"))

    @classmethod
    def for_run(cls, run_id: str, workflow: str, *, state_dir: str | os.PathLike[str] = ""
                ) -> LockOwner:
        """This process as the owner of run ``run_id``, starting now."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry and no $USER (some containers)
            user = str(os.getuid())
        return cls(run_id=run_id, pid=os.getpid(), user=user,
                   control_host=socket.gethostname(), workflow=workflow,
                   started=datetime.now(UTC).isoformat(timespec="seconds"),
                   state_dir=str(Path(state_dir).absolute()) if state_dir else "")

    def describe(self) -> str:
        """``run R (workflow W) by user U on control node C, pid P, since T``."""
        return (f"run {self.run_id} (workflow {self.workflow or '?'}) by user {self.user or '?'} "
                f"on control node {self.control_host or '?'}, pid {self.pid}, "
                f"since {self.started or '?'}")

    @property
    def local(self) -> bool:
        """Whether the owner ran on this machine (its pid can be checked here)."""
        return self.control_host == socket.gethostname()

    def gone(self) -> bool:
        """The owner ran on this machine and its process is gone."""
        return self.local and not pid_alive(self.pid)


def parse_owner(text: str) -> LockOwner | None:
    """The owner recorded in ``text`` (its first line, JSON), or None when there is none."""
    first = text.lstrip().split("\n", 1)[0].strip()
    if not first:
        return None
    try:
        data = json.loads(first)
    except ValueError:
        return None
    if not isinstance(data, dict) or not data.get("run_id"):
        return None
    return LockOwner.from_json(data)


@dataclass(frozen=True)
class LockInfo:
    """One lock as :func:`lock_status` sees it: ``state`` is held, stale, free or unknown
    (``note`` says why)."""

    host: str
    where: str
    state: str
    owner: LockOwner | None = None
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"host": self.host, "where": self.where, "state": self.state,
                "owner": self.owner.as_json() if self.owner else None, "note": self.note}


def lock_file_name(host_name: str) -> str:
    """``<host>.lock``; a name that is not plain ``[A-Za-z0-9._-]`` gets a hash suffix."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", host_name)[:100]
    if safe != host_name or safe.startswith(".") or not safe:
        digest = hashlib.sha256(host_name.encode()).hexdigest()[:12]
        safe = f"{safe.lstrip('.')}-{digest}"
    return f"{safe}.lock"


def _q(text: str) -> str:
    return shlex.quote(text)


def host_lock_folder(host: Host) -> str:
    """``<sysroot>/run/opsrunner`` on the host."""
    return posixpath.join(host.sysroot, HOST_LOCK_DIR)


_OWNER_VAR = 'o=; [ -r "$d/host.owner" ] && { IFS= read -r o < "$d/host.owner" || :; }'
_READ_OWNER = _OWNER_VAR + "; printf '%s\\n' \"$o\""


def host_lock_script(folder: str, owner: LockOwner, wait: float = 0.0) -> str:
    """The POSIX sh script that holds the host lock in ``folder`` until its stdin ends.

    Its output, one word a line: ``LOCKED`` (held, ``host.owner`` written with
    ``holder_pid`` = the shell's pid); ``BUSY`` + the owner line (not taken); ``WAIT`` + the
    owner line when it starts waiting (``wait`` > 0, whole seconds) then ``TICK`` each
    second (a write that kills it once the control node went away); ``NOFLOCK``; ``FAIL
    <reason>``. After ``LOCKED`` it reads stdin to its end, removes ``host.owner`` and exits,
    which releases the lock.
    """
    record = {k: v for k, v in owner.as_json().items() if k != "holder_pid"}
    prefix = json.dumps(record, separators=(",", ":"))[:-1] + ',"holder_pid":'
    seconds = max(0, math.ceil(wait))
    return "\n".join([
        "umask 077",
        f"d={_q(folder)}",
        "command -v flock >/dev/null 2>&1 || { echo NOFLOCK; exit 3; }",
        'mkdir -p "$d" 2>/dev/null || { echo "FAIL cannot create $d as $(id -un)"; exit 4; }',
        '[ -w "$d" ] || { echo "FAIL cannot write in $d as $(id -un)"; exit 4; }',
        'exec 9>>"$d/host.lock"',
        f"owner() {{ {_READ_OWNER}; }}",
        "if ! flock -n 9; then",
        f"  [ {seconds} -gt 0 ] || {{ echo BUSY; owner; exit 1; }}",
        "  echo WAIT; owner; n=0",
        "  until flock -w 1 9; do",
        "    n=$((n + 1))",
        f'    [ "$n" -lt {seconds} ] || {{ echo BUSY; owner; exit 1; }}',
        "    echo TICK",
        "  done",
        "  echo TICK",  # dies here (SIGPIPE) if the control node gave up meanwhile
        "fi",
        f"printf '%s%s}}\\n' {_q(prefix)} \"$$\" > \"$d/host.owner.$$\" &&"
        ' mv -f "$d/host.owner.$$" "$d/host.owner" || { echo "FAIL cannot write $d/host.owner";'
        " exit 4; }",
        "echo LOCKED",
        "while IFS= read -r _; do :; done",
        'rm -f "$d/host.owner"',
        "",
    ])


def _host_status_script(folder: str) -> str:
    """Prints FREE, HELD or NOFLOCK, then the owner line (empty when there is none)."""
    return "\n".join([
        f"d={_q(folder)}",
        'if [ ! -e "$d/host.lock" ]; then echo FREE',
        "elif ! command -v flock >/dev/null 2>&1; then echo NOFLOCK; exit 0",
        'elif flock -n -s "$d/host.lock" true; then echo FREE',
        "else echo HELD; fi",
        _READ_OWNER,
        "",
    ])


def _host_break_script(folder: str, run_id: str, pid: int | None) -> str:
    """Breaks the host lock of ``run_id``: prints NOTOWNER + the owner line, FREED (nobody
    held it: the record removed), NOTHOLDER, BROKEN (holder killed, record removed) or
    STILL."""
    owned = _q('"run_id":' + json.dumps(run_id) + ",")
    return "\n".join([
        f"d={_q(folder)}; pid={pid or 0}",
        _OWNER_VAR,
        f'case "$o" in *{owned}*) ;; *) echo NOTOWNER; printf \'%s\\n\' "$o"; exit 0;; esac',
        'if flock -n -x "$d/host.lock" rm -f "$d/host.owner"; then echo FREED; exit 0; fi',
        'case "$(tr \'\\0\' \' \' < /proc/$pid/cmdline 2>/dev/null)" in',
        f"  *{HOST_LOCK_TAG}*) ;;",
        "  *) echo NOTHOLDER; exit 0;;",
        "esac",
        'kill -s TERM "$pid" 2>/dev/null',
        'if flock -w 3 -x "$d/host.lock" rm -f "$d/host.owner"; then echo BROKEN; exit 0; fi',
        'kill -s KILL "$pid" 2>/dev/null',
        'if flock -w 3 -x "$d/host.lock" rm -f "$d/host.owner"; then echo BROKEN; exit 0; fi',
        "echo STILL",
        "",
    ])


def _held_command(script: str) -> str:
    """The command that runs ``script`` in a shell whose ``$0`` marks it as a lock holder."""
    return f"exec sh -c {_q(script)} {HOST_LOCK_TAG}"


# -- the control node's lock files -------------------------------------------------------------

def _read_owner_fd(fd: int) -> LockOwner | None:
    try:
        return parse_owner(os.pread(fd, 65536, 0).decode("utf-8", errors="replace"))
    except OSError:
        return None


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open on ``fd`` (a break may have removed it)."""
    try:
        now = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)


def _open_lock_file(path: Path, *, create: bool) -> int:
    flags = os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW | (os.O_CREAT if create else 0)
    return os.open(path, flags, 0o600)


def _try_flock(fd: int, operation: int) -> bool:
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _control_info(path: Path) -> LockInfo | None:
    """The state of one control-node lock file; None when it does not exist."""
    try:
        fd = _open_lock_file(path, create=False)
    except FileNotFoundError:
        return None
    try:
        data = os.pread(fd, 65536, 0)
        free = _try_flock(fd, fcntl.LOCK_SH)
    finally:
        os.close(fd)
    text = data.decode("utf-8", errors="replace")
    owner = parse_owner(text)
    host = path.name.removesuffix(".lock")
    with contextlib.suppress(ValueError, AttributeError):
        host = str(json.loads(text.split("\n", 1)[0]).get("host") or host)
    if free:
        return LockInfo(host, CONTROL_NODE, STALE if owner else FREE, owner,
                        "nobody holds it; its owner record was left behind" if owner else "")
    if owner is not None and owner.gone():
        return LockInfo(host, CONTROL_NODE, STALE, owner, f"pid {owner.pid} is gone")
    return LockInfo(host, CONTROL_NODE, HELD, owner)


@dataclass
class _Taken:
    """What a run holds for one host."""

    fd: int
    path: Path
    connection: Connection | None = None
    command: HeldCommand | None = None
    locked: bool = False  # the held command answered LOCKED
    host_done: bool = False  # the host part was taken, or cannot be (a note said why)


OnWait = Callable[[str, str, "LockOwner | None"], None]


class RunLocks:
    """The locks of one run: :meth:`take` for each host before its first step,
    :meth:`release_all` at the end (also on exit of a ``with`` block).

    :param folder: the state folder's ``locks/`` (:attr:`opsrunner.state.StateDir.locks`),
        created 0700 when missing.
    :param owner: this run (:meth:`LockOwner.for_run`); its ``state_dir`` defaults to
        ``folder``'s parent.
    :param wait: seconds a busy lock is waited for (the control node's and the host's
        together); 0 fails at once.
    :param stop: set when the run stops: a waiting :meth:`take` gives up within ``_POLL``.
    :param on_wait: called with (host name, where, owner) when a take starts waiting.
    """

    def __init__(self, folder: Path, owner: LockOwner, *, wait: float = 0.0,
                 stop: threading.Event | None = None, on_wait: OnWait | None = None) -> None:
        self.folder = folder
        self.owner = owner if owner.state_dir else replace(
            owner, state_dir=str(folder.absolute().parent))
        self.wait = max(0.0, wait)
        self._stop = stop or threading.Event()
        self._on_wait = on_wait
        self._taken: dict[str, _Taken] = {}
        self._mutex = threading.Lock()

    def __enter__(self) -> RunLocks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release_all()

    def take(self, host: Host, connect: Callable[[], Connection] | None = None) -> str | None:
        """Take ``host``'s control-node lock, then (with ``connect``) its host lock through
        ``connect()`` (a connection of its own, kept open to the end). Returns a note when
        something was different (a stale record taken over, no host lock), else None. A host
        taken already returns None. Without ``connect``, :meth:`take_host` takes the host
        part later, before the run's first connection to the host is used.

        :raises LockBusy: another run holds one of them (the control-node lock is released).
        :raises LockError: the host lock cannot be taken (no ``flock``, no permission).
        :raises HostConnectionError: from ``connect()`` or the host lock's channel.
        """
        with self._mutex:
            if host.name in self._taken:
                return None
        deadline = time.monotonic() + self.wait
        fd, path, previous = self._take_control(host, deadline)
        taken = _Taken(fd, path)
        notes = []
        if previous is not None and previous.run_id != self.owner.run_id:
            notes.append(f"took over the stale control-node lock of run {previous.run_id}")
        try:
            note = None if connect is None else self._take_host(host, connect, deadline, taken)
        except BaseException:
            _release(taken)
            raise
        if note:
            notes.append(note)
        taken.host_done = connect is not None
        with self._mutex:
            self._taken[host.name] = taken
        return "; ".join(notes) or None

    def take_host(self, host: Host, connect: Callable[[], Connection]) -> str | None:
        """Take the host lock of a host whose control-node lock this run holds (a no-op once
        taken); returns a note as :meth:`take` does. On failure the control-node lock stays
        held to the end of the run, and a later call tries again.

        :raises LockBusy: another run holds the host lock.
        :raises LockError: this run holds no control-node lock for ``host``, or the host
            lock cannot be taken.
        :raises HostConnectionError: from ``connect()`` or the host lock's channel.
        """
        with self._mutex:
            taken = self._taken.get(host.name)
        if taken is None:
            raise LockError(f"{host.name}: this run holds no control-node lock for it")
        if taken.host_done:
            return None
        try:
            note = self._take_host(host, connect, time.monotonic() + self.wait, taken)
        except BaseException:
            _close_host_part(taken)
            raise
        taken.host_done = True
        return note

    def release(self, host_name: str) -> None:
        """Release ``host_name``'s locks now (idempotent, never raises)."""
        with self._mutex:
            taken = self._taken.pop(host_name, None)
        if taken is not None:
            _release(taken)

    def release_all(self) -> None:
        """Release every lock of the run: close the held commands and their connections,
        unlock and remove the control node's files. Idempotent, never raises."""
        with self._mutex:
            taken, self._taken = list(self._taken.values()), {}
        if len(taken) <= 1:
            for item in taken:
                _release(item)
            return
        # each release waits for its host's lock holder to end: do them side by side
        with ThreadPoolExecutor(max_workers=min(_RELEASE_WORKERS, len(taken)),
                                thread_name_prefix="opsrunner-unlock") as pool:
            list(pool.map(_release, taken))

    def held(self) -> list[str]:
        """The hosts whose locks this run holds."""
        with self._mutex:
            return list(self._taken)

    def _ensure_folder(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise LockError(f"lock folder {self.folder}: cannot be created: "
                            f"{exc.strerror or exc}") from None

    def _waiting(self, host: str, where: str, owner: LockOwner | None, deadline: float,
                 announced: bool) -> None:
        """Wait one poll interval for a busy lock, or raise LockBusy."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LockBusy(host, where, owner, stale=bool(owner and owner.gone()),
                           waited=self.wait)
        if not announced and self._on_wait is not None:
            self._on_wait(host, where, owner)
        if self._stop.wait(min(_POLL, remaining)):
            raise LockBusy(host, where, owner, stopped=True)

    def _take_control(self, host: Host, deadline: float) -> tuple[int, Path, LockOwner | None]:
        self._ensure_folder()
        path = self.folder / lock_file_name(host.name)
        announced = False
        while True:
            try:
                fd = _open_lock_file(path, create=True)
            except OSError as exc:
                raise LockError(f"{host.name}: lock file {path}: {exc.strerror or exc}") from None
            if not _try_flock(fd, fcntl.LOCK_EX):
                owner = _read_owner_fd(fd)
                os.close(fd)
                self._waiting(host.name, CONTROL_NODE, owner, deadline, announced)
                announced = True
                continue
            if not _same_file(fd, path):  # removed by a break while we opened it: again
                os.close(fd)
                continue
            previous = _read_owner_fd(fd)
            record = json.dumps({"host": host.name, **self.owner.as_json()}) + "\n"
            try:
                data = record.encode()
                os.pwrite(fd, data, 0)
                os.ftruncate(fd, len(data))
                os.fsync(fd)
            except OSError as exc:
                os.close(fd)
                raise LockError(f"{host.name}: lock file {path}: {exc.strerror or exc}") from None
            return fd, path, previous

    def _take_host(self, host: Host, connect: Callable[[], Connection], deadline: float,
                   taken: _Taken) -> str | None:
        connection = connect()
        taken.connection = connection
        holder = holder_of(connection)
        if holder is None:
            taken.connection = None
            with contextlib.suppress(Exception):
                connection.close()
            return (f"no host lock: connection type {host.connection!r} cannot hold one "
                    "(only the control node's lock)")
        wait = max(0.0, deadline - time.monotonic())
        script = host_lock_script(host_lock_folder(host), self.owner, wait)
        taken.command = command = holder.hold(_held_command(script), sudo=host.sudo)
        self._await_host_lock(host, command, deadline)
        taken.locked = True
        return None

    def _await_host_lock(self, host: Host, command: HeldCommand, deadline: float) -> None:
        limit = deadline + ANSWER_TIMEOUT
        waiting = False
        owner: LockOwner | None = None
        while True:
            if waiting and self._stop.is_set():
                raise LockBusy(host.name, HOST, owner, stopped=True)
            remaining = limit - time.monotonic()
            if remaining <= 0:
                raise LockError(f"{host.name}: the host lock command did not answer within "
                                f"{ANSWER_TIMEOUT:g}s{_stderr(command)}")
            try:
                line = command.readline(min(remaining, 2 * _POLL) if waiting else remaining)
            except TimeoutError:
                continue
            word = line.strip()
            if word == "LOCKED":
                return
            if word in ("BUSY", "WAIT"):
                owner = parse_owner(command.readline(ANSWER_TIMEOUT))
                if word == "BUSY":
                    raise LockBusy(host.name, HOST, owner, stale=bool(owner and owner.gone()),
                                   waited=self.wait)
                waiting = True
                if self._on_wait is not None:
                    self._on_wait(host.name, HOST, owner)
            elif word == "NOFLOCK":
                raise LockError(f"{host.name}: cannot take the host lock: flock (util-linux) "
                                "is not installed on the host")
            elif word.startswith("FAIL"):
                raise LockError(f"{host.name}: cannot take the host lock: "
                                f"{word.removeprefix('FAIL').strip()}{_stderr(command)}")
            elif not line:
                raise LockError(f"{host.name}: the host lock command ended without an answer"
                                f"{_stderr(command)}")


def _stderr(command: HeldCommand) -> str:
    text = " ".join(command.stderr.split())
    return f" ({text[:300]})" if text else ""


def _close_host_part(taken: _Taken) -> None:
    """Close the held command (waiting for its end when it held the host lock, so the lock is
    free on return) and its connection; the control-node lock stays."""
    command, connection, locked = taken.command, taken.connection, taken.locked
    taken.command, taken.connection, taken.locked = None, None, False
    if command is not None:
        with contextlib.suppress(Exception):
            command.close(wait=CLOSE_WAIT if locked else 0.0)
    if connection is not None:
        with contextlib.suppress(Exception):
            connection.close()


_RELEASE_WORKERS = 32


def _release(taken: _Taken) -> None:
    """Release the host part (:func:`_close_host_part`), then unlock and remove the control
    file."""
    _close_host_part(taken)
    with contextlib.suppress(OSError):
        if _same_file(taken.fd, taken.path):
            taken.path.unlink()  # a run that opened it meanwhile finds it gone and opens anew
        else:
            os.ftruncate(taken.fd, 0)
    with contextlib.suppress(OSError):
        os.close(taken.fd)  # closing the last descriptor releases the flock


# -- status and break ----------------------------------------------------------------------------

def _host_info(host: Host, connect: Callable[[Host], Connection]) -> LockInfo:
    """The host lock of ``host``, read with one short command."""
    try:
        connection = connect(host)
        try:
            result = connection.run(_host_status_script(host_lock_folder(host)),
                                    sudo=host.sudo, timeout=ANSWER_TIMEOUT)
        finally:
            with contextlib.suppress(Exception):
                connection.close()
    except (HostConnectionError, OSError) as exc:
        return LockInfo(host.name, HOST, UNKNOWN, note=str(exc))
    word, _, rest = result.stdout.partition("\n")
    owner = parse_owner(rest)
    if word == "NOFLOCK":
        return LockInfo(host.name, HOST, UNKNOWN, owner, "flock (util-linux) is not installed")
    if result.rc != 0 or word not in ("HELD", "FREE"):
        problem = " ".join((result.stderr or result.stdout).split())[:300]
        return LockInfo(host.name, HOST, UNKNOWN, owner,
                        f"the lock check failed (exit {result.rc}): {problem}")
    if word == "HELD":
        if owner is not None and owner.gone():
            return LockInfo(host.name, HOST, STALE, owner,
                            f"pid {owner.pid} on this control node is gone; its session "
                            "on the host still holds the lock")
        return LockInfo(host.name, HOST, HELD, owner)
    if owner is not None:
        return LockInfo(host.name, HOST, STALE, owner,
                        "nobody holds it; its owner record was left behind")
    return LockInfo(host.name, HOST, FREE)


def lock_status(folder: Path, hosts: Sequence[Host] = (),
                connect: Callable[[Host], Connection] | None = None) -> list[LockInfo]:
    """Every control-node lock file in ``folder`` (by file name), then the host lock of each
    of ``hosts`` (in order; connected in parallel with ``connect``, which is required when
    there are hosts). Changes nothing; a host that cannot be checked is ``unknown``."""
    infos = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.lock")):
            info = _control_info(path)
            if info is not None:
                infos.append(info)
    if hosts:
        if connect is None:
            raise ValueError("lock_status: hosts need connect")
        with ThreadPoolExecutor(max_workers=min(_STATUS_WORKERS, len(hosts))) as pool:
            infos.extend(pool.map(lambda h: _host_info(h, connect), hosts))
    return infos


def _refuse_live(host_name: str, info: LockInfo) -> None:
    owner = info.owner
    assert owner is not None
    if owner.local and pid_alive(owner.pid):
        raise UsageError(f"{host_name}: run {owner.run_id} still holds the lock on the "
                         f"{info.where} (pid {owner.pid} is running): stop run "
                         f"{owner.run_id} first (kill {owner.pid}); nothing was broken")
    if info.where == CONTROL_NODE:
        raise UsageError(f"{host_name}: the control-node lock of run {owner.run_id} is held by a "
                         f"process of control node {owner.control_host}: stop the run there; "
                         "nothing was broken")


def _break_control(host_name: str, path: Path, run_id: str) -> str:
    try:
        fd = _open_lock_file(path, create=False)
    except FileNotFoundError:
        return f"the control-node lock of run {run_id} was gone already"
    try:
        owner = _read_owner_fd(fd)
        if not _try_flock(fd, fcntl.LOCK_EX) or owner is None or owner.run_id != run_id:
            raise UsageError(f"{host_name}: the control-node lock changed while breaking it "
                             "(another run took it); nothing was broken there")
        if _same_file(fd, path):
            path.unlink()
    finally:
        os.close(fd)
    return f"removed the stale control-node lock of run {run_id}"


def _break_host(host: Host, connect: Callable[[Host], Connection], owner: LockOwner) -> str:
    connection = connect(host)
    try:
        script = _host_break_script(host_lock_folder(host), owner.run_id, owner.holder_pid)
        result = connection.run(script, sudo=host.sudo, timeout=ANSWER_TIMEOUT)
    finally:
        with contextlib.suppress(Exception):
            connection.close()
    word, _, rest = result.stdout.partition("\n")
    if word == "BROKEN":
        return (f"killed the holder (pid {owner.holder_pid}) of run {owner.run_id}'s lock on "
                "the host; the host lock is free")
    if word == "FREED":
        return f"removed run {owner.run_id}'s left-behind owner record on the host"
    if word == "NOTOWNER":
        now = parse_owner(rest)
        held_by = now.describe() if now else "nobody"
        raise UsageError(f"{host.name}: the host lock changed while breaking it (now: "
                         f"{held_by}); nothing was broken there")
    if word == "NOTHOLDER":
        raise LockError(f"{host.name}: pid {owner.holder_pid} on the host is not an opsrunner "
                        "lock holder; nothing was killed")
    problem = " ".join((result.stderr or result.stdout).split())[:300]
    raise LockError(f"{host.name}: the host lock of run {owner.run_id} could not be broken "
                    f"(exit {result.rc}): {problem or 'still held after kill'}")


def break_lock(folder: Path, host_name: str, run_id: str, host: Host | None = None,
               connect: Callable[[Host], Connection] | None = None) -> str:
    """Break the locks of run ``run_id`` on ``host_name``: its control-node lock file in
    ``folder`` and, given ``host`` and ``connect``, the host's own lock. Returns what was done.

    Only locks whose owner is ``run_id`` are touched, and only when that run is not alive:
    a control-node lock held by a running process (or by another control node) and a host
    lock whose owner process runs on this control node are refused ("stop run R first").
    A stale control-node record is removed; a host lock is broken by killing its holder
    shell on the host (checked to be an opsrunner lock holder first).

    :raises UsageError: no lock of ``run_id`` there (the owners found are named), or its run
        is alive; nothing was broken.
    :raises LockError: the host lock could not be checked or broken.
    """
    if not run_id.strip():
        raise UsageError("--run: give the run id shown by `opsrunner lock status`")
    path = folder / lock_file_name(host_name)
    parts = [info for info in (_control_info(path),) if info is not None]
    if host is not None and connect is not None:
        info = _host_info(host, connect)
        if info.state == UNKNOWN:
            raise LockError(f"{host_name}: cannot check the host lock: {info.note}")
        parts.append(info)
    mine = [info for info in parts if info.owner and info.owner.run_id == run_id]
    if not mine:
        found = "; ".join(f"the {info.where}'s lock belongs to {info.owner.describe()}"
                          for info in parts if info.owner)
        raise UsageError(f"{host_name}: no lock of run {run_id}"
                         + (f" ({found})" if found else " (it holds no lock)")
                         + "; nothing was broken")
    for info in mine:
        if info.state == HELD:
            _refuse_live(host_name, info)
    done = []
    for info in mine:
        assert info.owner is not None
        if info.where == CONTROL_NODE:
            done.append(_break_control(host_name, path, run_id))
        elif host is not None and connect is not None:
            done.append(_break_host(host, connect, info.owner))
    others = [f"the {info.where}'s lock of run {info.owner.run_id} was left alone"
              for info in parts if info.owner and info.owner.run_id != run_id]
    if host is None:
        others.append("the host's own lock was not checked (give the inventory with -i)")
    return f"{host_name}: " + "; ".join(done + others)
