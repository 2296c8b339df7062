"""A disk's snapshots (``/disks/{id}/disksnapshots``) through the real ovirtsdk4: the disk's
images in its VM's snapshots, oldest first, each with its disk, snapshot and parent image; the
active image only with ``include_active``, as on the engine; the disk's link to them. Simulator
on 127.0.135.x."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
import pytest
from engine_actions_lab import quick_layout, wait_for
from engine_api_lab import ADMIN, ApiLab, running_api

PREFIX = "127.0.135."


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiLab]:
    with running_api(quick_layout(tmp_path / "lab", PREFIX)) as lab:
        yield lab


def _vm_and_disk(system: sdk.services.SystemService) -> tuple[sdk.services.VmService,
                                                                types.Disk]:
    vms = system.vms_service()
    vm = vms.vm_service(vms.list()[0].id)
    attachment = vm.disk_attachments_service().list()[0]
    return vm, system.disks_service().disk_service(attachment.id).get()


def _snapshot(vm: sdk.services.VmService, description: str) -> str:
    snapshots = vm.snapshots_service()
    snapshot = snapshots.add(types.Snapshot(description=description))
    wait_for(lambda: snapshots.snapshot_service(snapshot.id).get().snapshot_status.value,
             lambda s: s == "ok", description)
    return str(snapshot.id)


def test_a_disk_lists_its_images_in_snapshots_oldest_first_with_their_parents(
        system: sdk.services.SystemService) -> None:
    vm, disk = _vm_and_disk(system)
    service = system.disks_service().disk_service(disk.id).disk_snapshots_service()
    assert service.list() == []
    active_id = next(s.id for s in vm.snapshots_service().list()
                     if s.snapshot_type == types.SnapshotType.ACTIVE)
    [active] = service.list(include_active=True)
    assert (active.id, active.snapshot.id, active.disk.id) == (disk.image_id, active_id, disk.id)
    first, second = _snapshot(vm, "first"), _snapshot(vm, "second")
    images = service.list()
    assert [i.snapshot.id for i in images] == [first, second]
    assert {i.disk.id for i in images} == {disk.id}
    assert images[0].parent is None
    assert images[1].parent.id == images[0].id
    assert images[0].href == f"/ovirt-engine/api/disks/{disk.id}/disksnapshots/{images[0].id}"
    assert (images[0].provisioned_size, images[0].format) == (disk.provisioned_size, disk.format)
    everything = service.list(include_active=True)
    assert [i.id for i in everything] == [images[0].id, images[1].id, disk.image_id]
    assert everything[2].parent.id == images[1].id
    one = service.snapshot_service(images[1].id).get()
    assert (one.id, one.snapshot.id) == (images[1].id, second)


def test_the_storage_domain_view_hides_active_images_unless_asked(
        system: sdk.services.SystemService) -> None:
    vm, disk = _vm_and_disk(system)
    taken = _snapshot(vm, "kept")
    domain = system.storage_domains_service().storage_domain_service(disk.storage_domains[0].id)
    listed = domain.disk_snapshots_service().list()
    assert taken in {s.snapshot.id for s in listed if s.disk.id == disk.id}
    assert disk.image_id not in {s.id for s in listed}
    assert disk.image_id in {s.id for s in domain.disk_snapshots_service().list(
        include_active=True)}


def test_the_disk_links_to_its_snapshots_and_an_unknown_disk_is_404(
        api: ApiLab, system: sdk.services.SystemService) -> None:
    _, disk = _vm_and_disk(system)
    auth = {"Authorization": "Basic " + base64.b64encode(
        f"{ADMIN}:{api.password}".encode()).decode()}
    body = api.request("GET", f"/ovirt-engine/api/disks/{disk.id}", headers=auth).body
    rels = [link.get("rel") for link in ET.fromstring(body).findall("link")]
    assert rels == ["permissions", "disksnapshots", "statistics"]
    missing = system.disks_service().disk_service("5e1f0a2b-0000-4000-8000-00000000dead")
    with pytest.raises(sdk.NotFoundError):
        missing.disk_snapshots_service().list()
