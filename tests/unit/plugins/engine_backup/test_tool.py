"""Pure logic shared by engine_backup and engine_restore: tool errors, dates, versions, retention."""

from __future__ import annotations

import pytest

from opsrunner import CommandResult
from opsrunner_plugins import _remote
from opsrunner_plugins.engine_backup import tool

RESTORE_OUTPUT = """Preparing to restore:
- Unpacking file '/var/lib/ovirt-engine-backup/x.backup'
Restoring:
------------------------------------------------------------------------------
Please note:

The engine database was backed up at 2019-03-25 12:48:02.000000000 -0700 .

Objects that were added, removed or changed after this date, such as virtual
"""


def test_fatal_line_is_the_tools_fatal_line() -> None:
    res = CommandResult("engine-backup", 1, stdout="Backing up:\nNotifying engine\n",
                        stderr="FATAL: Database engine backup failed: pg_dump: error: x\n")
    assert tool.fatal_line(res) == "FATAL: Database engine backup failed: pg_dump: error: x"


def test_fatal_line_of_otopi_is_its_first_error_line() -> None:
    res = CommandResult("engine-setup", 1, stdout=(
        "[ INFO  ] Stage: Misc configuration\n"
        "[ ERROR ] Failed to execute stage 'Misc configuration': Engine schema refresh failed\n"
        "[ ERROR ] Execution of setup failed\n"))
    assert tool.fatal_line(res) == ("[ ERROR ] Failed to execute stage 'Misc configuration': "
                                    "Engine schema refresh failed")


def test_fatal_line_without_a_marker_is_the_last_line_or_the_status() -> None:
    assert tool.fatal_line(CommandResult("x", 127, stderr="sh: 1: nope: not found\n")) == \
        "sh: 1: nope: not found"
    assert tool.fatal_line(CommandResult("x", 3)) == "exit status 3, no output"


def test_backed_up_at_reads_the_restore_note() -> None:
    assert tool.backed_up_at(RESTORE_OUTPUT) == "2019-03-25 12:48:02 -0700"
    assert tool.backed_up_at("Done.\n") is None


@pytest.mark.parametrize(("backup", "installed", "ok"), [
    ("4.5.6", "4.5.6", True), ("4.5.4", "4.5.6", True), ("4.5.6\n", "4.5.6", True),
    ("4.5.7", "4.5.6", False), ("4.4.10", "4.5.6", False), ("4.5.6.2-1.el8", "4.5.6", False),
    ("", "4.5.6", False), ("garbage", "4.5.6", False)])
def test_version_compatible_means_same_x_y_not_newer(backup: str, installed: str,
                                                      ok: bool) -> None:
    assert tool.version_compatible(backup, installed) is ok


def test_scope_options_accept_the_tools_scopes_only() -> None:
    assert tool.scope_options(["db", "dwhdb"]) == ["--scope=db", "--scope=dwhdb"]
    with pytest.raises(ValueError, match=r"scopes must be some of all, files, db, dwhdb, "
                                         r"grafanadb, keycloakdb, cinderlibdb, got \['database'\]"):
        tool.scope_options(["database"])
    with pytest.raises(ValueError):
        tool.scope_options([])


def test_old_files_keeps_the_newest_and_never_lists_the_protected_one() -> None:
    entries = [(1.0, "/b/a"), (5.0, "/b/e"), (3.0, "/b/c"), (4.0, "/b/d"), (2.0, "/b/b")]
    assert _remote.old_files(entries, 2, "/b/e") == ["/b/c", "/b/b", "/b/a"]
    assert _remote.old_files(entries, 2, "/b/new") == ["/b/c", "/b/b", "/b/a"]
    assert _remote.old_files(entries, 1, "/b/e") == ["/b/d", "/b/c", "/b/b", "/b/a"]
    assert _remote.old_files(entries, 0, "/b/e") == []
    assert _remote.old_files(entries, 9, "/b/e") == []
