"""What people see: a live progress bar while running, a summary table at the end (rich)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from opsrunner.hookspecs import hookimpl
from opsrunner.report import RunReport, StepRecord

_STYLE = {"ok": "green", "changed": "yellow", "failed": "bold red", "skipped": "dim",
          "passed": "green", "error": "bold red", "deferred": "magenta"}


FLUSH_INTERVAL = 0.1
"""Seconds a printed line may wait so that lines arriving together are drawn in one go."""


class ProgressDisplay:
    """A run-event plugin (:mod:`opsrunner.hookspecs`) drawing on ``console`` (stderr by default).

    Lines are drawn at a bounded rate: those arriving within :data:`FLUSH_INTERVAL` of each
    other are printed together, in their order, so a hundred hosts finishing a step cost one
    redraw of the progress bar, not a hundred. Every line is printed by the end of the run.
    """

    def __init__(self, console: Console | None = None, *, verbose: bool = False) -> None:
        self.console = console or Console(stderr=True)
        self.verbose = verbose
        self._lock = threading.Lock()
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(),
                                  console=self.console, transient=True)
        self._bar = self._progress.add_task("", total=None)
        self._pending: list[Text] = []
        self._timer: threading.Timer | None = None

    @hookimpl
    def opsrunner_run_started(self, report: RunReport, hosts: Sequence[str], steps: int) -> None:
        mode = " (check mode)" if report.check else ""
        parent = f", resuming run {report.parent}" if report.parent else ""
        self.console.print(f"[bold]{report.workflow}[/]{mode}: {len(hosts)} host(s), "
                           f"run {report.run_id}{parent}")
        self._progress.update(self._bar, total=len(hosts) * steps, description=report.workflow)
        self._progress.start()

    @hookimpl
    def opsrunner_step_started(self, host: str, step: str) -> None:
        with self._lock:
            self._progress.update(self._bar, description=f"{host}: {step}")

    @hookimpl
    def opsrunner_step_finished(self, host: str, record: StepRecord) -> None:
        with self._lock:
            self._progress.advance(self._bar)
            if record.status in ("changed", "failed", "deferred") or self.verbose:
                line = Text(f"  {host:<16} ")
                line.append(f"{record.status:<8}", style=_STYLE.get(record.status, ""))
                line.append(f" {'always: ' if record.always else ''}{record.name}"
                            f" ({record.duration:.1f}s)")
                if record.status in ("failed", "deferred") and record.msg:
                    line.append(f"\n{'':20}{record.msg}", style=_STYLE[record.status])
                if record.ignored:
                    line.append("  (ignored: on_error continue)", style="dim")
                self._print_soon(line)

    @hookimpl
    def opsrunner_host_log(self, host: str, message: str) -> None:
        with self._lock:
            self._print_soon(Text(f"  {host:<16} {message}", style="dim"))

    @hookimpl
    def opsrunner_run_finished(self, report: RunReport) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._flush()
        self._progress.stop()
        print_summary(report, self.console, resume_hint=True)

    def _print_soon(self, line: Text) -> None:
        """Queue ``line`` (the caller holds the lock); a timer prints the queue shortly."""
        self._pending.append(line)
        if self._timer is None:
            self._timer = threading.Timer(FLUSH_INTERVAL, self._flush_locked)
            self._timer.daemon = True
            self._timer.start()

    def _flush_locked(self) -> None:
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        self._timer = None
        if self._pending:
            lines, self._pending = self._pending, []
            self.console.print(Text("\n").join(lines))


def print_summary(report: RunReport, console: Console, *, resume_hint: bool = False) -> None:
    """The end-of-run table: one row per host with step counts and checks; with
    ``resume_hint``, a run that did not end ok says how to resume it."""
    table = Table(title=f"{report.workflow}: {'OK' if report.ok else 'FAILED'}"
                        f"{' (interrupted)' if report.interrupted else ''}"
                        f" in {report.duration:.1f}s", title_justify="left")
    for column in ("host", "ok", "changed", "failed", "skipped", "checks", "status"):
        table.add_column(column, justify="right" if column not in ("host", "status") else "left")
    for name, hr in report.hosts.items():
        counts = {s: sum(1 for r in hr.steps if r.status == s)
                  for s in ("ok", "changed", "failed", "skipped")}
        passed = sum(1 for c in hr.verify if c.status == "passed")
        checks = f"{passed}/{len(hr.verify)}" if hr.verify else "-"
        table.add_row(name, *(str(counts[s]) for s in ("ok", "changed", "failed", "skipped")),
                      checks, Text(hr.status, style=_STYLE.get(hr.status, "")))
    console.print(table)
    for hr in report.hosts.values():
        for check in hr.verify:
            if check.status in ("failed", "error"):
                first = check.message.splitlines()[0] if check.message else ""
                console.print(Text(f"  {hr.name}: check {check.name} {check.status}: {first}",
                                   style="red"))
    waiting = [(hr.name, s) for hr in report.hosts.values() for s in hr.steps
               if s.status == "deferred"]
    if waiting:
        window = (report.window or {}).get("name", "the window")
        console.print(Text(f"waiting for the next opening of {window}:", style="magenta"))
        for host, step in waiting:
            console.print(Text(f"  {host}: {step.name}: {step.msg}", style="magenta"))
    for hr in report.hosts.values():
        for step in hr.steps:
            if step.note and step.status in ("ok", "changed"):
                console.print(Text(f"note: {hr.name}: {step.name}: {step.note}", style="yellow"))
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")
    if resume_hint and not report.ok and not report.check:
        console.print(f"to finish this run once the cause is fixed: opsrunner run --resume "
                      f"{report.run_id}", markup=False, highlight=False, soft_wrap=True)
