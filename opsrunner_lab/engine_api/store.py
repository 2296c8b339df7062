"""The simulator's state: entity documents by collection path, counters and scheduled changes.

Thread-safe (one re-entrant lock). Every change is written to a JSON file (atomic replace) before
the call returns, so the state survives a restart of the service. A transition that "takes a
little time" is a scheduled change (``schedule``): it is applied by the first access after it is
due, so no thread is needed and a pending transition also survives a restart. A scheduled *hook*
(``schedule_hook``) runs a function registered by name (``register_hook``) instead, for what a
merge cannot do (remove an entity, record an event, touch a file); its arguments are stored.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from opsrunner_lab.engine_api.model import Document

STATE_VERSION = 1
_log = logging.getLogger(__name__)


def merge(target: Document, changes: Document) -> None:
    """Deep-merge ``changes`` into ``target``: dicts merge, a None value deletes the key."""
    for key, value in changes.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


# A scheduled hook: (store, collection, entity id, stored arguments) -> None.
Hook = Callable[["Store", str, str, Document], None]


class Store:
    """Documents kept in ``path``; ``seed(store)`` fills a new store (no file yet).

    :param clock: wall-clock seconds (``time.time``); scheduled changes use it.
    """

    def __init__(self, path: Path, seed: Callable[[Store], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.RLock()
        self._depth = 0
        self._dirty = False
        self._collections: dict[str, dict[str, Document]] = {}
        self._counters: dict[str, int] = {}
        self._schedule: list[dict[str, Any]] = []
        self._hooks: dict[str, Hook] = {}
        self._applying = False
        if path.exists():
            self._load()
        elif seed is not None:
            with self.transaction():
                seed(self)
                self._dirty = True

    def now_ms(self) -> int:
        """The clock in epoch milliseconds (the engine's timestamps)."""
        return int(self.clock() * 1000)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        """Hold the lock over several calls; the state is saved once, at the end."""
        with self._lock:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
                if self._depth == 0 and self._dirty:
                    self._save()

    def documents(self, collection: str) -> list[Document]:
        """Copies of the documents of ``collection``, in insertion order."""
        with self.transaction():
            self._apply_due()
            return copy.deepcopy(list(self._collections.get(collection, {}).values()))

    def get(self, collection: str, entity_id: str) -> Document | None:
        """A copy of one document, or None."""
        with self.transaction():
            self._apply_due()
            doc = self._collections.get(collection, {}).get(entity_id)
            return copy.deepcopy(doc) if doc is not None else None

    def put(self, collection: str, doc: Document) -> Document:
        """Insert or replace ``doc`` (it must have an ``id``); return a copy."""
        with self.transaction():
            self._apply_due()
            stored = copy.deepcopy(doc)
            self._collections.setdefault(collection, {})[str(stored["id"])] = stored
            self._dirty = True
            return copy.deepcopy(stored)

    def update(self, collection: str, entity_id: str, changes: Document) -> Document:
        """Deep-merge ``changes`` into a document (see :func:`merge`); KeyError if none."""
        with self.transaction():
            self._apply_due()
            doc = self._collections.get(collection, {})[entity_id]
            merge(doc, changes)
            self._dirty = True
            return copy.deepcopy(doc)

    def remove(self, collection: str, entity_id: str) -> bool:
        """Remove a document and every collection below it; True if it existed."""
        with self.transaction():
            self._apply_due()
            existed = self._collections.get(collection, {}).pop(entity_id, None) is not None
            below = f"{collection}/{entity_id}/"
            for path in [p for p in self._collections if p.startswith(below)]:
                del self._collections[path]
            self._schedule = [s for s in self._schedule
                              if not (s["collection"] == collection and s["id"] == entity_id)
                              and not s["collection"].startswith(below)]
            self._dirty = True
            return existed

    def next_value(self, counter: str, start: int = 1) -> int:
        """The next value of a persistent counter (e.g. event indexes)."""
        with self.transaction():
            value = self._counters.get(counter, start - 1) + 1
            self._counters[counter] = value
            self._dirty = True
            return value

    def schedule(self, collection: str, entity_id: str, delay: float, changes: Document) -> None:
        """Merge ``changes`` into a document ``delay`` seconds from now (see the module doc).

        Changes due at the same moment apply in the order they were scheduled.
        """
        with self.transaction():
            self._schedule.append({"at": self.clock() + delay, "collection": collection,
                                   "id": entity_id, "changes": copy.deepcopy(changes)})
            self._schedule.sort(key=lambda s: float(s["at"]))
            self._dirty = True

    def register_hook(self, name: str, hook: Hook) -> None:
        """Make ``name`` runnable by :meth:`schedule_hook` (register before the first access)."""
        self._hooks[name] = hook

    def schedule_hook(self, collection: str, entity_id: str, delay: float, name: str,
                      args: Document | None = None) -> None:
        """Run hook ``name`` for an entity ``delay`` seconds from now (if it still exists).

        Ordered with the scheduled changes; dropped when the entity is removed first.
        """
        with self.transaction():
            self._schedule.append({"at": self.clock() + delay, "collection": collection,
                                   "id": entity_id, "hook": name,
                                   "args": copy.deepcopy(args or {})})
            self._schedule.sort(key=lambda s: float(s["at"]))
            self._dirty = True

    def unschedule(self, collection: str, entity_id: str) -> int:
        """Drop every change and hook still scheduled for one entity; how many were dropped."""
        with self.transaction():
            self._apply_due()
            kept = [s for s in self._schedule
                    if not (s["collection"] == collection and s["id"] == entity_id)]
            dropped = len(self._schedule) - len(kept)
            if dropped:
                self._schedule = kept
                self._dirty = True
            return dropped

    def pending(self, collection: str, entity_id: str) -> list[Document]:
        """Copies of the changes still scheduled for one document, soonest first (a hook shows
        as ``{"hook": name, "args": {...}}``)."""
        with self.transaction():
            self._apply_due()
            return [copy.deepcopy(s["changes"] if "changes" in s else
                                  {"hook": s["hook"], "args": s["args"]})
                    for s in self._schedule
                    if s["collection"] == collection and s["id"] == entity_id]

    def _apply_due(self) -> None:
        if self._applying:  # a hook's own reads and writes: the outer loop goes on after it
            return
        self._applying = True
        try:
            now = self.clock()
            while self._schedule and float(self._schedule[0]["at"]) <= now:
                due = self._schedule.pop(0)
                self._dirty = True
                doc = self._collections.get(due["collection"], {}).get(due["id"])
                if doc is None:
                    continue
                if "changes" in due:
                    merge(doc, due["changes"])
                else:
                    self._run_hook(due)
        finally:
            self._applying = False

    def _run_hook(self, due: dict[str, Any]) -> None:
        hook = self._hooks.get(due["hook"])
        if hook is None:
            _log.warning("dropped scheduled hook %r of %s/%s: no such hook is registered",
                         due["hook"], due["collection"], due["id"])
            return
        hook(self, due["collection"], due["id"], copy.deepcopy(due["args"]))

    def _load(self) -> None:
        state = json.loads(self.path.read_text())
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"{self.path}: state version {state.get('version')!r} is not "
                             f"{STATE_VERSION}; remove the file to start from a fresh seed")
        self._collections = state["collections"]
        self._counters = state["counters"]
        self._schedule = state["schedule"]

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        state = {"version": STATE_VERSION, "collections": self._collections,
                 "counters": self._counters, "schedule": self._schedule}
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        # 0600: like the engine's database, the state holds secrets (cloud-init root passwords)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            os.fchmod(stream.fileno(), 0o600)
            stream.write(json.dumps(state, indent=1) + "\n")
        os.replace(temporary, self.path)
        self._dirty = False
