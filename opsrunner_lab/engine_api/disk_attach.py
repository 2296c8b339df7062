"""``POST /vms/{id}/diskattachments`` (a new disk for the VM, or an existing floating disk
attached by id) and ``DELETE /vms/{id}/diskattachments/{id}`` (``detach_only``, true by
default as on the engine: the disk stays, floating; false: the disk is removed too).

A new disk is checked like ``POST /disks`` (REST: ``Disk [provisionedSize|size, format]
required for add``; an unknown storage domain: 400), made ``locked`` with its image file, then
``ok``, attached with ``interface`` (default ``virtio``), ``bootable`` and ``active`` (default
false and true). Attaching needs a known disk (400), one not attached to the VM (409), not
locked, and the VM Up, Paused or Down (409). Detaching needs the VM Up or Down.

Events (AuditLogType codes): 78 USER_ADD_DISK_TO_VM, 97 USER_ADD_DISK_TO_VM_FINISHED_SUCCESS,
2016 USER_ATTACH_DISK_TO_VM, 2018 USER_DETACH_DISK_FROM_VM.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

from opsrunner_lab.engine_api.disks import FORMATS, create_image, image_file, remove_disk
from opsrunner_lab.engine_api.estate import locked_disks, vm_status_word
from opsrunner_lab.engine_api.faults import ApiFault, bad_request, conflict, incomplete
from opsrunner_lab.engine_api.handlers import ApiContext, Handlers, Target
from opsrunner_lab.engine_api.model import Document, listing, ref
from opsrunner_lab.engine_api.transitions import (
    event_later,
    event_now,
    new_id,
    require,
    start_job,
    user_name,
)
from opsrunner_lab.engine_api.xmlcodec import child_text

INTERFACES = ("ide", "sata", "spapr_vscsi", "virtio", "virtio_scsi")
ATTACHABLE = ("up", "paused", "down")
DETACHABLE = ("up", "down")


def _boolean(element: ET.Element, path: str, default: bool) -> str:
    text = child_text(element, path)
    if text is None or text == "":
        return "true" if default else "false"
    if text.lower() not in ("true", "false"):
        raise ApiFault(400, f"The value '{text}' of '{path}' is not a boolean; use true or "
                            "false", reason="Invalid value")
    return text.lower()


def _attachment(body: ET.Element, disk_id: str, vm_id: str) -> Document:
    interface = (child_text(body, "interface") or "virtio").lower()
    if interface not in INTERFACES:
        raise ApiFault(400, f"{interface} is not a member of DiskInterface. Possible values for "
                            f"DiskInterface are: {', '.join(INTERFACES)}",
                       reason="Invalid value")
    return {"id": disk_id, "active": _boolean(body, "active", True),
            "bootable": _boolean(body, "bootable", False), "interface": interface,
            "pass_discard": _boolean(body, "pass_discard", False),
            "read_only": _boolean(body, "read_only", False),
            "uses_scsi_reservation": _boolean(body, "uses_scsi_reservation", False),
            "disk": ref("disks", disk_id), "vm": ref("vms", vm_id)}


def _domain(ctx: ApiContext, disk: ET.Element) -> Document:
    found = disk.find("storage_domains/storage_domain")
    if found is not None and (found.get("id") or child_text(found, "name")):
        for domain in ctx.store.documents("storagedomains"):
            if domain["id"] == found.get("id") or (not found.get("id")
                                                   and domain["name"] == child_text(found,
                                                                                    "name")):
                return domain
    raise bad_request("Cannot add Virtual Disk. Storage Domain doesn't exist.")


def _new_disk(ctx: ApiContext, disk: ET.Element) -> Document:
    """A new VM disk document (``locked``), checked like the engine checks it."""
    size_text = child_text(disk, "provisioned_size") or child_text(disk, "size")
    disk_format = child_text(disk, "format")
    missing = [name for name, value in (("provisionedSize|size", size_text),
                                        ("format", disk_format)) if not value]
    if missing:
        raise incomplete("Disk", missing, "add")
    assert size_text is not None and disk_format is not None
    if disk_format not in FORMATS:
        raise ApiFault(400, f"{disk_format} is not a member of DiskFormat. Possible values for "
                            f"DiskFormat are: {', '.join(FORMATS)}", reason="Invalid value")
    if not size_text.isdigit() or int(size_text) <= 0:
        raise bad_request(f"Cannot add Virtual Disk. The provisioned size '{size_text}' is not a "
                          "positive number of bytes.")
    domain, disk_id = _domain(ctx, disk), new_id()
    alias = child_text(disk, "alias") or child_text(disk, "name") or f"disk_{disk_id[:8]}"
    sparse = _boolean(disk, "sparse", disk_format == "cow")
    sd_id, dc_id = str(domain["id"]), str(domain.get("_dc_id", ""))
    doc: Document = {
        "id": disk_id, "name": alias, "description": child_text(disk, "description") or "",
        "actual_size": "0", "alias": alias, "backup": "none", "content_type": "data",
        "format": disk_format, "image_id": new_id(), "propagate_errors": "false",
        "provisioned_size": size_text, "shareable": "false", "sparse": sparse,
        "status": "locked", "storage_type": "image", "total_size": "0",
        "wipe_after_delete": "false", "disk_profile": ref("diskprofiles", sd_id),
        "quota": ref(f"datacenters/{dc_id}/quotas", dc_id),
        "storage_domains": listing("storage_domain", [ref("storagedomains", sd_id)])}
    if disk_format == "cow":
        doc["qcow_version"] = "qcow2_v3"
    return doc


def add_attachment(ctx: ApiContext, collection: str, body: ET.Element,
                   query: Mapping[str, str]) -> Document:
    """``POST /vms/{id}/diskattachments``: the new attachment (see the module doc)."""
    store, delay = ctx.store, ctx.settings.timing.disk
    vm_id = collection.split("/")[1]
    with store.transaction():
        vm = require(ctx, "vms", vm_id)
        element = body.find("disk")
        if element is not None and element.get("id"):
            return _attach(ctx, vm, str(element.get("id")), body)
        disk = _new_disk(ctx, element if element is not None else ET.Element("disk"))
        attachment = _attachment(body, str(disk["id"]), vm_id)
        store.put("disks", disk)
        path = image_file(ctx, disk)
        if path is not None:
            create_image(path, int(disk["provisioned_size"]))
        store.schedule("disks", str(disk["id"]), delay, {"status": "ok"})
        created = store.put(collection, attachment)
        alias, about = disk["alias"], {"vm": vm_id}
        event_now(ctx, 78, f"Add-Disk operation of {alias} was initiated on VM {vm['name']} by "
                           f"{user_name(ctx)}.", about=about)
        event_later(ctx, delay, 97, f"The disk {alias} was successfully added to VM "
                                    f"{vm['name']}.", about=about)
        start_job(ctx, f"Adding Disk {alias}", delay)
        return created


def _attach(ctx: ApiContext, vm: Document, disk_id: str, body: ET.Element) -> Document:
    store, vm_id = ctx.store, str(vm["id"])
    disk = store.get("disks", disk_id)
    if disk is None:
        raise bad_request("Cannot attach Virtual Disk. The specified disk does not exist.")
    fault = locked_disks("attach Virtual Disk", [disk])
    if fault is not None:
        raise fault
    if vm.get("status") not in ATTACHABLE:
        raise conflict(f"Cannot attach Virtual Disk because the VM is in {vm_status_word(vm)} "
                       "status.")
    if store.get(f"vms/{vm_id}/diskattachments", disk_id) is not None:
        raise conflict("Cannot attach Virtual Disk. The disk is already attached to VM.")
    created = store.put(f"vms/{vm_id}/diskattachments", _attachment(body, disk_id, vm_id))
    event_now(ctx, 2016, f"Disk {disk.get('alias')} was successfully attached to VM "
                         f"{vm['name']} by {user_name(ctx)}.", about={"vm": vm_id})
    return created


def remove_attachment(ctx: ApiContext, target: Target, query: Mapping[str, str]) -> None:
    """``DELETE /vms/{id}/diskattachments/{id}``: detach (default) or, with
    ``detach_only=false``, remove the disk."""
    if query.get("detach_only", "true").lower() == "false":
        remove_disk(ctx, Target("disks", target.entity_id), {})
        return
    store, vm_id = ctx.store, target.collection.split("/")[1]
    with store.transaction():
        vm = require(ctx, "vms", vm_id)
        disk = require(ctx, "disks", target.entity_id)
        if vm.get("status") not in DETACHABLE:
            raise conflict(f"Cannot detach Virtual Disk because the VM is in "
                           f"{vm_status_word(vm)} status.")
        store.remove(target.collection, target.entity_id)
        event_now(ctx, 2018, f"Disk {disk.get('alias')} was successfully detached from VM "
                             f"{vm['name']} by {user_name(ctx)}.", about={"vm": vm_id})


def register(handlers: Handlers) -> None:
    handlers.adders["vms/diskattachments"] = add_attachment
    handlers.removers["vms/diskattachments"] = remove_attachment
