"""Waivers: accepted deviations, each with a justification and an expiry date.

The file (``--waivers FILE``)::

    waivers:
      - control: OLVM-SNAP-001              # a control id of the profile
        hosts: engine                       # optional: a --limit expression (default all)
        justification: CHG-4711, the snapshot is kept until the vendor closes SR 3-123
        expires: 2027-01-31                 # YYYY-MM-DD, that day included

A failure (or error) of a waived control on a matching host is reported as ``waived``, not
passed, and does not fail the run. After its expiry a waiver no longer applies; the report
says so for every result it would have covered. A waiver naming no control of the profile,
a host pattern naming no host or group, a missing justification or a bad date is refused at
its ``file:line:column`` before any host is checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from opsrunner.compliance.model import ERROR, FAILED, WAIVED, ComplianceReport, Profile, Waiver
from opsrunner.errors import (
    Location,
    Problem,
    UsageError,
    WorkflowError,
    WorkflowErrors,
    suggest,
    unknown_name_message,
)
from opsrunner.inventory import Inventory
from opsrunner.yamlsrc import Positions, load_yaml

WAIVER_KEYS = ("control", "hosts", "justification", "expires")


def load_waivers(path: Path, profile: Profile, inventory: Inventory) -> list[Waiver]:
    """Read and check the waivers file ``path`` against ``profile`` and ``inventory``.

    :raises WorkflowErrors: every problem, one ``file:line:column: message`` a line.
    """
    try:
        data, positions = load_yaml(path, kind="waivers file", error=WorkflowError)
    except WorkflowError as exc:
        raise WorkflowErrors([(exc.location or Location(str(path)), exc.message)]) from None
    except ValueError as exc:  # a date that does not exist: YAML gives no position
        raise WorkflowErrors([(Location(str(path)), f"invalid date: {exc}; expected "
                                                    "YYYY-MM-DD")]) from None
    problems: list[Problem] = []
    listing = data.get("waivers") if isinstance(data, dict) else None
    if not isinstance(data, dict) or set(data) != {"waivers"} or not isinstance(listing, list):
        raise WorkflowErrors([(positions.value(()), "a waivers file is a mapping with one key, "
                                                    "'waivers': a list of waivers (keys: "
                                                    + ", ".join(WAIVER_KEYS) + ")")])
    waivers = [w for index, item in enumerate(listing)
               if (w := _waiver(item, positions, index, profile, inventory, problems))]
    if problems:
        raise WorkflowErrors(problems)
    return waivers


def _waiver(item: Any, positions: Positions, index: int, profile: Profile,
            inventory: Inventory, problems: list[Problem]) -> Waiver | None:
    path = ("waivers", index)
    where = positions.key(path)
    if not isinstance(item, dict):
        problems.append((where, "a waiver is a mapping with keys: " + ", ".join(WAIVER_KEYS)))
        return None
    before = len(problems)
    for key in item:
        if key not in WAIVER_KEYS:
            problems.append((positions.key((*path, key)), f"unknown key {key!r} in a waiver"
                                                          f"{suggest(str(key), WAIVER_KEYS)} "
                                                          f"(keys: {', '.join(WAIVER_KEYS)})"))
    control = item.get("control")
    if not isinstance(control, str) or control not in profile.controls:
        at = positions.value((*path, "control")) if "control" in item else where
        problems.append((at, f"profile {profile.name}: " + unknown_name_message(
            "control", str(control), profile.controls) if control else
            "a waiver needs 'control': the id of the control it waives"))
    hosts = item.get("hosts", "all")
    if not isinstance(hosts, str) or not hosts.strip():
        problems.append((positions.value((*path, "hosts")), "hosts must be a host pattern "
                                                            "(as --limit), e.g. engine or kvm*"))
    else:
        try:
            inventory.select(hosts)
        except UsageError as exc:
            problems.append((positions.value((*path, "hosts")), exc.message))
    justification = item.get("justification")
    if not isinstance(justification, str) or not justification.strip():
        at = positions.value((*path, "justification")) if "justification" in item else where
        problems.append((at, "a waiver needs a 'justification': why the deviation is "
                             "accepted (a change or ticket number, who approved it)"))
    expires = item.get("expires")
    if not isinstance(expires, date):
        at = positions.value((*path, "expires")) if "expires" in item else where
        problems.append((at, f"expires must be a date YYYY-MM-DD (the last day the waiver "
                             f"applies), got {expires!r}" if "expires" in item else
                             "a waiver needs 'expires': the last day it applies (YYYY-MM-DD)"))
    if len(problems) > before:
        return None
    assert isinstance(control, str) and isinstance(justification, str)
    assert isinstance(hosts, str) and isinstance(expires, date)
    return Waiver(control, hosts, justification.strip(), expires, where)


def apply_waivers(report: ComplianceReport, waivers: Sequence[Waiver], inventory: Inventory,
                  today: date) -> None:
    """Turn each failure covered by a waiver in force into ``waived``; note each failure an
    expired waiver would have covered (in ``report.notes``). ``report.waivers`` becomes
    ``waivers``."""
    report.waivers = list(waivers)
    covers = {id(w): {h.name for h in inventory.select(w.hosts)} for w in waivers}
    for result in report.results:
        if result.status not in (FAILED, ERROR):
            continue
        matching = [w for w in waivers if w.control == result.control
                    and result.host in covers[id(w)]]
        in_force = [w for w in matching if w.in_force(today)]
        if in_force:
            result.status, result.waiver = WAIVED, in_force[0]
            continue
        for waiver in matching:
            report.notes.append(f"the waiver of {waiver.control} on {result.host} "
                                f"({waiver.location}) expired on {waiver.expires.isoformat()}: "
                                f"it no longer applies, the failure counts")
