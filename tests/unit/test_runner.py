"""The runner through the CLI on ``local`` hosts: strategies, failures, always, check mode."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from opsrunner.runner import batch_size


def statuses(doc: dict, host: str) -> list[str]:
    return [s["status"] for s in doc["hosts"][host]["steps"]]


def test_parallel_run_all_ok(local_inventory, write_workflow, run_json, tmp_path):
    inv = local_inventory()
    wf = write_workflow("""
        name: demo
        steps:
          - name: say hello
            task: command
            with: {cmd: "echo hello {{ host.name }}"}
            register: r
          - name: use registered
            task: command
            with: {cmd: "echo got {{ r.stdout | trim }} rc={{ r.rc }}"}
    """)
    code, doc = run_json(wf, inv)
    assert code == 0 and doc["ok"] is True
    for name in ("h1", "h2", "h3"):
        steps = doc["hosts"][name]["steps"]
        assert [s["status"] for s in steps] == ["changed", "changed"]
        assert steps[1]["stdout"].strip() == f"got hello {name} rc=0"
        assert set(steps[0]) >= {"name", "task", "status", "rc", "stdout", "stderr", "duration"}
        assert doc["hosts"][name]["status"] == "ok"


def test_failing_host_skips_rest_but_gets_always(local_inventory, write_workflow, run_json,
                                                  tmp_path):
    inv = local_inventory()
    marker = tmp_path / "always-{{ host.name }}"
    wf = write_workflow(f"""
        name: fail one
        steps:
          - name: fail on h2
            task: command
            with: {{cmd: "test {{{{ host.name }}}} != h2"}}
          - name: after
            task: command
            with: {{cmd: "true"}}
        always:
          - name: cleanup
            task: command
            with: {{cmd: "touch {marker}"}}
    """)
    code, doc = run_json(wf, inv)
    assert code == 2 and doc["ok"] is False
    assert doc["hosts"]["h2"]["status"] == "failed"
    assert statuses(doc, "h2") == ["failed", "changed"]
    assert statuses(doc, "h1") == ["changed", "changed", "changed"]
    for name in ("h1", "h2", "h3"):
        assert (tmp_path / f"always-{name}").exists()
    assert "exit status 1" in doc["hosts"]["h2"]["steps"][0]["msg"]


def test_on_error_continue_keeps_host_ok(local_inventory, write_workflow, run_json):
    inv = local_inventory(("h1",))
    wf = write_workflow("""
        name: tolerate
        steps:
          - {name: may fail, task: command, with: {cmd: "exit 3"}, on_error: continue}
          - {name: next, task: command, with: {cmd: "true"}}
    """)
    code, doc = run_json(wf, inv)
    assert code == 0
    assert statuses(doc, "h1") == ["failed", "changed"]
    assert doc["hosts"]["h1"]["steps"][0]["ignored"] is True


def test_when_and_check_mode_change_nothing(local_inventory, write_workflow, run_json, tmp_path):
    inv = local_inventory(("h1", "h2"))
    target = tmp_path / "made-by-run"
    wf = write_workflow(f"""
        name: check
        steps:
          - name: only h1
            task: command
            with: {{cmd: "touch {target}"}}
            when: host.name == "h1"
    """)
    code, doc = run_json(wf, inv, "--check")
    assert code == 0 and doc["check"] is True
    assert statuses(doc, "h1") == ["changed"]
    assert statuses(doc, "h2") == ["skipped"]
    assert not target.exists()
    code, doc = run_json(wf, inv)
    assert target.exists()


def test_retries_until_success(local_inventory, write_workflow, run_json, tmp_path):
    inv = local_inventory(("h1",))
    counter = tmp_path / "count"
    wf = write_workflow(f"""
        name: retry
        steps:
          - name: third time lucky
            task: command
            with: {{cmd: "echo x >> {counter}; test $(wc -l < {counter}) -ge 3"}}
            retries: 4
            delay: 0
    """)
    code, _doc = run_json(wf, inv)
    assert code == 0
    assert counter.read_text().count("x") == 3


def test_retries_exhausted_fail(local_inventory, write_workflow, run_json, tmp_path):
    inv = local_inventory(("h1",))
    counter = tmp_path / "count"
    wf = write_workflow(f"""
        name: retry
        steps:
          - {{name: never, task: command, with: {{cmd: "echo x >> {counter}; false"}},
             retries: 2, delay: 0}}
    """)
    code, _doc = run_json(wf, inv)
    assert code == 2
    assert counter.read_text().count("x") == 3


def test_step_timeout_fails_host(local_inventory, write_workflow, run_json):
    inv = local_inventory(("h1",))
    wf = write_workflow("""
        name: slow
        steps:
          - {name: too slow, task: command, with: {cmd: "sleep 30"}, timeout: 1}
        always:
          - {name: still runs, task: command, with: {cmd: "true"}}
    """)
    started = time.monotonic()
    code, doc = run_json(wf, inv)
    assert time.monotonic() - started < 20  # the sleep was killed, not waited for
    assert code == 2
    step = doc["hosts"]["h1"]["steps"][0]
    assert step["status"] == "failed" and "timed out" in step["msg"]
    assert statuses(doc, "h1") == ["failed", "changed"]


def test_run_once_shares_result(local_inventory, write_workflow, run_json, tmp_path):
    inv = local_inventory()
    log = tmp_path / "once"
    wf = write_workflow(f"""
        name: once
        steps:
          - {{name: once, task: command, with: {{cmd: "echo ran >> {log}; echo shared"}},
             run_once: true, register: o}}
          - {{name: see, task: command, with: {{cmd: "echo {{{{ o.stdout | trim }}}}"}}}}
    """)
    code, doc = run_json(wf, inv)
    assert code == 0
    assert log.read_text().count("ran") == 1
    for name in ("h1", "h2", "h3"):
        assert doc["hosts"][name]["steps"][1]["stdout"].strip() == "shared"


def test_rolling_stops_after_failed_batch(local_inventory, write_workflow, run_json, tmp_path):
    inv = local_inventory(("h1", "h2", "h3", "h4"))
    wf = write_workflow("""
        name: rolling
        strategy: rolling
        batch: 1
        max_fail_percentage: 0
        steps:
          - {name: fail on h2, task: command, with: {cmd: "test {{ host.name }} != h2"}}
        always:
          - {name: per batch, task: command, with: {cmd: "true"}}
    """)
    code, doc = run_json(wf, inv)
    assert code == 2
    assert [doc["hosts"][h]["status"] for h in ("h1", "h2", "h3", "h4")] == \
        ["ok", "failed", "skipped", "skipped"]
    assert statuses(doc, "h3") == []
    assert any("rolling run stopped" in n for n in doc["notes"])


def test_rolling_batches_in_order(local_inventory, write_workflow, run_json, tmp_path):
    inv = local_inventory(("h1", "h2", "h3", "h4"))
    log = tmp_path / "order"
    wf = write_workflow(f"""
        name: rolling
        strategy: rolling
        batch: 2
        steps:
          - {{name: step, task: command, with: {{cmd: "echo step-{{{{ host.name }}}} >> {log}"}}}}
        always:
          - {{name: always, task: command, with: {{cmd: "echo always-{{{{ host.name }}}} >> {log}"}}}}
    """)
    code, _ = run_json(wf, inv)
    assert code == 0
    lines = log.read_text().split()
    # each batch finishes its always-steps before the next batch starts
    assert set(lines[:4]) == {"step-h1", "step-h2", "always-h1", "always-h2"}
    assert set(lines[4:]) == {"step-h3", "step-h4", "always-h3", "always-h4"}


def test_batch_size():
    assert batch_size(2, 10) == 2
    assert batch_size("25%", 10) == 2
    assert batch_size("1%", 10) == 1


def test_journal_written_and_redacted(local_inventory, write_workflow, cli, tmp_path,
                                      monkeypatch):
    monkeypatch.setenv("OPSR_TEST_SECRET", "s3cr3t-value-42")
    inv = local_inventory(("h1",), db_password={"secret_env": "OPSR_TEST_SECRET"})
    wf = write_workflow("""
        name: secret
        steps:
          - name: leak attempt
            task: command
            with:
              cmd: 'echo "pw=$DBPW"'
              env: {DBPW: "{{ db_password }}"}
    """)
    state = tmp_path / "state"
    journal = state / "runs"
    code, out, err = cli("run", str(wf), "-i", str(inv), "--output", "json",
                         "--state-dir", str(state))
    assert code == 0
    assert "s3cr3t-value-42" not in out + err
    assert "pw=********" in out
    files = list(journal.glob("*.jsonl"))
    assert len(files) == 1
    assert oct(files[0].stat().st_mode & 0o777) == "0o600"
    text = files[0].read_text()
    assert "s3cr3t-value-42" not in text
    events = [json.loads(line)["event"] for line in text.splitlines()]
    assert events[0] == "run_started" and events[-1] == "run_finished"


def test_junit_output(local_inventory, write_workflow, cli, tmp_path):
    inv = local_inventory(("h1",))
    wf = write_workflow("""
        name: junit
        steps:
          - {name: ok, task: command, with: {cmd: "true"}}
          - {name: bad, task: command, with: {cmd: "false"}}
    """)
    out = tmp_path / "report.xml"
    code, _, _ = cli("run", str(wf), "-i", str(inv), "--junit", str(out),
                     "--state-dir", str(tmp_path / "j"))
    assert code == 2
    import xml.etree.ElementTree as ET

    suite = ET.parse(out).getroot().find("testsuite")
    assert suite is not None and suite.get("name") == "h1"
    assert suite.get("tests") == "2" and suite.get("failures") == "1"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_runs_always_steps_and_exits_130(local_inventory, write_workflow,
                                                           tmp_path, signum):
    inv = local_inventory(("h1",))
    started = tmp_path / "started"
    cleaned = tmp_path / "cleaned"
    wf = write_workflow(f"""
        name: interrupt me
        steps:
          - {{name: long, task: command, with: {{cmd: "touch {started}; sleep 3"}}}}
          - {{name: never, task: command, with: {{cmd: "touch {tmp_path}/never"}}}}
        always:
          - {{name: restart services, task: command, with: {{cmd: "touch {cleaned}"}}}}
    """)
    proc = subprocess.Popen([sys.executable, "-m", "opsrunner.cli", "run", str(wf), "-i",
                             str(inv), "--output", "json", "--state-dir", str(tmp_path / "j")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    deadline = time.monotonic() + 20
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert cleaned.exists()
    assert not (tmp_path / "never").exists()
    doc = json.loads(out)
    assert doc["interrupted"] is True


@pytest.mark.parametrize("forks", ["1", "3"])
def test_forks_option(local_inventory, write_workflow, run_json, forks):
    inv = local_inventory()
    wf = write_workflow("""
        name: forks
        steps: [{name: s, task: command, with: {cmd: "true"}}]
    """)
    code, doc = run_json(wf, inv, "--forks", forks)
    assert code == 0 and len(doc["hosts"]) == 3


def test_no_host_matches_is_usage_error(local_inventory, write_workflow, cli):
    inv = local_inventory(("h1",))
    wf = write_workflow("""
        name: none
        hosts: "nothing*"
        steps: [{name: s, task: command, with: {cmd: "true"}}]
    """)
    code, _out, err = cli("run", str(wf), "-i", str(inv))
    assert code == 1
    assert "no host matches" in err


def test_env_not_leaked_into_process_list(local_inventory, write_workflow, run_json):
    inv = local_inventory(("h1",))
    wf = write_workflow("""
        name: env
        steps:
          - name: look at own argv
            task: command
            with:
              cmd: 'cat /proc/$$/cmdline | tr "\\0" " "; echo; echo "$TOKEN" | wc -c'
              env: {TOKEN: "tok-9f8e7d"}
    """)
    code, doc = run_json(wf, inv)
    assert code == 0
    out = doc["hosts"]["h1"]["steps"][0]["stdout"]
    assert "tok-9f8e7d" not in out


def test_module_entry_runs():
    # `python -m opsrunner.cli --help` works (used by the Ctrl-C test)
    proc = subprocess.run([sys.executable, "-m", "opsrunner.cli", "--help"],
                          capture_output=True, text=True, env={**os.environ})
    assert proc.returncode == 0 and "Exit codes" in proc.stdout


def test_task_notes_reach_the_run_summary(local_inventory, write_workflow, run_json, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "noting.py").write_text(
        "from opsrunner import Result, Task, hookimpl\n\n"
        "def noting(task: Task, *, text: str) -> Result:\n"
        "    '''Leave a note for the summary.'''\n"
        "    return Result(changed=True, note=text)\n\n"
        "@hookimpl\n"
        "def opsrunner_register_tasks(registry):\n"
        "    registry.add_task(noting)\n")
    inv = local_inventory(("h1", "h2"))
    wf = write_workflow("""
        name: notes
        steps:
          - {name: note, task: noting, with: {text: "backup of {{ host.name }} is from 03:00"}}
          - {name: once, task: noting, with: {text: "said once"}, run_once: true}
    """)
    code, doc = run_json(wf, inv, "--plugin-dir", str(plugins))
    assert code == 0
    assert sorted(doc["notes"]) == ["h1: backup of h1 is from 03:00", "h1: said once",
                                    "h2: backup of h2 is from 03:00"]
    assert doc["hosts"]["h1"]["steps"][0]["note"] == "backup of h1 is from 03:00"


def test_sighup_from_a_dropped_terminal_runs_always_steps_and_journals_the_end(
        local_inventory, write_workflow, tmp_path):
    """The admin's SSH session to the control node drops: the terminal is gone (writes to it
    fail) and SIGHUP arrives. The run ends as after Ctrl-C, and the journal says so."""
    import pty

    inv = local_inventory(("h1",))
    started, cleaned = tmp_path / "started", tmp_path / "cleaned"
    wf = write_workflow(f"""
        name: hang up
        steps:
          - {{name: long, task: command, with: {{cmd: "touch {started}; sleep 2"}}}}
          - {{name: never, task: command, with: {{cmd: "touch {tmp_path}/never"}}}}
        always:
          - {{name: restart services, task: command, with: {{cmd: "touch {cleaned}"}}}}
    """)
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "opsrunner.cli", "run", str(wf), "-i",
                             str(inv), "--state-dir", str(tmp_path / "j")],
                            stdin=slave, stdout=slave, stderr=slave, cwd=tmp_path)
    os.close(slave)
    deadline = time.monotonic() + 20
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists()
    os.close(master)  # the terminal is gone: writes to it now fail
    proc.send_signal(signal.SIGHUP)
    assert proc.wait(timeout=30) == 130
    assert cleaned.exists() and not (tmp_path / "never").exists()
    journal = next((tmp_path / "j" / "runs").glob("*.jsonl")).read_text().splitlines()
    events = [json.loads(line) for line in journal]
    assert any(e["event"] == "halted" and "SIGHUP" in e["reason"] for e in events)
    last = events[-1]
    assert last["event"] == "run_finished" and last["interrupted"] is True
    assert last["exit_code"] == 130
