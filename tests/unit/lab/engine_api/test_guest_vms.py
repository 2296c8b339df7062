"""Guests added to a lab become engine VMs: at every start of the simulator and through its
internal ``/lab/guest-vms`` path; VMs already there are never changed."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from opsrunner_lab.daemon import LabServerError
from opsrunner_lab.engine_api.lab_internal import LabInternal, request_guest_vms
from opsrunner_lab.engine_api.seed import GuestVm, add_guest_vms, seed_estate
from opsrunner_lab.engine_api.server import engine_app, state_file
from opsrunner_lab.engine_api.settings import EngineSettings
from opsrunner_lab.engine_api.store import Store
from opsrunner_lab.guest_power import POWERED_OFF
from opsrunner_lab.layout import LabLayout
from opsrunner_lab.sysroot_guest import guest_mac

PREFIX = "127.0.99."


def seeded(tmp_path: Path, guests: list[str]) -> Store:
    return Store(tmp_path / "state.json", seed_estate(LabLayout(tmp_path / "lab", 2, PREFIX,
                                                                guests)))


def vm_named(store: Store, name: str) -> dict[str, Any]:
    return next(vm for vm in store.documents("vms") if vm["name"] == name)


def vm_state(store: Store, name: str) -> dict[str, Any]:
    """A VM's document and every collection below it."""
    vm = vm_named(store, name)
    below = {kind: store.documents(f"vms/{vm['id']}/{kind}")
             for kind in ("diskattachments", "nics", "cdroms", "snapshots")}
    return {"vm": vm, **below}


def events_after(store: Store, index: int) -> list[tuple[str, str]]:
    return [(e["code"], e["description"]) for e in store.documents("events")
            if int(e["index"]) > index]


def last_event_index(store: Store) -> int:
    return max(int(e["index"]) for e in store.documents("events"))


def test_added_guests_get_vms_like_the_seeded_ones_and_nothing_else_changes(
        tmp_path: Path) -> None:
    store = seeded(tmp_path, ["ol8-vm1"])
    kvm1 = store.documents("hosts")[0]
    store.update("hosts", kvm1["id"], {"status": "maintenance"})  # kvm2 is the first up host
    before = copy.deepcopy(vm_state(store, "ol8-vm1"))
    index = last_event_index(store)

    added = add_guest_vms(store, [GuestVm("ol8-vm1"), GuestVm("ol7-vm1", address=PREFIX + "102"),
                                  GuestVm("ol6-vm1", powered_off=True)])

    assert added == ["ol7-vm1", "ol6-vm1"]
    assert vm_state(store, "ol8-vm1") == before
    ol7, ol6 = vm_state(store, "ol7-vm1"), vm_state(store, "ol6-vm1")
    kvm2 = store.documents("hosts")[1]
    assert (ol7["vm"]["status"], ol7["vm"]["host"]["id"]) == ("up", kvm2["id"])
    assert (ol6["vm"]["status"], "host" in ol6["vm"], "start_time" in ol6["vm"]) == (
        "down", False, False)
    assert set(ol7["vm"]) == set(before["vm"])
    for state in (ol7, ol6):
        assert {kind: len(docs) for kind, docs in state.items() if kind != "vm"} == {
            "diskattachments": 1, "nics": 1, "cdroms": 1, "snapshots": 1}
        disk = store.get("disks", state["diskattachments"][0]["id"])
        assert disk is not None and disk["name"] == f"{state['vm']['name']}_Disk1"
    assert ol7["nics"][0]["mac"]["address"] == guest_mac("ol7-vm1")
    assert events_after(store, index) == [
        ("34", "VM ol7-vm1 was created by admin@internal-authz."),
        ("32", "VM ol7-vm1 started on Host kvm2"),
        ("34", "VM ol6-vm1 was created by admin@internal-authz.")]
    created = store.documents("events")[-1]
    assert (created["vm"]["name"], created["user"]["name"]) == ("ol6-vm1",
                                                                "admin@internal-authz")


def test_a_second_call_and_vms_of_removed_guests_change_nothing(tmp_path: Path) -> None:
    store = seeded(tmp_path, ["ol8-vm1", "ol7-vm1"])
    saved = json.loads((tmp_path / "state.json").read_text())
    assert add_guest_vms(store, [GuestVm("ol7-vm1")]) == []
    assert json.loads((tmp_path / "state.json").read_text()) == saved
    assert [vm["name"] for vm in store.documents("vms")] == ["ol8-vm1", "ol7-vm1"]


def test_without_an_up_host_an_added_vm_is_down(tmp_path: Path) -> None:
    store = seeded(tmp_path, ["ol8-vm1"])
    for host in store.documents("hosts"):
        store.update("hosts", host["id"], {"status": "maintenance"})
    assert add_guest_vms(store, [GuestVm("ol7-vm1")]) == ["ol7-vm1"]
    assert vm_named(store, "ol7-vm1")["status"] == "down"


def test_every_start_of_the_simulator_adds_the_vms_of_added_guests(tmp_path: Path) -> None:
    root = tmp_path / "lab"
    LabLayout(root, 1, PREFIX, ["ol8-vm1"]).save()
    first = engine_app(LabLayout.load(root)).store
    ol8 = vm_state(first, "ol8-vm1")
    grown = LabLayout(root, 1, PREFIX, ["ol8-vm1", "ol7-vm1", "ol6-vm1"])
    grown.save()
    (grown.run_dir("ol6-vm1") / POWERED_OFF).parent.mkdir(parents=True)
    (grown.run_dir("ol6-vm1") / POWERED_OFF).touch()

    again = engine_app(LabLayout.load(root)).store

    assert {vm["name"]: vm["status"] for vm in again.documents("vms")} == {
        "ol8-vm1": "up", "ol7-vm1": "up", "ol6-vm1": "down"}
    assert vm_state(again, "ol8-vm1") == ol8
    saved = state_file(grown).read_text()
    engine_app(LabLayout.load(root))
    assert state_file(grown).read_text() == saved


@pytest.fixture
def internal(tmp_path: Path) -> LabInternal:
    return LabInternal(seeded(tmp_path, ["ol8-vm1"]), "t0ken", EngineSettings())


def post(internal: LabInternal, body: object, token: str = "t0ken") -> tuple[int, object]:
    status, answer = internal.handle("POST", "/lab/guest-vms", {"x-lab-token": token},
                                     json.dumps(body).encode())
    return status, json.loads(answer)


def test_the_internal_path_adds_the_missing_vms_once(internal: LabInternal) -> None:
    body = {"guests": [{"name": "ol8-vm1", "powered_off": False},
                       {"name": "ol7-vm1", "powered_off": True}]}
    assert post(internal, body) == (200, {"added": ["ol7-vm1"]})
    assert vm_named(internal.store, "ol7-vm1")["status"] == "down"
    assert post(internal, body) == (200, {"added": []})


EXPECTED = 'expected {"guests": [{"name": NAME, "powered_off": false}, ...]}'


@pytest.mark.parametrize(("body", "token", "answer"), [
    ({"guests": [{"name": "ol7-vm1", "powered_off": False}]}, "nope",
     (403, {"error": "wrong or missing lab token"})),
    (["ol7-vm1"], "t0ken", (400, {"error": EXPECTED})),
    ({"guests": []}, "t0ken", (400, {"error": EXPECTED})),
    ({"guests": [{"name": "ol7-vm1"}]}, "t0ken", (400, {"error": EXPECTED})),
    ({"guests": [{"name": "ol7-vm1", "powered_off": "no"}]}, "t0ken", (400, {"error": EXPECTED})),
    ({"guests": [{"name": "web1", "powered_off": False}]}, "t0ken",
     (400, {"error": "guest name 'web1' is not allowed: it starts with ol6-, ol7-, ol8- or ol9- "
                     "(its Oracle Linux release), then lower-case letters, digits and dashes, e.g. "
                     "ol7-vm1"})),
])
def test_refused_requests_add_nothing(internal: LabInternal, body: object, token: str,
                                      answer: tuple[int, object]) -> None:
    assert post(internal, body, token) == answer
    assert [vm["name"] for vm in internal.store.documents("vms")] == ["ol8-vm1"]


def test_an_engine_that_does_not_answer_is_a_lab_error(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab", 1, "127.0.254.")
    layout.secrets.mkdir(parents=True)
    (layout.secrets / "lab-internal-token").write_text("secret-token\n")
    with pytest.raises(LabServerError) as caught:
        request_guest_vms(layout, [GuestVm("ol8-vm1")])
    message = str(caught.value)
    assert message.startswith("cannot reach the lab engine at 127.0.254.2:8702 to add the "
                              "guests' VMs: ")
    assert "secret-token" not in message
