"""engine-backup against a lab engine host with real PostgreSQL: the real archive, output
lines, refusals and failures (a failing pg_dump, a full disk), with their FATAL lines."""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import resource
import signal
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_lab import EngineLab, running_engine_lab

from opsrunner_lab.engine_db import pg_bin
from opsrunner_lab.engine_tools import install_engine_tools
from opsrunner_lab.pg_cluster import PgCluster
from opsrunner_lab.postgres import provision
from opsrunner_lab.tools.faults import fault_path

PREFIX = "127.0.196."
MEMBERS = ["config", "db/dwh_backup.db", "db/engine_backup.db", "files", "os_version", "version"]


@pytest.fixture(scope="module")
def lab() -> Iterator[EngineLab]:
    with running_engine_lab(PREFIX) as engine_lab:
        engine_lab.query("INSERT INTO opsrunner_marker (note) VALUES ('in the backup')")
        yield engine_lab


@pytest.fixture(scope="module")
def backup(lab: EngineLab) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    """One backup with the default file and log paths."""
    done = lab.run("engine-backup", "--mode=backup", "--scope=all")
    files = sorted((lab.sysroot / "var/lib/ovirt-engine-backup").glob("*.backup"))
    logs = sorted((lab.sysroot / "var/log/ovirt-engine-backup").glob("*.log"))
    assert done.returncode == 0, done.stderr
    return files[-1], logs[-1], done


@pytest.fixture
def engine_stopped(lab: EngineLab) -> Iterator[None]:
    unit = lab.systemctl().unit("ovirt-engine")
    assert unit is not None, "the lab has no ovirt-engine unit"
    unit.stop()
    try:
        yield
    finally:
        unit.start()


def members(path: Path, folder: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        tar.extractall(folder, filter="data")
    return {name: (folder / name).read_bytes() for name in MEMBERS}


def test_install_is_idempotent(lab: EngineLab) -> None:
    first = install_engine_tools(lab.layout)
    texts = [path.read_text() for path in first]
    assert [path.name for path in first] == ["engine-backup", "engine-cleanup", "engine-setup"]
    assert install_engine_tools(lab.layout) == first
    assert [path.read_text() for path in first] == texts
    assert all(path.parent == lab.bin and path.stat().st_mode & 0o777 == 0o755 for path in first)


def test_backup_prints_the_real_lines_and_writes_private_files(
        lab: EngineLab, backup: tuple[Path, Path, subprocess.CompletedProcess[str]]) -> None:
    file, log, done = backup
    assert re.fullmatch(r"ovirt-engine-backup-\d{14}\.backup", file.name)
    assert re.fullmatch(r"ovirt-engine-backup-\d{14}\.log", log.name)
    assert done.stdout == (
        f"Start of engine-backup with mode 'backup'\nscope: all\narchive file: {file}\n"
        f"log file: {log}\nBacking up:\nNotifying engine\n- Files\n"
        f"- Engine database 'engine'\n- DWH database 'ovirt_engine_history'\n"
        f"Packing into file '{file}'\nNotifying engine\nDone.\n")
    assert done.stderr == ""
    assert file.stat().st_mode & 0o777 == 0o600
    assert log.stat().st_mode & 0o777 == 0o600
    assert lab.engine.password not in log.read_text()
    assert lab.query(f"SELECT scope || ':' || is_passed FROM engine_backup_log WHERE "
                     f"log_path = '{log}' ORDER BY scope").split() == [
        "cinderlib:true", "db:true", "dwhdb:true", "files:true", "grafanadb:true"]


def test_the_archive_has_the_real_layout_and_checksums(
        backup: tuple[Path, Path, subprocess.CompletedProcess[str]], tmp_path: Path) -> None:
    file = backup[0]
    with tarfile.open(file, "r:gz") as tar:
        assert sorted(name for name in tar.getnames() if name != ".") == [
            "./config", "./db", "./db/dwh_backup.db", "./db/engine_backup.db", "./files",
            "./os_version", "./sha256sum", "./version"]
    data = members(file, tmp_path)
    sums = (tmp_path / "sha256sum").read_text()
    assert sums == "".join(f"{hashlib.sha256(data[name]).hexdigest()}  {name}\n"
                           for name in MEMBERS)
    assert data["version"] == b"4.5.6\n"
    assert data["os_version"] == b"ol8\n"
    assert b"DB_DUMP_FORMAT=custom\n" in data["config"]
    with tarfile.open(fileobj=io.BytesIO(data["files"]), mode="r:xz") as inner:
        names = inner.getnames()
    assert "etc/ovirt-engine/engine.conf.d/10-setup-database.conf" in names
    assert "etc/pki/ovirt-engine/keys/apache.key.nopass" in names
    assert not any(name.startswith("var/lib/ovirt-engine/backups") for name in names)
    listing = subprocess.run([pg_bin("pg_restore"), "-l", str(tmp_path / "db/engine_backup.db")],
                             capture_output=True, text=True, check=True).stdout
    assert "TABLE DATA public opsrunner_marker engine" in listing


def test_verify_passes_on_a_good_backup(
        lab: EngineLab, backup: tuple[Path, Path, subprocess.CompletedProcess[str]],
        tmp_path: Path) -> None:
    log = tmp_path / "verify.log"
    done = lab.run("engine-backup", "--mode=verify", f"--file={backup[0]}", f"--log={log}")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        f"Start of engine-backup with mode 'verify'\nscope: all\narchive file: {backup[0]}\n"
        f"log file: {log}\nVerifying:\n- Unpacking file '{backup[0]}'\n"
        f"- Engine database 'engine'\nDone.\n")


def test_verify_refuses_truncated_and_tampered_files(
        lab: EngineLab, backup: tuple[Path, Path, subprocess.CompletedProcess[str]],
        tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.backup"
    truncated.write_bytes(backup[0].read_bytes()[:100_000])
    done = lab.run("engine-backup", "--mode=verify", f"--file={truncated}",
                   f"--log={tmp_path / 'v1.log'}")
    assert done.returncode == 1
    assert done.stderr.startswith(f"FATAL: cannot open {truncated}: not a readable backup "
                                  f"archive")
    assert "Done." not in done.stdout
    tampered = repack(backup[0], tmp_path, {"db/engine_backup.db": b"not the dump"},
                      update_sums=False)
    done = lab.run("engine-backup", "--mode=verify", f"--file={tampered}",
                   f"--log={tmp_path / 'v2.log'}")
    assert (done.returncode, done.stderr) == (
        1, "FATAL: Checksum verification failed: sha256sum line 3: db/engine_backup.db\n")


def repack(original: Path, tmp_path: Path, changes: dict[str, bytes],
           update_sums: bool = True) -> Path:
    """A copy of a backup with some members replaced (and sha256sum updated if asked)."""
    folder = tmp_path / "repack"
    data = members(original, folder)
    data.update(changes)
    for name, content in changes.items():
        (folder / name).write_bytes(content)
    if update_sums:
        (folder / "sha256sum").write_text("".join(
            f"{hashlib.sha256(data[name]).hexdigest()}  {name}\n" for name in MEMBERS))
    target = tmp_path / "changed.backup"
    with tarfile.open(target, "w:gz") as tar:
        tar.add(folder, arcname=".")
    return target


def test_options_take_the_equals_form_only(lab: EngineLab) -> None:
    done = lab.run("engine-backup", "--mode=verify", "--file", "/tmp/x.backup")
    assert (done.returncode, done.stdout, done.stderr) == (
        1, "", "FATAL: Unknown option '--file'. Please see '--help' for details.\n")
    done = lab.run("engine-backup", "--help")
    assert done.returncode == 0
    assert done.stdout.startswith("engine-backup: back up, verify and restore")


def test_restore_is_refused_while_the_engine_runs(
        lab: EngineLab, backup: tuple[Path, Path, subprocess.CompletedProcess[str]],
        tmp_path: Path) -> None:
    unit = lab.systemctl().unit("ovirt-engine")
    assert unit is not None, "the lab has no ovirt-engine unit"
    assert unit.is_active()
    done = lab.run("engine-backup", "--mode=restore", f"--file={backup[0]}",
                   f"--log={tmp_path / 'r.log'}", "--restore-permissions")
    assert (done.returncode, done.stderr) == (
        1, "FATAL: Engine service is active - can not restore backup\n")
    assert done.stdout.endswith("Preparing to restore:\n")


@pytest.mark.usefixtures("engine_stopped")
def test_restore_needs_a_permissions_option_and_an_empty_database(
        lab: EngineLab, backup: tuple[Path, Path, subprocess.CompletedProcess[str]],
        tmp_path: Path) -> None:
    done = lab.run("engine-backup", "--mode=restore", "--scope=db", f"--file={backup[0]}",
                   f"--log={tmp_path / 'r1.log'}")
    assert (done.returncode, done.stderr) == (
        1, "FATAL: Please pass one of --restore-permissions or --no-restore-permissions when "
           "restoring a backup with a custom dump format\n")
    done = lab.run("engine-backup", "--mode=restore", "--scope=db", f"--file={backup[0]}",
                   f"--log={tmp_path / 'r2.log'}", "--restore-permissions")
    assert (done.returncode, done.stderr) == (1, "FATAL: Database 'engine' is not empty\n")
    assert done.stdout.endswith("- Unpacking file '" + str(backup[0]) + "'\nRestoring:\n")


@pytest.mark.usefixtures("engine_stopped")
@pytest.mark.parametrize("version", ["4.4.10", "4.6.0"])
def test_restore_refuses_another_release(
        lab: EngineLab, backup: tuple[Path, Path, subprocess.CompletedProcess[str]],
        tmp_path: Path, version: str) -> None:
    changed = repack(backup[0], tmp_path, {"version": f"{version}\n".encode()})
    done = lab.run("engine-backup", "--mode=restore", f"--file={changed}",
                   f"--log={tmp_path / 'r.log'}", "--restore-permissions")
    assert (done.returncode, done.stderr) == (
        1, f"FATAL: Backup was created by version '{version}' and can not be restored using "
           f"the installed version 4.5.6\n")


def test_a_failing_pg_dump_is_fatal_with_its_error(lab: EngineLab, tmp_path: Path) -> None:
    cluster = PgCluster(lab.layout)
    cluster.psql("ALTER ROLE ovirt_engine_history PASSWORD 'revoked-by-the-test';")
    try:
        done = lab.run("engine-backup", f"--file={tmp_path / 'b.backup'}",
                       f"--log={tmp_path / 'b.log'}")
    finally:
        provision(lab.layout)  # sets the conf file's password again
    assert done.returncode == 1
    assert done.stderr == (
        f'FATAL: Database ovirt_engine_history backup failed: pg_dump: error: connection to '
        f'server at "{lab.dwh.host}", port 5432 failed: FATAL:  password authentication '
        f'failed for user "ovirt_engine_history"\n')
    assert done.stdout.endswith("- DWH database 'ovirt_engine_history'\nNotifying engine\n")
    assert lab.query(f"SELECT count(*) FROM engine_backup_log WHERE NOT is_passed AND "
                     f"log_path = '{tmp_path / 'b.log'}'") == "5"


def test_the_pg_dump_fault_fails_one_backup(lab: EngineLab, tmp_path: Path) -> None:
    fault = fault_path(lab.layout, "pg_dump")
    fault.parent.mkdir(exist_ok=True)
    fault.write_text("times=1\n")
    done = lab.run("engine-backup", f"--file={tmp_path / 'b.backup'}",
                   f"--log={tmp_path / 'b.log'}")
    assert done.returncode == 1
    assert done.stderr == (f'FATAL: Database engine backup failed: pg_dump: error: connection '
                           f'to server at "{lab.engine.host}", port 5432 failed: FATAL:  the '
                           f'database system is shutting down\n')
    assert not fault.exists()
    done = lab.run("engine-backup", f"--file={tmp_path / 'c.backup'}",
                   f"--log={tmp_path / 'c.log'}")
    assert done.returncode == 0, done.stderr


@contextlib.contextmanager
def small_disk() -> Iterator[tuple[Path, bool]]:
    """A 64 KiB tmpfs (True), or a plain folder if mounting is not allowed (False)."""
    folder = Path(tempfile.mkdtemp(prefix="opsrunner-full-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                             capture_output=True, check=False).returncode == 0
    try:
        yield folder, mounted
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=True)
        folder.rmdir()


def test_a_full_disk_is_fatal_with_its_cause(lab: EngineLab, tmp_path: Path) -> None:
    with small_disk() as (disk, mounted):
        target = disk / "full.backup"
        argv = [str(lab.bin / "engine-backup"), f"--file={target}", f"--log={tmp_path / 'f.log'}",
                f"--tmpdir={tmp_path}"]
        if mounted:
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
        else:  # no CAP_SYS_ADMIN: a file size limit makes the writes fail (EFBIG) instead
            def limit() -> None:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
            done = subprocess.run(argv, capture_output=True, text=True, check=False,
                                  preexec_fn=limit)
    assert done.returncode == 1
    assert "Done." not in done.stdout
    if mounted:
        assert done.stderr == f"FATAL: Cannot create '{target}': No space left on device\n"
        assert done.stdout.endswith(f"Packing into file '{target}'\nNotifying engine\n")
    else:
        assert done.stderr.startswith("FATAL: ")
        assert "File too large" in done.stderr
