"""Reading a run journal back (format in :mod:`opsrunner.report.journal`).

Every reader goes through :func:`read_journal`: a line that does not parse (the last line of
a run killed while writing it) is skipped with a note, never an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsrunner.errors import UsageError


@dataclass
class JournalFile:
    """The records of one journal, in order, and what was skipped while reading it."""

    path: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        return self.path.name.removesuffix(".jsonl")

    @property
    def header(self) -> dict[str, Any]:
        """The ``run_started`` record ({} for a journal that lost it)."""
        first = self.records[0] if self.records else {}
        return first if first.get("event") == "run_started" else {}

    @property
    def end(self) -> dict[str, Any] | None:
        """The ``run_finished`` record, or None when the run did not get there."""
        last = self.records[-1] if self.records else {}
        return last if last.get("event") == "run_finished" else None

    def events(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("event") == name]


def read_journal(path: Path) -> JournalFile:
    """Parse ``path``; UsageError when it cannot be read at all."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"journal {path}: cannot be read: {exc.strerror or exc}") from None
    journal = JournalFile(path)
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            torn = number == len(lines) or (number == len(lines) - 1 and not lines[-1])
            journal.notes.append(
                f"{path}:{number}: {'the last line is torn' if torn else 'a line does not parse'}"
                f" (the run was cut off while writing it); skipped")
            continue
        journal.records.append(record)
    return journal
