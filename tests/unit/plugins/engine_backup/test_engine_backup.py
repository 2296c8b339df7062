"""The ``engine_backup`` and ``engine_restore`` tasks with a stand-in ``engine-backup`` on a
local sysroot: default names, the FATAL line on failure, retention, and the restore's
refusals (which run nothing destructive)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from opsrunner import TaskFailed
from opsrunner.testing import MakeTask
from opsrunner_plugins.engine_backup import engine_backup
from opsrunner_plugins.engine_backup.restore import engine_restore

# Writes a tar archive with a version member for --mode=backup; checks it for verify;
# logs every call; fails with a FATAL line while $FAKE/fail exists.
FAKE_ENGINE_BACKUP = r"""#!/bin/sh
for a; do case "$a" in --mode=*) mode=${a#--mode=} ;; --file=*) file=${a#--file=} ;; esac; done
echo "$mode $file" >> "$FAKE/log"
if [ -f "$FAKE/fail" ]; then
  echo partial > "$file"; echo "FATAL: Cannot create '$file': No space left on device" >&2; exit 1
fi
case "$mode" in
  backup) d=$(mktemp -d); echo 4.5.6 > "$d/version"; tar -czf "$file" -C "$d" ./version
          rm -rf "$d"; chmod 600 "$file"; echo Done. ;;
  verify) tar -tzf "$file" >/dev/null 2>&1 || { echo "FATAL: Failed unpacking $file" >&2; exit 1; } ;;
  *) echo "FATAL: unexpected mode $mode" >&2; exit 1 ;;
esac
"""


@pytest.fixture
def tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "log").write_text("")
    script = fake / "engine-backup"
    script.write_text(FAKE_ENGINE_BACKUP)
    script.chmod(0o755)
    monkeypatch.setenv("FAKE", str(fake))
    return fake


def calls(tool: Path) -> list[str]:
    return (tool / "log").read_text().splitlines()


def test_backup_with_default_names_then_verify(make_task: MakeTask, tool: Path,
                                               tmp_path: Path) -> None:
    res = engine_backup(make_task(), command=str(tool / "engine-backup"))
    assert not res.failed, res.msg
    file = res.data["file"]
    assert re.fullmatch(r"/var/lib/ovirt-engine-backup/ovirt-engine-backup-\d{14}\.backup", file)
    assert res.data["log"] == file.replace("/var/lib/", "/var/log/").replace(".backup", ".log")
    content = (tmp_path / file.lstrip("/")).read_bytes()
    assert res.data["sha256"] == hashlib.sha256(content).hexdigest()
    assert res.data["size"] == len(content)
    assert res.msg == (f"backed up (scope all) to {file}: {len(content)} bytes, sha256 "
                       f"{res.data['sha256']}; verified")
    assert calls(tool) == [f"backup {tmp_path}{file}", f"verify {tmp_path}{file}"]


def test_a_failed_backup_reports_the_fatal_line_and_removes_the_partial_file(
        make_task: MakeTask, tool: Path, tmp_path: Path) -> None:
    (tool / "fail").write_text("")
    res = engine_backup(make_task(), command=str(tool / "engine-backup"), file="/b/x.backup",
                        log="/b/x.log")
    assert res.failed
    assert res.msg == (f"engine-backup failed: FATAL: Cannot create '{tmp_path}/b/x.backup': No "
                       "space left on device (incomplete /b/x.backup removed; log: /b/x.log)")
    assert not (tmp_path / "b/x.backup").exists()


def test_retention_keeps_the_newest_default_named_archives(make_task: MakeTask, tool: Path,
                                                           tmp_path: Path) -> None:
    folder = tmp_path / "var/lib/ovirt-engine-backup"
    folder.mkdir(parents=True)
    for index, name in enumerate(("ovirt-engine-backup-20240101000000.backup",
                                  "ovirt-engine-backup-20240102000000.backup",
                                  "ovirt-engine-safety-20240101000000.backup")):
        (folder / name).write_text("old")
        os.utime(folder / name, (1_700_000_000 + index, 1_700_000_000 + index))
    res = engine_backup(make_task(), command=str(tool / "engine-backup"), keep=2)
    assert res.data["removed"] == ["/var/lib/ovirt-engine-backup/"
                                   "ovirt-engine-backup-20240101000000.backup"]
    assert sorted(p.name for p in folder.iterdir()) == sorted([
        "ovirt-engine-backup-20240102000000.backup", "ovirt-engine-safety-20240101000000.backup",
        Path(res.data["file"]).name])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"scopes": "all,database"}, "scopes must be some of all, files, db, dwhdb, grafanadb, "
                                 "keycloakdb, cinderlibdb, got ['all', 'database']"),
    ({"file": "x.backup"}, "file must be an absolute path, got 'x.backup'"),
    ({"keep": -2}, "keep must be 0 (keep all) or more, got -2")])
def test_bad_backup_parameters(make_task: MakeTask, tool: Path, kwargs: dict[str, object],
                               message: str) -> None:
    with pytest.raises(TaskFailed) as failed:
        engine_backup(make_task(), command=str(tool / "engine-backup"), **kwargs)  # type: ignore[arg-type]
    assert str(failed.value) == message
    assert calls(tool) == []


def test_an_existing_file_is_never_overwritten(make_task: MakeTask, tool: Path,
                                               tmp_path: Path) -> None:
    (tmp_path / "x.backup").write_text("precious")
    with pytest.raises(TaskFailed, match=r"/x\.backup exists; refusing to overwrite a backup"):
        engine_backup(make_task(), command=str(tool / "engine-backup"), file="/x.backup")
    assert (tmp_path / "x.backup").read_text() == "precious"


def test_restore_refusals_run_nothing_destructive(make_task: MakeTask, tool: Path,
                                                  tmp_path: Path) -> None:
    backup = engine_backup(make_task(), command=str(tool / "engine-backup"), file="/b/e.backup")
    assert not backup.failed
    fake = str(tool / "engine-backup")
    tools = {"engine_backup": fake, "engine_cleanup": "false", "engine_setup": "false"}
    with pytest.raises(TaskFailed) as missing:
        engine_restore(make_task(), file="/b/none.backup", **tools)
    assert str(missing.value) == ("refusing to restore: /b/none.backup does not exist; nothing "
                                  "was changed")
    (tmp_path / "b/bad.backup").write_text("not an archive")
    with pytest.raises(TaskFailed) as bad:
        engine_restore(make_task(), file="/b/bad.backup", confirm=True, **tools)
    assert str(bad.value) == (f"refusing to restore: /b/bad.backup does not pass engine-backup "
                              f"--mode=verify: FATAL: Failed unpacking {tmp_path}/b/bad.backup; "
                              "nothing was changed")
    plan = engine_restore(make_task(check=True), file="/b/e.backup", **tools)
    assert plan.changed and plan.msg.startswith("would restore /b/e.backup (version 4.5.6, "
                                                "engine database backed up at an unknown date)")
    with pytest.raises(TaskFailed, match=r"^refusing to restore: the restore of /b/e.backup "
                                         r"replaces .* needs a confirmation: run with --yes or "
                                         r"set confirm: true; nothing was changed$"):
        engine_restore(make_task(), file="/b/e.backup", **tools)
    assert [c.split()[0] for c in calls(tool)] == ["backup", "verify", "verify", "verify",
                                                   "verify"]
