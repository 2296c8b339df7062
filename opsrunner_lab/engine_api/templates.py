"""``POST /templates`` (``?seal=true``): a template made from a VM that is down.

The template is ``locked`` until its disks are copied, then ``ok``; meanwhile the VM is
``image_locked`` and its disks ``locked`` (so it cannot start). Each VM disk gets a template
disk; ``<vm><disk_attachments><disk_attachment><disk id=".."><alias>`` names it (else it keeps
the VM disk's alias). Each VM NIC gets a template NIC, without a MAC. The seal is kept in
``_sealed`` (the API has no field for it) and logged. Image files are not copied.

Events (AuditLogType codes): 48 USER_ADD_VM_TEMPLATE, 51 USER_ADD_VM_TEMPLATE_FINISHED_SUCCESS,
and the simulator's own 252 "Template X was sealed." (the engine has no event for it; 252 is
the SealVmTemplate command's number).
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from opsrunner_lab.engine_api.estate import locked_disks, vm_disks
from opsrunner_lab.engine_api.faults import bad_request, conflict, incomplete
from opsrunner_lab.engine_api.handlers import ApiContext, Handlers
from opsrunner_lab.engine_api.model import Document, flag, ref
from opsrunner_lab.engine_api.transitions import (
    event_later,
    event_now,
    new_id,
    start_job,
    user_name,
)
from opsrunner_lab.engine_api.vm_nics import copy_nics_to_template
from opsrunner_lab.engine_api.xmlcodec import child_text

SEALED_CODE = 252
# What a template takes from its VM, in the engine's order.
TEMPLATE_KEYS = ("bios", "cpu", "cpu_shares", "creation_time", "delete_protected", "display",
                 "high_availability", "io", "large_icon", "memory", "memory_policy",
                 "migration", "migration_downtime", "multi_queues_enabled", "origin", "os",
                 "placement_policy", "small_icon", "sso", "start_paused", "stateless",
                 "storage_error_resume_behaviour", "time_zone", "type", "usb", "cluster",
                 "cpu_profile")
_NAME = re.compile(r"^[\w.-]+$")


def _source_vm(ctx: ApiContext, body: ET.Element) -> tuple[str, Document]:
    """The template's name and the VM it is made from (validated like the engine)."""
    template_name = child_text(body, "name")
    vm_element = body.find("vm")
    vm_name = child_text(vm_element, "name") if vm_element is not None else None
    vm_id = vm_element.get("id") if vm_element is not None else None
    missing = [field for field, value in (("name", template_name), ("vm.id|name",
                                                                    vm_id or vm_name))
               if not value]
    if missing:
        raise incomplete("Template", missing, "add")
    assert template_name is not None
    if not _NAME.match(template_name):
        raise bad_request("Cannot add Template. The given name contains special characters. "
                          "Only lower-case and upper-case letters, numbers, '_', '-', '.' are "
                          "allowed.")
    vms = ctx.store.documents("vms")
    vm = next((v for v in vms if v["id"] == vm_id or (not vm_id and v["name"] == vm_name)),
              None)
    if vm is None:
        raise bad_request("Cannot add Template. VM doesn't exist.")
    return template_name, vm


def _aliases(body: ET.Element) -> dict[str, str]:
    """Requested template disk aliases by VM disk id."""
    aliases = {}
    for disk in body.findall("vm/disk_attachments/disk_attachment/disk"):
        alias = child_text(disk, "alias") or child_text(disk, "name")
        if disk.get("id") and alias:
            aliases[str(disk.get("id"))] = alias
    return aliases


def add_template(ctx: ApiContext, collection: str, body: ET.Element,
                 query: Mapping[str, str]) -> Document:
    """``POST /templates``; the answer is the new, ``locked`` template."""
    store, delay = ctx.store, ctx.settings.timing.template
    with store.transaction():
        template_name, vm = _source_vm(ctx, body)
        vm_id, disks = str(vm["id"]), vm_disks(store, str(vm["id"]))
        if vm.get("status") != "down":
            raise conflict("Cannot add Template. VM is locked or still running, try again once "
                           "VM is in the Down state.")
        if any(t["name"] == template_name for t in store.documents("templates")):
            raise conflict("Cannot add Template. The Template name is already in use, please "
                           "choose a unique name and try again.")
        fault = locked_disks("add Template", disks)
        if fault is not None:
            raise fault
        template_id, sealed = new_id(), query.get("seal", "false").lower() == "true"
        doc: Document = {"id": template_id, "name": template_name,
                         "description": child_text(body, "description") or "", "comment": ""}
        doc.update({key: copy.deepcopy(vm[key]) for key in TEMPLATE_KEYS if key in vm})
        doc.update({"creation_time": store.now_ms(), "status": "locked",
                    "version": {"version_name": "", "version_number": "1",
                                "base_template": ref("templates", template_id)},
                    "_sealed": flag(sealed), "_vm": vm_id})
        created = store.put("templates", doc)
        store.update("vms", vm_id, {"status": "image_locked"})
        store.schedule("vms", vm_id, delay, {"status": "down"})
        store.schedule("templates", template_id, delay, {"status": "ok"})
        aliases = _aliases(body)
        for disk in disks:
            _copy_disk(ctx, vm_id, disk, template_id, aliases.get(str(disk["id"])), delay)
        copy_nics_to_template(store, vm_id, template_id)
        names = f"Template {template_name} from VM {vm['name']}"
        about = {"template": template_id, "vm": vm_id}
        event_now(ctx, 48, f"Creation of {names} was initiated by {user_name(ctx)}.",
                  about=about)
        if sealed:
            event_later(ctx, delay, SEALED_CODE, f"Template {template_name} was sealed.",
                        about=about)
        event_later(ctx, delay, 51, f"Creation of {names} has been completed.", about=about)
        start_job(ctx, f"Creating {names}", delay)
        return created


def _copy_disk(ctx: ApiContext, vm_id: str, disk: Document, template_id: str,
               alias: str | None, delay: float) -> None:
    """Lock a VM disk while a template disk (locked too) is made from it."""
    store = ctx.store
    disk_id, copy_id = str(disk["id"]), new_id()
    store.update("disks", disk_id, {"status": "locked"})
    store.schedule("disks", disk_id, delay, {"status": "ok"})
    twin = copy.deepcopy(disk)
    twin.update({"id": copy_id, "image_id": new_id(), "status": "locked"})
    if alias:
        twin.update({"name": alias, "alias": alias})
    store.put("disks", twin)
    store.schedule("disks", copy_id, delay, {"status": "ok"})
    attachment = store.get(f"vms/{vm_id}/diskattachments", disk_id) or {}
    store.put(f"templates/{template_id}/diskattachments", {
        "id": copy_id, **{k: attachment[k] for k in ("active", "bootable", "interface",
                                                      "pass_discard", "read_only",
                                                      "uses_scsi_reservation")
                          if k in attachment},
        "disk": ref("disks", copy_id), "template": ref("templates", template_id)})


def register(handlers: Handlers) -> None:
    handlers.adders["templates"] = add_template
