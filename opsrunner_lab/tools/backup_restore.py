"""``engine-backup --mode=restore``: put a backup back on a cleaned-up engine.

Refuses while ``ovirt-engine`` runs, when the archive is corrupt or of another X.Y version,
when a custom-format backup is restored without ``--restore-permissions`` or
``--no-restore-permissions``, and when a target database is not empty (unless provisioned
here). Files come back into the sysroot with their modes and owners; the configuration is
then re-read from them, so the databases are restored with the backed-up credentials.
Output, as the real tool's::

    Preparing to restore:
    - Unpacking file '<file>'
    Restoring:
    - Files
    - Engine database 'engine'
      - Cleaning up temporary tables in engine database 'engine'
    ------------------------------------------------------------------------------
    Please note:
    ... The engine database was backed up at <date> . ...
    ------------------------------------------------------------------------------
    - DWH database 'ovirt_engine_history'
    You should now run engine-setup.
"""

from __future__ import annotations

import shutil
import tarfile
from datetime import datetime
from pathlib import Path

from opsrunner_lab.engine_db import DbConf
from opsrunner_lab.layout import ENGINE
from opsrunner_lab.systemctl import Systemctl
from opsrunner_lab.tools import backup_archive as archive
from opsrunner_lab.tools.backup_checks import (
    clean_engine_temp_data,
    provision_database,
    verify_connection,
)
from opsrunner_lab.tools.backup_files import restore_files
from opsrunner_lab.tools.backup_pg import restore_database
from opsrunner_lab.tools.backup_run import BackupRun, fail
from opsrunner_lab.tools.common import ToolError
from opsrunner_lab.tools.engine_host import engine_is_active

GRAFANA_DB = "var/lib/grafana/grafana.db"
RULE = "-" * 78
NOTE = """{rule}
Please note:

The engine database was backed up at {date} .

Objects that were added, removed or changed after this date, such as virtual
machines, disks, etc., are missing in the engine, and will probably require
recovery or recreation.
{rule}
"""


def do_restore(run: BackupRun) -> None:
    """Restore what the scope names and the archive holds. ToolError on any refusal."""
    options, temp = run.options, run.temp
    run.output("Preparing to restore:")
    if engine_is_active(Systemctl(run.layout, ENGINE)):
        raise ToolError("Engine service is active - can not restore backup")
    run.output(f"- Unpacking file '{options.file}'")
    archive.unpack(Path(options.file), temp)
    archive.verify_hash(temp)
    archive.check_version(temp)
    engine_dump, dwh_dump = archive.read_config(temp)
    engine_dump.restore_jobs = options.engine_db.restore_jobs
    dwh_dump.restore_jobs = options.dwh_db.restore_jobs
    if options.restore_permissions is None and "custom" in (engine_dump.dump_format,
                                                             dwh_dump.dump_format):
        raise ToolError("Please pass one of --restore-permissions or --no-restore-permissions "
                        "when restoring a backup with a custom dump format")
    files = options.in_scope("files") and _has(temp / archive.FILES)
    engine_db = options.in_scope("db") and _has(temp / archive.ENGINE_DUMP)
    dwh_db = options.in_scope("dwhdb") and _has(temp / archive.DWH_DUMP)
    grafana = options.in_scope("grafanadb") and _has(temp / archive.GRAFANA_DUMP)
    run.output("Restoring:")
    if files:
        run.output("- Files")
        try:
            restore_files(temp / archive.FILES, run.sysroot)
        except (OSError, tarfile.TarError) as exc:
            raise fail("Failed restoring the engine's files", cause=str(exc)) from None
    run.log.line("Reloading configuration")
    engine = _conf(run.engine_conf(), engine_db, "engine")
    dwh = _conf(run.dwh_conf(), dwh_db, "DWH")
    provision = [target for target, wanted in ((engine, options.provision_db),
                                               (dwh, options.provision_dwh_db))
                 if target is not None and (wanted or options.provision_all)]
    if provision:
        run.output("Provisioning PostgreSQL users/databases:")
        for target in provision:
            provision_database(run, target)
        run.output("Restoring:")
    for conf in (engine, dwh):
        if conf is not None:
            verify_connection(run, conf)
    permissions = options.restore_permissions is not False
    if engine is not None:
        run.output(f"- Engine database '{engine.database}'")
        restore_database(run, engine, temp / archive.ENGINE_DUMP, engine_dump, permissions)
        if not options.keep_temporary_data:
            clean_engine_temp_data(run, engine)
        note = NOTE.format(rule=RULE, date=_stat_date(temp / archive.ENGINE_DUMP))
        print(note, end="", flush=True)
        run.log.raw(note)
    if dwh is not None:
        run.output(f"- DWH database '{dwh.database}'")
        restore_database(run, dwh, temp / archive.DWH_DUMP, dwh_dump, permissions)
    if grafana:
        run.output(f"- Grafana database '/{GRAFANA_DB}'")
        grafana_db = run.sysroot / GRAFANA_DB
        grafana_db.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(temp / archive.GRAFANA_DUMP, grafana_db)
    run.output("You should now run engine-setup.")


def _has(path: Path) -> bool:
    """Whether the archive holds a non-empty ``path`` (the real ``[ -s ]`` test)."""
    return path.is_file() and path.stat().st_size > 0


def _conf(conf: DbConf | None, wanted: bool, product: str) -> DbConf | None:
    """The database to restore, if ``wanted``. The real tool silently skips a database
    whose settings are gone; the lab refuses, so a restore never half-happens unnoticed."""
    if not wanted:
        return None
    if conf is None:
        raise ToolError(f"Cannot restore the {product} database: its settings (conf files) "
                        f"are missing; restore --scope=files too, or run engine-setup first")
    return conf


def _stat_date(path: Path) -> str:
    """``stat -c %y`` of ``path``: ``2024-05-01 10:20:30.000000000 +0000``."""
    mtime = path.stat().st_mtime_ns
    when = datetime.fromtimestamp(mtime // 1_000_000_000).astimezone()
    return f"{when:%Y-%m-%d %H:%M:%S}.{mtime % 1_000_000_000:09d} {when:%z}"

