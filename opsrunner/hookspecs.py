"""Every hook opsrunner calls. Plugins implement them with :data:`opsrunner.hookimpl`.

A plugin is a module (or object) registered through the ``opsrunner`` entry-point group, a
``--plugin-dir`` folder, or directly on the plugin manager. First-party plugins use the
same path as third-party ones. Registration hooks receive a registry to add to; no hook
reads or writes module-level state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from opsrunner.registry import Registry

NAME = "opsrunner"  # the pluggy project name and the entry-point group
hookspec = pluggy.HookspecMarker(NAME)
hookimpl = pluggy.HookimplMarker(NAME)


@hookspec
def opsrunner_register_tasks(registry: Registry) -> None:
    """Add task functions with ``registry.add_task(func, name=...)``.

    :param registry: the run's registry; a name registered twice is an error naming both plugins.
    """


@hookspec
def opsrunner_register_connections(registry: Registry) -> None:
    """Add connection types with ``registry.add_connection(name, factory)``.

    :param registry: the run's registry. ``factory(host, options)`` returns an open-on-demand
        :class:`opsrunner.connection.Connection`.
    """


@hookspec
def opsrunner_register_inventory_sources(registry: Registry) -> None:
    """Add inventory readers with ``registry.add_inventory_source(name, loader)``.

    :param registry: the run's registry. ``loader(path)`` returns an
        :class:`opsrunner.inventory.Inventory`, or ``None`` when ``path`` is not of its format.
        Sources are tried in registration order.
    """
