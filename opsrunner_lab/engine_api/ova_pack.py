"""Writing an OVA as the engine's ``pack_ova.py`` (role ovirt-ova-pack) does: a tar (ustar
headers, with a POSIX.1-2001 extended header for a member over 8 GiB, as Python's tarfile
writes them there) whose first member is the OVF descriptor (``vm.ovf``), then one member per
disk image, named by its image id, each padded to 512-byte blocks, and two zero blocks at the
end.

The file is written as ``<name>.tmp`` first, as the export's pre-pack step allocates it; the
post-pack step renames it to its final name (:func:`finish_ova`). A disk's member holds the raw
content of its image file, copied sparsely (zero blocks are left as holes, as pack_ova leaves
room for ``qemu-img convert``); a disk without an image file is all zeros.
"""

from __future__ import annotations

import os
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

BLOCK = 512
_CHUNK = 1 << 20


@dataclass(frozen=True)
class DiskImage:
    """One disk of an OVA: its member ``name``, ``size`` in bytes, and ``source`` image file
    (None: no content, zeros)."""

    name: str
    size: int
    source: Path | None = None


def temporary_path(path: Path) -> Path:
    """Where an OVA is written before it is complete."""
    return path.with_name(path.name + ".tmp")


def _header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(time.time())
    return info.tobuf(format=tarfile.PAX_FORMAT)


def _padding(size: int) -> bytes:
    """The zeros that fill a member of ``size`` bytes up to whole blocks."""
    return bytes(-size % BLOCK)


def _copy_sparse(out: BinaryIO, disk: DiskImage) -> None:
    """The disk's content at the stream's position; zero chunks become holes."""
    start = out.tell()
    done = 0
    if disk.source is not None and disk.source.exists():
        with disk.source.open("rb") as image:
            while done < disk.size:
                chunk = image.read(min(_CHUNK, disk.size - done))
                if not chunk:
                    break
                if chunk.count(0) == len(chunk):
                    out.seek(len(chunk), os.SEEK_CUR)
                else:
                    out.write(chunk)
                done += len(chunk)
    out.seek(start + disk.size)


def pack_ova(path: Path, ovf: str, disks: list[DiskImage]) -> Path:
    """Write the OVA of ``ovf`` and ``disks`` to ``path``'s temporary name; that name."""
    target = temporary_path(path)
    descriptor = ovf.encode()
    with target.open("wb") as out:
        out.write(_header("vm.ovf", len(descriptor)))
        out.write(descriptor + _padding(len(descriptor)))
        for disk in disks:
            out.write(_header(disk.name, disk.size))
            _copy_sparse(out, disk)
            out.write(_padding(disk.size))
        out.write(bytes(2 * BLOCK))
        out.truncate()
        out.flush()
        os.fsync(out.fileno())
    return target


def finish_ova(path: Path) -> bool:
    """Give the packed OVA its final name (False: its temporary file is gone)."""
    try:
        os.replace(temporary_path(path), path)
    except FileNotFoundError:
        return False
    return True
