"""``opsrunner runs``: the run history, from the journals under ``<state>/runs``.

``opsrunner runs [--workflow W] [--status S]`` lists the runs, newest first, compliance runs
(``opsrunner verify --profile P``: workflow ``compliance P``) among them;
``opsrunner runs show RUN_ID|PREFIX|last`` shows one run, host by host;
``opsrunner runs prune --keep N | --older-than DURATION [--dry-run]`` removes old journals
(never a running run's). Exit 0, also when no run is recorded; 1 for a usage error or a run
that is not there. What reading a journal skipped (a torn last line) is printed on stderr
as ``note:`` lines, or given in ``notes`` with ``--output json``.

JSON shapes (``--output json``: one document on stdout):

``opsrunner runs``::

    {"state_dir": "<folder>", "runs": [RUN, ...], "notes": ["<every run's notes>", ...]}

    RUN = {"run_id": "20261203T133911Z-4242-ab12", "workflow": "<name>",
           "workflow_file": "<absolute path>", "started": "2026-12-03T13:39:11.042Z",
           "duration": 12.345 | null,            # seconds; null: the run did not finish
           "check": false,
           "hosts": {"ok": 2, "changed": 1, "failed": 0, "deferred": 0},
           "ended": "ok" | "failed" | "interrupted" | "halted" | "running" | "killed",
           "exit_code": 0 | null, "parent": "<run id>" | null,
           "children": ["<run id>", ...],        # runs that resume this one, oldest first
           "notes": ["<what reading this journal skipped>", ...]}

``opsrunner runs show RUN``::

    {"run": RUN,
     "header": {...},                 # the journal's run_started record as written
     "halted": "<reason>" | "",       # why the run stopped starting steps
     "last_record": "<ts>" | null,    # when the journal's last line was written
     "log": [{"ts": "...", "message": "..."}, ...],        # lines about the whole run
     "hosts": {"<name>": {"outcome": "ok" | "changed" | "failed" | "deferred" | "done",
                          "done_in": "<run id>" | null,   # "done": finished in that run
                          "status": "ok" | "failed" | "skipped" | null,   # run_finished's
                          "steps": [STEP, ...], "verify": [CHECK, ...],
                          "log": [{"ts": "...", "message": "..."}, ...]}},
     "run_notes": ["<the run's own notes>", ...],
     "notes": ["<what reading the journal skipped>", ...]}

    STEP = {"index": 0 | -1 | null,   # -1: the runner's own record (the target lock)
            "name", "always", "task",
            "status": "ok" | "changed" | "failed" | "skipped" | "interrupted" | "running",
            "changed", "duration": seconds | null, "rc", "msg", "stdout", "stderr", "ignored",
            "note", "resumed_from": "<run id>" | "", "previous": "<status there>" | "",
            "started": "<ts>" | null, "finished": "<ts>" | null}
    CHECK = {"name", "file", "status": "passed" | "failed" | "skipped" | "error", "message",
             "duration"}

``opsrunner runs prune``::

    {"state_dir": "<folder>", "dry_run": false, "removed": ["<journal path>", ...],
     "kept": 12}
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from opsrunner.cli.guard import guard

if TYPE_CHECKING:
    from rich.console import Console

    from opsrunner.state import StateDir
    from opsrunner.state.history import RunSummary
    from opsrunner.state.journal_read import JournalFile

F = TypeVar("F", bound=Callable[..., Any])

# The same as opsrunner.state.STATE_ENV and opsrunner.state.history.ENDED (a unit test holds
# them equal), spelled here so that `opsrunner --help` imports nothing but click.
STATE_ENV = "OPSRUNNER_STATE_DIR"
ENDED = ("ok", "failed", "interrupted", "halted", "running", "killed")

OUTPUT = click.Choice(["text", "json"])
ENDED_STYLE = {"ok": "green", "failed": "red", "interrupted": "yellow", "halted": "yellow",
               "running": "cyan", "killed": "magenta"}
STATUS_STYLE = {"ok": "green", "changed": "yellow", "failed": "red", "skipped": "dim",
                "interrupted": "magenta", "running": "cyan", "deferred": "dim", "done": "green",
                "passed": "green", "error": "red"}


def _state_option(f: F) -> F:
    return click.option("--state-dir", type=click.Path(file_okay=False), envvar=STATE_ENV,
                        help=f"The state folder whose runs/ holds the journals. Default: "
                             f"${STATE_ENV}, else .opsrunner.")(f)


@click.group(invoke_without_command=True)
@_state_option
@click.option("--workflow", metavar="NAME|FILE",
              help="Only runs of this workflow: its name, its file, or the file's name.")
@click.option("--status", type=click.Choice(ENDED), help="Only runs that ended so.")
@click.option("--output", type=OUTPUT, default="text", show_default=True,
              help="json: one JSON document on stdout.")
@click.pass_context
def runs(ctx: click.Context, state_dir: str | None, workflow: str | None, status: str | None,
         output: str) -> None:
    """The run history: list the runs (newest first), show one, prune old journals."""
    ctx.obj = {"state_dir": state_dir, "output": output}
    if ctx.invoked_subcommand is None:
        sys.exit(guard(lambda: list_command(_state(state_dir), workflow, status, output)))
    if workflow is not None or status is not None:
        raise click.UsageError(f"--workflow and --status filter the list (opsrunner runs); "
                               f"they do not apply to `runs {ctx.invoked_subcommand}`")


@runs.command("show")
@click.argument("run_ref", metavar="RUN_ID")
@_state_option
@click.option("--output", type=OUTPUT, default=None, help="json: one JSON document on stdout.")
@click.pass_context
def show(ctx: click.Context, run_ref: str, state_dir: str | None, output: str | None) -> None:
    """Show run RUN_ID (a run id, a unique prefix of one, or `last`): its header, links to
    the run it resumes and the runs resuming it, and each host's steps and checks."""
    parent = ctx.obj or {}
    chosen = output or parent.get("output", "text")
    sys.exit(guard(lambda: show_command(_state(state_dir or parent.get("state_dir")),
                                        run_ref, chosen)))


@runs.command("prune")
@click.option("--keep", type=click.IntRange(min=0), metavar="N",
              help="Keep the newest N runs, remove the others' journals.")
@click.option("--older-than", metavar="DURATION",
              help="Remove the journals of runs started longer ago (90s, 12h, 30d, 1d12h).")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@_state_option
@click.option("--output", type=OUTPUT, default=None, help="json: one JSON document on stdout.")
@click.pass_context
def prune(ctx: click.Context, keep: int | None, older_than: str | None, dry_run: bool,
          state_dir: str | None, output: str | None) -> None:
    """Remove old run journals: give exactly one of --keep N and --older-than DURATION.
    A running run's journal is never removed."""
    if (keep is None) == (older_than is None):
        raise click.UsageError("give exactly one of --keep N and --older-than DURATION")
    parent = ctx.obj or {}
    chosen = output or parent.get("output", "text")
    sys.exit(guard(lambda: prune_command(_state(state_dir or parent.get("state_dir")), keep,
                                         older_than, dry_run, chosen)))


# -- The command bodies (return the exit code) -----------------------------------------------

def list_command(state: StateDir, workflow: str | None, status: str | None, output: str) -> int:
    """``opsrunner runs``."""
    from opsrunner.compliance.history import compliance_runs
    from opsrunner.state.history import list_runs

    summaries = list_runs(state, workflow=workflow, status=status)
    checked = [s for s in compliance_runs(state)
               if (workflow is None or workflow in (s.workflow, s.workflow.partition(" ")[2]))
               and (status is None or s.ended == status)]
    if checked:
        summaries = sorted([*summaries, *checked], key=lambda s: (s.started, s.run_id),
                           reverse=True)
    notes = [n for s in summaries for n in s.notes]
    if output == "json":
        _json({"state_dir": str(state.root), "runs": [s.as_json() for s in summaries],
               "notes": notes})
        return 0
    _notes(notes)
    if not summaries:
        if (workflow is None and status is None) or not list_runs(state):
            click.echo(f"no runs recorded in {state.runs}")
        else:
            given = " ".join(f"{o} {v}" for o, v in (("--workflow", workflow),
                                                     ("--status", status)) if v is not None)
            click.echo(f"no runs match {given} in {state.runs}")
        return 0
    _console().print(_runs_table(summaries))
    return 0


def show_command(state: StateDir, ref: str, output: str) -> int:
    """``opsrunner runs show``."""
    from opsrunner.state.history import find_run, list_runs

    journal = find_run(state, ref)
    known = {s.run_id: s for s in list_runs(state)}
    document = show_document(journal, known)
    if output == "json":
        _json(document)
        return 0
    _notes(document["notes"])
    _print_show(_console(), document, known)
    return 0


def show_document(journal: JournalFile, known: dict[str, RunSummary] | None = None
                  ) -> dict[str, Any]:
    """The JSON document of ``runs show`` (shape in the module docstring); ``known``: every
    run's summary by id (for the children), else this run's alone."""
    from opsrunner.state.history import done_hosts, ended, host_outcomes, host_steps, summarize

    summary = (known or {}).get(journal.run_id) or summarize(journal)
    running = ended(journal) == "running"
    steps = host_steps(journal, running=running)
    outcomes = host_outcomes(journal, steps)
    end = journal.end or {}
    statuses = _mapping(end.get("hosts"))
    verify = _mapping(end.get("verify"))
    done = done_hosts(journal.header)
    logs: dict[str, list[dict[str, Any]]] = {}
    for record in journal.events("log"):
        logs.setdefault(str(record.get("host", "*")), []).append(
            {"ts": record.get("ts"), "message": str(record.get("message", ""))})
    halted = [str(r.get("reason", "")) for r in journal.events("halted")]
    hosts = {}
    for name, outcome in outcomes.items():
        checks = verify.get(name)
        hosts[name] = {"outcome": outcome, "done_in": done.get(name) if outcome == "done" else None,
                       "status": statuses.get(name), "steps": steps.get(name, []),
                       "verify": checks if isinstance(checks, list) else [],
                       "log": logs.get(name, [])}
    run_notes = end.get("notes")
    return {"run": summary.as_json(), "header": journal.header,
            "halted": str(end.get("halted") or "") or (halted[0] if halted else ""),
            "log": logs.get("*", []), "hosts": hosts,
            "last_record": journal.records[-1].get("ts") if journal.records else None,
            "run_notes": [str(n) for n in run_notes] if isinstance(run_notes, list) else [],
            "notes": list(journal.notes)}


def prune_command(state: StateDir, keep: int | None, older_than: str | None, dry_run: bool,
                  output: str) -> int:
    """``opsrunner runs prune``."""
    from opsrunner.durations import parse_duration
    from opsrunner.state.history import journals, prune

    seconds = parse_duration(older_than) if older_than is not None else None
    total = len(journals(state))
    removed = prune(state, keep=keep, older_than=seconds, dry_run=dry_run)
    if output == "json":
        _json({"state_dir": str(state.root), "dry_run": dry_run,
               "removed": [str(p) for p in removed], "kept": total - len(removed)})
        return 0
    if not total:
        click.echo(f"no runs recorded in {state.runs}; nothing to prune")
        return 0
    verb = "would remove" if dry_run else "removed"
    for path in removed:
        click.echo(f"{verb} {path}")
    click.echo(f"{verb} {len(removed)} of {total} run journals in {state.runs}; "
               f"{total - len(removed)} kept")
    return 0


# -- Text output -----------------------------------------------------------------------------

def _runs_table(summaries: list[RunSummary]) -> Any:
    """One row per run: its id over its workflow and start, then its duration, host counts
    and how it ended (readable in 80 columns)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, padding=(0, 1), collapse_padding=True, pad_edge=False,
                  header_style="bold")
    table.add_column("run / workflow, started (UTC)", overflow="fold")
    table.add_column("duration", justify="right", no_wrap=True)
    for label in ("ok", "changed", "failed", "deferred"):
        table.add_column(label, justify="right", no_wrap=True)
    table.add_column("ended", no_wrap=True)
    for s in summaries:
        run = Text(s.run_id, style="bold")
        run.append(f"\n  {s.workflow or '?'}")
        if s.check:
            run.append(" (check)", style="yellow")
        run.append(f", {_when(s.started)}", style="dim")
        if s.parent:
            run.append(f"\n  resumes {s.parent}", style="dim")
        table.add_row(run, _seconds(s.duration), str(s.ok), str(s.changed),
                      _count(s.failed, "red"), _count(s.deferred, "yellow"),
                      Text(s.ended, style=ENDED_STYLE.get(s.ended, "")))
    return table


def _print_show(console: Console, doc: dict[str, Any], known: dict[str, RunSummary]) -> None:
    from rich.table import Table
    from rich.text import Text

    from opsrunner.state.history import options_of, workflow_of

    run, header = doc["run"], doc["header"]
    name, file = workflow_of(header)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    ending = Text(run["ended"], style=ENDED_STYLE.get(run["ended"], ""))
    if run["exit_code"] is not None:
        ending.append(f" (exit {run['exit_code']})")
    if doc["halted"]:
        ending.append(f": {doc['halted']}")
    if run["ended"] in ("running", "killed") and doc["last_record"]:
        ending.append(f" (last journal line {_when(doc['last_record'])} UTC)", style="dim")
    grid.add_row("run", Text(run["run_id"], style="bold"))
    grid.add_row("workflow", f"{name or '?'}  {file}".rstrip())
    grid.add_row("started", f"{_when(run['started'])} UTC, duration {_seconds(run['duration'])}")
    grid.add_row("ended", ending)
    options = _options(options_of(header))
    if options:
        grid.add_row("options", options)
    inventory = header.get("inventory")
    if isinstance(inventory, dict) and inventory.get("source"):
        grid.add_row("inventory", str(inventory["source"]))
    who = _who(header)
    if who:
        grid.add_row("by", who)
    if run["parent"]:
        there = "" if run["parent"] in known else " (its journal is gone)"
        grid.add_row("resumes", f"{run['parent']}{there}")
    if run["children"]:
        grid.add_row("resumed by", ", ".join(run["children"]))
    counts = run["hosts"]
    grid.add_row("hosts", ", ".join(f"{counts[k]} {k}"
                                    for k in ("ok", "changed", "failed", "deferred")))
    console.print(grid)
    for line in doc["log"]:
        console.print(Text(f"  {line['message']}", style="dim"))
    for note in doc["run_notes"]:
        console.print(Text(f"note: {note}", style="yellow"))
    for host, detail in doc["hosts"].items():
        console.print()
        outcome = detail["outcome"]
        title = Text.assemble((host, "bold"), ": ",
                              (outcome, STATUS_STYLE.get(outcome, "")))
        if detail["done_in"]:
            title.append(f" in run {detail['done_in']}, not run again", style="dim")
        console.rule(title, align="left")
        if detail["steps"]:
            console.print(_steps_table(detail["steps"]))
        elif outcome == "deferred":
            console.print(Text("no step started", style="dim"))
        if detail["verify"]:
            console.print(_checks_table(detail["verify"]))
        for line in detail["log"]:
            console.print(Text(f"  {line['message']}", style="dim"))


def _steps_table(steps: list[dict[str, Any]]) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, padding=(0, 1), pad_edge=False, header_style="dim")
    for label in ("#", "step", "task", "status", "changed", "duration", "rc", "msg"):
        right = label in ("#", "duration", "rc")
        table.add_column(label, justify="right" if right else "left", overflow="fold",
                         no_wrap=right)
    for step in steps:
        index = step["index"]
        number = "-" if index is None or index < 0 else str(index + 1)
        name = Text(step["name"])
        if step["always"]:
            name.append(" (always)", style="dim")
        status = Text(step["status"], style=STATUS_STYLE.get(step["status"], ""))
        if step["ignored"]:
            status.append(" (ignored)", style="dim")
        msg = step["msg"]
        if step["resumed_from"] and step["resumed_from"] not in msg:
            msg = f"{msg} (from run {step['resumed_from']})".strip()
        table.add_row(number, name, step["task"], status,
                      "yes" if step["changed"] else "", _seconds(step["duration"]),
                      "" if step["rc"] is None else str(step["rc"]), msg)
    return table


def _checks_table(checks: list[Any]) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, padding=(0, 1), pad_edge=False, header_style="dim")
    table.add_column("check", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("message", overflow="fold")
    for check in checks:
        if not isinstance(check, dict):
            continue
        status = str(check.get("status", ""))
        table.add_row(str(check.get("name", "")), Text(status, style=STATUS_STYLE.get(status, "")),
                      str(check.get("message", "")))
    return table


def _options(options: dict[str, Any]) -> str:
    """``check, forks 20, limit kvm*, extra vars a, b`` (unset and false ones left out)."""
    parts = []
    for key, value in options.items():
        label = key.replace("_", " ")
        if value is True:
            parts.append(label)
        elif value is False or value is None or value == [] or value == "":
            continue
        elif isinstance(value, list):
            parts.append(f"{label} {', '.join(map(str, value))}")
        else:
            parts.append(f"{label} {value}")
    return "; ".join(parts)


def _who(header: dict[str, Any]) -> str:
    user, host, pid = header.get("user"), header.get("control_host"), header.get("pid")
    parts = [f"{user or '?'}@{host or '?'}" + (f" pid {pid}" if pid else "")] if host else []
    if header.get("opsrunner"):
        parts.append(f"opsrunner {header['opsrunner']}")
    if header.get("cwd"):
        parts.append(f"in {header['cwd']}")
    return ", ".join(parts)


def _when(ts: str) -> str:
    """``2026-12-03T13:39:11.042Z`` -> ``2026-12-03 13:39:11``."""
    return ts.replace("T", " ", 1).removesuffix("Z").partition(".")[0] if ts else "?"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1:
        return f"{value:.2f}s"
    if value < 60:
        return f"{value:.1f}s"
    whole = round(value)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def _count(value: int, style: str) -> Any:
    from rich.text import Text

    return Text(str(value), style=style if value else "")


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _notes(notes: list[str]) -> None:
    for note in notes:
        click.echo(f"note: {note}", err=True)


def _console() -> Console:
    from rich.console import Console

    return Console()


def _json(document: dict[str, Any]) -> None:
    import json

    click.echo(json.dumps(document, indent=2, default=str))


def _state(option: str | None) -> StateDir:
    from opsrunner.state import StateDir

    return StateDir.resolve(option)
