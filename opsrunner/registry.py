"""What plugins register: tasks, connection types, inventory sources."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from opsrunner.connection import Connection, ConnectOptions
from opsrunner.errors import PluginError, UsageError, unknown_name_message
from opsrunner.host import Host
from opsrunner.taskspec import TaskFunc, TaskSpec

if TYPE_CHECKING:
    from opsrunner.inventory import Inventory


ConnectionFactory = Callable[[Host, ConnectOptions], Connection]
InventoryLoader = Callable[[Path], "Inventory | None"]


class Registry:
    """The tasks, connection types and inventory sources of one plugin manager."""

    def __init__(self) -> None:
        self.tasks: dict[str, TaskSpec] = {}
        self.connections: dict[str, ConnectionFactory] = {}
        self.inventory_sources: dict[str, InventoryLoader] = {}
        self.current_plugin = ""

    def add_task(self, func: TaskFunc, name: str | None = None) -> TaskSpec:
        """Register ``func`` as a task (default name: the function's name)."""
        spec = TaskSpec.from_function(func, name, self.current_plugin)
        if spec.name in self.tasks:
            other = self.tasks[spec.name].plugin
            raise PluginError(f"task {spec.name!r} registered twice: by {other} and by {spec.plugin}")
        self.tasks[spec.name] = spec
        return spec

    def add_connection(self, name: str, factory: ConnectionFactory) -> None:
        """Register a connection type, selected by a host's ``connection:`` field."""
        if name in self.connections:
            raise PluginError(f"connection type {name!r} registered twice ({self.current_plugin})")
        self.connections[name] = factory

    def add_inventory_source(self, name: str, loader: InventoryLoader) -> None:
        """Register an inventory reader."""
        if name in self.inventory_sources:
            raise PluginError(f"inventory source {name!r} registered twice ({self.current_plugin})")
        self.inventory_sources[name] = loader

    def task(self, name: str) -> TaskSpec:
        """The task called ``name``; UsageError with a "did you mean" otherwise."""
        try:
            return self.tasks[name]
        except KeyError:
            raise UsageError(unknown_name_message("task", name, self.tasks)) from None

    def connection_factory(self, name: str) -> ConnectionFactory:
        try:
            return self.connections[name]
        except KeyError:
            raise UsageError(unknown_name_message("connection type", name, self.connections)) from None
