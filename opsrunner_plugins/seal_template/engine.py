"""The engine side of ``seal_template``: the VM's state before and after the guest's steps,
the guest's identity, the template's cloud-init settings, the audit record of the seal."""

from __future__ import annotations

import time
import zlib
from typing import Any, Literal

from opsrunner import EngineError, EngineSession, HostConnectionError, Task, status_value
from opsrunner_plugins.engine.common import deadline, progress, would
from opsrunner_plugins.engine.vms import vm_power
from opsrunner_plugins.seal_template.cloud_init import CloudInitSettings, differences, to_initialization
from opsrunner_plugins.seal_template.guest import guest_macs

_STARTING = frozenset({"powering_up", "wait_for_launch", "reboot_in_progress"})
_SSH_WAIT = 120.0


def vm_to_seal(task: Task, session: EngineSession, entity: Any, if_down: str) -> str:
    """``up`` (the guest answers), ``down`` with ``if_down=sealed``, ``start`` in check mode
    with ``if_down=start``; fails otherwise. ``entity``: the VM as just read."""
    vm, status = str(entity.name), status_value(entity)
    if status in _STARTING or status == "powering_down":
        entity = session.wait_for_status(session.service("vms", entity.id), ("up", "down"),
                                         deadline=deadline(task, _SSH_WAIT),
                                         describe=f"VM {vm}",
                                         on_status=progress(task, f"VM {vm}"))
        status = status_value(entity)
    if status == "up":
        return status
    if status != "down":
        task.fail(f"VM {vm} is {status}; sealing needs it up (to reach the guest over SSH) or "
                  "down after an earlier seal")
    if if_down == "sealed":
        return status
    if if_down == "fail":
        task.fail(f"VM {vm} is down and template does not exist yet: the guest cannot be "
                  "sealed over SSH. Start it to seal it (if_down=start), or, if an earlier "
                  "run sealed it and only the template step failed, use if_down=sealed")
    if task.check:
        return "start"
    vm_power(task, vm=vm, state="up")
    _wait_ssh(task, vm)
    return "up"


def _wait_ssh(task: Task, vm: str) -> None:
    """Wait until the started guest answers over SSH."""
    until = time.monotonic() + (task.remaining(_SSH_WAIT) or _SSH_WAIT)
    while True:
        try:
            task.run("true", check_rc=True)
            return
        except HostConnectionError as exc:
            if time.monotonic() >= until:
                task.fail(f"VM {vm} is up but its guest does not answer over SSH: {exc}")
            time.sleep(1.0)


def same_machine(task: Task, session: EngineSession, entity: Any) -> None:
    """Refuse when the guest's MAC addresses show it is not VM ``entity`` (a wrong ``vm`` or
    inventory entry would seal another machine); a guest showing no MAC is not compared."""
    in_guest = guest_macs(task)
    if not in_guest:
        task.log("the guest shows no MAC address: not compared with the VM's NICs")
        return
    vm = str(entity.name)
    with session.errors(f"list the NICs of VM {vm}"):
        nics = list(session.service("vms", entity.id).nics_service().list())
    in_engine = {str(n.mac.address).lower() for n in nics if n.mac is not None and n.mac.address}
    if in_engine and not in_guest & in_engine:
        task.fail(f"refusing to seal: this guest's MAC addresses ({', '.join(sorted(in_guest))}) "
                  f"are not VM {vm}'s ({', '.join(sorted(in_engine))}); check the vm parameter "
                  "and the inventory (vm_name); nothing was changed")


def wait_down(task: Task, session: EngineSession, entity: Any, if_still_up: str,
              shutdown_timeout: float, changes: list[str]) -> None:
    """Wait for the engine to see VM ``entity`` down after the guest's poweroff."""
    vm = str(entity.name)
    try:
        session.wait_for_status(session.service("vms", entity.id), "down",
                                deadline=deadline(task, shutdown_timeout), describe=f"VM {vm}",
                                on_status=progress(task, f"VM {vm}"))
        return
    except EngineError as exc:
        still = str(exc)
    if if_still_up == "fail":
        task.fail(f"VM {vm} did not go down after poweroff in the guest ({still}); the engine "
                  "makes templates only of VMs that are down. The guest is sealed: power it "
                  "off in the engine, then run again with if_down=sealed (or use "
                  "if_still_up=shutdown|stop)")
    how: Literal["shutdown", "stop"] = "stop" if if_still_up == "stop" else "shutdown"
    task.log(f"VM {vm} is still up after the guest's poweroff: {how} through the engine")
    vm_power(task, vm=vm, state="down", how=how, timeout=shutdown_timeout)
    changes.append(f"VM {vm} did not go down by itself: {how} through the engine")


def apply_cloud_init(task: Task, session: EngineSession, template: str, template_id: str,
                     settings: CloudInitSettings, data: dict[str, Any],
                     changes: list[str]) -> None:
    """Give the template the cloud-init settings when they differ."""
    if not template_id:  # check mode: the template does not exist yet
        changes.append(f"would enable cloud-init on template {template}")
        return
    service = session.service("templates", template_id)
    with session.errors(f"read template {template}"):
        current = service.get().initialization
    differ = differences(settings, current)
    data["cloud_init"] = differ
    if not differ:
        return
    changes.append(f"{would(task)}set cloud-init on template {template}: {', '.join(differ)}")
    if task.check:
        return
    import ovirtsdk4.types as types

    session.act(service, "update", f"set the cloud-init settings of template {template}",
                template=types.Template(initialization=to_initialization(settings)))


def log_seal_event(task: Task, session: EngineSession, vm: str, template: str,
                   template_id: str, release: str) -> None:
    """The audit log's record that this template was sealed (the engine logs none)."""
    import ovirtsdk4.types as types

    custom_id = zlib.crc32(f"sealed\0{template_id}".encode()) & 0x7FFFFFFF
    with session.change("log the seal event"):
        session.system.events_service().add(types.Event(
            description=f"Template {template} was sealed from VM {vm} ({release}) by "
                        f"opsrunner run {task.run_id}.", severity=types.LogSeverity.NORMAL,
            origin="opsrunner", custom_id=custom_id))
