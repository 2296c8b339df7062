"""Host maintenance through the real ovirtsdk4: deactivate migrates the host's VMs to the other
up host and reaches maintenance, activate brings it back up, with the engine's refusals and
events; a restart of the service mid-transition finishes it. Simulator on 127.0.98.2."""

from __future__ import annotations

import base64
from pathlib import Path

import ovirtsdk4 as sdk
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

from opsrunner_lab.layout import LabLayout

PREFIX = "127.0.98."
NO_HOST = ("The following Hosts have running VMs and cannot be switched to maintenance mode: "
           "kvm1.\nPlease ensure that the following Clusters have at least one Host in UP state: "
           "Default.")


@pytest.fixture
def layout(tmp_path: Path) -> LabLayout:
    return quick_layout(tmp_path / "lab", PREFIX)


def host_service(system: sdk.services.SystemService, name: str) -> sdk.services.HostService:
    hosts = system.hosts_service()
    return hosts.host_service(by_name(hosts, name).id)  # type: ignore[attr-defined]


def vm_place(system: sdk.services.SystemService) -> tuple[str, str | None]:
    vm = system.vms_service().list()[0]
    host = system.hosts_service().host_service(vm.host.id).get().name if vm.host else None
    return str(vm.status.value), host


def test_deactivate_migrates_the_vms_reaches_maintenance_and_activate_brings_it_back(
        system: sdk.services.SystemService) -> None:
    kvm1, kvm2 = host_service(system, "kvm1"), host_service(system, "kvm2")
    assert system.events_service().list(max=1)[0].code == 30  # our login
    kvm1.deactivate(reason="kernel update")
    assert kvm1.get().status.value == "preparing_for_maintenance"
    assert vm_place(system) == ("migrating", "kvm1")
    seen = wait_for(status_of(kvm1), lambda s: s == "maintenance", "kvm1")
    assert seen[0] == "preparing_for_maintenance"
    assert vm_place(system) == ("up", "kvm2")
    assert kvm1.get().summary.total == 0 and kvm2.get().summary.active == 1
    assert (kvm1.get().spm.status.value, kvm2.get().spm.status.value) == ("none", "spm")
    assert descriptions(system, 600) == [f"Host kvm1 was switched to Maintenance mode by "
                                         f"{ADMIN_NAME} (Reason: kernel update)."]
    assert descriptions(system, 62) == [f"Migration started (VM: ol8-vm1, Source: kvm1, "
                                        f"Destination: kvm2, User: {ADMIN_NAME})."]
    assert descriptions(system, 63)[0].startswith(
        "Migration completed (VM: ol8-vm1, Source: kvm1, Destination: kvm2, Duration: ")
    newest = system.events_service().list(max=1)[0]
    assert (newest.code, newest.description) == (15, "Host kvm1 was switched to Maintenance "
                                                     "Mode.")
    jobs = [j for j in system.jobs_service().list() if "Maintenance" in j.description]
    assert [(j.description, j.status.value) for j in jobs] == [
        ("Moving Host kvm1 to Maintenance", "finished")]

    kvm1.activate()
    assert kvm1.get().status.value == "unassigned"
    wait_for(status_of(kvm1), lambda s: s == "up", "kvm1")
    assert descriptions(system, 16) == [f"Activation of host kvm1 initiated by {ADMIN_NAME}."]
    assert descriptions(system, 13)[0] == "Status of host kvm1 was set to Up."
    with pytest.raises(sdk.Error) as refused:
        kvm1.activate()
    assert_fault(refused.value, 409, "Cannot activate Host. Host in Up status.")


def test_deactivate_is_refused_in_maintenance_and_when_the_vms_have_nowhere_to_go(
        system: sdk.services.SystemService) -> None:
    kvm1, kvm2 = host_service(system, "kvm1"), host_service(system, "kvm2")
    kvm2.deactivate()
    wait_for(status_of(kvm2), lambda s: s == "maintenance", "kvm2")
    assert descriptions(system, 600) == [f"Host kvm2 was switched to Maintenance mode by "
                                         f"{ADMIN_NAME}."]
    with pytest.raises(sdk.Error) as again:
        kvm2.deactivate()
    assert_fault(again.value, 409, "Cannot switch Host to Maintenance mode. Host is already in "
                                   "Maintenance mode.")
    with pytest.raises(sdk.Error) as nowhere:
        kvm1.deactivate()
    assert_fault(nowhere.value, 409, NO_HOST)
    assert kvm1.get().status.value == "up"
    assert vm_place(system) == ("up", "kvm1")


def test_a_refused_action_answers_the_engines_action_fault(api: ApiLab,
                                                           system: sdk.services.SystemService
                                                           ) -> None:
    host_id = by_name(system.hosts_service(), "kvm1").id  # type: ignore[attr-defined]
    auth = "Basic " + base64.b64encode(f"{ADMIN}:{api.password}".encode()).decode()
    answer = api.request("POST", f"/ovirt-engine/api/hosts/{host_id}/activate",
                         b"<action/>", {"Authorization": auth,
                                        "Content-Type": "application/xml"})
    assert answer.status == 409
    assert b"<action>\n    <fault>\n        <reason>Operation Failed</reason>\n        <detail>" \
           b"[Cannot activate Host. Host in Up status.]</detail>\n    </fault>\n    <status>" \
           b"failed</status>\n</action>" in answer.body
    accepted = api.request("POST", f"/ovirt-engine/api/hosts/{host_id}/deactivate",
                           b"<action><reason>test</reason></action>",
                           {"Authorization": auth, "Content-Type": "application/xml"})
    assert accepted.status == 200
    assert b"<status>complete</status>" in accepted.body
    assert b'<job href="/ovirt-engine/api/jobs/' in accepted.body


def test_a_restart_of_the_service_mid_maintenance_finishes_it(layout: LabLayout) -> None:
    with running_api(layout) as api, api.connect() as connection:
        kvm1 = host_service(connection.system_service(), "kvm1")
        kvm1.deactivate()
        assert kvm1.get().status.value == "preparing_for_maintenance"
    with running_api(layout) as api, api.connect() as connection:
        system = connection.system_service()
        kvm1 = host_service(system, "kvm1")
        wait_for(status_of(kvm1), lambda s: s == "maintenance", "kvm1 after the restart")
        assert vm_place(system) == ("up", "kvm2")
        assert descriptions(system, 15) == ["Host kvm1 was switched to Maintenance Mode."]
