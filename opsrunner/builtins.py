"""The core's own plugin: the ``ssh`` and ``local`` connections and the inventory readers.

Registered through the ``opsrunner`` entry-point group like any other plugin. Factories
import their implementation on first use, so loading plugins stays cheap.
"""

from __future__ import annotations

from pathlib import Path

from opsrunner import hookimpl
from opsrunner.connection import Connection, ConnectOptions
from opsrunner.host import Host
from opsrunner.inventory import Inventory
from opsrunner.registry import Registry


def ssh_connection(host: Host, options: ConnectOptions) -> Connection:
    from opsrunner.connection.ssh import SSHConnection

    return SSHConnection(host, options)


def local_connection(host: Host, options: ConnectOptions) -> Connection:
    from opsrunner.connection.local import LocalConnection

    return LocalConnection(host)


def simple_inventory(path: Path) -> Inventory | None:
    from opsrunner.inventory.simple import load_simple

    return load_simple(path)


def ansible_inventory(path: Path) -> Inventory | None:
    from opsrunner.inventory.ansible import load_ansible

    return load_ansible(path)


@hookimpl
def opsrunner_register_connections(registry: Registry) -> None:
    registry.add_connection("ssh", ssh_connection)
    registry.add_connection("local", local_connection)


@hookimpl
def opsrunner_register_inventory_sources(registry: Registry) -> None:
    registry.add_inventory_source("simple", simple_inventory)
    registry.add_inventory_source("ansible", ansible_inventory)
