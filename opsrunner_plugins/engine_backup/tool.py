"""Running ``engine-backup`` and reading its archives on the engine host.

Shared by the engine_backup and engine_restore plugins. Paths given to these functions are
host paths (already mapped through :meth:`Task.path`). The tool reports errors as
``FATAL: <message>`` on stderr; :func:`fatal_line` picks that line for our messages.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from opsrunner import CommandResult, Task

SCOPES = ("all", "files", "db", "dwhdb", "grafanadb", "keycloakdb", "cinderlibdb")
BACKUP_DIR = "/var/lib/ovirt-engine-backup"
LOG_DIR = "/var/log/ovirt-engine-backup"
_BACKED_UP_AT = re.compile(r"backed up at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(\.\d+)?( [+-]\d{4})? \.")
_TAR_DATE = re.compile(r"\s(\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)?)\s")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def fatal_line(res: CommandResult) -> str:
    """The tool's ``FATAL:`` line (otopi's first ``[ ERROR ]`` line), else its last line."""
    lines = [ln.strip() for ln in (res.stderr + "\n" + res.stdout).splitlines() if ln.strip()]
    for marker in ("FATAL:", "[ ERROR ]"):
        found = next((ln for ln in lines if ln.startswith(marker)), None)
        if found:
            return found
    return lines[-1] if lines else f"exit status {res.rc}, no output"


def host_stamp(task: Task) -> str:
    """The host's time as ``YYYYmmddHHMMSS`` (the tools' file-name stamps)."""
    res = task.run("date +%Y%m%d%H%M%S", check_rc=True)
    stamp = res.stdout.strip()
    if not re.fullmatch(r"\d{14}", stamp):
        task.fail(f"unexpected output of date on the host: {stamp!r}")
    return stamp


def run_tool(task: Task, command: str, mode: str, file: str, log: str,
             extra: Sequence[str] = ()) -> CommandResult:
    """``<command> --mode=<mode> --file=<file> --log=<log> <extra...>`` (stdin closed)."""
    words = [f"--mode={mode}", f"--file={file}", f"--log={log}", *extra]
    return task.run(f"{command} {' '.join(shlex.quote(w) for w in words)} </dev/null")


def verify_quietly(task: Task, command: str, file: str) -> CommandResult:
    """``--mode=verify`` of ``file`` with a temporary log, removed afterwards (a pre-flight
    check that leaves nothing behind, in check mode too)."""
    return task.run(f"l=$(mktemp) || exit 1; {command} --mode=verify "
                    f"{shlex.quote('--file=' + file)} --log=\"$l\" </dev/null; s=$?; "
                    "rm -f -- \"$l\"; exit $s")


def scope_options(scopes: Sequence[str]) -> list[str]:
    """``--scope=`` options; ValueError names a scope the tool does not know."""
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"scopes must be some of {', '.join(SCOPES)}, got {list(scopes)}")
    return [f"--scope={s}" for s in scopes]


def size_and_sha256(task: Task, path: str) -> tuple[int, str]:
    """The file's size in bytes and its sha256 (hex)."""
    res = task.run(f"p={shlex.quote(path)}; stat -c %s -- \"$p\" && sha256sum < \"$p\"",
                   check_rc=True)
    lines = res.stdout.split()
    if len(lines) < 2 or not lines[0].isdigit() or not _SHA256.match(lines[1]):
        task.fail(f"cannot read the size and sha256 of {path}: {res.stdout!r}")
    return int(lines[0]), lines[1]


def archive_member(task: Task, archive: str, member: str) -> str | None:
    """The text of ``member`` (``version``, ``config``...) of a backup archive, or None."""
    quoted = shlex.quote(archive)
    res = task.run(f"tar -xOf {quoted} ./{shlex.quote(member)} 2>/dev/null || "
                   f"tar -xOf {quoted} {shlex.quote(member)} 2>/dev/null")
    return res.stdout if res.rc == 0 else None


def archive_date(task: Task, archive: str) -> str | None:
    """When the archive's engine dump was written (``YYYY-mm-dd HH:MM:SS``, the host's
    local time), as tar lists it; None when the archive holds no engine dump."""
    quoted = shlex.quote(archive)
    res = task.run(f"tar --full-time -tvf {quoted} ./db/engine_backup.db 2>/dev/null || "
                   f"tar --full-time -tvf {quoted} db/engine_backup.db 2>/dev/null")
    match = _TAR_DATE.search(res.stdout) if res.rc == 0 else None
    return match.group(1) if match else None


def backed_up_at(output: str) -> str | None:
    """The date of a restore's "The engine database was backed up at <date> ." note."""
    match = _BACKED_UP_AT.search(output)
    if match is None:
        return None
    return match.group(1) + (match.group(3) or "")


def version_compatible(backup: str, installed: str) -> bool:
    """Whether a backup of ``backup`` restores on ``installed``: the same X.Y, not newer."""
    parts = _numbers(backup)
    mine = _numbers(installed)
    return bool(parts) and parts[:2] == mine[:2] and parts <= mine


def _numbers(version: str) -> tuple[int, ...]:
    parts = []
    for word in version.strip().split("."):
        digits = re.match(r"\d+", word)
        if digits is None:
            break
        parts.append(int(digits.group()))
    return tuple(parts)
