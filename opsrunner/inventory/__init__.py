"""The inventory: resolved hosts, their groups, the secrets read, and host selection.

Readers for concrete formats live in :mod:`opsrunner.inventory.simple` (Nornir
SimpleInventory folder) and :mod:`opsrunner.inventory.ansible` (Ansible YAML file); plugins
add more through ``opsrunner_register_inventory_sources``. :func:`load_inventory` tries them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsrunner.errors import InventoryError, Location, UsageError, unknown_name_message
from opsrunner.host import Host
from opsrunner.inventory import patterns as limit
from opsrunner.pathnames import path_problem
from opsrunner.secrets import MASK, Redactor

if TYPE_CHECKING:
    from opsrunner.registry import Registry

ACCEPTED_FORMATS = ("a folder with hosts.yaml (and optional groups.yaml, defaults.yaml), "
                    "or an Ansible YAML inventory file (.yml/.yaml) with a top-level 'all:'")


@dataclass(frozen=True)
class Group:
    """A named set of hosts; ``parents`` are the groups it belongs to, in lookup order."""

    name: str
    parents: tuple[str, ...] = ()


def group_lineage(groups: Mapping[str, Group], names: Iterable[str]) -> list[str]:
    """``names`` in order, each followed depth-first by its parents; every group listed once.

    This is the lookup order of inherited fields. Unknown names are kept (without parents);
    cycles are cut where they close. Iterative: any depth of nesting.
    """
    order: list[str] = []
    seen: set[str] = set()
    for name in names:
        stack = [name]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            order.append(current)
            group = groups.get(current)
            stack.extend(reversed(group.parents) if group else ())
    return order


def parents_first(parents: Mapping[str, Sequence[str]]) -> tuple[list[str], list[str] | None]:
    """Every group of ``parents`` (group -> its parent groups) after all its parents, and the
    first cycle found (``[a, b, a]``: a's parent is b, b's is a), or None.

    Groups are taken in the mapping's order, parents in their listed order; a parent missing
    from the mapping has no parents. Iterative: any depth of nesting. With a cycle, the order
    is incomplete.
    """
    order: list[str] = []
    done: set[str] = set()
    for root in parents:
        if root in done:
            continue
        path, on_path = [root], {root}
        pending = [iter(parents.get(root, ()))]
        while pending:
            for parent in pending[-1]:
                if parent in on_path:
                    return order, [*path[path.index(parent):], parent]
                if parent not in done:
                    path.append(parent)
                    on_path.add(parent)
                    pending.append(iter(parents.get(parent, ())))
                    break
            else:
                pending.pop()
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                order.append(finished)
    return order, None


@dataclass
class Inventory:
    """Resolved hosts (in file order), the groups, and every secret value read while loading."""

    hosts: dict[str, Host]
    groups: dict[str, Group] = field(default_factory=dict)
    secrets: frozenset[str] = frozenset()
    source: str = ""

    def member_of(self, host: Host) -> list[str]:
        """Every group ``host`` belongs to: its own groups, then their ancestors."""
        return group_lineage(self.groups, host.groups)

    def select(self, expr: str | None, where: Location | None = None) -> list[Host]:
        """The hosts a host pattern selects (see :mod:`opsrunner.inventory.patterns`), in
        inventory order. ``None`` or ``all`` selects every host.

        :param where: where ``expr`` is written (a workflow's ``hosts:``); a
            :class:`UsageError` about the pattern is then located there, as ``'hosts': ...``.
        """
        if expr is None or expr.strip() == "all":
            return list(self.hosts.values())
        membership = {name: set(self.member_of(host)) for name, host in self.hosts.items()}
        try:
            names = limit.match(limit.parse_limit(expr), membership, self.groups)
        except UsageError as exc:
            if where is None:
                raise
            raise UsageError(f"'hosts': {exc.message}", where) from None
        return [self.hosts[name] for name in names]

    def redactor(self) -> Redactor:
        """A redactor that knows every secret of this inventory."""
        return Redactor(self.secrets)

    def describe(self, hosts: Iterable[Host]) -> dict[str, dict[str, Any]]:
        """Host name -> connection fields and vars, every secret value replaced by the mask."""
        redactor = self.redactor()
        described: dict[str, dict[str, Any]] = {}
        for host in hosts:
            fields: dict[str, Any] = {
                "hostname": host.hostname, "port": host.port, "username": host.username,
                "connection": host.connection, "ssh_key": host.ssh_key,
                "known_hosts": host.known_hosts,
                "password": MASK if host.password else None, "sudo": host.sudo,
                "sudo_password": MASK if host.sudo_password else None,
                "groups": list(host.groups), "vars": host.data,
            }
            described[host.name] = redactor.value(fields)
        return described


def load_inventory(path: str | Path, registry: Registry) -> Inventory:
    """Read the inventory at ``path`` with the first registered source that recognises it.

    Each host's ``connection`` is checked against the registry's connection types (when it
    has any).

    :raises InventoryError: the path does not exist, no source recognises it, or it is invalid.
    """
    where = Path(path)
    problem = path_problem(where)
    if problem is not None:
        raise InventoryError(f"inventory {_shown(str(where))} {problem}; expected "
                             f"{ACCEPTED_FORMATS}")
    if not where.exists():
        raise InventoryError(f"inventory {str(where)!r} does not exist; "
                             f"expected {ACCEPTED_FORMATS}")
    for loader in registry.inventory_sources.values():
        inventory = loader(where)
        if inventory is not None:
            _check_connections(inventory, registry)
            return inventory
    sources = ", ".join(registry.inventory_sources) or "none registered"
    raise InventoryError(f"{str(where)!r} is not an inventory opsrunner can read; expected "
                         f"{ACCEPTED_FORMATS} (inventory sources: {sources})")


def _check_connections(inventory: Inventory, registry: Registry) -> None:
    if not registry.connections:
        return
    for host in inventory.hosts.values():
        if host.connection not in registry.connections:
            message = unknown_name_message("connection type", host.connection, registry.connections)
            raise InventoryError(f"{inventory.source}: host {host.name!r}: {message}")


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:57] + "...")
