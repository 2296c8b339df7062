"""``PUT /vms/{id}`` with ``os/type``: a down VM takes it now, a running VM at its next run
(as its boot order); a type osinfo does not know is refused."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from opsrunner_lab.engine_api.faults import ApiFault
from opsrunner_lab.engine_api.handlers import ApiContext, Target
from opsrunner_lab.engine_api.seed import seed_estate
from opsrunner_lab.engine_api.store import Store
from opsrunner_lab.engine_api.vm_devices import update_vm, view_vm
from opsrunner_lab.layout import LabLayout


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.json", seed_estate(LabLayout(tmp_path / "lab", 1,
                                                                "127.0.99.")))


def put(store: Store, vm_id: str, body: str) -> dict[str, object]:
    user = store.documents("users")[0]
    return update_vm(ApiContext(store, user), Target("vms", vm_id), ET.fromstring(body), {})


def test_a_down_vm_takes_the_os_type_now(store: Store) -> None:
    vm = store.documents("vms")[0]
    store.update("vms", vm["id"], {"status": "down"})
    put(store, vm["id"], "<vm><os><type>windows_2019x64</type></os></vm>")
    stored = store.get("vms", vm["id"])
    assert stored is not None
    assert stored["os"]["type"] == "windows_2019x64"
    assert stored["os"]["boot"] == vm["os"]["boot"]  # the boot order is kept


def test_a_running_vm_takes_it_at_its_next_run(store: Store) -> None:
    vm = store.documents("vms")[0]
    assert vm["status"] == "up"
    put(store, vm["id"], "<vm><os><type>windows_10x64</type></os></vm>")
    stored = store.get("vms", vm["id"])
    assert stored is not None
    assert stored["os"]["type"] == "rhel_8x64"
    assert stored["next_run_configuration_exists"] == "true"
    assert view_vm(stored, {"next_run": "true"})["os"]["type"] == "windows_10x64"


def test_an_unknown_os_type_is_refused(store: Store) -> None:
    vm = store.documents("vms")[0]
    with pytest.raises(ApiFault) as refused:
        put(store, vm["id"], "<vm><os><type>windows_95</type></os></vm>")
    assert refused.value.status == 400
    assert "windows_95" in refused.value.detail
    stored = store.get("vms", vm["id"])
    assert stored is not None and stored["os"]["type"] == "rhel_8x64"
