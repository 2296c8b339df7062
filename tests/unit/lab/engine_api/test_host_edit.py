"""The simulator's host edits: which cluster a body moves a host to, and the field checks."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from opsrunner_lab.engine_api.faults import ApiFault
from opsrunner_lab.engine_api.host_edit import (
    ADDRESS_FIXED,
    CLUSTER_INVALID,
    NAME_EMPTY,
    NOT_IN_MAINTENANCE,
    field_changes,
    target_cluster,
)
from opsrunner_lab.engine_api.model import Document, ref
from opsrunner_lab.engine_api.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    def seed(s: Store) -> None:
        s.put("clusters", {"id": "c1", "name": "Default"})
        s.put("clusters", {"id": "c2", "name": "Other"})
        s.put("hosts", {"id": "h1", "name": "kvm1", "address": "a1", "status": "up",
                        "cluster": ref("clusters", "c1")})
        s.put("hosts", {"id": "h2", "name": "kvm2", "address": "a2", "status": "maintenance",
                        "cluster": ref("clusters", "c1")})
    return Store(tmp_path / "state.json", seed)


def host(store: Store, host_id: str) -> Document:
    found = store.get("hosts", host_id)
    assert found is not None
    return found


def body(text: str) -> ET.Element:
    return ET.fromstring(f"<host>{text}</host>")


def detail(error: pytest.ExceptionInfo[ApiFault]) -> str:
    return str(error.value.document()["detail"])


def test_the_same_or_no_cluster_is_no_move(store: Store) -> None:
    assert target_cluster(store, host(store, "h1"), body("")) is None
    assert target_cluster(store, host(store, "h1"), body('<cluster id="c1"/>')) is None


def test_a_move_needs_maintenance_and_a_known_cluster(store: Store) -> None:
    with pytest.raises(ApiFault) as up:
        target_cluster(store, host(store, "h1"), body('<cluster id="c2"/>'))
    assert (up.value.status, detail(up)) == (409, f"[{NOT_IN_MAINTENANCE}]")
    assert target_cluster(store, host(store, "h2"), body("<cluster><name>Other</name></cluster>")
                          ) == "c2"
    with pytest.raises(ApiFault) as unknown:
        target_cluster(store, host(store, "h2"), body('<cluster id="c9"/>'))
    assert detail(unknown) == f"[{CLUSTER_INVALID}]"
    with pytest.raises(ApiFault) as by_name:
        target_cluster(store, host(store, "h2"), body("<cluster><name>No</name></cluster>"))
    assert by_name.value.status == 404


def test_field_checks(store: Store) -> None:
    assert field_changes(store, host(store, "h1"), body("<name>KVM1</name><comment>c</comment>")
                         ) == {"name": "KVM1", "comment": "c"}
    with pytest.raises(ApiFault) as empty:
        field_changes(store, host(store, "h1"), body("<name></name>"))
    assert (empty.value.status, detail(empty)) == (400, f"[{NAME_EMPTY}]")
    with pytest.raises(ApiFault) as address:
        field_changes(store, host(store, "h2"), body("<address>a9</address>"))
    assert detail(address) == f"[{ADDRESS_FIXED}]"
    assert field_changes(store, host(store, "h2"), body("<address>a2</address>")) == {
        "address": "a2"}
