"""The lab's internal door into the simulator: a guest that powers itself off, and ``lab up``
making sure the running engine knows a VM for every guest.

Both are POSTs with header ``X-Lab-Token`` (the content of ``<lab>/secrets/lab-internal-token``)
and a JSON body, served on the simulator's own port only: Apache proxies ``/ovirt-engine/``,
never ``/lab/``.

- ``/lab/vm-power`` ``{"vm": NAME, "state": "down"}``: 200 ``{"vm": NAME, "changed": bool}``,
  404 for an unknown VM.
- ``/lab/guest-vms`` ``{"guests": [{"name": NAME, "powered_off": bool}, ...]}``: the VMs of the
  guests that have none are added (:func:`~opsrunner_lab.engine_api.seed.add_guest_vms`);
  200 ``{"added": [NAME, ...]}``. A running engine learns of guests added to its lab this way,
  without a restart that would log out every SSO session and drop pending guest power-offs.

Other answers: 400 for a bad body, 403 for a wrong or missing token, 404 for an unknown path,
405 for a method other than POST.
"""

from __future__ import annotations

import hmac
import http.client
import json
import secrets
from collections.abc import Sequence
from pathlib import Path

from opsrunner_lab.daemon import LabServerError
from opsrunner_lab.engine_api.actions_vms import powered_off_from_guest
from opsrunner_lab.engine_api.seed import GuestVm, add_guest_vms
from opsrunner_lab.engine_api.settings import EngineSettings
from opsrunner_lab.engine_api.store import Store
from opsrunner_lab.layout import ENGINE_PORTS, LabLayout, check_guests

PREFIX = "/lab/"
VM_POWER = "/lab/vm-power"
GUEST_VMS = "/lab/guest-vms"
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
        if path not in (VM_POWER, GUEST_VMS):
            return _answer(404, {"error": f"no such lab path {path}"})
        if method != "POST":
            return _answer(405, {"error": "use POST"})
        offered = headers.get(TOKEN_HEADER, "")
        if not offered or not hmac.compare_digest(offered.encode(), self.token.encode()):
            return _answer(403, {"error": "wrong or missing lab token"})
        if path == GUEST_VMS:
            return self._guest_vms(body)
        return self._vm_power(body)

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
            guests = [GuestVm(entry["name"], entry["powered_off"])
                      for entry in json.loads(body)["guests"]]
        except (ValueError, TypeError, KeyError):
            guests = []
        if not guests or not all(isinstance(g.name, str) and isinstance(g.powered_off, bool)
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
    token = internal_token_file(layout).read_text().strip()
    address, port = layout.engine_address, ENGINE_PORTS["ovirt-engine"]
    body = json.dumps({"guests": [{"name": g.name, "powered_off": g.powered_off}
                                  for g in guests]})
    connection = http.client.HTTPConnection(address, port, timeout=30)
    try:
        connection.request("POST", GUEST_VMS, body, {TOKEN_HEADER: token,
                                                     "Content-Type": JSON_TYPE})
        response = connection.getresponse()
        answer = response.read().decode(errors="replace")
    except (OSError, http.client.HTTPException) as error:
        raise LabServerError(f"cannot reach the lab engine at {address}:{port} to add the "
                             f"guests' VMs: {error}") from None
    finally:
        connection.close()
    if response.status != 200:
        raise LabServerError(f"the lab engine at {address}:{port} did not add the guests' VMs: "
                             f"HTTP {response.status} {answer.strip()}")
    return [str(name) for name in json.loads(answer)["added"]]
