"""The runner in an open maintenance window (real, short): deferral before a step, the cut at
the close plus drain grace, always-steps, rolling batches."""

from __future__ import annotations

import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from opsrunner.inventory import load_inventory
from opsrunner.plugins import load_registry
from opsrunner.report import EXIT_DEFERRED, EXIT_FAILED
from opsrunner.runner import Runner, RunOptions
from opsrunner.stepexec import CUT_MESSAGE
from opsrunner.windows.admission import Admission, Estimator
from opsrunner.windows.model import Opening
from opsrunner.workflow import load_workflow


def _run(tmp_path: Path, inventory: Path, text: str, *, closes_in: float, grace: float = 1.0):
    registry = load_registry(())
    path = tmp_path / "wf.yml"
    path.write_text(textwrap.dedent(text))
    workflow = load_workflow(path, registry)
    inv = load_inventory(str(inventory), registry)
    now = datetime.now(ZoneInfo("Europe/Berlin"))
    closes = now + timedelta(seconds=closes_in)
    opening = Opening("w", now - timedelta(minutes=1), closes, now + timedelta(minutes=14),
                      closes + timedelta(seconds=grace))
    admission = Admission(opening, Estimator(), lambda task: registry.task(task).reserve)
    runner = Runner(workflow, inv, list(inv.hosts.values()), registry, RunOptions(),
                    admission=admission)
    return runner.run()


def test_a_step_running_past_the_close_and_grace_is_cut_and_the_always_steps_run(
        local_inventory, tmp_path):
    inv = local_inventory(("h1",))
    started = time.monotonic()
    report = _run(tmp_path, inv, f"""
        name: long
        steps:
          - {{name: long, task: command, with: {{cmd: "sleep 60"}}}}
          - {{name: never, task: command, with: {{cmd: "touch {tmp_path}/never"}}}}
        always:
          - {{name: cleanup, task: command, with: {{cmd: "touch {tmp_path}/cleanup"}}}}
    """, closes_in=1.0, grace=1.0)
    assert time.monotonic() - started < 20
    long, cleanup = report.hosts["h1"].steps
    assert long.status == "failed" and long.msg.startswith(CUT_MESSAGE)
    assert cleanup.status == "changed" and (tmp_path / "cleanup").exists()
    assert not (tmp_path / "never").exists()
    assert report.exit_code == EXIT_FAILED
    assert report.window is not None and report.window["name"] == "w"


def test_a_step_that_cannot_end_in_time_defers_the_host_after_it_started(local_inventory,
                                                                          tmp_path):
    inv = local_inventory(("h1", "h2"))
    report = _run(tmp_path, inv, f"""
        name: defer
        steps:
          - {{name: quick, task: command, with: {{cmd: "true"}}, estimate: 1}}
          - {{name: slow, task: command, with: {{cmd: "touch {tmp_path}/slow"}}, estimate: 2h}}
        always:
          - {{name: cleanup, task: command, with: {{cmd: "echo cleanup"}}}}
    """, closes_in=600)
    for host in ("h1", "h2"):
        hr = report.hosts[host]
        assert hr.status == "deferred"
        assert [(s.name, s.status) for s in hr.steps] == [
            ("quick", "changed"), ("slow", "deferred"), ("cleanup", "changed")]
        assert hr.steps[1].estimate == 7200.0
    assert not (tmp_path / "slow").exists()
    assert report.exit_code == EXIT_DEFERRED and not report.ok


def test_a_host_deferred_before_its_first_step_runs_nothing(local_inventory, tmp_path):
    inv = local_inventory(("h1",))
    report = _run(tmp_path, inv, f"""
        name: too long
        steps:
          - {{name: slow, task: command, with: {{cmd: "touch {tmp_path}/slow"}}, estimate: 2h}}
        always:
          - {{name: cleanup, task: command, with: {{cmd: "touch {tmp_path}/cleanup"}}}}
    """, closes_in=600)
    assert [(s.name, s.status) for s in report.hosts["h1"].steps] == [("slow", "deferred")]
    assert not (tmp_path / "cleanup").exists()


def test_a_rolling_run_starts_no_batch_after_one_with_a_deferred_host(local_inventory,
                                                                       tmp_path):
    inv = local_inventory(("h1", "h2", "h3"))
    report = _run(tmp_path, inv, """
        name: rolling
        strategy: rolling
        batch: 1
        steps:
          - name: work
            task: command
            with: {cmd: "true"}
            estimate: 2h
    """, closes_in=600)
    assert [hr.status for hr in report.hosts.values()] == ["deferred", "deferred", "deferred"]
    assert report.hosts["h2"].steps == [] and report.hosts["h3"].steps == []
    assert any("rolling run stopped" in note for note in report.notes)
