"""The destructive part of the restore of the OLVM Administration Guide, "Administration Tasks",
section "Restoring a Full Backup of the Manager" ("Managerの完全バックアップのリストア"), and the
way back from a safety backup.

``replace_engine`` runs the guide's three steps unattended: ``engine-cleanup`` (its questions
answered through ``--otopi-environment``), ``engine-backup --mode=restore --scope=all
--restore-permissions``, ``engine-setup --accept-defaults --offline``. ``recover`` runs the
same steps with the safety backup. Paths are host paths.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass

from opsrunner import CommandResult, Task, TaskFailed
from opsrunner_plugins import _remote
from opsrunner_plugins.engine_backup import tool

# engine-cleanup's questions: remove everything, stop the engine, also changed files.
CLEANUP_ANSWERS = ("OVESETUP_CORE/remove=bool:True", "OVESETUP_CORE/engineStop=bool:True",
                   "OVESETUP_REMOVE/removeAll=bool:True", "OVESETUP_REMOVE/removeChanged=bool:True")
SETUP_OPTIONS = ("--accept-defaults", "--offline")


@dataclass(frozen=True)
class Tools:
    """The engine's tools (names on the host's PATH or paths) and where restore logs go."""

    backup: str
    cleanup: str
    setup: str
    log_dir: str
    stamp: str

    def log(self, what: str) -> str:
        return posixpath.join(self.log_dir, f"ovirt-engine-{what}-{self.stamp}.log")


def cleanup(task: Task, tools: Tools) -> CommandResult:
    """``engine-cleanup`` without questions; TaskFailed with its ``[ ERROR ]`` line."""
    answers = "--otopi-environment=" + " ".join(CLEANUP_ANSWERS)
    task.log("engine-cleanup")
    return _checked(task, "engine-cleanup", f"{tools.cleanup} {shlex.quote(answers)} </dev/null")


def restore(task: Task, tools: Tools, archive: str, what: str, provision: bool) -> CommandResult:
    """``engine-backup --mode=restore --scope=all ... --restore-permissions``."""
    extra = ["--scope=all", "--restore-permissions"]
    extra += ["--provision-all-databases"] if provision else []
    task.log(f"engine-backup --mode=restore --scope=all --restore-permissions ({what})")
    res = tool.run_tool(task, tools.backup, "restore", archive, tools.log(f"restore-{what}"),
                        extra)
    if res.rc != 0:
        raise TaskFailed(f"engine-backup --mode=restore failed: {tool.fatal_line(res)}")
    return res


def setup(task: Task, tools: Tools) -> CommandResult:
    """``engine-setup --accept-defaults --offline``; TaskFailed with its ``[ ERROR ]`` line."""
    task.log("engine-setup --accept-defaults --offline")
    return _checked(task, "engine-setup", f"{tools.setup} {' '.join(SETUP_OPTIONS)} </dev/null")


def replace_engine(task: Task, tools: Tools, archive: str, provision: bool) -> CommandResult:
    """Cleanup, restore ``archive``, setup; the restore's result (it prints the backup date)."""
    cleanup(task, tools)
    restored = restore(task, tools, archive, "backup", provision)
    setup(task, tools)
    return restored


def recover(task: Task, tools: Tools, safety: str, engine_conf: str) -> str | None:
    """Bring the engine back from the safety backup: None when it worked, else why not.

    engine-cleanup runs first when the engine's database conf exists (a half-done restore
    or setup left something to clean); without it the databases are already empty.
    """
    try:
        if _remote.exists(task, engine_conf):
            cleanup(task, tools)
        restore(task, tools, safety, "safety", False)
        setup(task, tools)
    except TaskFailed as exc:
        return str(exc)
    return None


def _checked(task: Task, name: str, command: str) -> CommandResult:
    res = task.run(command)
    if res.rc != 0:
        raise TaskFailed(f"{name} failed: {tool.fatal_line(res)}")
    return res
