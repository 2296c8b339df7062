"""Templates and snapshots through the real ovirtsdk4: a sealed template from a down VM (locked,
then ok, its disk named after it, the VM locked meanwhile), snapshots made, restored and removed,
with the engine's refusals, events and element shapes; a restart mid-creation finishes it.
Simulator on 127.0.100.2."""

from __future__ import annotations

import base64
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
from engine_api_lab import ADMIN, ApiLab, running_api
from test_engine_api_shapes import reference_paths, tag_paths

from opsrunner.lab.layout import LabLayout

PREFIX = "127.0.100."
DURING_SNAPSHOT = ("The VM is performing an operation on a Snapshot. Please wait for the "
                   "operation to finish, and try again.")


@pytest.fixture
def layout(tmp_path: Path) -> LabLayout:
    return quick_layout(tmp_path / "lab", PREFIX)


def vm_of(system: sdk.services.SystemService) -> sdk.services.VmService:
    vms = system.vms_service()
    return vms.vm_service(by_name(vms, "ol8-vm1").id)  # type: ignore[attr-defined]


def power_off(vm: sdk.services.VmService) -> None:
    vm.stop()
    wait_for(status_of(vm), lambda s: s == "down", "ol8-vm1")


def template_request(vm: types.Vm, name: str, disk_id: str | None = None) -> types.Template:
    attachments = None
    if disk_id is not None:
        attachments = [types.DiskAttachment(disk=types.Disk(id=disk_id, alias=name))]
    return types.Template(name=name, vm=types.Vm(id=vm.id, disk_attachments=attachments))


def get_body(api: ApiLab, path: str) -> bytes:
    auth = "Basic " + base64.b64encode(f"{ADMIN}:{api.password}".encode()).decode()
    answer = api.request("GET", f"/ovirt-engine/api/{path}", headers={"Authorization": auth})
    assert answer.status == 200, path
    return answer.body


def test_a_sealed_template_from_a_down_vm(api: ApiLab,
                                          system: sdk.services.SystemService) -> None:
    vm = vm_of(system)
    templates = system.templates_service()
    disk_id = vm.disk_attachments_service().list()[0].id
    with pytest.raises(sdk.Error) as running:
        templates.add(template_request(vm.get(), "ol8-tpl"))
    assert_fault(running.value, 409, "Cannot add Template. VM is locked or still running, try "
                                     "again once VM is in the Down state.")
    power_off(vm)
    added = templates.add(template_request(vm.get(), "ol8-tpl", disk_id), seal=True)
    assert added.status.value == "locked" and vm.get().status.value == "image_locked"
    with pytest.raises(sdk.Error) as locked:
        vm.start()
    assert_fault(locked.value, 409, "Cannot run VM: VM is locked. Please try again in a few "
                                    "minutes.")
    template = templates.template_service(added.id)
    wait_for(status_of(template), lambda s: s == "ok", "ol8-tpl")
    assert vm.get().status.value == "down"
    attachments = template.disk_attachments_service().list()
    assert len(attachments) == 1 and attachments[0].id != disk_id
    copy = system.disks_service().disk_service(attachments[0].id).get()
    assert (copy.alias, copy.status.value, copy.provisioned_size) == (
        "ol8-tpl", "ok", 10 * 1024 ** 3)
    assert template.get().memory == vm.get().memory
    about = "Template ol8-tpl from VM ol8-vm1"
    assert descriptions(system, 48) == [f"Creation of {about} was initiated by {ADMIN_NAME}."]
    assert descriptions(system, 252) == ["Template ol8-tpl was sealed."]
    assert descriptions(system, 51) == [f"Creation of {about} has been completed."]
    with pytest.raises(sdk.Error) as taken:
        templates.add(template_request(vm.get(), "ol8-tpl"))
    assert_fault(taken.value, 409, "Cannot add Template. The Template name is already in use, "
                                   "please choose a unique name and try again.")
    unsealed = templates.add(template_request(vm.get(), "ol8-plain"))
    wait_for(status_of(templates.template_service(unsealed.id)), lambda s: s == "ok", "plain")
    assert descriptions(system, 252) == ["Template ol8-tpl was sealed."]
    assert system.disks_service().disk_service(
        templates.template_service(unsealed.id).disk_attachments_service().list()[0].id
    ).get().alias == "ol8-vm1_Disk1"
    ours = tag_paths(get_body(api, "templates"))
    assert sorted(ours - reference_paths("templates")) == []


def test_snapshots_are_made_restored_and_removed(api: ApiLab,
                                                 system: sdk.services.SystemService) -> None:
    vm = vm_of(system)
    snapshots = vm.snapshots_service()
    with pytest.raises(sdk.Error) as incomplete:
        snapshots.add(types.Snapshot(persist_memorystate=True))
    assert incomplete.value.code == 400
    assert 'Fault detail is "Snapshot [description] required for add".' in str(incomplete.value)
    first = snapshots.add(types.Snapshot(description="before-update", persist_memorystate=True))
    assert first.snapshot_status.value == "locked" and first.persist_memorystate is True
    assert first.vm.id == vm.get().id and first.vm.name == "ol8-vm1"
    with pytest.raises(sdk.Error) as busy:
        snapshots.add(types.Snapshot(description="second"))
    assert_fault(busy.value, 409, f"Cannot create Snapshot. {DURING_SNAPSHOT}")
    first_service = snapshots.snapshot_service(first.id)
    wait_for(lambda: first_service.get().snapshot_status.value, lambda s: s == "ok", "snapshot")
    assert descriptions(system, 68) == ["Snapshot before-update creation for VM ol8-vm1 has been "
                                        "completed."]
    with pytest.raises(sdk.Error) as running:
        first_service.restore()
    assert_fault(running.value, 409, "Cannot revert to Snapshot. At least one of the VMs is not "
                                     "down.")

    later = snapshots.add(types.Snapshot(description="later"))
    wait_for(lambda: snapshots.snapshot_service(later.id).get().snapshot_status.value,
             lambda s: s == "ok", "later")
    power_off(vm)
    vm.update(types.Vm(os=types.OperatingSystem(boot=types.Boot(
        devices=[types.BootDevice.NETWORK]))))
    first_service.restore()
    assert vm.get().status.value == "image_locked"
    wait_for(status_of(vm), lambda s: s == "down", "restored VM")
    assert [device.value for device in vm.get().os.boot.devices] == ["hd"]
    assert [s.description for s in snapshots.list()] == ["Active VM", "before-update"]
    assert descriptions(system, 100) == ["VM ol8-vm1 restoring from Snapshot has been "
                                         "completed."]
    ours = tag_paths(get_body(api, f"vms/{vm.get().id}/snapshots"))
    assert sorted(ours - reference_paths("vms/{vm}/snapshots")) == []

    active = next(s for s in snapshots.list() if s.snapshot_type.value == "active")
    with pytest.raises(sdk.Error) as removing_active:
        snapshots.snapshot_service(active.id).remove()
    assert_fault(removing_active.value, 409, "Cannot remove Snapshot. Removing the VM active "
                                             "Snapshot is not allowed.")
    first_service.remove()
    assert first_service.get().snapshot_status.value == "locked"
    wait_for(lambda: len(snapshots.list()), lambda n: n == 1, "snapshots left")
    with pytest.raises(sdk.NotFoundError):
        first_service.get()
    assert descriptions(system, 356) == ["Snapshot before-update deletion on VM ol8-vm1 has been "
                                         "completed."]


def test_a_restart_mid_template_creation_finishes_it(layout: LabLayout) -> None:
    with running_api(layout) as api, api.connect() as connection:
        system = connection.system_service()
        vm = vm_of(system)
        power_off(vm)
        added = system.templates_service().add(template_request(vm.get(), "after-restart"))
        assert added.status.value == "locked"
    with running_api(layout) as api, api.connect() as connection:
        system = connection.system_service()
        template = system.templates_service().template_service(added.id)
        wait_for(status_of(template), lambda s: s == "ok", "template after the restart")
        assert vm_of(system).get().status.value == "down"
