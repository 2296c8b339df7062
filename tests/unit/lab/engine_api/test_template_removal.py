"""``DELETE /templates/{id}`` on the simulator's store: the engine's refusals in its order, and a
removal that locks the template, then takes it away with its disks, image files and devices."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner_lab.engine_api import shapes
from opsrunner_lab.engine_api.app import default_handlers
from opsrunner_lab.engine_api.disks import create_image, disk_file
from opsrunner_lab.engine_api.faults import ApiFault
from opsrunner_lab.engine_api.handlers import ApiContext, Target
from opsrunner_lab.engine_api.model import BLANK_TEMPLATE_ID, Document, ref
from opsrunner_lab.engine_api.root import SYSTEM
from opsrunner_lab.engine_api.settings import EngineSettings
from opsrunner_lab.engine_api.store import Store
from opsrunner_lab.engine_api.template_removal import remove_template

USER = {"id": "u1", "user_name": "admin@internal-authz"}


class Estate:
    """A store with the Blank template, template ``tpl`` (one disk with its image, one NIC) and
    a clock the test moves."""

    def __init__(self, root: Path) -> None:
        self.now = 1_000.0
        self.store = Store(root / "state.json", clock=lambda: self.now)
        default_handlers().install_hooks(self.store)
        self.settings = EngineSettings(storage=root / "storage")
        self.image = disk_file(root / "storage", "sd1", "d1")
        create_image(self.image, 8192)
        self.store.put(SYSTEM, {"id": "engine"})  # what deferred events are anchored to
        self.store.put("users", USER)
        self.store.put("templates", shapes.blank_template(0))
        self.store.put("templates", {"id": "t1", "name": "tpl", "status": "ok",
                                     "delete_protected": "false"})
        self.store.put("disks", {"id": "d1", "alias": "tpl_Disk1", "status": "ok",
                                 "storage_domains": {"storage_domain": [{"id": "sd1"}]}})
        self.store.put("disks", {"id": "d2", "alias": "vm_Disk1", "status": "ok"})
        self.store.put("templates/t1/diskattachments", {"id": "d1", "disk": ref("disks", "d1")})
        self.store.put("templates/t1/nics", {"id": "n1", "name": "nic1"})

    def remove(self, template_id: str) -> None:
        remove_template(ApiContext(self.store, USER, settings=self.settings),
                        Target("templates", template_id), {})

    def refusal(self, template_id: str) -> tuple[int, str]:
        with pytest.raises(ApiFault) as refused:
            self.remove(template_id)
        return refused.value.status, refused.value.detail

    def events(self) -> list[tuple[str, str]]:
        return [(str(e["code"]), str(e["description"])) for e in self.store.documents("events")]


@pytest.fixture
def estate(tmp_path: Path) -> Estate:
    return Estate(tmp_path)


def test_the_blank_template_is_never_removed(estate: Estate) -> None:
    assert estate.refusal(BLANK_TEMPLATE_ID) == (
        409, "[Cannot remove Template. Removing Blank Template is not allowed.]")


def test_a_delete_protected_template_is_refused(estate: Estate) -> None:
    estate.store.update("templates", "t1", {"delete_protected": "true", "status": "locked"})
    assert estate.refusal("t1") == (409, "[Cannot remove Template. Delete protection is "
                                         "enabled. In order to delete, disable Delete "
                                         "protection first.]")


@pytest.mark.parametrize("locked", ["templates", "disks"])
def test_a_locked_template_or_template_disk_is_refused(estate: Estate, locked: str) -> None:
    estate.store.update(locked, "t1" if locked == "templates" else "d1", {"status": "locked"})
    assert estate.refusal("t1") == (409, "[Template's Image is locked (temporarily).]")


def test_a_template_vms_are_based_on_is_refused_naming_them(estate: Estate) -> None:
    for vm_id, name in (("v1", "web01"), ("v2", "web02")):
        estate.store.put("vms", {"id": vm_id, "name": name, "template": ref("templates", "t1")})
    estate.store.put("vms", {"id": "v3", "name": "other",
                             "template": ref("templates", BLANK_TEMPLATE_ID)})
    assert estate.refusal("t1") == (409, "[Cannot delete Template. Template is being used by "
                                         "the following VMs: web01,web02.]")
    assert estate.events() == []


def test_an_unknown_template_is_not_found(estate: Estate) -> None:
    assert estate.refusal("nope") == (404, "")


def test_the_template_is_locked_then_gone_with_its_disks_image_and_devices(
        estate: Estate) -> None:
    estate.remove("t1")
    template = estate.store.get("templates", "t1")
    disk: Document | None = estate.store.get("disks", "d1")
    assert template is not None and template["status"] == "locked"
    assert disk is not None and disk["status"] == "locked"
    assert estate.events() == [("50", "Removal of Template tpl was initiated by "
                                      "admin@internal-authz.")]
    assert [job["description"] for job in estate.store.documents("jobs")] == [
        "Removing Template tpl"]
    assert estate.refusal("t1") == (409, "[Template's Image is locked (temporarily).]")

    estate.now += estate.settings.timing.template + 0.1
    assert estate.store.get("templates", "t1") is None
    assert [d["id"] for d in estate.store.documents("disks")] == ["d2"]
    assert not estate.image.exists()
    assert estate.store.documents("templates/t1/nics") == []
    assert estate.store.documents("templates/t1/diskattachments") == []
    assert estate.events()[1] == ("251", "Removal of Template tpl has been completed.")
    assert estate.store.documents("events")[1]["template"]["name"] == "tpl"
    assert [t["id"] for t in estate.store.documents("templates")] == [BLANK_TEMPLATE_ID]
