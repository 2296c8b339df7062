"""Both inventory formats refuse special files, deep nesting and bad core-tag values with a
located error, without blocking (issue 16, classes 5 and 7)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opsrunner.errors import InventoryError
from opsrunner.inventory.ansible import load_ansible
from opsrunner.inventory.simple import load_simple
from tests.unit.deadline import deadline

BAD_TAGS = [
    ("!!int x", "'x' is not an integer (!!int)"),
    ("!!bool maybe", "'maybe' is not a boolean (!!bool takes: true, false, yes, no, on, off)"),
    ("!!timestamp soon", "soon is not a date; expected YYYY-MM-DD (or a date and time)"),
    ("!!float x", "'x' is not a number (!!float)"),
]
TOO_DEEP = "lists and mappings nested more than 100 levels deep (the limit is 100)"


def simple(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "inv"
    folder.mkdir()
    for name, text in files.items():
        (folder / f"{name}.yaml").write_text(text)
    return folder


def simple_error(folder: Path) -> str:
    with deadline(), pytest.raises(InventoryError) as caught:
        load_simple(folder)
    return str(caught.value)


def ansible_error(file: Path) -> str:
    with deadline(), pytest.raises(InventoryError) as caught:
        load_ansible(file)
    return str(caught.value)


def test_simple_a_fifo_defaults_yaml_is_refused(tmp_path: Path) -> None:
    folder = simple(tmp_path, hosts="h1: {hostname: localhost}\n")
    os.mkfifo(folder / "defaults.yaml")
    assert simple_error(folder) == (f"{folder / 'defaults.yaml'}: inventory file is not a "
                                    "regular file (a FIFO)")


def test_simple_a_fifo_password_file_is_refused(tmp_path: Path) -> None:
    folder = simple(tmp_path, hosts="h1:\n  password_file: pw\n")
    os.mkfifo(folder / "pw")
    assert simple_error(folder) == (f"{folder / 'hosts.yaml'}:2:18: host 'h1', field "
                                    f"'password_file': secret file {folder / 'pw'} is not a "
                                    "regular file (a FIFO)")


def test_simple_deep_nesting_is_located(tmp_path: Path) -> None:
    folder = simple(tmp_path, hosts="h1:\n  data:\n    x: " + "[" * 500 + "]" * 500 + "\n")
    assert simple_error(folder) == f"{folder / 'hosts.yaml'}:3:105: {TOO_DEEP}"


@pytest.mark.parametrize(("value", "problem"), BAD_TAGS)
def test_simple_a_bad_core_tag_value_is_located(tmp_path: Path, value: str,
                                                problem: str) -> None:
    folder = simple(tmp_path, defaults=f"port: {value}\n", hosts="h1:\n")
    assert simple_error(folder) == f"{folder / 'defaults.yaml'}:1:7: {problem}"


def test_ansible_deep_nesting_is_located(tmp_path: Path) -> None:
    file = tmp_path / "hosts.yml"
    file.write_text("all:\n  hosts:\n    h1: {x: " + "[" * 500 + "]" * 500 + "}\n")
    assert ansible_error(file) == f"{file}:3:109: {TOO_DEEP}"


@pytest.mark.parametrize(("value", "problem"), BAD_TAGS)
def test_ansible_a_bad_core_tag_value_is_located(tmp_path: Path, value: str,
                                                 problem: str) -> None:
    file = tmp_path / "hosts.yml"
    file.write_text(f"all:\n  hosts:\n    h1:\n      ansible_port: {value}\n")
    assert ansible_error(file) == f"{file}:4:21: {problem}"


def test_ansible_a_fifo_password_file_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pw")
    file = tmp_path / "hosts.yml"
    file.write_text("all:\n  hosts:\n    h1:\n      ansible_password: {secret_file: pw}\n")
    assert ansible_error(file) == (f"{file}:4:25: host 'h1', variable 'ansible_password': "
                                   f"secret file {tmp_path / 'pw'} is not a regular file "
                                   "(a FIFO)")
