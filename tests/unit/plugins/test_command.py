"""The ``command`` task on a local host."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from opsrunner import TaskFailed
from opsrunner.registry import Registry
from opsrunner.testing import MakeTask
from opsrunner_plugins import command as command_plugin
from opsrunner_plugins.command import command


def test_runs_the_command_and_reports_its_output(make_task: MakeTask) -> None:
    res = command(make_task(), cmd="echo out; echo err >&2")
    assert (res.changed, res.failed, res.rc) == (True, False, 0)
    assert (res.stdout, res.stderr) == ("out\n", "err\n")


def test_exit_status_outside_rc_fails(make_task: MakeTask) -> None:
    res = command(make_task(), cmd="echo partial; exit 3")
    assert res.failed and res.rc == 3 and res.stdout == "partial\n"
    assert res.msg == "exit status 3 not in accepted [0]"


def test_rc_lists_the_accepted_statuses(make_task: MakeTask) -> None:
    assert not command(make_task(), cmd="exit 3", rc=[0, 3]).failed
    res = command(make_task(), cmd="exit 0", rc=[1])
    assert res.failed and res.msg == "exit status 0 not in accepted [1]"


def test_creates_skips_once_the_path_exists(make_task: MakeTask, tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    cmd = f"echo run >> {shlex.quote(str(tmp_path / 'etc/done'))}"
    first = command(make_task(), cmd=cmd, creates="/etc/done")
    second = command(make_task(), cmd=cmd, creates="/etc/done")
    assert first.changed and not second.changed and not second.failed
    assert second.msg == "not run: /etc/done exists (creates)"
    assert (tmp_path / "etc/done").read_text() == "run\n"


def test_removes_runs_only_while_the_path_exists(make_task: MakeTask, tmp_path: Path) -> None:
    target = tmp_path / "stale.lock"
    cmd = f"rm {shlex.quote(str(target))}"
    skipped = command(make_task(), cmd=cmd, removes="/stale.lock")
    assert not skipped.changed and skipped.msg == "not run: /stale.lock does not exist (removes)"
    target.write_text("")
    assert command(make_task(), cmd=cmd, removes="/stale.lock").changed
    assert not target.exists()


def test_relative_creates_is_under_chdir(make_task: MakeTask, tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "work/marker").write_text("")
    res = command(make_task(), cmd="exit 9", chdir="/work", creates="marker")
    assert not res.changed and not res.failed


def test_check_mode_does_not_run_but_evaluates_creates(make_task: MakeTask,
                                                       tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    cmd = f"touch {shlex.quote(str(marker))}"
    res = command(make_task(check=True), cmd=cmd)
    assert res.changed and res.msg == f"would run: {cmd}" and not marker.exists()
    marker.write_text("")
    res = command(make_task(check=True), cmd="false", creates="/ran")
    assert not res.changed and not res.failed


def test_env_reaches_the_command_but_no_argv(make_task: MakeTask) -> None:
    secret = "s3cr3t-value-4711"
    cmd = ('for f in /proc/[0-9]*/cmdline; do tr "\\000" " " < "$f" 2>/dev/null; echo; done; '
           'echo "env:$DB_PASSWORD"')
    res = command(make_task(), cmd=cmd, env={"DB_PASSWORD": secret})
    assert not res.failed
    assert f"env:{secret}" in res.stdout
    assert res.stdout.count(secret) == 1  # only the echo, in no process's argv


def test_invalid_env_name_fails(make_task: MakeTask) -> None:
    with pytest.raises(TaskFailed, match=r"invalid environment variable name 'A-B'"):
        command(make_task(), cmd="true", env={"A-B": "x"})


def test_chdir_is_mapped_and_quoted(make_task: MakeTask, tmp_path: Path) -> None:
    odd = "/dir with 'quotes' $(touch pwned)"
    (tmp_path / odd.lstrip("/")).mkdir()
    res = command(make_task(), cmd="pwd", chdir=odd)
    assert res.stdout == f"{tmp_path}{odd}\n"
    assert not list(tmp_path.rglob("pwned")) and not Path("pwned").exists()


def test_missing_chdir_fails_before_running(make_task: MakeTask) -> None:
    with pytest.raises(TaskFailed, match=r"^chdir: directory /nowhere does not exist$"):
        command(make_task(), cmd="true", chdir="/nowhere")


def test_creates_path_is_never_executed(make_task: MakeTask, tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    for path in (f"/x $(touch {pwned})", f"/x`touch {pwned}`", f"/x'; touch {pwned}; '"):
        command(make_task(), cmd="true", creates=path, removes=path)
    assert not pwned.exists()


def test_stdin_is_fed_to_the_command(make_task: MakeTask) -> None:
    assert command(make_task(), cmd="tr a-z A-Z", stdin="hello\n").stdout == "HELLO\n"


def test_registered_as_command_with_rc_default() -> None:
    registry = Registry()
    command_plugin.opsrunner_register_tasks(registry)
    spec = registry.task("command")
    assert spec.params["rc"].default == [0] and spec.params["cmd"].required
    assert spec.summary == "Run a shell command on the host (changed when it ran)."


def test_read_only_runs_in_check_mode_and_reports_ok(make_task, tmp_path):
    from opsrunner_plugins.command import command

    task = make_task(check=True)
    result = command(task, cmd="echo fact", read_only=True)
    assert result.status == "ok" and result.stdout.strip() == "fact"
    result = command(make_task(check=True), cmd=f"touch {tmp_path}/x")
    assert result.status == "changed" and not (tmp_path / "x").exists()
