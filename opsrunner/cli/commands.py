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

    workflow: Path
    inventory: str
    limit: str | None = None
    extra: Sequence[str] = ()
    plugin_dirs: Sequence[str] = ()
    check: bool = False
    forks: int = 20
    output: str = "text"
    junit: str | None = None
    confirmed: bool = False
    accept_new: bool = False
    journal_dir: Path = Path(".opsrunner") / "runs"
    verify: bool = True
    verbose: bool = False


def select_hosts(inventory: Inventory, workflow: Workflow, limit: str | None) -> list[Host]:
    """Hosts matched by the workflow's ``hosts:`` and by ``--limit``, in inventory order."""
    hosts = inventory.select(workflow.hosts)
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
    workflow = load_workflow(req.workflow, registry)
    inventory = load_inventory(req.inventory, registry)
    hosts = select_hosts(inventory, workflow, req.limit)
    for host in hosts:
        registry.connection_factory(host.connection)
    _raise_undefined(workflow, hosts, extra)
    return Prepared(plugins, registry, workflow, inventory, hosts, extra)


def _raise_undefined(workflow: Workflow, hosts: Sequence[Host], extra: dict[str, object]) -> None:
    known = set(extra)
    for host in hosts:
        known |= set(host.data)
    problems = check_names(workflow, known)
    if problems:
        from opsrunner.workflow import WorkflowErrors

        raise WorkflowErrors(problems)


def _register_reports(plugins: PluginManager, req: RunRequest) -> None:
    """The reports asked for on the command line, as run-event plugins."""
    if req.output == "json":
        from opsrunner.report.json_report import JsonReport

        plugins.register(JsonReport(), "json-report")
    if req.junit:
        from opsrunner.report.junit import JunitReport

        plugins.register(JunitReport(req.junit), "junit-report")


def run_workflow(req: RunRequest) -> int:
    """``opsrunner run``: returns the exit code."""
    from opsrunner.report.journal import Journal, new_run_id
    from opsrunner.runner import Runner, RunOptions
    from opsrunner.secrets import Redactor

    run = _prepare(req)
    redactor = Redactor(run.inventory.secrets)
    run_id = new_run_id()
    journal = Journal(req.journal_dir, run_id, redactor)
    run.plugins.register(journal, "journal")
    if req.output == "text":
        from opsrunner.report.display import ProgressDisplay

        run.plugins.register(ProgressDisplay(verbose=req.verbose), "progress-display")
    _register_reports(run.plugins, req)
    options = RunOptions(check=req.check, forks=req.forks, extra_vars=run.extra,
                         confirmed=req.confirmed, verify=req.verify,
                         connect=ConnectOptions(accept_new_host_keys=req.accept_new))
    runner = Runner(run.workflow, run.inventory, run.hosts, run.registry, options,
                    hook=run.plugins.hook, redactor=redactor, run_id=run_id)
    try:
        report = runner.run()
    finally:
        journal.close()
    return report.exit_code


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
    started = time.monotonic()
    report = RunReport(new_run_id(), workflow.name, str(workflow.path), notes=list(workflow.notes))

    def no_connection() -> Any:
        raise AssertionError("verify renders variables only; it never connects here")

    states = [HostState(h, HostSession(no_connection), workflow_vars=workflow.vars,
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
                      extra_items: Sequence[str], plugin_dirs: Sequence[str]) -> int:
    """``opsrunner validate``: parse and check; with an inventory, hosts and variables too."""
    registry = load_registry(plugin_dirs)
    extra = parse_extra_vars(extra_items)
    workflow = load_workflow(path, registry)
    detail = ""
    if inventory_path:
        inventory = load_inventory(inventory_path, registry)
        hosts = select_hosts(inventory, workflow, limit)
        _raise_undefined(workflow, hosts, extra)
        detail = f", {len(hosts)} host(s): {', '.join(h.name for h in hosts)}"
    for note in workflow.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"{path}: ok ({len(workflow.steps)} step(s), {len(workflow.always)} always-step(s), "
          f"{len(workflow.verify)} check file(s){detail})")
    return EXIT_OK


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
        json.dump(described, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        import yaml

        sys.stdout.write(yaml.safe_dump(described, sort_keys=False, default_flow_style=False))
    return EXIT_OK
