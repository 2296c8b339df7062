"""Reading user-named files: regular files only, never blocking, at most a size limit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opsrunner.errors import FileRefused, OpsrunnerError
from opsrunner.regularfile import KiB, MiB, read_regular_file
from tests.unit.deadline import deadline


def refusal(path: Path | str, limit: int = MiB, what: str = "workflow") -> str:
    with deadline(), pytest.raises(FileRefused) as caught:
        read_regular_file(path, what=what, limit=limit)
    return str(caught.value)


def test_a_regular_file_is_read_whole_with_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "w.yml"
    path.write_bytes(b"name: x\n")
    path.chmod(0o640)
    contents = read_regular_file(path, what="workflow", limit=8)
    assert contents.data == b"name: x\n"
    assert contents.mode & 0o777 == 0o640


def test_a_symlink_to_a_regular_file_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real").write_bytes(b"k")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert read_regular_file(tmp_path / "link", what="ssh key", limit=1).data == b"k"


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yml"
    os.mkfifo(fifo)  # nobody writes: opening it for reading would block for ever
    assert refusal(fifo) == f"workflow {fifo} is not a regular file (a FIFO)"


def test_a_symlink_to_a_fifo_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "link").symlink_to(tmp_path / "pipe")
    assert refusal(tmp_path / "link", what="secret file").endswith(
        "is not a regular file (a FIFO)")


@pytest.mark.parametrize(("path", "kind"), [("/dev/zero", "a character device"),
                                            ("/dev/null", "a character device")])
def test_a_device_is_refused(path: str, kind: str) -> None:
    assert refusal(path) == f"workflow {path} is not a regular file ({kind})"


def test_a_folder_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path, what="known_hosts file") == (
        f"known_hosts file {tmp_path} is not a regular file (a folder)")


def test_a_file_over_the_limit_is_refused_with_its_size_and_the_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.yml"
    with big.open("wb") as fh:
        fh.truncate(50 * MiB + 100 * KiB)  # sparse: no 50 MiB written to the disk
    assert refusal(big, limit=8 * MiB) == (
        f"workflow {big} is 50.1 MiB; workflows are limited to 8 MiB")


def test_a_file_of_exactly_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_bytes(b"x" * 64 * KiB)
    assert len(read_regular_file(path, what="ssh key", limit=64 * KiB).data) == 64 * KiB
    path.write_bytes(b"x" * (64 * KiB + 1))
    assert refusal(path, limit=64 * KiB, what="ssh key") == (
        f"ssh key {path} is 64.0 KiB; ssh keys are limited to 64 KiB")


def test_a_file_whose_size_is_not_known_in_advance_is_still_bounded() -> None:
    # /proc files report st_size 0 and are regular files: the read itself stops at the limit.
    message = refusal("/proc/self/maps", limit=16, what="secret file")
    assert message == ("secret file /proc/self/maps is larger than 16 bytes; secret files are "
                       "limited to 16 bytes")


def test_a_missing_or_unreadable_file_raises_the_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_regular_file(tmp_path / "nope", what="workflow", limit=1)


def test_the_refusal_is_an_opsrunner_error_with_its_parts(tmp_path: Path) -> None:
    with pytest.raises(FileRefused) as caught:
        read_regular_file("/dev/null", what="inventory file", limit=1)
    assert isinstance(caught.value, OpsrunnerError)
    assert (caught.value.what, caught.value.path, caught.value.reason) == (
        "inventory file", "/dev/null", "is not a regular file (a character device)")
