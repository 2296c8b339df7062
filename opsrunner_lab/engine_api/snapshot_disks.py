"""Views of disks by snapshot: ``/vms/{id}/snapshots/{sid}/disks`` (the VM's disks as of that
snapshot, each with its ``<snapshot>``) and ``/storagedomains/{id}/disksnapshots`` (one disk
snapshot per snapshot of each disk on the domain, with its ``<disk>`` and ``<snapshot>``).

The simulator keeps no per-snapshot disk images: a snapshot's disks are the disks the VM has
now, and a disk snapshot's id is derived from its disk's and snapshot's ids (stable).
"""

from __future__ import annotations

import uuid

from opsrunner_lab.engine_api.model import Document, ref
from opsrunner_lab.engine_api.store import Store

_NAMESPACE = uuid.UUID("6f707372-756e-6e65-722d-6469736b736e")
_DISK_KEYS = ("alias", "actual_size", "content_type", "format", "provisioned_size",
              "sparse", "status", "storage_type", "total_size", "storage_domains")


def snapshot_disks_view(store: Store, segments: list[str]) -> list[Document]:
    """``/vms/{id}/snapshots/{sid}/disks``: the VM's disks, each referring to the snapshot."""
    vm_id, snapshot_id = segments[1], segments[3]
    if store.get(f"vms/{vm_id}/snapshots", snapshot_id) is None:
        return []
    snapshot = ref(f"vms/{vm_id}/snapshots", snapshot_id)
    disks = (store.get("disks", str(a["id"]))
             for a in store.documents(f"vms/{vm_id}/diskattachments"))
    return [{**{k: v for k, v in disk.items() if not k.startswith("_")}, "snapshot": snapshot}
            for disk in disks if disk is not None]


def disk_snapshot_id(disk_id: str, snapshot_id: str) -> str:
    """The id of a disk's snapshot (stable for the pair)."""
    return str(uuid.uuid5(_NAMESPACE, f"{disk_id}/{snapshot_id}"))


def disk_snapshots(store: Store, disk: Document) -> list[Document]:
    """The snapshots of one disk: one per snapshot of each VM it is attached to."""
    out = []
    for vm in store.documents("vms"):
        vm_id = str(vm["id"])
        if store.get(f"vms/{vm_id}/diskattachments", str(disk["id"])) is None:
            continue
        for snapshot in store.documents(f"vms/{vm_id}/snapshots"):
            snapshot_id = str(snapshot["id"])
            fields = {k: disk[k] for k in _DISK_KEYS if k in disk}
            out.append({"id": disk_snapshot_id(str(disk["id"]), snapshot_id),
                        "description": snapshot.get("description", ""), **fields,
                        "disk": {"id": str(disk["id"])},
                        "snapshot": {"id": snapshot_id}})
    return out


def _on_domain(disk: Document, sd_id: str) -> bool:
    domains = disk.get("storage_domains", {}).get("storage_domain", [])
    return any(domain.get("id") == sd_id for domain in domains)


def domain_disk_snapshots_view(store: Store, segments: list[str]) -> list[Document]:
    """``/storagedomains/{id}/disksnapshots``: the snapshots of the domain's disks."""
    return [snap for disk in store.documents("disks") if _on_domain(disk, segments[1])
            for snap in disk_snapshots(store, disk)]
