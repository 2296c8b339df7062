"""Helpers shared by the engine tasks: deadlines, wording, recent events for error messages."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from opsrunner import EngineSession, Task, enum_text, status_value

RECENT_EVENTS = 50


def deadline(task: Task, timeout: float) -> float:
    """The monotonic time a wait of ``timeout`` seconds ends (the step's timeout caps it)."""
    if timeout <= 0:
        task.fail(f"timeout must be a positive number of seconds, got {timeout:g}")
    left = task.remaining(timeout)
    return time.monotonic() + (timeout if left is None else left)


def would(task: Task) -> str:
    """``"would "`` in check mode, else nothing: ``f"{would(task)}start VM x"``."""
    return "would " if task.check else ""


def progress(task: Task, describe: str) -> Callable[[str], None]:
    """An ``on_status`` callback that logs ``host kvm1: preparing_for_maintenance``."""
    return lambda status: task.log(f"{describe}: {status}")


def event_mark(session: EngineSession) -> int:
    """The index of the newest event (0 when there is none or it cannot be read)."""
    try:
        with session.errors("read the newest event"):
            newest = session.system.events_service().list(max=1)
    except Exception:
        return 0
    return int(newest[0].index or 0) if newest else 0


def events_since(session: EngineSession, mark: int, about: Callable[[Any], bool],
                 limit: int = 3) -> list[str]:
    """Descriptions of events newer than ``mark`` that ``about`` selects, oldest first.

    For failure messages: what the engine logged about the entity while the task waited.
    Reading them never fails the task (an empty list instead).
    """
    try:
        with session.errors("read recent events"):
            events = session.system.events_service().list(max=RECENT_EVENTS)
    except Exception:
        return []
    found = [e for e in events if int(e.index or 0) > mark and about(e)]
    found.sort(key=lambda e: int(e.index or 0))
    return [str(e.description) for e in found[-limit:]]


def named(reference: Any) -> str | None:
    """The ``name`` of an SDK reference (None when unset)."""
    return None if reference is None else getattr(reference, "name", None)


def exactly_named(session: EngineSession, kind: str, name: str) -> list[Any]:
    """The entities of ``kind`` named exactly ``name`` (the engine's search also matches
    case-insensitively); none is no error."""
    return [e for e in session.search(kind, f'name="{name}"') if e.name == name]


def described_snapshots(session: EngineSession, vm: Any, description: str) -> list[Any]:
    """VM ``vm``'s snapshots (the Active VM aside) described exactly ``description``."""
    snapshots = session.service("vms", vm.id).snapshots_service()
    with session.errors(f"list the snapshots of VM {vm.name}"):
        return [s for s in snapshots.list() if s.description == description
                and enum_text(s.snapshot_type) != "active"]


def with_events(message: str, events: list[str]) -> str:
    """``message`` followed by the engine's events, as ``; engine events: a | b``."""
    return message + (f"; engine events: {' | '.join(events)}" if events else "")


def returning_status(initial: str, passing: frozenset[str]) -> tuple[Callable[[Any], str], str]:
    """A ``status_of`` for waits that fail when the entity falls back to where it started.

    Returns the reader and the status it reports for the fall back (``down (again)``): after a
    status of ``passing`` was seen, seeing ``initial`` again means the engine gave up (a VM
    that failed to start is down again). Put that status among the failure statuses.
    """
    again = f"{initial} (again)"
    seen = [False]

    def status_of(entity: Any) -> str:
        status = status_value(entity)
        if status in passing:
            seen[0] = True
        elif status == initial and seen[0]:
            return again
        return status

    return status_of, again
