"""A lab guest's disk kept with its VM's snapshots: the archive keeps a tree exactly (modes,
owners, symlinks, hard links, fifos, mtimes), a restore swaps the whole tree in, unsafe archives
are refused before anything changes, and only lab guests whose sshd was set up take part."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from opsrunner.testing import tree_state
from opsrunner_lab.guest_disk import (
    GuestDiskError,
    LabGuestDisk,
    archive_folder,
    archive_tree,
    replace_tree,
)
from opsrunner_lab.layout import LabLayout


def mtimes(root: Path) -> dict[str, float]:
    return {path.relative_to(root).as_posix(): path.lstat().st_mtime
            for path in [root, *root.rglob("*")] if not path.is_symlink()}


def build_tree(root: Path) -> None:
    (root / "etc/ssh").mkdir(parents=True)
    (root / "var/empty").mkdir(parents=True)
    (root / "etc/hostname").write_text("ol8-vm1.lab.local\n")
    key = root / "etc/ssh/ssh_host_ed25519_key"
    key.write_bytes(b"secret\x00key\n")
    key.chmod(0o600)
    tool = root / "etc/tool"
    tool.write_bytes(b"#!/bin/sh\n")
    tool.chmod(0o4755)
    owned = root / "etc/owned"
    owned.write_text("data\n")
    os.chown(owned, 1234, 5678)
    os.chown(root / "var/empty", 4321, 8765)
    (root / "etc/localtime").symlink_to("/usr/share/zoneinfo/UTC")
    (root / "etc/relative").symlink_to("hostname")
    os.link(root / "etc/hostname", root / "etc/hostname.hard")
    os.mkfifo(root / "var/fifo", 0o640)
    root.chmod(0o751)
    for path in [*root.rglob("*"), root]:
        if not path.is_symlink():
            os.utime(path, (1_700_000_000.25, 1_700_000_000.25))


def mess_up(root: Path) -> None:
    (root / "etc/hostname").write_text("changed\n")
    (root / "etc/ssh/ssh_host_ed25519_key").unlink()
    (root / "etc/tool").chmod(0o755)
    os.chown(root / "etc/owned", 0, 0)
    (root / "etc/localtime").unlink()
    (root / "etc/localtime").symlink_to("/usr/share/zoneinfo/Europe/Paris")
    (root / "etc/added").write_text("new\n")
    (root / "new-dir/deep").mkdir(parents=True)
    (root / "var/empty").rmdir()
    root.chmod(0o700)


@pytest.fixture
def sysroot(tmp_path: Path) -> Path:
    root = tmp_path / "host" / "sysroot"
    root.mkdir(parents=True)
    build_tree(root)
    return root


def test_an_archived_tree_comes_back_exactly_and_what_was_added_is_gone(
        sysroot: Path, tmp_path: Path) -> None:
    before, times = tree_state(sysroot), mtimes(sysroot)
    archive = tmp_path / "disks" / "snap.tar"
    archive_tree(sysroot, archive)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert stat.S_IMODE(archive.parent.stat().st_mode) == 0o700
    mess_up(sysroot)
    assert tree_state(sysroot) != before

    replace_tree(sysroot, archive)
    assert tree_state(sysroot) == before
    after = mtimes(sysroot)
    assert after.keys() == times.keys()
    assert all(abs(after[name] - times[name]) < 0.001 for name in times)
    assert (sysroot / "etc/hostname").stat().st_ino == (sysroot / "etc/hostname.hard").stat().st_ino
    assert sorted(p.name for p in sysroot.parent.iterdir()) == ["sysroot"]  # no leftovers


def test_a_restore_may_run_again_and_restores_a_missing_sysroot(sysroot: Path,
                                                                tmp_path: Path) -> None:
    before = tree_state(sysroot)
    archive = tmp_path / "snap.tar"
    archive_tree(sysroot, archive)
    replace_tree(sysroot, archive)
    replace_tree(sysroot, archive)
    assert tree_state(sysroot) == before
    os.rename(sysroot, tmp_path / "elsewhere")
    replace_tree(sysroot, archive)
    assert tree_state(sysroot) == before


def member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"x",
           linkname: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, linkname, 0o644
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data


def write_archive(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def unsafe_archives(outside: Path) -> dict[str, tuple[list[tuple[tarfile.TarInfo, bytes]], str]]:
    """Archives that try to reach ``outside`` (never a system path: should the check ever
    break, only the test's own folder is hit), with the refusal each gets."""
    victim = str(outside / "victim")
    return {
        "absolute": ([member(victim)], f"{victim!r} is absolute or contains '..'"),
        "dotdot": ([member("etc/../../../outside/victim")],
                   "'etc/../../../outside/victim' is absolute or contains '..'"),
        "below a symlink": ([member("link", tarfile.SYMTYPE, linkname=str(outside)),
                             member("link/victim")],
                            "'link' is a symlink of the archive, not a folder"),
        "below a file": ([member("file"), member("file/inner")],
                         "'file' is a file of the archive, not a folder"),
        "hard link out": ([member("h", tarfile.LNKTYPE, linkname="../../outside/victim")],
                          "'../../outside/victim' is absolute or contains '..'"),
        "hard link to an absolute path": ([member("h", tarfile.LNKTYPE, linkname=victim)],
                                          f"{victim!r} is absolute or contains '..'"),
        "hard link to no member": ([member("h", tarfile.LNKTYPE, linkname="missing")],
                                   "a hard link to 'missing', which is no earlier file of the "
                                   "archive"),
        "hard link to a symlink": ([member("s", tarfile.SYMTYPE, linkname=victim),
                                    member("h", tarfile.LNKTYPE, linkname="s")],
                                   "a hard link to 's', which is no earlier file of the "
                                   "archive"),
        "device": ([member("dev/sda", tarfile.BLKTYPE)], "device files are not allowed"),
        "twice": ([member("f", data=b"1"), member("f", data=b"2")], "it appears twice"),
        "root not a folder": ([member(".")], "the root must be a folder"),
    }


CASES = sorted(unsafe_archives(Path("/nowhere")))


@pytest.mark.parametrize("case", CASES)
def test_an_unsafe_archive_is_refused_and_changes_nothing(case: str, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("keep\n")
    (outside / "victim").chmod(0o600)
    sysroot = tmp_path / "host" / "sysroot"
    sysroot.mkdir(parents=True)
    build_tree(sysroot)
    members, message = unsafe_archives(outside)[case]
    archive = write_archive(tmp_path / "evil.tar", members)
    before, around = tree_state(sysroot), tree_state(outside)
    with pytest.raises(GuestDiskError) as refused:
        replace_tree(sysroot, archive)
    assert message in str(refused.value)
    assert str(refused.value).startswith("refused archive member ")
    assert tree_state(sysroot) == before
    assert tree_state(outside) == around
    assert (outside / "victim").stat().st_nlink == 1
    assert sorted(p.name for p in sysroot.parent.iterdir()) == ["sysroot"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar", "host", "outside"]


@pytest.fixture
def layout(tmp_path: Path) -> LabLayout:
    lab = LabLayout(tmp_path / "lab", kvm_hosts=1, address_prefix="127.0.111.",
                    guests=["ol8-vm1", "ol7-vm1"])
    for guest in lab.guests:
        build_tree(lab.sysroot(guest))
    config = lab.host_dir("ol8-vm1") / "sshd" / "sshd_config"  # as `lab up` leaves it
    config.parent.mkdir(parents=True)
    config.write_text("# lab sshd\n")
    return lab


def test_a_lab_guest_disk_is_captured_restored_and_discarded(layout: LabLayout) -> None:
    disk, sysroot = LabGuestDisk(layout), layout.sysroot("ol8-vm1")
    before = tree_state(sysroot)
    assert disk.capture("ol8-vm1", "0b9f-snap") is True
    archive = archive_folder(layout) / "0b9f-snap.tar"
    assert disk.archive("0b9f-snap") == archive
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert stat.S_IMODE(archive.parent.stat().st_mode) == 0o700
    mess_up(sysroot)
    assert disk.restore("ol8-vm1", "0b9f-snap") is True
    assert tree_state(sysroot) == before
    assert disk.restore("ol8-vm1", "never-taken") is False
    assert tree_state(sysroot) == before
    disk.discard(["0b9f-snap", "never-taken", "../escape"])
    assert not archive.exists()


def test_vms_that_are_no_set_up_lab_guest_are_left_alone(layout: LabLayout) -> None:
    disk = LabGuestDisk(layout)
    assert disk.capture("ol7-vm1", "s1") is False  # a guest whose sshd lab up never set up
    assert disk.capture("web01", "s2") is False  # not a lab guest at all
    assert disk.capture("kvm1", "s3") is False  # a lab host, not a guest
    assert not archive_folder(layout).exists()
    assert disk.restore("web01", "s2") is False


def test_snapshot_ids_that_are_no_plain_names_are_refused(layout: LabLayout) -> None:
    with pytest.raises(ValueError, match=r"snapshot id '\.\./x' is not a UUID-like name"):
        LabGuestDisk(layout).archive("../x")


def test_a_broken_archive_fails_with_the_guest_and_leaves_its_disk(layout: LabLayout) -> None:
    disk, sysroot = LabGuestDisk(layout), layout.sysroot("ol8-vm1")
    disk.capture("ol8-vm1", "s1")
    archive = disk.archive("s1")
    archive.write_bytes(archive.read_bytes()[:1000])
    before = tree_state(sysroot)
    with pytest.raises(GuestDiskError) as failed:
        disk.restore("ol8-vm1", "s1")
    assert str(failed.value).startswith(f"cannot restore the disk of guest ol8-vm1 ({sysroot}) "
                                        "from s1.tar: ")
    assert tree_state(sysroot) == before
    assert sorted(p.name for p in sysroot.parent.iterdir()) == ["sshd", "sysroot"]


def test_an_unreadable_sysroot_fails_the_capture_with_the_guest(layout: LabLayout) -> None:
    sysroot = layout.sysroot("ol8-vm1")
    os.rename(sysroot, sysroot.with_name("moved"))
    with pytest.raises(GuestDiskError, match=r"^cannot archive the disk of guest ol8-vm1 "):
        LabGuestDisk(layout).capture("ol8-vm1", "s1")
    assert list(archive_folder(layout).iterdir()) == []
