"""What plugins register: tasks, connection types, inventory sources."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from opsrunner.connection import Connection, ConnectOptions
from opsrunner.errors import PluginError, UsageError, unknown_name_message
from opsrunner.host import Host
from opsrunner.taskspec import Idempotence, TaskFunc, TaskSpec

if TYPE_CHECKING:
    from opsrunner.inventory import Inventory


ConnectionFactory = Callable[[Host, ConnectOptions], Connection]
InventoryLoader = Callable[[Path], "Inventory | None"]


class Registry:
    """The tasks, connection types and inventory sources of one plugin manager."""

    def __init__(self) -> None:
        self.tasks: dict[str, TaskSpec] = {}
        self.renamed: dict[str, str] = {}
        """Former task names that still resolve (for one release): old name -> new name."""
        self.connections: dict[str, ConnectionFactory] = {}
        self.inventory_sources: dict[str, InventoryLoader] = {}
        self.current_plugin = ""

    def add_task(self, func: TaskFunc, name: str | None = None,
                 aliases: Sequence[str] = (), *, idempotent: Idempotence = False,
                 reserve: float = 0.0) -> TaskSpec:
        """Register ``func`` as a task (default name: the function's name).

        ``idempotent`` declares that running the task again after it failed or was cut short
        is safe (a bool, or a function of the step's ``with:`` arguments); ``opsrunner run
        --resume`` re-runs such a step by itself and asks for ``--yes`` before any other.
        ``reserve`` (seconds) is what the task's own rollback needs when it fails: a
        maintenance window admits a step only when its estimate plus this reserve ends before
        the close. A task that rolls back must declare it.

        ``aliases`` are the task's former names: :meth:`task` still resolves them, and
        :meth:`new_name` tells the workflow loader to note the rename. A name may be taken
        once, as a task or as an alias; PluginError otherwise.
        """
        spec = TaskSpec.from_function(func, name, self.current_plugin, idempotent, reserve)
        names = (spec.name, *aliases)
        if len(set(names)) < len(names):
            raise PluginError(f"task {spec.name!r} ({spec.plugin}): a name is given twice")
        for taken in names:
            if taken in self.tasks:
                other = self.tasks[taken].plugin
                raise PluginError(f"task {taken!r} registered twice: by {other} and by {spec.plugin}")
            if taken in self.renamed:
                raise PluginError(f"task name {taken!r} ({spec.plugin}) is taken: it is the former "
                                  f"name of {self.renamed[taken]!r}")
        self.tasks[spec.name] = spec
        self.renamed.update(dict.fromkeys(aliases, spec.name))
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
        """The task called ``name`` now or formerly; UsageError with a "did you mean" otherwise."""
        try:
            return self.tasks[self.renamed.get(name, name)]
        except KeyError:
            raise UsageError(unknown_name_message("task", name, self.tasks)) from None

    def new_name(self, name: str) -> str | None:
        """The current name of the task formerly called ``name``; None if it was not renamed."""
        return self.renamed.get(name)

    def connection_factory(self, name: str) -> ConnectionFactory:
        try:
            return self.connections[name]
        except KeyError:
            raise UsageError(unknown_name_message("connection type", name, self.connections)) from None
