"""The engine's HTTP surface behind Apache's ``/ovirt-engine/`` proxy: SSO, the health page and
the REST API (XML, or JSON to ``Accept: application/json``), independent of the HTTP server;
and, outside that proxy, the lab's internal ``/lab/`` paths (:mod:`.lab_internal`).
"""

from __future__ import annotations

import base64
import binascii
import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from opsrunner_lab.engine_api.actions_hosts import register as register_hosts
from opsrunner_lab.engine_api.actions_vms import register as register_vms
from opsrunner_lab.engine_api.catalog import Catalog
from opsrunner_lab.engine_api.disk_attach import register as register_disk_attach
from opsrunner_lab.engine_api.disk_resize import register as register_disk_resize
from opsrunner_lab.engine_api.disks import register as register_disks
from opsrunner_lab.engine_api.events import record_event
from opsrunner_lab.engine_api.events import register as register_events
from opsrunner_lab.engine_api.faults import ApiFault
from opsrunner_lab.engine_api.handlers import ApiContext, GuestDisk, Handlers
from opsrunner_lab.engine_api.host_edit import register as register_host_edit
from opsrunner_lab.engine_api.imagetransfers import register as register_transfers
from opsrunner_lab.engine_api.lab_internal import PREFIX as LAB_PREFIX
from opsrunner_lab.engine_api.lab_internal import LabInternal
from opsrunner_lab.engine_api.model import Document
from opsrunner_lab.engine_api.ova_files import register as register_ova_files
from opsrunner_lab.engine_api.resources import Reply, Resources
from opsrunner_lab.engine_api.settings import EngineSettings
from opsrunner_lab.engine_api.snapshots import register as register_snapshots
from opsrunner_lab.engine_api.sso import Session, Sso, SsoError
from opsrunner_lab.engine_api.store import Store
from opsrunner_lab.engine_api.template_removal import register as register_template_removal
from opsrunner_lab.engine_api.template_updates import register as register_template_updates
from opsrunner_lab.engine_api.templates import register as register_templates
from opsrunner_lab.engine_api.transitions import register as register_transitions
from opsrunner_lab.engine_api.vm_create import register as register_vm_create
from opsrunner_lab.engine_api.vm_devices import register as register_devices
from opsrunner_lab.engine_api.vm_export import register as register_vm_export
from opsrunner_lab.engine_api.vm_nics import register as register_nics
from opsrunner_lab.engine_api.vm_remove import register as register_vm_remove
from opsrunner_lab.engine_api.xmlcodec import JSON_TYPE, XML_TYPE, to_json, to_xml

PREFIX = "/ovirt-engine"
HEALTH = b"DB Up!Welcome to Health Status!"

# Every write the simulator implements, registered in this order (events first: the others
# record events; transitions before the kinds that schedule them).
REGISTRARS = (register_events, register_transitions, register_hosts, register_vms,
              register_devices, register_templates, register_snapshots, register_disks,
              register_transfers, register_template_updates, register_nics,
              register_template_removal, register_host_edit, register_vm_create,
              register_vm_remove, register_vm_export, register_ova_files,
              register_disk_attach, register_disk_resize)


def default_handlers() -> Handlers:
    """A fresh :class:`.handlers.Handlers` holding every write the simulator implements."""
    handlers = Handlers()
    for register in REGISTRARS:
        register(handlers)
    return handlers


@dataclass
class Request:
    """An HTTP request: ``headers`` with lower-case names, ``client`` the peer address."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes = b""
    client: str = "127.0.0.1"


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, document: Mapping[str, str]) -> Response:
    return Response(status, (json.dumps(document) + "\n").encode(), JSON_TYPE)


class EngineApp:
    """Routes requests to SSO and the API of ``store`` (whose scheduled hooks it installs);
    with ``internal_token``, ``/lab/`` requests to :class:`.lab_internal.LabInternal`;
    ``guest_disk`` is handed to every handler (:class:`.handlers.ApiContext`)."""

    def __init__(self, store: Store, sso: Sso, handlers: Handlers | None = None,
                 settings: EngineSettings | None = None,
                 internal_token: str | None = None, guest_disk: GuestDisk | None = None) -> None:
        self.store = store
        self.sso = sso
        self.settings = settings or EngineSettings()
        self.guest_disk = guest_disk
        self.internal = (LabInternal(store, internal_token, self.settings)
                         if internal_token else None)
        handlers = handlers or default_handlers()
        handlers.install_hooks(store)
        self.resources = Resources(Catalog(store), handlers)

    def handle(self, request: Request) -> Response:
        """Answer one request; never raises for a bad request."""
        path, _, raw_query = request.target.partition("?")
        if path.startswith(LAB_PREFIX) and self.internal is not None:
            status, body = self.internal.handle(request.method, path, dict(request.headers),
                                                request.body)
            return Response(status, body, JSON_TYPE)
        if path == f"{PREFIX}/sso/oauth/token" and request.method == "POST":
            return self._token(request)
        if path == f"{PREFIX}/services/sso-logout":
            return self._logout(request)
        if path.startswith(f"{PREFIX}/services/health"):
            return Response(200, HEALTH, "text/html;charset=UTF-8")
        if path != f"{PREFIX}/api" and not path.startswith(f"{PREFIX}/api/"):
            return Response(404, b"", "text/html;charset=UTF-8")
        query = {k: v[0] for k, v in urllib.parse.parse_qs(raw_query).items()}
        as_json = "application/json" in request.headers.get("accept", "")
        user = self._user(request)
        if user is None:
            return self._write(Reply(401, "fault", {
                "reason": "Unauthorized",
                "detail": "The request has no valid SSO token or credentials; log in again"}),
                as_json)
        segments = [s for s in path[len(PREFIX) + len("/api"):].split("/") if s]
        if segments[:1] == ["v4"]:
            segments = segments[1:]
        ctx = ApiContext(self.store, user, request.headers.get("correlation-id"), self.settings,
                         self.guest_disk)
        try:
            reply = self.resources.handle(ctx, request.method, segments, query, request.body,
                                          request.headers.get("content-type"))
        except ApiFault as fault:
            reply = Reply(fault.status, None if fault.empty else "fault", fault.document())
        return self._write(reply, as_json)

    def _write(self, reply: Reply, as_json: bool) -> Response:
        if reply.tag is None:
            return Response(reply.status, b"", XML_TYPE)
        if as_json:
            return Response(reply.status, to_json(reply.doc), JSON_TYPE)
        return Response(reply.status, to_xml(reply.tag, reply.doc), XML_TYPE)

    def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in urllib.parse.parse_qs(request.body.decode(errors="replace"),
                                                          keep_blank_values=True).items()}
        try:
            session = self.sso.login(form)
        except SsoError as error:
            return _json(400, error.document())
        user = self.user_of(session.login)
        if user is not None:
            record_event(self.store, 30, f"User {user['user_name']} connecting from "
                                         f"'{request.client}' using session "
                                         f"'{session.session_id}' logged in.",
                         about={"user": str(user["id"])})
        return _json(200, self.sso.token_document(session))

    def _logout(self, request: Request) -> Response:
        form = urllib.parse.parse_qs(request.body.decode(errors="replace"))
        session = self.sso.logout(form.get("token", [""])[0])
        user = self.user_of(session.login) if session is not None else None
        if user is not None:
            record_event(self.store, 31, f"User {user['user_name']} logged out.",
                         about={"user": str(user["id"])})
        return _json(200, {})

    def user_of(self, login: str) -> Document | None:
        """The user document of a login name (``admin@internal``)."""
        return next((u for u in self.store.documents("users") if u.get("_login") == login), None)

    def _user(self, request: Request) -> Document | None:
        """The user a request authenticates as (bearer token, or HTTP basic), or None."""
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        session: Session | None = None
        if scheme.lower() == "bearer":
            session = self.sso.session(credentials.strip())
            return self.user_of(session.login) if session is not None else None
        if scheme.lower() == "basic":
            try:
                login, _, password = base64.b64decode(credentials).decode().partition(":")
                self.sso.authenticate(login, password)
            except (SsoError, binascii.Error, UnicodeDecodeError):
                return None
            return self.user_of(login)
        return None

