"""The ``engine_restore`` task: the full restore of the engine from a backup, as in the OLVM
Administration Guide, "Administration Tasks", section "Restoring a Full Backup of the Manager"
("Managerの完全バックアップのリストア").

It destroys the engine's current state, so it refuses to start (changing nothing) unless
the archive exists and passes ``engine-backup --mode=verify``, the run is confirmed (``--yes``
or ``confirm: true``), a fresh safety backup of the current state was taken and verified,
and the archive's version matches the installed tool's (same X.Y, not newer; read from the
safety backup the installed tool just wrote). If a step after engine-cleanup fails, the
engine is restored from the safety backup, and the result says so.
"""

from __future__ import annotations

import posixpath
import shlex
from typing import Any, NoReturn

from opsrunner import Registry, Result, Task, TaskFailed, hookimpl
from opsrunner_plugins import _remote
from opsrunner_plugins.engine_backup import restore_steps as steps
from opsrunner_plugins.engine_backup import tool

ENGINE_CONF = "/etc/ovirt-engine/engine.conf.d/10-setup-database.conf"


def engine_restore(task: Task, *, file: str, confirm: bool = False,
                   provision_databases: bool = False, safety_dir: str = tool.BACKUP_DIR,
                   log_dir: str = tool.LOG_DIR, engine_conf: str = ENGINE_CONF,
                   engine_backup: str = "engine-backup", engine_cleanup: str = "engine-cleanup",
                   engine_setup: str = "engine-setup") -> Result:
    """Restore the engine from an engine-backup archive (cleanup, restore, setup).

    :param file: the archive on the engine host (absolute).
    :param confirm: confirm the destructive restore (as ``--yes`` does for the whole run).
    :param provision_databases: add ``--provision-all-databases`` (a machine whose engine
        databases and users do not exist).
    :param safety_dir: where the safety backup of the current state goes
        (``ovirt-engine-safety-<stamp>.backup``; retention of engine_backup never removes it).
    :param log_dir: where the engine-backup logs of the safety backup and restores go.
    :param engine_conf: its presence tells whether a failed restore left something for
        engine-cleanup to clean before the safety backup goes back.
    :param engine_backup: the engine-backup program (on the host's PATH or a path).
    :param engine_cleanup: the engine-cleanup program.
    :param engine_setup: the engine-setup program.

    The result says when the engine database was backed up (objects added, removed or
    changed after that are missing). data: file, version, backed_up_at, safety_backup,
    recovered (after a failure: whether the safety backup went back).
    """
    for name, value in (("file", file), ("safety_dir", safety_dir), ("log_dir", log_dir),
                        ("engine_conf", engine_conf)):
        _remote.require_absolute(name, value)
    archive = task.path(file)
    facts = _remote.file_facts(task, archive)
    if facts is None or facts.kind != "file":
        _refuse(f"{file} {'does not exist' if facts is None else 'is a ' + facts.kind}")
    stamp = tool.host_stamp(task)
    tools = steps.Tools(engine_backup, engine_cleanup, engine_setup, task.path(log_dir), stamp)
    checked = tool.verify_quietly(task, engine_backup, archive)
    if checked.rc != 0:
        _refuse(f"{file} does not pass engine-backup --mode=verify: {tool.fatal_line(checked)}")
    version = (tool.archive_member(task, archive, "version") or "").strip()
    if not version:
        _refuse(f"{file} holds no version member; not an engine-backup archive")
    date = tool.archive_date(task, archive) or "an unknown date"
    safety = posixpath.join(safety_dir, f"ovirt-engine-safety-{stamp}.backup")
    data: dict[str, Any] = {"file": file, "version": version, "backed_up_at": date,
                            "safety_backup": None, "recovered": None}
    if task.check:
        return Result(changed=True, data=data, msg=(
            f"would restore {file} (version {version}, engine database backed up at {date}): "
            f"safety backup to {safety}, engine-cleanup, engine-backup --mode=restore "
            "--scope=all --restore-permissions, engine-setup"))
    if not (task.confirmed or confirm):
        _refuse(f"the restore of {file} replaces the engine's configuration and databases "
                f"(what changed after {date} is lost) and needs a confirmation: run with "
                "--yes or set confirm: true")
    installed = _safety_backup(task, tools, safety)
    data["safety_backup"] = safety
    if not tool.version_compatible(version, installed):
        _refuse(f"{file} was made by version {version}; the installed engine-backup is "
                f"{installed} (needs the same X.Y, not newer); the safety backup {safety} was "
                "taken")
    try:
        restored = steps.replace_engine(task, tools, archive, provision_databases)
    except TaskFailed as exc:
        return _recovered(task, tools, data, str(exc), engine_conf)
    date = tool.backed_up_at(restored.stdout) or date
    data["backed_up_at"] = date
    msg = (f"restored {file} (version {version}); the engine database was backed up at "
           f"{date}: objects added, removed or changed after {date} are missing; safety "
           f"backup of the previous state: {safety}")
    task.log(msg)
    return Result(changed=True, msg=msg, stdout=restored.stdout, data=data,
                  note=f"restored the backup of {date}: objects changed after it are missing")


def _refuse(why: str) -> NoReturn:
    raise TaskFailed(f"refusing to restore: {why}; nothing was changed")


def _safety_backup(task: Task, tools: steps.Tools, safety: str) -> str:
    """Back up and verify the current state; the version the installed tool writes."""
    host_safety = task.path(safety)
    if _remote.exists(task, host_safety):
        _refuse(f"the safety backup {safety} exists already (try again in a second)")
    task.log(f"safety backup of the current state to {safety}")
    task.run(f"mkdir -p -- {shlex.quote(posixpath.dirname(host_safety))} {shlex.quote(tools.log_dir)}",
             check_rc=True)
    res = tool.run_tool(task, tools.backup, "backup", host_safety, tools.log("safety-backup"),
                        ["--scope=all"])
    if res.rc == 0:
        res = tool.run_tool(task, tools.backup, "verify", host_safety,
                            tools.log("safety-verify"))
    if res.rc != 0:
        _remote.remove_files(task, [host_safety])
        _refuse(f"the safety backup failed: {tool.fatal_line(res)}")
    installed = (tool.archive_member(task, host_safety, "version") or "").strip()
    if not installed:
        _refuse(f"the safety backup {safety} holds no version member")
    return installed


def _recovered(task: Task, tools: steps.Tools, data: dict[str, Any], error: str,
               engine_conf: str) -> Result:
    """The failed result after bringing the safety backup back (or failing to)."""
    safety = data["safety_backup"]
    task.log(f"{error}: recovering from the safety backup {safety}")
    problem = steps.recover(task, tools, task.path(safety), task.path(engine_conf))
    data["recovered"] = problem is None
    if problem is None:
        msg = (f"restore of {data['file']} failed ({error}); the engine was brought back to "
               f"its state before the restore from the safety backup {safety}")
    else:
        msg = (f"restore of {data['file']} failed ({error}) and so did the recovery from the "
               f"safety backup {safety} ({problem}); restore it by hand: engine-cleanup; "
               f"engine-backup --mode=restore --scope=all --file={safety} --log=<log> "
               "--restore-permissions; engine-setup")
    task.log(msg)
    return Result(changed=True, failed=True, msg=msg, data=data)


ROLLBACK_RESERVE = 1800.0
"""Seconds a failed restore needs to put the safety backup back: engine-cleanup,
engine-backup --mode=restore and engine-setup once more."""

@hookimpl
def opsrunner_register_tasks(registry: Registry) -> None:
    registry.add_task(engine_restore, name="engine_restore", reserve=ROLLBACK_RESERVE)
