"""The OVF descriptor of a VM's OVA, in the shape of the engine's OVA writer: ``References``
(one file per disk image), ``NetworkSection``, ``DiskSection`` (the oVirt ``ovf:`` disk
attributes), and the ``VirtualSystem`` with its OS and virtual hardware (CPU, memory, disks and
NICs as ``rasd`` items). Only what the simulator models is written.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from opsrunner_lab.engine_api.model import Document

OVF = "http://schemas.dmtf.org/ovf/envelope/1/"
RASD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
VSSD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
OVF_VERSION = "4.5.0.0"
GIB = 1 << 30
_INTERFACES = {"virtio": "VirtIO", "virtio_scsi": "VirtIO_SCSI", "sata": "SATA", "ide": "IDE"}

for _prefix, _uri in (("ovf", OVF), ("rasd", RASD), ("vssd", VSSD), ("xsi", XSI)):
    ET.register_namespace(_prefix, _uri)


@dataclass(frozen=True)
class OvaDisk:
    """A disk as the OVA holds it: its document, attachment, and image (member) name."""

    disk: Document
    attachment: Document
    image_id: str


def _o(name: str) -> str:
    return f"{{{OVF}}}{name}"


def _r(name: str) -> str:
    return f"{{{RASD}}}{name}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _item(hardware: ET.Element, fields: dict[str, str]) -> None:
    item = _sub(hardware, "Item")
    for name, value in fields.items():
        _sub(item, _r(name), value)


def _gib(value: object) -> str:
    return str(max(1, -(-int(str(value or 0)) // GIB)))


def _disks(envelope: ET.Element, disks: list[OvaDisk]) -> None:
    references = _sub(envelope, "References")
    for d in disks:
        _sub(references, "File", **{_o("href"): d.image_id, _o("id"): d.image_id,
                                    _o("size"): str(d.disk.get("provisioned_size", "0")),
                                    _o("description"): str(d.disk.get("alias", ""))})
    section = _sub(envelope, "Section", **{f"{{{XSI}}}type": "ovf:DiskSection_Type"})
    _sub(section, "Info", "List of Virtual Disks")
    for d in disks:
        _sub(section, "Disk", **{
            _o("diskId"): d.image_id, _o("size"): _gib(d.disk.get("provisioned_size")),
            _o("actual_size"): _gib(d.disk.get("actual_size")),
            _o("capacity"): str(d.disk.get("provisioned_size", "0")),
            _o("vm_snapshot_id"): "", _o("parentRef"): "", _o("fileRef"): d.image_id,
            _o("format"): "http://www.vmware.com/specifications/vmdk.html#sparse",
            _o("volume-format"): "RAW", _o("volume-type"): "Sparse",
            _o("disk-interface"): _INTERFACES.get(str(d.attachment.get("interface")),
                                                  "VirtIO"),
            _o("boot"): str(d.attachment.get("bootable", "false")),
            _o("disk-alias"): str(d.disk.get("alias", "")),
            _o("disk-description"): str(d.disk.get("description", "")),
            _o("wipe-after-delete"): str(d.disk.get("wipe_after_delete", "false"))})


def vm_ovf(vm: Document, disks: list[OvaDisk], nics: list[Document],
           networks: dict[str, str]) -> str:
    """The OVF text of ``vm`` with ``disks`` and ``nics`` (``networks``: NIC id -> network)."""
    envelope = ET.Element(_o("Envelope"), {_o("version"): OVF_VERSION})
    _disks(envelope, disks)
    network_section = _sub(envelope, "Section", **{f"{{{XSI}}}type": "ovf:NetworkSection_Type"})
    _sub(network_section, "Info", "List of networks")
    for network in sorted(set(networks.values())):
        _sub(network_section, "Network", **{_o("name"): network})
    system = _sub(envelope, "Content", **{_o("id"): str(vm["id"]),
                                          f"{{{XSI}}}type": "ovf:VirtualSystem_Type"})
    for tag, key in (("Name", "name"), ("Description", "description"), ("Comment", "comment")):
        _sub(system, tag, str(vm.get(key, "")))
    os_section = _sub(system, "Section", **{_o("id"): str(vm["id"]), _o("required"): "false",
                                            f"{{{XSI}}}type": "ovf:OperatingSystemSection_Type"})
    _sub(os_section, "Info", "Guest Operating System")
    _sub(os_section, "Description", str(vm.get("os", {}).get("type", "other")))
    topology = vm.get("cpu", {}).get("topology", {})
    sockets, cores, threads = (int(topology.get(k, 1)) for k in ("sockets", "cores", "threads"))
    memory_mb = int(str(vm.get("memory", 0))) // (1 << 20)
    hardware = _sub(system, "Section", **{f"{{{XSI}}}type": "ovf:VirtualHardwareSection_Type"})
    _sub(hardware, "Info", f"{sockets * cores * threads} CPU, {memory_mb} Memory")
    _item(hardware, {"Caption": f"{sockets * cores * threads} virtual cpu",
                     "Description": "Number of virtual CPU", "InstanceId": "1",
                     "ResourceType": "3", "num_of_sockets": str(sockets),
                     "cpu_per_socket": str(cores), "threads_per_cpu": str(threads)})
    _item(hardware, {"Caption": f"{memory_mb} MB of memory", "Description": "Memory Size",
                     "InstanceId": "2", "ResourceType": "4", "AllocationUnits": "MegaBytes",
                     "VirtualQuantity": str(memory_mb)})
    for d in disks:
        _item(hardware, {"Caption": str(d.disk.get("alias", "")),
                         "InstanceId": d.image_id, "ResourceType": "17",
                         "HostResource": d.image_id, "Parent": "00000000-0000-0000-0000-"
                         "000000000000", "Template": "00000000-0000-0000-0000-000000000000",
                         "ApplicationList": "", "StorageId": "", "StoragePoolId": ""})
    for nic in nics:
        _item(hardware, {"Caption": f"Ethernet adapter on {networks.get(str(nic['id']), '')}",
                         "InstanceId": str(nic["id"]), "ResourceType": "10",
                         "OtherResourceType": "", "ResourceSubType": "3",
                         "Connection": networks.get(str(nic["id"]), ""),
                         "Linked": str(nic.get("linked", "true")),
                         "Name": str(nic.get("name", "")),
                         "MACAddress": str(nic.get("mac", {}).get("address", ""))})
    body = ET.tostring(envelope, encoding="unicode")
    return "<?xml version='1.0' encoding='UTF-8'?>\n" + body
