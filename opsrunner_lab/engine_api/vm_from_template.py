"""What a new VM takes from its template: its disks (copied, or thin on top of the template's)
and its NICs (with new MACs).

Each template disk gives the VM a new disk (new id and image id, the template disk's alias and
storage domain), ``locked`` until ``delay`` has passed, then ``ok``, attached like the template's
one. A cloned disk keeps the template disk's format and allocation; a thin one is a sparse
``cow`` layer. Its image file (when the simulator keeps them) starts as the template disk's.
A template NIC gives the VM a NIC of the same name, interface, profile, plugged and linked, with
a free address of the lab's MAC pool.
"""

from __future__ import annotations

import copy
import shutil

from opsrunner_lab.engine_api.disks import create_image, image_file
from opsrunner_lab.engine_api.handlers import ApiContext
from opsrunner_lab.engine_api.model import Document, ref
from opsrunner_lab.engine_api.transitions import new_id
from opsrunner_lab.engine_api.vm_nics import allocate_mac, used_macs

ATTACHMENT_KEYS = ("active", "bootable", "interface", "pass_discard", "read_only",
                   "uses_scsi_reservation")


def copy_template_disks(ctx: ApiContext, template_id: str, vm_id: str, clone: bool,
                        delay: float) -> list[Document]:
    """Give VM ``vm_id`` a disk for each disk of the template (see the module doc); the new
    disks, ``locked``."""
    store, made = ctx.store, []
    for attachment in store.documents(f"templates/{template_id}/diskattachments"):
        source = store.get("disks", str(attachment["id"]))
        if source is None:
            continue
        disk = copy.deepcopy(source)
        disk_id = new_id()
        disk.update({"id": disk_id, "image_id": new_id(), "status": "locked"})
        if not clone:
            disk.update({"format": "cow", "sparse": "true", "qcow_version": "qcow2_v3"})
        store.put("disks", disk)
        _copy_image(ctx, source, disk)
        store.schedule("disks", disk_id, delay, {"status": "ok"})
        store.put(f"vms/{vm_id}/diskattachments", {
            "id": disk_id, **{k: attachment[k] for k in ATTACHMENT_KEYS if k in attachment},
            "disk": ref("disks", disk_id), "vm": ref("vms", vm_id)})
        made.append(disk)
    return made


def _copy_image(ctx: ApiContext, source: Document, disk: Document) -> None:
    target = image_file(ctx, disk)
    if target is None:
        return
    origin = image_file(ctx, source)
    if origin is not None and origin.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(origin, target)
    else:
        create_image(target, int(disk.get("provisioned_size", "0")))


def copy_template_nics(ctx: ApiContext, template_id: str, vm_id: str, vm_name: str) -> None:
    """Give VM ``vm_id`` a NIC for each NIC of the template (see the module doc)."""
    store = ctx.store
    for nic in store.documents(f"templates/{template_id}/nics"):
        address = allocate_mac(used_macs(store), f"{vm_name}/{nic.get('name', '')}")
        doc: Document = {"id": new_id(), "name": nic.get("name", "nic1"),
                         "interface": nic.get("interface", "virtio"),
                         "linked": nic.get("linked", "true"), "mac": {"address": address},
                         "plugged": nic.get("plugged", "true"), "synced": "true"}
        if isinstance(nic.get("vnic_profile"), dict):
            doc["vnic_profile"] = dict(nic["vnic_profile"])
        doc["vm"] = ref("vms", vm_id)
        store.put(f"vms/{vm_id}/nics", doc)
