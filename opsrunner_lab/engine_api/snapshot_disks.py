"""Views of disks by snapshot: ``/vms/{id}/snapshots/{sid}/disks`` (the VM's disks as of that
snapshot, each with its ``<snapshot>``), ``/storagedomains/{id}/disksnapshots`` and
``/disks/{id}/disksnapshots`` (the images of disks in their VMs' snapshots, each with its
``<disk>``, ``<snapshot>`` and ``<parent>`` image).

As on the engine (GetAllDiskSnapshots*Query) a disk's active image, the one of the ``Active VM``
snapshot, is listed only with ``include_active=true``; its id is the disk's ``image_id``. The
simulator keeps no per-snapshot image metadata: an image has its disk's current values, and its
id is derived from its disk's and snapshot's ids (stable).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from opsrunner_lab.engine_api.model import Document, href, ref
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


def disk_snapshots(store: Store, disk: Document,
                   collection: str | None = None) -> list[Document]:
    """The images of one disk, oldest first: one per snapshot of each VM it is attached to, the
    active one marked ``_active``. With ``collection`` (``disks/{id}/disksnapshots``) the
    parent's reference carries its href there, as the engine writes it."""
    out = []
    disk_id = str(disk["id"])
    for vm in store.documents("vms"):
        vm_id = str(vm["id"])
        if store.get(f"vms/{vm_id}/diskattachments", disk_id) is None:
            continue
        parent: str | None = None
        snapshots = sorted(store.documents(f"vms/{vm_id}/snapshots"),
                           key=lambda s: (s.get("snapshot_type") == "active", s.get("date", 0)))
        for snapshot in snapshots:
            snapshot_id = str(snapshot["id"])
            active = snapshot.get("snapshot_type") == "active"
            image_id = (str(disk.get("image_id") or disk_snapshot_id(disk_id, snapshot_id))
                        if active else disk_snapshot_id(disk_id, snapshot_id))
            fields = {k: disk[k] for k in _DISK_KEYS if k in disk}
            image: Document = {"id": image_id, "description": snapshot.get("description", ""),
                               **fields, "disk": {"id": disk_id},
                               "snapshot": {"id": snapshot_id}}
            if parent is not None:
                image["parent"] = ({"id": parent} if collection is None
                                   else {"href": href(collection, parent), "id": parent})
            if active:
                image["_active"] = True
            out.append(image)
            parent = image_id
    return out


def listed(docs: list[Document], query: Mapping[str, str]) -> list[Document]:
    """The disk snapshots a list answers: the active images only with ``include_active``."""
    if query.get("include_active", "false").lower() == "true":
        return docs
    return [doc for doc in docs if not doc.get("_active")]


def _on_domain(disk: Document, sd_id: str) -> bool:
    domains = disk.get("storage_domains", {}).get("storage_domain", [])
    return any(domain.get("id") == sd_id for domain in domains)


def domain_disk_snapshots_view(store: Store, segments: list[str]) -> list[Document]:
    """``/storagedomains/{id}/disksnapshots``: the snapshots of the domain's disks."""
    return [snap for disk in store.documents("disks") if _on_domain(disk, segments[1])
            for snap in disk_snapshots(store, disk)]


def disk_disk_snapshots_view(store: Store, segments: list[str]) -> list[Document]:
    """``/disks/{id}/disksnapshots``: the disk's images in snapshots."""
    disk = store.get("disks", segments[1])
    return [] if disk is None else disk_snapshots(store, disk, "/".join(segments[:3]))
