"""The engine's search language through the real ovirtsdk4: operators, and/or, wildcards,
quotes, case, sortby, page with max, the cross-entity fields of each collection, and the 400 a
malformed query answers. Simulator on 127.0.130.2."""

from __future__ import annotations

from pathlib import Path

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
import pytest
from engine_actions_lab import quick_layout, status_of, wait_for

from opsrunner_lab.layout import LabLayout

PREFIX = "127.0.130."


@pytest.fixture
def layout(tmp_path: Path) -> LabLayout:
    return quick_layout(tmp_path / "lab", PREFIX)


def test_vms_hosts_and_fields_operators_and_paging(system: sdk.services.SystemService) -> None:
    vms, hosts = system.vms_service(), system.hosts_service()

    def vm_names(query: str, **options: int) -> list[str]:
        return [vm.name for vm in vms.list(search=query, **options)]

    def host_names(query: str, **options: int) -> list[str]:
        return [host.name for host in hosts.list(search=query, **options)]

    assert vm_names("Vms.name=ol8-vm1") == ["ol8-vm1"]
    assert vm_names("host=kvm1 and cluster=default and status=up") == ["ol8-vm1"]
    assert vm_names("Hosts.name=kvm2 or name=OL8*") == ["ol8-vm1"]
    assert vm_names("status!=up") == []
    assert vm_names('name="ol8-vm1" and datacenter=Default') == ["ol8-vm1"]
    assert vm_names("name=ol8* page 1", max=1) == ["ol8-vm1"]
    assert vm_names("name=ol8* page 2", max=1) == []
    assert host_names("datacenter=Default") == ["kvm1", "kvm2"]
    assert host_names("DataCenter.name=elsewhere") == []
    assert host_names("Vms.name=ol8-vm1") == ["kvm1"]
    assert host_names("name=kvm* sortby name desc") == ["kvm2", "kvm1"]
    assert host_names("sortby name desc page 2", max=1) == ["kvm1"]
    assert host_names("name=kvm2 or name=kvm1 and status=maintenance") == ["kvm2"]
    assert host_names("NAME=KVM1") == ["kvm1"]
    assert [h.name for h in hosts.list(search="name=KVM1", case_sensitive=True)] == []


def test_disks_data_centers_clusters_and_storage(system: sdk.services.SystemService) -> None:
    disks = system.disks_service()
    assert [d.name for d in disks.list(search="Storage.name=data")] == ["ol8-vm1_Disk1"]
    assert [d.name for d in disks.list(search="storage=DATA and name=*Disk1")] == [
        "ol8-vm1_Disk1"]
    assert disks.list(search="Storage.name=nowhere") == []
    centers = system.data_centers_service()
    assert [dc.name for dc in centers.list(search="Clusters.name=Default")] == ["Default"]
    assert centers.list(search="Clusters.name=other") == []
    assert [c.name for c in system.clusters_service().list(search="Hosts.name=kvm2")] == [
        "Default"]
    domains = system.storage_domains_service()
    assert [sd.name for sd in domains.list(search="datacenter=Default")] == ["data"]


def test_templates_by_cluster_and_data_center(system: sdk.services.SystemService) -> None:
    vms = system.vms_service()
    vm = vms.vm_service(vms.list(search="name=ol8-vm1")[0].id)
    vm.stop()
    wait_for(status_of(vm), lambda s: s == "down", "ol8-vm1")
    templates = system.templates_service()
    added = templates.add(types.Template(name="ol8-tpl", vm=types.Vm(id=vm.get().id)))
    wait_for(status_of(templates.template_service(added.id)), lambda s: s == "ok", "ol8-tpl")
    assert [t.name for t in templates.list(search="cluster=Default")] == ["ol8-tpl"]
    assert [t.name for t in templates.list(search="datacenter=default and name=ol8*")] == [
        "ol8-tpl"]
    assert templates.list(search="cluster=other") == []
    assert [t.name for t in templates.list(search="Vms.name=ol8-vm1")] == ["Blank"]


def test_events_sorted_and_filtered(system: sdk.services.SystemService) -> None:
    events = system.events_service()
    for number in range(3):
        events.add(types.Event(description=f"window {number}", origin="opsrunner",
                               severity=types.LogSeverity.WARNING, custom_id=900 + number))
    newest = events.list(search="sortby time desc", max=5)
    assert len(newest) == 5
    times = [e.time for e in newest]
    assert times == sorted(times, reverse=True)
    warnings = events.list(search="severity=warning and message=window*")
    assert sorted(e.description for e in warnings) == ["window 0", "window 1", "window 2"]
    assert [e.description for e in events.list(search="severity>normal and origin=opsrunner "
                                                      "sortby time asc", max=1)] == ["window 0"]
    code = warnings[0].code
    assert {e.code for e in events.list(search=f"type={code}")} == {code}
    assert len(events.list(search="time>2000-01-01")) == len(events.list())
    assert events.list(search="time<2000-01-01") == []


@pytest.mark.parametrize(("query", "detail"), [
    ("name kvm1", "invalid condition relation"),
    ("name=kvm1 and", "invalid post or and phrase"),
    ("colour=red and name=kvm1", "hosts : $colour$=red and name=kvm1"),
    ("name=kvm1 sortby name sideways page 1", "hosts : name=kvm1 sortby name $sideways$ page 1"),
    ("name", "invalid condition relation"),
    ("name=", "invalid condition value"),
    ("kvm* sortby colour desc", "hosts : kvm* sortby $colour$ desc"),
])
def test_a_malformed_query_is_the_engines_400(system: sdk.services.SystemService, query: str,
                                              detail: str) -> None:
    with pytest.raises(sdk.Error) as invalid:
        system.hosts_service().list(search=query)
    assert invalid.value.code == 400
    assert (invalid.value.fault.reason, invalid.value.fault.detail) == ("Operation Failed",
                                                                       detail)
    assert f'Fault detail is "{detail}"' in str(invalid.value)
