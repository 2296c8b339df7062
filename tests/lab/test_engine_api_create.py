"""VMs created and removed through the real ovirtsdk4: from Blank (down at once) and from a
template (image_locked while its disks are made, cloned or thin), with the template's NICs, the
engine's refusals and events; a VM's disks added, extended (its storage domain's space follows),
detached, attached by id and removed. Simulator on 127.0.133.2."""

from __future__ import annotations

from pathlib import Path

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
import pytest
from engine_actions_lab import (
    ADMIN_NAME,
    assert_fault,
    by_name,
    descriptions,
    quick_layout,
    status_of,
    wait_for,
)
from engine_api_lab import ApiLab
from test_engine_api_actions_templates import get_body
from test_engine_api_shapes import reference_paths, tag_paths

from opsrunner_lab.layout import LabLayout

PREFIX = "127.0.133."
GIB = 1024 ** 3


@pytest.fixture
def layout(tmp_path: Path) -> LabLayout:
    return quick_layout(tmp_path / "lab", PREFIX)


def a_template(system: sdk.services.SystemService) -> types.Template:
    """Template ``tpl`` of the powered-off ``ol8-vm1`` (one disk, one NIC), once ``ok``."""
    vms = system.vms_service()
    vm = vms.vm_service(by_name(vms, "ol8-vm1").id)  # type: ignore[attr-defined]
    vm.stop()
    wait_for(status_of(vm), lambda s: s == "down", "ol8-vm1")
    templates = system.templates_service()
    added = templates.add(types.Template(name="tpl", vm=types.Vm(id=vm.get().id)))
    service = templates.template_service(added.id)
    wait_for(status_of(service), lambda s: s == "ok", "tpl")
    return service.get()


def new_vm(name: str, template: types.Template, **fields: object) -> types.Vm:
    return types.Vm(name=name, cluster=types.Cluster(name="Default"), template=template,
                    **fields)  # type: ignore[arg-type]


def test_a_vm_from_blank_is_down_at_once_and_removed(api: ApiLab,
                                                     system: sdk.services.SystemService) -> None:
    vms = system.vms_service()
    added = vms.add(new_vm(
        "blank-vm", types.Template(name="Blank"), memory=4 * GIB,
        cpu=types.Cpu(topology=types.CpuTopology(cores=2, sockets=1, threads=1)),
        os=types.OperatingSystem(type="rhel_9x64"),
        initialization=types.Initialization(host_name="blank-vm.lab", user_name="root")))
    assert added.status.value == "down"
    vm = vms.vm_service(added.id).get()
    assert (vm.memory, vm.memory_policy.max, vm.cpu.topology.cores, vm.os.type) == (
        4 * GIB, 16 * GIB, 2, "rhel_9x64")
    assert vm.initialization.host_name == "blank-vm.lab"
    assert vm.template.id == vm.original_template.id == "00000000-0000-0000-0000-000000000000"
    assert vms.vm_service(added.id).disk_attachments_service().list() == []
    assert vms.vm_service(added.id).nics_service().list() == []
    assert descriptions(system, 34)[0] == f"VM blank-vm was created by {ADMIN_NAME}."
    ours = {p for p in tag_paths(get_body(api, "vms")) if not p.startswith("vm/initialization")}
    assert sorted(ours - reference_paths("vms")) == []
    vms.vm_service(added.id).remove()
    assert [v.name for v in vms.list(search="name=blank-vm")] == []
    assert descriptions(system, 113) == [f"VM blank-vm was successfully removed by {ADMIN_NAME}."]


def test_vms_cloned_and_thin_from_a_template(system: sdk.services.SystemService) -> None:
    template = a_template(system)
    vms, disks = system.vms_service(), system.disks_service()
    template_disk = system.templates_service().template_service(
        template.id).disk_attachments_service().list()[0]
    cloned = vms.add(new_vm("cloned", types.Template(name="tpl")), clone=True)
    thin = vms.add(new_vm("thin", types.Template(id=template.id)))
    for added in (cloned, thin):
        assert added.status.value == "image_locked"
        service = vms.vm_service(added.id)
        wait_for(status_of(service), lambda s: s == "down", str(added.name))
        attachments = service.disk_attachments_service().list()
        assert len(attachments) == 1 and attachments[0].id != template_disk.id
        disk = disks.disk_service(attachments[0].id).get()
        assert (disk.status.value, disk.provisioned_size) == ("ok", 10 * GIB)
        nics = service.nics_service().list()
        assert [nic.name for nic in nics] == ["nic1"] and nics[0].mac.address.startswith("56:6f")
    assert vms.vm_service(cloned.id).get().template.id == "00000000-0000-0000-0000-000000000000"
    assert vms.vm_service(cloned.id).get().original_template.id == template.id
    assert vms.vm_service(thin.id).get().template.id == template.id
    assert descriptions(system, 37) == [f"VM thin creation was initiated by {ADMIN_NAME}.",
                                        f"VM cloned creation was initiated by {ADMIN_NAME}."]
    assert sorted(descriptions(system, 53)) == ["VM cloned creation has been completed.",
                                                "VM thin creation has been completed."]
    thin_disk = vms.vm_service(thin.id).disk_attachments_service().list()[0].id
    with pytest.raises(sdk.Error) as based:
        vms.vm_service(thin.id).remove(detach_only=True)
    assert_fault(based.value, 409, "Cannot remove VM with detaching disks, VM is based from "
                                   "template.")
    vms.vm_service(thin.id).remove()
    assert disks.disk_service(thin_disk).get().status.value == "locked"
    wait_for(lambda: [d.id for d in disks.list()].count(thin_disk), lambda n: n == 0, "disk")


def test_the_engine_refuses_a_bad_vm(system: sdk.services.SystemService) -> None:
    vms = system.vms_service()
    blank = types.Template(name="Blank")
    with pytest.raises(sdk.Error) as no_cluster:
        vms.add(types.Vm(name="x", template=blank))
    assert no_cluster.value.code == 400
    assert 'Fault detail is "Vm [cluster.id|name] required for add".' in str(no_cluster.value)
    with pytest.raises(sdk.Error) as unknown:
        vms.add(new_vm("x", types.Template(name="nope")))
    assert unknown.value.code == 404
    assert 'Fault detail is "Entity not found: GetVmTemplate".' in str(unknown.value)
    with pytest.raises(sdk.Error) as taken:
        vms.add(new_vm("ol8-vm1", blank))
    assert_fault(taken.value, 409, "Cannot add VM. The VM name is already in use, please "
                                   "choose a unique name and try again.")
    with pytest.raises(sdk.Error) as memory:
        vms.add(new_vm("x", blank, memory=4 * GIB,
                       memory_policy=types.MemoryPolicy(max=2 * GIB)))
    assert_fault(memory.value, 409, "Cannot add VM. Memory size (4096MB) cannot exceed maximum "
                                    "memory size (2048MB).")
    running = by_name(vms, "ol8-vm1")
    with pytest.raises(sdk.Error) as up:
        vms.vm_service(running.id).remove()  # type: ignore[attr-defined]
    assert_fault(up.value, 409, "Cannot remove VM. VM is running.")
    assert [v.name for v in vms.list(search="name=x")] == []


def data_domain(system: sdk.services.SystemService) -> types.StorageDomain:
    return next(d for d in system.storage_domains_service().list()
                if d.type == types.StorageDomainType.DATA)


def test_disks_added_extended_detached_attached_and_removed(
        api: ApiLab, system: sdk.services.SystemService) -> None:
    vms, disks = system.vms_service(), system.disks_service()
    vm = vms.vm_service(vms.add(new_vm("dvm", types.Template(name="Blank"))).id)
    attachments = vm.disk_attachments_service()
    domain = data_domain(system)
    with pytest.raises(sdk.Error) as no_format:
        attachments.add(types.DiskAttachment(disk=types.Disk(
            name="bad", provisioned_size=GIB, storage_domains=[domain])))
    assert no_format.value.code == 400
    assert 'Fault detail is "Disk [format] required for add".' in str(no_format.value)
    added = attachments.add(types.DiskAttachment(
        disk=types.Disk(name="data1", provisioned_size=GIB, format=types.DiskFormat.RAW,
                        sparse=False, storage_domains=[types.StorageDomain(id=domain.id)]),
        interface=types.DiskInterface.VIRTIO_SCSI, bootable=False, active=True))
    assert added.interface == types.DiskInterface.VIRTIO_SCSI and added.bootable is False
    disk = disks.disk_service(added.id)
    assert disk.get().status.value == "locked"
    wait_for(status_of(disk), lambda s: s == "ok", "data1")
    assert [a.id for a in attachments.list()] == [added.id]
    ours = tag_paths(get_body(api, f"vms/{vm.get().id}/diskattachments"))
    assert sorted(ours - reference_paths("vms/{vm}/diskattachments")) == []
    assert descriptions(system, 78) == [f"Add-Disk operation of data1 was initiated on VM dvm "
                                        f"by {ADMIN_NAME}."]
    assert descriptions(system, 97) == ["The disk data1 was successfully added to VM dvm."]

    before = system.storage_domains_service().storage_domain_service(domain.id).get()
    attachments.attachment_service(added.id).update(types.DiskAttachment(
        disk=types.Disk(provisioned_size=3 * GIB)))
    assert disk.get().status.value == "locked"
    wait_for(status_of(disk), lambda s: s == "ok", "extended data1")
    assert disk.get().provisioned_size == 3 * GIB
    after = system.storage_domains_service().storage_domain_service(domain.id).get()
    assert (after.used - before.used, before.available - after.available) == (2 * GIB, 2 * GIB)
    assert descriptions(system, 371) == [f"Size of the disk 'data1' was successfully updated "
                                         f"to 3 GB by {ADMIN_NAME}."]
    with pytest.raises(sdk.Error) as smaller:
        disk.update(types.Disk(provisioned_size=GIB))
    assert_fault(smaller.value, 400, "Cannot edit Virtual Disk. New disk size must be larger "
                                     "than the current disk size.")

    attachments.attachment_service(added.id).remove()
    assert attachments.list() == [] and disk.get().status.value == "ok"
    assert descriptions(system, 2018) == [f"Disk data1 was successfully detached from VM dvm "
                                          f"by {ADMIN_NAME}."]
    attachments.add(types.DiskAttachment(disk=types.Disk(id=added.id), bootable=True,
                                         interface=types.DiskInterface.VIRTIO))
    assert attachments.list()[0].bootable is True
    assert descriptions(system, 2016) == [f"Disk data1 was successfully attached to VM dvm by "
                                          f"{ADMIN_NAME}."]
    with pytest.raises(sdk.Error) as twice:
        attachments.add(types.DiskAttachment(disk=types.Disk(id=added.id),
                                             interface=types.DiskInterface.VIRTIO))
    assert_fault(twice.value, 409, "Cannot attach Virtual Disk. The disk is already attached "
                                   "to VM.")
    with pytest.raises(sdk.Error) as unknown:
        attachments.add(types.DiskAttachment(disk=types.Disk(id="0" * 8 + "-0000-0000-0000-"
                                                             + "1" * 12),
                                             interface=types.DiskInterface.VIRTIO))
    assert_fault(unknown.value, 400, "Cannot attach Virtual Disk. The specified disk does not "
                                     "exist.")
    attachments.attachment_service(added.id).remove(detach_only=False)
    assert disk.get().status.value == "locked"
    wait_for(lambda: [d.id for d in disks.list()].count(added.id), lambda n: n == 0, "data1")
