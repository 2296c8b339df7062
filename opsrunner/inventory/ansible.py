"""Reader for Ansible YAML inventories: one ``.yml``/``.yaml`` file with a top-level ``all:``
(or other top-level groups made of ``hosts:``, ``vars:`` and ``children:``).

Connection variables map to host fields (``ansible_host`` -> hostname, ``ansible_port`` ->
port, ``ansible_user`` -> username, ``ansible_ssh_private_key_file`` -> ssh_key,
``ansible_become`` -> sudo, ``ansible_connection`` -> connection,
``ansible_ssh_server_alive_interval`` / ``ansible_ssh_server_alive_count_max`` -> the
``ssh_server_alive_*`` fields); every other variable goes to ``data``. Precedence as in
Ansible: groups by depth (``all`` first, children after their parents, same depth by name),
then host variables. Passwords are accepted only as
``{secret_env: NAME}`` / ``{secret_file: PATH}``; relative paths are relative to the file's
folder. ``host.groups`` lists the groups a host is written under, in file order.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsrunner.errors import Location
from opsrunner.host import Host
from opsrunner.inventory import Group, Inventory, group_lineage, parents_first
from opsrunner.inventory import fields as check
from opsrunner.secrets import is_secret_ref
from opsrunner.yamlsrc import Place

GROUP_KEYS = ("children", "hosts", "vars")
FIELD_VARS = {"ansible_host": "hostname", "ansible_ssh_host": "hostname",
              "ansible_port": "port", "ansible_ssh_port": "port",
              "ansible_user": "username", "ansible_ssh_user": "username",
              "ansible_ssh_private_key_file": "ssh_key", "ansible_private_key_file": "ssh_key",
              "ansible_become": "sudo", "ansible_connection": "connection",
              "ansible_ssh_server_alive_interval": "ssh_server_alive_interval",
              "ansible_ssh_server_alive_count_max": "ssh_server_alive_count_max"}
SECRET_VARS = {"ansible_password": "password", "ansible_ssh_pass": "password",
               "ansible_ssh_password": "password", "ansible_become_password": "sudo_password",
               "ansible_become_pass": "sudo_password", "ansible_sudo_pass": "sudo_password"}
CONNECTIONS = {"ssh": "ssh", "smart": "ssh", "paramiko": "ssh", "local": "local"}


@dataclass
class _Vars:
    fields: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def update(self, other: _Vars) -> None:
        self.fields.update(other.fields)
        self.data.update(other.data)


@dataclass
class _Group:
    parents: dict[str, Location] = field(default_factory=dict)  # parent -> where it lists us
    vars: _Vars = field(default_factory=_Vars)


class _Reader:
    def __init__(self, file: Path) -> None:
        self.base = file.parent
        self.secrets: set[str] = set()
        self.groups: dict[str, _Group] = {}
        self.host_vars: dict[str, _Vars] = {}
        self.host_groups: dict[str, list[str]] = {}

    def group(self, name: Any, body: Any, place: Place, parents: list[str]) -> None:
        where, at = f"group {name!r}", place.key
        if not isinstance(name, str) or not name:
            check.fail(where, "group names must be non-empty strings", at)
        if name in parents:
            check.fail(where, f"groups form a cycle: {' -> '.join([*parents, name])}", at)
        group = self.groups.setdefault(name, _Group())
        if parents:
            group.parents.setdefault(parents[-1], at)
        spec = check.mapping(body, where, at, "a mapping with hosts, vars or children")
        for key, value in spec.items():
            item = place.child(key)
            if key == "vars":
                group.vars.update(self.vars(where, value, item))
            elif key == "hosts":
                hosts = check.mapping(value, f"{where}, hosts", item.value)
                for host, host_body in hosts.items():
                    self.host(host, host_body, item.child(host), name)
            elif key == "children":
                children = check.mapping(value, f"{where}, children", item.value)
                for child, child_body in children.items():
                    self.group(child, child_body, item.child(child), [*parents, name])
            else:
                check.unknown_key(where, "key", key, GROUP_KEYS, item.key)

    def host(self, name: Any, body: Any, place: Place, group: str) -> None:
        if not isinstance(name, str) or not name:
            check.fail(f"group {group!r}, hosts", "host names must be non-empty strings",
                       place.key)
        direct = self.host_groups.setdefault(name, [])
        if group not in direct:
            direct.append(group)
        self.host_vars.setdefault(name, _Vars()).update(self.vars(f"host {name!r}", body, place))

    def vars(self, owner: str, body: Any, place: Place) -> _Vars:
        spec = check.mapping(body, f"{owner}, vars", place.value)
        result = _Vars()
        for key, value in spec.items():
            item = place.child(key)
            key_at, value_at = item.key, item.value
            if not isinstance(key, str):
                check.fail(owner, f"variable names must be strings, got {key!r}", key_at)
            where = f"{owner}, variable {key!r}"
            if key in SECRET_VARS:
                if not is_secret_ref(value):
                    check.fail(where, "secrets are not kept in the inventory; use "
                               "{secret_env: NAME} or {secret_file: PATH}", key_at)
                result.fields[SECRET_VARS[key]] = check.secret(value, self.base, where, value_at,
                                                               self.secrets)
            elif key in FIELD_VARS:
                result.fields[FIELD_VARS[key]] = self.field(FIELD_VARS[key], value, where,
                                                            value_at)
            else:
                result.data[key] = check.resolve_vars(value, self.base, where, item, self.secrets)
        return result

    def field(self, name: str, value: Any, where: str, at: Location) -> Any:
        if name == "port":
            return check.port(value, where, at, digits=True)
        if name == "sudo":
            return check.boolean(value, where, at)
        if name == "ssh_key":
            return check.path(value, self.base, where, at)
        if name == "ssh_server_alive_interval":
            return check.seconds(value, where, at)
        if name == "ssh_server_alive_count_max":
            return check.count(value, where, at)
        if name == "connection":
            return check.choice(value, CONNECTIONS, where, at, " (smart and paramiko mean ssh)")
        return check.word(value, where, at)

    def depths(self) -> dict[str, int]:
        """Group -> depth: ``all`` 0, top-level groups 1, children one more than their deepest
        parent. A cycle of groups is an error."""
        parents = {name: list(group.parents) for name, group in self.groups.items()}
        order, cycle = parents_first(parents)
        if cycle is not None:
            name, parent = cycle[-2], cycle[-1]
            check.fail(f"group {name!r}", f"groups form a cycle: {' -> '.join(cycle)}",
                       self.groups[name].parents[parent])
        depth: dict[str, int] = {}
        for name in order:
            depth[name] = 0 if name == "all" else max(
                (depth[parent] for parent in parents[name]), default=0) + 1
        return depth


def _is_inventory(doc: Any) -> bool:
    if not isinstance(doc, dict) or not doc:
        return False
    if "all" in doc:
        return True
    bodies = list(doc.values())
    return (all(body is None or (isinstance(body, dict) and set(body) <= set(GROUP_KEYS))
                for body in bodies)
            and any(isinstance(body, dict) and ("hosts" in body or "children" in body)
                    for body in bodies))


def load_ansible(path: Path) -> Inventory | None:
    """The inventory in Ansible YAML file ``path``; ``None`` when it is not one.

    :raises InventoryError: with file:line:column for invalid YAML, entries or secrets.
    """
    if not path.is_file() or path.suffix not in (".yml", ".yaml"):
        return None
    doc, root = check.load(path)
    if not _is_inventory(doc):
        return None
    reader = _Reader(path)
    for name, body in doc.items():
        reader.group(name, body, root.child(name), [])
    depth = reader.depths()
    groups = {name: Group(name, tuple(g.parents)) for name, g in reader.groups.items()}
    hosts: dict[str, Host] = {}
    for name, direct in reader.host_groups.items():
        member_of = set(group_lineage(groups, direct)) | ({"all"} & set(groups))
        merged = _Vars()
        for group in sorted(member_of, key=lambda g: (depth[g], g)):
            merged.update(reader.groups[group].vars)
        merged.update(reader.host_vars[name])
        values = merged.fields
        hosts[name] = Host(name=name, hostname=values.get("hostname", name),
                           port=values.get("port", 22), username=values.get("username"),
                           ssh_key=values.get("ssh_key"), password=values.get("password"),
                           sudo=values.get("sudo", False),
                           sudo_password=values.get("sudo_password"),
                           connection=values.get("connection", "ssh"),
                           ssh_server_alive_interval=values.get("ssh_server_alive_interval", 15.0),
                           ssh_server_alive_count_max=values.get("ssh_server_alive_count_max", 3),
                           groups=tuple(direct), data=copy.deepcopy(merged.data))
    return Inventory(hosts, groups, frozenset(reader.secrets), str(path))
