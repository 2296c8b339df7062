"""VM snapshots: ``POST /vms/{id}/snapshots``, ``POST .../snapshots/{id}/restore`` and
``DELETE .../snapshots/{id}``.

A snapshot is ``locked`` while it is made (the VM's disks too), then ``ok``; it keeps the VM's
configuration of that moment (``<vm>``, references by id only, as the engine writes it) and
memory only for a running VM. Restore needs the VM down: the VM is ``image_locked`` until it has
the snapshot's configuration back, and the snapshots taken after it are gone. Removal locks the
snapshot until it disappears. One snapshot operation at a time per VM; never the Active VM.
The context's ``guest_disk`` (in the lab: the guest's sysroot) is captured when the snapshot is
requested, put back when a restore is requested, and dropped with the snapshot (and with the
later snapshots a restore drops); a failure of it is a 500 that changes nothing.

Events (AuditLogType codes): 45/68 USER_CREATE_SNAPSHOT(_FINISHED_SUCCESS), 1190/100
USER_RESTORE_FROM_SNAPSHOT_START/FINISH_SUCCESS, 342/356 USER_REMOVE_SNAPSHOT(_FINISHED_SUCCESS).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from opsrunner.errors import OpsrunnerError
from opsrunner_lab.engine_api.estate import is_running, locked_disks, vm_disks
from opsrunner_lab.engine_api.faults import ApiFault, conflict, incomplete
from opsrunner_lab.engine_api.handlers import ApiContext, Handlers, Target
from opsrunner_lab.engine_api.model import Document, flag, ref
from opsrunner_lab.engine_api.templates import TEMPLATE_KEYS
from opsrunner_lab.engine_api.transitions import (
    event_later,
    event_now,
    new_id,
    remove_later,
    require,
    start_job,
    user_name,
)
from opsrunner_lab.engine_api.xmlcodec import child_text

# The configuration a restore gives back (references stay those of the VM).
RESTORED_KEYS = tuple(k for k in TEMPLATE_KEYS if k not in (
    "creation_time", "large_icon", "small_icon", "cluster", "cpu_profile"))


def _ids_only(value: Any) -> Any:
    """A VM document as a snapshot embeds it: references without ``href``."""
    if isinstance(value, dict):
        return {k: _ids_only(v) for k, v in value.items() if k != "href"
                and not k.startswith("_")}
    if isinstance(value, list):
        return [_ids_only(v) for v in value]
    return value


def _check(ctx: ApiContext, vm: Document, action: str) -> None:
    """The engine's refusals common to every snapshot operation (``action``: "create")."""
    if vm.get("status") == "image_locked":
        raise conflict(f"Cannot {action} Snapshot: VM is locked. Please try again in a few "
                       "minutes.")
    if any(s.get("snapshot_status") == "locked"
           for s in ctx.store.documents(f"vms/{vm['id']}/snapshots")):
        raise conflict(f"Cannot {action} Snapshot. The VM is performing an operation on a "
                       "Snapshot. Please wait for the operation to finish, and try again.")
    fault = locked_disks(f"{action} Snapshot", vm_disks(ctx.store, str(vm["id"])))
    if fault is not None:
        raise fault


def _disk_fault(action: str, error: OpsrunnerError) -> ApiFault:
    """The guest disk could not follow the snapshot operation (the simulator's own failure)."""
    return ApiFault(500, f"[Cannot {action} Snapshot. {error}]")


def _lock_disks(ctx: ApiContext, vm_id: str, delay: float) -> None:
    for disk in vm_disks(ctx.store, vm_id):
        ctx.store.update("disks", str(disk["id"]), {"status": "locked"})
        ctx.store.schedule("disks", str(disk["id"]), delay, {"status": "ok"})


def add_snapshot(ctx: ApiContext, collection: str, body: ET.Element,
                 query: Mapping[str, str]) -> Document:
    """``POST /vms/{id}/snapshots`` with ``<description>`` and ``<persist_memorystate>``."""
    store, delay = ctx.store, ctx.settings.timing.snapshot
    with store.transaction():
        vm = require(ctx, "vms", collection.split("/")[1])
        vm_id = str(vm["id"])
        description = child_text(body, "description")
        if not description:
            raise incomplete("Snapshot", ["description"], "add")
        _check(ctx, vm, "create")
        memory = child_text(body, "persist_memorystate") == "true" and is_running(vm)
        snapshot_id = new_id()
        try:
            if ctx.guest_disk is not None:
                ctx.guest_disk.capture(str(vm["name"]), snapshot_id)
        except OpsrunnerError as error:
            raise _disk_fault("create", error) from None
        created = store.put(collection, {
            "id": snapshot_id, "description": description, "date": store.now_ms(),
            "persist_memorystate": flag(memory), "snapshot_status": "locked",
            "snapshot_type": "regular", "vm": {"id": vm_id, **_ids_only(
                {k: v for k, v in vm.items() if k != "id"})}})
        store.schedule(collection, snapshot_id, delay, {"snapshot_status": "ok"})
        _lock_disks(ctx, vm_id, delay)
        names = f"Snapshot {description} creation for VM {vm['name']}"
        event_now(ctx, 45, f"{names} was initiated by {user_name(ctx)}.", about={"vm": vm_id})
        event_later(ctx, delay, 68, f"{names} has been completed.", about={"vm": vm_id})
        start_job(ctx, f"Creating VM Snapshot {description} for VM {vm['name']}", delay)
        return created


def restore(ctx: ApiContext, target: Target, body: ET.Element,
            query: Mapping[str, str]) -> Document:
    """``POST /vms/{vm}/snapshots/{id}/restore``: the VM must be down."""
    store, delay = ctx.store, ctx.settings.timing.snapshot
    with store.transaction():
        snapshot = require(ctx, target.collection, target.entity_id)
        vm = require(ctx, "vms", target.collection.split("/")[1])
        vm_id = str(vm["id"])
        if snapshot.get("snapshot_type") == "active":
            raise conflict("Cannot revert to Snapshot. The Active VM snapshot is the VM's "
                           "current state and cannot be restored.")
        if vm.get("status") not in ("down", "image_locked"):
            raise conflict("Cannot revert to Snapshot. At least one of the VMs is not down.")
        _check(ctx, vm, "revert to")
        try:
            if ctx.guest_disk is not None:
                ctx.guest_disk.restore(str(vm["name"]), target.entity_id)
        except OpsrunnerError as error:
            raise _disk_fault("revert to", error) from None
        store.update(target.collection, target.entity_id, {"snapshot_status": "locked"})
        store.schedule(target.collection, target.entity_id, delay, {"snapshot_status": "ok"})
        store.update("vms", vm_id, {"status": "image_locked"})
        config = {k: snapshot["vm"][k] for k in RESTORED_KEYS if k in snapshot.get("vm", {})}
        store.schedule("vms", vm_id, delay, {**config, "status": "down"})
        _lock_disks(ctx, vm_id, delay)
        later = [str(s["id"]) for s in store.documents(target.collection)
                 if s.get("snapshot_type") == "regular" and s["date"] > snapshot["date"]]
        for later_id in later:
            remove_later(ctx, target.collection, later_id, delay)
        if ctx.guest_disk is not None:
            ctx.guest_disk.discard(later)
        event_now(ctx, 1190, f"Restoring VM {vm['name']} from snapshot started by user "
                             f"{user_name(ctx)}.", about={"vm": vm_id})
        event_later(ctx, delay, 100, f"VM {vm['name']} restoring from Snapshot has been "
                                     "completed.", about={"vm": vm_id})
        job = start_job(ctx, f"Restoring VM Snapshot {snapshot.get('description')} of VM "
                             f"{vm['name']}", delay)
        return {"snapshot": ref(target.collection, target.entity_id), "job": job}


def remove_snapshot(ctx: ApiContext, target: Target, query: Mapping[str, str]) -> None:
    """``DELETE /vms/{vm}/snapshots/{id}``: locked until it is gone."""
    store, delay = ctx.store, ctx.settings.timing.snapshot
    with store.transaction():
        snapshot = require(ctx, target.collection, target.entity_id)
        vm = require(ctx, "vms", target.collection.split("/")[1])
        vm_id = str(vm["id"])
        if snapshot.get("snapshot_type") == "active":
            raise conflict("Cannot remove Snapshot. Removing the VM active Snapshot is not "
                           "allowed.")
        _check(ctx, vm, "remove")
        store.update(target.collection, target.entity_id, {"snapshot_status": "locked"})
        remove_later(ctx, target.collection, target.entity_id, delay)
        if ctx.guest_disk is not None:
            ctx.guest_disk.discard([target.entity_id])
        _lock_disks(ctx, vm_id, delay)
        names = f"Snapshot {snapshot.get('description')} deletion on VM {vm['name']}"
        event_now(ctx, 342, f"{names} was initiated by {user_name(ctx)}.", about={"vm": vm_id})
        event_later(ctx, delay, 356, f"{names} has been completed.", about={"vm": vm_id})
        start_job(ctx, f"Removing Snapshot {snapshot.get('description')} of VM {vm['name']}",
                  delay)


def register(handlers: Handlers) -> None:
    handlers.adders["vms/snapshots"] = add_snapshot
    handlers.actions[("vms/snapshots", "restore")] = restore
    handlers.removers["vms/snapshots"] = remove_snapshot
