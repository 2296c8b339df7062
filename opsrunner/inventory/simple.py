"""Reader for the Nornir SimpleInventory layout: a folder with ``hosts.yaml`` and optional
``groups.yaml`` and ``defaults.yaml``.

Every field and every ``data`` key is looked up separately: the host, then its groups in
the listed order (each followed depth-first by its parents), then the defaults. Relative
paths are relative to the folder. Secrets come only from ``*_env`` / ``*_file`` fields or
``{secret_env: NAME}`` / ``{secret_file: PATH}`` values in ``data``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsrunner.errors import Location, suggest
from opsrunner.host import Host
from opsrunner.inventory import Group, Inventory, group_lineage, parents_first
from opsrunner.inventory import fields as check
from opsrunner.yamlsrc import Place, Positions

FIELDS = ("hostname", "port", "username", "ssh_key", "password_env", "password_file", "sudo",
          "sudo_password_env", "sudo_password_file", "connection", "known_hosts",
          "ssh_server_alive_interval", "ssh_server_alive_count_max", "groups", "data")
DEFAULTS_FIELDS = tuple(f for f in FIELDS if f != "groups")
_REFUSED = {"password": "password_env or password_file",
            "sudo_password": "sudo_password_env or sudo_password_file"}
_SECRET_SOURCES = {"password_env": "password", "password_file": "password",
                   "sudo_password_env": "sudo_password", "sudo_password_file": "sudo_password"}


@dataclass
class _Entry:
    """One host, group or the defaults: checked fields (secrets already read)."""

    values: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    groups: list[tuple[str, Location]] = field(default_factory=list)


class _Reader:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.secrets: set[str] = set()

    def document(self, name: str) -> tuple[dict[Any, Any], Place]:
        """The mapping in file ``name`` (empty when the file is missing or empty) and its root."""
        file = self.folder / name
        if not file.exists():
            return {}, Place(Positions(str(file), {}, {}))
        doc, root = check.load(file)
        what = "a mapping of fields" if name == "defaults.yaml" else "a mapping (name -> fields)"
        return check.mapping(doc, name, Location(str(file), 1, 1), what), root

    def entries(self, kind: str, doc: dict[Any, Any], root: Place) -> dict[str, _Entry]:
        result: dict[str, _Entry] = {}
        for name, body in doc.items():
            if not isinstance(name, str) or not name:
                check.fail(f"{kind} {name!r}", f"{kind} names must be non-empty strings",
                           root.child(name).key)
            result[name] = self.entry(f"{kind} {name!r}", body, root.child(name), FIELDS)
        return result

    def entry(self, where: str, body: Any, place: Place, allowed: tuple[str, ...]) -> _Entry:
        fields = check.mapping(body, where, place.value, "a mapping of fields")
        entry = _Entry()
        for key, value in fields.items():
            key_at = place.child(key).key
            if key in _REFUSED:
                check.fail(f"{where}, field {key!r}", "secrets are not kept in the inventory; "
                           f"use {_REFUSED[key]}", key_at)
            if key not in allowed:
                check.unknown_key(where, "field", key, allowed, key_at)
            self.field(entry, where, key, value, place.child(key))
        return entry

    def field(self, entry: _Entry, owner: str, key: str, value: Any, place: Place) -> None:
        where, at = f"{owner}, field {key!r}", place.value
        if key in _SECRET_SOURCES:
            target = _SECRET_SOURCES[key]
            if target in entry.values:
                check.fail(where, f"give only one of {target}_env and {target}_file", at)
            kind = "secret_env" if key.endswith("_env") else "secret_file"
            ref = {kind: check.text(value, where, at)}
            entry.values[target] = check.secret(ref, self.folder, where, at, self.secrets)
        elif key == "groups":
            entry.groups = check.names(value, where, place)
        elif key == "data":
            data = check.mapping(value, where, at)
            entry.data = {name: check.resolve_vars(item, self.folder, f"{owner}, data.{name}",
                                                   place.child(name), self.secrets)
                          for name, item in data.items()}
        elif key == "port":
            entry.values[key] = check.port(value, where, at)
        elif key == "sudo":
            entry.values[key] = check.boolean(value, where, at)
        elif key == "ssh_server_alive_interval":
            entry.values[key] = check.seconds(value, where, at)
        elif key == "ssh_server_alive_count_max":
            entry.values[key] = check.count(value, where, at)
        elif key in ("ssh_key", "known_hosts"):
            entry.values[key] = check.path(value, self.folder, where, at)
        else:  # hostname, username, connection
            entry.values[key] = check.word(value, where, at)


def load_simple(path: Path) -> Inventory | None:
    """The inventory in folder ``path``; ``None`` when it has no ``hosts.yaml``.

    :raises InventoryError: with file:line:column for any invalid entry or unreadable secret.
    """
    if not (path.is_dir() and (path / "hosts.yaml").is_file()):
        return None
    reader = _Reader(path)
    defaults_doc, defaults_root = reader.document("defaults.yaml")
    defaults = reader.entry("defaults", defaults_doc, defaults_root, DEFAULTS_FIELDS)
    groups = reader.entries("group", *reader.document("groups.yaml"))
    hosts = reader.entries("host", *reader.document("hosts.yaml"))
    for kind, entries in (("group", groups), ("host", hosts)):
        for name, entry in entries.items():
            for group, at in entry.groups:
                if group not in groups:
                    check.fail(f"{kind} {name!r}", f"group {group!r} is not defined in groups.yaml"
                               + suggest(group, groups), at)
    model = {name: Group(name, tuple(g for g, _ in entry.groups)) for name, entry in groups.items()}
    _check_cycles(groups)
    resolved = {name: _host(name, entry, [groups[g] for g in group_lineage(
        model, (g for g, _ in entry.groups))], defaults) for name, entry in hosts.items()}
    return Inventory(resolved, model, frozenset(reader.secrets), str(path))


def _host(name: str, entry: _Entry, groups: list[_Entry], defaults: _Entry) -> Host:
    chain = [entry, *groups, defaults]
    values: dict[str, Any] = {}
    data: dict[str, Any] = {}
    for source in reversed(chain):
        values.update(source.values)
        data.update(source.data)
    return Host(name=name, hostname=values.get("hostname", name), port=values.get("port", 22),
                username=values.get("username"), ssh_key=values.get("ssh_key"),
                password=values.get("password"), sudo=values.get("sudo", False),
                sudo_password=values.get("sudo_password"),
                connection=values.get("connection", "ssh"),
                known_hosts=values.get("known_hosts"),
                ssh_server_alive_interval=values.get("ssh_server_alive_interval", 15.0),
                ssh_server_alive_count_max=values.get("ssh_server_alive_count_max", 3),
                groups=tuple(g for g, _ in entry.groups), data=copy.deepcopy(data))


def _check_cycles(groups: dict[str, _Entry]) -> None:
    parents = {name: [parent for parent, _ in entry.groups] for name, entry in groups.items()}
    _, cycle = parents_first(parents)
    if cycle is not None:
        name, parent = cycle[-2], cycle[-1]
        at = next(at for group, at in groups[name].groups if group == parent)
        check.fail(f"group {name!r}", f"groups form a cycle: {' -> '.join(cycle)}", at)
