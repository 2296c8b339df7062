"""Storage and VM device documents: storage domains, disks, disk attachments, NICs, CD-ROMs,
snapshots, as an OLVM 4.5 engine answers them.
"""

from __future__ import annotations

import uuid

from opsrunner_lab.engine_api.model import Document, listing, ref
from opsrunner_lab.engine_api.shapes import GIB
from opsrunner_lab.sysroot_files import fqdn


def nfs_data_domain(sd_id: str, name: str, dc_id: str, engine: str, path: str) -> Document:
    """An NFS data domain attached (``_dc_status``) and master in data center ``dc_id``.

    The global view has no ``status``; the data-center view shows ``_dc_status`` as ``status``.
    """
    return {
        "id": sd_id, "name": name, "description": "", "comment": "",
        "available": str(45 * GIB), "backup": "false", "block_size": "512",
        "committed": str(10 * GIB), "critical_space_action_blocker": "5",
        "discard_after_delete": "false", "external_status": "ok", "master": "true",
        "storage": {"address": fqdn(engine), "path": path, "type": "nfs"},
        "storage_format": "v5", "supports_discard": "false",
        "supports_discard_zeroes_data": "false", "type": "data", "used": str(5 * GIB),
        "warning_low_space_indicator": "10", "wipe_after_delete": "false",
        "data_centers": listing("data_center", [ref("datacenters", dc_id)]),
        "_dc_status": "active", "_dc_id": dc_id,
    }


def disk(disk_id: str, name: str, sd_id: str, dc_id: str, size: int) -> Document:
    """A thin qcow2 data disk on ``sd_id``, ``ok``."""
    return {
        "id": disk_id, "name": name, "description": "", "actual_size": str(size // 8),
        "alias": name, "backup": "none", "content_type": "data", "format": "cow",
        "image_id": str(uuid.uuid4()), "propagate_errors": "false",
        "provisioned_size": str(size), "qcow_version": "qcow2_v3", "shareable": "false",
        "sparse": "true", "status": "ok", "storage_type": "image",
        "total_size": str(size // 8), "wipe_after_delete": "false",
        "disk_profile": ref("diskprofiles", sd_id),
        "quota": ref(f"datacenters/{dc_id}/quotas", dc_id),
        "storage_domains": listing("storage_domain", [ref("storagedomains", sd_id)]),
    }


def disk_attachment(disk_id: str, vm_id: str, bootable: bool = True) -> Document:
    """A disk plugged into a VM as virtio ``/dev/vda``; its id is the disk's."""
    return {"id": disk_id, "active": "true", "bootable": "true" if bootable else "false",
            "interface": "virtio", "logical_name": "/dev/vda", "pass_discard": "false",
            "read_only": "false", "uses_scsi_reservation": "false",
            "disk": ref("disks", disk_id), "vm": ref("vms", vm_id)}


def nic(nic_id: str, name: str, vm_id: str, mac: str, profile_id: str) -> Document:
    """A plugged, linked virtio NIC on the ``ovirtmgmt`` profile."""
    return {"id": nic_id, "name": name, "interface": "virtio", "linked": "true",
            "mac": {"address": mac}, "plugged": "true", "synced": "true",
            "vnic_profile": ref("vnicprofiles", profile_id), "vm": ref("vms", vm_id)}


def cdrom(vm_id: str) -> Document:
    """The VM's (empty) CD-ROM; the engine gives every VM's CD-ROM this well-known id."""
    return {"id": "00000000-0000-0000-0000-000000000000", "vm": ref("vms", vm_id)}


def active_snapshot(snapshot_id: str, vm_id: str, date_ms: int) -> Document:
    """The ``Active VM`` snapshot every VM has (no sub-collection links, like the engine's;
    its ``vm`` is an id only, as the engine writes it)."""
    return {"id": snapshot_id, "description": "Active VM", "date": date_ms,
            "persist_memorystate": "false", "snapshot_status": "ok",
            "snapshot_type": "active", "vm": {"id": vm_id}, "_links": []}
