"""The ssh_server_alive_interval / ssh_server_alive_count_max connection fields (both
inventory formats): on by default (15 s x 3), set per host or group, checked."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from opsrunner.errors import InventoryError
from opsrunner.inventory.ansible import load_ansible
from opsrunner.inventory.simple import load_simple


def _simple(folder: Path, hosts: str, defaults: str = "") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "hosts.yaml").write_text(textwrap.dedent(hosts))
    (folder / "defaults.yaml").write_text(textwrap.dedent(defaults))
    return folder


def test_simple_inventory_defaults_and_overrides(tmp_path: Path) -> None:
    folder = _simple(tmp_path, """
        a: {}
        b: {ssh_server_alive_interval: 0}
        c: {ssh_server_alive_interval: 2.5, ssh_server_alive_count_max: 1}
    """, "ssh_server_alive_count_max: 5\n")
    inventory = load_simple(folder)
    assert inventory is not None
    got = {name: (h.ssh_server_alive_interval, h.ssh_server_alive_count_max)
           for name, h in inventory.hosts.items()}
    assert got == {"a": (15.0, 5), "b": (0.0, 5), "c": (2.5, 1)}
    bare = load_simple(_simple(tmp_path / "bare", "x: {}\n"))
    assert bare is not None
    host = bare.hosts["x"]
    assert (host.ssh_server_alive_interval, host.ssh_server_alive_count_max) == (15.0, 3)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("ssh_server_alive_interval", "-1", "must be a number of seconds (0 or more), got int -1"),
    ("ssh_server_alive_interval", "fast", "must be a number of seconds (0 or more), got str"),
    ("ssh_server_alive_interval", "true", "must be a number of seconds"),
    ("ssh_server_alive_count_max", "0", "must be a whole number (1 or more), got int 0"),
    ("ssh_server_alive_count_max", "1.5", "must be a whole number (1 or more), got float 1.5"),
])
def test_simple_inventory_refuses_bad_values(tmp_path: Path, field: str, value: str,
                                             message: str) -> None:
    folder = _simple(tmp_path, f"a:\n  {field}: {value}\n")
    with pytest.raises(InventoryError) as caught:
        load_simple(folder)
    assert str(caught.value).startswith(f"{folder / 'hosts.yaml'}:2:")
    assert f"host 'a', field '{field}': {message}" in str(caught.value)


def test_ansible_inventory_maps_the_ansible_ssh_names(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text(textwrap.dedent("""
        all:
          vars: {ansible_ssh_server_alive_interval: 5}
          hosts:
            a: {ansible_ssh_server_alive_count_max: 2}
            b: {}
    """))
    inventory = load_ansible(path)
    assert inventory is not None
    a, b = inventory.hosts["a"], inventory.hosts["b"]
    assert (a.ssh_server_alive_interval, a.ssh_server_alive_count_max) == (5.0, 2)
    assert (b.ssh_server_alive_interval, b.ssh_server_alive_count_max) == (5.0, 3)
    assert "ansible_ssh_server_alive_interval" not in a.data
    path.write_text("all:\n  hosts:\n    a: {ansible_ssh_server_alive_count_max: -3}\n")
    with pytest.raises(InventoryError, match="must be a whole number"):
        load_ansible(path)
