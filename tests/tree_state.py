"""A file tree's state for before/after comparisons, shared by the unit and lab suites
(``tests`` is on pytest's ``pythonpath``)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

Entry = tuple[int, int, int, bytes | str | None]


def tree_state(root: Path) -> dict[str, Entry]:
    """Every entry of ``root`` (itself included): (st_mode, uid, gid, content or link target);
    equal states mean nothing under ``root`` changed."""
    state: dict[str, Entry] = {}
    for path in [root, *sorted(root.rglob("*"))]:
        info = path.lstat()
        content: bytes | str | None = None
        if stat.S_ISREG(info.st_mode):
            content = path.read_bytes()
        elif stat.S_ISLNK(info.st_mode):
            content = os.readlink(path)
        state[path.relative_to(root).as_posix()] = (info.st_mode, info.st_uid, info.st_gid,
                                                    content)
    return state
