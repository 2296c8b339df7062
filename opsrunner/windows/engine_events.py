"""A windowed run's start and end in the engine's audit log (the Administration Portal's
Events), so whoever looks at the engine sees the maintenance.

A run-event plugin: at the start, "opsrunner run R: maintenance window W started: workflow F
on N host(s): ..."; at the end, the same with the outcome and the ok/failed/deferred counts
(severity warning when the run did not end ok). A run outside its window says so and why. A
check run logs nothing. An engine that cannot be reached or refuses the event does not fail
the run: the report gets a note.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any

from opsrunner.hookspecs import hookimpl
from opsrunner.report import RunReport

ORIGIN = "opsrunner"


class WindowEvents:
    """Posts the run's window events through ``session()`` (an
    :class:`opsrunner.engine.EngineSession`, or None when no host of the run has an engine)."""

    def __init__(self, session: Callable[[], Any], window: dict[str, Any]) -> None:
        self._session = session
        self.window = window

    @hookimpl
    def opsrunner_run_started(self, report: RunReport, hosts: Sequence[str]) -> None:
        if report.check:
            return
        shown = ", ".join(hosts[:10]) + (f" and {len(hosts) - 10} more" if len(hosts) > 10 else "")
        outside = self.window.get("outside_reason")
        what = (f"started OUTSIDE maintenance window {self.window['name']} (reason: {outside})"
                if outside else f"maintenance window {self.window['name']} started")
        self._post(report, f"opsrunner run {report.run_id}: {what}: workflow {report.workflow} "
                           f"on {len(hosts)} host(s): {shown}", "normal" if not outside
                   else "warning")

    @hookimpl(tryfirst=True)
    def opsrunner_run_finished(self, report: RunReport) -> None:
        if report.check:
            return
        statuses = [h.status for h in report.hosts.values()]
        counts = ", ".join(f"{statuses.count(s)} {s}" for s in ("ok", "failed", "deferred"))
        outcome = ("ok" if report.ok else "interrupted" if report.interrupted
                   else "deferred" if report.exit_code == 4 else "failed")
        self._post(report, f"opsrunner run {report.run_id}: maintenance window "
                           f"{self.window['name']} ended: workflow {report.workflow} {outcome} "
                           f"({counts})", "normal" if report.ok else "warning")

    def _post(self, report: RunReport, description: str, severity: str) -> None:
        try:
            session = self._session()
            if session is None:
                return
            import ovirtsdk4.types as types

            custom_id = zlib.crc32(description.encode()) & 0x7FFFFFFF
            with session.change("add an event"):
                session.system.events_service().add(types.Event(
                    description=description, severity=types.LogSeverity(severity),
                    origin=ORIGIN, custom_id=custom_id))
        except Exception as exc:  # the engine's audit log is a courtesy, not the work
            report.notes.append(f"the engine's audit log did not take the window event: {exc}")
