"""``api.snapshot`` (create, restore, remove) and ``api.template_from_vm`` (sealed)."""

from __future__ import annotations

from typing import Any, Literal

from opsrunner import GONE, EngineError, EngineSession, Result, Task, enum_text, status_value
from opsrunner_plugins.engine.common import (
    deadline,
    described_snapshots,
    event_mark,
    events_since,
    exactly_named,
    progress,
    with_events,
)


def _snapshot_status(snapshot: Any) -> str:
    return enum_text(snapshot.snapshot_status)


def snapshot(task: Task, *, vm: str, action: Literal["create", "restore", "remove"],
             description: str, memory: bool = False, timeout: float = 1800) -> Result:
    """Create, restore or remove a VM snapshot, found by its description.

    :param vm: the VM's name in the engine.
    :param action: create (ok if a snapshot with this description exists), restore (the VM
        must be down; always acts), remove (ok if there is none).
    :param description: the snapshot's description, its name for this task (must be unique
        among the VM's snapshots for restore and remove).
    :param memory: create: save the running VM's memory too; restore: restore it.
    :param timeout: seconds the engine may take (the snapshot must be ok again).

    data["snapshot_id"]: the snapshot's id ("" after remove).
    """
    if not description.strip():
        task.fail("description must not be empty")
    session = task.engine
    entity = session.find("vms", vm)
    snapshots = session.service("vms", entity.id).snapshots_service()
    matching = described_snapshots(session, entity, description)
    label = f"snapshot {description!r} of VM {vm}"
    if action == "create" and matching:
        return Result(msg=f"{label} exists", data={"snapshot_id": str(matching[0].id)})
    if action == "remove" and not matching:
        return Result(msg=f"{label} does not exist", data={"snapshot_id": ""})
    if action != "create" and len(matching) > 1:
        task.fail(f"VM {vm} has {len(matching)} snapshots described {description!r}; "
                  "remove the extra ones in the engine first")
    if action == "restore":
        if not matching:
            names = sorted({str(s.description) for s in snapshots.list()
                            if enum_text(s.snapshot_type) != "active"})
            task.fail(f"VM {vm} has no snapshot described {description!r} (snapshots: "
                      f"{', '.join(names) or 'none'})")
        if status_value(entity) != "down" and not task.check:  # (see template_from_vm)
            task.fail(f"VM {vm} is {status_value(entity)}; a snapshot can only be restored "
                      "while the VM is down (api.vm_power state=down first)")
    if task.check:
        return Result(changed=True, msg=f"would {action} {label}",
                      data={"snapshot_id": str(matching[0].id) if matching else ""})
    wait_until = deadline(task, timeout)
    mark = event_mark(session)
    try:
        snapshot_id = _apply(task, session, snapshots, action, matching, description, memory,
                             label, wait_until)
    except EngineError as exc:
        events = events_since(session, mark, lambda e: e.vm is not None and e.vm.id == entity.id)
        raise EngineError(with_events(str(exc), events)) from exc
    if action == "restore":
        session.wait_for_status(session.service("vms", entity.id), "down", deadline=wait_until,
                                describe=f"VM {vm}", on_status=progress(task, f"VM {vm}"))
    return Result(changed=True, msg=f"{action}d {label}" if action != "create"
                  else f"created {label}", data={"snapshot_id": snapshot_id})


def _apply(task: Task, session: EngineSession, snapshots: Any, action: str, matching: list[Any],
           description: str, memory: bool, label: str, wait_until: float) -> str:
    """Do ``action`` and wait for its end; the snapshot id ("" after remove)."""
    if action == "create":
        import ovirtsdk4.types as types

        with session.change(f"create {label}"):
            made = snapshots.add(types.Snapshot(description=description,
                                                persist_memorystate=memory))
        snapshot_id = str(made.id)
    else:
        snapshot_id = str(matching[0].id)
        params = {"restore_memory": memory} if action == "restore" else {}
        session.act(snapshots.snapshot_service(snapshot_id), action, f"{action} {label}",
                    **params)
    wanted = GONE if action == "remove" else "ok"
    session.wait_for_status(snapshots.snapshot_service(snapshot_id), wanted,
                            deadline=wait_until, describe=label, status_of=_snapshot_status,
                            on_status=progress(task, label))
    return "" if action == "remove" else snapshot_id


def template_from_vm(task: Task, *, vm: str, name: str, seal: bool = True,
                     cluster: str | None = None, timeout: float = 1800) -> Result:
    """Make a template from a VM that is down; its disks are named after the template.

    :param vm: the source VM's name in the engine (it must be down).
    :param name: the template's name; the boot disk's alias is the same (further disks:
        NAME_2, NAME_3...).
    :param seal: seal the template (virt-sysprep: host keys, machine-id, users' history...).
    :param cluster: the template's cluster (default: the VM's).
    :param timeout: seconds the engine may take until the template is ok.

    A template with this name that is ok is left alone (ok); one still locked is waited
    for. data["template_id"]: its id.
    """
    session = task.engine
    existing = exactly_named(session, "templates", name)
    label = f"template {name}"
    if existing:
        found = existing[0]
        status = status_value(found)
        if status == "locked" and not task.check:
            session.wait_for_status(session.service("templates", found.id), "ok",
                                    deadline=deadline(task, timeout), describe=label,
                                    on_status=progress(task, label))
        elif status not in ("ok", "locked"):
            task.fail(f"{label} exists and is {status}; remove it in the engine first")
        return Result(msg=f"{label} exists", data={"template_id": str(found.id)})
    source = session.find("vms", vm)
    if cluster is not None:
        session.find("clusters", cluster)
    sealed = " (sealed)" if seal else ""
    vm_status = status_value(source)
    if task.check:  # an earlier step may stop the VM: in check mode it has not
        note = f"; VM {vm} is {vm_status} now and must be down by then" \
            if vm_status != "down" else ""
        return Result(changed=True, msg=f"would create {label} from VM {vm}{sealed}{note}",
                      data={"template_id": ""})
    if vm_status != "down":
        task.fail(f"VM {vm} is {vm_status}; a template can only be made from a VM that is "
                  "down (api.vm_power state=down first)")
    with session.errors(f"list the disks of VM {vm}"):
        attachments = list(session.service("vms", source.id).disk_attachments_service().list())
    template = _template(name, source.id, attachments, cluster)
    mark = event_mark(session)
    with session.change(f"create {label} from VM {vm}"):
        made = session.collection("templates").add(template, seal=seal)
    try:
        session.wait_for_status(session.service("templates", made.id), "ok",
                                deadline=deadline(task, timeout), describe=label,
                                on_status=progress(task, label))
    except EngineError as exc:
        events = events_since(session, mark, lambda e: (e.template is not None and
                                                        e.template.id == made.id)
                              or (e.vm is not None and e.vm.id == source.id))
        raise EngineError(with_events(str(exc), events)) from exc
    return Result(changed=True, msg=f"created {label} from VM {vm}{sealed}",
                  data={"template_id": str(made.id)})


def _template(name: str, vm_id: str, attachments: list[Any], cluster: str | None) -> Any:
    """The template to add: the boot disk aliased ``name``, the others ``name_2``..."""
    import ovirtsdk4.types as types

    ordered = sorted(attachments, key=lambda a: not a.bootable)
    disks = [types.DiskAttachment(disk=types.Disk(id=a.disk.id,
                                                  alias=name if i == 0 else f"{name}_{i + 1}"))
             for i, a in enumerate(ordered)]
    return types.Template(name=name, vm=types.Vm(id=vm_id, disk_attachments=disks),
                          cluster=types.Cluster(name=cluster) if cluster else None)
