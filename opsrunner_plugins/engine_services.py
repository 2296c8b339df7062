"""The ``engine_services`` task: which engine services run; stop or start a list of them.

Workflows that stop the engine read the running services first and, in an always-step,
start exactly those again. :func:`stop_active` and :func:`start_all` serve the plugins
that stop services themselves (vacuum).
"""

from __future__ import annotations

import shlex
from typing import Literal

from opsrunner import Registry, Result, Task, TaskFailed, hookimpl
from opsrunner_plugins.service import service

ENGINE_SERVICES = ["ovirt-engine", "ovirt-engine-dwhd", "grafana-server", "ovirt-imageio",
                   "ovirt-websocket-proxy", "ovirt-provider-ovn", "httpd", "postgresql"]


def engine_services(task: Task, *,
                    names: list[str] = ENGINE_SERVICES,
                    state: Literal["started", "stopped"] | None = None) -> Result:
    """Read which of the engine's services are active, or stop or start them.

    :param names: systemd units, in order (stopped in this order, started in this order).
    :param state: unset: only read (runs in check mode too; reports ok); stopped: stop the
        active ones, and if one fails to stop, start again those stopped here and fail;
        started: start every inactive one, trying them all before failing with the list of
        those that did not come up.

    data["active"] and data["inactive"] are the units' states before the task;
    data["stopped"] / data["started"] what the task changed.
    """
    active = active_services(task, names)
    data: dict[str, list[str]] = {"active": active,
                                  "inactive": [n for n in names if n not in active]}
    if state is None:
        return Result(msg=f"active: {', '.join(active) or 'none'}", data=data)
    todo = active if state == "stopped" else data["inactive"]
    verb = "stop" if state == "stopped" else "start"
    if not todo:
        return Result(msg=f"nothing to {verb}", data=data)
    if task.check:
        return Result(changed=True, msg=f"would {verb} {', '.join(todo)}", data=data)
    if state == "stopped":
        data["stopped"] = stop_active(task, todo)
        return Result(changed=True, msg=f"stopped {', '.join(todo)}", data=data)
    data["started"], failures = start_all(task, todo)
    if failures:
        return Result(changed=bool(data["started"]), failed=True, data=data,
                      msg="not started: " + "; ".join(failures))
    return Result(changed=True, msg=f"started {', '.join(todo)}", data=data)


def active_services(task: Task, names: list[str]) -> list[str]:
    """Those of ``names`` that ``systemctl is-active`` reports active, in order."""
    for name in names:
        if not name or name.startswith("-") or any(c.isspace() for c in name):
            task.fail(f"invalid unit name {name!r}")
    if not names:
        return []
    quoted = " ".join(shlex.quote(n) for n in names)
    res = task.run(f"for u in {quoted}; do systemctl is-active --quiet \"$u\" && echo \"$u\"; "
                   "done; true")
    found = set(res.stdout.split())
    return [n for n in names if n in found]


def stop_active(task: Task, names: list[str]) -> list[str]:
    """Stop ``names`` in order; if one fails, start again those stopped and raise TaskFailed."""
    stopped: list[str] = []
    for name in names:
        try:
            service(task, name=name, state="stopped")
        except TaskFailed as exc:
            _, failures = start_all(task, stopped)
            again = f"; started again: {', '.join(stopped)}" if stopped else ""
            trouble = f"; NOT started again: {'; '.join(failures)}" if failures else ""
            raise TaskFailed(f"cannot stop {name}: {exc}{again}{trouble}") from None
        task.log(f"stopped {name}")
        stopped.append(name)
    return stopped


def start_all(task: Task, names: list[str]) -> tuple[list[str], list[str]]:
    """Start each of ``names`` (all are tried); the started ones and ``name: why`` failures."""
    started: list[str] = []
    failures: list[str] = []
    for name in names:
        try:
            service(task, name=name, state="started")
        except TaskFailed as exc:
            failures.append(f"{name}: {exc}")
            continue
        task.log(f"started {name}")
        started.append(name)
    return started, failures


@hookimpl
def opsrunner_register_tasks(registry: Registry) -> None:
    registry.add_task(engine_services, name="engine_services", idempotent=True)
