"""``api.upload_iso``: an ISO file of the control node to an ISO disk of a data domain, through
an image transfer and ovirt-imageio; resumable, checked by sha256, idempotent by checksum."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from opsrunner import (
    FAILURE_STATUSES,
    GONE,
    EngineError,
    EngineSession,
    Result,
    Task,
    enum_text,
    status_value,
)
from opsrunner_plugins.engine.common import deadline, progress
from opsrunner_plugins.engine.imageio import file_sha256, upload_checked

_FINISHED = frozenset({"finished_success", GONE})
_ENDED = FAILURE_STATUSES | {"finished_cleanup", GONE}
_OPEN = frozenset({"initializing", "transferring", "resuming", "paused_system", "paused_user"})
_CLEANUP_WAIT = 60.0
INACTIVITY_TIMEOUT = 60  # seconds idle before the engine cancels our transfer (and its disk)
INCOMPLETE = "incomplete upload: "


def _phase(transfer: Any) -> str:
    return enum_text(transfer.phase)


def checksum_record(sha256: str, size: int) -> str:
    """The disk description that records what was uploaded (what idempotence compares)."""
    return f"sha256={sha256} size={size}"


def incomplete_record(sha256: str, size: int) -> str:
    """The disk description until the upload is verified and finalized."""
    return INCOMPLETE + checksum_record(sha256, size)


def upload_iso(task: Task, *, src: str, name: str, storage_domain: str,
               timeout: float = 3600) -> Result:
    """Upload an ISO file from the control node to a data storage domain as an ISO disk.

    :param src: the ISO file on the control node (where opsrunner runs).
    :param name: the disk's name in the engine (what api.vm_cdrom inserts).
    :param storage_domain: the data storage domain that receives it.
    :param timeout: seconds for the whole upload (disk, transfer, finalization).

    The bytes go through the engine's ovirt-imageio proxy (the transfer's proxy_url, TLS
    verified with engine_ca_file), in ranged PUTs resumed from the last confirmed offset when
    the connection breaks. Before finalizing, the image is read back and its sha256 compared
    with the file's. The disk's description is :func:`incomplete_record` until the transfer is
    finalized, then :func:`checksum_record`. A disk of this name with the same record is left
    alone (ok); one with other content fails the task (remove it or pick another name). On
    failure (the timeout included) the transfer is cancelled and the disk removed.

    A run that died (killed) leaves its disk with the incomplete record. The next run resumes
    its transfer if it is still transferring for the same file: every byte is sent again, read
    back, finalized. Otherwise (the transfer paused or ended, the disk ok or illegal) it cancels
    the transfer, removes the disk and starts again; a transfer still sending another file
    fails the task. The engine cancels a transfer idle for :data:`INACTIVITY_TIMEOUT` seconds.
    data: disk_id, sha256, size.
    """
    path = Path(src).expanduser()
    if not path.is_file():
        task.fail(f"src {src!r} is not a file on the control node")
    sha256, size = file_sha256(path)
    if size == 0:
        task.fail(f"src {src!r} is empty")
    record, incomplete = checksum_record(sha256, size), incomplete_record(sha256, size)
    data: dict[str, Any] = {"disk_id": "", "sha256": sha256, "size": size}
    session = task.engine
    found = _disk_named(task, session, name)
    if found is not None and found.description == record and status_value(found) == "ok":
        return Result(msg=f"disk {name} already holds {path.name} ({size} bytes, sha256 "
                          f"{sha256[:12]}...)", data={**data, "disk_id": str(found.id)})
    if found is not None:
        _refuse_foreign(task, found, name)
    domain = session.find("storagedomains", storage_domain)
    if task.check:
        what = "redo the interrupted upload of" if found is not None else "upload"
        return Result(changed=True, msg=f"would {what} {path.name} ({size} bytes) to storage "
                                        f"domain {storage_domain} as disk {name}", data=data)
    wait_until = deadline(task, timeout)
    taken, notes = None, []
    if found is not None:
        taken = _take_over(task, session, found, incomplete, wait_until)
        notes.append(f"{'resumed' if taken else 'replaced'} an interrupted upload")
    disk_id, transfer_service, url = taken or (
        _create_disk(task, session, name, incomplete, size, domain.id, wait_until), None, "")
    data["disk_id"] = disk_id
    try:
        if transfer_service is None:
            transfer_service, url = _start_transfer(task, session, name, disk_id, wait_until)
        reconnects = upload_checked(url, path, sha256, size, ca_file=session.settings.ca_file,
                                    insecure=session.settings.insecure, log=task.log,
                                    deadline=wait_until)
        session.act(transfer_service, "finalize", f"finalize the upload of disk {name}")
        session.wait_for_status(transfer_service, _FINISHED, deadline=wait_until,
                                describe=f"the upload of disk {name}", status_of=_phase,
                                on_status=progress(task, f"upload of disk {name}"))
        transfer_service = None
        _record(session, disk_id, name, record, wait_until)
    except BaseException:
        _clean_up(task, session, transfer_service, disk_id, name, incomplete)
        raise
    notes += [f"{reconnects} reconnection(s)"] if reconnects else []
    return Result(changed=True, msg=f"uploaded {path.name} ({size} bytes, sha256 checked"
                                    f"{''.join(', ' + n for n in notes)}) to storage domain "
                                    f"{storage_domain} as disk {name}", data=data)


def _disk_named(task: Task, session: EngineSession, name: str) -> Any:
    """The disk ``name``, or None."""
    found = [d for d in session.search("disks", f'name="{name}"') if d.name == name]
    if len(found) > 1:
        task.fail(f"{len(found)} disks are named {name!r}; rename or remove the extra ones")
    return found[0] if found else None


def _refuse_foreign(task: Task, disk: Any, name: str) -> None:
    """Fail unless ``disk`` is an interrupted upload (its description says so)."""
    status = status_value(disk)
    if (disk.description or "").startswith(INCOMPLETE):
        return
    if status == "locked":
        task.fail(f"disk {name} exists and is locked (an upload in progress?); try again "
                  "when it is ok, or remove it")
    recorded = disk.description or "no checksum recorded"
    task.fail(f"disk {name} exists with other content ({recorded}, status {status}); remove "
              "it or choose another name")


def _take_over(task: Task, session: EngineSession, disk: Any, incomplete: str,
               wait_until: float) -> tuple[str, Any, str] | None:
    """The interrupted upload's disk id, transfer service and URL when it can be resumed;
    else None once its transfer is cancelled and the disk removed."""
    disk_id, name, described = str(disk.id), str(disk.name), str(disk.description)
    transfers = session.system.image_transfers_service()
    with session.errors("list image transfers"):
        open_ones = [t for t in transfers.list()
                     if t.disk is not None and t.disk.id == disk_id and _phase(t) in _OPEN]
    service = transfers.image_transfer_service(open_ones[0].id) if open_ones else None
    current = None if service is None else session.wait_for_status(
        service, _OPEN - {"initializing", "resuming"} | _ENDED, deadline=wait_until,
        describe=f"the upload of disk {name}", status_of=_phase, failure_statuses=())
    if current is not None and _phase(current) == "transferring":
        if described == incomplete:
            task.log(f"resuming the interrupted upload of disk {name} (transfer {current.id})")
            return disk_id, service, str(current.proxy_url or current.transfer_url)
        task.fail(f"disk {name} is being uploaded with other content ({described}); wait "
                  f"for that upload to end, or cancel image transfer {current.id}")
    task.log(f"removing disk {name}, left by an interrupted upload ({described}, status "
             f"{status_value(disk)})")
    if current is not None and _phase(current) in _OPEN:  # paused; cancelled, the disk goes too
        session.act(service, "cancel", f"cancel the interrupted upload of disk {name}")
        session.wait_for_status(service, _ENDED, deadline=wait_until, status_of=_phase,
                                describe=f"the upload of disk {name}", failure_statuses=())
    disk_service = session.service("disks", disk_id)
    if session.wait_for_status(disk_service, {"ok", "illegal", GONE}, deadline=wait_until,
                               describe=f"disk {name}", failure_statuses=()) is not None:
        session.act(disk_service, "remove", f"remove disk {name}")
        session.wait_for_status(disk_service, GONE, deadline=wait_until,
                                describe=f"disk {name}", failure_statuses=())
    return None


def _create_disk(task: Task, session: EngineSession, name: str, description: str, size: int,
                 domain_id: str, wait_until: float) -> str:
    import ovirtsdk4.types as types

    disk = types.Disk(name=name, alias=name, description=description,
                      content_type=types.DiskContentType.ISO, format=types.DiskFormat.RAW,
                      sparse=False, provisioned_size=size, initial_size=size,
                      storage_domains=[types.StorageDomain(id=domain_id)])
    with session.change(f"add disk {name}"):
        made = session.collection("disks").add(disk)
    try:
        session.wait_for_status(session.service("disks", made.id), "ok", deadline=wait_until,
                                describe=f"disk {name}", on_status=progress(task, f"disk {name}"))
    except BaseException:
        _clean_up(task, session, None, str(made.id), name, description)
        raise
    return str(made.id)


def _start_transfer(task: Task, session: EngineSession, name: str, disk_id: str,
                    wait_until: float) -> tuple[Any, str]:
    """An upload transfer of the disk, once transferring; its service and the URL to use."""
    import ovirtsdk4.types as types

    transfer = types.ImageTransfer(disk=types.Disk(id=disk_id),
                                   direction=types.ImageTransferDirection.UPLOAD,
                                   format=types.DiskFormat.RAW,
                                   inactivity_timeout=INACTIVITY_TIMEOUT,
                                   timeout_policy=types.ImageTransferTimeoutPolicy.CANCEL)
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


def _record(session: EngineSession, disk_id: str, name: str, record: str,
            wait_until: float) -> None:
    """Once the disk is ok after the finalization: its description becomes ``record``."""
    import ovirtsdk4.types as types

    service = session.service("disks", disk_id)
    session.wait_for_status(service, "ok", deadline=wait_until, describe=f"disk {name}")
    session.act(service, "update", f"record the checksum of disk {name}",
                disk=types.Disk(description=record))
    session.wait_for_status(service, "ok", deadline=wait_until, describe=f"disk {name}")


def _clean_up(task: Task, session: EngineSession, transfer_service: Any, disk_id: str,
              name: str, incomplete: str) -> None:
    """After a failure: cancel the transfer, then remove the disk if the engine kept it and it
    still has the ``incomplete`` description (an upload that completed elsewhere stays)."""
    with contextlib.suppress(Exception):
        if transfer_service is not None:
            session.act(transfer_service, "cancel", f"cancel the upload of disk {name}")
            session.wait_for_status(transfer_service, _ENDED,
                                    deadline=_cleanup_deadline(), describe=f"upload of {name}",
                                    status_of=_phase, failure_statuses=())
    with contextlib.suppress(Exception):
        disk_service = session.service("disks", disk_id)
        disk = session.wait_for_status(disk_service, {"ok", "illegal", GONE},
                                       deadline=_cleanup_deadline(), describe=f"disk {name}",
                                       failure_statuses=())
        if disk is not None and disk.description == incomplete:
            session.act(disk_service, "remove", f"remove disk {name}")
            task.log(f"removed disk {name} after the failed upload")


def _cleanup_deadline() -> float:
    return time.monotonic() + _CLEANUP_WAIT
