"""``DELETE /vms/{id}`` (``?detach_only=true``): a VM removed as the engine removes it.

Refused (409, in the engine's order) when delete protection is on, when the VM is not down
(running: ``VM is running``; suspended: not down), when it is locked, when one of its disks is
locked, and with ``detach_only`` when the VM is based on a template other than Blank. The VM
and its devices go at once; its disks are ``locked`` and removed a moment later with their
image files, or with ``detach_only`` stay as floating disks.

Event (AuditLogType code): 113 USER_REMOVE_VM_FINISHED "VM X was successfully removed by U."
"""

from __future__ import annotations

from collections.abc import Mapping

from opsrunner_lab.engine_api.disks import discard_later
from opsrunner_lab.engine_api.estate import is_running, locked_disks, ref_id, vm_disks
from opsrunner_lab.engine_api.faults import conflict
from opsrunner_lab.engine_api.handlers import ApiContext, Handlers, Target
from opsrunner_lab.engine_api.model import BLANK_TEMPLATE_ID
from opsrunner_lab.engine_api.transitions import event_now, require, start_job, user_name

REMOVED_CODE = 113
PROTECTED = ("Cannot remove VM. Delete protection is enabled. In order to delete, disable Delete "
             "protection first.")
RUNNING = "Cannot remove VM. VM is running."
NOT_DOWN = "Cannot remove VM that its state is not down.\n-Please stop the VM first."
LOCKED = "Cannot remove VM: VM is locked. Please try again in a few minutes."
FROM_TEMPLATE = "Cannot remove VM with detaching disks, VM is based from template."


def remove_vm(ctx: ApiContext, target: Target, query: Mapping[str, str]) -> None:
    """``DELETE /vms/{id}`` (see the module doc)."""
    store, delay = ctx.store, ctx.settings.timing.disk
    detach_only = query.get("detach_only", "false").lower() == "true"
    with store.transaction():
        vm = require(ctx, "vms", target.entity_id)
        vm_id, disks = str(vm["id"]), vm_disks(store, target.entity_id)
        if vm.get("delete_protected") == "true":
            raise conflict(PROTECTED)
        if vm.get("status") == "suspended":
            raise conflict(NOT_DOWN)
        if is_running(vm):
            raise conflict(RUNNING)
        if vm.get("status") == "image_locked":
            raise conflict(LOCKED)
        fault = locked_disks("remove VM", disks)
        if fault is not None:
            raise fault
        if detach_only and (ref_id(vm, "template") or BLANK_TEMPLATE_ID) != BLANK_TEMPLATE_ID:
            raise conflict(FROM_TEMPLATE)
        store.remove("vms", vm_id)
        if not detach_only:
            for disk in disks:
                store.update("disks", str(disk["id"]), {"status": "locked"})
                discard_later(ctx, disk, delay)
        event_now(ctx, REMOVED_CODE, f"VM {vm['name']} was successfully removed by "
                                     f"{user_name(ctx)}.")
        start_job(ctx, f"Removing VM {vm['name']} from system", 0.0 if detach_only else delay)


def register(handlers: Handlers) -> None:
    handlers.removers["vms"] = remove_vm
