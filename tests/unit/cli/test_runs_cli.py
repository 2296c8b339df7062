"""``opsrunner runs``, ``runs show`` and ``runs prune``: text and JSON, notes, errors, and the
history of real runs on local hosts (a failed run, its resume, both linked)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from opsrunner.cli import runs as runs_cli
from opsrunner.state import STATE_ENV, StateDir, history
from opsrunner.state.history import step_durations
from tests.unit.state.test_history import (
    finished,
    full,
    run_finished,
    started,
    step,
    write_old_run,
    write_run,
)

PARENT = "20261203T010000Z-10-aaaa"
CHILD = "20261203T020000Z-11-bbbb"
KILLED = "20261203T030000Z-12-cccc"
RUNNING = "20261203T040000Z-13-dddd"


@pytest.fixture
def state(tmp_path: Path) -> StateDir:
    return StateDir(tmp_path / "state")


@pytest.fixture
def history_runs(state: StateDir) -> StateDir:
    """A failed run, its resume (ok), a killed run with a torn last line, a running one, and an
    old-format one."""
    check = {"name": "test_up", "file": "checks/up.py", "status": "passed", "message": "",
             "duration": 0.2}
    write_run(state, PARENT, [*full("h1", "ok", "changed", "ok"),
                              *step("h2", 0, "failed", msg="exit status 1"),
                              *step("h2", 0, "ok", always=True),
                              ("log", {"host": "*", "message": "checks skipped"}),
                              run_finished({"h1": "ok", "h2": "failed"}, duration=75.0)])
    write_run(state, CHILD, [
        started("h2", 0), finished("h2", 0, "skipped", resumed_from=PARENT, previous="failed",
                                   msg=f"finished failed in run {PARENT} (not run again)"),
        *step("h2", 1, "changed"), *step("h2", 0, "ok", always=True),
        ("log", {"host": "h2", "message": "step1: attempt 1/2 failed"}),
        run_finished({"h2": "ok"}, verify={"h2": [check]}, notes=["left out by --limit: h3"])],
        hosts=("h2",), parent=PARENT, done={"h1": PARENT})
    write_run(state, KILLED, [*step("h1", 0, "ok"), started("h1", 1)], torn=True,
              hosts=("h1",), name="Back up the engine", file="/srv/workflows/backup.yml")
    write_run(state, RUNNING, [started("h1", 0)], hosts=("h1",), pid=os.getpid(), check=True)
    write_old_run(state, "20261102T100000Z-77-0ld0")
    return state


def _json(cli, *args: str) -> dict:
    code, out, err = cli(*args, "--output", "json")
    assert code == 0, err
    return json.loads(out)


def test_the_cli_spells_the_history_constants_alike():
    assert runs_cli.ENDED == history.ENDED
    assert runs_cli.STATE_ENV == STATE_ENV


def test_help_of_runs_imports_neither_rich_nor_the_history():
    code = textwrap.dedent("""
        import sys
        from click.testing import CliRunner
        from opsrunner.cli import main
        for args in (["--help"], ["runs", "--help"], ["runs", "prune", "--help"]):
            r = CliRunner().invoke(main, args)
            assert r.exit_code == 0, r.output
        print(",".join(m for m in ("rich", "opsrunner.state.history") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_no_runs_recorded(cli, tmp_path):
    missing = tmp_path / "nowhere"
    code, out, err = cli("runs", "--state-dir", str(missing))
    assert (code, out.strip(), err) == (0, f"no runs recorded in {missing / 'runs'}", "")
    (missing / "runs").mkdir(parents=True)
    assert cli("runs", "--state-dir", str(missing))[:2] == (
        0, f"no runs recorded in {missing / 'runs'}\n")
    assert _json(cli, "runs", "--state-dir", str(missing)) == {
        "state_dir": str(missing), "runs": [], "notes": []}
    code, out, _ = cli("runs", "prune", "--keep", "1", "--state-dir", str(missing))
    assert code == 0 and "no runs recorded" in out and "nothing to prune" in out
    code, _, err = cli("runs", "show", "last", "--state-dir", str(missing))
    assert code == 1 and err.startswith("error: no runs recorded in") and "Traceback" not in err


def test_the_state_folder_comes_from_the_environment(cli, history_runs, monkeypatch):
    monkeypatch.setenv(STATE_ENV, str(history_runs.root))
    doc = _json(cli, "runs")
    assert doc["state_dir"] == str(history_runs.root) and len(doc["runs"]) == 5
    assert _json(cli, "runs", "show", "last")["run"]["run_id"] == RUNNING


def test_list_as_json_newest_first_with_counts_endings_links_and_notes(cli, history_runs):
    doc = _json(cli, "runs", "--state-dir", str(history_runs.root))
    runs = {r["run_id"]: r for r in doc["runs"]}
    assert [r["run_id"] for r in doc["runs"]] == [RUNNING, KILLED, CHILD, PARENT,
                                                  "20261102T100000Z-77-0ld0"]
    assert {i: r["ended"] for i, r in runs.items()} == {
        RUNNING: "running", KILLED: "killed", CHILD: "ok", PARENT: "failed",
        "20261102T100000Z-77-0ld0": "ok"}
    assert runs[PARENT]["hosts"] == {"ok": 0, "changed": 1, "failed": 1, "deferred": 0}
    assert runs[CHILD]["hosts"] == {"ok": 1, "changed": 1, "failed": 0, "deferred": 0}
    assert runs[KILLED]["hosts"] == {"ok": 0, "changed": 0, "failed": 0, "deferred": 1}
    assert runs[PARENT]["children"] == [CHILD] and runs[CHILD]["parent"] == PARENT
    assert (runs[PARENT]["duration"], runs[KILLED]["duration"]) == (75.0, None)
    assert runs[RUNNING]["check"] is True and runs[KILLED]["workflow"] == "Back up the engine"
    assert len(doc["notes"]) == 1 and "the last line is torn" in doc["notes"][0]
    assert runs[KILLED]["notes"] == doc["notes"]


def test_list_as_text_shows_the_table_and_the_notes_on_stderr(cli, history_runs, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = cli("runs", "--state-dir", str(history_runs.root))
    assert code == 0
    for text in ("ok", "changed", "failed", "deferred", "ended", "Back up the engine",
                 "(check)", f"resumes {PARENT}", "1m15s", "killed", "running", "old backup"):
        assert text in out, text
    assert all(run_id in out for run_id in (PARENT, CHILD, KILLED, RUNNING))
    assert out.index(RUNNING) < out.index(KILLED) < out.index(CHILD) < out.index(PARENT)
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "the last line is torn" not in out
    assert err.startswith("note: ") and "the last line is torn" in err


def test_list_filters_by_workflow_and_status(cli, history_runs):
    where = ("--state-dir", str(history_runs.root))

    def ids(*args: str) -> list[str]:
        return [r["run_id"] for r in _json(cli, "runs", *where, *args)["runs"]]

    assert ids("--workflow", "backup") == [KILLED, "20261102T100000Z-77-0ld0"]
    assert ids("--workflow", "demo", "--status", "failed") == [PARENT]
    assert ids("--status", "running") == [RUNNING]
    code, out, _ = cli("runs", *where, "--workflow", "vacuum", "--status", "ok")
    assert code == 0
    assert out.strip() == (f"no runs match --workflow vacuum --status ok in "
                           f"{history_runs.runs}")
    code, _, err = cli("runs", *where, "--status", "broken")
    assert code == 1 and "'broken' is not one of" in err


def test_show_json_has_the_header_each_host_and_the_links(cli, history_runs):
    doc = _json(cli, "runs", "--state-dir", str(history_runs.root), "show", CHILD[:20])
    assert set(doc) == {"run", "header", "halted", "last_record", "log", "hosts", "run_notes",
                        "notes"}
    assert doc["run"]["run_id"] == CHILD and doc["run"]["parent"] == PARENT
    assert doc["header"]["options"]["forks"] == 20 and doc["header"]["parent"] == PARENT
    assert list(doc["hosts"]) == ["h2", "h1"]
    h1, h2 = doc["hosts"]["h1"], doc["hosts"]["h2"]
    assert (h1["outcome"], h1["done_in"], h1["steps"]) == ("done", PARENT, [])
    assert (h2["outcome"], h2["status"]) == ("changed", "ok")
    assert [(s["index"], s["always"], s["status"]) for s in h2["steps"]] == [
        (0, False, "skipped"), (1, False, "changed"), (0, True, "ok")]
    assert h2["steps"][0]["resumed_from"] == PARENT and h2["steps"][0]["previous"] == "failed"
    assert h2["verify"][0]["name"] == "test_up"
    assert [line["message"] for line in h2["log"]] == ["step1: attempt 1/2 failed"]
    assert doc["run_notes"] == ["left out by --limit: h3"] and doc["notes"] == []
    parent = _json(cli, "runs", "show", PARENT, "--state-dir", str(history_runs.root))
    assert parent["run"]["children"] == [CHILD]
    assert [line["message"] for line in parent["log"]] == ["checks skipped"]


def test_show_text_links_both_ways_and_tables_each_host(cli, history_runs):
    where = ("--state-dir", str(history_runs.root))
    code, out, err = cli("runs", *where, "show", CHILD)
    assert code == 0 and err == ""
    out = re.sub(r" +", " ", out)
    for text in (f"resumes {PARENT}", "ended ok (exit 0)", "/srv/workflows/demo.yml",
                 "/srv/inventory", "forks 20", "ops@", "h2: changed",
                 f"h1: done in run {PARENT}, not run again", "step", "task", "status",
                 "duration", "msg", "test_up", "passed", "note: left out by --limit: h3",
                 "step1: attempt 1/2 failed"):
        assert text in out, text
    code, out, _ = cli("runs", *where, "show", PARENT)
    out = re.sub(r" +", " ", out)
    assert code == 0 and f"resumed by {CHILD}" in out and "exit status 1" in out
    assert "h2: failed" in out and "h1: changed" in out


def test_show_a_killed_run_marks_the_cut_step_and_notes_the_torn_line(cli, history_runs):
    code, out, err = cli("runs", "--state-dir", str(history_runs.root), "show", KILLED)
    assert code == 0
    assert "killed" in out and "last journal line" in out and "interrupted" in out
    assert "h1: deferred" in out
    assert err.startswith("note: ") and "the last line is torn" in err
    doc = _json(cli, "runs", "--state-dir", str(history_runs.root), "show", KILLED)
    assert doc["hosts"]["h1"]["steps"][1]["status"] == "interrupted"
    assert len(doc["notes"]) == 1 and "the last line is torn" in doc["notes"][0]
    running = _json(cli, "runs", "--state-dir", str(history_runs.root), "show", "last")
    assert running["run"]["ended"] == "running"
    assert running["hosts"]["h1"]["steps"][0]["status"] == "running"


def test_show_an_old_journal(cli, history_runs):
    code, out, _ = cli("runs", "--state-dir", str(history_runs.root), "show", "20261102")
    assert code == 0 and "old backup" in out and "back up" in out and "engine_backup" in out
    assert "kvm1: deferred" in out and "no step started" in out


def test_show_an_unknown_run_names_close_ones(cli, history_runs):
    code, out, err = cli("runs", "--state-dir", str(history_runs.root), "show", PARENT[:-1] + "b")
    assert (code, out) == (1, "")
    assert err.startswith(f"error: no run '{PARENT[:-1]}b' in ") and PARENT in err
    code, _, err = cli("runs", "--state-dir", str(history_runs.root), "show", "20261203")
    assert code == 1 and "is ambiguous" in err


def test_list_filters_do_not_apply_to_subcommands(cli, history_runs):
    code, _, err = cli("runs", "--state-dir", str(history_runs.root), "--workflow", "demo",
                       "prune", "--keep", "0")
    assert code == 1 and "do not apply to `runs prune`" in err
    assert len(list(history_runs.runs.iterdir())) == 5


@pytest.mark.parametrize("args", [(), ("--keep", "1", "--older-than", "1d")])
def test_prune_needs_exactly_one_criterion(cli, history_runs, args):
    code, _, err = cli("runs", "prune", "--state-dir", str(history_runs.root), *args)
    assert code == 1 and "give exactly one of --keep N and --older-than DURATION" in err
    assert len(list(history_runs.runs.iterdir())) == 5


def test_prune_keep_with_dry_run_then_for_real(cli, history_runs):
    where = ("--state-dir", str(history_runs.root))
    code, out, _ = cli("runs", "prune", "--keep", "2", "--dry-run", *where)
    assert code == 0 and f"would remove {history_runs.runs / (CHILD + '.jsonl')}" in out
    assert "would remove 3 of 5 run journals" in out and "2 kept" in out
    assert len(list(history_runs.runs.iterdir())) == 5
    doc = _json(cli, "runs", "prune", "--keep", "0", *where)
    assert doc["dry_run"] is False and doc["kept"] == 1
    assert sorted(Path(p).stem for p in doc["removed"]) == sorted(
        [PARENT, CHILD, KILLED, "20261102T100000Z-77-0ld0"])
    assert [p.stem for p in history_runs.runs.iterdir()] == [RUNNING]


def test_prune_older_than_a_duration(cli, state):
    write_run(state, "20261101T000000Z-1-aaaa", [*step("h1", 0, "ok"),
                                                 run_finished({"h1": "ok"})],
              ts="2026-11-01T00:00:00.000Z")
    write_run(state, "20991231T000000Z-2-bbbb", [*step("h1", 0, "ok"),
                                                 run_finished({"h1": "ok"})],
              ts="2099-12-31T00:00:00.000Z")
    code, out, _ = cli("runs", "prune", "--older-than", "1d", "--state-dir", str(state.root))
    assert code == 0 and "removed 1 of 2 run journals" in out
    assert [p.stem for p in state.runs.iterdir()] == ["20991231T000000Z-2-bbbb"]
    code, _, err = cli("runs", "prune", "--older-than", "soon", "--state-dir", str(state.root))
    assert code == 1 and "invalid duration 'soon'" in err and "Traceback" not in err


WORKFLOW = """
name: history demo
steps:
  - name: hello
    task: command
    with: {cmd: "echo hello"}
  - name: gate
    task: command
    with: {cmd: "test -e {{ host.vars.sysroot }}/ready", read_only: true}
always:
  - name: cleanup
    task: command
    with: {cmd: "true"}
"""


def test_real_runs_and_their_resume_are_listed_shown_and_timed(local_inventory, write_workflow,
                                                               cli, tmp_path):
    inv = local_inventory(("h1", "h2"))
    wf = write_workflow(WORKFLOW)
    (tmp_path / "roots" / "h2" / "ready").touch()
    where = ("--state-dir", str(tmp_path / "state"))
    code, out, err = cli("run", str(wf), "-i", str(inv), "--output", "json", *where)
    assert code == 2, err
    first = json.loads(out)["run_id"]
    (tmp_path / "roots" / "h1" / "ready").touch()
    code, out, err = cli("run", "--resume", "last", "--output", "json", *where)
    assert code == 0, err
    second = json.loads(out)["run_id"]

    listed = _json(cli, "runs", *where)
    assert [r["run_id"] for r in listed["runs"]] == [second, first]
    newest, oldest = listed["runs"]
    assert (oldest["ended"], oldest["exit_code"], oldest["workflow"]) == ("failed", 2,
                                                                          "history demo")
    assert oldest["workflow_file"] == str(wf.resolve())
    assert oldest["hosts"] == {"ok": 0, "changed": 1, "failed": 1, "deferred": 0}
    assert oldest["children"] == [second] and newest["parent"] == first
    assert newest["hosts"] == {"ok": 1, "changed": 1, "failed": 0, "deferred": 0}
    assert newest["ended"] == "ok" and newest["duration"] > 0 and listed["notes"] == []

    shown = _json(cli, "runs", "show", "last", *where)
    assert shown["run"]["run_id"] == second
    assert shown["hosts"]["h2"]["outcome"] == "done" and shown["hosts"]["h2"]["done_in"] == first
    assert [s["name"] for s in shown["hosts"]["h1"]["steps"] if s["index"] >= 0] == [
        "hello", "gate", "cleanup"]
    code, out, err = cli("runs", "show", first, *where)
    assert code == 0 and f"resumed by {second}" in re.sub(r" +", " ", out) and "hello" in out, err
    code, out, _ = cli("runs", *where)
    assert code == 0 and first in out and second in out and "history demo" in out

    durations = step_durations(StateDir(tmp_path / "state"), wf)
    assert sorted(durations) == [0, 1]
    assert len(durations[0]) == 2  # both hosts said hello in the first run; h1 reused it
    assert len(durations[1]) == 3 and all(d >= 0 for d in durations[1])


def test_show_takes_the_groups_output_and_names_why_a_run_halted(cli, state):
    reason = "cannot write the run journal in /state/runs: No space left on device"
    write_run(state, PARENT, [*step("h1", 0, "ok"),
                              ("halted", {"reason": reason, "interrupted": False}),
                              *step("h1", 0, "ok", always=True),
                              run_finished({"h1": "ok", "h2": "skipped"}, halted=reason)])
    code, out, _ = cli("runs", "--output", "json", "--state-dir", str(state.root), "show", "last")
    assert code == 0
    doc = json.loads(out)
    assert (doc["run"]["ended"], doc["halted"]) == ("halted", reason)
    assert doc["run"]["hosts"] == {"ok": 1, "changed": 0, "failed": 0, "deferred": 1}
    code, out, _ = cli("runs", "--state-dir", str(state.root), "show", "last")
    assert code == 0 and "halted (exit 2): cannot write the run journal" in re.sub(r"\s+", " ", out)
    assert "h2: deferred" in out and "no step started" in out
