"""Runs a workflow over hosts: strategies, failure policy, always-steps, verification.

* ``parallel``: each step runs on every remaining host (at most ``forks`` at once), then
  the next step. A host whose step failed (without ``on_error: continue``) skips the rest.
* ``rolling``: hosts go in batches of ``batch``; each batch runs all steps and then its
  always-steps before the next batch starts. When the failed share of a batch exceeds
  ``max_fail_percentage``, the remaining batches are not started (their hosts: skipped).
* ``always`` steps run on every host that started (failed ones too) except unreachable
  hosts, whatever failed, and also after Ctrl-C.
* Ctrl-C (and SIGTERM, which the CLI turns into one): no new step starts, running ones
  finish, always-steps run, the report says interrupted (exit 130). A second one aborts at once.
  :meth:`Runner.halt` (the journal cannot be written) does the same, and the run fails (exit 2).
* Any exception inside a step is that host's failure (:class:`StepExecutor`); the run goes on.
  An exception of the runner itself or of a run-event hook halts the run (exit 2) and the
  always-steps still run; one of the checks fails the hosts they were to prove.
* With ``locks`` the run takes each host's control-node lock before its first step, and its
  host lock when the run first connects to the host (before any command runs there; a host
  only reached through the engine API needs none); both are held to the end of the run. A
  host whose lock another run holds fails and runs nothing more, not even the always-steps
  (they belong to the run that holds it).
* With ``resume`` (a :class:`ResumePlan`), each step gets how it ended in the earlier run.
* With ``admission`` (the open maintenance window), a step is started on a host only when it
  would end, with its reserve, before the window closes; otherwise the host is ``deferred``:
  nothing more starts there but its always-steps (when it started). A rolling run starts no
  batch after one with a deferred host. Steps still running when the window's drain grace
  ends are cut like a step timeout. Always-steps are never held back.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pluggy

from opsrunner.connection import Connection, ConnectOptions
from opsrunner.engine import EnginePool
from opsrunner.errors import OpsrunnerError
from opsrunner.host import Host
from opsrunner.hoststate import HostSession, HostState
from opsrunner.inventory import Inventory
from opsrunner.registry import Registry
from opsrunner.report import CheckRecord, RunReport, StepRecord
from opsrunner.report.events import RunEvents
from opsrunner.report.journal import new_run_id
from opsrunner.secrets import Redactor
from opsrunner.state.resume import Prior, ResumePlan
from opsrunner.stepexec import ExecOptions, StepExecutor
from opsrunner.unexpected import unexpected
from opsrunner.workflow import Step, Workflow

if TYPE_CHECKING:
    from opsrunner.state.locks import RunLocks
    from opsrunner.windows.admission import Admission

LOCK_STEP = "take the target lock"


@dataclass(frozen=True)
class RunOptions:
    """What the user chose for this run."""

    check: bool = False
    forks: int = 20
    extra_vars: Mapping[str, Any] = field(default_factory=dict)
    confirmed: bool = False
    connect: ConnectOptions = field(default_factory=ConnectOptions)
    verify: bool = True


class Runner:
    """Executes one workflow on the hosts it selects; :meth:`run` returns the report.

    Every event of the run goes to the run-event hooks of ``hook`` (a plugin manager's
    relay), where the progress display, the journal and the reports listen.
    """

    def __init__(self, workflow: Workflow, inventory: Inventory, hosts: Sequence[Host],
                 registry: Registry, options: RunOptions, *,
                 hook: pluggy.HookRelay | None = None, redactor: Redactor | None = None,
                 run_id: str | None = None, locks: RunLocks | None = None,
                 resume: ResumePlan | None = None, admission: Admission | None = None) -> None:
        self.workflow = workflow
        self.inventory = inventory
        self.registry = registry
        self.options = options
        self.run_id = run_id or new_run_id()
        self.redactor = redactor or Redactor(inventory.secrets)
        self.stop = threading.Event()
        self._notes_lock = threading.Lock()
        self.locks = locks
        self.resume = resume
        self.admission = admission
        self.report = RunReport(self.run_id, workflow.name, str(workflow.path),
                                check=options.check, notes=list(workflow.notes),
                                parent=resume.parent if resume else "")
        self.observer = RunEvents(hook, self.report, self.redactor)
        self.observer.on_error = self._listener_failed
        self._var_locations = workflow.var_locations()
        self.states = [self._state(h) for h in hosts]
        for hs in self.states:
            self.report.hosts[hs.host.name] = hs.report
        self.engines = EnginePool(check=options.check, inventory=inventory.hosts,
                                  redactor=self.redactor, extra_vars=options.extra_vars)
        self.check_engines = (EnginePool(check=True, inventory=inventory.hosts,
                                         redactor=self.redactor, extra_vars=options.extra_vars)
                              if resume else None)
        self.executor = StepExecutor(
            registry, ExecOptions(options.check, options.confirmed, self.run_id),
            self.observer, self.redactor, self.stop, self.engines, self.check_engines)
        if admission is not None:
            self.report.window = admission.describe()
            self.executor.cut_in = admission.seconds_to_cut

    def _state(self, host: Host) -> HostState:
        factory = self.registry.connection_factory(host.connection)

        def connect() -> Connection:
            if self.locks is not None:
                note = self.locks.take_host(host, lambda: factory(host, self.options.connect))
                if note:
                    self.observer.host_log(host.name, note)
            return factory(host, self.options.connect)

        session = HostSession(connect)
        return HostState(host, session, workflow_vars=self.workflow.vars,
                         var_locations=self._var_locations,
                         extra_vars=self.options.extra_vars, check=self.options.check,
                         run_id=self.run_id)

    def run(self) -> RunReport:
        """Run steps, always-steps and checks; never raises for host failures."""
        started = time.monotonic()
        self.report.started = time.time()
        self.observer.run_started(self.report, [hs.host.name for hs in self.states],
                                  len(self.workflow.steps) + len(self.workflow.always))
        pool = ThreadPoolExecutor(max_workers=max(1, self.options.forks),
                                  thread_name_prefix="opsrunner")
        try:
            if self.workflow.strategy == "rolling":
                self._rolling(pool)
            else:
                self._steps_then_always(pool, self.states)
            if (self.workflow.verify or self.workflow.profile) and not self.report.interrupted:
                self._guarded_verify()
        finally:
            pool.shutdown(wait=not self.report.interrupted, cancel_futures=True)
            if self.locks is not None:
                self.locks.release_all()
            for hs in self.states:
                hs.session.close()
            self.engines.close()
            if self.check_engines is not None:
                self.check_engines.close()
            self.report.duration = time.monotonic() - started
            self.observer.run_finished(self.report)
        return self.report

    def _rolling(self, pool: ThreadPoolExecutor) -> None:
        size = batch_size(self.workflow.batch, len(self.states))
        for first in range(0, len(self.states), size):
            batch = self.states[first:first + size]
            self._steps_then_always(pool, batch)
            if self.report.interrupted:
                return
            later = self.states[first + len(batch):]
            if later and self.admission is not None and (
                    self.admission.closed() or any(hs.deferred for hs in batch)):
                for hs in later:
                    hs.defer()
                self.report.notes.append(
                    f"rolling run stopped: the maintenance window {self.admission.opening.window} "
                    f"has no time for another batch; {len(later)} host(s) wait for the next one")
                return
            failed = sum(1 for hs in batch if hs.failed)
            if 100.0 * failed / len(batch) > self.workflow.max_fail_percentage:
                left = len(self.states) - first - len(batch)
                if left:
                    self.report.notes.append(
                        f"rolling run stopped: {failed} of {len(batch)} host(s) of the batch "
                        f"failed (max_fail_percentage {self.workflow.max_fail_percentage:g}); "
                        f"{left} host(s) not started")
                return

    def halt(self, reason: str) -> None:
        """Start no new step from now on (the always-steps still run); the run fails with
        ``reason``. Safe from any thread; only the first reason counts."""
        reason = self.redactor.text(reason)
        with self._notes_lock:
            if self.report.halted or self.report.interrupted:
                return
            self.report.halted = reason
            self.report.notes.append(reason)
        self.stop.set()
        self.observer.run_halted(reason)
        self.observer.host_log("*", f"{reason}: no new step starts; running always-steps")

    def _listener_failed(self, exc: Exception) -> None:
        """A run-event hook raised: the run halts (once), the always-steps still run."""
        reason = f"internal error: a run-event listener failed: {unexpected(exc)}"
        with self._notes_lock:
            if self.report.halted or self.report.interrupted:
                return
        self.halt(reason)

    def _steps_then_always(self, pool: ThreadPoolExecutor, states: list[HostState]) -> None:
        try:
            self._take_locks(pool, states)
            for step in self.workflow.steps:
                targets = self._admitted(step, [hs for hs in states
                                                if not hs.failed and not hs.deferred])
                if not targets or self.stop.is_set():
                    break
                for hs in targets:
                    hs.start()
                self._run_step(pool, step, targets, always=False)
        except KeyboardInterrupt:
            if not self.report.interrupted:
                self._interrupted()
        except Exception as exc:  # a bug in the runner or a hook: no new step, always-steps run
            self.halt(f"internal error: {unexpected(exc)}")
        self._always(pool, [hs for hs in states if hs.started])

    def _take_locks(self, pool: ThreadPoolExecutor, states: list[HostState]) -> None:
        if self.locks is None or self.stop.is_set():
            return
        wait([pool.submit(self._take_lock, hs) for hs in states])

    def _take_lock(self, hs: HostState) -> None:
        assert self.locks is not None
        try:
            note = self.locks.take(hs.host)
        except OpsrunnerError as exc:
            failure = str(exc)
        except Exception as exc:  # a broken lock folder or host must not crash the run
            failure = f"unexpected {type(exc).__name__}: {exc}"
        else:
            if note:
                self.observer.host_log(hs.host.name, note)
            return
        record = StepRecord(LOCK_STEP, "opsrunner.lock", "failed",
                            msg=self.redactor.text(failure))
        self.observer.step_finished(hs.host.name, record)
        hs.report.steps.append(record)
        hs.fail()

    def _admitted(self, step: Step, targets: list[HostState]) -> list[HostState]:
        """The hosts of ``targets`` the window admits ``step`` on; the others are deferred."""
        if self.admission is None or self.stop.is_set():
            return targets
        admitted = []
        for hs in targets:
            deferral = self.admission.defers(step, hs.host.name, self.workflow.always)
            if deferral is None:
                admitted.append(hs)
                continue
            record = StepRecord(step.name, step.task, "deferred", msg=deferral.message,
                                index=step.index, estimate=deferral.estimate or None)
            self.observer.step_finished(hs.host.name, record)
            hs.report.steps.append(record)
            hs.defer()
        return admitted

    def _prior(self, hs: HostState, step: Step, always: bool) -> Prior | None:
        if self.resume is None or always:
            return None
        return self.resume.prior(hs.host.name, step.index)

    def _always(self, pool: ThreadPoolExecutor, states: list[HostState]) -> None:
        reachable = [hs for hs in states if not hs.unreachable and not hs.locked_out]
        for hs in states:
            if hs.unreachable or hs.locked_out:
                why = "host locked by another run" if hs.locked_out else "host unreachable"
                for step in self.workflow.always:
                    hs.report.steps.append(StepRecord(step.name, step.task, "skipped",
                                                      msg=why, always=True, index=step.index))
        for step in self.workflow.always:
            try:
                self._run_step(pool, step, [hs for hs in reachable if not hs.unreachable],
                               always=True)
            except KeyboardInterrupt:
                self.report.interrupted = True
                raise
            except Exception as exc:  # the next always-step still runs
                reason = f"internal error in always-step {step.name!r}: {unexpected(exc)}"
                self.report.notes.append(self.redactor.text(reason))
                self.halt(reason)

    def _run_step(self, pool: ThreadPoolExecutor, step: Step, targets: list[HostState], *,
                  always: bool) -> None:
        if not targets:
            return
        if step.run_once:
            first = targets[0]
            self._finish(step, first, self.executor.execute(
                step, first, always=always, prior=self._prior(first, step, always)))
            for hs in targets[1:]:
                if step.register and step.register in first.registered:
                    hs.registered[step.register] = first.registered[step.register]
                record = replace(first.report.steps[-1], note="")
                record.msg = f"run once on {first.host.name}: {record.msg}".rstrip(": ")
                self.observer.step_finished(hs.host.name, record)
                self._finish(step, hs, record)
            return
        futures: dict[Future[StepRecord | None], HostState] = {}
        for hs in targets:
            futures[pool.submit(self._guarded_execute, step, hs, always)] = hs
        try:
            wait(futures)
        except KeyboardInterrupt:
            if always:
                raise
            self._interrupted()
            wait(futures)  # running steps finish; a second Ctrl-C propagates and aborts
            self._collect(step, futures)
            raise
        self._collect(step, futures)

    def _collect(self, step: Step, futures: dict[Future[StepRecord | None], HostState]) -> None:
        for fut, hs in futures.items():
            record = None if fut.cancelled() else fut.result()
            if record is not None:
                self._finish(step, hs, record)

    def _guarded_execute(self, step: Step, hs: HostState, always: bool) -> StepRecord | None:
        if self.stop.is_set() and not always:
            return None
        return self.executor.execute(step, hs, always=always, prior=self._prior(hs, step, always))

    def _finish(self, step: Step, hs: HostState, record: StepRecord) -> None:
        hs.report.steps.append(record)
        if record.note:
            with self._notes_lock:
                self.report.notes.append(f"{hs.host.name}: {record.note}")
        if record.status == "failed" and not record.ignored:
            hs.fail()

    def _interrupted(self) -> None:
        self.report.interrupted = True
        self.stop.set()
        from opsrunner.interrupts import last_signal

        self.observer.run_halted(f"interrupted by {last_signal()}")
        self.observer.host_log("*", "interrupted: running always-steps; Ctrl-C again aborts")

    def _guarded_verify(self) -> None:
        try:
            self._verify()
        except Exception as exc:  # the checks could not run: the hosts are not proved
            self.report.notes.append(f"checks could not run: {self.redactor.text(unexpected(exc))}")
            for hs in self.states:
                if hs.started and not hs.unreachable:
                    hs.fail()

    def _verify(self) -> None:
        if self.options.check:
            self.report.notes.append("verify skipped in check mode")
            return
        if not self.options.verify:
            return
        from opsrunner.verify import checks_context, run_checks

        targets = [hs for hs in self.states if hs.started and not hs.unreachable]
        if not targets:
            return
        if self.workflow.verify:
            results = run_checks(self.workflow.verify, [hs.host for hs in targets],
                                 host_vars={hs.host.name: checks_context(hs, self.inventory.hosts)
                                            for hs in targets},
                                 redactor=self.redactor)
            for hs in targets:
                hs.report.verify = results.get(hs.host.name, [])
        if self.workflow.profile is not None:
            self._post_change_controls(targets)
        for hs in targets:
            if any(c.status in ("failed", "error") for c in hs.report.verify):
                hs.fail()

    def _post_change_controls(self, targets: list[HostState]) -> None:
        """The profile's controls tagged with the workflow's file name, on the hosts that
        ran: each result becomes a check record ``<ID>: <title>`` of its host."""
        from opsrunner.compliance.load import load_profile
        from opsrunner.compliance.run import Selection, run_profile
        from opsrunner.errors import UsageError
        from opsrunner.verify import checks_context

        assert self.workflow.profile is not None
        profile = load_profile(self.workflow.profile)
        selection = Selection(tags=(self.workflow.path.stem,), extra=self.options.extra_vars,
                              only_hosts=frozenset(hs.host.name for hs in targets))
        try:
            report = run_profile(profile, self.inventory, selection, run_id=self.report.run_id,
                                 host_vars={hs.host.name: checks_context(hs, self.inventory.hosts)
                                            for hs in targets},
                                 redactor=self.redactor)
        except UsageError as exc:
            self.report.notes.append(f"profile {profile.name}: {exc.message}")
            return
        by_host = {hs.host.name: hs for hs in targets}
        for result in report.results:
            control = profile.controls[result.control]
            by_host[result.host].report.verify.append(CheckRecord(
                f"{control.id}: {control.title}", f"{profile.name}/{control.check.name}",
                result.status, result.message, result.duration, dict(result.evidence)))


def batch_size(batch: int | str, total: int) -> int:
    """Hosts per rolling batch: an int, or ``"N%"`` of ``total`` (at least 1)."""
    if isinstance(batch, str) and batch.endswith("%"):
        return max(1, math.floor(total * float(batch[:-1]) / 100))
    return max(1, int(batch))
