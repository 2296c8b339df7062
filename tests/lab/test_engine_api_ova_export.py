"""Exporting a VM to an OVA on a host through the real ovirtsdk4 writes the OVA into that
host's sysroot, as the engine's pack_ova does: a ustar tar with the OVF descriptor ``vm.ovf``
first, then the disk images; the directory must exist on the host (the engine's refusal
otherwise). Simulator on 127.0.136.x."""

from __future__ import annotations

import tarfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
import pytest
from engine_actions_lab import assert_fault, by_name, descriptions, quick_layout, wait_for
from engine_api_lab import ApiLab, running_api

from opsrunner_lab.engine_api.disks import disk_file
from opsrunner_lab.engine_api.ova_ovf import OVF, RASD
from opsrunner_lab.engine_api.vm_export import being_exported, invalid_folder

PREFIX = "127.0.136."
MIB = 1 << 20


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiLab]:
    """The simulator with kvm1's sysroot holding ``/var/tmp`` and a file ``/var/file``."""
    layout = quick_layout(tmp_path / "lab", PREFIX)
    (layout.sysroot("kvm1") / "var" / "tmp").mkdir(parents=True)
    (layout.sysroot("kvm1") / "var" / "file").write_text("not a folder\n")
    with running_api(layout) as lab:
        yield lab


def _export(system: sdk.services.SystemService, directory: str,
            filename: str | None = None) -> types.Vm:
    vms = system.vms_service()
    vm = vms.list()[0]
    kvm1 = by_name(system.hosts_service(), "kvm1")
    vms.vm_service(vm.id).export_to_path_on_host(
        host=types.Host(id=kvm1.id), directory=directory, filename=filename)  # type: ignore
    return vm


def test_the_directory_must_exist_on_the_host(api: ApiLab,
                                              system: sdk.services.SystemService) -> None:
    for directory in ("/exports", "/var/file", "/var/tmp/missing"):
        with pytest.raises(sdk.Error) as refused:
            _export(system, directory)
        assert_fault(refused.value, 400, invalid_folder(directory, "kvm1"))
    assert descriptions(system, 1223) == []
    assert list((api.layout.sysroot("kvm1") / "var" / "tmp").iterdir()) == []


def test_the_ova_is_a_ustar_tar_with_the_ovf_first_then_the_disk_images(
        api: ApiLab, system: sdk.services.SystemService) -> None:
    vms = system.vms_service()
    vm = vms.list()[0]
    disk = system.disks_service().disk_service(
        vms.vm_service(vm.id).disk_attachments_service().list()[0].id).get()
    image = disk_file(api.layout.data / "storage", disk.storage_domains[0].id, disk.id)
    image.parent.mkdir(parents=True, exist_ok=True)
    with image.open("wb") as raw:
        raw.write(b"boot sector")
        raw.seek(5 * MIB)
        raw.write(b"later data")
    _export(system, "/var/tmp/", "web.ova")
    wait_for(lambda: descriptions(system, 1224), bool, "export event")
    assert descriptions(system, 1224)[0] == (
        f"Vm {vm.name} was exported successfully as a Virtual Appliance to path "
        "/var/tmp/web.ova on Host kvm1")
    ova = api.layout.sysroot("kvm1") / "var" / "tmp" / "web.ova"
    assert sorted(p.name for p in ova.parent.iterdir()) == ["web.ova"]
    with ova.open("rb") as raw:
        assert raw.read(512)[257:265] == b"ustar\x0000"
    with tarfile.open(ova) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["vm.ovf", disk.image_id]
        assert members[1].size == disk.provisioned_size
        ovf = ET.fromstring(tar.extractfile(members[0]).read())  # type: ignore[union-attr]
        content = tar.extractfile(members[1])
        assert content is not None
        assert content.read(11) == b"boot sector"
        content.seek(5 * MIB)
        assert content.read(10) == b"later data"
    assert ovf.tag == f"{{{OVF}}}Envelope"
    ns = {"": OVF, "ovf": OVF, "rasd": RASD}
    assert [f.get(f"{{{OVF}}}href") for f in ovf.iterfind("References/File", ns)] == [
        disk.image_id]
    [ovf_disk] = ovf.iterfind("DiskSection/Disk", ns)
    assert (ovf_disk.get(f"{{{OVF}}}diskId"), ovf_disk.get(f"{{{OVF}}}fileRef")) == (
        disk.id, disk.image_id)
    assert ovf_disk.get(f"{{{OVF}}}disk-alias") == disk.alias
    assert ovf.findtext("VirtualSystem/Name", namespaces=ns) == vm.name
    items = ovf.iterfind("VirtualSystem/VirtualHardwareSection/Item", ns)
    assert [i.findtext("rasd:ResourceType", namespaces=ns) for i in items] == [
        "3", "4", "17", "10"]

def test_the_file_name_defaults_to_the_vm_name(api: ApiLab,
                                               system: sdk.services.SystemService) -> None:
    vm = _export(system, "/var/tmp")
    wait_for(lambda: descriptions(system, 1224), bool, "export event")
    ova = api.layout.sysroot("kvm1") / "var" / "tmp" / f"{vm.name}.ova"
    assert ova.exists()
    with tarfile.open(ova) as tar:
        assert tar.getnames()[0] == "vm.ovf"


def test_a_vm_being_exported_refuses_a_second_export(api: ApiLab,
                                                      system: sdk.services.SystemService) -> None:
    vm = _export(system, "/var/tmp", "first.ova")
    with pytest.raises(sdk.Error) as locked:
        _export(system, "/var/tmp", "second.ova")
    assert_fault(locked.value, 409, being_exported(str(vm.name)))
    wait_for(lambda: descriptions(system, 1224), bool, "export event")
    _export(system, "/var/tmp", "second.ova")
    wait_for(lambda: len(descriptions(system, 1224)), lambda n: n == 2, "second export event")
    folder = api.layout.sysroot("kvm1") / "var" / "tmp"
    assert sorted(p.name for p in folder.iterdir()) == ["first.ova", "second.ova"]
