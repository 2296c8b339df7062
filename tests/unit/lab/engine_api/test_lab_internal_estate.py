"""The simulator's internal /lab/storage-space and /lab/age paths: what the storage reports
for a domain, and events and snapshots made as old as a test needs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsrunner_lab.engine_api.lab_internal import LabInternal, ensure_internal_token
from opsrunner_lab.engine_api.seed import seed_estate
from opsrunner_lab.engine_api.settings import EngineSettings
from opsrunner_lab.engine_api.store import Store
from opsrunner_lab.layout import LabLayout

HOUR_MS = 3_600_000


@pytest.fixture
def parts(tmp_path: Path) -> tuple[LabInternal, Store]:
    layout = LabLayout(tmp_path / "lab", 1, "127.0.99.")
    store = Store(tmp_path / "state.json", seed_estate(layout))
    token = ensure_internal_token(tmp_path / "secrets" / "token")
    return LabInternal(store, token, EngineSettings()), store


def post(internal: LabInternal, path: str, body: object,
         token: str | None = None) -> tuple[int, object]:
    headers = {"x-lab-token": token if token is not None else internal.token}
    status, answer = internal.handle("POST", path, headers, json.dumps(body).encode())
    return status, json.loads(answer)


def test_storage_space_sets_what_the_domain_reports(parts: tuple[LabInternal, Store]) -> None:
    internal, store = parts
    answer = post(internal, "/lab/storage-space", {"domain": "data", "available": 1024,
                                                   "used": 9 * 1024})
    assert answer == (200, {"domain": "data", "available": 1024, "used": 9 * 1024})
    domain = store.documents("storagedomains")[0]
    assert (domain["available"], domain["used"]) == ("1024", "9216")
    assert domain["committed"] == str(10 * 1024 ** 3)  # the rest is left as it was


@pytest.mark.parametrize(("body", "answer"), [
    ({"domain": "nope", "available": 1, "used": 1},
     (404, {"error": "no storage domain named 'nope'"})),
    ({"domain": "data", "available": -1, "used": 1},
     (400, {"error": 'expected {"domain": NAME, "available": BYTES, "used": BYTES} (whole '
                     'numbers, 0 or more)'})),
    ({"domain": "data", "available": True, "used": 1},
     (400, {"error": 'expected {"domain": NAME, "available": BYTES, "used": BYTES} (whole '
                     'numbers, 0 or more)'})),
    ({"domain": "data", "used": 1},
     (400, {"error": 'expected {"domain": NAME, "available": BYTES, "used": BYTES} (whole '
                     'numbers, 0 or more)'})),
])
def test_storage_space_refusals_change_nothing(parts: tuple[LabInternal, Store], body: object,
                                               answer: tuple[int, object]) -> None:
    internal, store = parts
    before = store.documents("storagedomains")
    assert post(internal, "/lab/storage-space", body) == answer
    assert store.documents("storagedomains") == before


def test_age_moves_an_event_time_into_the_past(parts: tuple[LabInternal, Store]) -> None:
    internal, store = parts
    event = store.documents("events")[-1]
    status, answer = post(internal, "/lab/age", {"entity": f"events/{event['id']}",
                                                 "hours": 49})
    assert status == 200
    assert answer == {"entity": f"events/{event['id']}", "time": event["time"] - 49 * HOUR_MS}
    aged = store.get("events", event["id"])
    assert aged is not None and aged["time"] == event["time"] - 49 * HOUR_MS


def test_age_moves_a_snapshot_date_into_the_past(parts: tuple[LabInternal, Store]) -> None:
    internal, store = parts
    vm = store.documents("vms")[0]
    snapshots = f"vms/{vm['id']}/snapshots"
    snapshot = store.documents(snapshots)[0]
    status, answer = post(internal, "/lab/age", {"entity": f"{snapshots}/{snapshot['id']}",
                                                 "hours": 0.5})
    assert (status, answer) == (200, {"entity": f"{snapshots}/{snapshot['id']}",
                                      "time": snapshot["date"] - HOUR_MS // 2})
    aged = store.get(snapshots, snapshot["id"])
    assert aged is not None and aged["date"] == snapshot["date"] - HOUR_MS // 2


@pytest.mark.parametrize(("body", "answer"), [
    ({"entity": "events/999999", "hours": 1}, (404, {"error": "no entity events/999999"})),
    ({"entity": "vms/x", "hours": 1},
     (400, {"error": "entity 'vms/x': only events/INDEX and vms/ID/snapshots/ID can be aged"})),
    ({"entity": "events", "hours": 1},
     (400, {"error": "entity 'events': only events/INDEX and vms/ID/snapshots/ID can be aged"})),
    ({"entity": "events/1", "hours": -1},
     (400, {"error": 'expected {"entity": "events/INDEX" or "vms/ID/snapshots/ID", "hours": H '
                     '(0 or more)}'})),
    ({"entity": "events/1", "hours": "1"},
     (400, {"error": 'expected {"entity": "events/INDEX" or "vms/ID/snapshots/ID", "hours": H '
                     '(0 or more)}'})),
])
def test_age_refusals_change_nothing(parts: tuple[LabInternal, Store], body: object,
                                     answer: tuple[int, object]) -> None:
    internal, store = parts
    before = store.documents("events")
    assert post(internal, "/lab/age", body) == answer
    assert store.documents("events") == before


def test_both_paths_want_the_token(parts: tuple[LabInternal, Store]) -> None:
    internal, _ = parts
    for path in ("/lab/storage-space", "/lab/age"):
        assert post(internal, path, {}, token="wrong") == (
            403, {"error": "wrong or missing lab token"})
