"""workflows/backup.yml and workflows/restore.yml on the session lab.

A backup is taken with a marker row in the engine database, then a change is planted. The
faults come first and must change nothing (no confirmation, a truncated or tampered archive,
a failing pg_dump, a full disk) or bring everything back (engine-setup failing after
engine-cleanup: the safety backup goes back, the planted change survives); the last test is
the real restore, which brings the marker back with every check green. After each one, every
lab service runs.
"""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_lab import query
from workflow_lab import db_confs, markers, plant_dead_rows, run_workflow, services_down

from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.tools.faults import fault_path

BACKUP_DIR = "/var/lib/ovirt-engine-backup"
KEPT = f"kept by the backup {uuid.uuid4().hex[:8]}"
LATER = f"planted after the backup {uuid.uuid4().hex[:8]}"
REFUSED = "refusing to restore: "
UNCHANGED = "; nothing was changed"


def host_file(lab: LabLayout, path: str) -> Path:
    return lab.sysroot(ENGINE) / path.lstrip("/")


def engine_state(lab: LabLayout) -> dict[str, str]:
    """What a refused restore must not change: conf files' and keys' hashes, the markers, and
    the backup folder's listing."""
    sysroot = lab.sysroot(ENGINE)
    state = {str(p.relative_to(sysroot)): hashlib.sha256(p.read_bytes()).hexdigest()
             for folder in ("etc/ovirt-engine", "etc/pki/ovirt-engine")
             for p in sorted((sysroot / folder).rglob("*")) if p.is_file()}
    state["markers"] = "\n".join(markers(db_confs(lab)[0]))
    state["backups"] = " ".join(sorted(p.name for p in host_file(lab, BACKUP_DIR).iterdir()))
    return state


@pytest.fixture(scope="module")
def backup(lab: LabLayout, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """backup.yml run once (default file name, fetched to the control node); the archive's
    path on the engine. Afterwards a change is planted; at the end, dead rows again (the
    restores leave none, and other lab tests vacuum them)."""
    engine, _ = db_confs(lab)
    query(engine, f"INSERT INTO opsrunner_marker (note) VALUES ('{KEPT}')")
    tmp_path = tmp_path_factory.mktemp("backup")
    run = run_workflow(lab, tmp_path, "backup.yml", "-e", f"backup_fetch_dir={tmp_path}/fetched")
    assert run.code == 0, run.engine
    step = run.step("engine_backup")
    found = re.fullmatch(
        rf"backed up \(scope all\) to ({BACKUP_DIR}/ovirt-engine-backup-\d{{14}}\.backup): "
        rf"(\d+) bytes, sha256 ([0-9a-f]{{64}}); verified; copied to (\S+)", step["msg"])
    assert found, step["msg"]
    archive, size, sha256, fetched = found.groups()
    content = host_file(lab, archive).read_bytes()
    assert (len(content), hashlib.sha256(content).hexdigest()) == (int(size), sha256)
    assert Path(fetched) == tmp_path / "fetched" / ENGINE / Path(archive).name
    assert Path(fetched).read_bytes() == content
    assert Path(fetched).stat().st_mode & 0o777 == 0o600
    assert run.checks() == {"test_archive_is_a_private_file": "passed",
                            "test_engine_backup_verifies_it": "passed",
                            "test_its_sha256sum_member_matches": "passed"}
    assert run.controls() == {"OLVM-BAK-001": "passed", "OLVM-SVC-001": "passed",
                              "OLVM-SVC-002": "passed"}  # profile: olvm-baseline, tagged backup
    query(engine, f"INSERT INTO opsrunner_marker (note) VALUES ('{LATER}')")
    yield archive
    plant_dead_rows(lab)


def test_a_restore_without_confirmation_is_refused(lab: LabLayout, tmp_path: Path,
                                                   backup: str) -> None:
    before = engine_state(lab)
    run = run_workflow(lab, tmp_path, "restore.yml", "-e", f"backup_file={backup}",
                       "--no-verify")
    assert run.code == 2
    step = run.step("engine_restore")
    assert re.fullmatch(
        rf"{REFUSED}the restore of {backup} replaces the engine's configuration and databases "
        r"\(what changed after \d{4}-\d\d-\d\d \d\d:\d\d:\d\d is lost\) and needs a "
        rf"confirmation: run with --yes or set confirm: true{UNCHANGED}", step["msg"]), step["msg"]
    assert engine_state(lab) == before
    assert services_down(lab) == []


def corrupt_copies(lab: LabLayout, archive: str) -> dict[str, str]:
    """A truncated copy and a tampered one (a dump byte changed, the archive rebuilt)."""
    source = host_file(lab, archive)
    content = source.read_bytes()
    truncated = f"{BACKUP_DIR}/truncated.backup"
    host_file(lab, truncated).write_bytes(content[:len(content) // 2])
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(content)) as tar, \
            tarfile.open(fileobj=out, mode="w:gz") as copy:
        for member in tar.getmembers():
            data = tar.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if data is not None and member.name.endswith("engine_backup.db"):
                data = data[:-10] + bytes(b ^ 0xFF for b in data[-10:])
            copy.addfile(member, io.BytesIO(data) if data is not None else None)
    tampered = f"{BACKUP_DIR}/tampered.backup"
    host_file(lab, tampered).write_bytes(out.getvalue())
    return {"truncated": truncated, "tampered": tampered}


def test_a_truncated_or_tampered_backup_is_refused_before_anything_changes(
        lab: LabLayout, tmp_path: Path, backup: str) -> None:
    copies = corrupt_copies(lab, backup)
    try:
        before = engine_state(lab)
        for kind, path in copies.items():
            run = run_workflow(lab, tmp_path, "restore.yml", "-e", f"backup_file={path}",
                               "--yes", "--no-verify")
            assert run.code == 2
            msg = run.step("engine_restore")["msg"]
            assert msg.startswith(f"{REFUSED}{path} does not pass engine-backup --mode=verify: "
                                  "FATAL: "), msg
            assert msg.endswith(UNCHANGED)
            if kind == "tampered":
                assert "FATAL: Checksum verification failed" in msg
            assert engine_state(lab) == before
    finally:
        for path in copies.values():
            host_file(lab, path).unlink()
    assert services_down(lab) == []


def test_a_failing_pg_dump_fails_the_backup_with_its_fatal_line(lab: LabLayout,
                                                                tmp_path: Path) -> None:
    fault = fault_path(lab, "pg_dump")
    fault.parent.mkdir(exist_ok=True)
    fault.write_text("times=1\n")
    try:
        run = run_workflow(lab, tmp_path, "backup.yml", "--no-verify")
    finally:
        fault.unlink(missing_ok=True)
    assert run.code == 2
    msg = run.step("engine_backup")["msg"]
    found = re.fullmatch(
        r"engine-backup failed: FATAL: Database engine backup failed: pg_dump: error: "
        r"connection to server at \"\S+\", port 5432 failed: FATAL:  the database system is "
        rf"shutting down \(incomplete ({BACKUP_DIR}/\S+) removed; log: \S+\)", msg)
    assert found, msg
    assert not host_file(lab, found.group(1)).exists()
    assert services_down(lab) == []


@pytest.fixture
def full_disk(lab: LabLayout) -> Iterator[str]:
    """A 64 KiB tmpfs at /mnt/opsrunner-full of the engine; its path on the engine."""
    folder = host_file(lab, "/mnt/opsrunner-full")
    folder.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                             capture_output=True, check=False).returncode == 0
    try:
        if not mounted:
            pytest.skip("cannot mount a small tmpfs here (needs CAP_SYS_ADMIN)")
        yield "/mnt/opsrunner-full"
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=True)
        folder.rmdir()


def test_a_full_disk_fails_the_backup_and_leaves_no_partial_file(
        lab: LabLayout, tmp_path: Path, full_disk: str) -> None:
    target = f"{full_disk}/engine.backup"
    run = run_workflow(lab, tmp_path, "backup.yml", "-e", f"backup_file={target}", "--no-verify")
    assert run.code == 2
    msg = run.step("engine_backup")["msg"]
    assert msg.startswith(f"engine-backup failed: FATAL: Cannot create '{host_file(lab, target)}'"
                          f": No space left on device (incomplete {target} removed; log: "), msg
    assert list(host_file(lab, full_disk).iterdir()) == []
    assert services_down(lab) == []


def test_setup_failing_after_cleanup_brings_the_safety_backup_back(
        lab: LabLayout, tmp_path: Path, backup: str) -> None:
    engine, _ = db_confs(lab)
    before = markers(engine)
    fault = fault_path(lab, "engine-setup")
    fault.parent.mkdir(exist_ok=True)
    fault.write_text("times=1\n")
    try:
        run = run_workflow(lab, tmp_path, "restore.yml", "-e", f"backup_file={backup}", "--yes",
                           "-e", f"restore_marker={LATER}")
    finally:
        fault.unlink(missing_ok=True)
    assert run.code == 2
    msg = run.step("engine_restore")["msg"]
    assert re.fullmatch(
        rf"restore of {backup} failed \(engine-setup failed: \[ ERROR \] Failed to execute "
        r"stage 'Misc configuration': Engine schema refresh failed\); the engine was brought "
        rf"back to its state before the restore from the safety backup {BACKUP_DIR}/"
        r"ovirt-engine-safety-\d{14}\.backup", msg), msg
    assert markers(engine) == before  # nothing lost: the change after the backup is still there
    assert LATER in before
    checks = run.checks()
    assert checks.pop("test_marker_from_the_backup_is_back") == "passed"  # LATER, kept
    assert set(checks.values()) == {"passed"}, checks
    assert services_down(lab) == []


def test_backup_then_restore_brings_the_marker_back_with_every_check_green(
        lab: LabLayout, tmp_path: Path, backup: str) -> None:
    engine, _ = db_confs(lab)
    run = run_workflow(lab, tmp_path, "restore.yml", "-e", f"backup_file={backup}", "--yes",
                       "-e", f"restore_marker={KEPT}")
    assert run.code == 0, run.engine
    msg = run.step("engine_restore")["msg"]
    found = re.fullmatch(
        rf"restored {backup} \(version 4\.5\.\d+\); the engine database was backed up at "
        r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}): objects added, removed or changed after "
        rf"\1 are missing; safety backup of the previous state: {BACKUP_DIR}/"
        r"ovirt-engine-safety-\d{14}\.backup", msg)
    assert found, msg
    assert run.checks() == {"test_service_is_active[ovirt-engine]": "passed",
                            "test_service_is_active[httpd]": "passed",
                            "test_service_is_active[postgresql]": "passed",
                            "test_engine_databases_answer": "passed",
                            "test_engine_health_page_answers": "passed",
                            "test_marker_from_the_backup_is_back": "passed"}
    assert set(run.controls()) >= {"OLVM-BAK-001", "OLVM-DB-001", "OLVM-SVC-001",
                                   "OLVM-TLS-003", "OLVM-PKI-001"}  # tagged restore
    assert set(run.controls().values()) == {"passed"}, run.engine["verify"]
    notes = markers(engine)
    assert KEPT in notes and LATER not in notes
    assert services_down(lab) == []

