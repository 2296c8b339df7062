"""A lab guest's disk is its sysroot: a snapshot of its VM archives that tree, a restore puts it
back.

The engine simulator calls :class:`LabGuestDisk` when a snapshot of a VM is created
(:meth:`~LabGuestDisk.capture`: the guest's sysroot as it is at that moment, in a tar keeping
modes, owners, symlinks, hard links and mtimes), restored (:meth:`~LabGuestDisk.restore`: the
sysroot's whole content becomes the archive's) and removed (:meth:`~LabGuestDisk.discard`).
Archives live in ``<lab>/data/engine-api/guest-disks/<snapshot id>.tar`` (folder 0700, files
0600). VMs that are not lab guests whose sshd ``lab up`` set up are left alone.

A restore never leaves a half tree: the archive is extracted into a new folder beside the
sysroot, which then takes the sysroot's place by rename. Extraction refuses any member that
could write outside that folder (absolute names, ``..``, names below a symlink or a file, hard
links to anything but an earlier file of the archive, repeated names) and device files.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tarfile
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from opsrunner_lab.daemon import LabServerError
from opsrunner_lab.guest_power import lab_guest
from opsrunner_lab.layout import LabLayout

ARCHIVE_FOLDER = "guest-disks"
_SNAPSHOT_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z-]*$")
_log = logging.getLogger(__name__)


class GuestDiskError(LabServerError):
    """A guest's disk could not be archived or restored; the message says which and why."""


def archive_folder(layout: LabLayout) -> Path:
    """Where the archives of ``layout``'s guest disks live."""
    return layout.data / "engine-api" / ARCHIVE_FOLDER


def archive_tree(root: Path, archive: Path) -> None:
    """Write ``root``'s whole tree (``root`` itself as member ``.``) to the tar ``archive``
    (mode 0600, replaced atomically; its folder made 0700). Entries that vanish while the tree
    is read are left out, as on a live disk; OSError and TarError otherwise."""
    archive.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    archive.parent.chmod(0o700)
    partial = archive.with_name(f".{archive.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as stream:
            os.fchmod(stream.fileno(), 0o600)
            with tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT) as tar:
                tar.add(root, arcname=".", recursive=False)
                for path in _tree(root):
                    try:
                        tar.add(path, arcname=path.relative_to(root).as_posix(),
                                recursive=False)
                    except FileNotFoundError:
                        continue  # removed while we read the tree
        os.replace(partial, archive)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _tree(root: Path) -> Iterable[Path]:
    """Every entry below ``root``, parents first, in name order; symlinks are not followed."""

    def fail(error: OSError) -> None:
        if not isinstance(error, FileNotFoundError):
            raise error

    for folder, dirs, files in os.walk(root, onerror=fail):
        dirs.sort()
        for name in sorted([*dirs, *files]):
            yield Path(folder, name)


class MemberCheck:
    """The extraction filter that refuses unsafe members (see the module doc); one per
    extraction, called in archive order (it remembers the members it let through)."""

    def __init__(self) -> None:
        self._kinds: dict[str, str] = {}

    def __call__(self, member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo:
        name = self._name(member.name, member)
        if member.isdir():
            kind = "dir"
        elif member.issym():
            kind = "symlink"
        elif member.islnk():
            kind = "file"
            target = self._name(member.linkname, member)
            if self._kinds.get(target) != "file":
                raise GuestDiskError(f"refused archive member {member.name!r}: a hard link to "
                                     f"{member.linkname!r}, which is no earlier file of the "
                                     "archive")
        elif member.isreg() or member.isfifo():
            kind = "file"
        else:
            raise GuestDiskError(f"refused archive member {member.name!r}: device files are not "
                                 "allowed (only files, folders, symlinks, hard links and fifos)")
        if name in self._kinds:
            raise GuestDiskError(f"refused archive member {member.name!r}: it appears twice")
        if name == "" and kind != "dir":
            raise GuestDiskError("refused archive member '.': the root must be a folder")
        self._kinds[name] = kind
        return member

    def _name(self, text: str, member: tarfile.TarInfo) -> str:
        """``text`` (a member name or hard link target) normalised; GuestDiskError when it
        could reach outside the destination."""
        path = PurePosixPath(text)
        if path.is_absolute() or ".." in path.parts:
            raise GuestDiskError(f"refused archive member {member.name!r}: {text!r} is absolute "
                                 "or contains '..'")
        for depth in range(1, len(path.parts)):
            parent = "/".join(path.parts[:depth])
            if self._kinds.get(parent, "dir") != "dir":
                raise GuestDiskError(f"refused archive member {member.name!r}: {parent!r} is "
                                     f"a {self._kinds[parent]} of the archive, not a folder")
        return "/".join(path.parts)


def extract_tree(archive: Path, destination: Path) -> None:
    """Extract ``archive`` into the existing, empty folder ``destination`` with modes, owners
    (numeric) and mtimes; GuestDiskError for an unsafe member (:class:`MemberCheck`), OSError
    and TarError otherwise."""
    with tarfile.open(archive, mode="r:") as tar:
        tar.extractall(destination, numeric_owner=True, filter=MemberCheck())


def replace_tree(root: Path, archive: Path) -> None:
    """Make ``root``'s whole content the archive's (what the archive lacks is gone): extract
    beside ``root``, then swap the folders by rename. On any failure ``root`` is as it was."""
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}-restore-", dir=root.parent))
    previous = staging.with_name(staging.name.replace("-restore-", "-previous-"))
    try:
        extract_tree(archive, staging)
        if root.exists() or root.is_symlink():
            os.rename(root, previous)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        os.rename(staging, root)
    except BaseException:
        if previous.exists():
            os.rename(previous, root)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(previous, ignore_errors=True)


class LabGuestDisk:
    """Archives and restores the sysroot of the guest named like a VM, by snapshot id."""

    def __init__(self, layout: LabLayout) -> None:
        self.layout = layout
        self._lock = threading.Lock()

    def archive(self, snapshot_id: str) -> Path:
        """The archive of snapshot ``snapshot_id`` (ValueError for an id that is no name)."""
        if not _SNAPSHOT_ID.match(snapshot_id):
            raise ValueError(f"snapshot id {snapshot_id!r} is not a UUID-like name")
        return archive_folder(self.layout) / f"{snapshot_id}.tar"

    def capture(self, vm_name: str, snapshot_id: str) -> bool:
        """Archive the sysroot of ``vm_name``'s guest for a new snapshot; False when the VM is
        no lab guest (nothing done). GuestDiskError when it cannot be archived."""
        guest = lab_guest(self.layout, vm_name)
        if guest is None:
            return False
        sysroot = self.layout.sysroot(guest.name)
        with self._lock:
            try:
                archive_tree(sysroot, self.archive(snapshot_id))
            except (OSError, tarfile.TarError) as error:
                raise GuestDiskError(f"cannot archive the disk of guest {guest.name} "
                                     f"({sysroot}): {error}") from None
        return True

    def restore(self, vm_name: str, snapshot_id: str) -> bool:
        """Give ``vm_name``'s guest the sysroot archived for ``snapshot_id``; False when the VM
        is no lab guest or the snapshot has no archive (logged). GuestDiskError when the
        archive cannot be restored (the sysroot is then unchanged)."""
        guest = lab_guest(self.layout, vm_name)
        if guest is None:
            return False
        archive = self.archive(snapshot_id)
        if not archive.exists():
            _log.warning("guest %s: snapshot %s has no disk archive; its files stay as they are",
                         guest.name, snapshot_id)
            return False
        sysroot = self.layout.sysroot(guest.name)
        with self._lock:
            try:
                replace_tree(sysroot, archive)
            except (OSError, tarfile.TarError, GuestDiskError) as error:
                raise GuestDiskError(f"cannot restore the disk of guest {guest.name} "
                                     f"({sysroot}) from {archive.name}: {error}") from None
        return True

    def discard(self, snapshot_ids: Iterable[str]) -> None:
        """Delete the archives of ``snapshot_ids`` (those that exist; failures are logged)."""
        with self._lock:
            for snapshot_id in snapshot_ids:
                try:
                    self.archive(snapshot_id).unlink(missing_ok=True)
                except (OSError, ValueError) as error:
                    _log.warning("snapshot %s: its disk archive was not deleted: %s",
                                 snapshot_id, error)
