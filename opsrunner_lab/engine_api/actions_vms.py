"""VM ``start``, ``stop`` and ``shutdown``, and a guest powering itself off.

The API state changes as below; the settings' ``guest_power`` (in the lab: the guest's sshd)
is told when a VM starts (at once) and goes down (after the transition's delay).

Start: ``wait_for_launch`` on the least busy ``up`` host of the VM's cluster, ``powering_up``,
then ``up``. Refused for a running or locked VM, a VM with locked disks (as while its template
or a snapshot is being made), and a cluster without an up host; a refusal is logged (54).
Stop: ``down`` after a moment; shutdown: ``powering_down``, then ``down``. Both accept a VM
that is already down (the engine skips them, logging so) and refuse one that is not running.

Events (AuditLogType codes): 153 USER_STARTED_VM, 32 USER_RUN_VM, 54 USER_FAILED_RUN_VM,
33 USER_STOP_VM, 73 USER_INITIATED_SHUTDOWN_VM, 61 VM_DOWN, 254 VM_ALREADY_IN_REQUESTED_STATUS.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

from opsrunner_lab.engine_api.estate import (
    is_running,
    locked_disks,
    name,
    ref_id,
    up_hosts,
    vm_disks,
)
from opsrunner_lab.engine_api.events import record_event
from opsrunner_lab.engine_api.faults import ApiFault, conflict
from opsrunner_lab.engine_api.handlers import ApiContext, Handlers, Target
from opsrunner_lab.engine_api.model import Document, ref
from opsrunner_lab.engine_api.store import Store
from opsrunner_lab.engine_api.transitions import (
    event_later,
    event_now,
    require,
    start_job,
    user_name,
)
from opsrunner_lab.engine_api.vm_devices import next_run_changes, set_current_cdrom

VM_DOWN_HOOK = "vm_down"


def _refusal_to_run(ctx: ApiContext, vm: Document) -> ApiFault | None:
    if vm.get("status") == "image_locked":
        return conflict("Cannot run VM: VM is locked. Please try again in a few minutes.")
    if is_running(vm):
        return conflict("Cannot run VM. VM is running.")
    fault = locked_disks("run VM", vm_disks(ctx.store, str(vm["id"])))
    if fault is not None:
        return fault
    if not up_hosts(ctx.store, ref_id(vm, "cluster") or ""):
        return conflict("Cannot run VM. There are no available running Hosts in the Host "
                        "Cluster.")
    return None


def start(ctx: ApiContext, target: Target, body: ET.Element,
          query: Mapping[str, str]) -> Document:
    """``POST /vms/{id}/start``."""
    store, timing = ctx.store, ctx.settings.timing
    with store.transaction():
        vm = require(ctx, "vms", target.entity_id)
        vm_id, vm_name = str(vm["id"]), str(vm["name"])
        fault = _refusal_to_run(ctx, vm)
        if fault is not None:
            event_now(ctx, 54, f"Failed to run VM {vm_name} due to a failed validation: "
                               f"{fault.detail} (User: {user_name(ctx)}).",
                      severity="error", about={"vm": vm_id})
            raise fault
        host = up_hosts(store, ref_id(vm, "cluster") or "")[0]
        host_id, host_name = str(host["id"]), str(host["name"])
        store.update("vms", vm_id, {"status": "wait_for_launch",
                                    "host": ref("hosts", host_id), "run_once": "false"})
        set_current_cdrom(store, vm_id, running=True)
        event_now(ctx, 153, f"VM {vm_name} was started by {user_name(ctx)} (Host: {host_name}).",
                  about={"vm": vm_id, "host": host_id})
        up_at = timing.vm_launch + timing.vm_boot
        store.schedule("vms", vm_id, timing.vm_launch, {"status": "powering_up"})
        store.schedule("vms", vm_id, up_at, {"status": "up",
                                             "start_time": store.now_ms() + int(up_at * 1000)})
        event_later(ctx, up_at, 32, f"VM {vm_name} started on Host {host_name}",
                    about={"vm": vm_id, "host": host_id})
        answer = {"vm": ref("vms", vm_id), "job": start_job(ctx, f"Launching VM {vm_name}",
                                                            up_at)}
    if ctx.settings.guest_power is not None:
        ctx.settings.guest_power.power_on(vm_name)
    return answer


def _power_off(ctx: ApiContext, target: Target, verb: str) -> Document:
    """Stop (``verb`` ``stop``) or shut down (``shutdown``) a VM."""
    store, timing = ctx.store, ctx.settings.timing
    with store.transaction():
        vm = require(ctx, "vms", target.entity_id)
        vm_id, vm_name = str(vm["id"]), str(vm["name"])
        answer: Document = {"vm": ref("vms", vm_id)}
        action = "Stop" if verb == "stop" else "Shutdown"
        if vm.get("status") == "down":
            event_now(ctx, 254, f"VM {vm_name} is already Down, {action} not required.",
                      about={"vm": vm_id})
            return answer
        if not (is_running(vm) or vm.get("status") == "paused"):
            raise conflict(f"Cannot {verb} VM. VM is not running.")
        host_id = ref_id(vm, "host")
        host_name = name(store, "hosts", host_id)
        store.unschedule("vms", vm_id)  # a VM still booting stops as it is
        about = {"vm": vm_id, "host": host_id or ""}
        if verb == "stop":
            delay, exit_message = timing.vm_stop, "Admin shut down from the engine"
            event_now(ctx, 33, f"VM {vm_name} powered off by {user_name(ctx)} "
                               f"(Host: {host_name}).", about=about)
        else:
            delay, exit_message = timing.vm_shutdown, "User shut down from within the guest"
            store.update("vms", vm_id, {"status": "powering_down"})
            event_now(ctx, 73, f"VM shutdown initiated by {user_name(ctx)} on VM {vm_name} "
                               f"(Host: {host_name}).", about=about)
        store.schedule_hook("vms", vm_id, delay, VM_DOWN_HOOK,
                            {"stop_time": store.now_ms() + int(delay * 1000)})
        event_later(ctx, delay, 61, f"VM {vm_name} is down. Exit message: {exit_message}",
                    about={"vm": vm_id})
        verbing = "Stopping" if verb == "stop" else "Shutting down"
        answer["job"] = start_job(ctx, f"{verbing} VM {vm_name}", delay)
    if ctx.settings.guest_power is not None:
        ctx.settings.guest_power.power_off(vm_name, delay)
    return answer


def stop(ctx: ApiContext, target: Target, body: ET.Element,
         query: Mapping[str, str]) -> Document:
    """``POST /vms/{id}/stop``: power off."""
    return _power_off(ctx, target, "stop")


def shutdown(ctx: ApiContext, target: Target, body: ET.Element,
             query: Mapping[str, str]) -> Document:
    """``POST /vms/{id}/shutdown``: ask the guest to shut down."""
    return _power_off(ctx, target, "shutdown")


def powered_off_from_guest(store: Store, vm_id: str) -> bool:
    """The guest of a running VM powered itself off: down now (event 61); False if the VM was
    not running (nothing changes)."""
    with store.transaction():
        vm = store.get("vms", vm_id)
        if vm is None or not (is_running(vm) or vm.get("status") == "paused"):
            return False
        store.unschedule("vms", vm_id)
        vm_down(store, "vms", vm_id, {"stop_time": store.now_ms()})
        record_event(store, 61, f"VM {vm['name']} is down. Exit message: User shut down from "
                                f"within the guest", about={"vm": vm_id})
        return True


def vm_down(store: Store, collection: str, vm_id: str, args: Document) -> None:
    """The VM is down: no host, stopped now, its next-run configuration applied."""
    vm = store.get(collection, vm_id)
    if vm is None:
        return
    changes = next_run_changes(vm)
    changes.update({"status": "down", "host": None, "stop_time": args["stop_time"]})
    store.update(collection, vm_id, changes)
    set_current_cdrom(store, vm_id, running=False)


def register(handlers: Handlers) -> None:
    handlers.actions[("vms", "start")] = start
    handlers.actions[("vms", "stop")] = stop
    handlers.actions[("vms", "shutdown")] = shutdown
    handlers.hooks[VM_DOWN_HOOK] = vm_down
