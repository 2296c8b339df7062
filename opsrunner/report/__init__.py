"""The outcome of a run: per host, per step and per check; JSON form and exit code.

Exit codes (documented in the README and ``opsrunner --help``): 0 every host ok,
2 some host failed, 1 usage or input error (raised before the run), 3 outside the maintenance
window (nothing was changed), 4 some host deferred to the next window (none failed),
130 interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EXIT_OK = 0
EXIT_USAGE = 1
EXIT_FAILED = 2
EXIT_OUTSIDE_WINDOW = 3
EXIT_DEFERRED = 4
EXIT_INTERRUPTED = 130


@dataclass
class StepRecord:
    """One step on one host. ``status``: ok, changed, failed, skipped, or deferred (not
    started: it would not end before its maintenance window closes; ``estimate`` says how
    long it was expected to take)."""

    name: str
    task: str
    status: str
    rc: int | None = None
    stdout: str = ""
    stderr: str = ""
    duration: float = 0.0
    msg: str = ""
    always: bool = False
    ignored: bool = False
    note: str = ""
    index: int = -1
    """The step's position in its list (see :attr:`opsrunner.workflow.Step.index`); -1 for
    the runner's own records (the target lock)."""
    registered: Any = None
    """What ``register:`` kept (redacted), for the journal: a resumed run gives it back."""
    resumed_from: str = ""
    """The earlier run this step finished in, when ``--resume`` skipped it."""
    previous: str = ""
    """With ``resumed_from``: the status the step finished with there."""
    estimate: float | None = None
    """Seconds the step was expected to take (with its reserve), when a window was checked."""

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "task": self.task, "status": self.status, "rc": self.rc,
                "stdout": self.stdout, "stderr": self.stderr, "duration": round(self.duration, 3),
                "msg": self.msg, "always": self.always, "ignored": self.ignored,
                "note": self.note, "index": self.index, "resumed_from": self.resumed_from,
                "estimate": None if self.estimate is None else round(self.estimate, 3)}


@dataclass
class CheckRecord:
    """One verification test on one host. ``status``: passed, failed, skipped or error."""

    name: str
    file: str
    status: str
    message: str = ""
    duration: float = 0.0
    evidence: dict[str, str] = field(default_factory=dict)
    """What the check recorded with the ``evidence`` fixture (name -> value)."""

    def as_json(self) -> dict[str, Any]:
        out = {"name": self.name, "file": self.file, "status": self.status,
               "message": self.message, "duration": round(self.duration, 3)}
        if self.evidence:
            out["evidence"] = dict(self.evidence)
        return out


@dataclass
class HostReport:
    """Everything that happened on one host. ``status``: ok, failed, skipped (never started) or
    deferred (its next step waits for the next maintenance window)."""

    name: str
    status: str = "skipped"
    steps: list[StepRecord] = field(default_factory=list)
    verify: list[CheckRecord] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(1 for s in self.steps if s.status == "changed")

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "steps": [s.as_json() for s in self.steps],
                "verify": [c.as_json() for c in self.verify]}


@dataclass
class RunReport:
    """The whole run."""

    run_id: str
    workflow: str
    workflow_file: str
    check: bool = False
    interrupted: bool = False
    halted: str = ""
    """Why the run stopped starting steps when not for a signal (the journal's folder is full);
    such a run is not ok."""
    parent: str = ""
    """The run this one resumes (``--resume``)."""
    window: dict[str, Any] | None = None
    """The maintenance window the run ran in: ``name``, ``opens``, ``closes``, ``cut`` (ISO
    8601 with offset), ``timezone``; with ``outside_reason`` when it ran outside it."""
    started: float = 0.0
    duration: float = 0.0
    hosts: dict[str, HostReport] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every host finished its work: none failed, none deferred, no interrupt or halt."""
        return (not self.interrupted and not self.halted
                and all(h.status not in ("failed", "deferred") for h in self.hosts.values()))

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.halted or any(h.status == "failed" for h in self.hosts.values()):
            return EXIT_FAILED
        if any(h.status == "deferred" for h in self.hosts.values()):
            return EXIT_DEFERRED
        return EXIT_OK

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "run_id": self.run_id, "workflow": self.workflow,
                "workflow_file": self.workflow_file, "check": self.check,
                "interrupted": self.interrupted, "halted": self.halted, "parent": self.parent,
                "window": self.window,
                "duration": round(self.duration, 3),
                "notes": list(self.notes),
                "hosts": {name: h.as_json() for name, h in self.hosts.items()}}
