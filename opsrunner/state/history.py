"""The run history: what the journals under ``<state>/runs`` say about each run.

Every journal is read with :func:`~opsrunner.state.journal_read.read_journal` (a torn last
line is skipped with a note, which the caller shows). Journals written before
``opsrunner.journal/1`` (a flat ``run_started`` line without ``v``) are read too.

How a run ended (:data:`ENDED`): ``ok``, ``failed``, ``interrupted`` or ``halted`` from its
``run_finished`` line; without one, ``running`` while the process named by the header
(``control_host`` is this machine, ``pid`` alive and started before the run) is there, else
``killed`` (kill -9, a reboot, a lost control node).

Each host of a run is counted once: ``ok`` (finished ok, no step changed anything; hosts done
in an earlier run and not run again count here), ``changed`` (finished ok, some step changed),
``failed``, or ``deferred`` (selected but not finished: no step started, as in a stopped
rolling run, or cut off in a killed or still running run).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from opsrunner.errors import UsageError
from opsrunner.state import StateDir
from opsrunner.state.journal_read import JournalFile, read_journal

ENDED = ("ok", "failed", "interrupted", "halted", "running", "killed")
"""Every way a run can have ended, as :attr:`RunSummary.ended` gives it."""

OUTCOMES = ("ok", "changed", "failed", "deferred", "done")
"""What :func:`host_outcomes` says of a host; ``done``: finished in an earlier run."""

PID_REUSE_SLACK = 2.0
"""Seconds a process may seem to have started after its run's header (clock granularity)."""


@dataclass
class RunSummary:
    """One line of ``opsrunner runs``."""

    run_id: str
    workflow: str
    """The workflow's name ("" when the journal lost its header)."""
    workflow_file: str
    started: str
    """The header's UTC timestamp (from the run id when there is no header)."""
    duration: float | None
    """Seconds, from ``run_finished``; None for a run that did not get there."""
    check: bool
    ok: int
    changed: int
    failed: int
    deferred: int
    ended: str
    exit_code: int | None = None
    parent: str | None = None
    """The run this one resumes."""
    children: list[str] = field(default_factory=list)
    """The runs that resume this one, oldest first (filled by :func:`list_runs`)."""
    notes: list[str] = field(default_factory=list)
    """What reading the journal skipped (a torn last line)."""

    def as_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "workflow": self.workflow,
                "workflow_file": self.workflow_file, "started": self.started,
                "duration": self.duration, "check": self.check,
                "hosts": {"ok": self.ok, "changed": self.changed, "failed": self.failed,
                          "deferred": self.deferred},
                "ended": self.ended, "exit_code": self.exit_code, "parent": self.parent,
                "children": list(self.children), "notes": list(self.notes)}


# -- Reading one journal ---------------------------------------------------------------------

def workflow_of(header: dict[str, Any]) -> tuple[str, str]:
    """(name, file) of the run's workflow, from either header format ("" when absent)."""
    wf = header.get("workflow")
    if isinstance(wf, dict):
        return str(wf.get("name") or ""), str(wf.get("file") or "")
    return str(wf or ""), str(header.get("file") or "")


def options_of(header: dict[str, Any]) -> dict[str, Any]:
    """The run's options (``check``, ``forks``, ...); an old header gives only ``check``."""
    options = header.get("options")
    if isinstance(options, dict):
        return dict(options)
    return {"check": bool(header.get("check"))} if "check" in header else {}


def done_hosts(header: dict[str, Any]) -> dict[str, str]:
    """Hosts a resumed run did not run again: name -> the run they finished ok in."""
    done = header.get("done_hosts")
    return {str(k): str(v) for k, v in done.items()} if isinstance(done, dict) else {}


def ended(journal: JournalFile) -> str:
    """How the run ended, one of :data:`ENDED`."""
    end = journal.end
    if end is not None:
        if end.get("interrupted"):
            return "interrupted"
        if end.get("halted"):
            return "halted"
        return "ok" if end.get("ok") else "failed"
    return "running" if _process_alive(journal.header) else "killed"


def host_steps(journal: JournalFile, *, running: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Each host's steps in the order they started (the header's hosts first, [] for a host
    that started none; then any other host the records name).

    A step: ``index`` (-1: the runner's own record, such as taking the target lock),
    ``name``, ``always``, ``task``, ``status`` (ok, changed, failed, skipped; ``interrupted``
    when it started and never finished, ``running`` instead with ``running=True``),
    ``changed``, ``duration``, ``rc``, ``msg``, ``stdout``, ``stderr``, ``ignored``,
    ``note``, ``resumed_from``, ``previous``, ``started`` and ``finished`` (timestamps; None
    when the journal has no such line, e.g. a run-once step's copy on the other hosts).
    """
    hosts: dict[str, list[dict[str, Any]]] = {str(h): [] for h in _list(journal.header, "hosts")}
    open_steps: dict[tuple[str, bool, Any], list[dict[str, Any]]] = {}
    for record in journal.records:
        event = record.get("event")
        if event not in ("step_started", "step_finished"):
            continue
        host = str(record.get("host", ""))
        name = str(record.get("step", record.get("name", "")))
        always = bool(record.get("always"))
        index = record.get("index")
        key = (host, always, index if isinstance(index, int) else name)
        steps = hosts.setdefault(host, [])
        if event == "step_started":
            entry = _step(index, name, always)
            entry.update(status="running" if running else "interrupted", started=record.get("ts"))
            steps.append(entry)
            open_steps.setdefault(key, []).append(entry)
            continue
        waiting = open_steps.get(key)
        if waiting:
            entry = waiting.pop(0)
        else:
            entry = _step(index, name, always)
            steps.append(entry)
        status = str(record.get("status", ""))
        entry.update(task=str(record.get("task", "")), status=status,
                     changed=bool(record.get("changed", status == "changed")),
                     duration=_number(record.get("duration")), rc=record.get("rc"),
                     msg=str(record.get("msg", "")), stdout=str(record.get("stdout", "")),
                     stderr=str(record.get("stderr", "")), ignored=bool(record.get("ignored")),
                     note=str(record.get("note", "")),
                     resumed_from=str(record.get("resumed_from") or ""),
                     previous=str(record.get("previous") or ""), finished=record.get("ts"))
    return hosts


def host_outcomes(journal: JournalFile, steps: dict[str, list[dict[str, Any]]] | None = None
                  ) -> dict[str, str]:
    """Each host of the run -> one of :data:`OUTCOMES` (rules in the module docstring).

    Order: the hosts that ran (as :func:`host_steps`), then those done in an earlier run.
    ``steps`` is :func:`host_steps`' answer when the caller has it already.
    """
    steps = host_steps(journal) if steps is None else steps
    end = journal.end
    finished = end.get("hosts") if end is not None else None
    finished = finished if isinstance(finished, dict) else {}
    wanted = _step_keys(journal.header)
    outcomes: dict[str, str] = {}
    for host in [*steps, *(h for h in finished if h not in steps)]:
        records = steps.get(host, [])
        failed = any(s["status"] == "failed" and not s["ignored"] for s in records)
        changed = any(s["status"] == "changed" and not s["resumed_from"] for s in records)
        if end is not None:
            status = finished.get(host)
            done = status == "ok"
            failed = status == "failed" or (failed and status != "ok")
        else:
            seen = {(s["always"], s["index"]) for s in records if s["finished"] is not None}
            done = wanted is not None and bool(records) and wanted <= seen
        if failed:
            outcomes[host] = "failed"
        elif done:
            outcomes[host] = "changed" if changed else "ok"
        else:
            outcomes[host] = "deferred"
    for host in done_hosts(journal.header):
        outcomes.setdefault(host, "done")
    return outcomes


def summarize(journal: JournalFile) -> RunSummary:
    """The :class:`RunSummary` of one journal (``children`` left empty)."""
    header = journal.header
    name, file = workflow_of(header)
    end = journal.end or {}
    outcome = host_outcomes(journal)
    counts = {o: sum(1 for v in outcome.values() if v == o) for o in OUTCOMES}
    code = end.get("exit_code")
    parent = header.get("parent")
    return RunSummary(
        run_id=journal.run_id, workflow=name, workflow_file=file,
        started=str(header.get("ts") or _stamp_ts(journal.run_id)),
        duration=_number(end.get("duration")), check=bool(options_of(header).get("check")),
        ok=counts["ok"] + counts["done"], changed=counts["changed"], failed=counts["failed"],
        deferred=counts["deferred"], ended=ended(journal),
        exit_code=code if isinstance(code, int) else None,
        parent=str(parent) if parent else None, notes=list(journal.notes))


# -- The state folder ------------------------------------------------------------------------

def journals(state: StateDir) -> list[JournalFile]:
    """Every journal under ``state.runs``, newest first; [] when the folder does not exist.

    A journal that cannot be read at all comes back empty, with the reason as its note.
    """
    try:
        paths = [p for p in state.runs.iterdir() if p.suffix == ".jsonl" and p.is_file()]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise UsageError(f"state folder {state.runs}: cannot be read: "
                         f"{exc.strerror or exc}") from None
    read = [_read(p) for p in paths]
    read.sort(key=lambda j: (j.run_id.partition("-")[0], str(j.header.get("ts", "")), j.run_id),
              reverse=True)
    return read


def list_runs(state: StateDir, *, workflow: str | None = None,
              status: str | None = None) -> list[RunSummary]:
    """Every run, newest first, with ``children`` filled; only those of ``workflow`` (its
    name, case-insensitive, its file's path, or the file's name with or without suffix)
    and that ended as ``status`` (one of :data:`ENDED`) when given."""
    if status is not None and status not in ENDED:
        raise UsageError(f"unknown run status {status!r}; one of: {', '.join(ENDED)}")
    summaries = [summarize(j) for j in journals(state)]
    children: dict[str, list[str]] = {}
    for summary in reversed(summaries):
        if summary.parent:
            children.setdefault(summary.parent, []).append(summary.run_id)
    for summary in summaries:
        summary.children = children.get(summary.run_id, [])
    return [s for s in summaries
            if (workflow is None or _is_workflow(s, workflow))
            and (status is None or s.ended == status)]


def find_run(state: StateDir, ref: str) -> JournalFile:
    """The journal of run ``ref``: a run id, a unique prefix of one, or ``last`` (the newest).

    UsageError when there is no run, or several, naming the close matches.
    """
    ref = ref.strip().removesuffix(".jsonl")
    found = journals(state) if ref == "last" else None
    if found:
        return found[0]
    ids = _run_ids(state)
    if not ids:
        raise UsageError(f"no runs recorded in {state.runs}")
    if ref in ids:
        return read_journal(state.runs / f"{ref}.jsonl")
    matches = [i for i in ids if ref and i.startswith(ref)]
    if len(matches) == 1:
        return read_journal(state.runs / f"{matches[0]}.jsonl")
    if matches:
        shown = ", ".join(matches[:8]) + (", ..." if len(matches) > 8 else "")
        raise UsageError(f"run {ref!r} is ambiguous in {state.runs}: {shown}")
    import difflib

    close = difflib.get_close_matches(ref, ids, n=5, cutoff=0.6)
    hint = (f"close matches: {', '.join(close)}" if close
            else f"the newest is {max(ids)} (or say `last`)")
    raise UsageError(f"no run {ref!r} in {state.runs}; {hint}")


def step_durations(state: StateDir, workflow_file: str | os.PathLike[str], *,
                   always: bool = False, check: bool = False) -> dict[int, list[float]]:
    """Seconds each step of one workflow took: step index -> durations, newest run first
    (within a run, in journal order), keys ascending.

    Counts the finished steps that a host started itself in a run of ``workflow_file``
    (the same absolute path): not the ones reused from an earlier run (``resumed_from``),
    not a run-once step's copies on the other hosts, not the runner's own records. Only runs
    without ``--check`` (with ``check=True``, only those with it); only the ``steps:``
    (with ``always=True``, only the ``always:`` ones, which count their index apart).
    """
    durations: dict[int, list[float]] = {}
    for index, _host, seconds in _measured(state, workflow_file, always=always, check=check):
        durations.setdefault(index, []).append(seconds)
    return {i: durations[i] for i in sorted(durations)}


def host_step_durations(state: StateDir, workflow_file: str | os.PathLike[str], *,
                        always: bool = False) -> dict[int, dict[str, list[float]]]:
    """As :func:`step_durations`, per host: step index -> host -> durations, newest first."""
    durations: dict[int, dict[str, list[float]]] = {}
    for index, host, seconds in _measured(state, workflow_file, always=always, check=False):
        durations.setdefault(index, {}).setdefault(host, []).append(seconds)
    return durations


def _measured(state: StateDir, workflow_file: str | os.PathLike[str], *, always: bool,
              check: bool) -> Iterator[tuple[int, str, float]]:
    target = os.path.normpath(os.path.abspath(workflow_file))
    for journal in journals(state):
        _, file = workflow_of(journal.header)
        if not file or os.path.normpath(file) != target:
            continue
        if bool(options_of(journal.header).get("check")) != check:
            continue
        for host, steps in host_steps(journal).items():
            for step in steps:
                index = step["index"]
                if (isinstance(index, int) and index >= 0 and step["always"] == always
                        and step["started"] is not None and step["finished"] is not None
                        and not step["resumed_from"] and step["duration"] is not None):
                    yield index, host, float(step["duration"])


def prune(state: StateDir, *, keep: int | None, older_than: float | None,
          dry_run: bool = False, now: float | None = None) -> list[Path]:
    """Remove the journals of old runs; returns their paths (only listed with ``dry_run``).

    A run is removed when it matches every criterion given: not among the newest ``keep``
    runs (counted over all runs, the running ones included), started more than
    ``older_than`` seconds before ``now``. A running run is never removed. UsageError when
    neither is given, or a journal cannot be removed (those removed before it stay removed).
    """
    if keep is None and older_than is None:
        raise UsageError("prune needs --keep N or --older-than DURATION")
    if keep is not None and keep < 0:
        raise UsageError(f"--keep must be 0 or more, not {keep}")
    limit = (time.time() if now is None else now) - (older_than or 0.0)
    chosen: list[Path] = []
    for position, journal in enumerate(journals(state)):
        if keep is not None and position < keep:
            continue
        if older_than is not None and _started_epoch(journal) >= limit:
            continue
        if ended(journal) == "running":
            continue
        chosen.append(journal.path)
    if not dry_run:
        for count, path in enumerate(chosen):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise UsageError(f"cannot remove {path}: {exc.strerror or exc} "
                                 f"({count} journals removed before it)") from None
    return chosen


# -- Helpers ---------------------------------------------------------------------------------

def _read(path: Path) -> JournalFile:
    try:
        return read_journal(path)
    except UsageError as exc:
        return JournalFile(path, [], [str(exc)])


def _run_ids(state: StateDir) -> list[str]:
    try:
        return sorted(p.stem for p in state.runs.iterdir() if p.suffix == ".jsonl")
    except OSError:
        return []


def _is_workflow(summary: RunSummary, wanted: str) -> bool:
    if wanted.casefold() == summary.workflow.casefold() or wanted == summary.workflow_file:
        return True
    file = summary.workflow_file
    if not file:
        return False
    path = Path(file)
    return (wanted in (path.name, path.stem)
            or os.path.normpath(os.path.abspath(wanted)) == os.path.normpath(file))


def _list(header: dict[str, Any], key: str) -> list[Any]:
    value = header.get(key)
    return list(value) if isinstance(value, list) else []


def _step(index: Any, name: str, always: bool) -> dict[str, Any]:
    return {"index": index if isinstance(index, int) else None, "name": name, "always": always,
            "task": "", "status": "", "changed": False, "duration": None, "rc": None, "msg": "",
            "stdout": "", "stderr": "", "ignored": False, "note": "", "resumed_from": "",
            "previous": "", "started": None, "finished": None}


def _step_keys(header: dict[str, Any]) -> set[tuple[bool, Any]] | None:
    """(always, index) of every step a host runs to the end, or None for an old header."""
    wf = header.get("workflow")
    if not isinstance(wf, dict) or not isinstance(wf.get("steps"), list):
        return None
    keys: set[tuple[bool, Any]] = set()
    for always, steps in ((False, wf.get("steps")), (True, wf.get("always"))):
        for position, step in enumerate(steps if isinstance(steps, list) else []):
            index = step.get("index", position) if isinstance(step, dict) else position
            keys.add((always, index))
    return keys


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _stamp_ts(run_id: str) -> str:
    """``20261203T133911Z-...`` -> ``2026-12-03T13:39:11Z`` ("" when it is no run id)."""
    try:
        when = datetime.strptime(run_id.partition("-")[0], "%Y%m%dT%H%M%SZ")
    except ValueError:
        return ""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(ts: Any) -> float | None:
    if not isinstance(ts, str) or not ts:
        return None
    try:
        return datetime.fromisoformat(ts).timestamp()
    except ValueError:
        return None


def _started_epoch(journal: JournalFile) -> float:
    """When the run started: its header, its id, else its file's modification time."""
    for ts in (journal.header.get("ts"), _stamp_ts(journal.run_id)):
        when = _epoch(ts)
        if when is not None:
            return when
    try:
        return journal.path.stat().st_mtime
    except OSError:
        return time.time()


def _process_alive(header: dict[str, Any]) -> bool:
    """Whether the run's own process is still there, on this machine."""
    import socket

    pid = header.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if header.get("control_host") != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except PermissionError:
        pass  # alive, another user's
    except OSError:
        return False
    started, since = _epoch(header.get("ts")), _process_start(pid)
    return started is None or since is None or since <= started + PID_REUSE_SLACK


def _process_start(pid: int) -> float | None:
    """When process ``pid`` started (Linux /proc), to tell a reused pid; None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(float(line.split()[1]) for line in
                    Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
        ticks = int(stat.rpartition(")")[2].split()[19])
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None
