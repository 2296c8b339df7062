"""VM NICs through the real ovirtsdk4: NICs added to a running VM (hot plug) with and without a
MAC, the engine's refusals, and a template from a down VM with two NICs (copied, no MACs).
Simulator on 127.0.108.2, with two guests (ol8-vm1, ol8-vm2)."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
import pytest
from engine_actions_lab import (
    ADMIN_NAME,
    SCALE,
    assert_fault,
    by_name,
    descriptions,
    status_of,
    wait_for,
)
from engine_api_lab import ADMIN, ApiLab, RawResponse
from test_engine_api_shapes import tag_paths

from opsrunner_lab.engine_api.settings import write_timing
from opsrunner_lab.engine_api.vm_nics import BAD_MAC, MULTICAST_MAC
from opsrunner_lab.layout import LabLayout
from opsrunner_lab.sysroot_guest import guest_mac

PREFIX = "127.0.108."
POOL_MAC = re.compile(r"^56:6f(:[0-9a-f]{2}){4}$")
NAME_IN_USE = "Network interface name is already in use"
# Every element path of a VM NIC the simulator writes (the engine's names, alphabetical).
VM_NIC_PATHS = {"nic", "nic@href", "nic@id", "nic/actions", "nic/actions/link",
                "nic/actions/link@href", "nic/actions/link@rel", "nic/link", "nic/link@href",
                "nic/link@rel", "nic/name", "nic/interface", "nic/linked", "nic/mac",
                "nic/mac/address", "nic/plugged", "nic/synced", "nic/vnic_profile",
                "nic/vnic_profile@href", "nic/vnic_profile@id", "nic/vm", "nic/vm@href",
                "nic/vm@id"}


@pytest.fixture
def layout(tmp_path: Path) -> LabLayout:
    lab = LabLayout(tmp_path / "lab", kvm_hosts=1, address_prefix=PREFIX,
                    guests=["ol8-vm1", "ol8-vm2"])
    write_timing(lab, SCALE)
    return lab


def vm_named(system: sdk.services.SystemService, name: str) -> sdk.services.VmService:
    vms = system.vms_service()
    return vms.vm_service(by_name(vms, name).id)  # type: ignore[attr-defined]


def get(api: ApiLab, path: str) -> RawResponse:
    auth = "Basic " + base64.b64encode(f"{ADMIN}:{api.password}".encode()).decode()
    return api.request("GET", path if path.startswith("/") else f"/ovirt-engine/api/{path}",
                       headers={"Authorization": auth})


def added_event(nic: str, kind: str, vm: str) -> str:
    return f"Interface {nic} ({kind}) was added to VM {vm}. (User: {ADMIN_NAME})"


def test_nics_are_hot_plugged_into_a_running_vm_with_and_without_a_mac(
        api: ApiLab, system: sdk.services.SystemService) -> None:
    vm = vm_named(system, "ol8-vm1")
    nics = vm.nics_service()
    [nic1] = nics.list()
    profile = nic1.vnic_profile.id
    added = nics.add(types.Nic(name="nic2", interface=types.NicInterface.VIRTIO,
                               vnic_profile=types.VnicProfile(id=profile),
                               mac=types.Mac(address="56:6F:00:00:0A:02")))
    assert (added.name, added.interface, added.mac.address, added.plugged, added.linked,
            added.vnic_profile.id, added.vm.id) == (
        "nic2", types.NicInterface.VIRTIO, "56:6f:00:00:0a:02", True, True, profile,
        vm.get().id)
    pooled = nics.add(types.Nic(name="nic3"))
    assert pooled.interface == types.NicInterface.VIRTIO and pooled.vnic_profile is None
    assert POOL_MAC.match(pooled.mac.address), pooled.mac.address
    e1000 = nics.add(types.Nic(name="nic.4", interface=types.NicInterface.E1000, linked=False))
    assert (e1000.interface, e1000.linked, e1000.plugged) == (
        types.NicInterface.E1000, False, True)

    listed = nics.list()
    assert [n.name for n in listed] == ["nic1", "nic2", "nic3", "nic.4"]
    macs = [n.mac.address for n in listed] + [guest_mac("ol8-vm2")]
    assert len(set(macs)) == len(macs)
    assert nics.nic_service(pooled.id).get().mac.address == pooled.mac.address
    assert vm.get().status.value == "up"
    assert descriptions(system, 932) == [added_event("nic.4", "e1000", "ol8-vm1"),
                                         added_event("nic3", "VirtIO", "ol8-vm1"),
                                         added_event("nic2", "VirtIO", "ol8-vm1")]
    body = get(api, f"vms/{vm.get().id}/nics")
    assert body.status == 200 and tag_paths(body.body) == VM_NIC_PATHS
    [other] = vm_named(system, "ol8-vm2").nics_service().list()
    assert other.name == "nic1"


def test_nic_additions_are_refused_like_the_engine(
        api: ApiLab, system: sdk.services.SystemService) -> None:
    vm = vm_named(system, "ol8-vm1")
    nics = vm.nics_service()
    taken = guest_mac("ol8-vm2")
    refusals = [
        (types.Nic(name="nic1"), 409, NAME_IN_USE),
        (types.Nic(name="nic2", mac=types.Mac(address=taken.upper())), 409,
         f"MAC Address {taken} is already in use by VM or snapshot: ol8-vm2."),
        (types.Nic(name="nic2", mac=types.Mac(address="56:6f:zz:00:00:01")), 400, BAD_MAC),
        (types.Nic(name="nic2", mac=types.Mac(address="01:00:5e:00:00:01")), 400,
         MULTICAST_MAC),
        (types.Nic(name="nic 2"), 400,
         'Name must be formed of alphanumeric characters, numbers or "-_.".'),
    ]
    for nic, code, message in refusals:
        with pytest.raises(sdk.Error) as refused:
            nics.add(nic)
        assert_fault(refused.value, code, message)
    with pytest.raises(sdk.Error) as nameless:
        nics.add(types.Nic(interface=types.NicInterface.VIRTIO))
    assert nameless.value.code == 400
    assert 'Fault detail is "Nic [name] required for add".' in str(nameless.value)

    auth = "Basic " + base64.b64encode(f"{ADMIN}:{api.password}".encode()).decode()
    bad_interface = api.request(
        "POST", f"/ovirt-engine/api/vms/{vm.get().id}/nics",
        b"<nic><name>nic2</name><interface>ne2k_pci</interface></nic>",
        {"Authorization": auth, "Content-Type": "application/xml"})
    assert bad_interface.status == 400
    assert b"<reason>Invalid value</reason>" in bad_interface.body
    assert (b"<detail>ne2k_pci is not a member of NicInterface. Possible values for "
            b"NicInterface are: e1000, e1000e, pci_passthrough, rtl8139, rtl8139_virtio, "
            b"spapr_vlan, virtio</detail>") in bad_interface.body

    store = api.server.app.store
    store.update("vms", str(vm.get().id), {"status": "migrating"})
    with pytest.raises(sdk.Error) as migrating:
        nics.add(types.Nic(name="nic2"))
    assert_fault(migrating.value, 409, "Cannot add a Network Interface when VM is not Down, Up "
                                       "or Image-Locked.")
    assert [n.name for n in nics.list()] == ["nic1"]
    assert descriptions(system, 932) == []


def test_a_template_takes_the_vm_nics_without_their_macs(
        api: ApiLab, system: sdk.services.SystemService) -> None:
    vm = vm_named(system, "ol8-vm1")
    vm.stop()
    wait_for(status_of(vm), lambda s: s == "down", "ol8-vm1")
    nics = vm.nics_service()
    nics.add(types.Nic(name="nic2", interface=types.NicInterface.E1000, plugged=False))
    vm_nics = {n.name: n for n in nics.list()}
    assert descriptions(system, 932) == [added_event("nic2", "e1000", "ol8-vm1")]

    added = system.templates_service().add(types.Template(name="ol8-nics",
                                                          vm=types.Vm(id=vm.get().id)))
    template = system.templates_service().template_service(added.id)
    copies = template.nics_service().list()
    assert [(n.name, n.interface, n.plugged, n.linked, n.mac) for n in copies] == [
        ("nic1", types.NicInterface.VIRTIO, True, True, None),
        ("nic2", types.NicInterface.E1000, False, True, None)]
    assert copies[0].vnic_profile.id == vm_nics["nic1"].vnic_profile.id
    assert copies[1].vnic_profile is None
    assert {n.template.id for n in copies} == {added.id}
    assert {n.id for n in copies}.isdisjoint(n.id for n in vm_nics.values())
    wait_for(status_of(template), lambda s: s == "ok", "ol8-nics")

    body = ET.fromstring(get(api, f"templates/{added.id}").body)
    [link] = [ln for ln in body.findall("link") if ln.get("rel") == "nics"]
    listed = get(api, str(link.get("href")))
    assert listed.status == 200 and b"<mac>" not in listed.body
    assert {p for p in tag_paths(listed.body) if not p.startswith("nic/vnic_profile")} == {
        "nic", "nic@href", "nic@id", "nic/name", "nic/interface", "nic/linked", "nic/plugged",
        "nic/template", "nic/template@href", "nic/template@id"}
    assert [n.mac.address for n in nics.list()] == [vm_nics["nic1"].mac.address,
                                                    vm_nics["nic2"].mac.address]
    blank = system.templates_service().template_service("00000000-0000-0000-0000-000000000000")
    assert blank.nics_service().list() == []
