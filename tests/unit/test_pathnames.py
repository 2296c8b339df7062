"""What cannot name a file is said before the filesystem is asked (no OSError)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner.errors import InventoryError, UsageError
from opsrunner.inventory import load_inventory
from opsrunner.pathnames import is_file, path_problem
from opsrunner.registry import Registry
from opsrunner.secrets import read_secret


@pytest.mark.parametrize(("path", "problem"), [
    ("a" * 256, "has a name of 256 bytes (names are limited to 255 bytes)"),
    ("/x/" + "é" * 128, "has a name of 256 bytes (names are limited to 255 bytes)"),
    ("/a" * 2048, "is 4096 bytes long (paths are limited to 4095 bytes)"),
    ("a\0b", "has a NUL character"),
    ("\ud800", "is not valid text for a file name"),
])
def test_problems(path: str, problem: str) -> None:
    assert path_problem(path) == problem
    assert is_file(Path(path)) is False


def test_fine_paths(tmp_path: Path) -> None:
    file = tmp_path / ("a" * 255)
    file.write_text("x")
    assert path_problem(file) is None
    assert is_file(file)
    assert not is_file(tmp_path / "missing")


def test_an_inventory_path_that_cannot_name_a_file_is_a_usage_error() -> None:
    with pytest.raises(InventoryError) as caught:
        load_inventory("i" * 300, Registry())
    assert str(caught.value).startswith(f"inventory '{'i' * 57}...' has a name of 300 bytes "
                                        f"(names are limited to 255 bytes); expected a folder")


@pytest.mark.parametrize(("path", "problem"), [
    ("a\0b", "secret file 'a\\x00b' has a NUL character"),
    ("~no_such_user_xyz/pw", "secret file '~no_such_user_xyz/pw': its home folder is unknown"),
    ("p" * 300, "has a name of 300 bytes"),
])
def test_a_secret_file_that_cannot_be_named_is_a_usage_error(path: str, problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        read_secret({"secret_file": path}, Path("/"), "w")
    assert str(caught.value).startswith("w: ") and problem in str(caught.value)
