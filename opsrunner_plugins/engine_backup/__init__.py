"""The ``engine_backup`` task: ``engine-backup --mode=backup``, then ``--mode=verify``.

The procedure ``engine-backup --mode=backup --scope=all --file=... --log=...`` of the OLVM
Administration Guide, "Administration Tasks", section "Backing Up the Manager"
("Managerのバックアップ"), with the real tool's default folders and time-stamped names, the new
archive verified by the tool itself, its size and sha256 reported, an optional copy fetched to
the control node, and an optional retention of the newest N default-named backups.
"""

from __future__ import annotations

import posixpath
import shlex
from pathlib import Path

from opsrunner import Registry, Result, Task, hookimpl
from opsrunner_plugins import _remote
from opsrunner_plugins.engine_backup import tool

DEFAULT_NAME = "ovirt-engine-backup-*.backup"


def engine_backup(task: Task, *,
                  scopes: list[str] | str = ["all"],  # noqa: B006 - never mutated
                  file: str | None = None, log: str | None = None,
                  backup_dir: str = tool.BACKUP_DIR, log_dir: str = tool.LOG_DIR,
                  keep: int = 0, fetch_dir: str | None = None,
                  command: str = "engine-backup") -> Result:
    """Back up the engine with engine-backup, verify the archive, report its size and sha256.

    :param scopes: all (default), files, db, dwhdb, grafanadb, keycloakdb, cinderlibdb; a
        list or a comma-separated string.
    :param file: the archive (absolute; must not exist). Default:
        ``<backup_dir>/ovirt-engine-backup-<YYYYmmddHHMMSS>.backup`` (the host's time).
    :param log: the tool's log. Default: ``<log_dir>/ovirt-engine-backup-<same stamp>.log``.
    :param backup_dir: folder of the default archive (the real tool's default).
    :param log_dir: folder of the default log (the real tool's default).
    :param keep: keep only the newest N ``ovirt-engine-backup-*.backup`` archives (and
        their default-named logs) in the archive's folder; 0 keeps all.
    :param fetch_dir: copy the archive to ``<fetch_dir>/<host>/<name>`` on the control node
        (mode 0600), checked against the sha256.
    :param command: the engine-backup program (a name on the host's PATH or a path).

    A failed backup (a full disk, a failing pg_dump...) fails with the tool's ``FATAL:`` line
    and removes the incomplete archive. data: file, log, size, sha256, scopes, fetched,
    removed (paths are in the real system's frame, not the sysroot's).
    """
    scope_list = _scopes(scopes)
    try:
        scope_args = tool.scope_options(scope_list)
    except ValueError as exc:
        task.fail(str(exc))
    for name, value in (("file", file), ("log", log), ("backup_dir", backup_dir),
                        ("log_dir", log_dir)):
        if value:
            _remote.require_absolute(name, value)
    if keep < 0:
        task.fail(f"keep must be 0 (keep all) or more, got {keep}")
    stamp = tool.host_stamp(task)
    file = file or posixpath.join(backup_dir, f"ovirt-engine-backup-{stamp}.backup")
    log = log or posixpath.join(log_dir, f"ovirt-engine-backup-{stamp}.log")
    host_file, host_log = task.path(file), task.path(log)
    if _remote.exists(task, host_file):
        task.fail(f"{file} exists; refusing to overwrite a backup (give another file)")
    scope_text = ",".join(scope_list)
    if task.check:
        return Result(changed=True, msg=f"would back up (scope {scope_text}) to {file}",
                      data={"file": file, "log": log, "scopes": scope_list})
    task.run("mkdir -p -- " + " ".join(shlex.quote(posixpath.dirname(p))
                                       for p in (host_file, host_log)), check_rc=True)
    task.log(f"engine-backup --mode=backup {' '.join(scope_args)} --file={file}")
    res = tool.run_tool(task, command, "backup", host_file, host_log, scope_args)
    if res.rc != 0:
        _remote.remove_files(task, [host_file])
        return Result.from_command(res, changed=False, failed=True,
                                   msg=f"engine-backup failed: {tool.fatal_line(res)} "
                                       f"(incomplete {file} removed; log: {log})")
    verify_log = posixpath.join(posixpath.dirname(log), f"ovirt-engine-verify-{stamp}.log")
    checked = tool.run_tool(task, command, "verify", host_file, task.path(verify_log))
    if checked.rc != 0:
        return Result.from_command(checked, changed=True, failed=True,
                                   msg=f"{file} does not pass engine-backup --mode=verify: "
                                       f"{tool.fatal_line(checked)} (kept for inspection)")
    size, sha256 = tool.size_and_sha256(task, host_file)
    fetched = _fetch(task, host_file, fetch_dir, sha256) if fetch_dir else None
    removed = _prune(task, host_file, posixpath.dirname(host_log), keep, file) if keep else []
    msg = (f"backed up (scope {scope_text}) to {file}: {size} bytes, sha256 {sha256}; verified"
           + (f"; copied to {fetched}" if fetched else "")
           + (f"; removed {len(removed)} older backup(s)" if removed else ""))
    task.log(msg)
    return Result(changed=True, msg=msg, stdout=res.stdout, note=f"backup {file} ({size} bytes)",
                  data={"file": file, "log": log, "size": size, "sha256": sha256,
                        "scopes": scope_list, "fetched": fetched, "removed": removed})


def _scopes(scopes: list[str] | str) -> list[str]:
    if isinstance(scopes, str):
        return [s.strip() for s in scopes.split(",") if s.strip()]
    return list(scopes)


def _fetch(task: Task, host_file: str, fetch_dir: str, sha256: str) -> str:
    """Copy the archive to the control node (streamed, mode 0600); its local path.
    TaskFailed on a mismatch (the copy is then removed)."""
    target = Path(fetch_dir) / task.host.name / posixpath.basename(host_file)
    try:
        _size, copied = task.fetch(host_file, target)
    except OSError as exc:
        task.fail(f"cannot copy {host_file} to {target} on the control node: "
                  f"{exc.strerror or exc}")
    if copied != sha256:
        target.unlink(missing_ok=True)
        task.fail(f"the copy of {host_file} fetched to the control node does not match its "
                  "sha256 (changed while copying?)")
    return str(target)


def _prune(task: Task, host_file: str, host_log_dir: str, keep: int, file: str) -> list[str]:
    """Remove default-named archives beyond the newest ``keep``, with their default-named
    backup and verify logs; the removed archives in the frame of ``file``."""
    folder = posixpath.dirname(host_file)
    old = _remote.old_files(_remote.list_files(task, folder, DEFAULT_NAME), keep, host_file)
    logs = []
    for path in old:
        stamp = posixpath.basename(path).removeprefix("ovirt-engine-backup-")
        stamp = stamp.removesuffix(".backup")
        logs += [posixpath.join(host_log_dir, f"ovirt-engine-{kind}-{stamp}.log")
                 for kind in ("backup", "verify")]
    _remote.remove_files(task, old + logs)
    shown = [_remote.shown_path(task, path, posixpath.dirname(file)) for path in old]
    for path in shown:
        task.log(f"removed old backup {path}")
    return shown


@hookimpl
def opsrunner_register_tasks(registry: Registry) -> None:
    registry.add_task(engine_backup, name="engine_backup", idempotent=True)
