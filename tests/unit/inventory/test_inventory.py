from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner import builtins
from opsrunner.errors import InventoryError, UsageError
from opsrunner.host import Host
from opsrunner.inventory import Group, Inventory, group_lineage, load_inventory
from opsrunner.registry import Registry
from opsrunner.secrets import MASK


@pytest.fixture
def registry() -> Registry:
    registry = Registry()
    builtins.opsrunner_register_connections(registry)
    builtins.opsrunner_register_inventory_sources(registry)
    return registry


def make_inventory() -> Inventory:
    groups = {"kvm": Group("kvm"), "kvm_rack1": Group("kvm_rack1", ("kvm",)),
              "db": Group("db")}
    hosts = [Host("engine", "192.0.2.1", password="pw-engine-1", data={"role": "engine"}),
             Host("kvm01", "192.0.2.2", groups=("kvm_rack1",)),
             Host("kvm02", "192.0.2.3", groups=("kvm_rack1", "db"), sudo=True,
                  sudo_password="sudo-pw-2",
                  data={"url": "https://admin:pw-engine-1@engine/", "list": ["sudo-pw-2", 3]})]
    return Inventory({h.name: h for h in hosts}, groups,
                     frozenset({"pw-engine-1", "sudo-pw-2"}), "test")


class TestGroupLineage:
    def test_depth_first_each_once(self) -> None:
        groups = {"a": Group("a", ("pa",)), "pa": Group("pa", ("root",)),
                  "b": Group("b", ("pa", "pb")), "pb": Group("pb"), "root": Group("root")}
        assert group_lineage(groups, ["a", "b"]) == ["a", "pa", "root", "b", "pb"]

    def test_unknown_names_kept_and_cycles_cut(self) -> None:
        groups = {"a": Group("a", ("b",)), "b": Group("b", ("a",))}
        assert group_lineage(groups, ["x", "a"]) == ["x", "a", "b"]


class TestSelect:
    def test_none_and_all_select_everything(self) -> None:
        inventory = make_inventory()
        assert inventory.select(None) == list(inventory.hosts.values())
        assert inventory.select(" all ") == list(inventory.hosts.values())

    def test_ancestor_groups_match(self) -> None:
        inventory = make_inventory()
        assert [h.name for h in inventory.select("kvm")] == ["kvm01", "kvm02"]
        assert inventory.member_of(inventory.hosts["kvm02"]) == ["kvm_rack1", "kvm", "db"]

    def test_expression(self) -> None:
        inventory = make_inventory()
        assert [h.name for h in inventory.select("!db & (kvm* | engine)")] == ["engine", "kvm01"]

    def test_unknown_name(self) -> None:
        with pytest.raises(UsageError, match=r"column 1: no host or group is called 'kvn'; "
                                             r"did you mean 'kvm'\?"):
            make_inventory().select("kvn")


class TestDescribe:
    def test_fields_and_vars_with_secrets_masked(self) -> None:
        inventory = make_inventory()
        described = inventory.describe(inventory.select("engine | db"))
        assert list(described) == ["engine", "kvm02"]
        assert described["engine"] == {
            "hostname": "192.0.2.1", "port": 22, "username": None, "connection": "ssh",
            "ssh_key": None, "known_hosts": None, "password": MASK, "sudo": False,
            "sudo_password": None, "groups": [], "vars": {"role": "engine"}}
        assert described["kvm02"]["sudo_password"] == MASK
        assert described["kvm02"]["vars"] == {"url": f"https://admin:{MASK}@engine/",
                                              "list": [MASK, 3]}
        assert "pw-engine-1" not in repr(described)
        assert "sudo-pw-2" not in repr(described)

    def test_host_data_is_not_changed(self) -> None:
        inventory = make_inventory()
        inventory.describe(inventory.hosts.values())
        assert inventory.hosts["kvm02"].data["list"] == ["sudo-pw-2", 3]

    def test_redactor_knows_the_secrets(self) -> None:
        assert make_inventory().redactor().text("x sudo-pw-2") == f"x {MASK}"


class TestLoadInventory:
    def test_simple_folder(self, tmp_path: Path, registry: Registry) -> None:
        (tmp_path / "hosts.yaml").write_text("web1: {port: 2222}\n")
        inventory = load_inventory(tmp_path, registry)
        assert inventory.hosts["web1"].port == 2222
        assert inventory.source == str(tmp_path)

    def test_ansible_file(self, tmp_path: Path, registry: Registry) -> None:
        file = tmp_path / "prod.yml"
        file.write_text("all:\n  hosts:\n    web1: {ansible_port: 2200}\n")
        inventory = load_inventory(str(file), registry)
        assert inventory.hosts["web1"].port == 2200
        assert inventory.source == str(file)

    def test_missing_path(self, tmp_path: Path, registry: Registry) -> None:
        with pytest.raises(InventoryError) as caught:
            load_inventory(tmp_path / "nope", registry)
        assert str(caught.value) == (
            f"inventory {str(tmp_path / 'nope')!r} does not exist; expected a folder with "
            "hosts.yaml (and optional groups.yaml, defaults.yaml), or an Ansible YAML inventory "
            "file (.yml/.yaml) with a top-level 'all:'")

    def test_unknown_format(self, tmp_path: Path, registry: Registry) -> None:
        (tmp_path / "hosts.ini").write_text("[web]\nweb1\n")
        with pytest.raises(InventoryError) as caught:
            load_inventory(tmp_path / "hosts.ini", registry)
        message = str(caught.value)
        assert message.startswith(f"{str(tmp_path / 'hosts.ini')!r} is not an inventory "
                                  "opsrunner can read; expected a folder with hosts.yaml")
        assert message.endswith("(inventory sources: simple, ansible)")

    def test_folder_without_hosts_yaml(self, tmp_path: Path, registry: Registry) -> None:
        with pytest.raises(InventoryError, match="is not an inventory opsrunner can read"):
            load_inventory(tmp_path, registry)

    def test_sources_tried_in_registration_order(self, tmp_path: Path) -> None:
        registry = Registry()
        calls: list[str] = []

        def declines(path: Path) -> Inventory | None:
            calls.append("declines")
            return None

        def accepts(path: Path) -> Inventory | None:
            calls.append("accepts")
            return Inventory({}, source=str(path))

        def never(path: Path) -> Inventory | None:
            raise AssertionError("not reached")

        for name, loader in (("a", declines), ("b", accepts), ("c", never)):
            registry.add_inventory_source(name, loader)
        assert load_inventory(tmp_path, registry).source == str(tmp_path)
        assert calls == ["declines", "accepts"]

    def test_unknown_connection_type(self, tmp_path: Path, registry: Registry) -> None:
        (tmp_path / "hosts.yaml").write_text("web1: {connection: sshh}\n")
        with pytest.raises(InventoryError) as caught:
            load_inventory(tmp_path, registry)
        assert str(caught.value) == (f"{tmp_path}: host 'web1': unknown connection type 'sshh'; "
                                     "did you mean 'ssh'? (known: local, ssh)")
