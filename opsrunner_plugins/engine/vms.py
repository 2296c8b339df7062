"""``api.vm_power`` (start, stop, shut down) and ``api.vm_cdrom`` (ISO and boot order)."""

from __future__ import annotations

from typing import Any, Literal

from opsrunner import FAILURE_STATUSES, EngineError, EngineSession, Result, Task, enum_text, status_value
from opsrunner_plugins.engine.common import (
    deadline,
    event_mark,
    events_since,
    progress,
    returning_status,
    with_events,
)

_PASSING = {"up": frozenset({"powering_up", "wait_for_launch", "reboot_in_progress",
                             "restoring_state"}),
            "down": frozenset({"powering_down"})}
RUNNING = frozenset({"up", "powering_up", "powering_down", "reboot_in_progress", "migrating",
                     "wait_for_launch", "paused"})
BootDeviceName = Literal["hd", "cdrom", "network"]


def vm_power(task: Task, *, vm: str, state: Literal["up", "down"],
             how: Literal["shutdown", "stop"] = "shutdown", timeout: float = 600) -> Result:
    """Start a VM (state up) or power it off (state down), and wait until it is there.

    :param vm: the VM's name in the engine.
    :param state: up (start it) or down.
    :param how: for down: shutdown asks the guest OS (ACPI / guest agent); stop pulls the
        plug at once.
    :param timeout: seconds the VM may take to get there.

    A VM already in the state is left alone (ok); one on its way there is only waited for.
    A VM that falls back (e.g. down again after a failed start) fails the task with the
    engine's events about it. data["status"]: the VM's status after the task.
    """
    session = task.engine
    entity = session.find("vms", vm)
    current = status_value(entity)
    if current == state:
        return Result(msg=f"VM {vm} is already {state}", data={"status": current})
    action = "start" if state == "up" else how
    if task.check:
        return Result(changed=True, msg=f"would {action} VM {vm} ({current} -> {state})",
                      data={"status": state})
    service = session.service("vms", entity.id)
    mark = event_mark(session)
    if current not in _PASSING[state]:
        session.act(service, action, f"{action} VM {vm}")
    status_of, again = returning_status(current, _PASSING[state])
    failures = (FAILURE_STATUSES - {current}) | {again}
    try:
        session.wait_for_status(service, state, deadline=deadline(task, timeout),
                                describe=f"VM {vm}", failure_statuses=failures,
                                status_of=status_of, on_status=progress(task, f"VM {vm}"))
    except EngineError as exc:
        events = events_since(session, mark, lambda e: e.vm is not None and e.vm.id == entity.id)
        raise EngineError(with_events(str(exc), events)) from exc
    return Result(changed=True, msg=f"VM {vm}: {action}: {current} -> {state}",
                  data={"status": state})


def vm_cdrom(task: Task, *, vm: str, iso: str | None = None, eject: bool = False,
             boot: list[BootDeviceName] | None = None, current: bool = False) -> Result:
    """Insert an ISO into a VM's CD-ROM or eject it, and/or set the VM's boot order.

    :param vm: the VM's name in the engine.
    :param iso: the name of an ISO disk (uploaded to a data domain, see api.upload_iso).
    :param eject: empty the CD-ROM instead.
    :param boot: boot devices in order, e.g. [cdrom, hd].
    :param current: change the CD of the running VM now, not its configuration (which the
        next boot uses); for a VM that is not running the configuration is changed.

    Only what differs is changed (ok when nothing does). data["iso"]: the disk id in the
    CD-ROM ("" when empty); data["boot"]: the boot order.
    """
    if iso is not None and eject:
        task.fail("give iso or eject, not both")
    if iso is None and not eject and boot is None:
        task.fail("give iso (or eject) and/or boot")
    if boot is not None and (not boot or len(set(boot)) != len(boot)):
        task.fail(f"boot must list distinct devices (hd, cdrom, network), got {boot}")
    session = task.engine
    entity = session.find("vms", vm)
    live = current and status_value(entity) in RUNNING
    service = session.service("vms", entity.id)
    changes: list[str] = []
    data: dict[str, Any] = {}
    if iso is not None or eject:
        data["iso"] = _cdrom(task, session, service, vm, iso, live, changes)
    if boot is not None:
        data["boot"] = _boot(task, session, service, entity, vm, list(boot), changes)
    verb = "would change" if task.check else "changed"
    msg = f"VM {vm}: {verb} {'; '.join(changes)}" if changes else f"VM {vm} is as wanted"
    return Result(changed=bool(changes), msg=msg, data=data)


def _cdrom(task: Task, session: EngineSession, service: Any, vm: str, iso: str | None,
           live: bool, changes: list[str]) -> str:
    """Put ``iso`` (or nothing) in the VM's first CD-ROM; the file id it holds after."""
    wanted = "" if iso is None else str(session.find("disks", iso).id)
    with session.errors(f"read the CD-ROM of VM {vm}"):
        cdroms = list(service.cdroms_service().list())
        if not cdroms:
            task.fail(f"VM {vm} has no CD-ROM device")
        cdrom_service = service.cdroms_service().cdrom_service(cdroms[0].id)
        cdrom = cdrom_service.get(current=live) if live else cdrom_service.get()
    held = str(cdrom.file.id) if cdrom.file is not None and cdrom.file.id else ""
    if held == wanted:
        return held
    where = "in the running VM" if live else "in the configuration"
    changes.append(f"CD-ROM {where}: {'eject' if iso is None else 'insert ' + iso}")
    if not task.check:
        import ovirtsdk4.types as types

        with session.change(f"change the CD-ROM of VM {vm}"):
            cdrom_service.update(types.Cdrom(file=types.File(id=wanted)), current=live)
    return wanted


def _boot(task: Task, session: EngineSession, service: Any, entity: Any, vm: str,
          boot: list[str], changes: list[str]) -> list[str]:
    """Set the VM's boot devices to ``boot`` unless they are already.

    The boot order counts at boot: a running VM's change waits for its next run, so the
    next-run configuration is what is compared and changed.
    """
    running = status_value(entity) in RUNNING
    with session.errors(f"read the configuration of VM {vm}"):
        planned = service.get(next_run=True) if running else entity
    os = planned.os
    devices = os.boot.devices if os is not None and os.boot is not None else None
    now = [enum_text(d) for d in devices or []]
    if now == boot:
        return now
    at = " (at its next run)" if running else ""
    changes.append(f"boot order {','.join(now) or '(none)'} -> {','.join(boot)}{at}")
    if not task.check:
        import ovirtsdk4.types as types

        update = types.Vm(os=types.OperatingSystem(boot=types.Boot(
            devices=[types.BootDevice(d) for d in boot])))
        session.act(service, "update", f"set the boot order of VM {vm}", vm=update)
    return boot
