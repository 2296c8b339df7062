"""The engine-backup archive without a server: checksums, versions, packing, file restore."""

from __future__ import annotations

import hashlib
import os
import tarfile
from pathlib import Path

import pytest

from opsrunner_lab.tools import backup_archive as archive
from opsrunner_lab.tools.backup_files import backup_files, backup_paths, restore_files
from opsrunner_lab.tools.backup_options import BackupOptions, DumpOptions
from opsrunner_lab.tools.common import ToolError


def backup_folder(folder: Path) -> Path:
    (folder / "db").mkdir(parents=True)
    (folder / archive.ENGINE_DUMP).write_bytes(b"engine dump")
    (folder / archive.FILES).write_bytes(b"files")
    archive.write_metadata(folder, BackupOptions(), "ol8")
    archive.write_hash_file(folder)
    return folder


def test_metadata_and_hash_file_are_as_the_real_tool_writes_them(tmp_path: Path) -> None:
    folder = backup_folder(tmp_path / "b")
    assert (folder / "version").read_text() == "4.5.6\n"
    assert (folder / "os_version").read_text() == "ol8\n"
    assert "DB_DUMP_FORMAT=custom\nDWH_DB_DUMP_COMPRESSOR=\n" in (folder / "config").read_text()
    lines = (folder / "sha256sum").read_text().splitlines()
    assert [line.split("  ")[1] for line in lines] == [
        "config", "db/engine_backup.db", "files", "os_version", "version"]
    assert f"{hashlib.sha256(b'engine dump').hexdigest()}  db/engine_backup.db" in lines
    archive.verify_hash(folder)
    assert archive.read_config(folder) == (DumpOptions(), DumpOptions())


def test_a_changed_member_fails_the_checksum(tmp_path: Path) -> None:
    folder = backup_folder(tmp_path / "b")
    (folder / archive.ENGINE_DUMP).write_bytes(b"engine dumq")
    with pytest.raises(ToolError, match=r"^Checksum verification failed: sha256sum line 2: "
                                        r"db/engine_backup.db$"):
        archive.verify_hash(folder)
    (folder / "sha256sum").unlink()
    with pytest.raises(ToolError, match=r"^No supported hash file found$"):
        archive.verify_hash(folder)


def test_a_hash_line_cannot_point_outside(tmp_path: Path) -> None:
    folder = backup_folder(tmp_path / "b")
    digest = hashlib.sha256(b"x").hexdigest()
    (folder / "sha256sum").write_text(f"{digest}  /etc/hostname\n")
    with pytest.raises(ToolError, match="Checksum verification failed"):
        archive.verify_hash(folder)


@pytest.mark.parametrize("version", ["4.4.10", "4.6.0", "4.5.7", "", "garbage"])
def test_other_versions_are_refused(tmp_path: Path, version: str) -> None:
    (tmp_path / "version").write_text(version + "\n")
    with pytest.raises(ToolError) as caught:
        archive.check_version(tmp_path)
    assert str(caught.value) == (f"Backup was created by version '{version}' and can not be "
                                 f"restored using the installed version 4.5.6")


@pytest.mark.parametrize("version", ["4.5.6", "4.5.5.1", "4.5.0"])
def test_same_or_older_versions_of_the_release_are_accepted(tmp_path: Path, version: str) -> None:
    (tmp_path / "version").write_text(version + "\n")
    assert archive.check_version(tmp_path) == version


@pytest.mark.parametrize("compressor", ["gzip", "bzip2", "xz", ""])
def test_pack_and_unpack_round_trip(tmp_path: Path, compressor: str) -> None:
    folder = backup_folder(tmp_path / "b")
    target = tmp_path / "x.backup"
    target.touch(mode=0o600)
    archive.pack(folder, target, compressor)
    assert target.stat().st_mode & 0o777 == 0o600
    with tarfile.open(target) as tar:
        assert "./db/engine_backup.db" in tar.getnames()
    archive.unpack(target, tmp_path / "out")
    archive.verify_hash(tmp_path / "out")


def test_truncated_archives_are_not_readable(tmp_path: Path) -> None:
    folder = backup_folder(tmp_path / "b")
    (folder / archive.ENGINE_DUMP).write_bytes(os.urandom(200_000))
    archive.write_hash_file(folder)
    target = tmp_path / "x.backup"
    archive.pack(folder, target, "gzip")
    target.write_bytes(target.read_bytes()[:100_000])
    with pytest.raises(ToolError, match=f"^cannot open {target}: not a readable backup archive"):
        archive.unpack(target, tmp_path / "out")


def test_files_keep_modes_and_stay_inside_the_sysroot(tmp_path: Path) -> None:
    sysroot = tmp_path / "root"
    conf = sysroot / "etc/ovirt-engine/engine.conf.d/10-setup-database.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("ENGINE_DB_USER=engine\n")
    conf.chmod(0o600)
    (sysroot / "var/lib/ovirt-engine/backups").mkdir(parents=True)
    (sysroot / "var/lib/ovirt-engine/backups/old.dump").write_text("x")
    (sysroot / "var/lib/ovirt-engine/setup").mkdir()
    assert backup_paths(sysroot) == ["etc/ovirt-engine", "var/lib/ovirt-engine/setup"]
    inner = tmp_path / "files"
    backup_files(sysroot, inner, "xz")
    conf.unlink()
    assert "etc/ovirt-engine/engine.conf.d/10-setup-database.conf" in \
        restore_files(inner, sysroot)
    assert conf.read_text() == "ENGINE_DB_USER=engine\n"
    assert conf.stat().st_mode & 0o777 == 0o600



@pytest.mark.parametrize(("kind", "name", "link"), [
    (tarfile.REGTYPE, "../outside", ""),
    (tarfile.LNKTYPE, "etc/shadow-link", "/etc/shadow"),
    (tarfile.SYMTYPE, "etc/escape", "../../.."),
])
def test_restored_files_cannot_leave_the_sysroot(tmp_path: Path, kind: bytes, name: str,
                                                 link: str) -> None:
    evil = tmp_path / "evil"
    with tarfile.open(evil, "w") as tar:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, link
        tar.addfile(info)
    (tmp_path / "root").mkdir()
    with pytest.raises(tarfile.FilterError):
        restore_files(evil, tmp_path / "root")
    assert not (tmp_path / "outside").exists()
    assert list((tmp_path / "root").rglob("*")) == []
