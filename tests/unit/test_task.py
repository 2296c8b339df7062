"""Task.fetch: a host's file copied to the control node, in chunks, complete or not at all."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from opsrunner import Host, HostConnectionError, Task
from opsrunner.connection import FETCH_CHUNK, ByteSink
from opsrunner.connection.local import LocalConnection


def _task(connection: Any) -> Task:
    return Task(Host(name="h", hostname="localhost", connection="local"), lambda: connection)


def test_fetch_copies_size_and_sha256_into_a_private_file(tmp_path: Path) -> None:
    source = tmp_path / "big.backup"
    data = os.urandom(FETCH_CHUNK * 3 + 7)
    source.write_bytes(data)
    target = tmp_path / "fetched" / "h" / "big.backup"
    size, sha256 = _task(LocalConnection()).fetch(str(source), target)
    assert (size, sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert target.read_bytes() == data
    assert target.stat().st_mode & 0o777 == 0o600
    assert os.listdir(target.parent) == ["big.backup"]


def test_a_missing_file_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out" / "x.backup"
    with pytest.raises(FileNotFoundError):
        _task(LocalConnection()).fetch(str(tmp_path / "missing"), target)
    assert os.listdir(target.parent) == []


class _DropsHalfWay:
    """A connection that loses the host after the first chunk."""

    def fetch(self, path: str, out: ByteSink, *, sudo: bool = False) -> None:
        out.write(b"x" * 100)
        raise HostConnectionError("h: connection lost during a file transfer")


def test_a_copy_broken_half_way_leaves_no_partial_file_and_keeps_an_older_one(
        tmp_path: Path) -> None:
    target = tmp_path / "x.backup"
    target.write_bytes(b"older copy")
    with pytest.raises(HostConnectionError):
        _task(_DropsHalfWay()).fetch("/var/lib/x.backup", target)
    assert os.listdir(tmp_path) == ["x.backup"] and target.read_bytes() == b"older copy"


class _GetOnly:
    """A connection plugin written before ``fetch`` existed."""

    def get(self, path: str, *, sudo: bool = False) -> bytes:
        return b"whole file"


def test_a_connection_without_fetch_falls_back_to_get(tmp_path: Path) -> None:
    size, sha256 = _task(_GetOnly()).fetch("/f", tmp_path / "f")
    assert (size, sha256) == (10, hashlib.sha256(b"whole file").hexdigest())
