"""The write side of the API: handlers for add, update, remove and actions, by kind.

Reads are generic (:mod:`opsrunner_lab.engine_api.resources`); every write the simulator
supports is a handler registered in :class:`Handlers` by kind key (``events``,
``vms/snapshots``) and, for an action, its name (``("hosts", "deactivate")``); each kind's
module has a ``register(handlers)``, and :func:`opsrunner_lab.engine_api.app.default_handlers`
collects them all (this module imports none of them). A handler validates like the engine (raising an
:class:`~opsrunner_lab.engine_api.faults.ApiFault`), changes the store, and may schedule the
state transitions that follow (``ctx.store.schedule``, or a scheduled hook registered in
``hooks``). A *viewer* adapts a GET of one entity to its query (``?current=true`` of a CD-ROM).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from opsrunner_lab.engine_api.model import Document
from opsrunner_lab.engine_api.settings import EngineSettings
from opsrunner_lab.engine_api.store import Hook, Store


class GuestDisk(Protocol):
    """What keeps a VM's disk content with its snapshots (the lab: the guest's sysroot).

    Each method returns False when the VM has no such content, and raises an
    :class:`~opsrunner.errors.OpsrunnerError` saying why when it fails.
    """

    def capture(self, vm_name: str, snapshot_id: str) -> bool:
        """A snapshot of the VM is created: keep its disk content as of now."""

    def restore(self, vm_name: str, snapshot_id: str) -> bool:
        """The (down) VM is restored from a snapshot: its disk content becomes the kept one."""

    def discard(self, snapshot_ids: Iterable[str]) -> None:
        """These snapshots are gone: drop what was kept for them."""


@dataclass
class ApiContext:
    """What a handler works with.

    :param user: the authenticated user's document (``users``), for events and ownership.
    :param correlation_id: the request's ``Correlation-Id`` header, echoed into its events.
    :param settings: timings, image storage and imageio of the simulated engine.
    :param guest_disk: told about snapshots of VMs (None: snapshots keep the API state only).
    """

    store: Store
    user: Document
    correlation_id: str | None = None
    settings: EngineSettings = field(default_factory=EngineSettings)
    guest_disk: GuestDisk | None = None


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
# GET entity: (document, query) -> the document as answered to that query.
Viewer = Callable[[Document, Mapping[str, str]], Document]


@dataclass
class Handlers:
    """The registered write handlers, by kind key (and action name)."""

    adders: dict[str, AddHandler] = field(default_factory=dict)
    updaters: dict[str, UpdateHandler] = field(default_factory=dict)
    removers: dict[str, RemoveHandler] = field(default_factory=dict)
    actions: dict[tuple[str, str], ActionHandler] = field(default_factory=dict)
    viewers: dict[str, Viewer] = field(default_factory=dict)
    hooks: dict[str, Hook] = field(default_factory=dict)

    def install_hooks(self, store: Store) -> None:
        """Register every scheduled hook with ``store``."""
        for name, hook in self.hooks.items():
            store.register_hook(name, hook)

