"""``POST /vms`` and ``DELETE /vms/{id}`` on the simulator's store: what a new VM takes from its
template, its transition to down, the refusals, and removal with and without its disks."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from opsrunner_lab.engine_api import shapes
from opsrunner_lab.engine_api.app import default_handlers
from opsrunner_lab.engine_api.faults import ApiFault
from opsrunner_lab.engine_api.handlers import ApiContext, Target
from opsrunner_lab.engine_api.model import BLANK_TEMPLATE_ID, ref
from opsrunner_lab.engine_api.root import SYSTEM
from opsrunner_lab.engine_api.store import Store
from opsrunner_lab.engine_api.vm_create import add_vm
from opsrunner_lab.engine_api.vm_remove import remove_vm

USER = {"id": "u1", "user_name": "admin@internal-authz"}
GIB = 1024 ** 3


class Estate:
    """Cluster ``Default`` (c1), Blank, template ``tpl`` (raw disk d1, NIC nic1), a moved clock."""

    def __init__(self, root: Path) -> None:
        self.now = 1_000.0
        self.store = Store(root / "state.json", clock=lambda: self.now)
        default_handlers().install_hooks(self.store)
        self.store.put(SYSTEM, {"id": "engine"})
        self.store.put("users", USER)
        self.store.put("clusters", {"id": "c1", "name": "Default"})
        self.store.put("templates", shapes.blank_template(0))
        self.store.put("templates", {"id": "t1", "name": "tpl", "status": "ok",
                                     "memory": str(2 * GIB), "os": {"type": "rhel_8x64"}})
        self.store.put("disks", {"id": "d1", "alias": "tpl_Disk1", "status": "ok",
                                 "format": "raw", "sparse": "false",
                                 "provisioned_size": str(GIB)})
        self.store.put("templates/t1/diskattachments", {"id": "d1", "bootable": "true",
                                                        "disk": ref("disks", "d1")})
        self.store.put("templates/t1/nics", {"id": "n1", "name": "nic1", "interface": "virtio"})
        self.ctx = ApiContext(self.store, USER)

    def add(self, xml: str, clone: bool = False) -> dict[str, object]:
        return add_vm(self.ctx, "vms", ET.fromstring(xml), {"clone": str(clone).lower()})

    def refusal(self, xml: str) -> tuple[int, str]:
        with pytest.raises(ApiFault) as fault:
            self.add(xml)
        return fault.value.status, fault.value.detail


def vm_xml(name: str, template: str = "<template><name>tpl</name></template>",
           extra: str = "") -> str:
    return (f"<vm><name>{name}</name><cluster><name>Default</name></cluster>{template}{extra}"
            "</vm>")


def test_a_thin_vm_takes_the_template_and_goes_down(tmp_path: Path) -> None:
    estate = Estate(tmp_path)
    vm = estate.add(vm_xml("a"))
    assert (vm["status"], vm["memory"], vm["os"]) == ("image_locked", str(2 * GIB),
                                                       {"type": "rhel_8x64"})
    attachment = estate.store.documents(f"vms/{vm['id']}/diskattachments")[0]
    disk = estate.store.get("disks", attachment["id"])
    assert disk is not None and attachment["bootable"] == "true"
    assert (disk["format"], disk["sparse"], disk["status"]) == ("cow", "true", "locked")
    assert estate.store.documents(f"vms/{vm['id']}/nics")[0]["name"] == "nic1"
    estate.now += 1.0
    assert estate.store.get("vms", str(vm["id"]))["status"] == "down"  # type: ignore[index]
    assert estate.store.get("disks", str(disk["id"]))["status"] == "ok"  # type: ignore[index]


def test_a_clone_keeps_the_disk_format_and_is_based_on_blank(tmp_path: Path) -> None:
    estate = Estate(tmp_path)
    vm = estate.add(vm_xml("a", extra=f"<memory>{GIB}</memory>"), clone=True)
    disk_id = estate.store.documents(f"vms/{vm['id']}/diskattachments")[0]["id"]
    assert estate.store.get("disks", disk_id)["format"] == "raw"  # type: ignore[index]
    assert vm["template"]["id"] == BLANK_TEMPLATE_ID  # type: ignore[index]
    assert vm["original_template"]["id"] == "t1"  # type: ignore[index]
    assert vm["memory_policy"] == {"guaranteed": str(GIB), "max": str(4 * GIB)}


def test_refusals_in_the_engines_order(tmp_path: Path) -> None:
    estate = Estate(tmp_path)
    assert estate.refusal("<vm><name>a</name></vm>") == (
        400, "Vm [cluster.id|name] required for add")
    assert estate.refusal("<vm><cluster id='zz'/><template><name>tpl</name></template></vm>") \
        == (400, "Vm [name] required for add")
    assert estate.refusal("<vm><name>a</name><cluster id='zz'/><template id='t1'/></vm>") == (
        404, "Entity not found: GetClusterById")
    assert estate.refusal(vm_xml("a", "<template id='t9'/>")) == (
        404, "Entity not found: GetVmTemplate")
    assert estate.refusal(vm_xml("a", extra="<os><type>dos</type></os>"))[0] == 400
    assert estate.refusal(vm_xml("a", extra=f"<memory>{32 * 1024 * 1024 * GIB}</memory>")) == (
        400, "[Cannot add VM. Memory size exceeds supported limit for given cluster version.]")
    assert estate.refusal(vm_xml("a", extra="<memory>0</memory>")) == (
        400, "[must be greater than or equal to 1]")
    estate.add(vm_xml("a"))
    assert estate.refusal(vm_xml("a"))[0] == 409


def test_removal_with_and_without_the_disks(tmp_path: Path) -> None:
    estate = Estate(tmp_path)
    blank = "<template><name>Blank</name></template>"
    kept = estate.add(vm_xml("kept", blank))
    estate.store.put("disks", {"id": "d2", "alias": "kept_Disk1", "status": "ok"})
    estate.store.put(f"vms/{kept['id']}/diskattachments", {"id": "d2"})
    remove_vm(estate.ctx, Target("vms", str(kept["id"])), {"detach_only": "true"})
    assert estate.store.get("vms", str(kept["id"])) is None
    assert estate.store.get("disks", "d2")["status"] == "ok"  # type: ignore[index]
    thin = estate.add(vm_xml("thin"))
    with pytest.raises(ApiFault) as locked:
        remove_vm(estate.ctx, Target("vms", str(thin["id"])), {})
    assert locked.value.detail == ("[Cannot remove VM: VM is locked. Please try again in a few "
                                   "minutes.]")
    estate.now += 1.0
    disk_id = estate.store.documents(f"vms/{thin['id']}/diskattachments")[0]["id"]
    remove_vm(estate.ctx, Target("vms", str(thin["id"])), {})
    assert estate.store.get("disks", disk_id)["status"] == "locked"  # type: ignore[index]
    estate.now += 1.0
    assert estate.store.get("disks", disk_id) is None
