from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from opsrunner.errors import InventoryError
from opsrunner.host import Host
from opsrunner.inventory import Group, Inventory
from opsrunner.inventory.simple import load_simple
from opsrunner.secrets import MASK


def write(folder: Path, **files: str) -> Path:
    """Write ``hosts=...``, ``groups=...``, ``defaults=...`` as ``<name>.yaml``."""
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.yaml").write_text(textwrap.dedent(text))
    return folder


def load(folder: Path) -> Inventory:
    inventory = load_simple(folder)
    assert inventory is not None
    return inventory


def error(folder: Path) -> str:
    with pytest.raises(InventoryError) as caught:
        load_simple(folder)
    return str(caught.value)


def at(folder: Path, file: str, line: int, column: int) -> str:
    return f"{folder / file}:{line}:{column}"


LAYERED_GROUPS = """\
g1:
  groups: [p1]
  port: 2201
  data: {b: g1}
p1:
  groups: [gp1]
  port: 2202
  username: p1user
  data: {b: p1, c: p1}
gp1:
  username: gp1user
  connection: local
  data: {b: gp1, c: gp1, d: gp1}
g2:
  groups: [p2]
  username: g2user
  connection: ssh
  sudo: true
  data: {b: g2, c: g2, d: g2, e: g2, nested: {from: g2}}
p2:
  data: {b: p2, c: p2, d: p2, e: p2, f: p2, only_p2: yes}
"""


class TestInheritance:
    def test_lookup_order_host_groups_parents_depth_first_defaults(self, tmp_path: Path) -> None:
        folder = write(tmp_path / "inv", groups=LAYERED_GROUPS, hosts="""\
            h1:
              groups: [g1, g2]
              data: {a: host, b: host, c: host, d: host, e: host, f: host}
            """, defaults="""\
            port: 2299
            username: defuser
            sudo: false
            data: {a: d, b: d, c: d, d: d, e: d, f: d, g: d}
            """)
        host = load(folder).hosts["h1"]
        # order: h1, g1, p1, gp1, g2, p2, defaults
        assert host.data == {"a": "host", "b": "host", "c": "host", "d": "host", "e": "host",
                             "f": "host", "g": "d", "nested": {"from": "g2"}, "only_p2": True}
        assert host.port == 2201          # g1 before p1 and defaults
        assert host.username == "p1user"  # parent of the first group before the second group
        assert host.connection == "local"  # grandparent of the first group before the second
        assert host.sudo is True          # second group before defaults
        assert host.groups == ("g1", "g2")

    def test_each_data_key_resolved_separately(self, tmp_path: Path) -> None:
        folder = write(tmp_path / "inv", groups=LAYERED_GROUPS, hosts="""\
            h1:
              groups: [g1, g2]
              data: {a: host}
            """, defaults="data: {a: d, b: d, c: d, d: d, e: d, f: d, g: d}\n")
        assert load(folder).hosts["h1"].data == {
            "a": "host", "b": "g1", "c": "p1", "d": "gp1", "e": "g2", "f": "p2", "g": "d",
            "nested": {"from": "g2"}, "only_p2": True}

    def test_second_group_and_its_parent(self, tmp_path: Path) -> None:
        folder = write(tmp_path / "inv", groups=LAYERED_GROUPS, hosts="h2: {groups: [g2]}\n")
        host = load(folder).hosts["h2"]
        assert host.data == {"b": "g2", "c": "g2", "d": "g2", "e": "g2", "f": "p2",
                             "nested": {"from": "g2"}, "only_p2": True}
        assert (host.username, host.connection, host.port) == ("g2user", "ssh", 22)

    def test_host_without_fields_gets_defaults(self, tmp_path: Path) -> None:
        folder = write(tmp_path / "inv", hosts="bare:\n", defaults="username: admin\n")
        assert load(folder).hosts["bare"] == Host(name="bare", hostname="bare", username="admin")

    def test_hosts_keep_file_order_and_groups_have_parents(self, tmp_path: Path) -> None:
        folder = write(tmp_path / "inv", groups=LAYERED_GROUPS,
                       hosts="zeta: {groups: [g2]}\nalpha: {groups: [g1]}\nmid:\n")
        inventory = load(folder)
        assert list(inventory.hosts) == ["zeta", "alpha", "mid"]
        assert inventory.groups["g1"] == Group("g1", ("p1",))
        assert inventory.groups["gp1"] == Group("gp1", ())
        assert inventory.source == str(folder)
        assert [h.name for h in inventory.select("gp1")] == ["alpha"]
        assert [h.name for h in inventory.select("p2 | p1")] == ["zeta", "alpha"]

    def test_hosts_do_not_share_data_objects(self, tmp_path: Path) -> None:
        folder = write(tmp_path / "inv", hosts="a:\nb:\n", defaults="data: {list: [1]}\n")
        inventory = load(folder)
        inventory.hosts["a"].data["list"].append(2)
        assert inventory.hosts["b"].data["list"] == [1]

    def test_empty_files_are_fine(self, tmp_path: Path) -> None:
        folder = write(tmp_path / "inv", hosts="", groups="# nothing yet\n", defaults="")
        assert load(folder).hosts == {}

    def test_not_a_simple_inventory(self, tmp_path: Path) -> None:
        assert load_simple(tmp_path) is None
        (tmp_path / "hosts.yml").write_text("a:\n")
        assert load_simple(tmp_path) is None
        assert load_simple(tmp_path / "hosts.yml") is None
        assert load_simple(tmp_path / "missing") is None


class TestPaths:
    def test_relative_paths_are_relative_to_the_folder(self, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("HOME", "/home/ops")
        folder = write(tmp_path / "inv", hosts="""\
            a: {ssh_key: keys/id_ed25519, known_hosts: ./known}
            b: {ssh_key: /etc/key, known_hosts: ~/kh}
            """)
        a, b = load(folder).hosts.values()
        assert (a.ssh_key, a.known_hosts) == (f"{folder}/keys/id_ed25519", f"{folder}/known")
        assert (b.ssh_key, b.known_hosts) == ("/etc/key", "/home/ops/kh")


class TestSecrets:
    @pytest.fixture
    def folder(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        monkeypatch.setenv("OPS_TEST_PW", "env-pass-1")
        monkeypatch.setenv("OPS_TEST_DB", "db-pass-2")
        folder = write(tmp_path / "inv", hosts="""\
            web1:
              hostname: web1.example
              password_env: OPS_TEST_PW
              groups: [kvm]
              data:
                db_password: {secret_env: OPS_TEST_DB}
                dsn: "postgres://engine:db-pass-2@db/engine"
                creds: [{secret_file: secrets/api}]
            """, groups="""\
            kvm:
              sudo: true
              sudo_password_file: secrets/sudo
            """)
        (folder / "secrets").mkdir()
        for name, value in (("sudo", "sudo-pass-3\n"), ("api", "api-pass-4")):
            (folder / "secrets" / name).write_text(value)
            (folder / "secrets" / name).chmod(0o600)
        return folder

    def test_secrets_are_read_and_listed(self, folder: Path) -> None:
        inventory = load(folder)
        host = inventory.hosts["web1"]
        assert (host.password, host.sudo_password) == ("env-pass-1", "sudo-pass-3")
        assert host.data["db_password"] == "db-pass-2"
        assert host.data["creds"] == ["api-pass-4"]
        assert inventory.secrets == {"env-pass-1", "db-pass-2", "sudo-pass-3", "api-pass-4"}

    def test_describe_never_shows_them(self, folder: Path) -> None:
        inventory = load(folder)
        described = inventory.describe(inventory.hosts.values())
        assert described == {"web1": {
            "hostname": "web1.example", "port": 22, "username": None, "connection": "ssh",
            "ssh_key": None, "known_hosts": None, "password": MASK, "sudo": True,
            "sudo_password": MASK, "groups": ["kvm"],
            "vars": {"db_password": MASK, "dsn": f"postgres://engine:{MASK}@db/engine",
                     "creds": [MASK]}}}
        for secret in inventory.secrets:
            assert secret not in repr(described)

    def test_missing_env_names_host_field_and_location(self, folder: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("OPS_TEST_PW")
        assert error(folder) == (f"{at(folder, 'hosts.yaml', 3, 17)}: host 'web1', field "
                                 "'password_env': environment variable OPS_TEST_PW is not set")

    def test_missing_data_secret_names_the_key(self, folder: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("OPS_TEST_DB")
        assert error(folder) == (f"{at(folder, 'hosts.yaml', 6, 18)}: host 'web1', "
                                 "data.db_password: environment variable OPS_TEST_DB is not set")

    def test_world_readable_secret_file_refused(self, folder: Path) -> None:
        (folder / "secrets" / "sudo").chmod(0o604)
        file = folder / "secrets" / "sudo"
        assert error(folder) == (
            f"{at(folder, 'groups.yaml', 3, 23)}: group 'kvm', field 'sudo_password_file': "
            f"secret file {file} is readable by others (mode 0604); run: chmod o-r {file}")

    def test_unreadable_nested_secret_file(self, folder: Path) -> None:
        (folder / "secrets" / "api").unlink()
        assert error(folder) == (
            f"{at(folder, 'hosts.yaml', 8, 13)}: host 'web1', data.creds[0]: "
            f"secret file {folder / 'secrets' / 'api'} does not exist")

    @pytest.mark.parametrize(("field", "hint"), [
        ("password", "password_env or password_file"),
        ("sudo_password", "sudo_password_env or sudo_password_file")])
    def test_literal_password_refused(self, tmp_path: Path, field: str, hint: str) -> None:
        folder = write(tmp_path / "inv", hosts=f"a:\n  hostname: x\n  {field}: hunter2\n")
        message = error(folder)
        assert message == (f"{at(folder, 'hosts.yaml', 3, 3)}: host 'a', field {field!r}: "
                           f"secrets are not kept in the inventory; use {hint}")
        assert "hunter2" not in message

    def test_literal_password_refused_in_defaults(self, tmp_path: Path) -> None:
        folder = write(tmp_path / "inv", hosts="a:\n", defaults="password: hunter2\n")
        assert error(folder).startswith(f"{at(folder, 'defaults.yaml', 1, 1)}: defaults, field "
                                        "'password': secrets are not kept in the inventory")

    def test_both_sources_for_one_secret(self, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OPS_TEST_PW", "x-pass")
        folder = write(tmp_path / "inv",
                       hosts="a:\n  password_env: OPS_TEST_PW\n  password_file: pw\n")
        assert error(folder) == (f"{at(folder, 'hosts.yaml', 3, 18)}: host 'a', field "
                                 "'password_file': give only one of password_env and password_file")


class TestErrors:
    def test_unknown_field_with_suggestion_and_allowed(self, tmp_path: Path) -> None:
        folder = write(tmp_path / "inv", hosts="a:\n  hostnme: x\n")
        assert error(folder) == (
            f"{at(folder, 'hosts.yaml', 2, 3)}: host 'a': unknown field 'hostnme'; did you mean "
            "'hostname'? (allowed: connection, data, groups, hostname, known_hosts, password_env, "
            "password_file, port, ssh_key, ssh_server_alive_count_max, ssh_server_alive_interval, "
            "sudo, sudo_password_env, sudo_password_file, username)")

    def test_groups_not_allowed_in_defaults(self, tmp_path: Path) -> None:
        folder = write(tmp_path / "inv", hosts="a:\n", defaults="port: 22\ngroups: [x]\n")
        message = error(folder)
        assert message.startswith(f"{at(folder, 'defaults.yaml', 2, 1)}: defaults: unknown "
                                  "field 'groups'")
        assert "groups," not in message

    @pytest.mark.parametrize(("body", "column", "problem"), [
        ("port: abc", 9, "field 'port': must be a port number (an integer 1-65535), got str 'abc'"),
        ("port: true", 9, "field 'port': must be a port number (an integer 1-65535), got bool True"),
        ("port: 70000", 9, "field 'port': must be a port number (an integer 1-65535), got int 70000"),
        ("groups: kvm", 11, "field 'groups': must be a list of group names, got str 'kvm'"),
        ("groups: [1]", 12, "field 'groups': must be a non-empty string, got int 1"),
        ("data: [1, 2]", 9, "field 'data': must be a mapping, got a list"),
        ("sudo: maybe", 9, "field 'sudo': must be true or false, got str 'maybe'"),
        ("hostname: ''", 13, "field 'hostname': must be a non-empty string, got str ''"),
        ("username: {a: 1}", 13, "field 'username': must be a non-empty string, got a mapping"),
    ])
    def test_wrong_types(self, tmp_path: Path, body: str, column: int, problem: str) -> None:
        folder = write(tmp_path / "inv", hosts=f"a:\n  {body}\n")
        assert error(folder) == f"{at(folder, 'hosts.yaml', 2, column)}: host 'a', {problem}"

    def test_entry_must_be_a_mapping(self, tmp_path: Path) -> None:
        folder = write(tmp_path / "inv", hosts="a: [1]\n")
        assert error(folder) == (f"{at(folder, 'hosts.yaml', 1, 4)}: host 'a': must be a mapping "
                                 "of fields, got a list")

    def test_file_must_be_a_mapping(self, tmp_path: Path) -> None:
        folder = write(tmp_path / "inv", hosts="- a\n- b\n")
        assert error(folder) == (f"{at(folder, 'hosts.yaml', 1, 1)}: hosts.yaml: must be a "
                                 "mapping (name -> fields), got a list")

    def test_host_name_must_be_text(self, tmp_path: Path) -> None:
        folder = write(tmp_path / "inv", hosts="a:\n1:\n")
        assert error(folder) == (f"{at(folder, 'hosts.yaml', 2, 1)}: host 1: host names must be "
                                 "non-empty strings")

    def test_undefined_group_from_host(self, tmp_path: Path) -> None:
        folder = write(tmp_path / "inv", hosts="a:\n  groups: [kvm, webb]\n",
                       groups="kvm:\nweb:\n")
        assert error(folder) == (f"{at(folder, 'hosts.yaml', 2, 17)}: host 'a': group 'webb' is "
                                 "not defined in groups.yaml; did you mean 'web'?")

    def test_undefined_parent_group(self, tmp_path: Path) -> None:
        folder = write(tmp_path / "inv", hosts="a:\n", groups="kvm:\n  groups:\n    - zzz\n")
        assert error(folder) == (f"{at(folder, 'groups.yaml', 3, 7)}: group 'kvm': group 'zzz' "
                                 "is not defined in groups.yaml")

    def test_group_cycle(self, tmp_path: Path) -> None:
        folder = write(tmp_path / "inv", hosts="h: {groups: [a]}\n",
                       groups="a: {groups: [b]}\nb: {groups: [c]}\nc: {groups: [a]}\n")
        assert error(folder) == (f"{at(folder, 'groups.yaml', 3, 14)}: group 'c': groups form a "
                                 "cycle: a -> b -> c -> a")

    def test_group_that_is_its_own_parent(self, tmp_path: Path) -> None:
        folder = write(tmp_path / "inv", hosts="h:\n", groups="a: {groups: [a]}\n")
        assert "group 'a': groups form a cycle: a -> a" in error(folder)

    def test_invalid_yaml(self, tmp_path: Path) -> None:
        folder = write(tmp_path / "inv", hosts="a:\n  port: [1\n")
        assert error(folder).startswith(f"{folder / 'hosts.yaml'}:3:1: YAML syntax error: ")

    def test_duplicate_host(self, tmp_path: Path) -> None:
        folder = write(tmp_path / "inv", hosts="a:\nb:\na:\n")
        assert error(folder) == (f"{at(folder, 'hosts.yaml', 3, 1)}: duplicate key 'a' "
                                 "(first at line 1, column 1)")
