"""Reading a file the user named, safely: regular files only, and at most a size limit.

:func:`read_regular_file` never blocks on a FIFO and never reads a device: the path is
checked before opening, opened non-blocking, and checked again on the open descriptor
(``fstat``), so what is read is what was checked. Anything but a regular file, and a file
over its limit, is refused with :class:`opsrunner.errors.FileRefused`; a file that cannot be opened or read
raises the ``OSError`` (the caller words it: missing, permission denied).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from opsrunner.errors import FileRefused

KiB = 1 << 10
MiB = 1 << 20
YAML_LIMIT = 8 * MiB
"""Workflows, inventories, ``-e @FILE`` and every other YAML file."""
SECRET_LIMIT = 64 * KiB
"""A ``secret_file`` / ``*_password_file``."""
SSH_KEY_LIMIT = 64 * KiB
"""A private key file (``ssh_key``)."""
KNOWN_HOSTS_LIMIT = 32 * MiB
"""A ``known_hosts`` file."""

_CHUNK = 1 * MiB


@dataclass(frozen=True)
class FileContents:
    """The bytes read and the file's ``st_mode`` (from the descriptor they were read from)."""

    data: bytes
    mode: int


def read_regular_file(path: str | Path, *, what: str, limit: int) -> FileContents:
    """The contents of the regular file ``path`` (symlinks followed), at most ``limit`` bytes.

    :param what: what the file is, singular, for messages ("workflow", "secret file").
    :raises FileRefused: not a regular file (a FIFO, device, socket or folder), or larger
        than ``limit`` (the message states the size and the limit).
    :raises OSError: it cannot be opened or read (``FileNotFoundError`` when missing).
    """
    name = str(path)
    _check_mode(os.stat(name).st_mode, what, name)  # refuse a device before opening it
    fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        _check_mode(info.st_mode, what, name)  # what was opened, not what was checked
        if info.st_size > limit:
            raise FileRefused(what, name, f"is {_size(info.st_size)}; {_limited(what, limit)}")
        chunks: list[bytes] = []
        total = 0
        while total <= limit:  # st_size may lie (/proc) or the file may grow meanwhile
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise FileRefused(what, name, f"is larger than {_size(limit)}; "
                                          f"{_limited(what, limit)}")
        return FileContents(b"".join(chunks), info.st_mode)
    finally:
        os.close(fd)


def _check_mode(mode: int, what: str, name: str) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        kind = "a folder"
    elif stat.S_ISFIFO(mode):
        kind = "a FIFO"
    elif stat.S_ISCHR(mode):
        kind = "a character device"
    elif stat.S_ISBLK(mode):
        kind = "a block device"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    else:
        kind = "a special file"
    raise FileRefused(what, name, f"is not a regular file ({kind})")


def _limited(what: str, limit: int) -> str:
    return f"{what}s are limited to {_size(limit)}"


def _size(count: int) -> str:
    """``8 MiB``, ``50.0 MiB``, ``64 KiB``, ``12 bytes``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", MiB), ("KiB", KiB)):
        if count >= scale:
            value = count / scale
            return f"{value:.0f} {unit}" if count % scale == 0 else f"{value:.1f} {unit}"
    return f"{count} bytes"
