"""The ``service`` task: start, stop, restart or reload a systemd unit; enable or disable it."""

from __future__ import annotations

import re
import shlex
from typing import Literal

from opsrunner import Registry, Result, Task, hookimpl

_UNIT = re.compile(r"^[A-Za-z0-9:_.@\\][A-Za-z0-9:_.@\\-]*$")
_ACTIONS = {"started": "start", "stopped": "stop", "restarted": "restart", "reloaded": "reload"}
_CANNOT_TOGGLE = ("static", "indirect", "generated", "transient")


def service(task: Task, *, name: str,
            state: Literal["started", "stopped", "restarted", "reloaded"] | None = None,
            enabled: bool | None = None) -> Result:
    """Bring a systemd unit to a state (started/stopped/restarted/reloaded) and enablement.

    :param name: the unit, e.g. ovirt-engine or ovirt-imageio.service.
    :param state: started and stopped change only when needed; restarted and reloaded always
        act (reloading a stopped unit starts it). After a start the unit must be active,
        else the task fails with the tail of ``systemctl status``.
    :param enabled: start the unit at boot (true) or not (false); unset leaves it as it is.

    data["active"] and data["enabled"] are the unit's state after the task (as planned in
    check mode).
    """
    if not _UNIT.match(name):
        task.fail(f"invalid unit name {name!r} (letters, digits and : _ . @ \\ -)")
    if state is None and enabled is None:
        task.fail("give state, enabled, or both")
    unit = shlex.quote(name)
    active = task.run(f"systemctl is-active {unit}").rc == 0
    actions: list[str] = []
    is_enabled = None
    if enabled is not None:
        is_enabled = _is_enabled(task, name, enabled)
        if is_enabled != enabled:
            actions.append("enable" if enabled else "disable")
    if state == "reloaded" and not active:
        actions.append("start")
    elif state in ("restarted", "reloaded") or (state == "started" and not active) \
            or (state == "stopped" and active):
        actions.append(_ACTIONS[state])
    verb = "would " if task.check else ""
    msg = f"{name}: {verb}{', '.join(actions)}" if actions else f"{name} is in the wanted state"
    data = {"active": active if state is None else state != "stopped",
            "enabled": enabled if enabled is not None else is_enabled}
    if task.check or not actions:
        return Result(changed=bool(actions), msg=msg, data=data)
    for action in actions:
        task.run(f"systemctl {action} {unit}", check_rc=True)
    if any(a in ("start", "restart", "reload") for a in actions):
        _verify_active(task, name)
    return Result(changed=True, msg=msg, data=data)


def _is_enabled(task: Task, name: str, wanted: bool) -> bool:
    """The unit's enablement from ``systemctl is-enabled`` (0 enabled, 1 disabled)."""
    res = task.run(f"systemctl is-enabled {shlex.quote(name)}")
    word = res.stdout.strip().splitlines()[-1] if res.stdout.strip() else ""
    if word.startswith("masked"):
        if wanted:
            task.fail(f"{name} is masked; unmask it before enabling it")
        return False
    if word in _CANNOT_TOGGLE:
        if not wanted:
            task.fail(f"{name} is {word}: it cannot be disabled")
        return True
    if res.rc != 0 and word != "disabled":
        detail = (res.stderr or res.stdout).strip() or f"exit status {res.rc}"
        task.fail(f"cannot read whether {name} is enabled: {detail}")
    return res.rc == 0


def _verify_active(task: Task, name: str) -> None:
    unit = shlex.quote(name)
    if task.run(f"systemctl is-active {unit}").rc == 0:
        return
    status = task.run(f"systemctl status --no-pager --lines=10 {unit}")
    tail = "\n".join((status.stdout + status.stderr).strip().splitlines()[-10:])
    task.fail(f"{name} is not active after starting it:\n{tail}")


@hookimpl
def opsrunner_register_tasks(registry: Registry) -> None:
    registry.add_task(service, name="service", idempotent=True)
