"""Extending a disk: a larger ``provisioned_size`` in ``PUT /disks/{id}`` or in the ``<disk>`` of
``PUT /vms/{id}/diskattachments/{id}`` (which also edits the attachment's ``bootable``,
``active``, ``interface``, ``pass_discard`` and ``read_only``).

A smaller size is refused (400 ``Cannot edit Virtual Disk. New disk size must be larger than the
current disk size.``), the same size changes nothing, a locked disk cannot be edited (409). A
larger one locks the disk, grows its image file and, a moment later, the disk is ``ok`` at the
new size. Its storage domain's ``committed`` grows by the difference; so does its ``used``
(and its ``available`` shrinks) for a preallocated disk, whose space is written at once.

Event (AuditLogType code): 371 USER_EXTEND_DISK_SIZE_SUCCESS "Size of the disk 'A' was
successfully updated to N GB by U." (N: whole GiB).
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from opsrunner_lab.engine_api.disks import image_file, update_disk
from opsrunner_lab.engine_api.estate import locked_disks
from opsrunner_lab.engine_api.faults import ApiFault, bad_request
from opsrunner_lab.engine_api.handlers import ApiContext, Handlers, Target
from opsrunner_lab.engine_api.model import Document
from opsrunner_lab.engine_api.transitions import event_later, require, start_job, user_name
from opsrunner_lab.engine_api.xmlcodec import child_text

GIB = 1024 ** 3
EXTENDED_CODE = 371
TOO_SMALL = ("Cannot edit Virtual Disk. New disk size must be larger than the current disk "
             "size.")
ATTACHMENT_FLAGS = ("active", "bootable", "pass_discard", "read_only")


def extend(ctx: ApiContext, disk_id: str, size_text: str) -> None:
    """Give disk ``disk_id`` the provisioned size ``size_text`` (see the module doc)."""
    store, delay = ctx.store, ctx.settings.timing.disk
    with store.transaction():
        disk = require(ctx, "disks", disk_id)
        if not size_text.isdigit():
            raise ApiFault(400, f"The value '{size_text}' of 'provisioned_size' is not a number "
                                "of bytes", reason="Invalid value")
        old, new = int(disk.get("provisioned_size", "0")), int(size_text)
        if new == old:
            return
        fault = locked_disks("edit Virtual Disk", [disk])
        if fault is not None:
            raise fault
        if new < old:
            raise bad_request(TOO_SMALL)
        store.update("disks", disk_id, {"status": "locked"})
        store.schedule("disks", disk_id, delay, {"status": "ok", "provisioned_size": str(new)})
        path = image_file(ctx, disk)
        if path is not None and path.exists():
            with path.open("r+b") as image:
                image.truncate(new)
        _grow_domain(ctx, disk, new - old)
        alias = disk.get("alias", disk_id)
        event_later(ctx, delay, EXTENDED_CODE, f"Size of the disk '{alias}' was successfully "
                                               f"updated to {new // GIB} GB by "
                                               f"{user_name(ctx)}.")
        start_job(ctx, f"Extending Disk {alias}", delay)


def _grow_domain(ctx: ApiContext, disk: Document, delta: int) -> None:
    domains = disk.get("storage_domains", {}).get("storage_domain", [])
    domain = ctx.store.get("storagedomains", str(domains[0]["id"])) if domains else None
    if domain is None:
        return
    changes = {"committed": str(int(domain.get("committed", "0")) + delta)}
    if disk.get("sparse") == "false":
        changes["used"] = str(int(domain.get("used", "0")) + delta)
        changes["available"] = str(max(0, int(domain.get("available", "0")) - delta))
    ctx.store.update("storagedomains", str(domain["id"]), changes)


def update_disk_or_extend(ctx: ApiContext, target: Target, body: ET.Element,
                          query: Mapping[str, str]) -> Document:
    """``PUT /disks/{id}``: a ``provisioned_size`` extends the disk; the rest is
    :func:`.disks.update_disk`'s."""
    size = child_text(body, "provisioned_size")
    rest = copy.deepcopy(body)
    for found in rest.findall("provisioned_size"):
        rest.remove(found)
    with ctx.store.transaction():
        if len(rest) or size is None:
            update_disk(ctx, target, rest, query)
        if size is not None:
            extend(ctx, target.entity_id, size)
        return require(ctx, "disks", target.entity_id)


def update_attachment(ctx: ApiContext, target: Target, body: ET.Element,
                      query: Mapping[str, str]) -> Document:
    """``PUT /vms/{id}/diskattachments/{id}``: the attachment's flags and interface, and the
    disk's size."""
    with ctx.store.transaction():
        attachment = require(ctx, target.collection, target.entity_id)
        changes: Document = {}
        for key in ATTACHMENT_FLAGS:
            value = child_text(body, key)
            if value is not None and value.lower() in ("true", "false"):
                changes[key] = value.lower()
        interface = child_text(body, "interface")
        if interface:
            changes["interface"] = interface.lower()
        size = child_text(body, "disk/provisioned_size")
        if size is not None:
            extend(ctx, str(attachment["id"]), size)
        return ctx.store.update(target.collection, target.entity_id, changes)


def register(handlers: Handlers) -> None:
    handlers.updaters["disks"] = update_disk_or_extend
    handlers.updaters["vms/diskattachments"] = update_attachment
