"""Image transfers through the lab's real ovirt-imageio: ``POST /imagetransfers``, ``finalize``
and ``cancel``.

Adding a transfer locks the disk and installs a ticket for the disk's image file in imageio
(its control service); the phase goes ``initializing`` -> ``transferring`` with ``proxy_url`` =
``transfer_url`` = ``https://<engine>:54323/images/<ticket>`` (the lab has no separate host
daemon), or ``paused_system`` when imageio cannot take the ticket. Finalize removes the ticket
and verifies an upload (every byte written, the file of the disk's size, no qcow2 image in a raw
disk): ``finalizing_success`` -> ``finished_success`` (disk ``ok`` with its actual size), else
-> ``finalizing_failure`` -> ``finished_failure`` and the upload's disk is removed (the transfer
owns it). Cancel: ``cancelled_user`` -> ``finalizing_cleanup`` -> ``finished_cleanup``, the
upload's disk removed too. Finished transfers are forgotten after a while. A transfer keeps the
``inactivity_timeout`` and ``timeout_policy`` it was added with, but the lab does not watch
inactivity: an abandoned transfer stays ``transferring`` until it is finalized or cancelled.

Events (AuditLogType codes): 1031 TRANSFER_IMAGE_INITIATED, 1032 TRANSFER_IMAGE_SUCCEEDED,
1033 TRANSFER_IMAGE_CANCELLED, 1034 TRANSFER_IMAGE_FAILED, 1035 for imageio refusing a ticket.
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

from opsrunner_lab.engine_api.disks import create_image, discard_later, image_file
from opsrunner_lab.engine_api.estate import locked_disks
from opsrunner_lab.engine_api.faults import ApiFault, bad_request, conflict, incomplete
from opsrunner_lab.engine_api.handlers import ApiContext, Handlers, Target
from opsrunner_lab.engine_api.imageio_tickets import (
    INACTIVITY_TIMEOUT,
    TicketError,
    add_ticket,
    remove_ticket,
    ticket,
    ticket_info,
)
from opsrunner_lab.engine_api.model import Document, ref
from opsrunner_lab.engine_api.transitions import (
    event_later,
    event_now,
    new_id,
    remove_later,
    require,
    user_name,
)
from opsrunner_lab.engine_api.xmlcodec import child_text

DIRECTIONS = ("download", "upload")
QCOW2_MAGIC = b"QFI\xfb"
TIMEOUT_POLICIES = ("cancel", "legacy", "pause")
OPEN_PHASES = ("initializing", "transferring", "resuming", "paused_system", "paused_user")


def add_transfer(ctx: ApiContext, collection: str, body: ET.Element,
                 query: Mapping[str, str]) -> Document:
    """``POST /imagetransfers`` with ``<disk id>`` (or ``<image id>``) and ``<direction>``."""
    store, timing = ctx.store, ctx.settings.timing
    with store.transaction():
        found = body.find("disk") if body.find("disk") is not None else body.find("image")
        if found is None or not found.get("id"):
            raise incomplete("ImageTransfer", ["disk.id|image.id"], "add")
        direction = child_text(body, "direction") or "upload"
        if direction not in DIRECTIONS:
            raise ApiFault(400, f"{direction} is not a member of ImageTransferDirection. "
                                f"Possible values for ImageTransferDirection are: "
                                f"{', '.join(DIRECTIONS)}", reason="Invalid value")
        policy = child_text(body, "timeout_policy") or "legacy"
        if policy not in TIMEOUT_POLICIES:
            raise ApiFault(400, f"{policy} is not a member of ImageTransferTimeoutPolicy. "
                                f"Possible values for ImageTransferTimeoutPolicy are: "
                                f"{', '.join(TIMEOUT_POLICIES)}", reason="Invalid value")
        inactivity = child_text(body, "inactivity_timeout") or str(INACTIVITY_TIMEOUT)
        disk = store.get("disks", str(found.get("id")))
        if disk is None:
            raise bad_request(f"Cannot {direction} Virtual Disk. Disk doesn't exist.")
        fault = locked_disks(f"{direction} Virtual Disk", [disk])
        if fault is not None:
            raise fault
        hosts = [h for h in store.documents("hosts") if h.get("status") == "up"]
        if not hosts:
            raise conflict(f"Cannot {direction} Virtual Disk. There is no active Host in the "
                           "Data Center.")
        transfer_id, ticket_id, disk_id = new_id(), new_id(), str(disk["id"])
        created = store.put(collection, {
            "id": transfer_id, "active": "false", "direction": direction,
            "format": child_text(body, "format") or str(disk.get("format", "raw")),
            "inactivity_timeout": inactivity, "phase": "initializing",
            "shallow": "false", "timeout_policy": policy, "transferred": "0",
            "disk": ref("disks", disk_id), "host": ref("hosts", str(hosts[0]["id"])),
            "image": {"id": disk.get("image_id", disk_id)}, "_ticket": ticket_id})
        store.update("disks", disk_id, {"status": "locked"})
        kind = direction.capitalize()
        alias = disk.get("alias", disk_id)
        event_now(ctx, 1031, f"Image {kind} with disk {alias} was initiated by "
                             f"{user_name(ctx)}.", about={"user": str(ctx.user["id"])})
        try:
            _install_ticket(ctx, disk, direction, ticket_id, transfer_id)
        except TicketError as error:
            store.schedule(collection, transfer_id, timing.transfer_init,
                           {"phase": "paused_system"})
            event_later(ctx, timing.transfer_init, 1035, f"Transfer was stopped by system. "
                        f"Reason: failed to add image ticket to ovirt-imageio: {error}",
                        severity="error")
            return created
        url = (f"https://{ctx.settings.engine_address}:{ctx.settings.imageio_port}"
               f"/images/{ticket_id}")
        store.update(collection, transfer_id, {"_ticketed": "true"})
        store.schedule(collection, transfer_id, timing.transfer_init, {
            "phase": "transferring", "proxy_url": url, "transfer_url": url})
        return created


def _install_ticket(ctx: ApiContext, disk: Document, direction: str, ticket_id: str,
                    transfer_id: str) -> None:
    control, path = ctx.settings.imageio_control, image_file(ctx, disk)
    if control is None or path is None:
        raise TicketError("this engine has no ovirt-imageio")
    size = int(disk.get("provisioned_size", 0))
    if not path.exists():
        create_image(path, size)
    ops = ["write"] if direction == "upload" else ["read"]
    add_ticket(control, ticket(ticket_id, transfer_id, path, size, ops,
                               disk.get("sparse") == "true"))


def _close_ticket(ctx: ApiContext, transfer: Document) -> int | None:
    """Remove the transfer's ticket; the bytes it saw written (None when unknown)."""
    control = ctx.settings.imageio_control
    if control is None:
        return None
    ticket_id, transferred = str(transfer["_ticket"]), None
    with contextlib.suppress(TicketError):  # no ticket (imageio restarted, or never had it)
        transferred = ticket_info(control, ticket_id).get("transferred")
    with contextlib.suppress(TicketError):
        remove_ticket(control, ticket_id)
    return transferred if isinstance(transferred, int) else None


def verify_upload(path: Path | None, disk: Document, transferred: int | None) -> str | None:
    """Why an uploaded image is not acceptable, or None if it is."""
    size = int(disk.get("provisioned_size", 0))
    if path is None or not path.exists():
        return "the disk has no image file"
    if path.stat().st_size != size:
        return f"the image has {path.stat().st_size} bytes, the disk {size}"
    if transferred is not None and transferred < size:
        return f"{transferred} of {size} bytes were written"
    with path.open("rb") as image:
        if disk.get("format") == "raw" and image.read(4) == QCOW2_MAGIC:
            return "a qcow2 image was uploaded to a raw disk"
    return None


def finalize(ctx: ApiContext, target: Target, body: ET.Element,
             query: Mapping[str, str]) -> Document:
    """``POST /imagetransfers/{id}/finalize``."""
    store, timing = ctx.store, ctx.settings.timing
    with store.transaction():
        transfer, disk = _open_transfer(ctx, target, "finalize")
        disk_id, delay = str(disk["id"]), timing.transfer_finalize
        transferred = _close_ticket(ctx, transfer)
        path = image_file(ctx, disk)
        upload = transfer.get("direction") == "upload"
        problem = verify_upload(path, disk, transferred) if upload else None
        if upload and transfer.get("_ticketed") != "true":
            problem = "imageio never had a ticket for it"
        store.update(target.collection, target.entity_id, {
            "phase": "finalizing_success", "active": "false",
            **({"transferred": str(transferred)} if transferred is not None else {})})
        kind, alias = str(transfer["direction"]).capitalize(), disk.get("alias", disk_id)
        if problem is None:
            allocated = str(path.stat().st_blocks * 512) if path and path.exists() else "0"
            store.schedule(target.collection, target.entity_id, delay,
                           {"phase": "finished_success"})
            store.schedule("disks", disk_id, delay, {"status": "ok", "actual_size": allocated,
                                                     "total_size": allocated})
            event_later(ctx, delay, 1032, f"Image {kind} with disk {alias} succeeded.")
        else:
            _fail(ctx, target, disk, delay, "finalizing_failure", "finished_failure")
            event_later(ctx, delay, 1034, f"Image {kind} with disk {alias} failed: {problem}.",
                        severity="error")
        remove_later(ctx, target.collection, target.entity_id, delay + timing.transfer_cleanup)
        return {"image_transfer": ref(target.collection, target.entity_id)}


def cancel(ctx: ApiContext, target: Target, body: ET.Element,
           query: Mapping[str, str]) -> Document:
    """``POST /imagetransfers/{id}/cancel``."""
    store, timing = ctx.store, ctx.settings.timing
    with store.transaction():
        transfer, disk = _open_transfer(ctx, target, "cancel")
        _close_ticket(ctx, transfer)
        delay = timing.transfer_finalize
        store.update(target.collection, target.entity_id, {"phase": "cancelled_user"})
        _fail(ctx, target, disk, delay, "finalizing_cleanup", "finished_cleanup")
        event_later(ctx, delay, 1033, f"Image {str(transfer['direction']).capitalize()} with "
                                      f"disk {disk.get('alias')} was cancelled.")
        remove_later(ctx, target.collection, target.entity_id, delay + timing.transfer_cleanup)
        return {"image_transfer": ref(target.collection, target.entity_id)}


def _open_transfer(ctx: ApiContext, target: Target, verb: str) -> tuple[Document, Document]:
    transfer = require(ctx, target.collection, target.entity_id)
    if transfer.get("phase") not in OPEN_PHASES:
        raise conflict(f"Cannot {verb} the image transfer: it is {transfer.get('phase')}.")
    disk = ctx.store.get("disks", str(transfer["disk"]["id"]))
    if disk is None:
        raise conflict(f"Cannot {verb} the image transfer: its disk no longer exists.")
    return transfer, disk


def _fail(ctx: ApiContext, target: Target, disk: Document, delay: float, finalizing: str,
          finished: str) -> None:
    """The failed (or cancelled) end of a transfer: an upload's disk is illegal, then gone."""
    store, transfer = ctx.store, require(ctx, target.collection, target.entity_id)
    upload = transfer.get("direction") == "upload"
    store.schedule(target.collection, target.entity_id, delay / 2, {"phase": finalizing})
    store.schedule("disks", str(disk["id"]), delay / 2,
                   {"status": "illegal" if upload else "ok"})
    store.schedule(target.collection, target.entity_id, delay, {"phase": finished})
    if upload:
        discard_later(ctx, disk, delay)


def register(handlers: Handlers) -> None:
    handlers.adders["imagetransfers"] = add_transfer
    handlers.actions[("imagetransfers", "finalize")] = finalize
    handlers.actions[("imagetransfers", "cancel")] = cancel
