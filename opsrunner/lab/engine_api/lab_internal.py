"""The lab's internal door into the simulator: a guest that powers itself off.

``POST /lab/vm-power`` with header ``X-Lab-Token`` (the content of
``<lab>/secrets/lab-internal-token``) and the JSON body ``{"vm": NAME, "state": "down"}``. It is
served on the simulator's own port only: Apache proxies ``/ovirt-engine/``, never ``/lab/``.
Answers: 200 ``{"vm": NAME, "changed": bool}``, 400 for a bad body, 403 for a wrong or
missing token, 404 for an unknown VM or path, 405 for a method other than POST.
"""

from __future__ import annotations

import hmac
import json
import secrets
from pathlib import Path

from opsrunner.lab.engine_api.actions_vms import powered_off_from_guest
from opsrunner.lab.engine_api.settings import EngineSettings
from opsrunner.lab.engine_api.store import Store
from opsrunner.lab.layout import LabLayout

PREFIX = "/lab/"
VM_POWER = "/lab/vm-power"
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
        if path != VM_POWER:
            return _answer(404, {"error": f"no such lab path {path}"})
        if method != "POST":
            return _answer(405, {"error": "use POST"})
        offered = headers.get(TOKEN_HEADER, "")
        if not offered or not hmac.compare_digest(offered.encode(), self.token.encode()):
            return _answer(403, {"error": "wrong or missing lab token"})
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
