"""Guests added to an existing lab become engine VMs, whether the engine runs (``lab up`` asks it
through its internal path) or starts later (every start adds what is missing); VMs already
there keep their id and state. Own lab on 127.0.107.x (a lab the user runs is never disturbed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import ovirtsdk4 as sdk
import pytest
from lab_up import engine_system as system
from lab_up import eventually, running_lab

from opsrunner_lab import manager
from opsrunner_lab.engine_api.server import state_file
from opsrunner_lab.engine_api.settings import write_timing
from opsrunner_lab.engine_api.unit import NAME as ENGINE_UNIT
from opsrunner_lab.guest_power import powered_off
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.units import host_units

PREFIX = "127.0.107."


@pytest.fixture(scope="module")
def lab() -> Iterator[LabLayout]:
    with running_lab(PREFIX, kvm_hosts=1, guests=["ol8-vm1"],
                     before_up=lambda layout: write_timing(layout, 0.1)) as layout:
        yield layout


def vm_of(vms: Any, name: str) -> Any:
    found = vms.list(search=f"name={name}")
    assert [vm.name for vm in found] == [name]
    return found[0]


def stored_vms(lab: LabLayout) -> dict[str, Any]:
    """Every VM the engine keeps, by name, with the collections below it."""
    collections = json.loads(state_file(lab).read_text())["collections"]
    return {vm["name"]: {"vm": vm, **{path.rsplit("/", 1)[1]: docs
                                      for path, docs in collections.items()
                                      if path.startswith(f"vms/{vm_id}/")}}
            for vm_id, vm in collections["vms"].items()}


def created_events(system: Any) -> list[str]:
    return [event.description for event in system.events_service().list()
            if event.code == 34]


def check_guest_vm(system: Any, name: str) -> None:
    vms = system.vms_service()
    vm = vm_of(vms, name)
    assert vm.status == sdk.types.VmStatus.UP
    service = vms.vm_service(vm.id)
    disks = [system.disks_service().disk_service(a.disk.id).get().alias
             for a in service.disk_attachments_service().list()]
    assert disks == [f"{name}_Disk1"]
    assert [nic.name for nic in service.nics_service().list()] == ["nic1"]
    assert f"VM {name} was created by admin@internal-authz." in created_events(system)


def test_guests_added_to_a_running_or_stopped_engine_become_vms(lab: LabLayout) -> None:
    with system(lab) as engine:
        vms = engine.vms_service()
        ol8 = vm_of(vms, "ol8-vm1")
        vms.vm_service(ol8.id).stop()
        assert eventually(lambda: vm_of(vms, "ol8-vm1").status == sdk.types.VmStatus.DOWN)
        assert eventually(lambda: powered_off(lab, "ol8-vm1"))
    before = stored_vms(lab)
    assert list(before) == ["ol8-vm1"]

    manager.up(lab.root, guests=["ol8-vm1", "ol7-vm1"])  # the engine runs: asked at once
    with system(lab) as engine:
        check_guest_vm(engine, "ol7-vm1")
        ol8_now = vm_of(engine.vms_service(), "ol8-vm1")
        assert (ol8_now.id, ol8_now.status) == (ol8.id, sdk.types.VmStatus.DOWN)
        grown = stored_vms(lab)
        assert grown["ol8-vm1"] == before["ol8-vm1"]
        created = created_events(engine)

        manager.up(lab.root)  # nothing new: nothing changes
        assert stored_vms(lab) == grown
        assert created_events(engine) == created
    row = next(r for r in manager.status(lab.root) if (r.host, r.service) == ("ol8-vm1", "sshd"))
    assert (row.active, row.vm_down) == (False, True)

    host_units(lab, ENGINE)[ENGINE_UNIT].stop()
    manager.up(lab.root, guests=["ol8-vm1", "ol7-vm1", "ol6-vm1"])  # added when it starts
    with system(lab) as engine:
        check_guest_vm(engine, "ol6-vm1")
        assert {vm.name: vm.status for vm in engine.vms_service().list()} == {
            "ol8-vm1": sdk.types.VmStatus.DOWN, "ol7-vm1": sdk.types.VmStatus.UP,
            "ol6-vm1": sdk.types.VmStatus.UP}
    after = stored_vms(lab)
    assert {name: after[name] for name in grown} == grown
