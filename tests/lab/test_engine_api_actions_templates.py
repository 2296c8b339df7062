"""Templates and snapshots through the real ovirtsdk4: a sealed template from a down VM (locked,
then ok, its disk named after it, the VM locked meanwhile), snapshots made, restored and removed,
with the engine's refusals, events and element shapes; a restart mid-creation finishes it.
Simulator on 127.0.100.2."""

from __future__ import annotations

import base64
import json
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

from opsrunner_lab.layout import LabLayout

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


SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIlabkey admin@x"
ROOT_PASSWORD = "s3cret-never-shown"
CUSTOM_SCRIPT = "runcmd:\n - touch /etc/x\n"
LOCKED = "Template is currently locked (temporarily)."


def basic_auth(api: ApiLab) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(
        f"{ADMIN}:{api.password}".encode()).decode()}


def cloud_init() -> types.Initialization:
    return types.Initialization(
        authorized_ssh_keys=SSH_KEY, regenerate_ssh_keys=True,
        dns_servers="192.0.2.53 192.0.2.54", dns_search="lab.local", custom_script=CUSTOM_SCRIPT,
        root_password=ROOT_PASSWORD, user_name="root", host_name="", timezone="UTC",
        cloud_init_network_protocol=types.CloudInitNetworkProtocol.ENI,
        nic_configurations=[types.NicConfiguration(
            name="eth0", on_boot=True, boot_protocol=types.BootProtocol.STATIC,
            ip=types.Ip(address="192.0.2.10", netmask="255.255.255.0", gateway="192.0.2.1"))])


def ready_template(system: sdk.services.SystemService,
                   name: str) -> sdk.services.TemplateService:
    """A template (status ok) made from the powered-off ol8-vm1."""
    vm = vm_of(system)
    if vm.get().status.value != "down":
        power_off(vm)
    added = system.templates_service().add(template_request(vm.get(), name))
    template = system.templates_service().template_service(added.id)
    wait_for(status_of(template), lambda s: s == "ok", name)
    return template


def test_a_template_update_stores_the_initial_run_settings(
        api: ApiLab, system: sdk.services.SystemService) -> None:
    template = ready_template(system, "ol8-cloud")
    template_id = template.get().id
    answered = template.update(types.Template(description="x", initialization=cloud_init()))
    assert answered.description == "x" and answered.initialization.user_name == "root"
    got = template.get().initialization
    assert (got.authorized_ssh_keys, got.regenerate_ssh_keys, got.dns_servers, got.dns_search,
            got.custom_script, got.user_name, got.timezone) == (
        SSH_KEY, True, "192.0.2.53 192.0.2.54", "lab.local", CUSTOM_SCRIPT, "root", "UTC")
    # "" is written <host_name></host_name> as the engine does (read as ''); never the password
    assert got.host_name == "" and got.root_password is None
    assert got.cloud_init_network_protocol == types.CloudInitNetworkProtocol.ENI
    [nic] = got.nic_configurations
    assert (nic.name, nic.on_boot, nic.boot_protocol) == ("eth0", True, types.BootProtocol.STATIC)
    assert (nic.ip.address, nic.ip.netmask, nic.ip.gateway) == (
        "192.0.2.10", "255.255.255.0", "192.0.2.1")
    assert descriptions(system, 59) == [f"Template ol8-cloud configuration was updated by "
                                        f"{ADMIN_NAME}."]

    body = get_body(api, f"templates/{template_id}")
    assert ROOT_PASSWORD.encode() not in body and b"root_password" not in body
    assert b"<nic_configurations>\n" in body and b"<nic_configuration>\n" in body
    as_json = api.request("GET", f"/ovirt-engine/api/templates/{template_id}",
                          headers={**basic_auth(api), "Accept": "application/json"})
    assert ROOT_PASSWORD.encode() not in as_json.body
    initialization = json.loads(as_json.body)["initialization"]
    assert initialization["nic_configurations"] == {"nic_configuration": [{
        "boot_protocol": "static", "ip": {"address": "192.0.2.10", "gateway": "192.0.2.1",
                                          "netmask": "255.255.255.0"},
        "name": "eth0", "on_boot": "true"}]}
    assert initialization["regenerate_ssh_keys"] == "true"
    events_body = get_body(api, "events")
    assert ROOT_PASSWORD.encode() not in events_body

    template.update(types.Template(comment="kept"))
    assert template.get().initialization.authorized_ssh_keys == SSH_KEY
    stored = api.server.app.store.get("templates", template_id)
    assert stored is not None and stored["initialization"]["_root_password"] == ROOT_PASSWORD

    template.update(types.Template(initialization=types.Initialization(
        dns_servers="198.51.100.53", nic_configurations=[
            types.NicConfiguration(name="eth1", boot_protocol=types.BootProtocol.DHCP)])))
    replaced = template.get()
    assert replaced.comment == "kept" and replaced.description == "x"
    assert replaced.initialization.dns_servers == "198.51.100.53"
    assert (replaced.initialization.authorized_ssh_keys, replaced.initialization.user_name,
            replaced.initialization.regenerate_ssh_keys) == (None, None, None)
    assert [(n.name, n.boot_protocol, n.on_boot)
            for n in replaced.initialization.nic_configurations] == [
        ("eth1", types.BootProtocol.DHCP, None)]
    stored = api.server.app.store.get("templates", template_id)
    assert stored is not None and "_root_password" not in stored["initialization"]
    assert len(descriptions(system, 59)) == 3


def test_template_updates_are_refused_like_the_engine(
        api: ApiLab, system: sdk.services.SystemService) -> None:
    vm = vm_of(system)
    power_off(vm)
    added = system.templates_service().add(template_request(vm.get(), "ol8-busy"))
    template = system.templates_service().template_service(added.id)
    with pytest.raises(sdk.Error) as locked:
        template.update(types.Template(description="too early"))
    assert_fault(locked.value, 409, LOCKED)
    with pytest.raises(sdk.Error) as taken_while_locked:  # the name is checked first
        template.update(types.Template(name="Blank"))
    assert_fault(taken_while_locked.value, 409, "Cannot update Template. The Template name is "
                                                "already in use, please choose a unique name "
                                                "and try again.")
    wait_for(status_of(template), lambda s: s == "ok", "ol8-busy")
    with pytest.raises(sdk.Error) as special:
        template.update(types.Template(name="ol8 busy!"))
    assert_fault(special.value, 400, "Cannot update Template. The given name contains special "
                                     "characters. Only lower-case and upper-case letters, "
                                     "numbers, '_', '-', '.' are allowed.")
    assert template.update(types.Template(name="ol8-renamed")).name == "ol8-renamed"
    assert template.update(types.Template(name="ol8-renamed")).name == "ol8-renamed"

    refused = api.request(
        "PUT", f"/ovirt-engine/api/templates/{added.id}",
        b"<template><initialization><root_password>" + ROOT_PASSWORD.encode() +
        b"</root_password><nic_configurations><nic_configuration><name>eth0</name>"
        b"<boot_protocol>bootp</boot_protocol></nic_configuration></nic_configurations>"
        b"</initialization></template>",
        {**basic_auth(api), "Content-Type": "application/xml"})
    assert refused.status == 400
    assert b"<reason>Invalid value</reason>" in refused.body
    assert (b"<detail>bootp is not a member of BootProtocol. Possible values for BootProtocol "
            b"are: autoconf, dhcp, none, poly_dhcp_autoconf, static</detail>") in refused.body
    assert ROOT_PASSWORD.encode() not in refused.body
    assert template.get().initialization is None
    assert descriptions(system, 59) == [f"Template ol8-renamed configuration was updated by "
                                        f"{ADMIN_NAME}."] * 2
