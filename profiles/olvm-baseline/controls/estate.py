"""Controls of the estate as the engine sees it, read through its API (the real ovirtsdk4 on the
control node): hosts, snapshots, storage domains, the guest agent ISO for Windows VMs.

They run once per engine (``hosts: engines``); each names in its evidence every host, VM or
storage domain it judged, so drift shows what changed where.
"""

from __future__ import annotations

import datetime
import fnmatch
from collections.abc import Callable
from typing import Any

Evidence = Callable[[str, object], None]

MAINTENANCE_EVENT = 15
"""AuditLogType VDS_MAINTENANCE: "Host NAME was switched to Maintenance Mode."."""
EVENTS_READ = 500
"""How many of the newest such events are read (the engine lists the newest first)."""


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _stamp(when: datetime.datetime) -> str:
    """UTC, to the second, with a ``Z`` (how the evidence lines give times)."""
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _value(enum: Any) -> str:
    """An ovirtsdk4 enum's value ("" for none)."""
    return str(enum.value) if enum is not None else ""


def test_every_host_is_up(engine_api: Any, evidence: Evidence) -> None:
    hosts = engine_api.hosts_service().list()
    assert hosts, "the engine has no host"
    wrong = []
    for host in sorted(hosts, key=lambda h: str(h.name)):
        status = _value(host.status)
        evidence(f"host {host.name}", status)
        if status != "up":
            wrong.append(f"host {host.name} is in status {status}")
    assert not wrong, f"{'; '.join(wrong)}, expected every host Up in the engine"


def _maintenance_since(engine_api: Any, host: Any) -> datetime.datetime | None:
    """When ``host`` last reached Maintenance, from the newest VDS_MAINTENANCE event about it."""
    events = engine_api.events_service().list(search=f"type={MAINTENANCE_EVENT}",
                                              max=EVENTS_READ)
    times = [e.time for e in events if e.code == MAINTENANCE_EVENT and e.host is not None
             and str(e.host.id) == str(host.id) and e.time is not None]
    return max(times) if times else None


def test_no_host_stays_in_maintenance_too_long(engine_api: Any, params: dict[str, Any],
                                               evidence: Evidence) -> None:
    limit = float(params.get("max_maintenance_hours", 24))
    now = _now()
    too_long = []
    for host in sorted(engine_api.hosts_service().list(), key=lambda h: str(h.name)):
        if _value(host.status) != "maintenance":
            evidence(f"host {host.name}", _value(host.status))
            continue
        since = _maintenance_since(engine_api, host)
        if since is None:
            evidence(f"host {host.name}", "maintenance since before the audit log's oldest "
                                          "event")
            too_long.append(f"host {host.name} is in Maintenance and the audit log has no "
                            "record of it being switched there (older than the log keeps)")
            continue
        hours = (now - since).total_seconds() / 3600
        evidence(f"host {host.name}", f"maintenance since {_stamp(since)}")
        if hours > limit:
            too_long.append(f"host {host.name} is in Maintenance since {_stamp(since)} "
                            f"({hours:.0f} h)")
    assert not too_long, f"{'; '.join(too_long)}, the profile allows {limit:g} h"


def test_no_snapshot_is_too_old(engine_api: Any, params: dict[str, Any],
                                evidence: Evidence) -> None:
    max_days = float(params.get("max_age_days", 7))
    now = _now()
    vms = engine_api.vms_service()
    too_old = []
    for vm in sorted(vms.list(), key=lambda v: str(v.name)):
        snapshots = [s for s in vms.vm_service(vm.id).snapshots_service().list()
                     if _value(s.snapshot_type) != "active" and s.date is not None]
        if not snapshots:
            evidence(f"vm {vm.name}", "no snapshot")
            continue
        oldest = min(snapshots, key=lambda s: s.date)
        days = (now - oldest.date).total_seconds() / 86400
        evidence(f"vm {vm.name}", f"oldest snapshot {oldest.description!r} of "
                                  f"{_stamp(oldest.date)}")
        if days > max_days:
            too_old.append(f"VM {vm.name} has snapshot {oldest.description!r} of "
                           f"{_stamp(oldest.date)} ({days:.1f} days old)")
    assert not too_old, f"{'; '.join(too_old)}, the profile allows {max_days:g} days"


def test_data_domains_have_free_space(engine_api: Any, params: dict[str, Any],
                                      evidence: Evidence) -> None:
    minimum = float(params.get("min_free_percent", 10))
    domains = [d for d in engine_api.storage_domains_service().list()
               if _value(d.type) == "data"]
    assert domains, "the engine has no data storage domain"
    short = []
    for domain in sorted(domains, key=lambda d: str(d.name)):
        if domain.available is None or domain.used is None:
            evidence(f"domain {domain.name}", "space not reported (domain not active)")
            continue
        available, used = int(domain.available), int(domain.used)
        total = available + used
        free = 100.0 * available / total if total else 0.0
        gib = available / 1024 ** 3
        evidence(f"domain {domain.name}", f"{free:.1f}% free ({gib:.1f} GiB of "
                                          f"{total / 1024 ** 3:.1f} GiB)")
        if free < minimum:
            short.append(f"storage domain {domain.name} has {free:.1f}% free ({gib:.1f} GiB "
                         f"available, {used / 1024 ** 3:.1f} GiB used)")
    assert not short, f"{'; '.join(short)}, the profile wants at least {minimum:g}% free"


def _agent_isos(engine_api: Any, patterns: list[str]) -> list[str]:
    """``NAME in DOMAIN`` of each guest agent ISO: an ok ISO disk of a data domain, or a file
    of an ISO domain, whose name matches one of ``patterns``."""
    found = []
    service = engine_api.storage_domains_service()
    for domain in service.list():
        kind = _value(domain.type)
        if kind == "data":
            names = [str(d.alias or d.name) for d in
                     service.storage_domain_service(domain.id).disks_service().list()
                     if _value(d.content_type) == "iso" and _value(d.status) == "ok"]
        elif kind == "iso":
            names = [str(f.name) for f in
                     service.storage_domain_service(domain.id).files_service().list()]
        else:
            continue
        found += [f"{name} in {domain.name}" for name in sorted(names)
                  if any(fnmatch.fnmatch(name.lower(), p) for p in patterns)]
    return found


def test_windows_vms_have_the_guest_agent_iso(engine_api: Any, params: dict[str, Any],
                                              evidence: Evidence) -> None:
    windows = sorted(str(vm.name) for vm in engine_api.vms_service().list()
                     if vm.os is not None and str(vm.os.type or "").startswith("windows"))
    if not windows:
        evidence("windows vms", "no Windows VM")
        return
    evidence("windows vms", ", ".join(windows))
    text = str(params.get("iso_names", "qemu-ga*.iso,virtio-win*.iso"))
    patterns = [p.strip().lower() for p in text.split(",") if p.strip()]
    isos = _agent_isos(engine_api, patterns)
    evidence("guest agent iso", ", ".join(isos) or "none")
    assert isos, (f"{len(windows)} Windows VM(s) ({', '.join(windows)}) but no guest agent ISO "
                  f"({', '.join(patterns)}) in an ISO or data storage domain; "
                  "workflows/qemu-ga-iso.yml uploads one")
