"""Running one step on one host: ``when``, parameters, retries, timeout, errors -> results."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opsrunner.engine import EnginePool
from opsrunner.errors import HostConnectionError, StepTimeout, TaskFailed, UsageError
from opsrunner.hoststate import HostState
from opsrunner.registry import Registry
from opsrunner.report import StepRecord
from opsrunner.report.events import RunObserver
from opsrunner.result import Result
from opsrunner.secrets import Redactor
from opsrunner.task import Task
from opsrunner.taskspec import TaskSpec
from opsrunner.templating import evaluate
from opsrunner.workflow import Step, render_args, should_run

_TIMEOUT_GRACE = 5.0


@dataclass(frozen=True)
class ExecOptions:
    """Run-wide settings a step needs."""

    check: bool = False
    confirmed: bool = False
    run_id: str = ""


class StepExecutor:
    """Turns a step on a host into a :class:`StepRecord`; never raises for task failures.

    ``engines`` (the run's engine sessions) is handed to every task as ``task.engine``.
    """

    def __init__(self, registry: Registry, options: ExecOptions, observer: RunObserver,
                 redactor: Redactor, stop: threading.Event,
                 engines: EnginePool | None = None) -> None:
        self.registry = registry
        self.engines = engines
        self.options = options
        self.observer = observer
        self.redactor = redactor
        self.stop = stop

    def execute(self, step: Step, hs: HostState, *, always: bool = False) -> StepRecord:
        """Run ``step`` on ``hs``; register its result; return the (redacted) record."""
        name = hs.host.name
        self.observer.step_started(name, step.name, always)
        started = time.monotonic()
        result = self._outcome(step, hs)
        if step.register and not result.skipped:
            hs.registered[step.register] = result.as_vars()
        record = self.record(step, result, time.monotonic() - started, always=always)
        self.observer.step_finished(name, record)
        return record

    def record(self, step: Step, result: Result, duration: float, *, always: bool) -> StepRecord:
        """A redacted record of ``result``."""
        red = self.redactor.text
        return StepRecord(name=step.name, task=step.task, status=result.status, rc=result.rc,
                          stdout=red(result.stdout), stderr=red(result.stderr),
                          duration=duration, msg=red(result.msg), always=always,
                          ignored=result.failed and step.on_error == "continue",
                          note=red(result.note))

    def _outcome(self, step: Step, hs: HostState) -> Result:
        try:
            context = hs.context()
            if not should_run(step, context):
                return Result(skipped=True, msg="skipped: condition (when) is false")
            spec = self.registry.task(step.task)
            args = render_args(step, spec, context)
        except UsageError as exc:
            return Result(failed=True, msg=str(exc))
        return self._attempts(step, spec, args, hs, context)

    def _attempts(self, step: Step, spec: TaskSpec, args: dict[str, Any], hs: HostState,
                  context: Mapping[str, Any]) -> Result:
        attempts = step.retries + 1
        result = Result(failed=True, msg="not run")
        for attempt in range(1, attempts + 1):
            result = self._call(step, spec, args, hs, context)
            done = not result.failed
            if step.until is not None and not hs.unreachable:
                try:
                    scope = {**context, **({step.register: result.as_vars()} if step.register
                                           else {}), "result": result.as_vars()}
                    done = bool(evaluate(step.until, scope,
                                         location=step.field_locations.get("until", step.location)))
                except UsageError as exc:
                    return Result(failed=True, msg=str(exc))
            if done or hs.unreachable or attempt == attempts or self.stop.is_set():
                if not done and step.until is not None and not result.failed:
                    result.failed = True
                    result.msg = f"until condition still false after {attempt} attempt(s)"
                return result
            self.observer.host_log(hs.host.name, f"{step.name}: attempt {attempt}/{attempts} "
                                   f"failed ({result.msg or 'rc=' + str(result.rc)}); "
                                   f"retrying in {step.delay:g}s")
            self.stop.wait(step.delay)
        return result

    def _call(self, step: Step, spec: TaskSpec, args: dict[str, Any], hs: HostState,
              context: Mapping[str, Any]) -> Result:
        deadline = time.monotonic() + step.timeout if step.timeout else None
        task = Task(hs.host, hs.session.get, check=self.options.check, vars=context,
                    deadline=deadline, log=lambda m: self.observer.host_log(hs.host.name, m),
                    confirmed=self.options.confirmed, run_id=self.options.run_id,
                    engines=self.engines)
        if step.timeout is None:
            return self._guarded(spec, task, args, hs)
        box: list[Result] = []
        worker = threading.Thread(target=lambda: box.append(self._guarded(spec, task, args, hs)),
                                  name=f"step-{hs.host.name}", daemon=True)
        worker.start()
        worker.join(step.timeout + _TIMEOUT_GRACE)
        if box:
            return box[0]
        hs.session.reset()  # aborts the command still running on the host
        return Result(failed=True, msg=f"timed out after {step.timeout:g}s")

    def _guarded(self, spec: TaskSpec, task: Task, args: dict[str, Any],
                 hs: HostState) -> Result:
        return guarded_call(spec.func, task, args, hs,
                            lambda m: self.observer.host_log(hs.host.name, m))


def guarded_call(func: Callable[..., Any], task: Task, args: dict[str, Any], hs: HostState,
                 log: Callable[[str], None]) -> Result:
    """Call a task function, turning every exception into a failed Result."""
    try:
        result = func(task, **args)
    except TaskFailed as exc:
        return Result(failed=True, msg=str(exc))
    except StepTimeout:
        hs.session.reset()
        limit = "" if task.deadline is None else " (step timeout reached)"
        return Result(failed=True, msg=f"timed out{limit}")
    except HostConnectionError as exc:
        hs.unreachable = True
        return Result(failed=True, msg=str(exc))
    except UsageError as exc:
        return Result(failed=True, msg=str(exc))
    except Exception as exc:
        log("".join(traceback.format_exception(exc)).rstrip())
        return Result(failed=True, msg=f"{type(exc).__name__}: {exc}")
    if not isinstance(result, Result):
        return Result(failed=True, msg=f"task returned {type(result).__name__}, not a Result")
    return result
