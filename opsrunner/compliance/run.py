"""Running a profile's controls on the estate: one result per control and host.

Each control runs on the hosts its ``hosts:`` pattern selects in the inventory (and
``--limit``); a pattern naming a group this inventory does not have selects no host (the
profile serves estates of every shape). Controls with the same hosts run in one pytest
process (testinfra over strict SSH, as a workflow's checks: :func:`opsrunner.verify.run_checks`).
The cases of a parametrized check are folded into one result: failed if one failed, else
error if one could not run, else passed if one passed, else skipped.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsrunner.compliance.load import control_params
from opsrunner.compliance.model import (
    ERROR,
    FAILED,
    PASSED,
    SKIPPED,
    ComplianceReport,
    Control,
    ControlResult,
    Profile,
)
from opsrunner.errors import UsageError
from opsrunner.host import Host
from opsrunner.inventory import Inventory
from opsrunner.report import CheckRecord
from opsrunner.report.journal import timestamp
from opsrunner.secrets import Redactor

ORDER = (FAILED, ERROR, PASSED, SKIPPED)
"""How the cases of one control on one host fold: the first status present wins."""


@dataclass(frozen=True)
class Selection:
    """What to run: the controls (all by default) on the hosts allowed by ``limit``."""

    controls: Sequence[str] = ()
    """Control ids; empty: every control of the profile."""
    tags: Sequence[str] = ()
    """Only controls with one of these tags; empty: no tag filter."""
    limit: str | None = None
    extra: Mapping[str, object] = field(default_factory=dict)
    only_hosts: frozenset[str] | None = None
    """Besides ``limit``: only these hosts (a workflow's hosts, after it ran)."""


def chosen_controls(profile: Profile, selection: Selection) -> list[Control]:
    """The controls ``selection`` names, in profile order.

    :raises UsageError: an id the profile does not have (with a suggestion).
    """
    from opsrunner.errors import unknown_name_message

    for cid in selection.controls:
        if cid not in profile.controls:
            raise UsageError(f"profile {profile.name}: "
                             + unknown_name_message("control", cid, profile.controls))
    wanted = set(selection.controls)
    return [c for c in profile.controls.values()
            if (not wanted or c.id in wanted)
            and (not selection.tags or set(c.tags) & set(selection.tags))]


def hosts_of(control: Control, inventory: Inventory, allowed: set[str]) -> list[Host]:
    """The hosts ``control`` applies to, in inventory order (none when its pattern names a
    group or host this inventory does not have)."""
    try:
        selected = inventory.select(control.hosts)
    except UsageError:
        return []
    return [h for h in selected if h.name in allowed]


def allowed_hosts(inventory: Inventory, limit: str | None) -> set[str]:
    """The host names ``--limit`` lets through (every host without one)."""
    return {h.name for h in inventory.select(limit)} if limit else set(inventory.hosts)


def run_profile(profile: Profile, inventory: Inventory, selection: Selection, *,
                run_id: str, host_vars: Mapping[str, Mapping[str, Any]],
                redactor: Redactor) -> ComplianceReport:
    """Run the selected controls; return the report (statuses before waivers and drift).

    :param host_vars: each host's ``hostvars`` for the checks (see
        :func:`opsrunner.verify.checks_context`).
    :raises UsageError: a bad selection, or no control applies to any selected host.
    """
    from opsrunner.verify import run_checks

    started = time.monotonic()
    stamp = timestamp()
    params = control_params(profile, selection.extra)
    allowed = allowed_hosts(inventory, selection.limit)
    if selection.only_hosts is not None:
        allowed &= selection.only_hosts
    controls = chosen_controls(profile, selection)
    plan = {c.id: hosts_of(c, inventory, allowed) for c in controls}
    used = [h.name for h in inventory.hosts.values() if any(h in hs for hs in plan.values())]
    if not used:
        raise UsageError(f"profile {profile.name}: no selected control applies to a host of "
                         f"inventory {inventory.source}"
                         + (f" with --limit {selection.limit!r}" if selection.limit else ""))
    report = ComplianceReport(run_id=run_id, profile=profile, started=stamp, hosts=used,
                              inventory=inventory.source, limit=selection.limit)
    for hosts, group in _by_hosts(controls, plan):
        node_params = {str(c.check) + "::" + c.test: params[c.id] for c in group}
        records = run_checks([c.node_id for c in group], hosts, host_vars=host_vars,
                             redactor=redactor, params=node_params)
        for host in hosts:
            report.results += fold(group, host.name, records.get(host.name, []))
    report.duration = time.monotonic() - started
    return report


def _by_hosts(controls: Iterable[Control],
              plan: Mapping[str, list[Host]]) -> list[tuple[list[Host], list[Control]]]:
    groups: dict[tuple[str, ...], tuple[list[Host], list[Control]]] = {}
    for control in controls:
        hosts = plan[control.id]
        if hosts:
            key = tuple(h.name for h in hosts)
            groups.setdefault(key, (hosts, []))[1].append(control)
    return list(groups.values())


def fold(controls: Sequence[Control], host: str,
         records: Sequence[CheckRecord]) -> list[ControlResult]:
    """One result per control from the check records of ``host`` (see the module docstring).

    A record that belongs to no control (``verify``: the host could not be checked at all)
    makes every control without a record of its own an error with that message.
    """
    by_test: dict[tuple[str, str], Control] = {(c.check.stem, c.test): c for c in controls}
    cases: dict[str, list[CheckRecord]] = {c.id: [] for c in controls}
    general: list[CheckRecord] = []
    for record in records:
        test = record.name.partition("[")[0]
        control = by_test.get((_module_of(record.file), test)) or _only_by_name(controls, test)
        if control is None:
            general.append(record)
        else:
            cases[control.id].append(record)
    results: list[ControlResult] = []
    for control in controls:
        found = cases[control.id]
        if not found:
            why = "; ".join(r.message for r in general if r.message) or \
                "the check reported no result for this host"
            results.append(ControlResult(control.id, host, ERROR, why))
            continue
        results.append(_fold_cases(control, host, found))
    return results


def _module_of(file: str) -> str:
    """The module name of a case's ``file`` (``x/engine_tls.py``) or classname
    (``engine_tls``, ``pkg.engine_tls``)."""
    return Path(file).stem if file.endswith(".py") else file.rpartition(".")[2]


def _only_by_name(controls: Sequence[Control], test: str) -> Control | None:
    matching = [c for c in controls if c.test == test]
    return matching[0] if len(matching) == 1 else None


def _fold_cases(control: Control, host: str, found: Sequence[CheckRecord]) -> ControlResult:
    statuses = {r.status for r in found}
    status = next((s for s in ORDER if s in statuses), ERROR)
    lines = [_case_message(r, host) for r in found if r.status == status and r.message]
    evidence: dict[str, str] = {}
    for record in found:
        evidence.update(record.evidence)
    return ControlResult(control.id, host, status, "\n".join(dict.fromkeys(lines)),
                         evidence, sum(r.duration for r in found), len(found))


def _case_message(record: CheckRecord, host: str) -> str:
    """The check's own words: pytest's ``AssertionError: msg`` / ``assert ...`` trimmed to
    the message (its first line), with the parameter of a parametrized case."""
    text = record.message.strip()
    for prefix in ("AssertionError: ", "Failed: ", "Skipped: "):
        if text.startswith(prefix):
            text = text[len(prefix):]
    first = text.splitlines()[0] if text else ""
    param = _param_of(record.name, host)
    return f"[{param}] {first}" if param else first


def _param_of(name: str, host: str) -> str:
    """The parameter part of ``test_x[ssh://engine-443]`` (``443`` for host ``engine``) or
    of ``test_x[local-443]``; "" for a case without one."""
    inside = name.partition("[")[2].removesuffix("]")
    for scheme in ("ssh://", "local://", "paramiko://"):
        if inside.startswith(scheme):
            rest = inside[len(scheme):]
            rest = rest[len(host):] if rest.startswith(host) else rest
            return rest.removeprefix("-")
    if inside == "local" or inside.startswith("local-"):
        return inside.removeprefix("local").removeprefix("-")
    return inside
