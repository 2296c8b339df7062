"""``/vms/{id}/permissions``: a VM's permissions as the engine lists them, the inherited ones
included (the system's: ``admin@internal`` is SuperUser on every object). A view; the simulator
keeps no permissions given on a VM itself.
"""

from __future__ import annotations

from opsrunner_lab.engine_api.model import Document
from opsrunner_lab.engine_api.roles import permissions_view
from opsrunner_lab.engine_api.store import Store


def vm_permissions_view(store: Store, segments: list[str]) -> list[Document]:
    """The permissions of the VM ``segments[1]`` (its own and those it inherits)."""
    return permissions_view(store, segments) if store.get("vms", segments[1]) else []
