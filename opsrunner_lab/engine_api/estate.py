"""Questions the engine's rules ask about the estate: which hosts are up in a cluster, which
disks a VM has, which of them are locked, what runs where.
"""

from __future__ import annotations

from collections.abc import Iterable

from opsrunner_lab.engine_api.catalog import RUNNING
from opsrunner_lab.engine_api.faults import ApiFault, conflict
from opsrunner_lab.engine_api.model import Document
from opsrunner_lab.engine_api.store import Store

# How the engine names a VM status in a message ("because the VM is in Down status").
LOCALIZED_VM_STATUS = {"down": "Down", "up": "Up", "image_locked": "Image Locked",
                       "powering_up": "Powering Up", "powering_down": "Powering Down",
                       "wait_for_launch": "Wait For Launch", "migrating": "Migrating From",
                       "paused": "Paused", "suspended": "Suspended",
                       "not_responding": "Not Responding", "unknown": "Unknown"}


def ref_id(doc: Document, field: str) -> str | None:
    """The id of the reference ``field`` of ``doc`` (``vm["host"]["id"]``), or None."""
    value = doc.get(field)
    return str(value["id"]) if isinstance(value, dict) and value.get("id") else None


def is_running(vm: Document) -> bool:
    return vm.get("status") in RUNNING


def vms_on_host(store: Store, host_id: str) -> list[Document]:
    """The running VMs a host runs."""
    return [vm for vm in store.documents("vms")
            if ref_id(vm, "host") == host_id and is_running(vm)]


def up_hosts(store: Store, cluster_id: str, exclude: Iterable[str] = ()) -> list[Document]:
    """The ``up`` hosts of a cluster, fewest running VMs first (the scheduler's choice)."""
    skip = set(exclude)
    hosts = [h for h in store.documents("hosts") if ref_id(h, "cluster") == cluster_id
             and h.get("status") == "up" and h["id"] not in skip]
    return sorted(hosts, key=lambda h: len(vms_on_host(store, str(h["id"]))))


def vm_disks(store: Store, vm_id: str) -> list[Document]:
    """The disks attached to a VM (its disk attachments share the disks' ids)."""
    disks = []
    for attachment in store.documents(f"vms/{vm_id}/diskattachments"):
        disk = store.get("disks", str(attachment["id"]))
        if disk is not None:
            disks.append(disk)
    return disks


def locked_disks(action: str, disks: Iterable[Document]) -> ApiFault | None:
    """The engine's fault for locked disks (``Cannot run VM: The following disks are
    locked: ...``), or None when none is locked."""
    names = [str(d.get("alias", d.get("name", d["id"]))) for d in disks
             if d.get("status") == "locked"]
    if not names:
        return None
    return conflict(f"Cannot {action}: The following disks are locked: {', '.join(names)}. "
                    "Please try again in a few minutes.")


def name(store: Store, collection: str, entity_id: str | None) -> str:
    """The name of an entity ("" when unknown)."""
    doc = store.get(collection, entity_id) if entity_id else None
    return str(doc.get("name", "")) if doc else ""


def vm_status_word(vm: Document) -> str:
    status = str(vm.get("status", "unknown"))
    return LOCALIZED_VM_STATUS.get(status, status.replace("_", " ").title())
