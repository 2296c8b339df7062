"""The simulator's internal /lab/vm-power path: token, body, VM, and the guest told."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsrunner_lab.engine_api.lab_internal import LabInternal, ensure_internal_token
from opsrunner_lab.engine_api.seed import seed_estate
from opsrunner_lab.engine_api.settings import EngineSettings
from opsrunner_lab.engine_api.store import Store
from opsrunner_lab.layout import LabLayout


class Switch:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, float]] = []

    def power_on(self, vm_name: str) -> None:
        self.calls.append(("on", vm_name, 0.0))

    def power_off(self, vm_name: str, delay: float = 0.0) -> None:
        self.calls.append(("off", vm_name, delay))


@pytest.fixture
def parts(tmp_path: Path) -> tuple[LabInternal, Store, Switch]:
    layout = LabLayout(tmp_path / "lab", 1, "127.0.99.")
    store = Store(tmp_path / "state.json", seed_estate(layout))
    switch = Switch()
    token = ensure_internal_token(tmp_path / "secrets" / "token")
    assert (tmp_path / "secrets" / "token").stat().st_mode & 0o777 == 0o600
    assert ensure_internal_token(tmp_path / "secrets" / "token") == token
    return LabInternal(store, token, EngineSettings(guest_power=switch)), store, switch


def post(internal: LabInternal, body: object, token: str | None = None,
         path: str = "/lab/vm-power", method: str = "POST") -> tuple[int, object]:
    headers = {"x-lab-token": token if token is not None else internal.token}
    status, answer = internal.handle(method, path, headers, json.dumps(body).encode())
    return status, json.loads(answer)


def test_a_guest_power_off_downs_its_vm_once(parts: tuple[LabInternal, Store, Switch]) -> None:
    internal, store, switch = parts
    assert post(internal, {"vm": "ol8-vm1", "state": "down"}) == (
        200, {"vm": "ol8-vm1", "changed": True})
    vm = store.documents("vms")[0]
    assert (vm["status"], vm.get("host")) == ("down", None)
    assert store.documents("events")[-1]["description"] == (
        "VM ol8-vm1 is down. Exit message: User shut down from within the guest")
    assert post(internal, {"vm": "ol8-vm1", "state": "down"}) == (
        200, {"vm": "ol8-vm1", "changed": False})
    assert switch.calls == [("off", "ol8-vm1", 1.0)]


@pytest.mark.parametrize(("body", "token", "path", "method", "answer"), [
    ({"vm": "ol8-vm1", "state": "down"}, "nope", "/lab/vm-power", "POST",
     (403, {"error": "wrong or missing lab token"})),
    ({"vm": "ol8-vm1", "state": "down"}, "", "/lab/vm-power", "POST",
     (403, {"error": "wrong or missing lab token"})),
    ({"vm": "ol8-vm1", "state": "down"}, None, "/lab/other", "POST",
     (404, {"error": "no such lab path /lab/other"})),
    ({"vm": "ol8-vm1", "state": "down"}, None, "/lab/vm-power", "GET",
     (405, {"error": "use POST"})),
    (["ol8-vm1"], None, "/lab/vm-power", "POST",
     (400, {"error": 'expected {"vm": NAME, "state": "down"}'})),
    ({"vm": "ol8-vm1", "state": "up"}, None, "/lab/vm-power", "POST",
     (400, {"error": "state 'up' is not allowed; only \"down\" (a guest cannot power itself "
                     "on)"})),
    ({"vm": "nope", "state": "down"}, None, "/lab/vm-power", "POST",
     (404, {"error": "no VM named 'nope'"})),
])
def test_refusals_change_nothing(parts: tuple[LabInternal, Store, Switch], body: object,
                                 token: str | None, path: str, method: str,
                                 answer: tuple[int, object]) -> None:
    internal, store, switch = parts
    assert post(internal, body, token, path, method) == answer
    assert store.documents("vms")[0]["status"] == "up"
    assert switch.calls == []
