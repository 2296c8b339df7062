"""The OVF descriptor of a VM's OVA, in the shape of the engine's OVA writer (OvfOvaVmWriter):
an ``Envelope`` in the OVF namespace (its default namespace; prefixes ``ovf``, ``rasd``,
``vssd``, ``xsi``, ``ovirt``) holding ``References`` (a ``File`` per disk image),
``NetworkSection``, ``DiskSection`` (the ``ovf:`` disk attributes the engine writes) and the
``VirtualSystem``: name, description, comment, dates, ``OperatingSystemSection`` (the CIM
and the oVirt OS ids) and ``VirtualHardwareSection`` (CPU, memory, disks and NICs as
``rasd`` items). Only what the simulator models is written; the disks are declared RAW, as
the OVA holds their raw images (the engine converts them to qcow2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from opsrunner_lab.engine_api.model import Document

OVF = "http://schemas.dmtf.org/ovf/envelope/1"
RASD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
VSSD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
OVIRT = "http://www.ovirt.org/ovf"
RAW_FORMAT = "http://www.vmware.com/specifications/vmdk.html#sparse"
GIB = 1 << 30
_INTERFACES = {"virtio": "VirtIO", "virtio_scsi": "VirtIO_SCSI", "sata": "SATA", "ide": "IDE"}
# osinfo type -> (oVirt id, name, the CIM id the OVA writer maps it to).
_OS = {"other": (0, "Other OS", 1), "other_linux": (5, "Linux", 36),
       "rhel_6x64": (19, "Red Hat Enterprise Linux 6.x x64", 80),
       "rhel_7x64": (24, "Red Hat Enterprise Linux 7.x x64", 80),
       "rhel_8x64": (30, "Red Hat Enterprise Linux 8.x x64", 1),
       "rhel_9x64": (34, "Red Hat Enterprise Linux 9.x x64", 80)}


@dataclass(frozen=True)
class OvaDisk:
    """A disk as the OVA holds it: its document, attachment, and image (member) name."""

    disk: Document
    attachment: Document
    image_id: str


class _Xml:
    """A minimal XML writer (elements, ``ovf:``-style attributes, text)."""

    def __init__(self) -> None:
        self.parts: list[str] = ["<?xml version='1.0' encoding='UTF-8'?>"]
        self.open: list[str] = []

    def start(self, tag: str, **attrs: str) -> None:
        self.parts.append(f"<{tag}{_attrs(attrs)}>")
        self.open.append(tag)

    def end(self) -> None:
        self.parts.append(f"</{self.open.pop()}>")

    def empty(self, tag: str, **attrs: str) -> None:
        self.parts.append(f"<{tag}{_attrs(attrs)}/>")

    def text(self, tag: str, value: str, **attrs: str) -> None:
        self.parts.append(f"<{tag}{_attrs(attrs)}>{escape(value)}</{tag}>")

    def done(self) -> str:
        return "".join(self.parts) + "\n"


def _attrs(attrs: dict[str, str]) -> str:
    """``ovf_diskId`` -> ``ovf:diskId``, ``xmlns_ovf`` -> ``xmlns:ovf``."""
    return "".join(f" {name.replace('_', ':', 1).replace('__', '-')}={quoteattr(value)}"
                   for name, value in attrs.items())


def _gib(value: object) -> str:
    return str(-(-int(str(value or 0)) // GIB))


def _date(millis: object) -> str:
    moment = (datetime.fromtimestamp(int(str(millis)) / 1000, UTC) if millis
              else datetime.now(UTC))
    return moment.strftime("%Y/%m/%d %H:%M:%S")


def _disk_section(xml: _Xml, disks: list[OvaDisk]) -> None:
    xml.start("DiskSection")
    xml.text("Info", "List of Virtual Disks")
    for d in disks:
        disk = d.disk
        xml.empty("Disk", **{
            "ovf_diskId": str(disk["id"]), "ovf_capacity": _gib(disk.get("provisioned_size")),
            "ovf_capacityAllocationUnits": "byte * 2^30",
            "ovf_populatedSize": str(disk.get("actual_size", "0")), "ovf_parentRef": "",
            "ovf_fileRef": d.image_id, "ovf_format": RAW_FORMAT, "ovf_volume__format": "RAW",
            "ovf_volume__type": "Sparse" if disk.get("sparse") == "true" else "Preallocated",
            "ovf_disk__interface": _INTERFACES.get(str(d.attachment.get("interface")),
                                                   "VirtIO"),
            "ovf_boot": str(d.attachment.get("bootable", "false")),
            "ovf_pass__discard": str(d.attachment.get("pass_discard", "false")),
            "ovf_disk__alias": str(disk.get("alias", "")),
            "ovf_disk__description": str(disk.get("description", "")),
            "ovf_wipe__after__delete": str(disk.get("wipe_after_delete", "false")),
            "ovf_description": str(disk.get("description", "")),
            "ovf_disk_storage_type": "IMAGE"})
    xml.end()


def _item(xml: _Xml, fields: dict[str, str]) -> None:
    xml.start("Item")
    for name, value in fields.items():
        xml.text(f"rasd:{name}", value)
    xml.end()


def _hardware(xml: _Xml, vm: Document, disks: list[OvaDisk], nics: list[Document],
              networks: dict[str, str]) -> None:
    topology = vm.get("cpu", {}).get("topology", {})
    sockets, cores, threads = (int(topology.get(k, 1)) for k in ("sockets", "cores", "threads"))
    cpus, memory_mb = sockets * cores * threads, int(str(vm.get("memory", 0))) // (1 << 20)
    xml.start("VirtualHardwareSection")
    xml.text("Info", f"{cpus} CPU, {memory_mb} Memory")
    _item(xml, {"Caption": f"{cpus} virtual cpu", "Description": "Number of virtual CPU",
                "InstanceID": "1", "ResourceType": "3", "num_of_sockets": str(sockets),
                "cpu_per_socket": str(cores), "threads_per_cpu": str(threads)})
    _item(xml, {"Caption": f"{memory_mb} MB of memory", "Description": "Memory Size",
                "InstanceID": "2", "ResourceType": "4", "AllocationUnits": "MegaBytes",
                "VirtualQuantity": str(memory_mb)})
    for d in disks:
        _item(xml, {"Caption": str(d.disk.get("alias", "")), "InstanceID": d.image_id,
                    "ResourceType": "17", "HostResource": f"ovf:/disk/{d.disk['id']}"})
    for nic in nics:
        network = networks.get(str(nic["id"]), "")
        _item(xml, {"Caption": f"Ethernet adapter on {network}",
                    "InstanceID": str(nic["id"]), "ResourceType": "10", "ResourceSubType": "3",
                    "Connection": network, "Linked": str(nic.get("linked", "true")),
                    "Name": str(nic.get("name", "")),
                    "MACAddress": str(nic.get("mac", {}).get("address", ""))})
    xml.end()


def vm_ovf(vm: Document, disks: list[OvaDisk], nics: list[Document],
           networks: dict[str, str]) -> str:
    """The OVF text of ``vm`` with ``disks`` and ``nics`` (``networks``: NIC id -> network)."""
    xml = _Xml()
    xml.start("Envelope", xmlns=OVF, xmlns_ovf=OVF, xmlns_rasd=RASD, xmlns_vssd=VSSD,
              xmlns_xsi=XSI, xmlns_ovirt=OVIRT)
    xml.start("References")
    for d in disks:
        xml.empty("File", ovf_href=d.image_id, ovf_id=d.image_id,
                  ovf_size=str(d.disk.get("actual_size", "0")))
    xml.end()
    xml.start("NetworkSection")
    xml.text("Info", "List of networks")
    for network in dict.fromkeys(name for name in networks.values() if name):
        xml.empty("Network", ovf_name=network)
    xml.end()
    _disk_section(xml, disks)
    xml.start("VirtualSystem", ovf_id=str(vm["id"]))
    xml.text("Name", str(vm.get("name", "")))
    xml.text("Description", str(vm.get("description", "")))
    xml.text("Comment", str(vm.get("comment", "")))
    xml.text("CreationDate", _date(vm.get("creation_time")))
    xml.text("ExportDate", _date(None))
    ovirt_id, os_name, cim_id = _OS.get(str(vm.get("os", {}).get("type")), _OS["other"])
    xml.start("OperatingSystemSection", ovf_id=str(cim_id), ovirt_id=str(ovirt_id),
              ovf_required="false")
    xml.text("Info", "Guest Operating System")
    xml.text("Description", os_name)
    xml.end()
    _hardware(xml, vm, disks, nics, networks)
    xml.end()
    xml.end()
    return xml.done()
