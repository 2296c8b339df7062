"""The estate a fresh lab engine knows: data center and cluster ``Default``, the lab's KVM hosts
(``up``, at their loopback addresses), its guests as VMs running on the first host, the NFS data
domain ``data`` with one disk per VM, the Blank template, the admin user, and the jobs and events
that bringing all that up left behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from opsrunner.lab.engine_api import shapes, shapes_devices
from opsrunner.lab.engine_api.events import record_event
from opsrunner.lab.engine_api.model import Document, ref
from opsrunner.lab.engine_api.root import SYSTEM
from opsrunner.lab.engine_api.store import Store
from opsrunner.lab.layout import ENGINE, LabLayout
from opsrunner.lab.sysroot_guest import guest_mac

ADMIN_LOGIN = "admin@internal"
ADMIN_USER_NAME = "admin@internal-authz"
DATA_DOMAIN = "data"
DATA_DOMAIN_PATH = "/exports/data"
SYSTEM_USER_ID = "00000000-0000-0000-0000-000000000000"
_MINUTE_MS = 60_000


def _new_id() -> str:
    return str(uuid.uuid4())


def admin_user(user_id: str) -> Document:
    """The internal ``admin`` user; ``_login`` is the name it logs in with."""
    return {"id": user_id, "name": "admin", "department": "", "domain_entry_id": "admin",
            "email": "", "last_name": "", "namespace": "*", "principal": "admin",
            "user_name": ADMIN_USER_NAME,
            "domain": ref("domains", "internal-authz", name="internal-authz"),
            "_login": ADMIN_LOGIN}


def _job(description: str, owner_id: str, start_ms: int, end_ms: int) -> Document:
    return {"id": _new_id(), "auto_cleared": "true", "end_time": end_ms, "external": "false",
            "last_updated": end_ms, "start_time": start_ms, "status": "finished",
            "owner": ref("users", owner_id), "description": description}


def seed_estate(layout: LabLayout) -> Callable[[Store], None]:
    """A seed function for :class:`~opsrunner.lab.engine_api.store.Store` of ``layout``'s lab."""

    def seed(store: Store) -> None:
        now = store.now_ms()
        start = now - 60 * _MINUTE_MS
        dc_id, cluster_id, sd_id, user_id = _new_id(), _new_id(), _new_id(), _new_id()
        store.put(SYSTEM, {"id": "engine", "instance_id": _new_id()})
        store.put("users", admin_user(user_id))
        store.put("datacenters", shapes.data_center(dc_id))
        store.put("clusters", shapes.cluster(cluster_id, dc_id))
        store.put("templates", shapes.blank_template(start))
        store.put("storagedomains", shapes_devices.nfs_data_domain(
            sd_id, DATA_DOMAIN, dc_id, ENGINE, DATA_DOMAIN_PATH))
        record_event(store, 962, f"Storage Domain {DATA_DOMAIN} was attached to Data Center "
                                 f"Default by {ADMIN_USER_NAME}",
                     about={"data_center": dc_id, "storage_domain": sd_id, "user": user_id})
        hosts = [h for h in layout.hosts() if h.role == "kvm"]
        for number, lab_host in enumerate(hosts):
            host_id = _new_id()
            store.put("hosts", shapes.host(host_id, lab_host.name, lab_host.address, cluster_id,
                                           lab_host.port, spm=number == 0))
            store.put("jobs", _job(f"Adding new Host {lab_host.name} to Cluster Default",
                                   user_id, start + number * _MINUTE_MS,
                                   start + (number + 5) * _MINUTE_MS))
            record_event(store, 13, f"Status of host {lab_host.name} was set to Up.",
                         about={"host": host_id, "cluster": cluster_id})
        first_host = store.documents("hosts")[0]["id"] if hosts else None
        for guest in (h for h in layout.hosts() if h.role == "guest"):
            _add_vm(store, guest.name, cluster_id, dc_id, sd_id, first_host, now)
            vm_id = store.documents("vms")[-1]["id"]
            record_event(store, 34, f"VM {guest.name} was created by {ADMIN_USER_NAME}.",
                         about={"vm": vm_id, "cluster": cluster_id, "data_center": dc_id,
                                "user": user_id})
            if first_host is not None:
                record_event(store, 32, f"VM {guest.name} started on Host {hosts[0].name}",
                             about={"vm": vm_id, "host": first_host, "user": user_id})

    return seed


def _add_vm(store: Store, name: str, cluster_id: str, dc_id: str, sd_id: str,
            host_id: str | None, now: int) -> None:
    """A VM with its NIC, CD-ROM, boot disk and Active VM snapshot; up on ``host_id``."""
    vm_id, disk_id = _new_id(), _new_id()
    doc = shapes.vm(vm_id, name, cluster_id, host_id or "", now - 30 * _MINUTE_MS)
    if host_id is None:
        doc.update({"status": "down", "host": None, "start_time": None,
                    "stop_time": now - 30 * _MINUTE_MS})
    store.put("vms", {k: v for k, v in doc.items() if v is not None})
    store.put("disks", shapes_devices.disk(disk_id, f"{name}_Disk1", sd_id, dc_id,
                                           10 * shapes.GIB))
    below = f"vms/{vm_id}"
    store.put(f"{below}/diskattachments", shapes_devices.disk_attachment(disk_id, vm_id))
    store.put(f"{below}/nics", shapes_devices.nic(_new_id(), "nic1", vm_id, guest_mac(name),
                                                  cluster_id))
    store.put(f"{below}/cdroms", shapes_devices.cdrom(vm_id))
    store.put(f"{below}/snapshots", shapes_devices.active_snapshot(_new_id(), vm_id,
                                                                   now - 30 * _MINUTE_MS))
