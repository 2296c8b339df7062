"""The run journal: one append-only JSON-lines file per run, ``<state>/runs/<run-id>.jsonl``.

Format ``opsrunner.journal/1`` (every field in the README, "The run journal"): one JSON object
per line with ``v`` (1), ``seq`` (1, 2, ...), ``ts`` (UTC, ISO 8601 with milliseconds) and
``event``: ``run_started`` (the run's header: workflow, digests, inventory, hosts, options,
parent), ``step_started``, ``step_finished``, ``log``, ``halted`` and ``run_finished``.

Every string is redacted by value (all secrets the inventory loaded) before it is written.
The file is created with mode 0600 in a 0700 folder. The header and every step boundary are
``fsync``-ed, so a run killed at any point leaves only complete lines but perhaps the last.
A write that fails (a full disk) is cut back to the last complete line; the journal then
reports the failure once to ``on_error``, and the runner starts no new step.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from opsrunner.errors import UsageError
from opsrunner.hookspecs import hookimpl
from opsrunner.report import RunReport, StepRecord
from opsrunner.secrets import Redactor

SCHEMA = "opsrunner.journal/1"
VERSION = 1


def new_run_id() -> str:
    """``YYYYmmddTHHMMSSZ-<pid>-<4 hex>``: sortable and unique enough per control node."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return f"{stamp}-{os.getpid()}-{os.urandom(2).hex()}"


def timestamp(when: float | None = None) -> str:
    """UTC ``2026-12-03T13:39:11.042Z``."""
    now = time.time() if when is None else when
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


class Journal:
    """A run-event plugin (:mod:`opsrunner.hookspecs`) appending every event to the run's file.

    :meth:`begin` writes the header and must succeed before the run changes anything.
    """

    def __init__(self, folder: Path, run_id: str, redactor: Redactor,
                 on_error: Callable[[str], None] | None = None) -> None:
        self.folder = folder
        self.path = folder / f"{run_id}.jsonl"
        self.redactor = redactor
        self.on_error = on_error
        self.failure = ""
        """Why a write failed (empty while every line was written)."""
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._seq = 0
        self._size = 0

    def begin(self, header: Mapping[str, Any]) -> None:
        """Create the file and write ``run_started`` with ``header``, synced to disk.

        UsageError (nothing was changed yet) when the folder cannot be created or written.
        """
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND,
                               0o600)
        except OSError as exc:
            raise UsageError(self._cannot(exc, "cannot create the run journal")) from None
        if not self._append("run_started", dict(header), sync=True):
            self.close()
            self.path.unlink(missing_ok=True)
            raise UsageError(self.failure)

    def write(self, event: str, *, sync: bool = False, **fields: Any) -> bool:
        """Append one event line (redacted); False when it could not be written."""
        return self._append(event, fields, sync=sync)

    def close(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _append(self, event: str, fields: dict[str, Any], *, sync: bool) -> bool:
        with self._lock:
            if self._fd is None:
                return False
            self._seq += 1
            record = {"v": VERSION, "seq": self._seq, "ts": timestamp(), "event": event,
                      **fields}
            data = (json.dumps(self.redactor.value(record), default=str) + "\n").encode()
            try:
                written = os.write(self._fd, data)
                if written != len(data):
                    raise OSError(28, "No space left on device")
                if sync:
                    os.fsync(self._fd)
            except OSError as exc:
                self._seq -= 1
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, self._size)  # no torn line in the middle
                first = not self.failure
                self.failure = self._cannot(exc, "cannot write the run journal")
                callback = self.on_error if first else None
            else:
                self._size += written
                return True
        if callback is not None:
            callback(self.failure)
        return False

    def _cannot(self, exc: OSError, what: str) -> str:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        remedy = "free space there or choose" if full else "choose"
        return (f"{what} in {self.folder}: {exc.strerror or exc}; {remedy} "
                f"another folder with --state-dir")

    @hookimpl(tryfirst=True)
    def opsrunner_step_started(self, host: str, step: str, always: bool, index: int) -> None:
        self.write("step_started", sync=True, host=host, step=step, index=index, always=always)

    @hookimpl(tryfirst=True)
    def opsrunner_step_finished(self, host: str, record: StepRecord) -> None:
        fields = record.as_json()
        fields["step"] = fields.pop("name")
        fields["changed"] = record.status == "changed"
        if record.registered is not None:
            fields["registered"] = record.registered
        if record.resumed_from:
            fields["previous"] = record.previous
        self.write("step_finished", sync=True, host=host, **fields)

    @hookimpl(tryfirst=True)
    def opsrunner_host_log(self, host: str, message: str) -> None:
        self.write("log", host=host, message=message)

    @hookimpl(tryfirst=True)
    def opsrunner_run_halted(self, report: RunReport, reason: str) -> None:
        self.write("halted", sync=True, reason=reason, interrupted=report.interrupted)

    @hookimpl(tryfirst=True)
    def opsrunner_run_finished(self, report: RunReport) -> None:
        self.write("run_finished", sync=True, ok=report.ok, exit_code=report.exit_code,
                   interrupted=report.interrupted, halted=report.halted,
                   duration=round(report.duration, 3),
                   hosts={n: h.status for n, h in report.hosts.items()},
                   verify={n: [c.as_json() for c in h.verify] for n, h in report.hosts.items()},
                   notes=list(report.notes))
