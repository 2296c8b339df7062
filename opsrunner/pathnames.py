"""Whether a string the user wrote can name a file at all, before the filesystem is asked.

``Path.is_file()`` raises ``OSError`` (``File name too long``) for a name over the system's
limit; :func:`path_problem` says why such a path cannot work, and :func:`is_file` answers
False for it instead of raising.
"""

from __future__ import annotations

import os
from pathlib import Path

NAME_MAX = 255
"""The longest file or folder name, in bytes (Linux's NAME_MAX)."""
PATH_MAX = 4095
"""The longest path, in bytes (Linux's PATH_MAX less the final NUL)."""


def path_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot name a file on this system, or None when it can.

    The answer reads after the path: ``has a NUL character``, ``has a name of 300 bytes
    (names are limited to 255 bytes)``, ``is 5000 bytes long (paths are limited to 4095
    bytes)``, ``is not valid text for a file name``.
    """
    text = str(path)
    if "\0" in text:
        return "has a NUL character"
    try:
        encoded = os.fsencode(text)
    except UnicodeError:
        return "is not valid text for a file name"
    if len(encoded) > PATH_MAX:
        return f"is {len(encoded)} bytes long (paths are limited to {PATH_MAX} bytes)"
    longest = max((len(part) for part in encoded.split(b"/")), default=0)
    if longest > NAME_MAX:
        return f"has a name of {longest} bytes (names are limited to {NAME_MAX} bytes)"
    return None


def is_file(path: Path) -> bool:
    """``path.is_file()``, False (not an exception) for a path that cannot name a file or
    cannot be looked up."""
    if path_problem(path) is not None:
        return False
    try:
        return path.is_file()
    except OSError:
        return False
