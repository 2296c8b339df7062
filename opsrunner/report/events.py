"""The runner's side of the run-event hooks (:mod:`opsrunner.hookspecs`, "The run's life")."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import pluggy

from opsrunner.report import RunReport, StepRecord
from opsrunner.secrets import Redactor


class RunObserver(Protocol):
    """What the runner and the step executor call as the run goes (from worker threads)."""

    def run_started(self, report: RunReport, hosts: Sequence[str], steps: int) -> None: ...

    def step_started(self, host: str, step: str, always: bool, index: int = -1) -> None: ...

    def step_finished(self, host: str, record: StepRecord) -> None: ...

    def host_log(self, host: str, message: str) -> None: ...

    def run_halted(self, reason: str) -> None: ...

    def run_finished(self, report: RunReport) -> None: ...


class RunEvents:
    """A :class:`RunObserver` that calls each event's hook on every registered plugin.

    ``hook`` is a plugin manager's relay (``PluginManager.hook``); without one, a relay with
    no plugin: the events reach nobody. With ``redactor``, every log line and halt reason is
    redacted before any plugin sees it (step records arrive redacted already).

    A listener that raises (a broken plugin, a terminal gone) does not break the run's control
    flow: the exception goes to :attr:`on_error` (the runner halts the run there) and the
    event call returns; without ``on_error`` it propagates. Ctrl-C always propagates.
    """

    def __init__(self, hook: pluggy.HookRelay | None, report: RunReport,
                 redactor: Redactor | None = None) -> None:
        if hook is None:
            from opsrunner import hookspecs

            manager = pluggy.PluginManager(hookspecs.NAME)
            manager.add_hookspecs(hookspecs)
            hook = manager.hook
        self.hook = hook
        self.report = report
        self.redactor = redactor
        self.on_error: Callable[[Exception], None] | None = None

    def run_started(self, report: RunReport, hosts: Sequence[str], steps: int) -> None:
        self._emit("opsrunner_run_started", report=report, hosts=list(hosts), steps=steps)

    def step_started(self, host: str, step: str, always: bool, index: int = -1) -> None:
        self._emit("opsrunner_step_started", report=self.report, host=host, step=step,
                   always=always, index=index)

    def step_finished(self, host: str, record: StepRecord) -> None:
        self._emit("opsrunner_step_finished", report=self.report, host=host, record=record)

    def host_log(self, host: str, message: str) -> None:
        self._emit("opsrunner_host_log", report=self.report, host=host,
                   message=self._red(message))

    def run_halted(self, reason: str) -> None:
        self._emit("opsrunner_run_halted", report=self.report, reason=self._red(reason))

    def run_finished(self, report: RunReport) -> None:
        self._emit("opsrunner_run_finished", report=report)

    def _emit(self, name: str, **kwargs: Any) -> None:
        try:
            getattr(self.hook, name)(**kwargs)
        except Exception as exc:
            if self.on_error is None:
                raise
            self.on_error(exc)

    def _red(self, text: str) -> str:
        return self.redactor.text(text) if self.redactor is not None else text
