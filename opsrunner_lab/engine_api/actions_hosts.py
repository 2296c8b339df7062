"""Host ``deactivate`` (maintenance) and ``activate``, with the engine's rules.

Deactivate: the host is ``preparing_for_maintenance`` at once; its running VMs migrate to the
other ``up`` hosts of its cluster (``migrating``, then ``up`` there), then the host reaches
``maintenance`` (handing the SPM role to another up host). Refused for a host already in
maintenance, a host in a state that cannot go there, and a host whose VMs have nowhere to go.
Activate: ``unassigned`` at once, ``up`` a moment later; refused for a host that is up.

Events (AuditLogType codes): 600 USER_VDS_MAINTENANCE, 62/63 VM_MIGRATION_START/DONE,
15 VDS_MAINTENANCE, 16 VDS_ACTIVATE, 13 VDS_DETECTED.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

from opsrunner_lab.engine_api.estate import name, ref_id, up_hosts, vms_on_host
from opsrunner_lab.engine_api.faults import conflict
from opsrunner_lab.engine_api.handlers import ApiContext, Handlers, Target
from opsrunner_lab.engine_api.model import Document, ref
from opsrunner_lab.engine_api.transitions import (
    event_later,
    event_now,
    require,
    start_job,
    user_name,
)
from opsrunner_lab.engine_api.xmlcodec import child_text

CANNOT_MAINTENANCE = "Cannot switch Host to Maintenance mode"
# Statuses MaintenanceNumberOfVdss accepts.
MAINTAINABLE = frozenset({"up", "maintenance", "preparing_for_maintenance", "non_responsive",
                          "error", "down", "non_operational", "install_failed"})


def no_host_for_vms(host: str, cluster: str) -> str:
    """The engine's refusal when a host's VMs have no other up host to go to."""
    return (f"The following Hosts have running VMs and cannot be switched to maintenance mode: "
            f"{host}.\nPlease ensure that the following Clusters have at least one Host in UP "
            f"state: {cluster}.")


def deactivate(ctx: ApiContext, target: Target, body: ET.Element,
               query: Mapping[str, str]) -> Document:
    """``POST /hosts/{id}/deactivate`` with an optional ``<reason>``."""
    store, timing = ctx.store, ctx.settings.timing
    with store.transaction():
        host = require(ctx, "hosts", target.entity_id)
        host_id, host_name, status = str(host["id"]), str(host["name"]), host.get("status")
        if status == "maintenance":
            raise conflict(f"{CANNOT_MAINTENANCE}. Host is already in Maintenance mode.")
        if status not in MAINTAINABLE:
            raise conflict(f"{CANNOT_MAINTENANCE}, Host is not operational.")
        answer: Document = {"host": ref("hosts", host_id)}
        if status == "preparing_for_maintenance":
            return answer  # already on its way
        cluster_id = ref_id(host, "cluster") or ""
        vms = vms_on_host(store, host_id)
        destinations = up_hosts(store, cluster_id, exclude=[host_id])
        if vms and not destinations:
            raise conflict(no_host_for_vms(host_name, name(store, "clusters", cluster_id)))
        store.update("hosts", host_id, {"status": "preparing_for_maintenance"})
        reason = child_text(body, "reason")
        suffix = f" (Reason: {reason})" if reason else ""
        event_now(ctx, 600, f"Host {host_name} was switched to Maintenance mode by "
                            f"{user_name(ctx)}{suffix}.", about={"host": host_id})
        for index, vm in enumerate(vms):
            _migrate(ctx, vm, host, destinations[index % len(destinations)])
        done = (timing.vm_migrate if vms else 0.0) + timing.host_maintenance
        store.schedule("hosts", host_id, done, {"status": "maintenance"})
        if host.get("spm", {}).get("status") == "spm":
            _hand_over_spm(ctx, host_id, cluster_id, done)
        event_later(ctx, done, 15, f"Host {host_name} was switched to Maintenance Mode.",
                    about={"host": host_id})
        answer["job"] = start_job(ctx, f"Moving Host {host_name} to Maintenance", done)
        return answer


def _migrate(ctx: ApiContext, vm: Document, source: Document, destination: Document) -> None:
    """Live-migrate ``vm``: ``migrating`` now, ``up`` on ``destination`` after a moment."""
    store, delay = ctx.store, ctx.settings.timing.vm_migrate
    vm_id = str(vm["id"])
    store.unschedule("vms", vm_id)  # a VM still booting migrates as it is
    store.update("vms", vm_id, {"status": "migrating"})
    names = (f"VM: {vm['name']}, Source: {source['name']}, "
             f"Destination: {destination['name']}")
    about = {"vm": vm_id, "host": str(source["id"])}
    event_now(ctx, 62, f"Migration started ({names}, User: {user_name(ctx)}).", about=about)
    store.schedule("vms", vm_id, delay, {"status": "up",
                                         "host": ref("hosts", str(destination["id"]))})
    seconds = max(1, round(delay))
    event_later(ctx, delay, 63, f"Migration completed ({names}, Duration: {seconds} seconds, "
                                f"Total: {seconds} seconds, Actual downtime: (N/A))",
                about={"vm": vm_id, "host": str(destination["id"])})


def _hand_over_spm(ctx: ApiContext, host_id: str, cluster_id: str, delay: float) -> None:
    """The SPM role moves to another up host of the cluster when its holder leaves."""
    ctx.store.schedule("hosts", host_id, delay, {"spm": {"status": "none"}})
    heirs = up_hosts(ctx.store, cluster_id, exclude=[host_id])
    if heirs:
        ctx.store.schedule("hosts", str(heirs[0]["id"]), delay, {"spm": {"status": "spm"}})


def activate(ctx: ApiContext, target: Target, body: ET.Element,
             query: Mapping[str, str]) -> Document:
    """``POST /hosts/{id}/activate``: ``unassigned`` now, ``up`` after a moment."""
    store, delay = ctx.store, ctx.settings.timing.host_activate
    with store.transaction():
        host = require(ctx, "hosts", target.entity_id)
        host_id, host_name = str(host["id"]), str(host["name"])
        if host.get("status") == "up":
            raise conflict("Cannot activate Host. Host in Up status.")
        store.unschedule("hosts", host_id)  # activating cancels a pending maintenance
        store.update("hosts", host_id, {"status": "unassigned"})
        event_now(ctx, 16, f"Activation of host {host_name} initiated by {user_name(ctx)}.",
                  about={"host": host_id})
        changes: Document = {"status": "up"}
        cluster_id = ref_id(host, "cluster")
        spm_held = any(h.get("spm", {}).get("status") == "spm" for h in store.documents("hosts")
                       if ref_id(h, "cluster") == cluster_id and h["id"] != host_id)
        if not spm_held:
            changes["spm"] = {"status": "spm"}
        store.schedule("hosts", host_id, delay, changes)
        event_later(ctx, delay, 13, f"Status of host {host_name} was set to Up.",
                    about={"host": host_id})
        return {"host": ref("hosts", host_id),
                "job": start_job(ctx, f"Activating Host {host_name}", delay)}


def register(handlers: Handlers) -> None:
    handlers.actions[("hosts", "deactivate")] = deactivate
    handlers.actions[("hosts", "activate")] = activate
