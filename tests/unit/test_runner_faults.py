"""Faults inside a run never escape it: any exception in a step or a hook fails that host or
halts the run, the always-steps run, the journal's last record carries the process's exit
code, secrets stay out of every line, and report paths are checked before the first step."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SECRET = "s3cr3t-Tok-9f2"

FAULTY = '''\
import sys

from opsrunner import Result, Task, TaskFailed, hookimpl


def faulty(task: Task, *, kind: str, text: str = "") -> Result:
    """Fail in the way ``kind`` names."""
    if kind == "overflow":
        raise OverflowError("timestamp out of range for platform time_t")
    if kind == "value":
        raise ValueError(f"bad token {text}")
    if kind == "exit":
        sys.exit(3)
    if kind == "memory":
        raise MemoryError()
    if kind == "failed":
        raise TaskFailed(f"refused: {text}")
    return Result(changed=True)


@hookimpl
def opsrunner_register_tasks(registry):
    registry.add_task(faulty)
'''

BROKEN_HOOK = '''\
from opsrunner import hookimpl


@hookimpl
def opsrunner_step_finished(report, host, record):
    if not record.always and record.name == "first":
        raise RuntimeError("the listener broke")
'''

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def plugins(tmp_path: Path) -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "faulty.py").write_text(FAULTY)
    return folder


def run(cli: Cli, tmp_path: Path, workflow: Path, inventory: Path, *extra: str,
        plugin_dir: Path | None = None) -> tuple[int, str, str, dict[str, Any]]:
    """Run in text mode; returns (code, stdout, stderr, the journal's last record)."""
    state = tmp_path / "state"
    more = ("--plugin-dir", str(plugin_dir)) if plugin_dir else ()
    code, out, err = cli("run", str(workflow), "-i", str(inventory), "--state-dir", str(state),
                         *more, *extra)
    journals = sorted((state / "runs").glob("*.jsonl"))
    last = json.loads(journals[-1].read_text().splitlines()[-1]) if journals else {}
    return code, out, err, last


def always_marker(tmp_path: Path) -> str:
    return f"touch {tmp_path}/always-{{{{ host.name }}}}"


@pytest.mark.parametrize(("step", "message"), [
    ('{name: s, task: command, with: {cmd: "true"}, when: "\'a\' is match(\'(\')"}',
     ("wf.yml:4:", "missing ), unterminated subpattern")),
    ('{name: s, task: command, with: {cmd: "echo {{ \'abcdef\' | truncate(1) }}"}}',
     ("wf.yml:4:", "expected length >= 3, got 1")),
    ('{name: s, task: command, with: {cmd: "{% macro f(n) %}{{ f(n) }}{% endmacro %}'
     '{{ f(1) }}"}}', ("wf.yml:4:", "recursion")),
    ("{name: s, task: faulty, with: {kind: overflow}}",
     ("unexpected OverflowError: timestamp out of range for platform time_t "
      "(at faulty.py:9)",)),
    ("{name: s, task: faulty, with: {kind: memory}}", ("unexpected MemoryError: no message",)),
    ("{name: s, task: faulty, with: {kind: exit}}",
     ("unexpected SystemExit: the task called exit(3)",)),
])
def test_any_exception_in_a_step_fails_the_host_and_the_always_steps_run(
        cli: Cli, local_inventory: Callable[..., Path], write_workflow: Callable[[str], Path],
        tmp_path: Path, plugins: Path, step: str, message: tuple[str, ...]) -> None:
    inv = local_inventory(("h1", "h2"))
    wf = write_workflow(f"""
        name: faults
        steps:
          - {step}
          - {{name: after, task: command, with: {{cmd: "true"}}}}
        always:
          - {{name: cleanup, task: command, with: {{cmd: "{always_marker(tmp_path)}"}}}}
    """)
    code, out, err, last = run(cli, tmp_path, wf, inv, "--output", "json", plugin_dir=plugins)
    assert code == 2, out + err
    for host in ("h1", "h2"):
        msg = json.loads(out)["hosts"][host]["steps"][0]["msg"]
        assert all(part in msg for part in message), msg
    assert "Traceback" not in out + err
    assert (tmp_path / "always-h1").exists() and (tmp_path / "always-h2").exists()
    assert last["event"] == "run_finished" and last["exit_code"] == 2 and last["ok"] is False


def test_a_broken_run_event_hook_halts_the_run_and_the_always_steps_still_run(
        cli: Cli, local_inventory: Callable[..., Path], write_workflow: Callable[[str], Path],
        tmp_path: Path, plugins: Path) -> None:
    (plugins / "listener.py").write_text(BROKEN_HOOK)
    inv = local_inventory(("h1",))
    wf = write_workflow(f"""
        name: hooks
        steps:
          - {{name: first, task: command, with: {{cmd: "true"}}}}
          - {{name: second, task: command, with: {{cmd: "touch {tmp_path}/second"}}}}
        always:
          - {{name: cleanup, task: command, with: {{cmd: "{always_marker(tmp_path)}"}}}}
    """)
    code, out, err, last = run(cli, tmp_path, wf, inv, plugin_dir=plugins)
    assert code == 2, out + err
    flat = " ".join((out + err).split())
    assert ("internal error: a run-event listener failed: unexpected RuntimeError: the "
            "listener broke") in flat
    assert "Traceback" not in out + err
    assert not (tmp_path / "second").exists()
    assert (tmp_path / "always-h1").exists()
    assert last["exit_code"] == 2 and last["halted"].startswith("internal error")


@pytest.mark.parametrize("kind", ["value", "failed"])
def test_secrets_in_a_task_s_failure_reach_no_line_of_output_or_journal(
        cli: Cli, local_inventory: Callable[..., Path], write_workflow: Callable[[str], Path],
        tmp_path: Path, plugins: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    monkeypatch.setenv("TOK", SECRET)
    monkeypatch.setenv("OPSRUNNER_TRACEBACK", "1")  # the traceback is redacted as well
    inv = local_inventory(("h1",), tok={"secret_env": "TOK"})
    wf = write_workflow(f"""
        name: secrets
        steps:
          - name: retried
            task: faulty
            retries: 1
            delay: 0
            with: {{kind: {kind}, text: "tok={{{{ tok }}}}"}}
    """)
    code, out, err, _ = run(cli, tmp_path, wf, inv, plugin_dir=plugins)
    assert code == 2
    assert "attempt 1/2 failed" in out + err and "tok=********" in " ".join((out + err).split())
    journal = next((tmp_path / "state" / "runs").glob("*.jsonl")).read_text()
    assert SECRET not in out + err + journal
    if kind == "value":
        assert "Traceback" in out + err  # asked for with OPSRUNNER_TRACEBACK, and redacted


def test_the_traceback_is_shown_only_when_asked_for(
        cli: Cli, local_inventory: Callable[..., Path], write_workflow: Callable[[str], Path],
        tmp_path: Path, plugins: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPSRUNNER_TRACEBACK", raising=False)
    inv = local_inventory(("h1",))
    wf = write_workflow("""
        name: quiet
        steps:
          - {name: s, task: faulty, with: {kind: value, text: x}}
    """)
    code, out, err, _ = run(cli, tmp_path, wf, inv, plugin_dir=plugins)
    assert code == 2 and "unexpected ValueError: bad token x (at faulty.py:" in out + err
    assert "Traceback" not in out + err


@pytest.mark.parametrize(("where", "problem"), [
    ("no/such/j.xml", "--junit {base}/no/such/j.xml: the folder {base}/no/such does not exist"),
    ("afile/j.xml", "--junit {base}/afile/j.xml: {base}/afile is not a folder"),
    ("adir", "Invalid value for '--junit': File '{base}/adir' is a directory."),
    ("/proc/j.xml", "--junit /proc/j.xml: cannot create a file in /proc:"),
])
def test_a_report_path_that_cannot_be_written_is_refused_before_the_first_step(
        cli: Cli, local_inventory: Callable[..., Path], write_workflow: Callable[[str], Path],
        tmp_path: Path, where: str, problem: str) -> None:
    base = tmp_path / "out"
    base.mkdir()
    (base / "afile").write_text("")
    (base / "adir").mkdir()
    target = where if where.startswith("/") else str(base / where)
    inv = local_inventory(("h1",))
    wf = write_workflow(f"""
        name: paths
        steps:
          - {{name: s, task: command, with: {{cmd: "touch {tmp_path}/ran"}}}}
        verify: []
    """)
    code, out, err, last = run(cli, tmp_path, wf, inv, "--junit", target)
    assert code == 1 and problem.format(base=base) in err, err
    assert not (tmp_path / "ran").exists() and last == {}
    assert "Traceback" not in out + err


def test_the_junit_report_is_replaced_whole(cli: Cli, local_inventory: Callable[..., Path],
                                            write_workflow: Callable[[str], Path],
                                            tmp_path: Path) -> None:
    target = tmp_path / "j.xml"
    target.write_text("old")
    target.chmod(0o640)
    inv = local_inventory(("h1",))
    wf = write_workflow("""
        name: whole
        steps:
          - {name: s, task: command, with: {cmd: "true"}}
    """)
    code, _, err, _ = run(cli, tmp_path, wf, inv, "--junit", str(target))
    assert code == 0, err
    assert target.read_text().startswith("<?xml") and target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".j.xml")] == []


def test_an_internal_error_outside_a_run_is_one_line_and_exit_1(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import opsrunner.cli.commands

    def broken(*_: object) -> int:
        raise KeyError("registry")

    monkeypatch.setattr(opsrunner.cli.commands, "list_plugins", broken)
    code, out, err = cli("plugins")
    assert code == 1 and "Traceback" not in out + err
    assert err.startswith("error: internal error, unexpected KeyError: 'registry' (at ")
    assert err.rstrip().endswith("please report it with the command line that caused it")


def test_a_huge_output_is_kept_by_its_tail_and_the_record_says_so(
        cli: Cli, local_inventory: Callable[..., Path], write_workflow: Callable[[str], Path],
        tmp_path: Path) -> None:
    inv = local_inventory(("h1",))
    wf = write_workflow("""
        name: chatty
        steps:
          - name: talk
            task: command
            register: talk
            with: {cmd: "head -c 3000000 /dev/zero | tr '\\\\0' a; echo THE-END"}
          - {name: after, task: command, with: {cmd: "echo {{ talk.stdout | length }}"}}
    """)
    code, out, err, _ = run(cli, tmp_path, wf, inv, "--output", "json",
                            "--junit", str(tmp_path / "j.xml"))
    assert code == 0, err
    steps = json.loads(out)["hosts"]["h1"]["steps"]
    assert len(steps[0]["stdout"].encode()) == 1 << 20 and steps[0]["stdout"].endswith("THE-END\n")
    assert "stdout was 3.0 MB; only its last 1 MiB is kept" in steps[0]["msg"]
    assert steps[1]["stdout"].strip() == "3000008"  # the next step sees the whole output
    journal = next((tmp_path / "state" / "runs").glob("*.jsonl"))
    assert journal.stat().st_size < 4 << 20  # stdout, registered stdout and its lines: 1 MiB each
    assert (tmp_path / "j.xml").stat().st_size < 2 << 20


@pytest.mark.parametrize(("where", "problem"), [
    ("afile/state", "cannot create the run journal in {base}/afile/state/runs: Not a directory; "
                    "choose another folder with --state-dir"),
    ("/proc/opsrunner-state", "cannot create the run journal in /proc/opsrunner-state/runs: "),
])
def test_a_state_folder_that_cannot_be_written_is_refused_before_the_first_step(
        cli: Cli, local_inventory: Callable[..., Path], write_workflow: Callable[[str], Path],
        tmp_path: Path, where: str, problem: str) -> None:
    base = tmp_path / "out"
    base.mkdir()
    (base / "afile").write_text("")
    state = where if where.startswith("/") else str(base / where)
    inv = local_inventory(("h1",))
    wf = write_workflow(f"""
        name: state
        steps:
          - {{name: s, task: command, with: {{cmd: "touch {tmp_path}/ran"}}}}
    """)
    code, out, err = cli("run", str(wf), "-i", str(inv), "--state-dir", state)
    assert code == 1 and problem.format(base=base) in err, err
    assert not (tmp_path / "ran").exists() and "Traceback" not in out + err


def test_a_workflow_variable_that_fails_to_render_is_located_at_its_value(
        cli: Cli, local_inventory: Callable[..., Path], write_workflow: Callable[[str], Path],
        tmp_path: Path) -> None:
    inv = local_inventory(("h1",))
    wf = write_workflow("""
        name: vars
        vars:
          fine: 1
          short: "{{ 'abcdef' | truncate(1) }}"
        steps:
          - {name: s, task: command, with: {cmd: "echo {{ short }}"}}
    """)
    code, out, err, _ = run(cli, tmp_path, wf, inv, "--output", "json")
    assert code == 2, err
    msg = json.loads(out)["hosts"]["h1"]["steps"][0]["msg"]
    assert msg.startswith(f"{wf}:5:10: ") and "expected length >= 3, got 1" in msg, msg
