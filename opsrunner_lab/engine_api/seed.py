"""The estate a fresh lab engine knows: data center and cluster ``Default``, the lab's KVM hosts
(``up``, at their loopback addresses), its guests as VMs running on the first host, the NFS data
domain ``data`` with one disk per VM, the Blank template, the admin user, and the jobs and events
that bringing all that up left behind.

Every start of the simulator also adds the VMs of guests added to the lab since it was seeded
(:func:`add_guest_vms`): the engine then knows one VM per guest, as a fresh seed would.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from opsrunner_lab.engine_api import shapes, shapes_devices
from opsrunner_lab.engine_api.estate import ref_id
from opsrunner_lab.engine_api.events import record_event
from opsrunner_lab.engine_api.model import Document, ref
from opsrunner_lab.engine_api.networks import management_profile_id
from opsrunner_lab.engine_api.root import SYSTEM
from opsrunner_lab.engine_api.store import Store
from opsrunner_lab.guest_power import powered_off
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.sysroot_guest import guest_mac

ADMIN_LOGIN = "admin@internal"
ADMIN_USER_NAME = "admin@internal-authz"
DATA_DOMAIN = "data"
DATA_DOMAIN_PATH = "/exports/data"
SYSTEM_USER_ID = "00000000-0000-0000-0000-000000000000"
_MINUTE_MS = 60_000
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GuestVm:
    """A lab guest as its engine VM should be: the VM of a ``powered_off`` guest is down;
    ``address`` is the IPv4 address its guest agent reports (None: none)."""

    name: str
    powered_off: bool = False
    address: str | None = None


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
    """A seed function for :class:`~opsrunner_lab.engine_api.store.Store` of ``layout``'s lab."""

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
        add_guest_vms(store, lab_guest_vms(layout), created_ms=now - 30 * _MINUTE_MS)

    return seed


def lab_guest_vms(layout: LabLayout) -> list[GuestVm]:
    """The lab's guests, each marked powered off or not (:func:`.guest_power.powered_off`)."""
    return [GuestVm(name, powered_off(layout, name), layout.host(name).address)
            for name in layout.guests]


def _named_or_first(documents: list[Document], name: str) -> Document | None:
    """The document named ``name``, else the first one (None: there is none)."""
    return next((d for d in documents if d.get("name") == name), next(iter(documents), None))


def add_guest_vms(store: Store, guests: Iterable[GuestVm],
                  created_ms: int | None = None) -> list[str]:
    """Give each of ``guests`` that no VM is named like its VM; return their names, in order.

    A VM as seeded (:func:`_add_vm`), created at ``created_ms`` (default: now) in
    cluster ``Default`` with its disk on the data domain: up on the cluster's first up host,
    or down when its guest is powered off or no host is up. Logged like the engine: 34
    USER_ADD_VM, then 32 USER_RUN_VM for a VM that runs. VMs already there, and VMs that are
    no lab guest's, are left as they are; nothing is added to an estate without a cluster or a
    data domain (logged).
    """
    with store.transaction():
        known = {vm.get("name") for vm in store.documents("vms")}
        missing = [guest for guest in guests if guest.name not in known]
        cluster = _named_or_first(store.documents("clusters"), "Default")
        domain = _named_or_first([d for d in store.documents("storagedomains")
                                  if d.get("type") == "data"], DATA_DOMAIN)
        if not missing or cluster is None or domain is None:
            if missing:
                _log.warning("no VM added for guests %s: the engine has no cluster or no "
                             "data domain", ", ".join(g.name for g in missing))
            return []
        cluster_id, dc_id = str(cluster["id"]), ref_id(cluster, "data_center") or ""
        host = next((h for h in store.documents("hosts")
                     if ref_id(h, "cluster") == cluster_id and h.get("status") == "up"), None)
        user = next((u for u in store.documents("users") if u.get("_login") == ADMIN_LOGIN),
                    None)
        by_user = {"user": str(user["id"])} if user is not None else {}
        when = store.now_ms() if created_ms is None else created_ms
        for guest in missing:
            runs_on = None if guest.powered_off or host is None else host
            vm_id = _add_vm(store, guest.name, cluster_id, dc_id, str(domain["id"]),
                            str(runs_on["id"]) if runs_on is not None else None, when,
                            guest.address)
            record_event(store, 34, f"VM {guest.name} was created by {ADMIN_USER_NAME}.",
                         about={"vm": vm_id, "cluster": cluster_id, "data_center": dc_id,
                                **by_user})
            if runs_on is not None:
                record_event(store, 32, f"VM {guest.name} started on Host {runs_on['name']}",
                             about={"vm": vm_id, "host": str(runs_on["id"]), **by_user})
        return [guest.name for guest in missing]


def _add_vm(store: Store, name: str, cluster_id: str, dc_id: str, sd_id: str,
            host_id: str | None, created_ms: int, address: str | None = None) -> str:
    """A VM with its NIC, CD-ROM, boot disk and Active VM snapshot, up on ``host_id`` (None:
    down), its guest at ``address`` (``_ipv4``); returns its id."""
    vm_id, disk_id = _new_id(), _new_id()
    doc = shapes.vm(vm_id, name, cluster_id, host_id or "", created_ms)
    if address:
        doc["_ipv4"] = address
    if host_id is None:
        doc.update({"status": "down", "host": None, "start_time": None,
                    "stop_time": created_ms})
    store.put("vms", {k: v for k, v in doc.items() if v is not None})
    store.put("disks", shapes_devices.disk(disk_id, f"{name}_Disk1", sd_id, dc_id,
                                           10 * shapes.GIB))
    below = f"vms/{vm_id}"
    store.put(f"{below}/diskattachments", shapes_devices.disk_attachment(disk_id, vm_id))
    nic = shapes_devices.nic(_new_id(), "nic1", vm_id, guest_mac(name),
                             management_profile_id(store, dc_id) or "")
    if not nic["vnic_profile"]["id"]:
        del nic["vnic_profile"]
    store.put(f"{below}/nics", nic)
    store.put(f"{below}/cdroms", shapes_devices.cdrom(vm_id))
    store.put(f"{below}/snapshots", shapes_devices.active_snapshot(_new_id(), vm_id,
                                                                   created_ms))
    return vm_id
