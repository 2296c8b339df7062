"""``POST /vms/{id}/nics``: a NIC added to a VM (hot plugged into a running one), and the NICs a
new template takes from its VM (:func:`copy_nics_to_template`).

Checks follow the engine, in its order: a name is required (400 ``Incomplete parameters``), the
interface must be a NicInterface value (400 ``Invalid value``; default ``virtio``), the name and
MAC must be well formed (400), the VM must be Down, Up or Image-Locked (409), the name unused in
the VM and the MAC unused by every VM's NICs (409). A NIC without a MAC gets a free one of the
lab's pool ``56:6f:xx:xx:xx:xx``; MACs are kept lower-case. ``plugged`` and ``linked`` default to
true; ``vnic_profile`` is referenced by id and must be a known profile (400 ``Cannot add
Interface. The specified VM network interface profile doesn't exist.``, checked after the MAC);
without one the NIC is on no network, as on the engine.

A template's NICs keep name, interface, profile, plugged and linked, and have no MAC: a VM made
from the template gets new addresses.

Event: 932 NETWORK_ADD_VM_INTERFACE "Interface X (VirtIO) was added to VM Y. (User: U)".
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Mapping

from opsrunner_lab.engine_api.faults import ApiFault, bad_request, conflict, incomplete
from opsrunner_lab.engine_api.handlers import ApiContext, Handlers
from opsrunner_lab.engine_api.model import Document, ref
from opsrunner_lab.engine_api.networks import vnic_profiles_view
from opsrunner_lab.engine_api.store import Store
from opsrunner_lab.engine_api.transitions import event_now, new_id, require, user_name
from opsrunner_lab.engine_api.xmlcodec import child_text

ADDED_CODE = 932
MAC_POOL_PREFIX = "56:6f"
# The API's NicInterface values, and how the engine names each in events (VmInterfaceType).
NIC_INTERFACES = {"e1000": "e1000", "e1000e": "e1000e", "pci_passthrough": "PCI Passthrough",
                  "rtl8139": "rtl8139", "rtl8139_virtio": "Dual mode rtl8139, VirtIO",
                  "spapr_vlan": "sPAPR VLAN", "virtio": "VirtIO"}
NIC_STATUSES = ("down", "up", "image_locked")
BAD_MAC = ('MAC address must be in format "HH:HH:HH:HH:HH:HH" where H is a hexadecimal '
           "character (either a digit or A-F, case is insignificant).")
MULTICAST_MAC = "Multi-cast MAC address is not allowed."
BAD_NAME = 'Name must be formed of alphanumeric characters, numbers or "-_.".'
NAME_IN_USE = "Network interface name is already in use"
NO_SUCH_PROFILE = ("Cannot add Interface. The specified VM network interface profile doesn't "
                   "exist.")
WRONG_VM_STATUS = "Cannot add a Network Interface when VM is not Down, Up or Image-Locked."
_MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
_NAME = re.compile(r"^[0-9A-Za-z_.-]+$")
_TEMPLATE_KEYS = ("name", "interface", "linked", "plugged")


def mac_problem(address: str) -> str | None:
    """Why the engine refuses ``address`` as a NIC's MAC, or None when it takes it."""
    mac = address.lower()
    if not _MAC.match(mac) or mac == "00:00:00:00:00:00":
        return BAD_MAC
    if int(mac[:2], 16) & 1:
        return MULTICAST_MAC
    return None


def allocate_mac(used: Collection[str], seed: str) -> str:
    """A pool address (``56:6f:xx:xx:xx:xx``) not in ``used``, the same for the same ``seed``
    and ``used``."""
    attempt = 0
    while True:
        digest = hashlib.sha256(f"{seed}#{attempt}".encode()).digest()
        mac = MAC_POOL_PREFIX + ":" + ":".join(f"{byte:02x}" for byte in digest[:4])
        if mac not in used:
            return mac
        attempt += 1


def used_macs(store: Store) -> dict[str, str]:
    """Every VM NIC's MAC (lower-case) -> the name of the VM that has it."""
    found: dict[str, str] = {}
    for vm in store.documents("vms"):
        for nic in store.documents(f"vms/{vm['id']}/nics"):
            address = nic.get("mac", {}).get("address")
            if address:
                found[str(address).lower()] = str(vm["name"])
    return found


def template_nic(nic: Document, nic_id: str, template_id: str) -> Document:
    """The template's copy of a VM NIC: same name, interface, plugged, linked and profile; no
    MAC."""
    copied: Document = {"id": nic_id, **{key: nic[key] for key in _TEMPLATE_KEYS if key in nic},
                        "template": ref("templates", template_id)}
    if isinstance(nic.get("vnic_profile"), dict):
        copied["vnic_profile"] = dict(nic["vnic_profile"])
    return copied


def copy_nics_to_template(store: Store, vm_id: str, template_id: str) -> None:
    """Give template ``template_id`` a copy (:func:`template_nic`) of each NIC of VM ``vm_id``."""
    for nic in store.documents(f"vms/{vm_id}/nics"):
        store.put(f"templates/{template_id}/nics", template_nic(nic, new_id(), template_id))


def _interface(body: ET.Element) -> str:
    text = child_text(body, "interface")
    if text is None or text == "":
        return "virtio"
    if text.lower() not in NIC_INTERFACES:
        allowed = ", ".join(NIC_INTERFACES)
        raise ApiFault(400, f"{text} is not a member of NicInterface. Possible values for "
                            f"NicInterface are: {allowed}", reason="Invalid value")
    return text.lower()


def _flag(body: ET.Element, key: str) -> str:
    """A boolean element as the engine writes it; absent means true."""
    text = child_text(body, key)
    if text is None or text.lower() in ("true", "1"):
        return "true"
    if text.lower() in ("false", "0"):
        return "false"
    raise ApiFault(400, f"The value '{text}' of '{key}' is not a boolean; use true or false",
                   reason="Invalid value")


def add_vm_nic(ctx: ApiContext, collection: str, body: ET.Element,
               query: Mapping[str, str]) -> Document:
    """``POST /vms/{id}/nics``: the new NIC (see the module doc)."""
    store, vm_id = ctx.store, collection.split("/")[1]
    with store.transaction():
        vm = require(ctx, "vms", vm_id)
        name = child_text(body, "name")
        if not name:
            raise incomplete("Nic", ["name"], "add")
        interface = _interface(body)
        if not _NAME.match(name):
            raise bad_request(BAD_NAME)
        mac = child_text(body, "mac/address")
        problem = mac_problem(mac) if mac else None
        if problem is not None:
            raise bad_request(problem)
        profile = body.find("vnic_profile")
        profile_id = (profile.get("id") or "").strip() if profile is not None else ""
        if profile_id and profile_id not in {p["id"] for p in vnic_profiles_view(store, [])}:
            raise bad_request(NO_SUCH_PROFILE)
        if vm.get("status") not in NIC_STATUSES:
            raise conflict(WRONG_VM_STATUS)
        if any(nic.get("name") == name for nic in store.documents(collection)):
            raise conflict(NAME_IN_USE)
        in_use = used_macs(store)
        if mac and mac.lower() in in_use:
            raise conflict(f"MAC Address {mac.lower()} is already in use by VM or snapshot: "
                           f"{in_use[mac.lower()]}.")
        address = mac.lower() if mac else allocate_mac(in_use, f"{vm['name']}/{name}")
        doc: Document = {"id": new_id(), "name": name, "interface": interface,
                         "linked": _flag(body, "linked"), "mac": {"address": address},
                         "plugged": _flag(body, "plugged"), "synced": "true"}
        if profile_id:
            doc["vnic_profile"] = ref("vnicprofiles", profile_id)
        doc["vm"] = ref("vms", vm_id)
        created = store.put(collection, doc)
        event_now(ctx, ADDED_CODE, f"Interface {name} ({NIC_INTERFACES[interface]}) was added "
                                   f"to VM {vm['name']}. (User: {user_name(ctx)})",
                  about={"vm": vm_id})
        return created


def register(handlers: Handlers) -> None:
    handlers.adders["vms/nics"] = add_vm_nic
