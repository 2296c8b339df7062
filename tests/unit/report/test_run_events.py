"""The run-event hooks: a plugin from --plugin-dir sees the run's life, in order, like the
built-in display, journal and reports do."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

PLUGIN = '''
import json
import threading
from pathlib import Path

from opsrunner import hookimpl

LOG = Path(__file__).with_name("events.jsonl")
_lock = threading.Lock()


def _write(**record):
    with _lock, LOG.open("a") as fh:
        fh.write(json.dumps(record) + "\\n")


@hookimpl
def opsrunner_run_started(report, hosts, steps):
    _write(event="run_started", run_id=report.run_id, hosts=list(hosts), steps=steps)


@hookimpl
def opsrunner_step_started(host, step, always):
    _write(event="step_started", host=host, step=step, always=always)


@hookimpl
def opsrunner_step_finished(report, host, record):
    lines = next(Path(JOURNAL).glob(report.run_id + ".jsonl")).read_text().splitlines()
    journaled = any(e["event"] == "step_finished" and e["host"] == host
                    and e["step"] == record.name for e in map(json.loads, lines))
    _write(event="step_finished", host=host, step=record.name, status=record.status,
           journaled=journaled)


@hookimpl
def opsrunner_host_log(host, message):
    _write(event="host_log", host=host, message=message)


@hookimpl
def opsrunner_run_finished(report):
    _write(event="run_finished", run_id=report.run_id, exit_code=report.exit_code,
           hosts={name: h.status for name, h in report.hosts.items()})
'''


def _plugin(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "plugins"
    folder.mkdir()
    journal = tmp_path / "state"
    (folder / "recorder.py").write_text(f"JOURNAL = {str(journal / 'runs')!r}\n" + PLUGIN)
    return folder, journal


def _events(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]


def test_a_plugin_sees_every_event_of_the_run_in_order(local_inventory, write_workflow, cli,
                                                       tmp_path):
    folder, journal = _plugin(tmp_path)
    inv = local_inventory(("h1", "h2"))
    wf = write_workflow("""
        name: events
        steps:
          - {name: first, task: command, with: {cmd: "true"}}
          - name: retried
            task: command
            with: {cmd: "false"}
            retries: 1
            delay: 0
            on_error: continue
        always:
          - {name: cleanup, task: command, with: {cmd: "true"}}
    """)
    code, out, err = cli("run", str(wf), "-i", str(inv), "--plugin-dir", str(folder),
                         "--output", "json", "--state-dir", str(journal))
    assert code == 0, err
    events = _events(folder)
    assert events[0] == {"event": "run_started", "run_id": json.loads(out)["run_id"],
                         "hosts": ["h1", "h2"], "steps": 3}
    assert events[-1] == {"event": "run_finished", "run_id": json.loads(out)["run_id"],
                          "exit_code": 0, "hosts": {"h1": "ok", "h2": "ok"}}
    for host in ("h1", "h2"):
        mine = [e for e in events[1:-1] if e["host"] == host]
        assert [(e["event"], e.get("step")) for e in mine if e["event"] != "host_log"] == [
            ("step_started", "first"), ("step_finished", "first"),
            ("step_started", "retried"), ("step_finished", "retried"),
            ("step_started", "cleanup"), ("step_finished", "cleanup")]
        assert any(e["event"] == "host_log" and "attempt" in e["message"] for e in mine)
        # the journal (tryfirst) has the step before any other plugin hears of it
        assert all(e["journaled"] for e in mine if e["event"] == "step_finished")
        assert [e["status"] for e in mine if e["event"] == "step_finished"] == \
            ["changed", "failed", "changed"]


def test_run_finished_carries_the_failure_and_exit_code(local_inventory, write_workflow, cli,
                                                        tmp_path):
    folder, journal = _plugin(tmp_path)
    inv = local_inventory(("h1",))
    wf = write_workflow("""
        name: fails
        steps:
          - {name: bad, task: command, with: {cmd: "exit 3"}}
          - {name: never, task: command, with: {cmd: "true"}}
    """)
    code, _, _ = cli("run", str(wf), "-i", str(inv), "--plugin-dir", str(folder),
                     "--state-dir", str(journal))
    assert code == 2
    events = _events(folder)
    assert [e.get("step") for e in events if e["event"] == "step_started"] == ["bad"]
    assert events[-1]["exit_code"] == 2 and events[-1]["hosts"] == {"h1": "failed"}


def test_verify_tells_the_plugins_that_the_run_finished(local_inventory, write_workflow, cli,
                                                        tmp_path):
    folder, _ = _plugin(tmp_path)
    inv = local_inventory(("h1",))
    checks = tmp_path / "checks.py"
    checks.write_text(textwrap.dedent("""
        def test_root_exists(host):
            assert True
    """))
    wf = write_workflow(f"""
        name: verify only
        steps:
          - {{name: first, task: command, with: {{cmd: "true"}}}}
        verify: [{checks}]
    """)
    junit = tmp_path / "verify.xml"
    code, out, err = cli("verify", str(wf), "-i", str(inv), "--plugin-dir", str(folder),
                         "--output", "json", "--junit", str(junit))
    events = _events(folder)
    assert [e["event"] for e in events] == ["run_finished"]
    assert code == 0, err
    assert events[0]["exit_code"] == 0 and json.loads(out)["ok"] is True
    assert junit.exists()
