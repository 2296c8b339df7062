"""The engine API simulator driven by the real ovirtsdk4: SSO, reads, search, follow, max,
events, faults, persistence. The simulator runs in-process on 127.0.94.2 (plain HTTP)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
import pytest
from engine_api_lab import ADMIN, ApiLab, running_api

from opsrunner_lab.engine_api.server import admin_password_file
from opsrunner_lab.layout import LabLayout
from opsrunner_lab.sysroot_guest import guest_mac

PREFIX = "127.0.94."
GIB = 1024 ** 3
WRONG_PASSWORD = ("Error during SSO authentication access_denied : Cannot authenticate user "
                  "'admin@internal': Unable to log in. Verify your login information or contact "
                  "the system administrator..")


@pytest.fixture
def layout(tmp_path: Path) -> LabLayout:
    return LabLayout(tmp_path / "lab", kvm_hosts=2, address_prefix=PREFIX)


def login_events(system: sdk.services.SystemService) -> list[types.Event]:
    return system.events_service().list(search="code=30")


def test_api_root_has_olvm_product_info_summary_and_time(system: sdk.services.SystemService
                                                          ) -> None:
    api = system.get()
    assert api.product_info.name == "Oracle Linux Virtualization Manager"
    version = api.product_info.version
    assert (version.major, version.minor, version.build, version.full_version) == (
        4, 5, 5, "4.5.5-1.73.el9")
    assert api.special_objects.blank_template.id == "00000000-0000-0000-0000-000000000000"
    assert (api.summary.hosts.active, api.summary.hosts.total) == (2, 2)
    assert (api.summary.vms.active, api.summary.vms.total) == (1, 1)
    assert (api.summary.storage_domains.active, api.summary.storage_domains.total) == (1, 1)
    assert api.time.tzinfo is not None
    assert api.authenticated_user.id == system.users_service().list()[0].id


def test_logout_revokes_the_token_and_is_logged(api: ApiLab) -> None:
    connection = api.connect()
    token = connection.authenticate()
    assert api.request("GET", "/ovirt-engine/api", headers={
        "Authorization": f"Bearer {token}"}).status == 200
    connection.close()
    refused = api.request("GET", "/ovirt-engine/api", headers={"Authorization": f"Bearer {token}"})
    assert refused.status == 401
    assert refused.headers["content-type"].startswith("application/xml")
    assert b"<fault>" in refused.body
    with api.connect() as again:
        last = again.system_service().events_service().list(search="code=31", max=1)
    assert [e.description for e in last] == ["User admin@internal-authz logged out."]


def test_wrong_password_is_refused_with_the_engines_sso_error(api: ApiLab) -> None:
    connection = api.connect(password="not-the-password")
    with pytest.raises(sdk.AuthError) as refused:
        connection.system_service().get()
    assert str(refused.value) == WRONG_PASSWORD
    connection.close(logout=False)
    raw = api.request("POST", "/ovirt-engine/sso/oauth/token",
                      b"scope=ovirt-app-api&username=admin%40internal&password=x",
                      {"Content-Type": "application/x-www-form-urlencoded",
                       "Accept": "application/json"})
    assert (raw.status, json.loads(raw.body)) == (
        400, {"error_code": "invalid_request", "error": "Missing parameter: 'grant_type'"})


def test_an_expired_token_makes_the_sdk_log_in_again(layout: LabLayout) -> None:
    with running_api(layout, token_ttl=0.5) as api, api.connect() as connection:
        system = connection.system_service()
        assert len(login_events(system)) == 1
        time.sleep(0.8)  # the token expires unused
        assert [h.name for h in system.hosts_service().list()] == ["kvm1", "kvm2"]
        assert len(login_events(system)) == 2


def test_admin_password_is_generated_once_in_a_private_secret_file(api: ApiLab) -> None:
    secret = admin_password_file(api.layout)
    assert secret.stat().st_mode & 0o777 == 0o600
    assert secret.read_text().endswith("\n") and len(api.password) >= 20


def test_every_collection_lists_and_every_entity_reads(system: sdk.services.SystemService
                                                       ) -> None:
    services = {
        "data_centers": system.data_centers_service(), "clusters": system.clusters_service(),
        "hosts": system.hosts_service(), "vms": system.vms_service(),
        "templates": system.templates_service(),
        "storage_domains": system.storage_domains_service(), "disks": system.disks_service(),
        "jobs": system.jobs_service(), "events": system.events_service(),
        "users": system.users_service(),
    }
    service_of = {"data_centers": "data_center_service", "clusters": "cluster_service",
                  "hosts": "host_service", "vms": "vm_service", "templates": "template_service",
                  "storage_domains": "storage_domain_service", "disks": "disk_service",
                  "jobs": "job_service", "events": "event_service", "users": "user_service"}
    for name, service in services.items():
        listed = service.list()
        assert listed, name
        for entity in listed:
            read = getattr(service, service_of[name])(entity.id).get()
            assert (read.id, read.href) == (entity.id, entity.href), name
    hosts = services["hosts"].list()
    assert [(h.name, h.status, h.address) for h in hosts] == [
        ("kvm1", types.HostStatus.UP, PREFIX + "11"), ("kvm2", types.HostStatus.UP, PREFIX + "12")]
    assert [(d.name, d.status) for d in services["data_centers"].list()] == [
        ("Default", types.DataCenterStatus.UP)]
    domain = services["storage_domains"].list()[0]
    assert (domain.name, domain.type, domain.storage.type) == (
        "data", types.StorageDomainType.DATA, types.StorageType.NFS)
    assert domain.available > 0 and domain.used > 0 and domain.committed > 0
    assert [t.name for t in services["templates"].list()] == ["Blank"]
    assert [j.status for j in services["jobs"].list()] == [types.JobStatus.FINISHED] * 2


def test_vm_sub_collections(system: sdk.services.SystemService) -> None:
    vm = system.vms_service().list(search="name=ol8-vm1")[0]
    assert (vm.status, vm.host.id) == (types.VmStatus.UP,
                                       system.hosts_service().list(search="name=kvm1")[0].id)
    service = system.vms_service().vm_service(vm.id)
    nics = service.nics_service().list()
    assert [(n.name, n.mac.address) for n in nics] == [("nic1", guest_mac("ol8-vm1"))]
    attachments = service.disk_attachments_service().list()
    disk = system.disks_service().list()[0]
    assert [(a.disk.id, a.bootable, a.interface) for a in attachments] == [
        (disk.id, True, types.DiskInterface.VIRTIO)]
    snapshots = service.snapshots_service().list()
    assert [(s.description, s.snapshot_type, s.snapshot_status) for s in snapshots] == [
        ("Active VM", types.SnapshotType.ACTIVE, types.SnapshotStatus.OK)]
    assert [c.id for c in service.cdroms_service().list()] == [
        "00000000-0000-0000-0000-000000000000"]
    domain = system.storage_domains_service().list()[0]
    on_domain = system.storage_domains_service().storage_domain_service(domain.id)
    assert [d.id for d in on_domain.disks_service().list()] == [disk.id]
    assert [h.name for h in system.hosts_service().host_service(vm.host.id).nics_service().list()
            ] == []


def test_attached_storage_domain_is_active_in_its_data_center_only(
        system: sdk.services.SystemService) -> None:
    dc = system.data_centers_service().list()[0]
    attached = system.data_centers_service().data_center_service(dc.id)
    domains = attached.storage_domains_service().list()
    assert [(d.name, d.status, d.master) for d in domains] == [
        ("data", types.StorageDomainStatus.ACTIVE, True)]
    assert system.storage_domains_service().list()[0].status is None


def test_search_by_name_is_case_insensitive_with_wildcards(system: sdk.services.SystemService
                                                            ) -> None:
    hosts = system.hosts_service()

    def names(query: str) -> list[str]:
        return [h.name for h in hosts.list(search=query)]

    assert names("name=kvm1") == ["kvm1"]
    assert names("name=KVM*") == ["kvm1", "kvm2"]
    assert names('name="kvm2"') == ["kvm2"]
    assert names("name=kvm1 or name=kvm2") == ["kvm1", "kvm2"]
    assert names("status=up and name=*2") == ["kvm2"]
    assert names("name=nope") == []
    assert [h.name for h in hosts.list(search="name=KVM1", case_sensitive=True)] == []
    assert [h.name for h in hosts.list(search="name=kvm1", case_sensitive=True)] == ["kvm1"]
    assert [v.name for v in system.vms_service().list(search="host=kvm1")] == ["ol8-vm1"]
    assert [v.name for v in system.vms_service().list(search="cluster=default")] == ["ol8-vm1"]
    with pytest.raises(sdk.Error) as invalid:
        hosts.list(search="name kvm1")
    assert invalid.value.code == 400
    assert invalid.value.fault.detail == "invalid condition relation"


def test_follow_embeds_sub_collections_and_references(system: sdk.services.SystemService) -> None:
    vm = system.vms_service().list(follow="disk_attachments.disk,nics")[0]
    assert [n.mac.address for n in vm.nics] == [guest_mac("ol8-vm1")]
    assert [(a.disk.name, a.disk.provisioned_size) for a in vm.disk_attachments] == [
        ("ol8-vm1_Disk1", 10 * GIB)]
    plain = system.vms_service().list()[0]
    assert plain.nics.href.endswith(f"/vms/{vm.id}/nics") and len(plain.nics) == 0
    followed = system.vms_service().vm_service(vm.id).get(follow="cluster,host")
    assert (followed.cluster.name, followed.host.name) == ("Default", "kvm1")
    with pytest.raises(sdk.Error) as unknown:
        system.vms_service().list(follow="nothing")
    assert unknown.value.code == 400


def test_events_add_then_newest_first_with_max_and_from(system: sdk.services.SystemService
                                                        ) -> None:
    events = system.events_service()
    before = events.list()
    added = events.add(types.Event(description="maintenance window X started",
                                   severity=types.LogSeverity.WARNING, origin="opsrunner",
                                   custom_id=4711))
    assert (added.description, added.severity, added.origin, added.custom_id) == (
        "maintenance window X started", types.LogSeverity.WARNING, "opsrunner", 4711)
    assert int(added.id) == int(before[0].id) + 1
    assert [e.id for e in events.list(max=1)] == [added.id]
    indexes = [int(e.id) for e in events.list()]
    assert indexes == sorted(indexes, reverse=True) and len(indexes) == len(before) + 1
    assert [e.id for e in events.list(from_=int(before[0].id))] == [added.id]
    assert [e.id for e in events.list(search="severity>normal")] == [added.id]


def test_event_add_faults_as_the_engine_answers_them(system: sdk.services.SystemService) -> None:
    events = system.events_service()
    with pytest.raises(sdk.Error) as incomplete:
        events.add(types.Event(description="no origin", severity=types.LogSeverity.NORMAL,
                               custom_id=1))
    assert (incomplete.value.code, incomplete.value.fault.reason,
            incomplete.value.fault.detail) == (400, "Incomplete parameters",
                                               "Event [origin] required for add")
    with pytest.raises(sdk.Error) as illegal:
        events.add(types.Event(description="x", severity=types.LogSeverity.NORMAL,
                               origin="oVirt", custom_id=2))
    assert (illegal.value.code, illegal.value.fault.reason, illegal.value.fault.detail) == (
        409, "Operation Failed", "[Cannot add Event. Illegal origin: oVirt.]")


def test_unknown_ids_and_paths_are_404_with_an_empty_body(api: ApiLab,
                                                          system: sdk.services.SystemService
                                                          ) -> None:
    with pytest.raises(sdk.NotFoundError):
        system.vms_service().vm_service("6a8e7a3c-0000-4000-8000-000000000000").get()
    with pytest.raises(sdk.NotFoundError):
        system.hosts_service().host_service("nope").get()
    headers = {"Authorization": "Basic " + _basic(ADMIN, api.password)}
    for path in ("/ovirt-engine/api/vms/nope", "/ovirt-engine/api/nonsense"):
        raw = api.request("GET", path, headers=headers)
        assert (raw.status, raw.body) == (404, b"")


def test_bad_content_type_and_malformed_xml_are_400_faults(api: ApiLab) -> None:
    basic = {"Authorization": "Basic " + _basic(ADMIN, api.password)}
    wrong_type = api.request("POST", "/ovirt-engine/api/events", b"{}",
                             {**basic, "Content-Type": "application/json"})
    assert wrong_type.status == 400
    assert wrong_type.headers["content-type"].startswith("application/xml")
    assert b"<reason>Bad Request</reason>" in wrong_type.body
    malformed = api.request("POST", "/ovirt-engine/api/events", b"<event><description>",
                            {**basic, "Content-Type": "application/xml"})
    assert malformed.status == 400
    assert b"Cannot parse the request body as XML" in malformed.body


def test_json_to_accept_application_json(api: ApiLab) -> None:
    headers = {"Authorization": "Basic " + _basic(ADMIN, api.password),
               "Accept": "application/json"}
    root = api.request("GET", "/ovirt-engine/api", headers=headers)
    assert root.headers["content-type"] == "application/json"
    document = json.loads(root.body)
    assert document["product_info"]["version"]["major"] == "4"
    assert isinstance(document["time"], int)
    vms = json.loads(api.request("GET", "/ovirt-engine/api/vms", headers=headers).body)
    assert [vm["name"] for vm in vms["vm"]] == ["ol8-vm1"]
    assert {"href", "id", "actions", "link", "status"} <= set(vms["vm"][0])
    empty = json.loads(api.request("GET", "/ovirt-engine/api/vms?search=name%3Dnone",
                                   headers=headers).body)
    assert empty == {}


def test_state_survives_a_restart(layout: LabLayout) -> None:
    with running_api(layout) as api, api.connect() as connection:
        system = connection.system_service()
        hosts = [(h.id, h.name) for h in system.hosts_service().list()]
        added = system.events_service().add(types.Event(
            description="kept", severity=types.LogSeverity.NORMAL, origin="test", custom_id=9))
        password = api.password
    with running_api(layout) as api, api.connect() as connection:
        system = connection.system_service()
        assert api.password == password
        assert [(h.id, h.name) for h in system.hosts_service().list()] == hosts
        assert system.events_service().event_service(added.id).get().description == "kept"


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()
