"""``/vms/{id}/reporteddevices``: the network interfaces the guest agent of a running VM
reports, as the engine answers them.

A view (nothing is stored): a VM that runs reports one ``network`` device per plugged NIC, in
NIC order, named as the guest names it (``eth0``, ``eth1``, ...), with the NIC's MAC and its
addresses: the guest's IPv4 address on the first NIC (``_ipv4`` of the VM: the lab guest's
address) and, on every NIC, the IPv6 link-local address the guest derives from the MAC
(EUI-64), IPv4 first. A VM that does not run reports nothing. A device's id is the engine's:
the first 16 bytes of its name followed by its MAC (``eth056:6f:...``) read as a UUID.
"""

from __future__ import annotations

import uuid

from opsrunner_lab.engine_api.model import Document, listing, ref
from opsrunner_lab.engine_api.statistics import RUNNING
from opsrunner_lab.engine_api.store import Store

DESCRIPTION = "guest reported data"


def device_id(name: str, mac: str) -> str:
    """The engine's id of the reported device ``name`` with ``mac`` (see the module doc)."""
    return str(uuid.UUID(bytes=(name + mac).encode()[:16].ljust(16, b"\0")))


def link_local(mac: str) -> str:
    """The IPv6 link-local (EUI-64) address of ``mac``, as the kernel writes it."""
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    eui = [*octets[:3], 0xFF, 0xFE, *octets[3:]]
    groups = [f"{(eui[i] << 8) | eui[i + 1]:x}" for i in range(0, 8, 2)]
    return "fe80::" + ":".join(groups)


def reported_devices(store: Store, vm: Document) -> list[Document]:
    """The devices the guest agent of ``vm`` reports (see the module doc)."""
    if vm.get("status") not in RUNNING:
        return []
    nics = [nic for nic in store.documents(f"vms/{vm['id']}/nics")
            if nic.get("plugged") == "true" and nic.get("mac", {}).get("address")]
    devices = []
    for number, nic in enumerate(nics):
        mac = str(nic["mac"]["address"]).lower()
        ips = []
        if number == 0 and vm.get("_ipv4"):
            ips.append({"address": str(vm["_ipv4"]), "version": "v4"})
        ips.append({"address": link_local(mac), "version": "v6"})
        name = f"eth{number}"
        devices.append({"id": device_id(name, mac), "name": name, "description": DESCRIPTION,
                        "ips": listing("ip", ips), "mac": {"address": mac},
                        "type": "network", "vm": ref("vms", str(vm["id"]))})
    return devices


def reported_devices_view(store: Store, segments: list[str]) -> list[Document]:
    """``/vms/{id}/reporteddevices``."""
    vm = store.get("vms", segments[1])
    return [] if vm is None else reported_devices(store, vm)
