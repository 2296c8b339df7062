"""The write side of the API: handlers for add, update, remove and actions, by kind.

Reads are generic (:mod:`opsrunner.lab.engine_api.resources`); every write the simulator
supports is a handler registered here by kind key (``events``, ``vms/snapshots``) and, for an
action, its name (``("hosts", "deactivate")``). A handler validates like the engine (raising an
:class:`~opsrunner.lab.engine_api.faults.ApiFault`), changes the store, and may schedule the
state transitions that follow (``ctx.store.schedule``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from opsrunner.lab.engine_api.model import Document
from opsrunner.lab.engine_api.store import Store


@dataclass
class ApiContext:
    """What a handler works with.

    :param user: the authenticated user's document (``users``), for events and ownership.
    :param correlation_id: the request's ``Correlation-Id`` header, echoed into its events.
    """

    store: Store
    user: Document
    correlation_id: str | None = None


@dataclass(frozen=True)
class Target:
    """The entity a request addresses: ``collection`` path and ``entity_id``."""

    collection: str
    entity_id: str


# POST collection: (ctx, collection path, body, query) -> the new document (answered 201).
AddHandler = Callable[[ApiContext, str, ET.Element, Mapping[str, str]], Document]
# PUT entity: (ctx, target, body, query) -> the updated document.
UpdateHandler = Callable[[ApiContext, Target, ET.Element, Mapping[str, str]], Document]
# DELETE entity: (ctx, target, query) -> None (answered 200, empty body).
RemoveHandler = Callable[[ApiContext, Target, Mapping[str, str]], None]
# POST entity/action: (ctx, target, <action> body, query) -> extra <action> fields (job, ...).
ActionHandler = Callable[[ApiContext, Target, ET.Element, Mapping[str, str]], Document]


@dataclass
class Handlers:
    """The registered write handlers, by kind key (and action name)."""

    adders: dict[str, AddHandler] = field(default_factory=dict)
    updaters: dict[str, UpdateHandler] = field(default_factory=dict)
    removers: dict[str, RemoveHandler] = field(default_factory=dict)
    actions: dict[tuple[str, str], ActionHandler] = field(default_factory=dict)


def default_handlers() -> Handlers:
    """Every write the simulator implements."""
    from opsrunner.lab.engine_api.events import register as register_events

    handlers = Handlers()
    register_events(handlers)
    return handlers
