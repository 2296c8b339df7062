"""The engine REST API tasks, each named ``api.<what>``: hosts in and out of maintenance, VM
power, snapshots, templates, ISO upload, CD-ROM and boot order, audit events. They talk to the
engine API through ``task.engine`` (see :mod:`opsrunner.engine`), never over the host's
connection. Their former names ``engine.<what>`` still resolve, with a note, for one release."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Literal

from opsrunner import Idempotence, Registry, Result, Task, hookimpl
from opsrunner_plugins.engine.hosts import host_activate, host_maintenance
from opsrunner_plugins.engine.images import snapshot, template_from_vm
from opsrunner_plugins.engine.upload import upload_iso
from opsrunner_plugins.engine.vms import vm_cdrom, vm_power

RECENT_EVENTS = 200


def event(task: Task, *, description: str,
          severity: Literal["normal", "warning", "error", "alert"] = "normal",
          origin: str = "opsrunner", custom_id: int | None = None) -> Result:
    """Write an event into the engine's audit log, e.g. "maintenance window 42 started".

    :param description: the event's text.
    :param severity: normal, warning, error or alert.
    :param origin: who logs it (any name but oVirt).
    :param custom_id: the event's id for this origin; an event with the same origin and
        custom_id among the recent ones is not logged again. Default: derived from the run id
        and the description, so a retried step logs once per run.

    data["event_id"]: the engine's id of the event.
    """
    if not description.strip():
        task.fail("description must not be empty")
    if custom_id is None:
        custom_id = zlib.crc32(f"{task.run_id}\0{description}".encode()) & 0x7FFFFFFF
    session = task.engine
    with session.errors("read recent events"):
        recent = session.system.events_service().list(max=RECENT_EVENTS)
    for logged in recent:
        if logged.origin == origin and logged.custom_id == custom_id:
            return Result(msg=f"event {custom_id} of {origin} is already logged",
                          data={"event_id": str(logged.id), "custom_id": custom_id})
    if task.check:
        return Result(changed=True, msg=f"would log a {severity} event: {description}",
                      data={"event_id": "", "custom_id": custom_id})
    import ovirtsdk4.types as types

    with session.change("add an event"):
        added = session.system.events_service().add(types.Event(
            description=description, severity=types.LogSeverity(severity), origin=origin,
            custom_id=custom_id))
    return Result(changed=True, msg=f"logged a {severity} event: {description}",
                  data={"event_id": str(added.id), "custom_id": custom_id})


TASKS: dict[str, Callable[..., Result]] = {
    "api.host_maintenance": host_maintenance,
    "api.host_activate": host_activate,
    "api.vm_power": vm_power,
    "api.snapshot": snapshot,
    "api.template_from_vm": template_from_vm,
    "api.upload_iso": upload_iso,
    "api.vm_cdrom": vm_cdrom,
    "api.event": event,
}
"""The tasks by name; each keeps its former name ``engine.<what>`` as an alias for one release."""

RERUN_SAFE: dict[str, Idempotence] = {
    "api.host_maintenance": True, "api.host_activate": True, "api.vm_power": True,
    "api.vm_cdrom": True, "api.upload_iso": True, "api.template_from_vm": True,
    "api.snapshot": lambda args: args.get("action") != "restore",
}
"""Which tasks ``--resume`` may run again after a failure: those that converge on a state the
engine shows. ``api.event`` (a second audit line) and restoring a snapshot are not."""


@hookimpl
def opsrunner_register_tasks(registry: Registry) -> None:
    for name, func in TASKS.items():
        registry.add_task(func, name=name, aliases=("engine." + name.removeprefix("api."),),
                          idempotent=RERUN_SAFE.get(name, False))
