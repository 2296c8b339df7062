"""The run journal: one JSON-lines file per run under ``.opsrunner/runs/<run-id>.jsonl``.

Every line is one event with a UTC timestamp. Every string is redacted by value (all secrets
the inventory loaded) before it is written. The file is created with mode 0600.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opsrunner.hookspecs import hookimpl
from opsrunner.report import RunReport, StepRecord
from opsrunner.secrets import Redactor

DEFAULT_DIR = Path(".opsrunner") / "runs"


def new_run_id() -> str:
    """``YYYYmmddTHHMMSSZ-<pid>-<4 hex>``: sortable and unique enough per control node."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return f"{stamp}-{os.getpid()}-{os.urandom(2).hex()}"


class Journal:
    """A run-event plugin (:mod:`opsrunner.hookspecs`) appending every event to the run's file."""

    def __init__(self, folder: Path, run_id: str, redactor: Redactor) -> None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = folder / f"{run_id}.jsonl"
        self.redactor = redactor
        self._lock = threading.Lock()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")

    def write(self, event: str, **fields: Any) -> None:
        """Append one event line (redacted)."""
        record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": event,
                  **fields}
        line = json.dumps(self.redactor.value(record), default=str)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()

    @hookimpl(tryfirst=True)
    def opsrunner_run_started(self, report: RunReport, hosts: Sequence[str]) -> None:
        self.write("run_started", run_id=report.run_id, workflow=report.workflow,
                   file=report.workflow_file, check=report.check, hosts=list(hosts))

    @hookimpl(tryfirst=True)
    def opsrunner_step_started(self, host: str, step: str, always: bool) -> None:
        self.write("step_started", host=host, step=step, always=always)

    @hookimpl(tryfirst=True)
    def opsrunner_step_finished(self, host: str, record: StepRecord) -> None:
        self.write("step_finished", host=host, **record.as_json())

    @hookimpl(tryfirst=True)
    def opsrunner_host_log(self, host: str, message: str) -> None:
        self.write("log", host=host, message=message)

    @hookimpl(tryfirst=True)
    def opsrunner_run_finished(self, report: RunReport) -> None:
        self.write("run_finished", ok=report.ok, exit_code=report.exit_code,
                   interrupted=report.interrupted, duration=round(report.duration, 3),
                   hosts={n: h.status for n, h in report.hosts.items()},
                   verify={n: [c.as_json() for c in h.verify] for n, h in report.hosts.items()})
