"""VM power actions, boot devices and the CD-ROM through the real ovirtsdk4: start, stop and
shutdown with their transitions, refusals (running, locked disks, no host) and events; a boot
order change that waits for the next run; inserting and ejecting an ISO in the running VM.
Simulator on 127.0.99.2."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
import pytest
from engine_actions_lab import (
    ADMIN_NAME,
    assert_fault,
    by_name,
    descriptions,
    events,
    quick_layout,
    status_of,
    wait_for,
)
from engine_api_lab import ADMIN, ApiLab, running_api

from opsrunner_lab.layout import LabLayout

PREFIX = "127.0.99."
GIB = 1024 ** 3


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiLab]:
    layout: LabLayout = quick_layout(tmp_path / "lab", PREFIX)
    with running_api(layout) as lab:
        yield lab


@pytest.fixture
def vm(system: sdk.services.SystemService) -> sdk.services.VmService:
    vms = system.vms_service()
    return vms.vm_service(by_name(vms, "ol8-vm1").id)  # type: ignore[attr-defined]


def power_off(vm: sdk.services.VmService) -> None:
    vm.stop()
    wait_for(status_of(vm), lambda s: s == "down", "ol8-vm1")


def test_shutdown_stop_and_start_move_through_the_engines_states(
        system: sdk.services.SystemService, vm: sdk.services.VmService) -> None:
    with pytest.raises(sdk.Error) as running:
        vm.start()
    assert_fault(running.value, 409, "Cannot run VM. VM is running.")
    failed = events(system, 54)[0]
    assert (failed.severity.value, failed.description) == (
        "error", f"Failed to run VM ol8-vm1 due to a failed validation: [Cannot run VM. VM is "
                 f"running.] (User: {ADMIN_NAME}).")

    vm.shutdown()
    assert vm.get().status.value == "powering_down"
    wait_for(status_of(vm), lambda s: s == "down", "after shutdown")
    assert vm.get().host is None and vm.get().stop_time is not None
    assert descriptions(system, 73) == [f"VM shutdown initiated by {ADMIN_NAME} on VM ol8-vm1 "
                                        "(Host: kvm1)."]
    assert descriptions(system, 61) == ["VM ol8-vm1 is down. Exit message: User shut down from "
                                        "within the guest"]
    vm.shutdown()  # the engine skips it, as the VM is already down
    assert descriptions(system, 254) == ["VM ol8-vm1 is already Down, Shutdown not required."]

    vm.start(headers={"Correlation-Id": "start-1"})
    started = vm.get()
    assert started.status.value == "wait_for_launch" and started.host is not None
    seen = wait_for(status_of(vm), lambda s: s == "up", "after start")
    assert seen[0] == "wait_for_launch" and set(seen) <= {"wait_for_launch", "powering_up", "up"}
    host = system.hosts_service().host_service(vm.get().host.id).get().name
    for code, text in ((153, f"VM ol8-vm1 was started by {ADMIN_NAME} (Host: {host})."),
                       (32, f"VM ol8-vm1 started on Host {host}")):
        event = events(system, code)[0]
        assert (event.description, event.correlation_id) == (text, "start-1")

    vm.stop()
    wait_for(status_of(vm), lambda s: s == "down", "after stop")
    assert descriptions(system, 33) == [f"VM ol8-vm1 powered off by {ADMIN_NAME} (Host: {host})."]
    with pytest.raises(sdk.Error) as locked:
        vm.snapshots_service().add(types.Snapshot(description="before"))
        vm.start()
    assert_fault(locked.value, 409, "Cannot run VM: The following disks are locked: "
                                    "ol8-vm1_Disk1. Please try again in a few minutes.")


def test_start_is_refused_without_an_up_host(system: sdk.services.SystemService,
                                             vm: sdk.services.VmService) -> None:
    power_off(vm)
    hosts = system.hosts_service()
    for host in hosts.list():
        service = hosts.host_service(host.id)
        service.deactivate()
        wait_for(status_of(service), lambda s: s == "maintenance", host.name)
    with pytest.raises(sdk.Error) as refused:
        vm.start()
    assert_fault(refused.value, 409, "Cannot run VM. There are no available running Hosts in "
                                     "the Host Cluster.")


def boot(vm: sdk.types.Vm) -> list[str]:
    return [device.value for device in vm.os.boot.devices]


def test_a_running_vms_boot_order_changes_at_its_next_run(api: ApiLab,
                                                         vm: sdk.services.VmService) -> None:
    new_order = types.Vm(os=types.OperatingSystem(boot=types.Boot(
        devices=[types.BootDevice.CDROM, types.BootDevice.HD])))
    updated = vm.update(new_order)
    assert boot(updated) == ["hd"] and updated.next_run_configuration_exists is True
    assert boot(vm.get(next_run=True)) == ["cdrom", "hd"]
    power_off(vm)
    assert boot(vm.get()) == ["cdrom", "hd"] and vm.get().next_run_configuration_exists is False
    assert boot(vm.update(types.Vm(os=types.OperatingSystem(boot=types.Boot(
        devices=[types.BootDevice.NETWORK]))))) == ["network"]
    auth = "Basic " + base64.b64encode(f"{ADMIN}:{api.password}".encode()).decode()
    refused = api.request("PUT", f"/ovirt-engine/api/vms/{vm.get().id}",
                          b"<vm><os><boot><devices><device>floppy</device></devices></boot></os>"
                          b"</vm>", {"Authorization": auth, "Content-Type": "application/xml"})
    assert refused.status == 400
    assert b"<reason>Invalid value</reason>" in refused.body
    assert (b"<detail>floppy is not a member of BootDevice. Possible values for BootDevice are: "
            b"cdrom, hd, network</detail>") in refused.body


def iso_disk(system: sdk.services.SystemService, name: str = "rescue.iso") -> str:
    domain = system.storage_domains_service().list()[0]
    disks = system.disks_service()
    disk = disks.add(types.Disk(name=name, provisioned_size=4 * 1024 * 1024,
                                format=types.DiskFormat.RAW, content_type=types.DiskContentType.ISO,
                                storage_domains=[types.StorageDomain(id=domain.id)]))
    wait_for(status_of(disks.disk_service(disk.id)), lambda s: s == "ok", name)
    return str(disk.id)


def test_an_iso_goes_into_the_running_vms_cdrom_and_out_again(
        system: sdk.services.SystemService, vm: sdk.services.VmService) -> None:
    iso = iso_disk(system)
    cdroms = vm.cdroms_service()
    cdrom = cdroms.cdrom_service(cdroms.list()[0].id)
    assert cdrom.get().file is None
    cdrom.update(types.Cdrom(file=types.File(id=iso)))  # for the next boot
    assert cdrom.get().file.id == iso and cdrom.get(current=True).file is None
    inserted = cdrom.update(types.Cdrom(file=types.File(id=iso)), current=True)
    assert inserted.file.id == iso and cdrom.get(current=True).file.id == iso
    assert descriptions(system, 38) == [f"CD {iso} was inserted to VM ol8-vm1 by {ADMIN_NAME}"]
    cdrom.update(types.Cdrom(file=types.File(id="")), current=True)
    assert cdrom.get(current=True).file is None and cdrom.get().file.id == iso
    assert descriptions(system, 528) == [f"CD was ejected from VM ol8-vm1 by {ADMIN_NAME}"]
    with pytest.raises(sdk.Error) as not_iso:
        data_disk = system.disks_service().list(search="name=ol8-vm1_Disk1")[0]
        cdrom.update(types.Cdrom(file=types.File(id=data_disk.id)), current=True)
    assert_fault(not_iso.value, 400, f"Cannot change CD VM. There is no ISO disk with id "
                                     f"{data_disk.id}.")
    power_off(vm)
    with pytest.raises(sdk.Error) as down:
        cdrom.update(types.Cdrom(file=types.File(id=iso)), current=True)
    assert_fault(down.value, 409, "Cannot change CD VM because the VM is in Down status.")
    vm.start()
    assert cdrom.get(current=True).file.id == iso  # the configured ISO boots with it
