"""The simulator's OVA export: the proxy host a body names, with the engine's refusals."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from opsrunner_lab.engine_api.faults import ApiFault
from opsrunner_lab.engine_api.model import Document, ref
from opsrunner_lab.engine_api.store import Store
from opsrunner_lab.engine_api.vm_export import (
    HOST_NOT_UP,
    INVALID_HOST,
    NO_HOST,
    OTHER_DATA_CENTER,
    proxy_host,
)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    def seed(s: Store) -> None:
        s.put("clusters", {"id": "c1", "name": "A", "data_center": ref("datacenters", "d1")})
        s.put("clusters", {"id": "c2", "name": "B", "data_center": ref("datacenters", "d2")})
        for host_id, status, cluster in (("h1", "up", "c1"), ("h2", "maintenance", "c1"),
                                         ("h3", "up", "c2")):
            s.put("hosts", {"id": host_id, "name": f"kvm-{host_id}", "status": status,
                            "cluster": ref("clusters", cluster)})
    return Store(tmp_path / "state.json", seed)


VM: Document = {"id": "v1", "name": "vm", "cluster": {"id": "c1"}}


def refusal(store: Store, text: str) -> str:
    with pytest.raises(ApiFault) as fault:
        proxy_host(store, VM, ET.fromstring(f"<action>{text}</action>"))
    return str(fault.value.document()["detail"])


def test_the_proxy_host_by_id_or_name(store: Store) -> None:
    assert proxy_host(store, VM, ET.fromstring('<action><host id="h1"/></action>'))["id"] == "h1"
    assert proxy_host(store, VM, ET.fromstring(
        "<action><host><name>kvm-h1</name></host></action>"))["id"] == "h1"


def test_refusals_in_the_engine_order(store: Store) -> None:
    assert refusal(store, "<directory>/tmp</directory>") == f"[{NO_HOST}]"
    assert refusal(store, '<host id="nope"/>') == f"[{INVALID_HOST}]"
    assert refusal(store, '<host id="h2"/>') == f"[{HOST_NOT_UP}]"
    assert refusal(store, '<host id="h3"/>') == f"[{OTHER_DATA_CENTER}]"
