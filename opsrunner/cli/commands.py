"""The bodies of the CLI commands: load plugins, inventory and workflow, run, report."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsrunner.cli.extravars import parse_extra_vars
from opsrunner.connection import ConnectOptions
from opsrunner.errors import UsageError
from opsrunner.host import Host
from opsrunner.inventory import Inventory, load_inventory
from opsrunner.plugins import PluginManager, load_plugins, load_registry
from opsrunner.registry import Registry
from opsrunner.report import EXIT_OK, EXIT_USAGE, HostReport, RunReport
from opsrunner.workflow import Workflow, check_names, load_workflow


@dataclass(frozen=True)
class RunRequest:
    """Everything ``opsrunner run`` / ``verify`` was asked to do."""

    workflow: Path | None
    """None only with ``resume``: the workflow of the run being resumed."""
    inventory: str
    """"" only with ``resume``: the inventory of the run being resumed."""
    limit: str | None = None
    extra: Sequence[str] = ()
    plugin_dirs: Sequence[str] = ()
    check: bool = False
    forks: int = 20
    output: str = "text"
    junit: str | None = None
    confirmed: bool = False
    accept_new: bool = False
    state_dir: str | None = None
    verify: bool = True
    verbose: bool = False
    resume: str | None = None
    force: bool = False
    lock_wait: float = 0.0
    window: str | None = None
    windows_file: str | None = None
    outside_reason: str | None = None
    """With ``--outside-window``: why the run goes ahead outside its window."""
    notify_file: str | None = None


def select_hosts(inventory: Inventory, workflow: Workflow, limit: str | None) -> list[Host]:
    """Hosts matched by the workflow's ``hosts:`` and by ``--limit``, in inventory order."""
    hosts = inventory.select(workflow.hosts, workflow.positions.value(("hosts",)))
    if limit:
        allowed = {h.name for h in inventory.select(limit)}
        hosts = [h for h in hosts if h.name in allowed]
    if not hosts:
        raise UsageError(f"no host matches hosts {workflow.hosts!r}"
                         + (f" and --limit {limit!r}" if limit else "")
                         + f" in inventory {inventory.source}")
    return hosts


@dataclass
class Prepared:
    """A run that passed validation: its plugins, workflow, inventory, hosts and ``-e`` vars."""

    plugins: PluginManager
    registry: Registry
    workflow: Workflow
    inventory: Inventory
    hosts: list[Host]
    extra: dict[str, object]


def _prepare(req: RunRequest) -> Prepared:
    """Validate everything before the first connection (exit 1 on any problem)."""
    plugins, registry = load_plugins(req.plugin_dirs)
    extra = parse_extra_vars(req.extra)
    if req.workflow is None:
        raise UsageError("give the WORKFLOW to run (or --resume RUN_ID)")
    workflow = load_workflow(req.workflow, registry)
    inventory = load_inventory(req.inventory, registry)
    hosts = select_hosts(inventory, workflow, req.limit)
    for host in hosts:
        registry.connection_factory(host.connection)
    _raise_undefined(workflow, hosts, extra)
    workflow.notes.extend(_warn_changed_secrets(workflow, inventory, hosts, extra))
    return Prepared(plugins, registry, workflow, inventory, hosts, extra)


def _raise_undefined(workflow: Workflow, hosts: Sequence[Host], extra: dict[str, object]) -> None:
    known = set(extra)
    for host in hosts:
        known |= set(host.data)
    problems = check_names(workflow, known)
    if problems:
        from opsrunner.workflow import WorkflowErrors

        raise WorkflowErrors(problems)


def _warn_changed_secrets(workflow: Workflow, inventory: Inventory, hosts: Sequence[Host],
                          extra: dict[str, object]) -> list[str]:
    """Print (stderr) and return a warning for every secret a template changes before it
    reaches a step parameter or a variable (masking by value would miss it)."""
    from opsrunner.workflow.secretuse import secret_paths, secret_warnings

    paths = {path for path in secret_paths((h.data for h in hosts), inventory.secrets)
             if path[0] not in extra}
    warnings = secret_warnings(workflow, paths)
    for warning in warnings:
        print(warning, file=sys.stderr)
    return warnings


def _register_reports(plugins: PluginManager, req: RunRequest) -> None:
    """The reports asked for on the command line, as run-event plugins."""
    if req.output == "json":
        from opsrunner.report.json_report import JsonReport

        plugins.register(JsonReport(), "json-report")
    if req.junit:
        from opsrunner.report.junit import JunitReport

        plugins.register(JunitReport(req.junit), "junit-report")


def _check_outputs(req: RunRequest) -> None:
    """The report files asked for can be written: found out before anything runs."""
    if req.junit:
        from opsrunner.report.output_file import check_output_file

        check_output_file(req.junit, "--junit")


def run_workflow(req: RunRequest) -> int:
    """``opsrunner run``: returns the exit code."""
    from opsrunner.report.journal import Journal, new_run_id
    from opsrunner.runner import Runner, RunOptions
    from opsrunner.secrets import Redactor
    from opsrunner.state import StateDir

    state = StateDir.resolve(req.state_dir)
    parent = None
    if req.resume:
        from opsrunner.state.history import find_run

        parent = find_run(state, req.resume)
        _need_extra_names(parent.header, req.extra)
        req = _from_parent(req, parent.header)
    run = _prepare(req)
    _check_outputs(req)
    plan = None
    if parent is not None:
        plan = _resume_plan(req, run, parent)
        if not plan.hosts:
            return _nothing_to_resume(req, run, plan)
    choice, window_note = _window(req, run, state)
    redactor = Redactor(run.inventory.secrets)
    notifier = _notifier(req, redactor)
    run_id = new_run_id()
    journal = Journal(state.runs, run_id, redactor)
    journal.begin(_header(req, run, run_id, plan, None if choice is None else choice.record))
    try:
        options = RunOptions(check=req.check, forks=req.forks, extra_vars=run.extra,
                             confirmed=req.confirmed, verify=req.verify,
                             connect=ConnectOptions(accept_new_host_keys=req.accept_new))
        runner = Runner(run.workflow, run.inventory, run.hosts, run.registry, options,
                        hook=run.plugins.hook, redactor=redactor, run_id=run_id, resume=plan,
                        admission=None if choice is None else choice.admission)
        if plan is not None:
            runner.report.notes.extend(plan.notes)
        if window_note:
            runner.report.notes.append(window_note)
        if choice is not None:
            runner.report.window = choice.record
            _register_window_events(run, runner, choice.record)
        journal.on_error = runner.halt
        if not req.check:
            from opsrunner.state.locks import LockOwner, RunLocks

            owner = LockOwner.for_run(run_id, str(run.workflow.path),
                                      state_dir=state.root.resolve())
            log = runner.observer.host_log

            def waiting(host: str, where: str, holder: LockOwner | None) -> None:
                by = holder.describe() if holder is not None else "another run"
                log(host, f"waiting up to {req.lock_wait:g}s for the lock on the {where}, held "
                          f"by {by}")

            runner.locks = RunLocks(state.ensure(state.locks), owner, wait=req.lock_wait,
                                    stop=runner.stop, on_wait=waiting)
        run.plugins.register(journal, "journal")
        if notifier is not None:
            run.plugins.register(notifier, "email-notifier")
        if req.output == "text":
            from opsrunner.report.display import ProgressDisplay

            run.plugins.register(ProgressDisplay(verbose=req.verbose), "progress-display")
        _register_reports(run.plugins, req)
        report = runner.run()
    finally:
        journal.close()
    return report.exit_code


def _window(req: RunRequest, run: Prepared, state: Any) -> tuple[Any, str]:
    """The window gate's choice (None: the run has no window) and a note for the report.

    A check run outside its window goes ahead (it changes nothing), with a note."""
    from opsrunner.errors import OutsideWindow
    from opsrunner.windows.gate import choose, window_name

    name = window_name(run.workflow, req.window)
    if name is None:
        if req.outside_reason is not None:
            raise UsageError("--outside-window: the workflow has no window: and no --window "
                             "was given")
        return None, ""
    try:
        return choose(name, workflow=run.workflow, inventory=req.inventory,
                      windows_file=req.windows_file, registry=run.registry, state=state,
                      outside_reason=req.outside_reason), ""
    except OutsideWindow as exc:
        if not req.check:
            raise
        return None, f"check run outside its window: {exc}"


def _notifier(req: RunRequest, redactor: Any) -> Any:
    """The e-mail notifier of ``notify.yaml`` (``--notify``, or the inventory's), or None;
    ``redactor`` learns its password."""
    from opsrunner.notify import EmailNotifier, find_notify_file, load_notify

    path = find_notify_file(req.inventory, req.notify_file)
    if path is None:
        return None
    return EmailNotifier(load_notify(path), redactor)


def _register_window_events(run: Prepared, runner: Any, window: dict[str, Any]) -> None:
    """The window's start and end in the engine's audit log, through the first host's engine
    (none when no host of the run has one)."""
    from opsrunner.windows.engine_events import WindowEvents

    first = run.hosts[0]

    def session() -> Any:
        try:
            return runner.engines.session(first, first.data)
        except UsageError:  # not an engine workflow
            return None

    run.plugins.register(WindowEvents(session, window), "window-events")


def _from_parent(req: RunRequest, header: dict[str, Any]) -> RunRequest:
    """``req`` with the resumed run's workflow and inventory where the user gave none."""
    from dataclasses import replace

    recorded = header.get("workflow")
    workflow = req.workflow
    if workflow is None and isinstance(recorded, dict) and recorded.get("file"):
        workflow = Path(recorded["file"])
    inventory = req.inventory or str((header.get("inventory") or {}).get("source") or "")
    if not inventory:
        raise UsageError(f"run {header.get('run_id', '?')} recorded no inventory: give -i")
    return replace(req, workflow=workflow, inventory=inventory)


def _need_extra_names(header: dict[str, Any], items: Sequence[str]) -> None:
    """The ``-e`` names the resumed run was given must be given again (the journal keeps
    names, never values)."""
    expected = set((header.get("options") or {}).get("extra_vars") or [])
    missing = expected - set(parse_extra_vars(items))
    if missing:
        raise UsageError(f"run {header.get('run_id', '?')} was given -e {', '.join(sorted(missing))}"
                         f", whose values the journal does not keep: give them again (nothing "
                         f"was changed)")


def _resume_plan(req: RunRequest, run: Prepared, parent: Any) -> Any:
    """The plan of ``--resume``, with the hosts narrowed to those that run again."""
    from opsrunner.state.resume import plan_resume

    plan = plan_resume(parent, run.workflow, run.registry, force=req.force,
                       confirmed=req.confirmed)
    known = set(run.inventory.hosts)
    gone = [h for h in plan.hosts if h not in known]
    if gone:
        raise UsageError(f"run {plan.parent} ran on {', '.join(gone)}, no longer in inventory "
                         f"{run.inventory.source}: nothing was changed")
    selected = {h.name for h in run.hosts}
    left_out = [h for h in plan.hosts if h not in selected]
    if left_out:
        plan.notes.append(f"left out by --limit: {', '.join(left_out)}")
    by_name = run.inventory.hosts
    run.hosts = [by_name[h] for h in plan.hosts if h in selected]
    plan.hosts = [h.name for h in run.hosts]
    return plan


def _nothing_to_resume(req: RunRequest, run: Prepared, plan: Any) -> int:
    done = ", ".join(f"{h} (run {r})" for h, r in plan.done_hosts.items()) or "none"
    message = f"nothing to resume: every host of run {plan.parent} is done: {done}"
    if req.output == "json":
        from opsrunner.report.journal import new_run_id

        report = RunReport(new_run_id(), run.workflow.name, str(run.workflow.path),
                           notes=[*plan.notes, message], parent=plan.parent)
        json.dump(report.as_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for note in plan.notes:
            print(f"note: {note}", file=sys.stderr)
        print(message)
    return EXIT_OK


def _header(req: RunRequest, run: Prepared, run_id: str, plan: Any,
            window: dict[str, Any] | None) -> dict[str, Any]:
    """The journal's ``run_started`` record (format in :mod:`opsrunner.report.journal`)."""
    import getpass
    import os
    import socket

    from opsrunner.report.journal import SCHEMA
    from opsrunner.workflow.digest import path_digest, workflow_record

    try:
        from importlib.metadata import version

        release = version("opsrunner")
    except Exception:  # an uninstalled checkout
        release = ""
    return {
        "run_id": run_id, "schema": SCHEMA, "workflow": workflow_record(run.workflow),
        "inventory": {"source": str(Path(run.inventory.source).resolve()),
                      "digest": path_digest(Path(run.inventory.source))},
        "hosts": [h.name for h in run.hosts],
        "done_hosts": dict(plan.done_hosts) if plan is not None else {},
        "options": {"check": req.check, "forks": req.forks, "confirmed": req.confirmed,
                    "verify": req.verify, "limit": req.limit, "extra_vars": sorted(run.extra),
                    "lock_wait": req.lock_wait, "force": req.force},
        "parent": plan.parent if plan is not None else None, "window": window,
        "user": getpass.getuser(), "control_host": socket.gethostname(), "pid": os.getpid(),
        "opsrunner": release, "cwd": os.getcwd(),
    }


def verify_workflow(req: RunRequest) -> int:
    """``opsrunner verify``: only the workflow's checks, on its hosts."""
    import time

    from opsrunner.hoststate import HostSession, HostState
    from opsrunner.report.journal import new_run_id
    from opsrunner.secrets import Redactor
    from opsrunner.verify import checks_context, run_checks

    run = _prepare(req)
    workflow, hosts = run.workflow, run.hosts
    if not workflow.verify:
        raise UsageError(f"{workflow.path}: the workflow has no verify: checks")
    _check_outputs(req)
    started = time.monotonic()
    report = RunReport(new_run_id(), workflow.name, str(workflow.path), notes=list(workflow.notes))

    def no_connection() -> Any:
        raise AssertionError("verify renders variables only; it never connects here")

    states = [HostState(h, HostSession(no_connection), workflow_vars=workflow.vars,
                        var_locations=workflow.var_locations(),
                        extra_vars=run.extra, check=False, run_id=report.run_id) for h in hosts]
    results = run_checks(workflow.verify, hosts,
                         host_vars={hs.host.name: checks_context(hs, run.inventory.hosts)
                                    for hs in states},
                         redactor=Redactor(run.inventory.secrets))
    for host in hosts:
        hr = report.hosts.setdefault(host.name, HostReport(host.name))
        hr.verify = results.get(host.name, [])
        hr.status = "failed" if any(c.status in ("failed", "error") for c in hr.verify) else "ok"
    report.duration = time.monotonic() - started
    if req.output == "text":
        from rich.console import Console

        from opsrunner.report.display import print_summary

        print_summary(report, Console())
    _register_reports(run.plugins, req)
    run.plugins.hook.opsrunner_run_finished(report=report)
    return report.exit_code


def validate_workflow(path: Path, inventory_path: str | None, limit: str | None,
                      extra_items: Sequence[str], plugin_dirs: Sequence[str],
                      window: str | None = None, windows_file: str | None = None) -> int:
    """``opsrunner validate``: parse and check; with an inventory, hosts and variables too;
    with a window (``window:`` or ``--window``), the window and whether the workflow fits."""
    registry = load_registry(plugin_dirs)
    extra = parse_extra_vars(extra_items)
    workflow = load_workflow(path, registry)
    detail = ""
    if inventory_path:
        inventory = load_inventory(inventory_path, registry)
        hosts = select_hosts(inventory, workflow, limit)
        _raise_undefined(workflow, hosts, extra)
        _warn_changed_secrets(workflow, inventory, hosts, extra)
        detail = f", {len(hosts)} host(s): {', '.join(h.name for h in hosts)}"
    name = window or workflow.window
    if name is not None:
        detail += _validate_window(workflow, name, inventory_path, windows_file)
    for note in workflow.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"{path}: ok ({len(workflow.steps)} step(s), {len(workflow.always)} always-step(s), "
          f"{len(workflow.verify)} check file(s){detail})")
    return EXIT_OK


def _validate_window(workflow: Workflow, name: str, inventory: str | None,
                     windows_file: str | None) -> str:
    """Check window ``name`` and that the workflow's steps could run in it; UsageError with
    every problem, else the detail for the ok line."""
    from opsrunner.windows import find_windows_file, load_windows
    from opsrunner.windows.check import problems
    from opsrunner.windows.model import WindowSet

    path = find_windows_file(inventory, windows_file)
    if path is None:
        raise UsageError(f"{workflow.path}: runs in window {name!r}: give -i INVENTORY (with a "
                         f"windows.yaml) or --windows FILE to check it")
    windows = load_windows(path)
    if name not in windows.windows:
        from opsrunner.errors import unknown_name_message

        raise UsageError(f"{path}: " + unknown_name_message("window", name, windows.windows))
    chosen = windows.windows[name]
    found = problems(WindowSet(windows.source, {name: chosen}))
    estimates = [s.estimate for s in workflow.steps if s.estimate is not None]
    if estimates and min(estimates) > chosen.duration.total_seconds():
        shortest = min(estimates)
        found.append(f"{chosen.location}: window {name}: it is open for "
                     f"{chosen.duration.total_seconds() / 60:g} min, shorter than the workflow's "
                     f"shortest step estimate ({shortest / 60:g} min): no step could ever start")
    if found:
        raise UsageError("\n".join(found))
    return f", window {name} ({path})"


def list_plugins(plugin_dirs: Sequence[str], output: str) -> int:
    """``opsrunner plugins``: every task by its current name; JSON gives each one's plugin, its
    docstring without the ``:param`` lines, and per parameter type, required, default (a
    Python repr, None when required) and description (from the ``:param`` line, or "")."""
    registry = load_registry(plugin_dirs)
    if output == "json":
        from opsrunner.taskdoc import parse_doc

        listing = {}
        for name, spec in sorted(registry.tasks.items()):
            doc = parse_doc(spec.doc)
            listing[name] = {"plugin": spec.plugin, "doc": doc.prose, "params": {
                p.name: {"type": p.type_name, "required": p.required,
                         "default": None if p.required else repr(p.default),
                         "description": doc.params.get(p.name, "")}
                for p in spec.params.values()}}
        json.dump(listing, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    from opsrunner.cli.listing import print_tasks

    print_tasks(registry)
    return EXIT_OK


def show_inventory(path: str, limit: str | None, plugin_dirs: Sequence[str], output: str) -> int:
    """``opsrunner inventory``: resolved hosts and vars, secrets redacted."""
    registry = load_registry(plugin_dirs)
    inventory = load_inventory(path, registry)
    hosts = inventory.select(limit)
    if not hosts:
        print(f"no host matches {limit!r}", file=sys.stderr)
        return EXIT_USAGE
    described = inventory.describe(hosts)
    if output == "json":
        sys.stdout.write(json.dumps(described, indent=2, default=str))
        sys.stdout.write("\n")
    else:
        import yaml

        sys.stdout.write(yaml.safe_dump(described, sort_keys=False, default_flow_style=False))
    return EXIT_OK
