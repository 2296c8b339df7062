"""Outcomes of commands and tasks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CommandResult:
    """What one command returned on a host. ``rc`` is -1 when it was killed (timeout)."""

    command: str
    rc: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.rc == 0


@dataclass
class Result:
    """What a task reports for one host.

    ``changed`` says whether the task changed (or, in check mode, would change) the host;
    ``failed`` marks a failure, ``msg`` says why or what was done; ``data`` carries
    task-specific facts that later steps can read through ``register``; ``note`` is one
    line for the end-of-run summary (what the admin must know: a backup's date, the space
    reclaimed).
    """

    changed: bool = False
    failed: bool = False
    msg: str = ""
    rc: int | None = None
    stdout: str = ""
    stderr: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False
    note: str = ""

    @classmethod
    def from_command(cls, res: CommandResult, *, changed: bool, failed: bool = False,
                     msg: str = "") -> Result:
        """Build a result that carries a command's rc and output."""
        return cls(changed=changed, failed=failed, msg=msg, rc=res.rc,
                   stdout=res.stdout, stderr=res.stderr)

    @property
    def status(self) -> str:
        """One of ``ok``, ``changed``, ``failed``, ``skipped``."""
        if self.failed:
            return "failed"
        if self.skipped:
            return "skipped"
        return "changed" if self.changed else "ok"

    def as_vars(self) -> dict[str, Any]:
        """The mapping a ``register:`` name exposes to later steps."""
        out: dict[str, Any] = dict(self.data)
        out.update(rc=self.rc, stdout=self.stdout, stderr=self.stderr, changed=self.changed,
                   failed=self.failed, skipped=self.skipped, msg=self.msg,
                   stdout_lines=self.stdout.splitlines())
        return out
