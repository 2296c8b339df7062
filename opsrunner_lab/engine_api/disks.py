"""Floating disks: ``POST /disks``, ``PUT`` and ``DELETE /disks/{id}``, with their image files.

A new disk is ``locked`` while it is created, then ``ok``. Its image is a file of exactly its
provisioned size at :func:`disk_file` (what ovirt-imageio reads and writes during a transfer;
the simulator keeps guest data raw whatever the disk's format), made by :func:`create_image`.
``PUT /disks/{id}`` changes a disk's alias and description (no event). Removal locks the disk,
then removes it, its attachments and its file. A locked disk cannot be edited or removed.

Events (AuditLogType codes): 2020/2021 USER_ADD_DISK(_FINISHED_SUCCESS), 2012/2014
USER_REMOVE_DISK/USER_FINISHED_REMOVE_DISK.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

from opsrunner_lab.engine_api.estate import is_running, locked_disks, name
from opsrunner_lab.engine_api.faults import ApiFault, bad_request, conflict, incomplete
from opsrunner_lab.engine_api.handlers import ApiContext, Handlers, Target
from opsrunner_lab.engine_api.model import Document, listing, ref
from opsrunner_lab.engine_api.store import Store
from opsrunner_lab.engine_api.transitions import (
    event_later,
    event_now,
    new_id,
    require,
    start_job,
    user_name,
)
from opsrunner_lab.engine_api.xmlcodec import child_text

DISK_REMOVED_HOOK = "disk_removed"
FORMATS = ("cow", "raw")
FIRST_BLOCK = 4096
EDITABLE = ("alias", "name", "description")
CONTENT_TYPES = ("backup_scratch", "data", "hosted_engine", "hosted_engine_configuration",
                 "hosted_engine_metadata", "hosted_engine_sanlock", "iso", "memory_dump_volume",
                 "memory_metadata_volume", "ovf_store")


def disk_file(storage: Path, sd_id: str, disk_id: str) -> Path:
    """Where the image of disk ``disk_id`` of storage domain ``sd_id`` lives."""
    return storage / sd_id / "images" / disk_id


def image_file(ctx: ApiContext, disk: Document) -> Path | None:
    """The image file of a disk (None when the simulator keeps no image files)."""
    domains = disk.get("storage_domains", {}).get("storage_domain", [])
    if ctx.settings.storage is None or not domains:
        return None
    return disk_file(ctx.settings.storage, str(domains[0]["id"]), str(disk["id"]))


def create_image(path: Path, size: int) -> None:
    """A new image file of exactly ``size`` bytes whose first block is written (zeros), as
    vdsm's volume creation (``qemu-img create``) leaves it.

    ovirt-imageio's file backend finds the storage's block size by direct-I/O reads of that
    block; in a file without allocated data every read succeeds, so it falls back to 4096 and
    the read-modify-write of an image's last, partial 4 KiB block extends the file past
    ``size`` (a 2048-aligned ISO then fails finalization).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as image:
        image.write(bytes(min(size, FIRST_BLOCK)))
        image.truncate(size)


def _invalid(value: str, kind: str, allowed: tuple[str, ...]) -> ApiFault:
    return ApiFault(400, f"{value} is not a member of {kind}. Possible values for {kind} are: "
                         f"{', '.join(allowed)}", reason="Invalid value")


def _domain(ctx: ApiContext, body: ET.Element) -> Document:
    found = body.find("storage_domains/storage_domain")
    if found is None or not (found.get("id") or child_text(found, "name")):
        raise incomplete("Storage Domain", ["id|name"], "add")
    for domain in ctx.store.documents("storagedomains"):
        if domain["id"] == found.get("id") or domain["name"] == child_text(found, "name"):
            return domain
    raise bad_request("Cannot add Virtual Disk. Storage Domain doesn't exist.")


def _size(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise bad_request(f"Cannot add Virtual Disk. The provisioned size '{text}' is not a "
                          "positive number of bytes.")
    return int(text)


def add_disk(ctx: ApiContext, collection: str, body: ET.Element,
             query: Mapping[str, str]) -> Document:
    """``POST /disks``: name/alias, provisioned_size, format, content_type, sparse, domain."""
    store, delay = ctx.store, ctx.settings.timing.disk
    with store.transaction():
        size_text, disk_format = child_text(body, "provisioned_size"), child_text(body, "format")
        missing = [field for field, value in (("provisionedSize", size_text),
                                              ("format", disk_format)) if not value]
        if missing:
            raise incomplete("Disk", missing, "add")
        size, disk_format = _size(str(size_text)), str(disk_format)
        content = child_text(body, "content_type") or "data"
        if disk_format not in FORMATS:
            raise _invalid(disk_format, "DiskFormat", FORMATS)
        if content not in CONTENT_TYPES:
            raise _invalid(content, "DiskContentType", CONTENT_TYPES)
        domain, disk_id = _domain(ctx, body), new_id()
        alias = child_text(body, "alias") or child_text(body, "name") or f"disk_{disk_id[:8]}"
        sparse = child_text(body, "sparse") or ("true" if disk_format == "cow" else "false")
        sd_id, dc_id = str(domain["id"]), str(domain.get("_dc_id", ""))
        doc: Document = {
            "id": disk_id, "name": alias, "description": child_text(body, "description") or "",
            "actual_size": "0", "alias": alias, "backup": "none", "content_type": content,
            "format": disk_format, "image_id": new_id(), "propagate_errors": "false",
            "provisioned_size": str(size), "shareable": "false", "sparse": sparse,
            "status": "locked", "storage_type": "image", "total_size": "0",
            "wipe_after_delete": "false", "disk_profile": ref("diskprofiles", sd_id),
            "quota": ref(f"datacenters/{dc_id}/quotas", dc_id),
            "storage_domains": listing("storage_domain", [ref("storagedomains", sd_id)])}
        if disk_format == "cow":
            doc["qcow_version"] = "qcow2_v3"
        created = store.put("disks", doc)
        path = image_file(ctx, created)
        if path is not None:
            create_image(path, size)
        store.schedule("disks", disk_id, delay, {"status": "ok"})
        event_now(ctx, 2020, f"Add-Disk operation of '{alias}' was initiated by "
                             f"{user_name(ctx)}.", about={"storage_domain": sd_id})
        event_later(ctx, delay, 2021, f"The disk '{alias}' was successfully added.",
                    about={"storage_domain": sd_id})
        start_job(ctx, f"Adding Disk {alias}", delay)
        return created


def update_disk(ctx: ApiContext, target: Target, body: ET.Element,
                query: Mapping[str, str]) -> Document:
    """``PUT /disks/{id}``: ``alias`` (or ``name``) and ``description``; 409 while locked."""
    with ctx.store.transaction():
        disk = require(ctx, "disks", target.entity_id)
        unknown = sorted({child.tag for child in body} - {*EDITABLE, "id"})
        if unknown:
            raise ApiFault(400, f"[The lab's engine simulator does not update "
                                f"{', '.join(unknown)} of a disk; it updates "
                                f"{', '.join(EDITABLE)}]")
        fault = locked_disks("edit Virtual Disk", [disk])
        if fault is not None:
            raise fault
        alias = child_text(body, "alias") or child_text(body, "name")
        changes: Document = {"alias": alias, "name": alias} if alias else {}
        description = child_text(body, "description")
        if description is not None:
            changes["description"] = description
        return ctx.store.update("disks", str(disk["id"]), changes)


def remove_disk(ctx: ApiContext, target: Target, query: Mapping[str, str]) -> None:
    """``DELETE /disks/{id}``: locked now, gone (with its image file) a moment later."""
    store, delay = ctx.store, ctx.settings.timing.disk
    with store.transaction():
        disk = require(ctx, "disks", target.entity_id)
        fault = locked_disks("remove Virtual Disk", [disk])
        if fault is not None:
            raise fault
        if any(is_running(vm) and store.get(f"vms/{vm['id']}/diskattachments", disk["id"])
               for vm in store.documents("vms")):
            raise conflict("Cannot remove Virtual Disk. At least one of the VMs is not down.")
        store.update("disks", str(disk["id"]), {"status": "locked"})
        discard_later(ctx, disk, delay)
        domains = disk.get("storage_domains", {}).get("storage_domain", [])
        sd_id = str(domains[0]["id"]) if domains else ""
        words = f"the disk {disk.get('alias')} from domain {name(store, 'storagedomains', sd_id)}"
        event_now(ctx, 2012, f"User {user_name(ctx)} initiate removing of {words}.",
                  about={"storage_domain": sd_id})
        event_later(ctx, delay, 2014, f"User {user_name(ctx)} finished to remove {words}.",
                    about={"storage_domain": sd_id})


def discard_later(ctx: ApiContext, disk: Document, delay: float) -> None:
    """Remove a disk, its attachments and its image file ``delay`` seconds from now."""
    path = image_file(ctx, disk)
    ctx.store.schedule_hook("disks", str(disk["id"]), delay, DISK_REMOVED_HOOK,
                            {"file": str(path) if path is not None else ""})


def _disk_removed(store: Store, collection: str, disk_id: str, args: Document) -> None:
    store.remove(collection, disk_id)
    for owner in ("vms", "templates"):
        for doc in store.documents(owner):
            store.remove(f"{owner}/{doc['id']}/diskattachments", disk_id)
    if args.get("file"):
        Path(args["file"]).unlink(missing_ok=True)


def register(handlers: Handlers) -> None:
    handlers.adders["disks"] = add_disk
    handlers.updaters["disks"] = update_disk
    handlers.removers["disks"] = remove_disk
    handlers.hooks[DISK_REMOVED_HOOK] = _disk_removed
