"""The lab's internal door into the simulator: a guest that powers itself off, ``lab up``
making sure the running engine knows a VM for every guest, and what only time or the storage
itself changes on a real estate (a storage domain's free space, how old an event or a snapshot
is), for tests of the controls that judge them.

Both are POSTs with header ``X-Lab-Token`` (the content of ``<lab>/secrets/lab-internal-token``)
and a JSON body, served on the simulator's own port only: Apache proxies ``/ovirt-engine/``,
never ``/lab/``.

- ``/lab/vm-power`` ``{"vm": NAME, "state": "down"}``: 200 ``{"vm": NAME, "changed": bool}``,
  404 for an unknown VM.
- ``/lab/guest-vms`` ``{"guests": [{"name": NAME, "powered_off": bool}, ...]}``: the VMs of the
  guests that have none are added (:func:`~opsrunner_lab.engine_api.seed.add_guest_vms`);
  200 ``{"added": [NAME, ...]}``. A running engine learns of guests added to its lab this way,
  without a restart that would log out every SSO session and drop pending guest power-offs.
- ``/lab/storage-space`` ``{"domain": NAME, "available": BYTES, "used": BYTES}``: the space the
  storage reports for a storage domain (a real engine reads it from the storage, never from the
  API); 200 ``{"domain": NAME, "available": BYTES, "used": BYTES}``, 404 for an unknown domain.
- ``/lab/age`` ``{"entity": "events/INDEX" | "vms/ID/snapshots/ID", "hours": H}``: the event's
  ``time`` or the snapshot's ``date`` moved ``H`` hours into the past (as if it were that old);
  200 ``{"entity": ..., "time": EPOCH_MS}``, 404 for an unknown entity.

Other answers: 400 for a bad body, 403 for a wrong or missing token, 404 for an unknown path,
405 for a method other than POST.
"""

from __future__ import annotations

import hmac
import http.client
import json
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from opsrunner_lab.daemon import LabServerError
from opsrunner_lab.engine_api.actions_vms import powered_off_from_guest
from opsrunner_lab.engine_api.model import kind_key
from opsrunner_lab.engine_api.seed import GuestVm, add_guest_vms
from opsrunner_lab.engine_api.settings import EngineSettings
from opsrunner_lab.engine_api.store import Store
from opsrunner_lab.layout import ENGINE_PORTS, LabLayout, check_guests

PREFIX = "/lab/"
VM_POWER = "/lab/vm-power"
GUEST_VMS = "/lab/guest-vms"
STORAGE_SPACE = "/lab/storage-space"
AGE = "/lab/age"
PATHS = (VM_POWER, GUEST_VMS, STORAGE_SPACE, AGE)
# The timestamp field of each kind of entity /lab/age may age.
AGED_FIELDS = {"events": "time", "vms/snapshots": "date"}
_HOUR_MS = 3_600_000
TOKEN_HEADER = "x-lab-token"
TOKEN_FILE = "lab-internal-token"
POWER_OFF_DELAY = 1.0  # seconds: the guest's command returns before its sshd goes away
JSON_TYPE = "application/json"


def internal_token_file(layout: LabLayout) -> Path:
    """Where the lab keeps the internal token (mode 0600)."""
    return layout.secrets / TOKEN_FILE


def ensure_internal_token(path: Path) -> str:
    """The token in ``path``, created (random, mode 0600) when missing."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32) + "\n")
    path.chmod(0o600)
    return path.read_text().strip()


def _answer(status: int, document: dict[str, object]) -> tuple[int, bytes]:
    return status, (json.dumps(document) + "\n").encode()


class LabInternal:
    """Answers ``/lab/`` requests for ``store`` given the lab's ``token``."""

    def __init__(self, store: Store, token: str, settings: EngineSettings) -> None:
        self.store = store
        self.token = token
        self.settings = settings

    def handle(self, method: str, path: str, headers: dict[str, str],
               body: bytes) -> tuple[int, bytes]:
        """(status, JSON body) of one request; ``headers`` with lower-case names."""
        if path not in PATHS:
            return _answer(404, {"error": f"no such lab path {path}"})
        if method != "POST":
            return _answer(405, {"error": "use POST"})
        offered = headers.get(TOKEN_HEADER, "")
        if not offered or not hmac.compare_digest(offered.encode(), self.token.encode()):
            return _answer(403, {"error": "wrong or missing lab token"})
        if path == GUEST_VMS:
            return self._guest_vms(body)
        if path == STORAGE_SPACE:
            return self._storage_space(body)
        if path == AGE:
            return self._age(body)
        return self._vm_power(body)

    def _storage_space(self, body: bytes) -> tuple[int, bytes]:
        try:
            request = json.loads(body)
            domain_name, available, used = request["domain"], request["available"], request["used"]
        except (ValueError, TypeError, KeyError):
            domain_name = available = used = None
        if not isinstance(domain_name, str) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0
                for v in (available, used)):
            return _answer(400, {"error": 'expected {"domain": NAME, "available": BYTES, '
                                          '"used": BYTES} (whole numbers, 0 or more)'})
        with self.store.transaction():
            domain = next((d for d in self.store.documents("storagedomains")
                           if d.get("name") == domain_name), None)
            if domain is None:
                return _answer(404, {"error": f"no storage domain named {domain_name!r}"})
            self.store.update("storagedomains", str(domain["id"]),
                              {"available": str(available), "used": str(used)})
        return _answer(200, {"domain": domain_name, "available": available, "used": used})

    def _age(self, body: bytes) -> tuple[int, bytes]:
        try:
            request = json.loads(body)
            entity, hours = request["entity"], request["hours"]
        except (ValueError, TypeError, KeyError):
            entity = hours = None
        if not isinstance(entity, str) or isinstance(hours, bool) or \
                not isinstance(hours, (int, float)) or hours < 0:
            return _answer(400, {"error": 'expected {"entity": "events/INDEX" or '
                                          '"vms/ID/snapshots/ID", "hours": H (0 or more)}'})
        collection, _, entity_id = entity.rpartition("/")
        field = AGED_FIELDS.get(kind_key(collection)) if collection else None
        if field is None or not entity_id:
            return _answer(400, {"error": f"entity {entity!r}: only events/INDEX and "
                                          f"vms/ID/snapshots/ID can be aged"})
        with self.store.transaction():
            doc = self.store.get(collection, entity_id)
            if doc is None:
                return _answer(404, {"error": f"no entity {entity}"})
            when = int(doc[field]) - int(hours * _HOUR_MS)
            self.store.update(collection, entity_id, {field: when})
        return _answer(200, {"entity": entity, "time": when})

    def _vm_power(self, body: bytes) -> tuple[int, bytes]:
        try:
            request = json.loads(body)
            vm_name, state = request["vm"], request["state"]
        except (ValueError, TypeError, KeyError):
            return _answer(400, {"error": 'expected {"vm": NAME, "state": "down"}'})
        if state != "down":
            return _answer(400, {"error": f"state {state!r} is not allowed; only \"down\" (a "
                                          f"guest cannot power itself on)"})
        vm = next((v for v in self.store.documents("vms") if v.get("name") == vm_name), None)
        if vm is None:
            return _answer(404, {"error": f"no VM named {vm_name!r}"})
        changed = powered_off_from_guest(self.store, str(vm["id"]))
        if changed and self.settings.guest_power is not None:
            self.settings.guest_power.power_off(str(vm_name), POWER_OFF_DELAY)
        return _answer(200, {"vm": vm_name, "changed": changed})

    def _guest_vms(self, body: bytes) -> tuple[int, bytes]:
        try:
            guests = [GuestVm(entry["name"], entry["powered_off"], entry.get("address"))
                      for entry in json.loads(body)["guests"]]
        except (ValueError, TypeError, KeyError):
            guests = []
        if not guests or not all(isinstance(g.name, str) and isinstance(g.powered_off, bool)
                                 and isinstance(g.address, (str, type(None)))
                                 for g in guests):
            return _answer(400, {"error": 'expected {"guests": [{"name": NAME, "powered_off": '
                                          'false}, ...]}'})
        try:
            check_guests([guest.name for guest in guests])
        except ValueError as error:
            return _answer(400, {"error": str(error)})
        return _answer(200, {"added": add_guest_vms(self.store, guests)})


def request_guest_vms(layout: LabLayout, guests: Sequence[GuestVm]) -> list[str]:
    """Have the running simulator of ``layout``'s lab add the VMs of ``guests`` it lacks
    (``/lab/guest-vms``); the names of the VMs added. LabServerError when it cannot be reached
    or refuses (the token never appears in the message)."""
    document = {"guests": [{"name": g.name, "powered_off": g.powered_off, "address": g.address}
                           for g in guests]}
    answer = _post(layout, GUEST_VMS, document, "to add the guests' VMs",
                   "did not add the guests' VMs")
    return [str(name) for name in answer["added"]]


def lab_post(layout: LabLayout, path: str, document: Mapping[str, object]) -> dict[str, Any]:
    """POST ``document`` to the internal ``path`` of ``layout``'s running simulator; its JSON
    answer. LabServerError when it cannot be reached or refuses (naming the path and the
    answer; never the token)."""
    return _post(layout, path, document, f"for {path}", f"refused {path}")


def _post(layout: LabLayout, path: str, document: Mapping[str, object], purpose: str,
          refusal: str) -> dict[str, Any]:
    """The internal POST itself; ``purpose`` and ``refusal`` complete the two error texts
    ("cannot reach the lab engine at A:P <purpose>: ...", "the lab engine at A:P
    <refusal>: HTTP ...")."""
    token = internal_token_file(layout).read_text().strip()
    address, port = layout.engine_address, ENGINE_PORTS["ovirt-engine"]
    connection = http.client.HTTPConnection(address, port, timeout=30)
    try:
        connection.request("POST", path, json.dumps(dict(document)),
                           {TOKEN_HEADER: token, "Content-Type": JSON_TYPE})
        response = connection.getresponse()
        answer = response.read().decode(errors="replace")
    except (OSError, http.client.HTTPException) as error:
        raise LabServerError(f"cannot reach the lab engine at {address}:{port} {purpose}: "
                             f"{error}") from None
    finally:
        connection.close()
    if response.status != 200:
        raise LabServerError(f"the lab engine at {address}:{port} {refusal}: "
                             f"HTTP {response.status} {answer.strip()}")
    found: dict[str, Any] = json.loads(answer)
    return found
