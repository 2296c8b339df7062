"""``DELETE /templates/{id}``: the template is ``locked``, then gone after the template delay,
together with its disks (the ``disks`` its disk attachments name, with their image files), its
NICs and its disk attachments.

Refusals (409) follow RemoveVmTemplateCommand's validation, in its order: the Blank template
(VMT_CANNOT_REMOVE_BLANK_TEMPLATE), delete protection (ACTION_TYPE_FAILED_DELETE_PROTECTION_
ENABLED), a locked template or template disk (VM_TEMPLATE_IMAGE_IS_LOCKED, a message without
an action prefix; also the answer while a removal is under way), VMs made from the template
(VMT_CANNOT_REMOVE_DETECTED_DERIVED_VM, naming them).

Events (AuditLogType codes): 50 USER_REMOVE_VM_TEMPLATE, 251 USER_REMOVE_VM_TEMPLATE_FINISHED.
"""

from __future__ import annotations

from collections.abc import Mapping

from opsrunner_lab.engine_api.disks import discard_later
from opsrunner_lab.engine_api.estate import ref_id
from opsrunner_lab.engine_api.faults import conflict
from opsrunner_lab.engine_api.handlers import ApiContext, Handlers, Target
from opsrunner_lab.engine_api.model import BLANK_TEMPLATE_ID, Document
from opsrunner_lab.engine_api.transitions import (
    event_later,
    event_now,
    remove_later,
    require,
    start_job,
    user_name,
)

REMOVE_CODE = 50
REMOVED_CODE = 251
BLANK = "Cannot remove Template. Removing Blank Template is not allowed."
DELETE_PROTECTED = ("Cannot remove Template. Delete protection is enabled. In order to delete, "
                    "disable Delete protection first.")
IMAGE_LOCKED = "Template's Image is locked (temporarily)."
USED_BY = "Cannot delete Template. Template is being used by the following VMs: {vms}."


def template_disks(ctx: ApiContext, template_id: str) -> list[Document]:
    """The disks of a template (its disk attachments share the disks' ids)."""
    found = (ctx.store.get("disks", str(attachment["id"]))
             for attachment in ctx.store.documents(f"templates/{template_id}/diskattachments"))
    return [disk for disk in found if disk is not None]


def _check(ctx: ApiContext, template: Document, disks: list[Document]) -> None:
    """The engine's refusals, in its order (see the module doc)."""
    if template["id"] == BLANK_TEMPLATE_ID:
        raise conflict(BLANK)
    if template.get("delete_protected") == "true":
        raise conflict(DELETE_PROTECTED)
    if template.get("status") == "locked" or any(d.get("status") == "locked" for d in disks):
        raise conflict(IMAGE_LOCKED)
    users = [str(vm["name"]) for vm in ctx.store.documents("vms")
             if ref_id(vm, "template") == template["id"]]
    if users:
        raise conflict(USED_BY.format(vms=",".join(users)))


def remove_template(ctx: ApiContext, target: Target, query: Mapping[str, str]) -> None:
    """``DELETE /templates/{id}``: locked now, gone with its disks and devices a moment later."""
    store, delay = ctx.store, ctx.settings.timing.template
    with store.transaction():
        template = require(ctx, target.collection, target.entity_id)
        template_id, name = str(template["id"]), str(template.get("name", ""))
        disks = template_disks(ctx, template_id)
        _check(ctx, template, disks)
        store.update("templates", template_id, {"status": "locked"})
        about = {"template": template_id}
        event_now(ctx, REMOVE_CODE, f"Removal of Template {name} was initiated by "
                                    f"{user_name(ctx)}.", about=about)
        # before the removals due at the same moment, so that it still names the template
        event_later(ctx, delay, REMOVED_CODE, f"Removal of Template {name} has been completed.",
                    about=about)
        for disk in disks:
            store.update("disks", str(disk["id"]), {"status": "locked"})
            discard_later(ctx, disk, delay)
        remove_later(ctx, "templates", template_id, delay)
        start_job(ctx, f"Removing Template {name}", delay)


def register(handlers: Handlers) -> None:
    handlers.removers["templates"] = remove_template
