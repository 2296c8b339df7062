"""The root directory of an ISO 9660 image as Joliet names it: name, size and content of each
file. Enough to verify an ISO built with ``mkisofs -R -J`` without ``isoinfo`` on the host."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

SECTOR = 2048
_FIRST_DESCRIPTOR = 16
_JOLIET_ESCAPES = (b"%/@", b"%/C", b"%/E")
_DIRECTORY_FLAG = 0x02


class IsoFormatError(ValueError):
    """The bytes are not an ISO 9660 image with a Joliet volume descriptor."""


@dataclass(frozen=True)
class IsoFile:
    """A file of the image's root directory: its Joliet name, size and content's sha256."""

    name: str
    size: int
    sha256: str


def joliet_root(image: bytes) -> list[IsoFile]:
    """The regular files of the Joliet root directory, sorted by name (``;1`` versions cut).

    Raises :class:`IsoFormatError` when there is no Joliet supplementary volume descriptor
    or a record points outside the image.
    """
    root = _joliet_root_record(image)
    extent, length = _extent(root)
    directory = _slice(image, extent * SECTOR, length)
    files = []
    for record in _records(directory):
        name_bytes = record[33:33 + record[32]]
        if record[25] & _DIRECTORY_FLAG or name_bytes in (b"\x00", b"\x01"):
            continue
        name = name_bytes.decode("utf-16-be").split(";", 1)[0]
        start, size = _extent(record)
        content = _slice(image, start * SECTOR, size)
        files.append(IsoFile(name, size, hashlib.sha256(content).hexdigest()))
    return sorted(files, key=lambda f: f.name)


def _joliet_root_record(image: bytes) -> bytes:
    sector = _FIRST_DESCRIPTOR
    while (sector + 1) * SECTOR <= len(image):
        descriptor = image[sector * SECTOR:(sector + 1) * SECTOR]
        if descriptor[1:6] != b"CD001":
            raise IsoFormatError(f"no ISO 9660 volume descriptor at sector {sector}")
        kind = descriptor[0]
        if kind == 255:
            break
        if kind == 2 and descriptor[88:91] in _JOLIET_ESCAPES:
            return descriptor[156:156 + 34]
        sector += 1
    raise IsoFormatError("the image has no Joliet volume descriptor (built without -J?)")


def _extent(record: bytes) -> tuple[int, int]:
    """(first sector, byte length) of a directory record (the little-endian halves)."""
    start, = struct.unpack_from("<I", record, 2)
    size, = struct.unpack_from("<I", record, 10)
    return start, size


def _records(directory: bytes) -> list[bytes]:
    """The records of a directory extent (records never cross a sector; zero pads the rest)."""
    found = []
    offset = 0
    while offset < len(directory):
        length = directory[offset]
        if length == 0:
            offset = (offset // SECTOR + 1) * SECTOR
            continue
        found.append(directory[offset:offset + length])
        offset += length
    return found


def _slice(image: bytes, start: int, length: int) -> bytes:
    if start + length > len(image):
        raise IsoFormatError(f"a directory record points past the end of the image "
                             f"(byte {start + length} of {len(image)})")
    return image[start:start + length]
