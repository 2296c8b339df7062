from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from opsrunner.errors import InventoryError
from opsrunner.host import Host
from opsrunner.inventory import Group, Inventory
from opsrunner.inventory.ansible import load_ansible
from opsrunner.secrets import MASK

ESTATE = """\
all:
  vars:
    ansible_user: root
    level: all
    ntp: pool.ntp.org
  hosts:
    engine:
      ansible_host: 192.0.2.10
      ansible_connection: local
  children:
    kvm:
      vars:
        level: kvm
        ansible_port: 2200
        ansible_ssh_private_key_file: keys/kvm
      children:
        kvm_rack1:
          vars: {level: rack1, rack: 1}
          hosts:
            kvm01: {ansible_port: "2222"}
            kvm02:
    db:
      vars: {level: db}
      hosts:
        kvm02:
          ansible_become: true
          ansible_become_password: {secret_env: OPS_TEST_BECOME}
          dsn: "host=db password=become-pass-1"
"""


def write(folder: Path, text: str, name: str = "hosts.yml") -> Path:
    file = folder / name
    file.write_text(textwrap.dedent(text))
    return file


def load(file: Path) -> Inventory:
    inventory = load_ansible(file)
    assert inventory is not None
    return inventory


def error(file: Path) -> str:
    with pytest.raises(InventoryError) as caught:
        load_ansible(file)
    return str(caught.value)


@pytest.fixture
def estate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Inventory:
    monkeypatch.setenv("OPS_TEST_BECOME", "become-pass-1")
    return load(write(tmp_path, ESTATE))


class TestMapping:
    def test_connection_variables_become_fields(self, estate: Inventory, tmp_path: Path) -> None:
        assert estate.hosts["engine"] == Host(
            name="engine", hostname="192.0.2.10", username="root", connection="local",
            groups=("all",), data={"level": "all", "ntp": "pool.ntp.org"})
        kvm01 = estate.hosts["kvm01"]
        assert (kvm01.hostname, kvm01.port, kvm01.username) == ("kvm01", 2222, "root")
        assert kvm01.ssh_key == str(tmp_path / "keys" / "kvm")
        assert (kvm01.sudo, kvm01.connection, kvm01.password) == (False, "ssh", None)

    def test_precedence_all_parent_child_host(self, estate: Inventory) -> None:
        assert estate.hosts["kvm01"].data == {"level": "rack1", "ntp": "pool.ntp.org", "rack": 1}
        kvm02 = estate.hosts["kvm02"]
        # kvm02 is in kvm_rack1 (depth 2) and db (depth 1): the deeper group wins
        assert kvm02.data["level"] == "rack1"
        assert kvm02.port == 2200
        assert (kvm02.sudo, kvm02.sudo_password) == (True, "become-pass-1")

    def test_same_depth_groups_merge_by_name(self, tmp_path: Path) -> None:
        file = write(tmp_path, """\
            all:
              children:
                zz: {vars: {v: zz}, hosts: {h: }}
                aa: {vars: {v: aa}, hosts: {h: }}
            """)
        host = load(file).hosts["h"]
        assert host.data == {"v": "zz"}
        assert host.groups == ("zz", "aa")

    def test_host_vars_win(self, tmp_path: Path) -> None:
        file = write(tmp_path, "all:\n  vars: {v: all}\n  children:\n"
                               "    g: {vars: {v: g}, hosts: {h: {v: host}}}\n")
        assert load(file).hosts["h"].data == {"v": "host"}

    def test_groups_hosts_and_order(self, estate: Inventory) -> None:
        assert list(estate.hosts) == ["engine", "kvm01", "kvm02"]
        assert estate.hosts["kvm02"].groups == ("kvm_rack1", "db")
        assert estate.groups == {"all": Group("all"), "kvm": Group("kvm", ("all",)),
                                 "kvm_rack1": Group("kvm_rack1", ("kvm",)),
                                 "db": Group("db", ("all",))}

    def test_select_by_ancestor_group(self, estate: Inventory) -> None:
        assert [h.name for h in estate.select("kvm")] == ["kvm01", "kvm02"]
        assert [h.name for h in estate.select("kvm & !db")] == ["kvm01"]
        assert [h.name for h in estate.select("all")] == ["engine", "kvm01", "kvm02"]

    def test_describe_hides_the_become_password(self, estate: Inventory) -> None:
        described = estate.describe(estate.select("db"))["kvm02"]
        assert described["sudo_password"] == MASK
        assert described["vars"]["dsn"] == f"host=db password={MASK}"
        assert "become-pass-1" not in repr(described)
        assert estate.secrets == {"become-pass-1"}

    def test_top_level_groups_without_all(self, tmp_path: Path) -> None:
        file = write(tmp_path, """\
            ungrouped:
              hosts:
                lonely:
            kvm:
              vars: {x: 1}
              hosts:
                kvm01:
            """, name="inv.yaml")
        inventory = load(file)
        assert list(inventory.hosts) == ["lonely", "kvm01"]
        assert inventory.hosts["kvm01"].data == {"x": 1}
        assert inventory.groups["kvm"] == Group("kvm", ())

    def test_group_written_twice_merges(self, tmp_path: Path) -> None:
        file = write(tmp_path, """\
            all:
              children:
                kvm:
                  hosts: {k1: }
                  children: {rack: {hosts: {k2: }}}
                prod:
                  children:
                    rack:
                      vars: {site: east}
            """)
        inventory = load(file)
        assert inventory.groups["rack"] == Group("rack", ("kvm", "prod"))
        assert inventory.hosts["k2"].data == {"site": "east"}
        assert [h.name for h in inventory.select("prod")] == ["k2"]

    @pytest.mark.parametrize(("value", "expected"),
                             [("smart", "ssh"), ("paramiko", "ssh"), ("ssh", "ssh")])
    def test_connection_aliases(self, tmp_path: Path, value: str, expected: str) -> None:
        file = write(tmp_path, f"all:\n  hosts:\n    h: {{ansible_connection: {value}}}\n")
        assert load(file).hosts["h"].connection == expected


class TestRecognition:
    def test_other_yaml_files_are_not_inventories(self, tmp_path: Path) -> None:
        assert load_ansible(write(tmp_path, "steps:\n  - name: x\n", "wf.yml")) is None
        assert load_ansible(write(tmp_path, "", "empty.yml")) is None
        assert load_ansible(write(tmp_path, "kvm: {vars: {a: 1}}\n", "novars.yml")) is None
        assert load_ansible(write(tmp_path, "all:\n", "inv.ini")) is None
        assert load_ansible(tmp_path) is None
        assert load_ansible(tmp_path / "missing.yml") is None

    def test_empty_all_is_an_empty_inventory(self, tmp_path: Path) -> None:
        assert load(write(tmp_path, "all:\n")).hosts == {}


class TestErrors:
    def test_literal_password_refused(self, tmp_path: Path) -> None:
        file = write(tmp_path, "all:\n  vars:\n    ansible_password: hunter2\n")
        message = error(file)
        assert message == (f"{file}:3:5: group 'all', variable 'ansible_password': secrets are "
                           "not kept in the inventory; use {secret_env: NAME} or "
                           "{secret_file: PATH}")
        assert "hunter2" not in message

    def test_literal_become_password_refused_on_host(self, tmp_path: Path) -> None:
        file = write(tmp_path, "all:\n  hosts:\n    h:\n      ansible_become_password: x\n")
        assert error(file).startswith(f"{file}:4:7: host 'h', variable 'ansible_become_password'"
                                      ": secrets are not kept in the inventory")

    def test_world_readable_secret_file(self, tmp_path: Path) -> None:
        (tmp_path / "pw").write_text("p")
        (tmp_path / "pw").chmod(0o644)
        file = write(tmp_path, "all:\n  vars:\n    ansible_password: {secret_file: pw}\n")
        assert error(file) == (f"{file}:3:23: group 'all', variable 'ansible_password': secret "
                               f"file {tmp_path / 'pw'} is readable by others (mode 0644); run: "
                               f"chmod o-r {tmp_path / 'pw'}")

    def test_unknown_group_key(self, tmp_path: Path) -> None:
        file = write(tmp_path, "all:\n  children:\n    kvm:\n      host: {a: }\n")
        assert error(file) == (f"{file}:4:7: group 'kvm': unknown key 'host'; did you mean "
                               "'hosts'? (allowed: children, hosts, vars)")

    @pytest.mark.parametrize(("var", "value", "column", "problem"), [
        ("ansible_port", "abc", 23, "must be a port number (an integer 1-65535), got str 'abc'"),
        ("ansible_become", "maybe", 25, "must be true or false, got str 'maybe'"),
        ("ansible_connection", "winrm", 29,
         "must be one of ssh, smart, paramiko, local (smart and paramiko mean ssh), got str 'winrm'"),
        ("ansible_host", "[]", 23, "must be a non-empty string, got a list"),
    ])
    def test_wrong_values(self, tmp_path: Path, var: str, value: str, column: int,
                          problem: str) -> None:
        file = write(tmp_path, f"all:\n  hosts:\n    h: {{{var}: {value}}}\n")
        assert error(file) == f"{file}:3:{column}: host 'h', variable {var!r}: {problem}"

    def test_hosts_must_be_a_mapping(self, tmp_path: Path) -> None:
        file = write(tmp_path, "all:\n  hosts: [a, b]\n")
        assert error(file) == (f"{file}:2:10: group 'all', hosts: must be a mapping, "
                               "got a list")

    def test_group_cycle(self, tmp_path: Path) -> None:
        file = write(tmp_path, """\
            all:
              children:
                a: {children: {b: }}
                b: {children: {a: }}
            """)
        assert error(file) == f"{file}:3:20: group 'b': groups form a cycle: a -> b -> a"

    def test_invalid_yaml(self, tmp_path: Path) -> None:
        file = write(tmp_path, "all:\n  hosts: {a: \n")
        assert error(file).startswith(f"{file}:3:1: YAML syntax error: ")

    def test_missing_secret_env(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("OPS_TEST_NOPE", raising=False)
        file = write(tmp_path, "all:\n  vars:\n    token: {secret_env: OPS_TEST_NOPE}\n")
        assert error(file) == (f"{file}:3:12: group 'all', variable 'token': environment "
                               "variable OPS_TEST_NOPE is not set")
