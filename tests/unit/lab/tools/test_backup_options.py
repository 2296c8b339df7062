"""engine-backup's command line: the real tool's --opt=value options, defaults and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner_lab.tools.backup_options import (
    BackupOptions,
    DumpOptions,
    parse_backup_args,
    with_defaults,
)
from opsrunner_lab.tools.common import ToolError


def parse(*args: str) -> BackupOptions:
    options = parse_backup_args(args)
    assert options is not None
    return options


def test_defaults_are_the_real_tools() -> None:
    options = parse()
    assert (options.mode, options.scope_text, options.archive_compressor,
            options.files_compressor) == ("backup", "all", "gzip", "xz")
    assert options.engine_db == DumpOptions("", "custom", 2) == options.dwh_db
    assert options.restore_permissions is None
    assert all(options.in_scope(part) for part in ("files", "db", "dwhdb", "grafanadb"))


def test_values_are_read_from_opt_equals_value() -> None:
    options = parse("--mode=restore", "--scope=files", "--scope=db", "--file=/b/x.backup",
                    "--log=/b/x.log", "--tmpdir=/var/tmp", "--archive-compressor=None",
                    "--files-compressor=bzip2", "--db-compressor=xz", "--db-dump-format=plain",
                    "--db-restore-jobs=4", "--dwh-db-restore-jobs=3", "--no-restore-permissions")
    assert options.mode == "restore"
    assert options.scope_text == "files,db"
    assert options.in_scope("db") and not options.in_scope("dwhdb")
    assert (options.file, options.log, options.tmpdir) == ("/b/x.backup", "/b/x.log", "/var/tmp")
    assert (options.archive_compressor, options.files_compressor) == ("", "bzip2")
    assert options.engine_db == DumpOptions("xz", "plain", 4)
    assert options.dwh_db == DumpOptions("", "custom", 3)
    assert options.restore_permissions is False


def test_a_value_may_hold_equals_signs() -> None:
    assert parse("--file=/b/a=b.backup").file == "/b/a=b.backup"


@pytest.mark.parametrize("flag", ["--provision-db", "--provision-dwh-db",
                                  "--provision-all-databases"])
def test_provisioning_implies_restore_permissions(flag: str) -> None:
    options = parse("--mode=restore", flag)
    assert options.provisioning
    assert options.restore_permissions is True
    assert parse("--mode=restore", flag, "--no-restore-permissions").restore_permissions is False


def test_presets_set_the_compressors_and_formats() -> None:
    small = parse("--small-size")
    assert (small.archive_compressor, small.files_compressor) == ("xz", "xz")
    assert small.engine_db == DumpOptions("xz", "plain", 2) == small.dwh_db
    fast = parse("--small-size", "--fast-backup")
    assert fast.engine_db == DumpOptions("", "custom", 2)
    assert fast.archive_compressor == "gzip"


def test_help_returns_none() -> None:
    assert parse_backup_args(["--mode=backup", "--help"]) is None


@pytest.mark.parametrize(("args", "message"), [
    (["--file", "/b/x.backup"], "Unknown option '--file'. Please see '--help' for details."),
    (["--mode", "backup"], "Unknown option '--mode'. Please see '--help' for details."),
    (["--provision-db=yes"],
     "Unknown option '--provision-db=yes'. Please see '--help' for details."),
    (["-f"], "Unknown option '-f'. Please see '--help' for details."),
    (["--mode=copy"], "invalid mode 'copy' (one of: backup, restore, verify)"),
    (["--scope=everything"], "invalid scope 'everything' (one of: all, files, db, dwhdb, "
                             "grafanadb, keycloakdb, cinderlibdb)"),
    (["--archive-compressor=zip"], "invalid compressor 'zip' (one of: gzip, bzip2, xz, None)"),
    (["--db-dump-format=tar"], "invalid dump format 'tar' (one of: plain, custom)"),
    (["--db-restore-jobs=two"], "invalid number of jobs 'two' (a whole number, 1 or more)"),
    (["--db-restore-jobs=0"], "invalid number of jobs '0' (a whole number, 1 or more)"),
    (["--change-db-credentials"], "option '--change-db-credentials' is not supported by the "
                                  "lab's engine-backup"),
])
def test_bad_options_say_what_is_wrong(args: list[str], message: str) -> None:
    with pytest.raises(ToolError) as caught:
        parse_backup_args(args)
    assert str(caught.value) == message


def test_parsing_stops_at_an_empty_argument_like_the_shell_loop() -> None:
    assert parse("--mode=verify", "", "--bogus").mode == "verify"


def test_default_paths_are_under_the_sysroot(tmp_path: Path) -> None:
    options = with_defaults(parse(), tmp_path, "20240501102030")
    assert options.file == f"{tmp_path}/var/lib/ovirt-engine-backup/" \
                           f"ovirt-engine-backup-20240501102030.backup"
    assert options.log == f"{tmp_path}/var/log/ovirt-engine-backup/" \
                          f"ovirt-engine-backup-20240501102030.log"
    restore = with_defaults(parse("--mode=restore", "--file=/b/x"), tmp_path, "20240501102030")
    assert restore.file == "/b/x"
    assert restore.log.endswith("/ovirt-engine-restore-20240501102030.log")
    given = with_defaults(parse("--file=/b/x", "--log=/b/y"), tmp_path)
    assert (given.file, given.log) == ("/b/x", "/b/y")


def test_verify_mode_has_no_default_file(tmp_path: Path) -> None:
    assert with_defaults(parse("--mode=verify"), tmp_path).file == ""
