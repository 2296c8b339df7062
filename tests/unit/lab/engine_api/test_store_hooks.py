"""The engine API simulator's store: scheduled hooks (run in order with the changes, stored
across a restart, dropped with their entity) and unscheduling."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from opsrunner_lab.engine_api.model import Document
from opsrunner_lab.engine_api.store import Store


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _mark(store: Store, collection: str, entity_id: str, args: Document) -> None:
    """A hook that reads and writes the store (as real hooks do)."""
    doc = store.get(collection, entity_id)
    assert doc is not None
    store.put("log", {"id": str(len(store.documents("log"))), "status": doc["status"],
                      "note": args["note"]})


def test_hooks_run_in_order_with_the_changes_even_after_a_restart(tmp_path: Path) -> None:
    clock, path = Clock(), tmp_path / "state.json"
    store = Store(path, clock=clock)
    store.register_hook("mark", _mark)
    store.put("vms", {"id": "v", "status": "up"})
    store.schedule("vms", "v", 1.0, {"status": "powering_down"})
    store.schedule_hook("vms", "v", 1.0, "mark", {"note": "after the first change"})
    store.schedule("vms", "v", 2.0, {"status": "down"})
    assert store.pending("vms", "v")[1] == {"hook": "mark",
                                            "args": {"note": "after the first change"}}
    reloaded = Store(path, clock=clock)
    reloaded.register_hook("mark", _mark)
    clock.now += 5
    assert reloaded.get("vms", "v") == {"id": "v", "status": "down"}
    assert reloaded.documents("log") == [{"id": "0", "status": "powering_down",
                                          "note": "after the first change"}]


def test_hooks_of_a_removed_entity_are_dropped_and_unschedule_drops_everything(
        tmp_path: Path) -> None:
    clock = Clock()
    store = Store(tmp_path / "state.json", clock=clock)
    store.register_hook("mark", _mark)
    store.put("vms", {"id": "v", "status": "up"})
    store.put("vms", {"id": "w", "status": "up"})
    store.schedule_hook("vms", "v", 1.0, "mark", {"note": "never"})
    store.schedule("vms", "w", 1.0, {"status": "down"})
    store.schedule_hook("vms", "w", 1.0, "mark", {"note": "never either"})
    store.remove("vms", "v")
    assert store.unschedule("vms", "w") == 2
    clock.now += 5
    assert store.documents("log") == [] and store.get("vms", "w") == {"id": "w", "status": "up"}


def test_an_unknown_hook_is_dropped_with_a_warning(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    store = Store(tmp_path / "state.json", clock=clock)
    store.put("vms", {"id": "v", "status": "up"})
    store.schedule_hook("vms", "v", 1.0, "gone")
    clock.now += 2
    with caplog.at_level(logging.WARNING):
        assert store.pending("vms", "v") == []
    assert "dropped scheduled hook 'gone' of vms/v: no such hook is registered" in caplog.text
