"""The engine API simulator's store: persistence, deep merge, cascade remove, scheduled changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsrunner_lab.engine_api.store import Store, merge


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_merge_is_deep_and_none_deletes() -> None:
    doc = {"status": "up", "cpu": {"speed": "1", "topology": {"cores": "1"}}, "host": {"id": "h"}}
    merge(doc, {"cpu": {"topology": {"cores": "2"}}, "host": None, "status": "down"})
    assert doc == {"status": "down", "cpu": {"speed": "1", "topology": {"cores": "2"}}}


def test_seed_runs_once_and_the_state_is_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    calls = []

    def seed(store: Store) -> None:
        calls.append(1)
        store.put("hosts", {"id": "h1", "name": "kvm1"})

    Store(path, seed).update("hosts", "h1", {"status": "up"})
    again = Store(path, seed)
    assert calls == [1]
    assert again.documents("hosts") == [{"id": "h1", "name": "kvm1", "status": "up"}]
    assert again.next_value("event_index") == 1 and Store(path).next_value("event_index") == 2


def test_the_state_file_is_private_even_when_it_was_not(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    Store(path).put("templates", {"id": "t", "_root_password": "pw"})
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    Store(path).put("templates", {"id": "u"})
    assert path.stat().st_mode & 0o777 == 0o600


def test_documents_are_copies(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.json")
    store.put("vms", {"id": "v", "os": {"type": "other"}})
    store.get("vms", "v")["os"]["type"] = "changed"  # type: ignore[index]
    store.documents("vms")[0]["os"]["type"] = "changed"
    assert store.get("vms", "v") == {"id": "v", "os": {"type": "other"}}


def test_remove_takes_the_sub_collections_along(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.json")
    store.put("vms", {"id": "v"})
    store.put("vms/v/nics", {"id": "n"})
    store.put("vms/w/nics", {"id": "m"})
    assert store.remove("vms", "v") is True
    assert store.documents("vms/v/nics") == [] and store.documents("vms/w/nics") == [{"id": "m"}]
    assert store.remove("vms", "v") is False


def test_scheduled_changes_apply_in_order_once_due_even_after_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "state.json"
    store = Store(path, clock=clock)
    store.put("hosts", {"id": "h", "status": "up"})
    store.update("hosts", "h", {"status": "preparing_for_maintenance"})
    store.schedule("hosts", "h", 2.0, {"status": "maintenance"})
    store.schedule("hosts", "h", 1.0, {"status": "still_preparing"})
    assert store.pending("hosts", "h") == [{"status": "still_preparing"},
                                           {"status": "maintenance"}]
    clock.now += 1.5
    assert store.get("hosts", "h") == {"id": "h", "status": "still_preparing"}
    reloaded = Store(path, clock=clock)
    clock.now += 1.0
    assert reloaded.get("hosts", "h") == {"id": "h", "status": "maintenance"}
    assert reloaded.pending("hosts", "h") == []


def test_a_transaction_saves_once_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = Store(path)
    with store.transaction():
        store.put("events", {"id": "1"})
        assert not path.exists()
    assert json.loads(path.read_text())["collections"]["events"] == {"1": {"id": "1"}}


def test_a_state_of_another_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"version": 99}')
    with pytest.raises(ValueError, match="state version 99 is not 1; remove the file"):
        Store(path)
