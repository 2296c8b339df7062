"""Host and VM statistics and a running VM's reported devices, as the simulator derives them."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner_lab.engine_api.model import Document, ref
from opsrunner_lab.engine_api.reported import link_local, reported_devices
from opsrunner_lab.engine_api.statistics import host_statistics, statistic_id, vm_statistics
from opsrunner_lab.engine_api.store import Store
from opsrunner_lab.engine_api.xmlcodec import to_xml

GIB = 1024 ** 3


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "state.json", clock=lambda: 1_000_000.0)
    store.put("hosts", {"id": "h1", "status": "up", "memory": str(16 * GIB)})
    store.put("vms", {"id": "v1", "status": "up", "memory": str(2 * GIB),
                      "host": ref("hosts", "h1"), "start_time": 1_000_000_000 - 90_000,
                      "_ipv4": "127.0.99.101"})
    store.put("vms/v1/nics", {"id": "n1", "plugged": "true",
                              "mac": {"address": "56:6F:00:11:22:33"}})
    store.put("vms/v1/nics", {"id": "n2", "plugged": "false",
                              "mac": {"address": "56:6f:00:11:22:34"}})
    return store


def _values(docs: list[Document]) -> dict[str, list[str]]:
    return {str(d["name"]): [str(v["datum"]) for v in d["values"].get("value", [])]
            for d in docs}


def test_statistic_ids_are_the_engines_name_based_uuids() -> None:
    assert statistic_id("memory.used") == "b7499508-c1c3-32f0-8174-c1783e57bb08"
    assert statistic_id("memory.total") == "7816602b-c05c-3db7-a4da-3769f7ad8896"


def test_an_up_host_counts_the_memory_of_its_running_vms(store: Store) -> None:
    host = store.get("hosts", "h1")
    assert host is not None
    values = _values(host_statistics(store, host))
    used = int(values["memory.used"][0])
    assert used > 2 * GIB and used + int(values["memory.free"][0]) == 16 * GIB
    store.update("hosts", "h1", {"status": "maintenance"})
    down = _values(host_statistics(store, store.get("hosts", "h1") or {}))
    assert down["memory.used"] == ["0"] and down["memory.total"] == [str(16 * GIB)]


def test_a_down_vm_reports_only_its_memory(store: Store) -> None:
    vm = store.get("vms", "v1")
    assert vm is not None
    up = _values(vm_statistics(store, vm))
    assert up["elapsed.time"] == ["90"] and len(up["cpu.usage.history"]) == 5
    assert up["network.usage.history"] == [] and up["disks.usage"] == []
    vm["status"] = "down"
    docs = vm_statistics(store, vm)
    down = _values(docs)
    assert down["memory.installed"] == [str(2 * GIB)]
    assert all(v in ([], ["0"]) for k, v in down.items() if k != "memory.installed")
    history = next(d for d in docs if d["name"] == "cpu.usage.history")
    assert history.get("_bare") and "vm" not in history
    assert "<values />" in to_xml("statistic", history).decode()


def test_reported_devices_are_the_plugged_nics_with_their_addresses(store: Store) -> None:
    vm = store.get("vms", "v1")
    assert vm is not None
    [device] = reported_devices(store, vm)
    assert (device["name"], device["type"], device["mac"]) == (
        "eth0", "network", {"address": "56:6f:00:11:22:33"})
    assert device["ips"]["ip"] == [{"address": "127.0.99.101", "version": "v4"},
                                   {"address": "fe80::546f:ff:fe11:2233", "version": "v6"}]
    assert device["id"] == "65746830-3536-3a36-663a-30303a31313a"  # b"eth056:6f:00:11:"
    vm["status"] = "down"
    assert reported_devices(store, vm) == []


def test_link_local_addresses_follow_eui64() -> None:
    assert link_local("52:54:00:12:34:56") == "fe80::5054:ff:fe12:3456"
