"""Loading and describing an inventory is linear in its hosts, each with its own secret
(counted in lines run, the regular-expression compiler's included; not timed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner.inventory.ansible import load_ansible
from opsrunner.inventory.simple import load_simple
from tests.unit.opcount import growth, lines_run

WATCHED = ("opsrunner/", "/re/")


def test_ansible_inventory_with_a_secret_per_host_is_linear(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def count(hosts: int) -> int:
        for i in range(hosts):
            monkeypatch.setenv(f"OPS_TEST_PW_{i}", f"password-{i:05d}")
        body = "".join(f"        h{i}: {{ansible_password: {{secret_env: OPS_TEST_PW_{i}}}}}\n"
                       for i in range(hosts))
        file = tmp_path / f"inv{hosts}.yml"
        file.write_text(f"all:\n  children:\n    g:\n      vars: {{v: 1}}\n      hosts:\n{body}")

        def load_and_describe() -> None:
            inventory = load_ansible(file)
            assert inventory is not None
            inventory.describe(inventory.select("all"))

        return lines_run(load_and_describe, under=WATCHED)

    assert growth(count, 150) < 2.3


def test_simple_inventory_with_a_secret_per_host_is_linear(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def count(hosts: int) -> int:
        folder = tmp_path / f"inv{hosts}"
        folder.mkdir()
        for i in range(hosts):
            monkeypatch.setenv(f"OPS_TEST_PW_{i}", f"password-{i:05d}")
        (folder / "groups.yaml").write_text("g: {groups: [top]}\ntop: {}\n")
        (folder / "hosts.yaml").write_text("".join(
            f"h{i}: {{groups: [g], password_env: OPS_TEST_PW_{i}, data: {{n: {i}}}}}\n"
            for i in range(hosts)))

        def load_and_describe() -> None:
            inventory = load_simple(folder)
            assert inventory is not None
            inventory.describe(inventory.select("g & !h1"))

        return lines_run(load_and_describe, under=WATCHED)

    assert growth(count, 150) < 2.3
