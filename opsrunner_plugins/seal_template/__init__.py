"""The ``seal_template`` task: seal an Oracle Linux VM and make a template of it (the OLVM
Administration Guide, "Administration Tasks", sections "Sealing an Oracle Linux Virtual Machine
for Use as a Template" ("テンプレートとして使用するためのOracle Linux仮想マシンのシール") and
"Creating an Oracle Linux Template" ("Oracle Linuxテンプレートの作成")); and
``unseal_template`` (:mod:`._unseal`), which undoes a mistaken seal. Both run on the guest (SSH)
and talk to the engine API (the guest's ``engine_host`` or the inventory's one engine).

Order, each step only when needed: the template exists and is ok -> nothing in the guest, only
its cloud-init settings are compared; else the VM must be up (to reach the guest) -> engine
snapshot "before seal for template T" -> optional ``dnf install cloud-init`` + enable + start
-> the guide's seal steps (:mod:`._seal_guest`), re-read to prove nothing is left -> ``history -c;
poweroff`` -> the engine sees the VM down (else ``if_still_up``) -> template with seal=true, its
disk aliased like the template, ok -> cloud-init initial-run settings -> an audit event.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from opsrunner import EngineSession, Registry, Result, Task, hookimpl, status_value
from opsrunner_plugins.engine.common import exactly_named
from opsrunner_plugins.engine.images import snapshot, template_from_vm
from opsrunner_plugins.seal_template.cloud_init import (
    CloudInitSettings,
    parse_settings,
)
from opsrunner_plugins.seal_template.engine import (
    apply_cloud_init,
    log_seal_event,
    same_machine,
    vm_to_seal,
    wait_down,
)
from opsrunner_plugins.seal_template.guest import (
    GuestRelease,
    SealPlan,
    apply,
    guest_release,
    power_off,
    survey,
)
from opsrunner_plugins.seal_template.unseal import snapshot_description, unseal_template

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def seal_template(task: Task, *, vm: str, template: str, snapshot_first: bool = True,
                  clear_logs: bool = False, install_cloud_init: bool = False,
                  cloud_init: dict[str, Any] | None = None,
                  if_down: Literal["fail", "start", "sealed"] = "fail",
                  if_still_up: Literal["shutdown", "stop", "fail"] = "shutdown",
                  shutdown_timeout: float = 300, timeout: float = 1800) -> Result:
    """Seal the guest this task runs on (VM ``vm``) and make the sealed template ``template``.

    :param vm: the guest's VM name in the engine.
    :param template: the template's name; its boot disk gets the same alias.
    :param snapshot_first: take an engine snapshot of the VM before changing the guest, so a
        mistaken seal can be undone (unseal_template, workflows/unseal-template.yml).
    :param clear_logs: also remove the logs under /var/log (wtmp, btmp, lastlog are emptied)
        and the installer's logs in /root.
    :param install_cloud_init: before sealing, install (dnf/yum), enable and start cloud-init
        in the guest (Oracle Linux 7 or later).
    :param cloud_init: the template's initial-run settings (see :mod:`._cloud_init`); the root
        password only as {secret_env: NAME} or {secret_file: PATH}.
    :param if_down: the VM is down and no template exists: fail, start it (it was not sealed
        yet) or sealed (it was sealed by an earlier run: only make the template).
    :param if_still_up: the VM is still up ``shutdown_timeout`` seconds after the guest's
        poweroff: ask the engine to shut it down, stop it (pull the plug), or fail.
    :param shutdown_timeout: seconds the VM may take to go down after poweroff.
    :param timeout: seconds for each engine step (snapshot, template).

    A real seal needs the run's confirmation (``--yes``). Check mode lists every file the seal
    would touch. data: release, files (touched),
    snapshot_id, template_id, cloud_init (changed setting names).
    """
    settings = _validate(task, template, cloud_init)
    session = task.engine
    data: dict[str, Any] = {"release": "", "files": [], "snapshot_id": "", "template_id": "",
                            "cloud_init": []}
    changes: list[str] = []
    existing = exactly_named(session, "templates", template)
    if not existing:
        _seal_and_make(task, session, vm, template, settings, data, changes,
                       snapshot_first=snapshot_first, clear_logs=clear_logs,
                       install_cloud_init=install_cloud_init, if_down=if_down,
                       if_still_up=if_still_up, shutdown_timeout=shutdown_timeout,
                       timeout=timeout)
        if task.check:
            return Result(changed=True, msg="; ".join(changes), data=data)
    else:
        made = template_from_vm(task, vm=vm, name=template, timeout=timeout)  # waits if locked
        data["template_id"] = made.data["template_id"]
    if settings is not None:
        apply_cloud_init(task, session, template, str(data["template_id"]), settings, data,
                         changes)
    if not changes:
        return Result(msg=f"template {template} exists (sealed from VM {vm})"
                      + ("; its cloud-init settings are as wanted" if settings else ""),
                      data=data)
    return Result(changed=True, msg="; ".join(changes), data=data)


def _validate(task: Task, template: str, cloud_init: dict[str, Any] | None
              ) -> CloudInitSettings | None:
    """Everything checkable before the first change; the parsed cloud-init settings."""
    if not template or not set(template) <= _NAME_CHARS:
        task.fail(f"template {template!r}: the engine allows letters, digits, '_', '-' and '.'")
    if not cloud_init:
        return None
    try:
        return parse_settings(cloud_init, Path.cwd())
    except ValueError as exc:
        task.fail(str(exc))


def _seal_and_make(task: Task, session: EngineSession, vm: str, template: str,
                   settings: CloudInitSettings | None, data: dict[str, Any],
                   changes: list[str], *, snapshot_first: bool, clear_logs: bool,
                   install_cloud_init: bool, if_down: str, if_still_up: str,
                   shutdown_timeout: float, timeout: float) -> None:
    """No template yet: seal the guest (unless it was) and make the template."""
    entity = session.find("vms", vm)
    _require_confirmation(task, vm, status_value(entity), if_down)
    status = vm_to_seal(task, session, entity, if_down)
    if status == "up":
        release = guest_release(task)
        data["release"] = release.name
        if install_cloud_init and release.major < 7:
            task.fail(f"install_cloud_init: {release.name} is older than Oracle Linux 7; the "
                      "OLVM Administration Guide's cloud-init templates need 7 or later; "
                      "nothing was changed")
        same_machine(task, session, entity)
        plan = survey(task, release, clear_logs)
        data["files"] = plan.files()
        if task.check:
            changes += _check_plan(task, vm, template, plan, snapshot_first,
                                   install_cloud_init)
            return
        if snapshot_first:
            taken = snapshot(task, vm=vm, action="create",
                             description=snapshot_description(template), timeout=timeout)
            data["snapshot_id"] = taken.data["snapshot_id"]
            if taken.changed:
                changes.append(f"snapshot {snapshot_description(template)!r} of VM {vm}")
        if install_cloud_init:
            changes += _prepare_cloud_init(task, release)
        _seal(task, plan, changes)
        power_off(task)
        changes.append(f"powered {vm} off from the guest")
        wait_down(task, session, entity, if_still_up, shutdown_timeout, changes)
    elif status == "start":  # check mode
        changes.append(f"would start VM {vm} (down), seal its guest (the files are listed once "
                       f"it runs), power it off and make the sealed template {template}")
        return
    elif task.check:
        changes.append(f"would make the sealed template {template} from VM {vm} (down; "
                       "sealed by an earlier run, if_down=sealed)")
        return
    made = template_from_vm(task, vm=vm, name=template, seal=True, timeout=timeout)
    data["template_id"] = made.data["template_id"]
    changes.append(made.msg)
    log_seal_event(task, session, vm, template, str(made.data["template_id"]),
                   data["release"] or "sealed earlier")


def _require_confirmation(task: Task, vm: str, status: str, if_down: str) -> None:
    """A real seal changes the guest for good: it needs the run's ``--yes`` (a template made
    from a VM an earlier run sealed, ``if_down=sealed``, does not)."""
    if task.check or task.confirmed or (if_down == "sealed" and status == "down"):
        return
    task.fail(f"sealing VM {vm} removes its SSH host keys, hostname and NIC identities and "
              "powers it off (undo: workflows/unseal-template.yml, from the snapshot taken "
              "first); confirm with --yes (nothing was changed)")


def _check_plan(task: Task, vm: str, template: str, plan: SealPlan, snapshot_first: bool,
                install_cloud_init: bool) -> list[str]:
    out = [f"would snapshot VM {vm} ({snapshot_description(template)!r})"] \
        if snapshot_first else []
    if install_cloud_init:
        out.append("would install, enable and start cloud-init")
    steps = plan.steps()
    out.append(f"would seal {plan.release.name}: " + ("; ".join(steps) if steps else
                                                        "nothing left to seal"))
    out.append(f"would power {vm} off and make the sealed template {template}")
    for line in steps:
        task.log(f"would {line}")
    return out


def _prepare_cloud_init(task: Task, release: GuestRelease) -> list[str]:
    """``dnf install cloud-init``, ``systemctl enable``/``start`` where not done yet."""
    done = []
    if task.run("rpm -q cloud-init").rc != 0:
        manager = "dnf" if release.major >= 8 else "yum"
        task.run(f"{manager} install -y cloud-init", check_rc=True)
        done.append("installed cloud-init")
    if task.run("systemctl is-enabled cloud-init").rc != 0:
        task.run("systemctl enable cloud-init", check_rc=True)
        done.append("enabled cloud-init")
    if task.run("systemctl is-active cloud-init").rc != 0:
        task.run("systemctl start cloud-init", check_rc=True)
        done.append("started cloud-init")
    return done


def _seal(task: Task, plan: SealPlan, changes: list[str]) -> None:
    """Carry out the seal steps, then re-read the guest: nothing essential may be left."""
    apply(task, plan)
    for step in plan.steps():
        task.log(step)
    left = survey(task, plan.release, clear_logs=False).leftovers()
    if left:
        task.fail(f"sealing left work undone in the guest: {'; '.join(left)}; the VM was not "
                  "powered off")
    files = plan.files()
    changes.append(f"sealed {plan.release.name} ({len(files)} files: "
                   f"{', '.join(files[:4])}{', ...' if len(files) > 4 else ''})")


@hookimpl
def opsrunner_register_tasks(registry: Registry) -> None:
    registry.add_task(seal_template, name="seal_template")
    registry.add_task(unseal_template, name="unseal_template")
