"""The run history read back from journals written by the real writer: how each run ended,
host counts, old and torn journals, killed and running runs, resume links, step durations,
finding a run, pruning."""

from __future__ import annotations

import calendar
import json
import os
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from opsrunner.errors import UsageError
from opsrunner.report import journal as journal_module
from opsrunner.report.journal import SCHEMA, Journal
from opsrunner.secrets import Redactor
from opsrunner.state import StateDir
from opsrunner.state.history import (
    ENDED,
    find_run,
    host_outcomes,
    host_steps,
    list_runs,
    prune,
    step_durations,
    summarize,
)
from opsrunner.state.journal_read import read_journal

DEAD_PID = 2**30  # above any pid_max: no such process
WORKFLOW_FILE = "/srv/workflows/demo.yml"
Event = tuple[str, dict[str, Any]]


def header(run_id: str, *, name: str = "demo", file: str = WORKFLOW_FILE,
           hosts: Iterable[str] = ("h1", "h2"), steps: Iterable[str] = ("one", "two"),
           always: Iterable[str] = ("cleanup",), check: bool = False, parent: str | None = None,
           done: dict[str, str] | None = None, pid: int = DEAD_PID,
           control_host: str | None = None) -> dict[str, Any]:
    """A ``run_started`` record as ``opsrunner run`` writes it."""
    def listed(names: Iterable[str]) -> list[dict[str, Any]]:
        return [{"index": i, "name": n, "task": "command", "digest": f"d{i}"}
                for i, n in enumerate(names)]

    return {"run_id": run_id, "schema": SCHEMA,
            "workflow": {"name": name, "file": file, "digest": "f", "settings": "s",
                         "steps": listed(steps), "always": listed(always)},
            "inventory": {"source": "/srv/inventory", "digest": "i"},
            "hosts": list(hosts), "done_hosts": done or {},
            "options": {"check": check, "forks": 20, "confirmed": False, "verify": True,
                        "limit": None, "extra_vars": [], "lock_wait": "0", "force": False},
            "parent": parent, "window": None, "user": "ops",
            "control_host": control_host or socket.gethostname(), "pid": pid,
            "opsrunner": "0.1.0", "cwd": "/srv"}


def started(host: str, index: int, name: str = "", *, always: bool = False) -> Event:
    return "step_started", {"host": host, "step": name or f"step{index}", "index": index,
                            "always": always}


def finished(host: str, index: int, status: str, name: str = "", *, always: bool = False,
             duration: float = 1.0, **extra: Any) -> Event:
    fields = {"host": host, "step": name or f"step{index}", "index": index, "always": always,
              "task": "command", "status": status, "changed": status == "changed",
              "rc": 1 if status == "failed" else 0, "stdout": "", "stderr": "",
              "duration": duration, "msg": "", "ignored": False, "note": "", "resumed_from": ""}
    fields.update(extra)
    return "step_finished", fields


def step(host: str, index: int, status: str, **extra: Any) -> list[Event]:
    """A step that started and finished on ``host``."""
    return [started(host, index, always=extra.get("always", False)),
            finished(host, index, status, **extra)]


def full(host: str, *statuses: str) -> list[Event]:
    """Every step of the default header (two steps, one always-step) on ``host``."""
    events: list[Event] = []
    for index, status in enumerate(statuses[:2]):
        events += step(host, index, status)
    return events + step(host, 0, statuses[2] if len(statuses) > 2 else "changed", always=True)


def run_finished(hosts: dict[str, str], *, ok: bool | None = None, interrupted: bool = False,
                 halted: str = "", duration: float = 12.5,
                 verify: dict[str, list[dict[str, Any]]] | None = None,
                 notes: list[str] | None = None) -> Event:
    ok = (all(s != "failed" for s in hosts.values()) and not interrupted and not halted
          if ok is None else ok)
    code = 130 if interrupted else 0 if ok else 2
    return "run_finished", {"ok": ok, "exit_code": code, "interrupted": interrupted,
                            "halted": halted, "duration": duration, "hosts": hosts,
                            "verify": verify or {}, "notes": notes or []}


def write_run(state: StateDir, run_id: str, events: Iterable[Event] = (), *,
              torn: bool = False, ts: str | None = None, **head: Any) -> Path:
    """A journal written by the real writer; ``ts`` fixes every line's timestamp."""
    journal = Journal(state.runs, run_id, Redactor(set()))
    clock = (lambda when=None: ts) if ts else journal_module.timestamp
    with mock.patch.object(journal_module, "timestamp", clock):
        journal.begin(header(run_id, **head))
        for event, fields in events:
            assert journal.write(event, **fields)
    journal.close()
    if torn:
        with journal.path.open("ab") as fh:
            fh.write(b'{"v": 1, "seq": 99, "ts": "2026-12-03T13:39:11.042Z", "event": "step_fi')
    return journal.path


def write_old_run(state: StateDir, run_id: str, *, finished_ok: bool | None = True) -> Path:
    """A journal as opsrunner wrote it before ``opsrunner.journal/1`` (no v, seq, index)."""
    lines: list[dict[str, Any]] = [
        {"ts": "2026-11-02T10:00:00Z", "event": "run_started", "run_id": run_id,
         "workflow": "old backup", "file": "/srv/workflows/backup.yml", "check": True,
         "hosts": ["engine", "kvm1"]},
        {"ts": "2026-11-02T10:00:01Z", "event": "step_started", "host": "engine",
         "step": "back up", "always": False},
        {"ts": "2026-11-02T10:00:09Z", "event": "step_finished", "host": "engine",
         "name": "back up", "task": "engine_backup", "status": "changed", "rc": 0,
         "stdout": "", "stderr": "", "duration": 8.0, "msg": "", "always": False,
         "ignored": False, "note": ""},
    ]
    if finished_ok is not None:
        lines.append({"ts": "2026-11-02T10:00:10Z", "event": "run_finished", "ok": finished_ok,
                      "exit_code": 0 if finished_ok else 2, "interrupted": False,
                      "duration": 10.0, "hosts": {"engine": "ok", "kvm1": "skipped"},
                      "verify": {}})
    state.runs.mkdir(parents=True, exist_ok=True)
    path = state.runs / f"{run_id}.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.fixture
def state(tmp_path: Path) -> StateDir:
    return StateDir(tmp_path / "state")


def _summary(state: StateDir, run_id: str):
    return summarize(read_journal(state.runs / f"{run_id}.jsonl"))


def test_a_finished_run_counts_each_host_once(state):
    events = [*full("h1", "changed", "ok"), *full("h2", "ok", "ok", "ok"),
              *step("h3", 0, "failed"), *step("h3", 0, "changed", always=True),
              run_finished({"h1": "ok", "h2": "ok", "h3": "failed", "h4": "skipped"})]
    write_run(state, "20261203T010000Z-10-aaaa", events, hosts=("h1", "h2", "h3", "h4"))
    summary = _summary(state, "20261203T010000Z-10-aaaa")
    assert (summary.ok, summary.changed, summary.failed, summary.deferred) == (1, 1, 1, 1)
    assert (summary.ended, summary.exit_code, summary.duration) == ("failed", 2, 12.5)
    assert (summary.workflow, summary.workflow_file, summary.check) == ("demo", WORKFLOW_FILE,
                                                                         False)
    assert summary.started.endswith("Z") and summary.started[:4].isdigit()
    assert summary.parent is None and summary.notes == []
    doc = summary.as_json()
    assert doc["hosts"] == {"ok": 1, "changed": 1, "failed": 1, "deferred": 1}
    assert set(doc) == {"run_id", "workflow", "workflow_file", "started", "duration", "check",
                        "hosts", "ended", "exit_code", "parent", "children", "notes"}


def test_an_ignored_failure_and_a_changed_always_step_count_as_changed(state):
    events = [*step("h1", 0, "failed", ignored=True), *step("h1", 1, "ok"),
              *step("h1", 0, "changed", always=True), run_finished({"h1": "ok"})]
    write_run(state, "20261203T010000Z-10-aaaa", events, hosts=("h1",))
    summary = _summary(state, "20261203T010000Z-10-aaaa")
    assert (summary.ok, summary.changed, summary.failed, summary.ended) == (0, 1, 0, "ok")


@pytest.mark.parametrize(("end", "expected"), [
    (run_finished({"h1": "ok", "h2": "ok"}), "ok"),
    (run_finished({"h1": "ok", "h2": "failed"}), "failed"),
    (run_finished({"h1": "ok", "h2": "skipped"}, interrupted=True), "interrupted"),
    (run_finished({"h1": "ok", "h2": "skipped"}, halted="cannot write the run journal"),
     "halted"),
])
def test_how_a_finished_run_ended(state, end, expected):
    write_run(state, "20261203T010000Z-10-aaaa", [*full("h1", "ok", "ok"), end])
    assert _summary(state, "20261203T010000Z-10-aaaa").ended == expected


def test_without_a_last_record_a_run_is_running_only_while_its_process_is_here(state):
    write_run(state, "20261203T010000Z-1-aaaa", step("h1", 0, "ok"), pid=DEAD_PID)
    write_run(state, "20261203T010001Z-2-aaaa", step("h1", 0, "ok"), pid=os.getpid())
    write_run(state, "20261203T010002Z-3-aaaa", step("h1", 0, "ok"), pid=os.getpid(),
              control_host="another-control-node.example")
    # a live pid that started after the run's header is another process reusing the pid
    write_run(state, "20261203T010003Z-4-aaaa", step("h1", 0, "ok"), pid=os.getpid(),
              ts="2001-01-01T00:00:00.000Z")
    ended = {s.run_id: s.ended for s in list_runs(state)}
    assert ended == {"20261203T010000Z-1-aaaa": "killed", "20261203T010001Z-2-aaaa": "running",
                     "20261203T010002Z-3-aaaa": "killed", "20261203T010003Z-4-aaaa": "killed"}
    assert set(ended.values()) <= set(ENDED)


def test_a_killed_run_counts_unfinished_hosts_as_deferred(state):
    events = [*full("h1", "ok", "changed"),  # every step and always-step finished
              *step("h2", 0, "ok"), started("h2", 1),  # cut off in its second step
              *step("h3", 0, "failed"),
              finished("h5", -1, "failed", name="target lock", task="opsrunner.lock")]
    write_run(state, "20261203T010000Z-10-aaaa", events,
              hosts=("h1", "h2", "h3", "h4", "h5"))
    journal = read_journal(state.runs / "20261203T010000Z-10-aaaa.jsonl")
    assert host_outcomes(journal) == {"h1": "changed", "h2": "deferred", "h3": "failed",
                                      "h4": "deferred", "h5": "failed"}
    summary = summarize(journal)
    assert (summary.ended, summary.duration, summary.exit_code) == ("killed", None, None)
    assert (summary.ok, summary.changed, summary.failed, summary.deferred) == (0, 1, 2, 2)


def test_a_torn_last_line_is_skipped_with_a_note_and_the_rest_counts(state):
    path = write_run(state, "20261203T010000Z-10-aaaa", full("h1", "ok", "ok", "ok"),
                     torn=True, hosts=("h1",))
    (summary,) = list_runs(state)
    assert len(summary.notes) == 1
    assert str(path) in summary.notes[0] and "the last line is torn" in summary.notes[0]
    assert (summary.ended, summary.ok, summary.deferred) == ("killed", 1, 0)
    assert summary.as_json()["notes"] == summary.notes


def test_an_old_journal_is_listed_sensibly(state):
    write_old_run(state, "20261102T100000Z-77-0ld0")
    write_old_run(state, "20261102T110000Z-78-0ld1", finished_ok=None)
    old, killed = reversed(list_runs(state))
    assert (old.workflow, old.workflow_file, old.check) == ("old backup",
                                                           "/srv/workflows/backup.yml", True)
    assert (old.ended, old.duration, old.started) == ("ok", 10.0, "2026-11-02T10:00:00Z")
    assert (old.ok, old.changed, old.failed, old.deferred) == (0, 1, 0, 1)
    assert (killed.ended, killed.changed, killed.deferred) == ("killed", 0, 2)
    journal = read_journal(state.runs / "20261102T100000Z-77-0ld0.jsonl")
    (engine_step,) = host_steps(journal)["engine"]
    assert (engine_step["name"], engine_step["status"], engine_step["index"],
            engine_step["duration"]) == ("back up", "changed", None, 8.0)
    assert host_steps(journal)["kvm1"] == []


def test_a_journal_without_a_header_still_lists(state):
    state.runs.mkdir(parents=True)
    (state.runs / "20261203T010000Z-10-aaaa.jsonl").write_text("")
    (summary,) = list_runs(state)
    assert (summary.workflow, summary.started, summary.ended) == ("", "2026-12-03T01:00:00Z",
                                                                  "killed")


def test_list_runs_is_newest_first_and_filters_by_workflow_and_status(state):
    write_run(state, "20261201T010000Z-1-aaaa", [*full("h1", "ok", "ok"),
                                                 run_finished({"h1": "ok"})], hosts=("h1",))
    write_run(state, "20261203T010000Z-3-cccc", [*step("h1", 0, "failed"),
                                                 run_finished({"h1": "failed"})],
              hosts=("h1",), name="Back up the engine", file="/srv/workflows/backup.yml")
    write_run(state, "20261202T010000Z-2-bbbb", step("h1", 0, "ok"), hosts=("h1",))
    assert [s.run_id for s in list_runs(state)] == [
        "20261203T010000Z-3-cccc", "20261202T010000Z-2-bbbb", "20261201T010000Z-1-aaaa"]
    for wanted in ("Back up the engine", "back up the engine", "backup", "backup.yml",
                   "/srv/workflows/backup.yml"):
        assert [s.run_id for s in list_runs(state, workflow=wanted)] == [
            "20261203T010000Z-3-cccc"], wanted
    assert [s.run_id for s in list_runs(state, workflow="demo", status="killed")] == [
        "20261202T010000Z-2-bbbb"]
    assert list_runs(state, workflow="nothing-like-it") == []
    with pytest.raises(UsageError, match="unknown run status 'broken'; one of: ok, failed"):
        list_runs(state, status="broken")


def test_a_missing_state_folder_has_no_runs(state):
    assert list_runs(state) == []
    assert prune(state, keep=0, older_than=None) == []
    assert step_durations(state, WORKFLOW_FILE) == {}
    with pytest.raises(UsageError, match=r"no runs recorded in .*state/runs"):
        find_run(state, "last")


def test_a_resumed_run_links_to_its_parent_and_back_and_counts_done_hosts_as_ok(state):
    parent = "20261203T010000Z-10-aaaa"
    child = "20261203T020000Z-11-bbbb"
    write_run(state, parent, [*full("h1", "ok", "ok", "ok"), *step("h2", 0, "failed"),
                              *step("h2", 0, "ok", always=True),
                              run_finished({"h1": "ok", "h2": "failed"})])
    write_run(state, child, [
        started("h2", 0),
        finished("h2", 0, "skipped", resumed_from=parent, previous="failed",
                 msg=f"finished failed in run {parent}"),
        *step("h2", 1, "changed"), *step("h2", 0, "ok", always=True),
        run_finished({"h2": "ok"})], hosts=("h2",), parent=parent, done={"h1": parent})
    runs = {s.run_id: s for s in list_runs(state)}
    assert runs[child].parent == parent and runs[child].children == []
    assert runs[parent].children == [child] and runs[parent].parent is None
    assert (runs[child].ok, runs[child].changed, runs[child].ended) == (1, 1, "ok")
    journal = read_journal(state.runs / f"{child}.jsonl")
    assert host_outcomes(journal) == {"h2": "changed", "h1": "done"}
    reused = host_steps(journal)["h2"][0]
    assert (reused["status"], reused["resumed_from"], reused["previous"]) == (
        "skipped", parent, "failed")


def test_host_steps_pairs_starts_and_ends_and_marks_the_unfinished(state):
    events = [finished("h1", -1, "ok", name="target lock", task="opsrunner.lock"),
              started("h1", 0, "one"), started("h2", 0, "one"),
              finished("h2", 0, "changed", "one", duration=2.5, rc=0, msg="done"),
              finished("h1", 0, "ok", "one", stdout="out\n"),
              started("h1", 1, "two"),
              finished("h2", 1, "ok", "two", msg="run once on h1")]  # a run-once copy
    write_run(state, "20261203T010000Z-10-aaaa", events)
    journal = read_journal(state.runs / "20261203T010000Z-10-aaaa.jsonl")
    steps = host_steps(journal)
    assert [(s["index"], s["name"], s["status"]) for s in steps["h1"]] == [
        (-1, "target lock", "ok"), (0, "one", "ok"), (1, "two", "interrupted")]
    assert steps["h1"][1]["stdout"] == "out\n" and steps["h1"][1]["started"] is not None
    interrupted = steps["h1"][2]
    assert (interrupted["finished"], interrupted["duration"], interrupted["task"]) == (
        None, None, "")
    first = steps["h2"][0]
    assert (first["changed"], first["duration"], first["msg"], first["rc"]) == (
        True, 2.5, "done", 0)
    assert steps["h2"][1]["started"] is None
    assert host_steps(journal, running=True)["h1"][2]["status"] == "running"


def test_step_durations_are_per_index_newest_first_from_real_work_only(state):
    other = "/srv/workflows/other.yml"
    write_run(state, "20261201T010000Z-1-aaaa", [*step("h1", 0, "ok", duration=10.0),
                                                 *step("h2", 0, "changed", duration=11.0),
                                                 *step("h1", 1, "failed", duration=3.0),
                                                 *step("h1", 0, "ok", always=True,
                                                       duration=0.5)])
    write_run(state, "20261202T010000Z-2-bbbb", [
        started("h1", 0), finished("h1", 0, "skipped", resumed_from="x", duration=0.0),
        *step("h1", 1, "ok", duration=4.0),
        finished("h1", -1, "ok", name="target lock", duration=7.0),
        finished("h2", 1, "ok", duration=4.0, msg="run once on h1")])
    write_run(state, "20261203T010000Z-3-cccc", step("h1", 0, "ok", duration=99.0), check=True)
    write_run(state, "20261204T010000Z-4-dddd", step("h1", 0, "ok", duration=98.0), file=other)
    write_old_run(state, "20261102T100000Z-77-0ld0")
    assert step_durations(state, WORKFLOW_FILE) == {0: [10.0, 11.0], 1: [4.0, 3.0]}
    assert step_durations(state, WORKFLOW_FILE, always=True) == {0: [0.5]}
    assert step_durations(state, WORKFLOW_FILE, check=True) == {0: [99.0]}
    assert step_durations(state, other) == {0: [98.0]}


def test_step_durations_take_a_relative_path(state, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_run(state, "20261201T010000Z-1-aaaa", step("h1", 0, "ok", duration=5.0),
              file=str(tmp_path / "wf.yml"))
    assert step_durations(state, "wf.yml") == {0: [5.0]}
    assert step_durations(state, Path("./wf.yml")) == {0: [5.0]}


def test_find_run_by_id_prefix_or_last(state):
    for run_id in ("20261201T010000Z-1-aaaa", "20261202T010000Z-2-bbbb",
                   "20261202T020000Z-3-cccc"):
        write_run(state, run_id, step("h1", 0, "ok"))
    assert find_run(state, "20261201T010000Z-1-aaaa").run_id == "20261201T010000Z-1-aaaa"
    assert find_run(state, "20261201T010000Z-1-aaaa.jsonl").run_id == "20261201T010000Z-1-aaaa"
    assert find_run(state, "20261201").run_id == "20261201T010000Z-1-aaaa"
    assert find_run(state, "last").run_id == "20261202T020000Z-3-cccc"
    with pytest.raises(UsageError, match=r"run '20261202' is ambiguous in .*: "
                                         r"20261202T010000Z-2-bbbb, 20261202T020000Z-3-cccc"):
        find_run(state, "20261202")
    with pytest.raises(UsageError, match=r"no run '20261201T010000Z-1-aaab' in .*; "
                                         r"close matches: 20261201T010000Z-1-aaaa"):
        find_run(state, "20261201T010000Z-1-aaab")
    with pytest.raises(UsageError, match=r"no run 'zzz' .*the newest is 20261202T020000Z-3-cccc"):
        find_run(state, "zzz")
    with pytest.raises(UsageError):
        find_run(state, "")


def test_find_run_last_is_the_newest_by_time_within_one_second(state):
    write_run(state, "20261201T010000Z-999-aaaa", step("h1", 0, "ok"),
              ts="2026-12-01T01:00:00.100Z")
    write_run(state, "20261201T010000Z-1000-bbbb", step("h1", 0, "ok"),
              ts="2026-12-01T01:00:00.900Z")
    assert find_run(state, "last").run_id == "20261201T010000Z-1000-bbbb"


def _three_old_runs_and_a_running_one(state: StateDir) -> list[Path]:
    day = "2026-11-{:02d}T00:00:00.000Z"
    paths = [write_run(state, f"202611{d:02d}T000000Z-{d}-aaaa",
                       [*step("h1", 0, "ok"), run_finished({"h1": "ok"})], ts=day.format(d))
             for d in (1, 2, 3)]
    # running: this process, which started before the header's (real) time
    paths.append(write_run(state, "20261104T000000Z-4-aaaa", step("h1", 0, "ok"),
                           pid=os.getpid()))
    return paths


def test_prune_keeps_the_newest_n_and_never_a_running_run(state):
    first, second, third, running = _three_old_runs_and_a_running_one(state)
    assert prune(state, keep=2, older_than=None, dry_run=True) == [second, first]
    assert all(p.exists() for p in (first, second, third, running))
    assert prune(state, keep=2, older_than=None) == [second, first]
    assert not first.exists() and not second.exists() and third.exists()
    assert prune(state, keep=0, older_than=None) == [third]
    assert running.exists() and [s.run_id for s in list_runs(state)] == [running.stem]


def test_prune_older_than_counts_from_the_start_and_both_criteria_must_hold(state):
    first, second, third, running = _three_old_runs_and_a_running_one(state)
    now = calendar.timegm((2026, 11, 5, 0, 0, 0))
    days = 86400.0
    assert prune(state, keep=None, older_than=2.5 * days, now=now, dry_run=True) == [
        second, first]
    assert prune(state, keep=None, older_than=0, now=now, dry_run=True) == [third, second, first]
    assert prune(state, keep=1, older_than=3.5 * days, now=now, dry_run=True) == [first]
    assert prune(state, keep=3, older_than=0, now=now, dry_run=True) == [first]
    assert prune(state, keep=4, older_than=0, now=now, dry_run=True) == []
    with pytest.raises(UsageError, match="prune needs --keep N or --older-than DURATION"):
        prune(state, keep=None, older_than=None)
    with pytest.raises(UsageError, match="--keep must be 0 or more"):
        prune(state, keep=-1, older_than=None)
    assert all(p.exists() for p in (first, second, third, running))
