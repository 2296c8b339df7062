"""Disks and image transfers through the real ovirtsdk4 and the lab's real ovirt-imageio: a disk
is created (locked, then ok) as a file of its storage domain and removed with it; an upload's
bytes go over HTTPS (validated with the lab CA) to the transfer's proxy_url and land in that
file; finalize checks them, cancel and failures clean up. Simulator and imageio on 127.0.101.2."""

from __future__ import annotations

import base64
import http.client
import os
import ssl
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
import pytest
from engine_actions_lab import assert_fault, descriptions, quick_layout, status_of, wait_for
from engine_api_lab import ADMIN, ApiLab, running_api
from test_engine_api_shapes import reference_paths, tag_paths

from opsrunner_lab.engine_api.disks import disk_file
from opsrunner_lab.imageio import imageio_unit, install_imageio
from opsrunner_lab.layout import LabLayout
from opsrunner_lab.processes import pid_alive
from opsrunner_lab.sysroot import build_sysroots
from opsrunner_lab.unit import Unit

PREFIX = "127.0.101."
MIB = 1024 * 1024


@dataclass
class DiskLab:
    layout: LabLayout
    imageio: Unit
    api: ApiLab
    system: sdk.services.SystemService

    @property
    def domain_id(self) -> str:
        return str(self.system.storage_domains_service().list()[0].id)

    def file(self, disk_id: str) -> Path:
        return disk_file(self.layout.data / "storage", self.domain_id, disk_id)

    def add_disk(self, name: str, size: int, wait: bool = True) -> sdk.services.DiskService:
        disks = self.system.disks_service()
        disk = disks.add(types.Disk(name=name, provisioned_size=size,
                                    format=types.DiskFormat.RAW,
                                    content_type=types.DiskContentType.ISO,
                                    storage_domains=[types.StorageDomain(id=self.domain_id)]))
        service = disks.disk_service(disk.id)
        if wait:
            wait_for(status_of(service), lambda s: s == "ok", name)
        return service

    def transfer(self, disk_id: str, direction: types.ImageTransferDirection =
                 types.ImageTransferDirection.UPLOAD) -> sdk.services.ImageTransferService:
        transfers = self.system.image_transfers_service()
        added = transfers.add(types.ImageTransfer(disk=types.Disk(id=disk_id),
                                                  direction=direction,
                                                  format=types.DiskFormat.RAW))
        return transfers.image_transfer_service(added.id)

    def put(self, url: str, data: bytes, start: int = 0) -> int:
        """PUT ``data`` at ``start`` to an imageio URL; the HTTP status."""
        end = start + len(data) - 1
        return self.request("PUT", url, data, {"Content-Range": f"bytes {start}-{end}/*"})[0]

    def request(self, method: str, url: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """One request to an imageio URL over TLS verified with the lab CA."""
        parsed = urllib.parse.urlsplit(url)
        context = ssl.create_default_context(cafile=str(self.layout.root / "pki" / "ca.pem"))
        connection = http.client.HTTPSConnection(parsed.hostname or "", parsed.port,
                                                 context=context, timeout=30)
        try:
            connection.request(method, parsed.path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[DiskLab]:
    layout = quick_layout(tmp_path / "lab", PREFIX)
    build_sysroots(layout)
    install_imageio(layout)
    imageio = imageio_unit(layout)
    pid = imageio.start()
    try:
        with running_api(layout) as api, api.connect() as connection:
            yield DiskLab(layout, imageio, api, connection.system_service())
    finally:
        imageio.stop()
        assert not pid_alive(pid), "ovirt-imageio survived stop()"


def transferring(transfer: sdk.services.ImageTransferService) -> types.ImageTransfer:
    wait_for(lambda: transfer.get().phase.value, lambda p: p == "transferring", "transfer")
    return transfer.get()


def test_a_disk_is_a_file_of_its_domain_from_add_to_remove(lab: DiskLab) -> None:
    disks = lab.system.disks_service()
    with pytest.raises(sdk.Error) as incomplete:
        disks.add(types.Disk(name="no-size", format=types.DiskFormat.RAW,
                             storage_domains=[types.StorageDomain(id=lab.domain_id)]))
    assert incomplete.value.code == 400
    assert 'Fault detail is "Disk [provisionedSize] required for add".' in str(incomplete.value)
    disk = lab.add_disk("tools.iso", 3 * MIB, wait=False)
    assert disk.get().status.value == "locked"
    with pytest.raises(sdk.Error) as locked:
        disk.remove()
    assert_fault(locked.value, 409, "Cannot remove Virtual Disk: The following disks are "
                                    "locked: tools.iso. Please try again in a few minutes.")
    wait_for(status_of(disk), lambda s: s == "ok", "tools.iso")
    got = disk.get()
    assert (got.content_type.value, got.format.value, got.provisioned_size) == (
        "iso", "raw", 3 * MIB)
    image = lab.file(got.id)
    assert image.stat().st_size == 3 * MIB
    assert descriptions(lab.system, 2021) == ["The disk 'tools.iso' was successfully added."]
    disk.remove()
    wait_for(lambda: [d.id for d in disks.list()].count(got.id), lambda n: n == 0, "removal")
    assert not image.exists()


def test_an_upload_lands_in_the_disk_file_and_finalize_makes_the_disk_ok(lab: DiskLab) -> None:
    data = os.urandom(3 * MIB)
    disk = lab.add_disk("upload.iso", len(data))
    transfer = lab.transfer(disk.get().id)
    assert transfer.get().phase.value == "initializing" and transfer.get().proxy_url is None
    with pytest.raises(sdk.Error) as busy:
        lab.transfer(disk.get().id)
    assert_fault(busy.value, 409, "Cannot upload Virtual Disk: The following disks are locked: "
                                  "upload.iso. Please try again in a few minutes.")
    ready = transferring(transfer)
    assert ready.proxy_url == ready.transfer_url
    assert ready.proxy_url.startswith(f"https://{lab.layout.engine_address}:54323/images/")
    assert lab.put(ready.proxy_url, data[:MIB]) == 200
    assert lab.put(ready.proxy_url, data[MIB:], start=MIB) == 200  # resumed where it broke
    transfer.finalize()
    assert transfer.get().phase.value == "finalizing_success"
    seen = wait_for(lambda: transfer.get().phase.value, lambda p: p.startswith("finished"),
                    "finalize")
    assert seen[-1] == "finished_success"
    done = disk.get()
    assert done.status.value == "ok" and done.actual_size > 0
    assert transfer.get().transferred == len(data)
    assert lab.file(done.id).read_bytes() == data
    assert lab.put(ready.proxy_url, b"late") == 403  # the ticket is gone
    assert descriptions(lab.system, 1032) == ["Image Upload with disk upload.iso succeeded."]
    download = lab.transfer(done.id, types.ImageTransferDirection.DOWNLOAD)
    assert lab.request("GET", transferring(download).proxy_url) == (200, data)
    download.finalize()
    wait_for(lambda: download.get().phase.value, lambda p: p == "finished_success", "download")
    assert disk.get().status.value == "ok"
    auth = "Basic " + base64.b64encode(f"{ADMIN}:{lab.api.password}".encode()).decode()
    body = lab.api.request("GET", "/ovirt-engine/api/disks", headers={"Authorization": auth})
    assert sorted(tag_paths(body.body) - reference_paths("disks")) == []


def test_an_incomplete_upload_fails_and_its_disk_goes(lab: DiskLab) -> None:
    disk = lab.add_disk("partial.iso", 2 * MIB)
    disk_id = disk.get().id
    transfer = lab.transfer(disk_id)
    assert lab.put(transferring(transfer).proxy_url, os.urandom(MIB)) == 200
    transfer.finalize()
    seen = wait_for(lambda: transfer.get().phase.value, lambda p: p.startswith("finished"),
                    "finalize")
    assert seen[-1] == "finished_failure"
    assert set(seen) <= {"finalizing_success", "finalizing_failure", "finished_failure"}
    with pytest.raises(sdk.NotFoundError):
        disk.get()
    assert not lab.file(disk_id).exists()
    assert descriptions(lab.system, 1034) == [f"Image Upload with disk partial.iso failed: "
                                              f"{MIB} of {2 * MIB} bytes were written."]


def test_cancel_cleans_up_and_a_stopped_imageio_pauses_the_transfer(lab: DiskLab) -> None:
    disk = lab.add_disk("cancelled.iso", MIB)
    transfer = lab.transfer(disk.get().id)
    url = transferring(transfer).proxy_url
    transfer.cancel()
    assert transfer.get().phase.value == "cancelled_user"
    seen = wait_for(lambda: transfer.get().phase.value, lambda p: p == "finished_cleanup",
                    "cancel")
    assert set(seen) <= {"cancelled_user", "finalizing_cleanup", "finished_cleanup"}
    assert lab.put(url, b"x" * 512) == 403
    with pytest.raises(sdk.NotFoundError):
        disk.get()
    with pytest.raises(sdk.Error) as finished:
        transfer.finalize()
    assert_fault(finished.value, 409, "Cannot finalize the image transfer: it is "
                                      "finished_cleanup.")
    lab.imageio.stop()
    other = lab.add_disk("offline.iso", MIB)
    paused = lab.transfer(other.get().id)
    wait_for(lambda: paused.get().phase.value, lambda p: p == "paused_system", "no imageio")
    assert descriptions(lab.system, 1035)[0].startswith(
        "Transfer was stopped by system. Reason: failed to add image ticket to ovirt-imageio: "
        "ovirt-imageio's control service at localhost:")
