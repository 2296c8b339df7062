"""What the action handlers share: events now and later, jobs, deferred removals, and the
lookups that fault as the engine does.

Later work is a scheduled hook of the store, so it survives a restart of the service. A deferred
event is anchored to an entity (the engine itself by default) and is dropped if that entity is
removed before it is due.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from opsrunner_lab.engine_api.events import record_event
from opsrunner_lab.engine_api.faults import not_found
from opsrunner_lab.engine_api.handlers import ApiContext, Handlers
from opsrunner_lab.engine_api.model import Document, ref
from opsrunner_lab.engine_api.root import SYSTEM
from opsrunner_lab.engine_api.store import Store

EVENT_HOOK = "event"
REMOVE_HOOK = "remove"
ENGINE_ANCHOR = (SYSTEM, "engine")


def new_id() -> str:
    return str(uuid.uuid4())


def user_name(ctx: ApiContext) -> str:
    """The acting user as the engine names it in events (``admin@internal-authz``)."""
    return str(ctx.user.get("user_name", ctx.user.get("name", "")))


def require(ctx: ApiContext, collection: str, entity_id: str) -> Document:
    """A document that must exist (404 otherwise)."""
    doc = ctx.store.get(collection, entity_id)
    if doc is None:
        raise not_found()
    return doc


def event_now(ctx: ApiContext, code: int, description: str, *, severity: str = "normal",
              about: Mapping[str, str] | None = None) -> None:
    """Record an event of this request (with its correlation id)."""
    record_event(ctx.store, code, description, severity=severity,
                 correlation_id=ctx.correlation_id, about=about)


def event_later(ctx: ApiContext, delay: float, code: int, description: str, *,
                severity: str = "normal", about: Mapping[str, str] | None = None,
                anchor: tuple[str, str] = ENGINE_ANCHOR) -> None:
    """Record an event of this request ``delay`` seconds from now."""
    ctx.store.schedule_hook(anchor[0], anchor[1], delay, EVENT_HOOK, {
        "code": code, "description": description, "severity": severity,
        "about": dict(about or {}), "correlation_id": ctx.correlation_id})


def remove_later(ctx: ApiContext, collection: str, entity_id: str, delay: float) -> None:
    """Remove an entity (and what lies below it) ``delay`` seconds from now."""
    ctx.store.schedule_hook(collection, entity_id, delay, REMOVE_HOOK)


def start_job(ctx: ApiContext, description: str, duration: float) -> Document:
    """A job of this request, ``started`` now and ``finished`` after ``duration``; its ref."""
    store, now = ctx.store, ctx.store.now_ms()
    job_id = new_id()
    store.put("jobs", {"id": job_id, "auto_cleared": "true", "external": "false",
                       "last_updated": now, "start_time": now, "status": "started",
                       "owner": ref("users", str(ctx.user["id"])), "description": description})
    end = now + int(duration * 1000)
    store.schedule("jobs", job_id, duration, {"status": "finished", "end_time": end,
                                              "last_updated": end})
    remove_later(ctx, "jobs", job_id, duration + ctx.settings.timing.job_clear)
    return ref("jobs", job_id)


def _event_hook(store: Store, collection: str, entity_id: str, args: Document) -> None:
    record_event(store, args["code"], args["description"], severity=args["severity"],
                 correlation_id=args.get("correlation_id"), about=args["about"])


def _remove_hook(store: Store, collection: str, entity_id: str, args: Document) -> None:
    store.remove(collection, entity_id)


def register(handlers: Handlers) -> None:
    handlers.hooks[EVENT_HOOK] = _event_hook
    handlers.hooks[REMOVE_HOOK] = _remove_hook
