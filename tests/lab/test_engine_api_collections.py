"""The engine API simulator as real clients see it, through the real ovirtsdk4: empty strings,
the collections disks, NICs and permissions link to (disk profiles, networks, vNIC profiles,
roles, tags, permissions), statistics and reported devices. In-process on 127.0.131.x."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
import pytest
from engine_api_lab import ApiLab

from opsrunner_lab.engine_api.reported import link_local
from opsrunner_lab.guest_power import POWERED_OFF
from opsrunner_lab.layout import LabLayout
from opsrunner_lab.sysroot_guest import guest_mac

PREFIX = "127.0.131."


@pytest.fixture
def layout(tmp_path: Path) -> LabLayout:
    """Two KVM hosts; guest ol8-vm1 runs, ol8-vm2 was powered off (its VM is down)."""
    lab = LabLayout(tmp_path / "lab", kvm_hosts=2, address_prefix=PREFIX,
                    guests=["ol8-vm1", "ol8-vm2"])
    marker = lab.run_dir("ol8-vm2") / POWERED_OFF
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    return lab


@pytest.fixture
def connection(api: ApiLab) -> Iterator[sdk.Connection]:
    """A real ovirtsdk4 connection to ``api`` (for ``follow_link``)."""
    opened = api.connect()
    try:
        yield opened
    finally:
        opened.close()


def test_empty_strings_read_back_as_empty_strings_not_none(api: ApiLab,
                                                           system: sdk.services.SystemService
                                                           ) -> None:
    host = system.hosts_service().list()[0]
    assert host.os.custom_kernel_cmdline == ""
    assert host.comment == ""
    assert host.hardware_information.family == ""
    assert host.os.custom_kernel_cmdline.split() == []  # what ovirt.ovirt's ovirt_host does
    vm = system.vms_service().list()[0]
    assert (vm.description, vm.comment) == ("", "")
    body = api.request("GET", f"/ovirt-engine/api/hosts/{host.id}", headers={
        "Authorization": "Basic " + _basic(api)}).body.decode()
    assert "<custom_kernel_cmdline></custom_kernel_cmdline>" in body
    assert f'<cluster href="/ovirt-engine/api/clusters/{host.cluster.id}" ' in body
    assert "<custom_kernel_cmdline />" not in body


def _basic(api: ApiLab) -> str:
    return base64.b64encode(f"admin@internal:{api.password}".encode()).decode()


REFERENCE = next((p for p in (Path(__file__).resolve().parents[2].parent / "shared" / "reference",
                               Path("/work/shared/reference")) if p.is_dir()),
                 Path("/work/shared/reference"))  # beside the checkout, or the workplace's
RUNNING = REFERENCE / "olvm-4.5.5-json" / "olvm-4.5.5-running"


def _get_json(api: ApiLab, path: str) -> Any:
    reply = api.request("GET", f"/ovirt-engine/api/{path}", headers={
        "Authorization": "Basic " + _basic(api), "Accept": "application/json"})
    assert reply.status == 200, (path, reply.status, reply.body)
    return json.loads(reply.body)


def _shape(value: Any) -> Any:
    """The keys of a JSON document, nested (lists by their first item), without values."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return None


def test_networks_list_like_the_reference_and_are_in_the_data_center_and_cluster(
        api: ApiLab, system: sdk.services.SystemService) -> None:
    reference = json.loads((RUNNING / "networks.json").read_text())
    answered = _get_json(api, "networks")
    assert _shape(answered) == _shape(reference)
    listed = system.networks_service().list()
    assert [(n.name, n.description, n.usages, n.mtu, n.stp, n.vdsm_name) for n in listed] == [
        ("ovirtmgmt", "Management Network", [types.NetworkUsage.VM], 0, False, "ovirtmgmt")]
    network = listed[0]
    assert network.id == "00000000-0000-0000-0000-000000000009"
    dc = system.data_centers_service().list()[0]
    assert network.data_center.id == dc.id
    assert system.networks_service().network_service(network.id).get().name == "ovirtmgmt"
    in_dc = system.data_centers_service().data_center_service(dc.id).networks_service().list()
    assert [n.id for n in in_dc] == [network.id]
    cluster = system.clusters_service().list()[0]
    in_cluster = system.clusters_service().cluster_service(
        cluster.id).networks_service().list()
    assert [(n.id, n.cluster.id, n.required) for n in in_cluster] == [
        (network.id, cluster.id, True)]
    assert set(in_cluster[0].usages) >= {types.NetworkUsage.MANAGEMENT, types.NetworkUsage.VM}
    got = system.clusters_service().cluster_service(cluster.id).networks_service(
        ).network_service(network.id).get()
    assert got.href == f"/ovirt-engine/api/clusters/{cluster.id}/networks/{network.id}"


def test_vnic_profiles_and_the_nic_link_to_them(connection: sdk.Connection) -> None:
    system = connection.system_service()
    profiles = system.vnic_profiles_service().list()
    assert [(p.name, p.port_mirroring, p.pass_through.mode) for p in profiles] == [
        ("ovirtmgmt", False, types.VnicPassThroughMode.DISABLED)]
    profile = profiles[0]
    assert profile.network.id == "00000000-0000-0000-0000-000000000009"
    assert profile.network_filter.id == "d2370ab4-fee3-11e9-a310-8c1645ce738e"
    by_network = system.networks_service().network_service(
        profile.network.id).vnic_profiles_service().list()
    assert [p.id for p in by_network] == [profile.id]
    vm = system.vms_service().list()[0]
    nic = system.vms_service().vm_service(vm.id).nics_service().list()[0]
    assert nic.vnic_profile.id == profile.id
    followed = connection.follow_link(nic.vnic_profile)
    assert (followed.id, followed.name) == (profile.id, "ovirtmgmt")
    assert connection.follow_link(followed.network).name == "ovirtmgmt"


def test_disk_profiles_one_per_data_domain_and_disks_link_to_them(
        connection: sdk.Connection) -> None:
    system = connection.system_service()
    domain = system.storage_domains_service().list()[0]
    profiles = system.disk_profiles_service().list()
    assert [(p.name, p.storage_domain.id) for p in profiles] == [(domain.name, domain.id)]
    disk = system.disks_service().list()[0]
    followed = connection.follow_link(disk.disk_profile)
    assert (followed.id, followed.name) == (profiles[0].id, domain.name)
    assert system.disk_profiles_service().disk_profile_service(profiles[0].id).get().name == (
        domain.name)
    on_domain = system.storage_domains_service().storage_domain_service(
        domain.id).disk_profiles_service().list()
    assert [p.id for p in on_domain] == [profiles[0].id]


def test_roles_tags_and_permissions_of_a_fresh_engine(connection: sdk.Connection) -> None:
    system = connection.system_service()
    roles = {r.name: r for r in system.roles_service().list()}
    assert {"SuperUser", "UserRole", "PowerUserRole", "ClusterAdmin", "DataCenterAdmin",
            "HostAdmin", "StorageAdmin", "NetworkAdmin", "UserVmManager",
            "ReadOnlyAdmin"} <= set(roles)
    superuser = roles["SuperUser"]
    assert superuser.id == "00000000-0000-0000-0000-000000000001"
    assert (superuser.administrative, superuser.mutable) == (True, False)
    assert (roles["UserRole"].administrative, roles["UserRole"].description) == (
        False, "Standard User Role")
    assert system.roles_service().role_service(superuser.id).get().name == "SuperUser"
    assert [(t.id, t.name) for t in system.tags_service().list()] == [
        ("00000000-0000-0000-0000-000000000000", "root")]
    admin = system.users_service().list()[0]
    permissions = system.permissions_service().list()
    assert [(p.role.id, p.user.id) for p in permissions] == [(superuser.id, admin.id)]
    assert connection.follow_link(permissions[0].role).name == "SuperUser"
    mine = system.users_service().user_service(admin.id).permissions_service().list()
    assert [p.role.id for p in mine] == [superuser.id]


def test_a_nic_is_added_with_a_known_profile_and_refused_with_an_unknown_one(
        connection: sdk.Connection) -> None:
    system = connection.system_service()
    profile = system.vnic_profiles_service().list()[0]
    vm = system.vms_service().list()[0]
    nics = system.vms_service().vm_service(vm.id).nics_service()
    added = nics.add(types.Nic(name="nic2", vnic_profile=types.VnicProfile(id=profile.id)))
    assert added.vnic_profile.id == profile.id
    assert connection.follow_link(added.vnic_profile).name == "ovirtmgmt"
    with pytest.raises(sdk.Error) as refused:
        nics.add(types.Nic(name="nic3", vnic_profile=types.VnicProfile(
            id="11111111-2222-3333-4444-555555555555")))
    assert refused.value.code == 400
    assert ("Cannot add Interface. The specified VM network interface profile doesn't exist."
            in str(refused.value))
    assert [n.name for n in nics.list()] == ["nic1", "nic2"]


def _vm(system: sdk.services.SystemService, name: str) -> types.Vm:
    [vm] = system.vms_service().list(search=f"name={name}")
    return vm


def _by_name(statistics: list[types.Statistic]) -> dict[str, types.Statistic]:
    return {s.name: s for s in statistics}


def test_host_statistics_have_the_engines_names_units_and_values(
        api: ApiLab, system: sdk.services.SystemService) -> None:
    host = system.hosts_service().list()[0]
    service = system.hosts_service().host_service(host.id).statistics_service()
    stats = _by_name(service.list())
    reference = json.loads((RUNNING / "host_statistics.json").read_text())["statistic"]
    assert list(stats) == [s["name"] for s in reference]
    for name, unit, kind, value_type in [
            ("memory.total", types.StatisticUnit.BYTES, types.StatisticKind.GAUGE,
             types.ValueType.INTEGER),
            ("cpu.current.idle", types.StatisticUnit.PERCENT, types.StatisticKind.GAUGE,
             types.ValueType.DECIMAL),
            ("cpu.load.avg.5m", types.StatisticUnit.PERCENT, types.StatisticKind.GAUGE,
             types.ValueType.DECIMAL),
            ("boot.time", types.StatisticUnit.NONE, types.StatisticKind.GAUGE,
             types.ValueType.INTEGER)]:
        assert (stats[name].unit, stats[name].kind, stats[name].type) == (
            unit, kind, value_type), name
    total, used, free = (stats[n].values[0].datum for n in ("memory.total", "memory.used",
                                                             "memory.free"))
    assert total == host.memory and used + free == total and used > 2 * 1024 ** 3
    user, system_cpu, idle = (stats[n].values[0].datum for n in (
        "cpu.current.user", "cpu.current.system", "cpu.current.idle"))
    assert user + system_cpu + idle == 100
    memory_used = stats["memory.used"]
    assert memory_used.id == "b7499508-c1c3-32f0-8174-c1783e57bb08"  # as on the engine
    assert service.statistic_service(memory_used.id).get().name == "memory.used"
    assert stats["hugepages.2048.free"].href is None
    answered = _get_json(api, f"hosts/{host.id}/statistics")["statistic"]
    by_name = {s["name"]: s for s in answered}
    for expected in reference:
        got = by_name[expected["name"]]
        assert set(got) == set(expected), expected["name"]
        assert {k: got[k] for k in ("kind", "type", "unit", "description")} == {
            k: expected[k] for k in ("kind", "type", "unit", "description")}
        assert all(isinstance(v["datum"], (int, float)) for v in got["values"]["value"])


def test_vm_statistics_of_a_running_and_of_a_down_vm(api: ApiLab,
                                                     system: sdk.services.SystemService
                                                     ) -> None:
    reference = json.loads((RUNNING / "vm_statistics.json").read_text())["statistic"]
    running, down = _vm(system, "ol8-vm1"), _vm(system, "ol8-vm2")
    assert (running.status, down.status) == (types.VmStatus.UP, types.VmStatus.DOWN)
    stats = _by_name(system.vms_service().vm_service(running.id).statistics_service().list())
    assert list(stats) == [s["name"] for s in reference]
    assert stats["memory.installed"].values[0].datum == running.memory
    assert 0 < stats["memory.used"].values[0].datum < running.memory
    assert stats["cpu.current.guest"].values[0].datum > 0
    assert stats["elapsed.time"].kind == types.StatisticKind.COUNTER
    assert stats["elapsed.time"].unit == types.StatisticUnit.SECONDS
    assert stats["elapsed.time"].values[0].datum > 0
    assert len(stats["cpu.usage.history"].values) == 5
    assert stats["disks.usage"].type == types.ValueType.STRING
    assert stats["disks.usage"].values == []
    off = _by_name(system.vms_service().vm_service(down.id).statistics_service().list())
    assert off["memory.installed"].values[0].datum == down.memory
    assert all(s.values[0].datum == 0 for name, s in off.items()
               if name != "memory.installed" and s.values)
    assert off["cpu.usage.history"].values == []
    answered = {s["name"]: s for s in _get_json(api, f"vms/{running.id}/statistics")[
        "statistic"]}
    for expected in reference:
        assert set(answered[expected["name"]]) == set(expected), expected["name"]


def test_a_running_vm_reports_its_guests_nic_with_mac_and_addresses(
        layout: LabLayout, system: sdk.services.SystemService) -> None:
    running, down = _vm(system, "ol8-vm1"), _vm(system, "ol8-vm2")
    vm_service = system.vms_service().vm_service(running.id)
    [device] = vm_service.reported_devices_service().list()
    assert (device.name, device.type, device.mac.address) == (
        "eth0", types.ReportedDeviceType.NETWORK, guest_mac("ol8-vm1"))
    assert device.mac.address == vm_service.nics_service().list()[0].mac.address
    addresses = {(ip.address, ip.version) for ip in device.ips}
    assert (layout.host("ol8-vm1").address, types.IpVersion.V4) in addresses
    assert (link_local(guest_mac("ol8-vm1")), types.IpVersion.V6) in addresses
    assert vm_service.reported_devices_service().reported_device_service(
        device.id).get().mac.address == device.mac.address
    assert system.vms_service().vm_service(down.id).reported_devices_service().list() == []
