"""Disk attachments and disk extension on the simulator's store: a new VM disk, attaching and
detaching, and a larger size growing the disk and its storage domain's space."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from opsrunner_lab.engine_api.app import default_handlers
from opsrunner_lab.engine_api.disk_attach import add_attachment, remove_attachment
from opsrunner_lab.engine_api.disk_resize import TOO_SMALL, extend, update_disk_or_extend
from opsrunner_lab.engine_api.faults import ApiFault
from opsrunner_lab.engine_api.handlers import ApiContext, Target
from opsrunner_lab.engine_api.root import SYSTEM
from opsrunner_lab.engine_api.store import Store

USER = {"id": "u1", "user_name": "admin@internal-authz"}
GIB = 1024 ** 3


class Estate:
    """VM ``vm`` (down), domain sd1, thin disk d1 (1 GiB, floating), a moved clock."""

    def __init__(self, root: Path) -> None:
        self.now = 1_000.0
        self.store = Store(root / "state.json", clock=lambda: self.now)
        default_handlers().install_hooks(self.store)
        self.store.put(SYSTEM, {"id": "engine"})
        self.store.put("users", USER)
        self.store.put("vms", {"id": "v1", "name": "vm", "status": "down"})
        self.store.put("storagedomains", {"id": "sd1", "name": "data", "committed": "0",
                                          "used": str(GIB), "available": str(9 * GIB)})
        self.store.put("disks", {"id": "d1", "alias": "d1", "status": "ok", "sparse": "true",
                                 "provisioned_size": str(GIB),
                                 "storage_domains": {"storage_domain": [{"id": "sd1"}]}})
        self.ctx = ApiContext(self.store, USER)

    def add(self, xml: str) -> dict[str, object]:
        return add_attachment(self.ctx, "vms/v1/diskattachments", ET.fromstring(xml), {})

    def fault(self, xml: str) -> tuple[int, str]:
        with pytest.raises(ApiFault) as fault:
            self.add(xml)
        return fault.value.status, fault.value.detail


def test_a_new_disk_is_locked_then_ok(tmp_path: Path) -> None:
    estate = Estate(tmp_path)
    made = estate.add("<disk_attachment><disk><name>n</name><provisioned_size>1024"
                      "</provisioned_size><format>cow</format><storage_domains><storage_domain "
                      "id='sd1'/></storage_domains></disk></disk_attachment>")
    assert (made["interface"], made["bootable"], made["active"]) == ("virtio", "false", "true")
    disk = estate.store.get("disks", str(made["id"]))
    assert disk is not None and (disk["status"], disk["sparse"]) == ("locked", "true")
    estate.now += 1.0
    assert estate.store.get("disks", str(made["id"]))["status"] == "ok"  # type: ignore[index]


def test_refusals(tmp_path: Path) -> None:
    estate = Estate(tmp_path)
    assert estate.fault("<disk_attachment><disk><format>cow</format></disk></disk_attachment>") \
        == (400, "Disk [provisionedSize|size] required for add")
    assert estate.fault("<disk_attachment><disk><provisioned_size>1</provisioned_size><format>"
                        "cow</format></disk></disk_attachment>") == (
        400, "[Cannot add Virtual Disk. Storage Domain doesn't exist.]")
    assert estate.fault("<disk_attachment><disk id='d1'/><interface>scsi</interface>"
                        "</disk_attachment>")[0] == 400
    estate.store.update("vms", "v1", {"status": "image_locked"})
    assert estate.fault("<disk_attachment><disk id='d1'/></disk_attachment>") == (
        409, "[Cannot attach Virtual Disk because the VM is in Image Locked status.]")
    with pytest.raises(ApiFault) as detach:
        remove_attachment(estate.ctx, Target("vms/v1/diskattachments", "d1"), {})
    assert detach.value.status == 409


def test_extending_a_thin_disk_commits_space(tmp_path: Path) -> None:
    estate = Estate(tmp_path)
    extend(estate.ctx, "d1", str(GIB))  # the same size: nothing happens
    assert estate.store.get("disks", "d1")["status"] == "ok"  # type: ignore[index]
    with pytest.raises(ApiFault) as smaller:
        extend(estate.ctx, "d1", "1")
    assert smaller.value.detail == f"[{TOO_SMALL}]"
    update_disk_or_extend(estate.ctx, Target("disks", "d1"), ET.fromstring(
        f"<disk><alias>big</alias><provisioned_size>{2 * GIB}</provisioned_size></disk>"), {})
    domain = estate.store.get("storagedomains", "sd1")
    assert domain is not None
    assert (domain["committed"], domain["used"]) == (str(GIB), str(GIB))
    with pytest.raises(ApiFault) as locked:
        extend(estate.ctx, "d1", str(4 * GIB))
    assert locked.value.status == 409
    estate.now += 1.0
    disk = estate.store.get("disks", "d1")
    assert disk is not None
    assert (disk["alias"], disk["status"], disk["provisioned_size"]) == ("big", "ok",
                                                                         str(2 * GIB))
