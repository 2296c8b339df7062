"""``engine.upload_iso``: an ISO file of the control node to an ISO disk of a data domain, through
an image transfer and ovirt-imageio; resumable, checked by sha256, idempotent by checksum."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from opsrunner import Result, Task
from opsrunner.engine import EngineError, EngineSession
from opsrunner.engine_wait import FAILURE_STATUSES, GONE, enum_text, status_value
from opsrunner_plugins._engine import deadline, progress
from opsrunner_plugins._imageio import ImageioClient, ImageioError, file_sha256

_FINISHED = frozenset({"finished_success", GONE})
_ENDED = FAILURE_STATUSES | {"finished_cleanup", GONE}
_CLEANUP_WAIT = 60.0


def _phase(transfer: Any) -> str:
    return enum_text(transfer.phase)


def checksum_record(sha256: str, size: int) -> str:
    """The disk description that records what was uploaded (what idempotence compares)."""
    return f"sha256={sha256} size={size}"


def upload_iso(task: Task, *, src: str, name: str, storage_domain: str,
               timeout: float = 3600) -> Result:
    """Upload an ISO file from the control node to a data storage domain as an ISO disk.

    :param src: the ISO file on the control node (where opsrunner runs).
    :param name: the disk's name in the engine (what engine.vm_cdrom inserts).
    :param storage_domain: the data storage domain that receives it.
    :param timeout: seconds for the whole upload (disk, transfer, finalization).

    The bytes go through the engine's ovirt-imageio proxy (the transfer's proxy_url, TLS
    verified with engine_ca_file), in ranged PUTs resumed from the last confirmed offset when
    the connection breaks. Before finalizing, the image is read back and its sha256 compared
    with the file's; the disk's description records sha256 and size. A disk of this name with
    the same record is left alone (ok); one with another content fails the task (remove it or
    pick another name). On failure the transfer is cancelled and the new disk removed.
    data: disk_id, sha256, size.
    """
    path = Path(src).expanduser()
    if not path.is_file():
        task.fail(f"src {src!r} is not a file on the control node")
    sha256, size = file_sha256(path)
    if size == 0:
        task.fail(f"src {src!r} is empty")
    record = checksum_record(sha256, size)
    data: dict[str, Any] = {"disk_id": "", "sha256": sha256, "size": size}
    session = task.engine
    disk = _existing_disk(task, session, name, record)
    if disk is not None:
        return Result(msg=f"disk {name} already holds {path.name} ({size} bytes, sha256 "
                          f"{sha256[:12]}...)", data={**data, "disk_id": str(disk.id)})
    domain = session.find("storagedomains", storage_domain)
    if task.check:
        return Result(changed=True, msg=f"would upload {path.name} ({size} bytes) to storage "
                                        f"domain {storage_domain} as disk {name}", data=data)
    wait_until = deadline(task, timeout)
    disk_id = _create_disk(task, session, name, record, size, domain.id, wait_until)
    data["disk_id"] = disk_id
    transfer_service = None
    try:
        transfer_service, url = _start_transfer(task, session, name, disk_id, wait_until)
        reconnects = _send(task, session, url, path, size, sha256)
        session.act(transfer_service, "finalize", f"finalize the upload of disk {name}")
        session.wait_for_status(transfer_service, _FINISHED, deadline=wait_until,
                                describe=f"the upload of disk {name}", status_of=_phase,
                                on_status=progress(task, f"upload of disk {name}"))
        transfer_service = None
        session.wait_for_status(session.service("disks", disk_id), "ok", deadline=wait_until,
                                describe=f"disk {name}")
    except Exception:
        _clean_up(task, session, transfer_service, disk_id, name)
        raise
    again = f", {reconnects} reconnection(s)" if reconnects else ""
    return Result(changed=True, msg=f"uploaded {path.name} ({size} bytes, sha256 checked"
                                    f"{again}) to storage domain {storage_domain} as disk "
                                    f"{name}", data=data)


def _existing_disk(task: Task, session: EngineSession, name: str, record: str) -> Any:
    """The disk ``name`` if it already holds this upload; None if there is no such disk."""
    found = [d for d in session.search("disks", f'name="{name}"') if d.name == name]
    if len(found) > 1:
        task.fail(f"{len(found)} disks are named {name!r}; rename or remove the extra ones")
    if not found:
        return None
    disk, status = found[0], status_value(found[0])
    if disk.description == record and status == "ok":
        return disk
    if status == "locked":
        task.fail(f"disk {name} exists and is locked (an upload in progress?); try again "
                  "when it is ok, or remove it")
    recorded = disk.description or "no checksum recorded"
    task.fail(f"disk {name} exists with other content ({recorded}, status {status}); remove "
              "it or choose another name")


def _create_disk(task: Task, session: EngineSession, name: str, record: str, size: int,
                 domain_id: str, wait_until: float) -> str:
    import ovirtsdk4.types as types

    disk = types.Disk(name=name, alias=name, description=record,
                      content_type=types.DiskContentType.ISO, format=types.DiskFormat.RAW,
                      sparse=False, provisioned_size=size, initial_size=size,
                      storage_domains=[types.StorageDomain(id=domain_id)])
    with session.change(f"add disk {name}"):
        made = session.collection("disks").add(disk)
    try:
        session.wait_for_status(session.service("disks", made.id), "ok", deadline=wait_until,
                                describe=f"disk {name}", on_status=progress(task, f"disk {name}"))
    except Exception:
        _clean_up(task, session, None, str(made.id), name)
        raise
    return str(made.id)


def _start_transfer(task: Task, session: EngineSession, name: str, disk_id: str,
                    wait_until: float) -> tuple[Any, str]:
    """An upload transfer of the disk, once transferring; its service and the URL to use."""
    import ovirtsdk4.types as types

    transfer = types.ImageTransfer(disk=types.Disk(id=disk_id),
                                   direction=types.ImageTransferDirection.UPLOAD,
                                   format=types.DiskFormat.RAW)
    transfers = session.system.image_transfers_service()
    with session.change(f"start the upload of disk {name}"):
        made = transfers.add(transfer)
    service = transfers.image_transfer_service(made.id)
    ready = session.wait_for_status(service, "transferring", deadline=wait_until,
                                    describe=f"the upload of disk {name}", status_of=_phase,
                                    failure_statuses=FAILURE_STATUSES | {"paused_system"},
                                    on_status=progress(task, f"upload of disk {name}"))
    url = ready.proxy_url or ready.transfer_url
    if not url:
        raise EngineError(f"the upload of disk {name} is transferring but has no proxy_url "
                          "or transfer_url")
    return service, str(url)


def _send(task: Task, session: EngineSession, url: str, path: Path, size: int,
          sha256: str) -> int:
    """Upload and read back; the reconnections needed. ImageioError on a mismatch."""
    settings = session.settings
    client = ImageioClient(url, ca_file=settings.ca_file, insecure=settings.insecure,
                           log=task.log)
    try:
        task.log(f"uploading {path.name} ({size} bytes) to {url.split('/images/')[0]}")
        reconnects = client.upload(path, size)
        held = client.sha256(size)
    finally:
        client.close()
    if held != sha256:
        raise ImageioError(f"the uploaded image differs from {path}: sha256 {held} read back, "
                           f"{sha256} expected")
    return reconnects


def _clean_up(task: Task, session: EngineSession, transfer_service: Any, disk_id: str,
              name: str) -> None:
    """After a failure: cancel the transfer, then remove the disk if the engine kept it."""
    with contextlib.suppress(Exception):
        if transfer_service is not None:
            session.act(transfer_service, "cancel", f"cancel the upload of disk {name}")
            session.wait_for_status(transfer_service, _ENDED,
                                    deadline=_cleanup_deadline(), describe=f"upload of {name}",
                                    status_of=_phase, failure_statuses=())
    with contextlib.suppress(Exception):
        disk_service = session.service("disks", disk_id)
        session.wait_for_status(disk_service, {"ok", "illegal", GONE},
                                deadline=_cleanup_deadline(), describe=f"disk {name}",
                                failure_statuses=())
        session.act(disk_service, "remove", f"remove disk {name}")
        task.log(f"removed disk {name} after the failed upload")


def _cleanup_deadline() -> float:
    return time.monotonic() + _CLEANUP_WAIT
