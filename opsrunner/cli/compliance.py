"""``opsrunner verify --profile P``: a compliance run, from the options to the reports.

Everything the user gave is checked before the first host is contacted: the profile (every
file), the inventory and ``--limit``, the ``--control`` ids, the ``-e`` overrides of params,
the waivers file, the state folder and the report paths. Then the controls run
(:func:`opsrunner.compliance.run.run_profile`), waivers apply, the drift against the accepted
baseline is computed, the run is recorded (and accepted with ``--accept``), and the reports
are written. Exit codes: 0 every control that was not waived passed, 2 one failed (or could
not run), 1 bad input (nothing was checked).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from opsrunner.compliance.model import ComplianceReport


@dataclass(frozen=True)
class ProfileRequest:
    """Everything ``opsrunner verify --profile`` was asked to do."""

    profile: str
    inventory: str
    limit: str | None = None
    extra: Sequence[str] = ()
    controls: Sequence[str] = ()
    waivers: str | None = None
    state_dir: str | None = None
    accept: bool = False
    output: str = "text"
    junit: str | None = None
    html: str | None = None
    plugin_dirs: Sequence[str] = ()
    today: date | None = None
    """The day waivers are judged against (today by default; tests set it)."""
    tags: Sequence[str] = field(default_factory=tuple)


def verify_profile(req: ProfileRequest) -> int:
    """Run the compliance check and write every report asked for; return the exit code."""
    report = compliance_report(req)
    if req.output == "json":
        from opsrunner.compliance.json_report import write_json

        write_json(report, sys.stdout)
    else:
        from rich.console import Console

        from opsrunner.compliance.text import print_compliance

        print_compliance(report, Console())
    if req.junit:
        from opsrunner.compliance.junit import write_junit

        write_junit(report, req.junit)
    if req.html:
        from opsrunner.compliance.html import write_html

        write_html(report, req.html)
    return report.exit_code


def compliance_report(req: ProfileRequest) -> ComplianceReport:
    """Validate, run, apply waivers, compute drift, record (and accept); the report.

    :raises UsageError: any bad input, before a host is contacted.
    """
    from opsrunner.cli.extravars import parse_extra_vars
    from opsrunner.compliance.baseline import accept, drift, load_baseline, record_run
    from opsrunner.compliance.load import control_params, find_profile, load_profile
    from opsrunner.compliance.run import Selection, chosen_controls, run_profile
    from opsrunner.compliance.waivers import apply_waivers, load_waivers
    from opsrunner.inventory import load_inventory
    from opsrunner.plugins import load_registry
    from opsrunner.report.journal import new_run_id
    from opsrunner.state import StateDir

    profile = load_profile(find_profile(req.profile))
    extra = parse_extra_vars(req.extra)
    registry = load_registry(req.plugin_dirs)
    inventory = load_inventory(req.inventory, registry)
    if req.limit:
        inventory.select(req.limit)  # a bad pattern is refused before anything runs
    selection = Selection(controls=tuple(req.controls), tags=tuple(req.tags), limit=req.limit,
                          extra=extra)
    chosen_controls(profile, selection)
    control_params(profile, extra)
    waivers = load_waivers(Path(req.waivers), profile, inventory) if req.waivers else []
    from opsrunner.report.output_file import check_output_file

    for option, path in (("--junit", req.junit), ("--html", req.html)):
        if path is not None:
            check_output_file(path, option)
    state = StateDir.resolve(req.state_dir)
    baseline = load_baseline(state, profile.name)
    report = run_profile(profile, inventory, selection, run_id=new_run_id(),
                         host_vars=_host_vars(inventory, extra),
                         redactor=inventory.redactor())
    apply_waivers(report, waivers, inventory, req.today or date.today())
    if baseline is not None:
        report.drift = drift(report, baseline, state)
    if req.accept:
        accept(state, report)
        report.accepted = True
    from opsrunner.compliance.json_report import to_json

    record_run(state, report, to_json(report))
    return report


def _host_vars(inventory: Any, extra: dict[str, object]) -> dict[str, dict[str, Any]]:
    """Each host's ``hostvars`` for the checks: inventory data, ``-e`` vars, and the engine
    API settings of its engine (as a workflow's checks get them)."""
    from opsrunner.hoststate import HostSession, HostState
    from opsrunner.verify import checks_context

    def no_connection() -> Any:
        raise AssertionError("a compliance run renders variables only; it never connects here")

    states = [HostState(h, HostSession(no_connection), workflow_vars={}, extra_vars=extra,
                        check=False, run_id="") for h in inventory.hosts.values()]
    return {hs.host.name: checks_context(hs, inventory.hosts) for hs in states}
