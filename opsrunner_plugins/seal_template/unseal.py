"""``unseal_template``: undo a mistaken ``seal_template`` with the snapshot it took first.

The template goes (unless kept), the VM gets its disks and configuration back from the
snapshot "before seal for template T", the snapshot is removed (so a second run finds nothing
left to undo) and the VM starts. Restoring discards every change made to the VM since the
snapshot, so a real run needs the run's confirmation (``--yes``).
"""

from __future__ import annotations

from typing import Any

from opsrunner import GONE, EngineSession, Result, Task, status_value
from opsrunner_plugins.engine.common import deadline, described_snapshots, exactly_named, progress
from opsrunner_plugins.engine.images import snapshot
from opsrunner_plugins.engine.vms import RUNNING, vm_power


def snapshot_description(template: str) -> str:
    """The description of the snapshot seal_template takes before sealing."""
    return f"before seal for template {template}"


def unseal_template(task: Task, *, vm: str, template: str, keep_template: bool = False,
                    start: bool = True, timeout: float = 1800) -> Result:
    """Undo the seal of VM ``vm`` for template ``template``.

    :param vm: the sealed VM's name in the engine.
    :param template: the template the seal made.
    :param keep_template: leave the template (only the VM is restored).
    :param start: start the VM once restored (its guest answers over SSH again).
    :param timeout: seconds for each engine step.

    Nothing to undo (the VM has no "before seal for template T" snapshot) is ok. A running VM
    is shut down first. data: restored (snapshot id or ""), template_removed (bool).
    """
    session = task.engine
    description = snapshot_description(template)
    entity = session.find("vms", vm)
    found = described_snapshots(session, entity, description)
    templates = exactly_named(session, "templates", template)
    remove = bool(templates) and not keep_template
    data: dict[str, Any] = {"restored": "", "template_removed": False}
    if not found:
        kept = f"; template {template} exists (remove it in the engine if unwanted)" \
            if templates else ""
        return Result(msg=f"nothing to undo: VM {vm} has no snapshot {description!r}{kept}",
                      data=data)
    plan = ([f"remove template {template}"] if remove else []) + [
        f"restore VM {vm} from snapshot {description!r} (its changes since are lost)",
        "remove that snapshot"] + ([f"start VM {vm}"] if start else [])
    if task.check:
        return Result(changed=True, msg="would " + "; ".join(plan), data=data)
    if not task.confirmed:
        task.fail(f"undoing the seal would {'; '.join(plan)}; confirm with --yes (nothing was "
                  "changed)")
    done = []
    if remove:
        _remove_template(task, session, templates[0], timeout)
        data["template_removed"] = True
        done.append(f"removed template {template}")
    if status_value(entity) in RUNNING:
        vm_power(task, vm=vm, state="down", timeout=timeout)
        done.append(f"shut VM {vm} down")
    restored = snapshot(task, vm=vm, action="restore", description=description,
                        timeout=timeout)
    data["restored"] = restored.data["snapshot_id"]
    snapshot(task, vm=vm, action="remove", description=description, timeout=timeout)
    done.append(f"restored VM {vm} from snapshot {description!r} and removed the snapshot")
    if start:
        vm_power(task, vm=vm, state="up", timeout=timeout)
        done.append(f"started VM {vm}")
    return Result(changed=True, msg="; ".join(done), data=data)


def _remove_template(task: Task, session: EngineSession, template: Any, timeout: float) -> None:
    label = f"template {template.name}"
    service = session.service("templates", template.id)
    session.act(service, "remove", f"remove {label}")
    session.wait_for_status(service, GONE, deadline=deadline(task, timeout), describe=label,
                            on_status=progress(task, label))
