"""``opsrunner run --resume RUN_ID``: what an earlier run left done, and what runs again.

The rules (also in the README, "Resuming a run"):

* The workflow must be the one that ran: the same steps (digests of what each step does). A
  changed workflow is refused, naming the steps that differ, unless ``--force``; then a
  changed or added step runs as new. Comments and formatting may change freely.
* A host is done when every step finished (ok, changed, skipped, or failed with
  ``on_error: continue``) and its checks did not fail: it is not run again.
* On the other hosts, per step: one that finished is skipped when its task cannot change
  anything by running again (a task that is not idempotent is trusted: it is not re-run);
  an idempotent task's step is first re-checked in check mode and runs only when it would
  change something. A step that failed or was interrupted runs again when its task is
  idempotent; otherwise the resume is refused before any change unless ``--yes``.
  Steps that never started run. Always-steps run as in any run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opsrunner.errors import UsageError
from opsrunner.registry import Registry
from opsrunner.state.journal_read import JournalFile
from opsrunner.workflow.digest import differences, workflow_record
from opsrunner.workflow.model import Workflow

FINISHED = frozenset({"ok", "changed", "skipped"})


@dataclass(frozen=True)
class Prior:
    """How a step ended on a host in the run being resumed (or the run before it)."""

    status: str
    """ok, changed, skipped, failed, or interrupted (started, never finished)."""
    run_id: str
    ignored: bool = False
    registered: Any = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED or (self.status == "failed" and self.ignored)


@dataclass
class ResumePlan:
    """The parent run, its hosts that are done, and each other host's step outcomes."""

    parent: str
    header: dict[str, Any]
    hosts: list[str]
    """The parent's hosts that run again, in its order."""
    done_hosts: dict[str, str] = field(default_factory=dict)
    """Host -> the run it finished in."""
    priors: dict[str, dict[int, Prior]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def prior(self, host: str, index: int) -> Prior | None:
        return self.priors.get(host, {}).get(index)


def plan_resume(journal: JournalFile, workflow: Workflow, registry: Registry, *,
                force: bool = False, confirmed: bool = False) -> ResumePlan:
    """The plan for resuming ``journal``'s run with ``workflow``; UsageError (nothing was
    changed) when the run cannot be resumed as asked."""
    run_id = journal.run_id
    header = journal.header
    recorded = header.get("workflow")
    if not isinstance(recorded, dict):
        raise UsageError(f"run {run_id} cannot be resumed: its journal {journal.path} has no "
                         f"run header of format opsrunner.journal/1 (an older opsrunner wrote it)")
    if (header.get("options") or {}).get("check"):
        raise UsageError(f"run {run_id} was a check run (--check) and changed nothing; "
                         f"there is nothing to resume: run the workflow without --resume")
    plan = ResumePlan(run_id, header, [], notes=list(journal.notes))
    current = workflow_record(workflow)
    changed = _changed_steps(recorded, current, plan, force=force)
    _read_priors(journal, plan, changed)
    for name, earlier in (header.get("done_hosts") or {}).items():
        plan.done_hosts[str(name)] = str(earlier)
    end = journal.end
    failed_hosts = {h for h, s in ((end or {}).get("hosts") or {}).items() if s == "failed"}
    for host in header.get("hosts") or []:
        priors = plan.priors.get(host, {})
        if (all(i in priors and priors[i].finished for i in range(len(workflow.steps)))
                and host not in failed_hosts and end is not None):
            plan.done_hosts[host] = run_id
        else:
            plan.hosts.append(host)
    if not confirmed:
        _refuse_unsafe_reruns(workflow, registry, plan)
    return plan


def _changed_steps(recorded: dict[str, Any], current: dict[str, Any], plan: ResumePlan, *,
                   force: bool) -> set[int]:
    """Indices of ``steps`` whose earlier outcome no longer counts (changed or added)."""
    if recorded.get("digest") == current["digest"]:
        return set()
    diffs = differences(recorded, current)
    if not diffs:
        plan.notes.append(f"{current['file']} changed since run {plan.parent}, but no step or "
                          f"setting did (comments or formatting)")
        return set()
    if not force:
        listing = "\n".join(f"  - {line}" for line in diffs)
        raise UsageError(f"run {plan.parent} cannot be resumed: {current['file']} changed since "
                         f"it ran:\n{listing}\nnothing was changed; --force resumes with the "
                         f"changed workflow (changed and added steps run as new)")
    plan.notes.append(f"resumed with a changed workflow (--force): {'; '.join(diffs)}")
    before = {s["index"]: s.get("digest") for s in recorded.get("steps", [])}
    return {s["index"] for s in current["steps"] if before.get(s["index"]) != s["digest"]}


def _read_priors(journal: JournalFile, plan: ResumePlan, changed: set[int]) -> None:
    for record in journal.records:
        event = record.get("event")
        if event not in ("step_started", "step_finished") or record.get("always"):
            continue
        index = record.get("index")
        host = record.get("host")
        if not isinstance(index, int) or index < 0 or index in changed or not isinstance(host, str):
            continue
        steps = plan.priors.setdefault(host, {})
        if event == "step_started":
            steps[index] = Prior("interrupted", journal.run_id)
            continue
        status = str(record.get("status", ""))
        if status == "deferred":  # never started: it runs when resumed
            continue
        origin = str(record.get("resumed_from") or journal.run_id)
        if record.get("resumed_from"):
            status = str(record.get("previous") or "ok")
        steps[index] = Prior(status, origin, bool(record.get("ignored")), record.get("registered"))


def _refuse_unsafe_reruns(workflow: Workflow, registry: Registry, plan: ResumePlan) -> None:
    problems = []
    for host in plan.hosts:
        for step in workflow.steps:
            prior = plan.prior(host, step.index)
            if prior is None or prior.finished:
                continue
            if not registry.task(step.task).rerun_safe(step.args):
                what = "failed" if prior.status == "failed" else "was interrupted"
                problems.append(f"  - {host}: step {step.index + 1} {step.name!r} (task "
                                f"{step.task}) {what} in run {prior.run_id}")
    if problems:
        raise UsageError(
            f"run {plan.parent} cannot be resumed as it is: these steps are not safe to run "
            f"twice (their task is not idempotent), and they may have done part of their "
            f"work:\n" + "\n".join(problems) + "\nnothing was changed; check those hosts by "
            "hand, then resume with --yes to run the steps again")
