"""Host edits and the snapshot, disk-snapshot, permission and export views of VMs, through the
real ovirtsdk4: a host changes cluster only in maintenance (visible in GET and the cluster's hosts
search), with the engine's refusals and events. Simulator on 127.0.134.x."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
import pytest
from engine_actions_lab import assert_fault, by_name, descriptions, quick_layout, status_of, wait_for
from engine_api_lab import ApiLab, running_api

from opsrunner_lab.engine_api.host_edit import ADDRESS_FIXED, NAME_TAKEN, NOT_IN_MAINTENANCE
from opsrunner_lab.engine_api.vm_export import NO_HOST, invalid_folder

PREFIX = "127.0.134."
OTHER_CLUSTER = "5e1f0a2b-0000-4000-8000-0000000000c2"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiLab]:
    """The simulator with a second cluster, ``Other``, in the data center of ``Default``."""
    with running_api(quick_layout(tmp_path / "lab", PREFIX)) as lab:
        store = lab.server.app.store
        default = store.documents("clusters")[0]
        store.put("clusters", {**default, "id": OTHER_CLUSTER, "name": "Other",
                               "description": ""})
        yield lab


def host_service(system: sdk.services.SystemService, name: str) -> sdk.services.HostService:
    hosts = system.hosts_service()
    return hosts.host_service(by_name(hosts, name).id)  # type: ignore[attr-defined]


def test_a_host_changes_cluster_only_in_maintenance(system: sdk.services.SystemService) -> None:
    kvm2 = host_service(system, "kvm2")
    other = types.Cluster(id=OTHER_CLUSTER)
    with pytest.raises(sdk.Error) as refused:
        kvm2.update(types.Host(cluster=other))
    assert_fault(refused.value, 409, NOT_IN_MAINTENANCE)
    kvm2.deactivate()
    wait_for(status_of(kvm2), lambda s: s == "maintenance", "kvm2")
    moved = kvm2.update(types.Host(cluster=types.Cluster(name="Other"), comment="moved"))
    assert (moved.cluster.id, moved.comment) == (OTHER_CLUSTER, "moved")
    assert kvm2.get().cluster.id == OTHER_CLUSTER
    hosts = system.hosts_service()
    assert [h.name for h in hosts.list(search="cluster=Other")] == ["kvm2"]
    assert [h.name for h in hosts.list(search="cluster=Default")] == ["kvm1"]
    assert descriptions(system, 43)[:2] == [
        "Host kvm2 configuration was updated by admin@internal-authz."] * 2


def test_name_and_comment_change_while_up_and_the_address_never(
        system: sdk.services.SystemService) -> None:
    kvm1 = host_service(system, "kvm1")
    renamed = kvm1.update(types.Host(name="kvm1b", comment="first"))
    assert (renamed.name, renamed.comment, renamed.status) == ("kvm1b", "first",
                                                               types.HostStatus.UP)
    assert descriptions(system, 43)[0] == ("Host kvm1b configuration was updated by "
                                           "admin@internal-authz.")
    with pytest.raises(sdk.Error) as taken:
        kvm1.update(types.Host(name="KVM2"))
    assert_fault(taken.value, 409, NAME_TAKEN)
    with pytest.raises(sdk.Error) as address:
        kvm1.update(types.Host(address="192.0.2.7"))
    assert_fault(address.value, 409, ADDRESS_FIXED)
    assert kvm1.get().address != "192.0.2.7"


def test_a_cluster_unknown_by_name_is_404(system: sdk.services.SystemService) -> None:
    with pytest.raises(sdk.NotFoundError):
        host_service(system, "kvm1").update(types.Host(cluster=types.Cluster(name="Nowhere")))



def test_snapshot_disks_disk_snapshots_and_inherited_vm_permissions(
        system: sdk.services.SystemService) -> None:
    vms = system.vms_service()
    vm = vms.vm_service(vms.list()[0].id)
    snapshots = vm.snapshots_service()
    snapshot = snapshots.add(types.Snapshot(description="before"))
    wait_for(lambda: snapshots.snapshot_service(snapshot.id).get().snapshot_status.value,
             lambda s: s == "ok", "snapshot")
    attached = {a.id for a in vm.disk_attachments_service().list()}
    disks = snapshots.snapshot_service(snapshot.id).disks_service().list()
    assert {d.id for d in disks} == attached
    assert {d.snapshot.id for d in disks} == {snapshot.id}
    domain_id = system.disks_service().list()[0].storage_domains[0].id
    on_domain = system.storage_domains_service().storage_domain_service(
        domain_id).disk_snapshots_service().list()
    mine = [s for s in on_domain if s.disk.id in attached]
    assert {s.snapshot.id for s in mine} >= {snapshot.id}
    assert len({s.id for s in on_domain}) == len(on_domain)
    permissions = vm.permissions_service().list()
    assert [(p.role.id, p.user.id) for p in permissions] == [
        (p.role.id, p.user.id) for p in system.permissions_service().list()]
    assert permissions[0].role.id == "00000000-0000-0000-0000-000000000001"


def test_export_to_path_on_host_runs_as_a_job_with_the_engine_events_and_refusals(
        system: sdk.services.SystemService) -> None:
    vms = system.vms_service()
    vm_doc = vms.list()[0]
    vm = vms.vm_service(vm_doc.id)
    kvm1 = by_name(system.hosts_service(), "kvm1")
    with pytest.raises(sdk.Error) as relative:
        vm.export_to_path_on_host(host=types.Host(id=kvm1.id),  # type: ignore[attr-defined]
                                  directory="ova", filename="x.ova")
    assert_fault(relative.value, 400, invalid_folder("ova", "kvm1"))
    with pytest.raises(sdk.Error) as no_host:
        vm.export_to_path_on_host(directory="/var/tmp")
    assert_fault(no_host.value, 400, NO_HOST)
    vm.export_to_path_on_host(host=types.Host(name="kvm1"), directory="/var/tmp")
    assert descriptions(system, 1223)[0] == (f"Starting to export Vm {vm_doc.name} as a Virtual "
                                             "Appliance")
    wait_for(lambda: descriptions(system, 1224), bool, "export event")
    assert descriptions(system, 1224)[0] == (
        f"Vm {vm_doc.name} was exported successfully as a Virtual Appliance to path "
        f"/var/tmp/{vm_doc.name}.ova on Host kvm1")
    jobs = [j.description for j in system.jobs_service().list()]
    assert f"Exporting VM {vm_doc.name} as an OVA to /var/tmp/{vm_doc.name}.ova on Host kvm1" \
        in jobs
