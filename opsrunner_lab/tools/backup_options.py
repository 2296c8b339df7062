"""The command line of the lab's ``engine-backup``: the real tool's ``--opt=value`` options.

Only ``--opt=value`` (and bare flags) are read, as the real shell parser does: ``--file x``
is ``Unknown option '--file'. Please see '--help' for details.``. Errors are ToolError
(``FATAL: <message>``, exit 1); ``--help`` prints the usage and exits 0.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from opsrunner_lab.tools.common import ToolError

MODES = ("backup", "restore", "verify")
SCOPES = ("all", "files", "db", "dwhdb", "grafanadb", "keycloakdb", "cinderlibdb")
COMPRESSORS = {"gzip": "gzip", "bzip2": "bzip2", "xz": "xz", "None": ""}
DUMP_FORMATS = ("plain", "custom")
BACKUP_DIR = "var/lib/ovirt-engine-backup"
LOG_DIR = "var/log/ovirt-engine-backup"
# Real options the lab does not implement (a clearer error than "Unknown option").
UNSUPPORTED = ("--change-db-credentials", "--change-dwh-db-credentials", "--db-host=",
               "--db-port=", "--db-user=", "--db-passfile=", "--db-password", "--db-name=",
               "--db-secured", "--he-remove-storage-vm", "--he-remove-hosts",
               "--cinderlib-db-", "--provision-cinderlib-db", "--dwh-db-host=",
               "--dwh-db-user=", "--dwh-db-password", "--dwh-db-name=", "--dwh-db-port=")

USAGE = """engine-backup: back up, verify and restore an ovirt-engine environment (opsrunner lab)
USAGE:
    {prog} [--mode=MODE] [--scope=SCOPE]... [--file=FILE] [--log=FILE] [options]
 MODE: backup (default), restore or verify
 SCOPE: all (default), files, db, dwhdb, grafanadb, keycloakdb, cinderlibdb (repeatable)
 --file=FILE                 the backup file (backup default:
                             /{backup_dir}/ovirt-engine-backup-YYYYmmddHHMMSS.backup)
 --log=FILE                  the log file (default:
                             /{log_dir}/ovirt-engine-MODE-YYYYmmddHHMMSS.log)
 --tmpdir=DIR                parent of the temporary folder (default $TMPDIR or /tmp)
 --archive-compressor=C      gzip (default), bzip2, xz or None
 --files-compressor=C        the files archive: xz (default), gzip, bzip2 or None
 --db-compressor=C           the engine dump: None (default), gzip, bzip2 or xz
 --db-dump-format=F          custom (default) or plain
 --db-restore-jobs=N         pg_restore -j for the engine database (default 2)
 --dwh-db-compressor=C, --dwh-db-dump-format=F, --dwh-db-restore-jobs=N   the same for DWH
 --provision-db, --provision-dwh-db, --provision-all-databases
                             create the databases and their users on restore
 --restore-permissions       restore the dumps' ownership and grants (custom format)
 --no-restore-permissions    pg_restore --no-owner --no-privileges
 --keep-temporary-data       do not clean up the engine's temporary tables on restore
 --fast-backup, --fast-restore, --small-size   compression presets
 --help                      this text
"""


@dataclass
class DumpOptions:
    """How one database is dumped and restored: ``compressor`` "" means None."""

    compressor: str = ""
    dump_format: str = "custom"
    restore_jobs: int = 2


@dataclass
class BackupOptions:
    """Everything the command line sets. A compressor "" means None (not compressed);
    ``restore_permissions`` None means neither ``--restore-permissions`` nor its opposite."""

    mode: str = "backup"
    scopes: list[str] = field(default_factory=list)
    file: str = ""
    log: str = ""
    tmpdir: str = ""
    archive_compressor: str = "gzip"
    files_compressor: str = "xz"
    engine_db: DumpOptions = field(default_factory=DumpOptions)
    dwh_db: DumpOptions = field(default_factory=DumpOptions)
    provision_db: bool = False
    provision_dwh_db: bool = False
    provision_all: bool = False
    restore_permissions: bool | None = None
    keep_temporary_data: bool = False

    @property
    def scope_text(self) -> str:
        """The scopes as the tool prints them (``all``, ``files,db``)."""
        return ",".join(self.scopes or ["all"])

    def in_scope(self, part: str) -> bool:
        """Whether ``part`` (files, db, dwhdb, grafanadb...) is in the requested scope."""
        scopes = self.scopes or ["all"]
        return "all" in scopes or part in scopes

    @property
    def provisioning(self) -> bool:
        return self.provision_db or self.provision_dwh_db or self.provision_all


def parse_backup_args(args: Sequence[str]) -> BackupOptions | None:
    """The options of ``args``, or None when ``--help`` was asked. ToolError on bad input."""
    options = BackupOptions()
    for word in args:
        if not word:
            break  # the real parser stops at an empty argument
        name, sep, value = word.partition("=")
        if word == "--help":
            return None
        if sep and _set_value(options, name, value):
            continue
        if not sep and _set_flag(options, name):
            continue
        if any(word.startswith(prefix) for prefix in UNSUPPORTED):
            raise ToolError(f"option '{name}' is not supported by the lab's engine-backup")
        raise ToolError(f"Unknown option '{word}'. Please see '--help' for details.")
    if options.provisioning and options.restore_permissions is None:
        options.restore_permissions = True
    return options


def with_defaults(options: BackupOptions, sysroot: Path, stamp: str = "") -> BackupOptions:
    """``options`` with the real defaults: the backup file (backup mode) and the log under
    ``sysroot``'s backup folders, named with ``stamp`` (YYYYmmddHHMMSS, default now)."""
    stamp = stamp or time.strftime("%Y%m%d%H%M%S")
    file, log = options.file, options.log
    if not file and options.mode == "backup":
        file = str(sysroot / BACKUP_DIR / f"ovirt-engine-backup-{stamp}.backup")
    if not log:
        log = str(sysroot / LOG_DIR / f"ovirt-engine-{options.mode}-{stamp}.log")
    return replace(options, file=file, log=log)


def _set_value(options: BackupOptions, name: str, value: str) -> bool:
    """Apply ``--name=value``; False when ``name`` takes no value."""
    if name == "--mode":
        options.mode = _choice(value, MODES, "mode")
    elif name == "--scope":
        options.scopes.append(_choice(value, SCOPES, "scope"))
    elif name in ("--file", "--log", "--tmpdir"):
        setattr(options, name[2:], value)
    elif name == "--archive-compressor":
        options.archive_compressor = _compressor(value)
    elif name == "--files-compressor":
        options.files_compressor = _compressor(value)
    elif name in ("--db-compressor", "--dwh-db-compressor"):
        _dump(options, name).compressor = _compressor(value)
    elif name in ("--db-dump-format", "--dwh-db-dump-format"):
        _dump(options, name).dump_format = _choice(value, DUMP_FORMATS, "dump format")
    elif name in ("--db-restore-jobs", "--dwh-db-restore-jobs"):
        if not value.isdigit() or int(value) < 1:
            raise ToolError(f"invalid number of jobs '{value}' (a whole number, 1 or more)")
        _dump(options, name).restore_jobs = int(value)
    else:
        return False
    return True


def _set_flag(options: BackupOptions, name: str) -> bool:
    """Apply the bare flag ``name``; False when it is not one."""
    flags = {"--provision-db": "provision_db", "--provision-dwh-db": "provision_dwh_db",
             "--provision-all-databases": "provision_all",
             "--keep-temporary-data": "keep_temporary_data"}
    if name in flags:
        setattr(options, flags[name], True)
    elif name in ("--restore-permissions", "--no-restore-permissions"):
        options.restore_permissions = name == "--restore-permissions"
    elif name in ("--fast-backup", "--fast-restore", "--small-size"):
        small = name == "--small-size"
        options.archive_compressor = "xz" if small else "gzip"
        options.files_compressor = "xz"
        for dump in (options.engine_db, options.dwh_db):
            dump.dump_format = "plain" if small else "custom"
            dump.compressor = "xz" if small else ""
    else:
        return False
    return True


def _dump(options: BackupOptions, name: str) -> DumpOptions:
    return options.dwh_db if name.startswith("--dwh-") else options.engine_db


def _choice(value: str, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise ToolError(f"invalid {what} '{value}' (one of: {', '.join(allowed)})")
    return value


def _compressor(value: str) -> str:
    """The compressor's command ("" for None)."""
    if value not in COMPRESSORS:
        raise ToolError(f"invalid compressor '{value}' (one of: {', '.join(COMPRESSORS)})")
    return COMPRESSORS[value]
