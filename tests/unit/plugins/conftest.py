"""Shared fixtures for the first-party plugin tests: tasks on a local sysroot in tmp_path."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from opsrunner import Host, Task
from opsrunner.connection.local import LocalConnection

MakeTask = Callable[..., Task]


@pytest.fixture
def make_task(tmp_path: Path) -> MakeTask:
    """``make_task(check=False, vars=None)``: a Task for a local host whose sysroot is tmp_path."""

    def make(check: bool = False, vars: dict[str, Any] | None = None) -> Task:
        host = Host(name="h", hostname="localhost", connection="local",
                    data={"sysroot": str(tmp_path)})
        return Task(host, lambda: LocalConnection(), check=check, vars=vars or {})

    return make


Snapshot = dict[str, tuple[int, int, int, str]]


@pytest.fixture
def snapshot() -> Callable[[Path], Snapshot]:
    """``snapshot(root)``: every path under root with mode, uid, gid and content hash."""
    return take_snapshot


def take_snapshot(root: Path) -> Snapshot:
    """Every path under ``root`` with its mode, uid, gid and content hash (or link target)."""
    out: Snapshot = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        if path.is_symlink():
            digest = "->" + str(path.readlink())
        elif path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            digest = ""
        out[str(path.relative_to(root))] = (st.st_mode, st.st_uid, st.st_gid, digest)
    return out
