"""The audit log: events the simulator records itself, and ``POST /events`` (external events).

Events are kept in collection ``events`` by their index (the id is the index, as on the engine),
and listed newest first.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

from opsrunner_lab.engine_api.faults import ApiFault, conflict, incomplete, not_found
from opsrunner_lab.engine_api.handlers import ApiContext, Handlers, Target
from opsrunner_lab.engine_api.model import Document, ref
from opsrunner_lab.engine_api.store import Store
from opsrunner_lab.engine_api.xmlcodec import child_text

SEVERITIES = ("normal", "warning", "error", "alert")
# AuditLogType of events added through the API, by severity.
EXTERNAL_CODES = {"normal": "9801", "warning": "9802", "error": "9803", "alert": "9804"}
# The entities an event may name, by element and collection.
EVENT_REFS = {"cluster": "clusters", "data_center": "datacenters", "host": "hosts",
              "storage_domain": "storagedomains", "template": "templates", "user": "users",
              "vm": "vms"}
INDEX_COUNTER = "event_index"


def named_ref(store: Store, element: str, entity_id: str) -> Document | None:
    """A reference with the entity's ``name`` (as events carry them); None if unknown."""
    collection = EVENT_REFS[element]
    doc = store.get(collection, entity_id)
    if doc is None:
        return None
    name = doc.get("user_name") if element == "user" else doc.get("name")
    return ref(collection, entity_id, name=name)


def record_event(store: Store, code: int | str, description: str, *,
                 severity: str = "normal", origin: str = "oVirt", custom_id: str = "-1",
                 correlation_id: str | None = None,
                 about: Mapping[str, str] | None = None) -> Document:
    """Append an event; ``about`` maps elements (``host``, ``vm``...) to entity ids."""
    with store.transaction():
        index = store.next_value(INDEX_COUNTER)
        doc: Document = {"id": str(index), "code": str(code)}
        if correlation_id:
            doc["correlation_id"] = correlation_id
        doc.update({"custom_id": custom_id, "flood_rate": "0", "index": str(index),
                    "origin": origin, "severity": severity, "time": store.now_ms()})
        for element, entity_id in (about or {}).items():
            named = named_ref(store, element, entity_id)
            if named is not None:
                doc[element] = named
        doc["description"] = description
        return store.put("events", doc)


def add_event(ctx: ApiContext, collection: str, body: ET.Element,
              query: Mapping[str, str]) -> Document:
    """``POST /events``: an external event (origin, severity, custom_id, description)."""
    fields = {name: child_text(body, name)
              for name in ("origin", "severity", "custom_id", "description")}
    missing = [{"custom_id": "customId"}.get(name, name)
               for name, value in fields.items() if not value]
    if missing:
        raise incomplete("Event", missing, "add")
    severity = str(fields["severity"])
    if severity not in SEVERITIES:
        raise ApiFault(400, f"{severity} is not a member of LogSeverity. Possible values for "
                            f"LogSeverity are: {', '.join(SEVERITIES)}", reason="Invalid value")
    if str(fields["origin"]).lower() == "ovirt":
        raise conflict("Cannot add Event. Illegal origin: oVirt.")
    about = {element: str(found.get("id")) for element in EVENT_REFS
             if (found := body.find(element)) is not None and found.get("id")}
    return record_event(ctx.store, EXTERNAL_CODES[severity], str(fields["description"]),
                        severity=severity, origin=str(fields["origin"]),
                        custom_id=str(fields["custom_id"]),
                        correlation_id=ctx.correlation_id, about=about)


def remove_event(ctx: ApiContext, target: Target, query: Mapping[str, str]) -> None:
    """``DELETE /events/{index}``."""
    if not ctx.store.remove(target.collection, target.entity_id):
        raise not_found()


def register(handlers: Handlers) -> None:
    handlers.adders["events"] = add_event
    handlers.removers["events"] = remove_event
