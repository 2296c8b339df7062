"""Running one step on one host: ``when``, parameters, retries, timeout, errors -> results."""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opsrunner.engine import EnginePool
from opsrunner.errors import HostConnectionError, LockError, StepTimeout, TaskFailed, UsageError
from opsrunner.hoststate import HostState
from opsrunner.registry import Registry
from opsrunner.report import StepRecord
from opsrunner.report.events import RunObserver
from opsrunner.result import Result
from opsrunner.secrets import Redactor
from opsrunner.state.resume import Prior
from opsrunner.task import Task
from opsrunner.taskspec import TaskSpec
from opsrunner.templating import evaluate
from opsrunner.unexpected import unexpected
from opsrunner.workflow import Step, render_args, should_run

_TIMEOUT_GRACE = 5.0
TRACEBACK_ENV = "OPSRUNNER_TRACEBACK"
"""Set (to anything) to have a task's unexpected exception's traceback in the host log."""
CUT_MESSAGE = ("cut: the maintenance window closed and its drain grace ended while the step "
               "ran; the always-steps run next")


OUTPUT_CAP = 1 << 20
"""Bytes of a step's stdout, and of its stderr, that its record keeps (the last ones)."""


def keep_tail(text: str, stream: str, cap: int = OUTPUT_CAP) -> tuple[str, str]:
    """``text`` cut to its last ``cap`` bytes of UTF-8 (at a character boundary), and a note
    naming ``stream`` and its size when it was cut (else "")."""
    if len(text) * 4 <= cap:  # no character is longer than 4 bytes
        return text, ""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= cap:
        return text, ""
    tail = data[-cap:].decode("utf-8", "ignore")
    return tail, (f"{stream} was {len(data) / 1e6:.1f} MB; only its last {cap >> 20} MiB is "
                  f"kept in the report and the journal")


def _capped(registered: Any) -> Any:
    """A registered result for the journal, its output streams (and their lines) cut as in
    the record."""
    if not isinstance(registered, dict):
        return registered
    out = dict(registered)
    for stream in ("stdout", "stderr"):
        if isinstance(out.get(stream), str):
            out[stream] = keep_tail(out[stream], stream)[0]
            if f"{stream}_lines" in out:
                out[f"{stream}_lines"] = out[stream].splitlines()
    return out


def _timed_out(result: Result) -> bool:
    return result.rc == -1 or result.msg.startswith("timed out")


def _window_cut(result: Result) -> Result:
    result.msg = f"{CUT_MESSAGE} ({result.msg})" if result.msg else CUT_MESSAGE
    return result


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
                 engines: EnginePool | None = None,
                 check_engines: EnginePool | None = None) -> None:
        self.registry = registry
        self.engines = engines
        self.check_engines = check_engines or engines
        """The engine sessions of a check-mode re-check (``--resume``): they refuse changes."""
        self.cut_in: Callable[[], float] | None = None
        """Seconds until a maintenance window cuts running steps (None: no window); a step
        (not an always-step) gets at most that long, like a step timeout."""
        self.options = options
        self.observer = observer
        self.redactor = redactor
        self.stop = stop

    def execute(self, step: Step, hs: HostState, *, always: bool = False,
                prior: Prior | None = None) -> StepRecord:
        """Run ``step`` on ``hs``; register its result; return the (redacted) record.

        With ``prior`` (how the step ended in the run being resumed) a finished step is
        skipped when :meth:`_reuse` says so. Any exception, of any type, becomes a failed
        record: nothing escapes to the runner.
        """
        name = hs.host.name
        self.observer.step_started(name, step.name, always, step.index)
        started = time.monotonic()
        if self.stop.is_set() and not always:  # halted while the start was being recorded
            record = StepRecord(step.name, step.task, "skipped", index=step.index,
                                msg="not started: the run is stopping")
            self.observer.step_finished(name, record)
            return record
        try:
            reused = self._reuse(step, hs, prior) if prior is not None and prior.finished else None
            if reused is not None:
                self.observer.step_finished(name, reused)
                return reused
            result = self._outcome(step, hs, always=always)
            if step.register and not result.skipped:
                hs.registered[step.register] = result.as_vars()
        except Exception as exc:  # a bug in a template filter, a task or the runner
            result = Result(failed=True, msg=unexpected(exc))
        record = self.record(step, result, time.monotonic() - started, always=always)
        if step.register and step.register in hs.registered:
            record.registered = _capped(hs.registered[step.register])
        self.observer.step_finished(name, record)
        return record

    def _reuse(self, step: Step, hs: HostState, prior: Prior) -> StepRecord | None:
        """The skip record of a step that finished in an earlier run, or None: it runs again.

        An idempotent task is asked in check mode first and runs again when it would change
        something; any other task's finished step is trusted and not run twice.
        """
        if step.register and prior.registered is not None:
            hs.registered[step.register] = prior.registered
        spec = self.registry.task(step.task)
        how = "not run again"
        if spec.rerun_safe(step.args):
            check = self._outcome(step, hs, check=True)
            if check.changed or check.failed:
                why = check.msg or "it would change something"
                self.observer.host_log(hs.host.name, f"{step.name}: finished in run "
                                       f"{prior.run_id}, but check mode says: {why}; running it")
                return None
            how = "check mode: no change"
        elif prior.status == "failed":
            how = "failed there (on_error: continue); not run again"
        return StepRecord(step.name, step.task, "skipped", index=step.index,
                          msg=f"finished {prior.status} in run {prior.run_id} ({how})",
                          resumed_from=prior.run_id, previous=prior.status,
                          registered=prior.registered if step.register else None)

    def record(self, step: Step, result: Result, duration: float, *, always: bool) -> StepRecord:
        """A redacted record of ``result``; stdout and stderr keep at most their last
        :data:`OUTPUT_CAP` bytes each (the report, the journal and JUnit all store them), and
        the message says when a stream was cut."""
        red = self.redactor.text
        stdout, cut_out = keep_tail(red(result.stdout), "stdout")
        stderr, cut_err = keep_tail(red(result.stderr), "stderr")
        msg = "; ".join(filter(None, [red(result.msg), cut_out, cut_err]))
        return StepRecord(name=step.name, task=step.task, status=result.status, rc=result.rc,
                          stdout=stdout, stderr=stderr, duration=duration, msg=msg,
                          always=always, ignored=result.failed and step.on_error == "continue",
                          note=red(result.note), index=step.index)

    def _outcome(self, step: Step, hs: HostState, *, check: bool | None = None,
                 always: bool = False) -> Result:
        try:
            context = hs.context()
            if not should_run(step, context):
                return Result(skipped=True, msg="skipped: condition (when) is false")
            spec = self.registry.task(step.task)
            args = render_args(step, spec, context)
        except UsageError as exc:
            return Result(failed=True, msg=str(exc))
        if check:
            return self._call(step, spec, args, hs, context, check=True)
        return self._attempts(step, spec, args, hs, context, always=always)

    def _attempts(self, step: Step, spec: TaskSpec, args: dict[str, Any], hs: HostState,
                  context: Mapping[str, Any], *, always: bool = False) -> Result:
        attempts = step.retries + 1
        result = Result(failed=True, msg="not run")
        for attempt in range(1, attempts + 1):
            result = self._call(step, spec, args, hs, context, always=always)
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
              context: Mapping[str, Any], *, check: bool = False,
              always: bool = False) -> Result:
        timeout, cut = step.timeout, False
        if self.cut_in is not None and not always:
            left = self.cut_in()
            if timeout is None or left < timeout:
                timeout, cut = left, True
        deadline = time.monotonic() + timeout if timeout is not None else None
        task = Task(hs.host, hs.session.get, check=check or self.options.check, vars=context,
                    deadline=deadline, log=lambda m: self.observer.host_log(hs.host.name, m),
                    confirmed=self.options.confirmed, run_id=self.options.run_id,
                    engines=self.check_engines if check else self.engines)
        if timeout is None:
            return self._guarded(spec, task, args, hs)
        box: list[Result] = []
        worker = threading.Thread(target=lambda: box.append(self._guarded(spec, task, args, hs)),
                                  name=f"step-{hs.host.name}", daemon=True)
        worker.start()
        worker.join(timeout + _TIMEOUT_GRACE)
        if box:
            return _window_cut(box[0]) if cut and box[0].failed and _timed_out(box[0]) else box[0]
        hs.session.reset()  # aborts the command still running on the host
        if cut:
            return Result(failed=True, msg=CUT_MESSAGE)
        return Result(failed=True, msg=f"timed out after {timeout:g}s")

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
    except LockError as exc:  # the host lock, taken at the run's first connection
        hs.locked_out = True
        return Result(failed=True, msg=str(exc))
    except UsageError as exc:
        return Result(failed=True, msg=str(exc))
    except (Exception, SystemExit) as exc:  # a bug in the task (SystemExit: it called exit)
        if os.environ.get(TRACEBACK_ENV):
            log("".join(traceback.format_exception(exc)).rstrip())
        return Result(failed=True, msg=unexpected(exc, func))
    if not isinstance(result, Result):
        return Result(failed=True, msg=f"task returned {type(result).__name__}, not a Result")
    return result
