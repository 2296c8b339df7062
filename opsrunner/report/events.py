"""What the runner tells observers (progress display, journal) while it works."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from opsrunner.report import RunReport, StepRecord


class RunObserver(Protocol):
    """Receives run events; called from worker threads, so implementations lock."""

    def run_started(self, report: RunReport, hosts: Sequence[str], steps: int) -> None: ...

    def step_started(self, host: str, step: str, always: bool) -> None: ...

    def step_finished(self, host: str, record: StepRecord) -> None: ...

    def host_log(self, host: str, message: str) -> None: ...

    def run_finished(self, report: RunReport) -> None: ...


class Observers:
    """Fans every event out to several observers, in order."""

    def __init__(self, *observers: RunObserver) -> None:
        self.observers = list(observers)

    def run_started(self, report: RunReport, hosts: Sequence[str], steps: int) -> None:
        for o in self.observers:
            o.run_started(report, hosts, steps)

    def step_started(self, host: str, step: str, always: bool) -> None:
        for o in self.observers:
            o.step_started(host, step, always)

    def step_finished(self, host: str, record: StepRecord) -> None:
        for o in self.observers:
            o.step_finished(host, record)

    def host_log(self, host: str, message: str) -> None:
        for o in self.observers:
            o.host_log(host, message)

    def run_finished(self, report: RunReport) -> None:
        for o in self.observers:
            o.run_finished(report)
