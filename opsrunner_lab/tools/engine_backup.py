"""``engine-backup`` of the lab: back up, verify and restore the engine, as the real tool.

``--mode=backup`` writes the real archive (see ``backup_archive``) with the real output lines::

    Start of engine-backup with mode 'backup'
    scope: all
    archive file: <file>
    log file: <log>
    Backing up:
    Notifying engine
    - Files
    - Engine database 'engine'
    - DWH database 'ovirt_engine_history'
    Packing into file '<file>'
    Notifying engine
    Done.

A database is backed up only when engine-setup's environment (``/etc/ovirt-engine-setup.conf``
and ``.conf.d/*.conf``, as ``otopi-config-query`` reads it) has ``OVESETUP_ENGINE_CORE/enable``
(``OVESETUP_DWH_CORE/enable`` for DWH) ``bool:True`` and its conf files set the user; otherwise
the real tool leaves it out without a word and still ends ``Done.`` (exit 0), as this one does.

``--mode=verify`` checks that the archive opens, its checksums and version, and that the
engine dump reads back; ``--mode=restore`` is in ``backup_restore``. Errors print
``FATAL: <message>`` on stderr and exit 1; where the real tool only logs the cause (a
``pg_dump`` error, ENOSPC), the lab appends it: ``FATAL: <real message>: <cause>``. The
archive and the log are made mode 0600. Default paths are under the engine's sysroot. The
``<lab>/faults/pg_dump`` file makes every dump fail (see ``faults``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

from opsrunner.errors import OpsrunnerError
from opsrunner_lab.layout import ENGINE
from opsrunner_lab.tools import backup_archive as archive
from opsrunner_lab.tools.backup_checks import notify_engine
from opsrunner_lab.tools.backup_files import backup_files
from opsrunner_lab.tools.backup_options import (
    BACKUP_DIR,
    LOG_DIR,
    USAGE,
    BackupOptions,
    parse_backup_args,
    with_defaults,
)
from opsrunner_lab.tools.backup_pg import dump_database, verify_dump
from opsrunner_lab.tools.backup_restore import GRAFANA_DB, do_restore
from opsrunner_lab.tools.backup_run import BackupLog, BackupRun, fail
from opsrunner_lab.tools.common import ToolError, fatal
from opsrunner_lab.tools.engine_host import engine_layout
from opsrunner_lab.tools.setup_conf import setup_enabled

ENGINE_ENABLED = "OVESETUP_ENGINE_CORE/enable"
DWH_ENABLED = "OVESETUP_DWH_CORE/enable"


def main(script: str, args: list[str]) -> int:
    """Run engine-backup with ``args``; 0 on success, 1 after a ``FATAL:`` line."""
    try:
        layout = engine_layout(script)
        options = parse_backup_args(args)
        if options is None:
            print(USAGE.format(prog=script, backup_dir=BACKUP_DIR, log_dir=LOG_DIR), end="")
            return 0
        options = with_defaults(options, layout.sysroot(ENGINE))
        tmpdir = _verify_args(options)
        temp = Path(tempfile.mkdtemp(prefix="engine-backup.", dir=tmpdir))
    except (OpsrunnerError, OSError) as exc:
        return fatal(str(exc))
    run = BackupRun(options, layout, BackupLog(Path(options.log)), temp, script)
    modes: dict[str, Callable[[BackupRun], None]] = {
        "backup": do_backup, "restore": do_restore, "verify": do_verify}
    try:
        run.log.line(f"Start of engine-backup mode {options.mode} scope {options.scope_text} "
                     f"file {options.file}")
        for line in (f"Start of engine-backup with mode '{options.mode}'",
                     f"scope: {options.scope_text}", f"archive file: {options.file}",
                     f"log file: {options.log}"):
            run.output(line)
        modes[options.mode](run)
        run.output("Done.")
        return 0
    except (OpsrunnerError, OSError) as exc:
        message = str(exc)
        run.log.line(f"FATAL: {message}")
        _notify_failure(run, message)
        return fatal(message)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _verify_args(options: BackupOptions) -> str:
    """Check the paths, create the file and the log mode 0600; return the temp parent."""
    if options.file == options.log:
        raise ToolError("--file and --log can not be the same")
    tmpdir = options.tmpdir or os.environ.get("TMPDIR") or "/tmp"
    if not Path(tmpdir).is_dir():
        raise ToolError(f"Temporary directory {tmpdir} is missing or not a directory")
    if options.mode != "backup" and not Path(options.file).exists():
        raise ToolError(f"{options.file} does not exist")
    for path in (options.file, options.log):
        try:
            Path(path).touch()
            os.chmod(path, 0o600)
        except OSError as exc:
            raise fail(f"Cannot create '{path}'", cause=exc.strerror or str(exc)) from None
    return tmpdir


def _notify_failure(run: BackupRun, message: str) -> None:
    """Tell the engine a backup failed, as the real tool does (once; errors only logged)."""
    engine = run.engine_conf()
    if run.options.mode != "backup" or engine is None or "Failed notifying engine" in message:
        return
    try:
        notify_engine(run, engine, -1, message)
    except OpsrunnerError as exc:
        run.log.line(f"Notifying the engine of the failure failed: {exc}")


def do_backup(run: BackupRun) -> None:
    """Dump what the scope names into a temp folder, checksum it, pack it into the file."""
    options, sysroot = run.options, run.sysroot
    run.output("Backing up:")
    engine, dwh = run.engine_conf(), run.dwh_conf()
    if engine is not None:
        notify_engine(run, engine, 0, "Backup Started")
    folder = run.temp / "tar"
    (folder / "db").mkdir(parents=True)
    if options.in_scope("files"):
        run.output("- Files")
        try:
            backup_files(sysroot, folder / archive.FILES, options.files_compressor)
        except OSError as exc:
            raise fail("Failed backing up the engine's files", cause=str(exc)) from None
    if options.in_scope("db") and _enabled(run, ENGINE_ENABLED, engine is not None):
        assert engine is not None
        run.output(f"- Engine database '{engine.database}'")
        dump_database(run, engine, folder / archive.ENGINE_DUMP, options.engine_db)
    if options.in_scope("dwhdb") and _enabled(run, DWH_ENABLED, dwh is not None):
        assert dwh is not None
        run.output(f"- DWH database '{dwh.database}'")
        dump_database(run, dwh, folder / archive.DWH_DUMP, options.dwh_db)
    if options.in_scope("grafanadb") and (sysroot / GRAFANA_DB).is_file():
        run.output(f"- Grafana database '/{GRAFANA_DB}'")
        _backup_sqlite(sysroot / GRAFANA_DB, folder / archive.GRAFANA_DUMP)
    archive.write_metadata(folder, options, archive.os_version(sysroot))
    run.log.line(f"Creating {archive.HASHER} at {folder / archive.HASHER}")
    archive.write_hash_file(folder)
    run.output(f"Packing into file '{options.file}'")
    try:
        archive.pack(folder, Path(options.file), options.archive_compressor)
    except OSError as exc:
        raise fail(f"Cannot create '{options.file}'", cause=exc.strerror or str(exc)) from None
    if engine is not None:
        notify_engine(run, engine, 1, "Backup Finished")


def _enabled(run: BackupRun, key: str, configured: bool) -> bool:
    """The real tool's gate on a database: ``key`` is ``bool:True`` in the setup environment
    and the product's conf files name a user. Otherwise the database is left out silently
    (the lab only logs why)."""
    if not setup_enabled(run.sysroot, key):
        run.log.line(f"{key} is not bool:True in /etc/ovirt-engine-setup.conf(.d): skipped")
        return False
    return configured


def do_verify(run: BackupRun) -> None:
    """The archive opens, every checksum matches, the version fits, the engine dump reads."""
    run.output("Verifying:")
    run.output(f"- Unpacking file '{run.options.file}'")
    archive.unpack(Path(run.options.file), run.temp)
    archive.verify_hash(run.temp)
    archive.check_version(run.temp)
    engine_dump, _ = archive.read_config(run.temp)
    dump = run.temp / archive.ENGINE_DUMP
    if run.options.in_scope("db") and dump.is_file() and dump.stat().st_size > 0:
        engine = run.engine_conf()
        name = engine.database if engine is not None else "engine"
        run.output(f"- Engine database '{name}'")
        verify_dump(run, dump, engine_dump, name)


def _backup_sqlite(source: Path, target: Path) -> None:
    """Copy a live SQLite database consistently (as ``sqlite3 .backup`` does)."""
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=10)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
    except sqlite3.Error as exc:
        raise fail(f"failed to backup /{GRAFANA_DB} with sqlite3", cause=str(exc)) from None
    shutil.copymode(source, target)
