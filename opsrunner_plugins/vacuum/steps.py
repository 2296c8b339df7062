"""The steps of the vacuum procedure of the OLVM Administration Guide, "Administration Tasks",
section "Reclaiming Database Storage" ("データベース記憶域の再利用"), for one database: its dump
and its vacuum.

A :class:`Target` is one database (the engine's or the DWH's) with its settings, tool and
dump folder (host paths). Dumps are named as the guide names them,
``<folder>/<prefix>-$(date +%Y%m%d%H%M%S).$$.dump``; retention only ever touches files of
exactly that form (engine-setup's own ``engine-<stamp>.<random>.dump`` backups differ).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass

from opsrunner import CommandResult, Task
from opsrunner_plugins import _remote
from opsrunner_plugins.vacuum.db import DbSettings, run_with_password

VACUUM_FLAGS = {"full": "-f -v", "analyze": "-a -v"}


@dataclass(frozen=True)
class Target:
    """One database to vacuum. ``key`` is ``engine`` or ``dwh``; paths are host paths."""

    key: str
    settings: DbSettings
    tool: str
    dump_dir: str
    dump_prefix: str

    @property
    def database(self) -> str:
        return self.settings.database


def dump_command(pg_bin_dir: str, target: Target) -> str:
    """The guide's pg_dump (custom format, its flags, its file name), ``-w`` added so a wrong
    password fails instead of prompting. Prints the dump's path first."""
    s = target.settings
    folder = shlex.quote(target.dump_dir)
    pg_dump = shlex.quote(posixpath.join(pg_bin_dir, "pg_dump"))
    return (f"mkdir -p -- {folder} || exit 1\n"
            f"f={folder}/{shlex.quote(target.dump_prefix)}-$(date +%Y%m%d%H%M%S).$$.dump\n"
            "printf '%s\\n' \"$f\"\n"
            f"{pg_dump} -w -E UTF8 --disable-dollar-quoting --disable-triggers "
            f"-U {shlex.quote(s.user)} -h {shlex.quote(s.host)} -p {s.port} --format=custom "
            f"--file=\"$f\" {shlex.quote(s.database)} || {{ s=$?; rm -f -- \"$f\"; exit $s; }}")


def dump(task: Task, pg_bin_dir: str, target: Target) -> str:
    """Dump ``target``'s database; the dump's host path. TaskFailed with pg_dump's error."""
    res = run_with_password(task, target.settings, dump_command(pg_bin_dir, target))
    path = res.stdout.split("\n", 1)[0].strip()
    if res.rc != 0 or not path:
        task.fail(f"pg_dump of database {target.database} failed (exit status {res.rc}): "
                  f"{_error_line(res)}")
    return path


def own_dumps(names: list[tuple[float, str]], prefix: str) -> list[tuple[float, str]]:
    """Those ``(mtime, path)`` entries whose file name is a dump made by this procedure."""
    form = re.compile(rf"^{re.escape(prefix)}-\d{{14}}\.\d+\.dump$")
    return [(mtime, path) for mtime, path in names if form.match(posixpath.basename(path))]


def prune_dumps(task: Task, target: Target, keep: int, newest: str) -> list[str]:
    """Remove this procedure's dumps of ``target`` beyond the newest ``keep``; host paths."""
    found = _remote.list_files(task, target.dump_dir, f"{target.dump_prefix}-*.dump")
    old = _remote.old_files(own_dumps(found, target.dump_prefix), keep, newest)
    _remote.remove_files(task, old)
    return old


def run_vacuum(task: Task, target: Target, mode: str) -> CommandResult:
    """``engine-vacuum.sh -f -v`` (or ``-a -v``) for ``target``; TaskFailed when it fails."""
    command = f"{shlex.quote(target.tool)} {VACUUM_FLAGS[mode]} </dev/null"
    res = task.run(command)
    if res.rc != 0:
        task.fail(f"{posixpath.basename(target.tool)} {VACUUM_FLAGS[mode]} failed on database "
                  f"{target.database} (exit status {res.rc}): {_error_line(res)}")
    return res


def _error_line(res: CommandResult) -> str:
    """The first line saying what failed (``error:``, ``FATAL``), else the last line."""
    lines = [ln.strip() for ln in (res.stderr + "\n" + res.stdout).splitlines() if ln.strip()]
    for line in lines:
        if "error:" in line.lower() or line.startswith("FATAL"):
            return line
    return lines[-1] if lines else "no output"
