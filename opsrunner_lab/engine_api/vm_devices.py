"""VM configuration updates: boot devices and the operating system type (``PUT /vms/{id}``)
and the CD-ROM's ISO (``PUT /vms/{id}/cdroms/{cdrom}``, ``?current=true`` for the running VM).

A change of a running VM's boot order or operating system type waits for its next run, as on
the engine: it is kept in
``_next_run`` (shown by ``GET /vms/{id}?next_run=true``, ``next_run_configuration_exists``) and
applied when the VM goes down. A CD-ROM keeps the persistent ``file`` (next boot) and, while
the VM runs, ``_current_file`` (shown by ``?current=true``). An empty file id ejects.

Events: 35 USER_UPDATE_VM, 38 USER_CHANGE_DISK_VM, 528 USER_EJECT_VM_DISK.
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from opsrunner_lab.engine_api.estate import is_running, locked_disks, vm_status_word
from opsrunner_lab.engine_api.faults import ApiFault, bad_request, conflict, incomplete
from opsrunner_lab.engine_api.handlers import ApiContext, Handlers, Target
from opsrunner_lab.engine_api.model import Document, listing
from opsrunner_lab.engine_api.store import Store, merge
from opsrunner_lab.engine_api.transitions import event_now, require, user_name
from opsrunner_lab.engine_api.xmlcodec import child_text

BOOT_DEVICES = ("cdrom", "hd", "network")
# Operating system types of the engine's osinfo (x86_64), as a VM's os/type names them.
OS_TYPES = frozenset((
    "other", "other_linux", "rhel_3", "rhel_4", "rhel_4x64", "rhel_5", "rhel_5x64", "rhel_6",
    "rhel_6x64", "rhel_7x64", "rhel_8x64", "rhel_9x64", "sles_11", "sles_12", "sles_15",
    "ubuntu_12_04", "ubuntu_14_04", "ubuntu_16_04", "ubuntu_18_04", "ubuntu_20_04",
    "ubuntu_22_04", "debian_7", "debian_9", "debian_10", "debian_11", "freebsd", "freebsdx64",
    "windows_xp", "windows_2003", "windows_2003x64", "windows_2008", "windows_2008x64",
    "windows_2008R2x64", "windows_7", "windows_7x64", "windows_8", "windows_8x64",
    "windows_2012x64", "windows_2012R2x64", "windows_10", "windows_10x64", "windows_2016x64",
    "windows_2019x64", "windows_2022", "windows_11"))
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def _true(query: Mapping[str, str], name: str) -> bool:
    return query.get(name, "false").lower() == "true"


def boot_devices(body: ET.Element) -> list[str] | None:
    """The ``os/boot/devices`` of a ``<vm>`` body, validated; None when absent."""
    found = body.find("os/boot/devices")
    if found is None:
        return None
    devices = [(d.text or "").strip() for d in found.findall("device")]
    for device in devices:
        if device not in BOOT_DEVICES:
            raise ApiFault(400, f"{device} is not a member of BootDevice. Possible values for "
                                f"BootDevice are: {', '.join(BOOT_DEVICES)}",
                           reason="Invalid value")
    return devices


def os_type(body: ET.Element) -> str | None:
    """The ``os/type`` of a ``<vm>`` body, validated; None when absent."""
    found = body.find("os/type")
    if found is None:
        return None
    value = (found.text or "").strip()
    if value not in OS_TYPES:
        raise bad_request(f"Cannot edit VM. The operating system '{value}' is not supported "
                          "(osinfo has no such type).")
    return value


def update_vm(ctx: ApiContext, target: Target, body: ET.Element,
              query: Mapping[str, str]) -> Document:
    """``PUT /vms/{id}``: name, description, comment, boot devices and the OS type."""
    store = ctx.store
    with store.transaction():
        vm = require(ctx, target.collection, target.entity_id)
        vm_id = str(vm["id"])
        if vm.get("status") == "image_locked":
            raise conflict("Cannot update VM: VM is locked. Please try again in a few minutes.")
        now: Document = {key: text for key in ("name", "description", "comment")
                         if (text := child_text(body, key)) is not None}
        if "name" in now and any(other["name"] == now["name"] and other["id"] != vm_id
                                 for other in store.documents("vms")):
            raise conflict("Cannot update VM. The VM name is already in use, please choose a "
                           "unique name and try again.")
        devices, system = boot_devices(body), os_type(body)
        if devices is not None or system is not None:
            changes: Document = {"os": {}}
            if devices is not None:
                changes["os"]["boot"] = {"devices": listing("device", devices)}
            if system is not None:
                changes["os"]["type"] = system
            if is_running(vm) and not _true(query, "next_run"):
                pending = copy.deepcopy(vm.get("_next_run", {}))
                merge(pending, changes)
                now.update({"_next_run": pending, "next_run_configuration_exists": "true"})
            else:
                now.update(changes)
        updated = store.update("vms", vm_id, now)
        event_now(ctx, 35, f"VM {updated['name']} configuration was updated by "
                           f"{user_name(ctx)}.", about={"vm": vm_id})
        return updated


def view_vm(doc: Document, query: Mapping[str, str]) -> Document:
    """``?next_run=true``: the configuration the VM gets at its next run."""
    if _true(query, "next_run") and "_next_run" in doc:
        doc = copy.deepcopy(doc)
        merge(doc, doc.pop("_next_run"))
    return doc


def next_run_changes(vm: Document) -> Document:
    """The changes that make a VM going down take its next-run configuration."""
    changes: Document = copy.deepcopy(vm.get("_next_run", {}))
    changes.update({"_next_run": None, "next_run_configuration_exists": "false"})
    return changes


def set_current_cdrom(store: Store, vm_id: str, running: bool) -> None:
    """At start the running CD is the configured one; at stop there is none."""
    for cdrom in store.documents(f"vms/{vm_id}/cdroms"):
        current = cdrom.get("file", {}).get("id") if running else None
        store.update(f"vms/{vm_id}/cdroms", str(cdrom["id"]), {"_current_file": current})


def _iso_file(ctx: ApiContext, file_id: str, action: str) -> None:
    """Check that ``file_id`` names an ISO: an ``iso`` disk (by id) or an ``.iso`` file."""
    if not _GUID.match(file_id):
        if file_id.lower().endswith(".iso"):
            return
        raise bad_request(f"Cannot {action} VM. The CD-ROM file must be the id of an ISO disk "
                          f"or the name of an .iso file, not '{file_id}'.")
    disk = ctx.store.get("disks", file_id)
    if disk is None or disk.get("content_type") != "iso":
        raise bad_request(f"Cannot {action} VM. There is no ISO disk with id {file_id}.")
    fault = locked_disks(f"{action} VM", [disk])
    if fault is not None:
        raise fault


def update_cdrom(ctx: ApiContext, target: Target, body: ET.Element,
                 query: Mapping[str, str]) -> Document:
    """``PUT /vms/{vm}/cdroms/{id}`` with ``<file id=".."/>`` (``""`` ejects)."""
    store = ctx.store
    with store.transaction():
        cdrom = require(ctx, target.collection, target.entity_id)
        vm_id = target.collection.split("/")[1]
        vm = require(ctx, "vms", vm_id)
        found = body.find("file")
        if found is None or found.get("id") is None:
            raise incomplete("Cdrom", ["file.id"], "update")
        file_id = str(found.get("id")).strip()
        action = "change CD" if file_id else "eject CD"
        if file_id:
            _iso_file(ctx, file_id, action)
        if not _true(query, "current"):
            store.update(target.collection, str(cdrom["id"]),
                         {"file": {"id": file_id} if file_id else None})
            return require(ctx, target.collection, target.entity_id)
        if not (is_running(vm) or vm.get("status") == "paused"):
            raise conflict(f"Cannot {action} VM because the VM is in {vm_status_word(vm)} "
                           "status.")
        updated = store.update(target.collection, str(cdrom["id"]),
                               {"_current_file": file_id or None})
        if file_id:
            event_now(ctx, 38, f"CD {file_id} was inserted to VM {vm['name']} by "
                               f"{user_name(ctx)}", about={"vm": vm_id})
        else:
            event_now(ctx, 528, f"CD was ejected from VM {vm['name']} by {user_name(ctx)}",
                      about={"vm": vm_id})
        return view_cdrom(updated, {"current": "true"})


def view_cdrom(doc: Document, query: Mapping[str, str]) -> Document:
    """``?current=true``: the ISO in the running VM's drive."""
    if not _true(query, "current"):
        return doc
    doc = {key: value for key, value in doc.items() if key != "file"}
    if doc.get("_current_file"):
        doc["file"] = {"id": doc["_current_file"]}
    return doc


def register(handlers: Handlers) -> None:
    handlers.updaters["vms"] = update_vm
    handlers.updaters["vms/cdroms"] = update_cdrom
    handlers.viewers["vms"] = view_vm
    handlers.viewers["vms/cdroms"] = view_cdrom
