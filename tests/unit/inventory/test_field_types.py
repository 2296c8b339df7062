"""Every inventory field of both formats refuses values of the wrong type with a located
message ``file:line:col: <owner>, field 'x': must be <allowed>, got <given>``, never a
traceback: lists, mappings, booleans for numbers, non-ASCII digits, huge numbers, paths that
cannot name a file."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from opsrunner.errors import InventoryError
from opsrunner.inventory.ansible import FIELD_VARS, SECRET_VARS, load_ansible
from opsrunner.inventory.simple import FIELDS, load_simple

LIST, MAPPING, BOOL, NULL, EMPTY = "[ssh]", "{a: 1}", "true", "null", "''"
HUGE = "1" + "0" * 40
SUPERSCRIPT, ARABIC = "'²'", "'٢٢'"
LONG_NAME, NUL, NO_HOME = "'" + "k" * 300 + "'", '"a\\0b"', "'~no_such_user_xyz/key'"
WORD = [LIST, MAPPING, BOOL, "7", NULL, EMPTY, "'a b'", NUL]
PORT = [LIST, MAPPING, BOOL, NULL, "0", "70000", HUGE, ".inf", "1.5", SUPERSCRIPT, ARABIC,
        "'a'"]
SUDO = [LIST, MAPPING, "'yes'", "1", NULL, "'true'"]
PATH = [LIST, MAPPING, BOOL, "1", NULL, EMPTY, LONG_NAME, NUL, NO_HOME]
ENV = [LIST, MAPPING, BOOL, "1", NULL, EMPTY]

SIMPLE_BAD: dict[str, list[str]] = {
    "hostname": WORD, "username": WORD, "connection": WORD,
    "port": [*PORT, "'22'"], "sudo": SUDO, "ssh_key": PATH, "known_hosts": PATH,
    "password_env": ENV, "sudo_password_env": ENV,
    "password_file": PATH, "sudo_password_file": PATH,
    "groups": [MAPPING, "'g'", "1", BOOL, "[1]", "[[g]]", "['']"],
    "data": [LIST, "'x'", "1", BOOL],
}
ANSIBLE_KIND = {"hostname": WORD, "username": WORD, "port": PORT, "sudo": SUDO,
                "ssh_key": PATH, "connection": [*WORD, "winrm"]}
ANSIBLE_BAD: dict[str, list[str]] = {
    **{var: ANSIBLE_KIND[target] for var, target in FIELD_VARS.items() if target in ANSIBLE_KIND},
    **{var: ["'plain'", LIST, "{secret_file: [x]}", "{secret_file: " + NUL + "}",
             "{secret_file: " + LONG_NAME + "}", "{secret_env: ''}", "{secret_env: X, a: 1}"]
       for var in SECRET_VARS},
}


ANY_SCALAR = [LIST, MAPPING]
"""What every field not in the tables (added later) must refuse too."""


def test_the_tables_name_only_fields() -> None:
    assert set(SIMPLE_BAD) <= set(FIELDS)
    assert set(ANSIBLE_BAD) <= set(FIELD_VARS) | set(SECRET_VARS)


def cases(fields: Iterable[str], table: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(field, value) for field in fields for value in table.get(field, ANY_SCALAR)]


@pytest.mark.parametrize(("field", "value"), cases(FIELDS, SIMPLE_BAD))
def test_simple_inventory_refuses(tmp_path: Path, field: str, value: str) -> None:
    hosts = tmp_path / "hosts.yaml"
    hosts.write_text(f"web1:\n  {field}: {value}\n")
    with pytest.raises(InventoryError) as caught:
        load_simple(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{hosts}:2:"), message
    assert f"host 'web1', field '{field}': " in message or "is not defined" in message, message
    assert len(message) < 400


@pytest.mark.parametrize(("variable", "value"), cases([*FIELD_VARS, *SECRET_VARS], ANSIBLE_BAD))
def test_ansible_inventory_refuses(tmp_path: Path, variable: str, value: str) -> None:
    file = tmp_path / "inventory.yml"
    file.write_text(f"all:\n  hosts:\n    web1:\n      {variable}: {value}\n")
    with pytest.raises(InventoryError) as caught:
        load_ansible(file)
    message = str(caught.value)
    assert message.startswith(f"{file}:4:"), message
    assert f"host 'web1', variable '{variable}': " in message, message
    assert len(message) < 400


@pytest.mark.parametrize(("value", "given"), [
    (SUPERSCRIPT, "got str '²'"), (ARABIC, "got str '٢٢'"), (LIST, "got a list"),
    (BOOL, "got bool True"), (HUGE, f"got int {HUGE}"),
])
def test_port_says_what_is_allowed_and_what_was_given(tmp_path: Path, value: str,
                                                      given: str) -> None:
    file = tmp_path / "inventory.yml"
    file.write_text(f"all:\n  hosts:\n    web1:\n      ansible_port: {value}\n")
    with pytest.raises(InventoryError) as caught:
        load_ansible(file)
    assert str(caught.value) == (f"{file}:4:21: host 'web1', variable 'ansible_port': must be a "
                                 f"port number (an integer 1-65535), {given}")


def test_ansible_port_may_be_a_string_of_ascii_digits(tmp_path: Path) -> None:
    file = tmp_path / "inventory.yml"
    file.write_text("all:\n  hosts:\n    web1:\n      ansible_port: '2222'\n")
    inventory = load_ansible(file)
    assert inventory is not None and inventory.hosts["web1"].port == 2222


def test_ansible_connection_list_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "inventory.yml"
    file.write_text("all:\n  hosts:\n    web1:\n      ansible_connection: [ssh]\n")
    with pytest.raises(InventoryError) as caught:
        load_ansible(file)
    assert str(caught.value) == (
        f"{file}:4:27: host 'web1', variable 'ansible_connection': must be one of ssh, smart, "
        f"paramiko, local (smart and paramiko mean ssh), got a list")


def test_a_path_over_the_name_limit_says_so(tmp_path: Path) -> None:
    (tmp_path / "hosts.yaml").write_text(f"web1:\n  ssh_key: {LONG_NAME}\n")
    with pytest.raises(InventoryError) as caught:
        load_simple(tmp_path)
    assert str(caught.value).endswith(
        "which has a name of 300 bytes (names are limited to 255 bytes)")


class TestDeepGroups:
    """Group chains of any length: no recursion in lineage, cycle checks or depths."""

    N = 3_000

    def test_simple_chain(self, tmp_path: Path) -> None:
        (tmp_path / "groups.yaml").write_text(
            "".join(f"g{i}: {{groups: [g{i + 1}]}}\n" for i in range(self.N)) + f"g{self.N}:\n")
        (tmp_path / "hosts.yaml").write_text("web1: {groups: [g0]}\n")
        inventory = load_simple(tmp_path)
        assert inventory is not None
        assert inventory.member_of(inventory.hosts["web1"])[-1] == f"g{self.N}"
        assert [h.name for h in inventory.select(f"g{self.N}")] == ["web1"]

    def test_simple_cycle_is_located(self, tmp_path: Path) -> None:
        (tmp_path / "groups.yaml").write_text(
            "".join(f"g{i}: {{groups: [g{i + 1}]}}\n" for i in range(self.N))
            + f"g{self.N}: {{groups: [g0]}}\n")
        (tmp_path / "hosts.yaml").write_text("web1: {groups: [g0]}\n")
        with pytest.raises(InventoryError) as caught:
            load_simple(tmp_path)
        message = str(caught.value)
        assert message.startswith(f"{tmp_path / 'groups.yaml'}:{self.N + 1}:")
        assert f"group 'g{self.N}': groups form a cycle: g0 -> g1 -> " in message

    def test_ansible_chain(self, tmp_path: Path) -> None:
        file = tmp_path / "inventory.yml"
        file.write_text("all:\n  vars: {v: 0}\n"
                        + "".join(f"g{i}:\n  children: {{g{i + 1}: }}\n  vars: {{v: {i}}}\n"
                                  for i in range(self.N))
                        + f"g{self.N}:\n  hosts: {{web1: }}\n")
        inventory = load_ansible(file)
        assert inventory is not None
        assert inventory.hosts["web1"].data == {"v": self.N - 1}  # the deepest group wins
