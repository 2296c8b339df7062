"""Planning ``--resume`` from a journal: done hosts, priors, refusals."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from opsrunner.errors import UsageError
from opsrunner.plugins import load_registry
from opsrunner.registry import Registry
from opsrunner.report.journal import SCHEMA, Journal
from opsrunner.secrets import Redactor
from opsrunner.state.journal_read import read_journal
from opsrunner.state.resume import plan_resume
from opsrunner.workflow import Workflow, load_workflow
from opsrunner.workflow.digest import workflow_record

WORKFLOW = """\
name: three steps
steps:
  - name: write
    task: copy
    with: {dest: /tmp/x, content: "x"}
  - name: plain command
    task: command
    with: {cmd: "echo once >> /tmp/log"}
  - name: guarded command
    task: command
    with: {cmd: "touch /tmp/done", creates: /tmp/done}
"""


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(())


def _workflow(tmp_path: Path, registry: Registry, text: str = WORKFLOW) -> Workflow:
    path = tmp_path / "wf.yml"
    path.write_text(textwrap.dedent(text))
    return load_workflow(path, registry)


def _journal(tmp_path: Path, workflow: Workflow, events: list[tuple[str, dict[str, Any]]], *,
             finished: dict[str, str] | None = None, **header: Any) -> Path:
    journal = Journal(tmp_path / "runs", "20261203T010000Z-7-aaaa", Redactor(set()))
    journal.begin({"run_id": "20261203T010000Z-7-aaaa", "schema": SCHEMA,
                   "workflow": workflow_record(workflow), "hosts": ["h1", "h2"],
                   "options": {"check": False, "extra_vars": []}, **header})
    for event, fields in events:
        journal.write(event, **fields)
    if finished is not None:
        journal.write("run_finished", hosts=finished)
    journal.close()
    return journal.path


def _done(host: str, index: int, status: str = "ok", **extra: Any) -> tuple[str, dict[str, Any]]:
    return "step_finished", {"host": host, "index": index, "status": status, "always": False,
                             **extra}


def _started(host: str, index: int) -> tuple[str, dict[str, Any]]:
    return "step_started", {"host": host, "index": index, "always": False}


def test_a_host_with_every_step_finished_is_done_the_other_keeps_its_priors(tmp_path, registry):
    wf = _workflow(tmp_path, registry)
    events = [_started("h1", 0), _done("h1", 0, "changed"), _started("h2", 0), _done("h2", 0),
              _started("h1", 1), _done("h1", 1, "changed", registered={"rc": 0}),
              _started("h2", 1), _done("h2", 1, "failed"),
              _started("h1", 2), _done("h1", 2, "skipped")]
    path = _journal(tmp_path, wf, events, finished={"h1": "ok", "h2": "failed"})
    with pytest.raises(UsageError) as refused:
        plan_resume(read_journal(path), wf, registry)
    assert "h2: step 2 'plain command' (task command) failed in run" in str(refused.value)
    assert "--yes" in str(refused.value) and "nothing was changed" in str(refused.value)
    plan = plan_resume(read_journal(path), wf, registry, confirmed=True)
    assert plan.done_hosts == {"h1": "20261203T010000Z-7-aaaa"}
    assert plan.hosts == ["h2"]
    first = plan.prior("h2", 0)
    assert first is not None and first.finished and first.status == "ok"
    second = plan.prior("h2", 1)
    assert second is not None and not second.finished
    assert plan.prior("h2", 2) is None


def test_an_interrupted_idempotent_step_needs_no_confirmation(tmp_path, registry):
    wf = _workflow(tmp_path, registry)
    events = [_started("h1", 0), _done("h1", 0), _started("h1", 1), _done("h1", 1),
              _started("h1", 2)]
    plan = plan_resume(read_journal(_journal(tmp_path, wf, events)), wf, registry)
    assert plan.hosts == ["h1", "h2"]  # killed: no run_finished, nobody is done
    prior = plan.prior("h1", 2)
    assert prior is not None and prior.status == "interrupted"


def test_a_killed_run_leaves_no_host_done_even_with_all_steps_finished(tmp_path, registry):
    wf = _workflow(tmp_path, registry)
    events = [e for i in range(3) for e in (_started("h1", i), _done("h1", i))]
    plan = plan_resume(read_journal(_journal(tmp_path, wf, events)), wf, registry)
    assert plan.hosts == ["h1", "h2"] and plan.done_hosts == {}


def test_a_changed_step_is_refused_and_named_force_runs_it_as_new(tmp_path, registry):
    wf = _workflow(tmp_path, registry)
    events = [_started("h1", 0), _done("h1", 0), _started("h1", 1), _done("h1", 1)]
    path = _journal(tmp_path, wf, events)
    changed = _workflow(tmp_path, registry, WORKFLOW.replace("echo once", "echo twice")
                        + "  - {name: added, task: command, with: {cmd: 'true'}}\n")
    with pytest.raises(UsageError) as refused:
        plan_resume(read_journal(path), changed, registry)
    text = str(refused.value)
    assert "steps[2] 'plain command': changed" in text
    assert "steps[4] 'added': added" in text
    assert "steps[1]" not in text and "--force" in text
    plan = plan_resume(read_journal(path), changed, registry, force=True)
    assert plan.prior("h1", 0) is not None and plan.prior("h1", 1) is None
    assert any("--force" in note for note in plan.notes)


def test_comments_and_formatting_may_change(tmp_path, registry):
    wf = _workflow(tmp_path, registry)
    path = _journal(tmp_path, wf, [_started("h1", 0), _done("h1", 0)])
    reformatted = _workflow(tmp_path, registry, "# reviewed by the night shift\n" + WORKFLOW)
    plan = plan_resume(read_journal(path), reformatted, registry)
    assert plan.prior("h1", 0) is not None
    assert any("comments or formatting" in note for note in plan.notes)


def test_a_check_run_and_an_old_journal_cannot_be_resumed(tmp_path, registry):
    wf = _workflow(tmp_path, registry)
    path = _journal(tmp_path, wf, [], options={"check": True})
    with pytest.raises(UsageError, match="was a check run"):
        plan_resume(read_journal(path), wf, registry)
    old = tmp_path / "old.jsonl"
    old.write_text('{"ts": "2026-01-01T00:00:00Z", "event": "run_started", "workflow": "x"}\n')
    with pytest.raises(UsageError, match="older opsrunner"):
        plan_resume(read_journal(old), wf, registry)


def test_steps_inherited_from_a_grandparent_keep_their_status_and_origin(tmp_path, registry):
    wf = _workflow(tmp_path, registry)
    events = [_started("h1", 0),
              _done("h1", 0, "skipped", resumed_from="20261202T000000Z-1-0000",
                    previous="changed", registered={"rc": 0})]
    plan = plan_resume(read_journal(_journal(tmp_path, wf, events)), wf, registry)
    prior = plan.prior("h1", 0)
    assert prior is not None
    assert (prior.status, prior.run_id, prior.registered) == (
        "changed", "20261202T000000Z-1-0000", {"rc": 0})


def test_idempotence_of_the_generic_tasks(registry):
    command = registry.task("command")
    assert not command.rerun_safe({"cmd": "x"})
    assert command.rerun_safe({"cmd": "x", "creates": "/a"})
    assert command.rerun_safe({"cmd": "x", "read_only": True})
    for name in ("copy", "template", "file", "lineinfile", "service", "vacuum", "hsts"):
        assert registry.task(name).rerun_safe({}), name
    for name in ("engine_restore", "seal_template", "api.event"):
        assert not registry.task(name).rerun_safe({}), name
    snapshot = registry.task("api.snapshot")
    assert snapshot.rerun_safe({"action": "create"})
    assert not snapshot.rerun_safe({"action": "restore"})
