"""The REST verbs on ``/ovirt-engine/api/...``: GET of any collection or entity (with ``search``
and ``case_sensitive``, ``max``, ``follow``, and ``from`` on events), and the writes registered
in :class:`~opsrunner_lab.engine_api.handlers.Handlers` (add, update, remove, actions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from opsrunner_lab.engine_api.catalog import Catalog
from opsrunner_lab.engine_api.faults import ApiFault, bad_request
from opsrunner_lab.engine_api.handlers import ApiContext, Handlers, Target
from opsrunner_lab.engine_api.model import KINDS, Document, kind_key
from opsrunner_lab.engine_api.render import Renderer, parse_follow
from opsrunner_lab.engine_api.root import api_root
from opsrunner_lab.engine_api.search import Search
from opsrunner_lab.engine_api.search_fields import Relations
from opsrunner_lab.engine_api.snapshot_disks import listed
from opsrunner_lab.engine_api.xmlcodec import parse_body


@dataclass
class Reply:
    """An API answer: ``doc`` as root element ``tag``; no body when ``tag`` is None."""

    status: int
    tag: str | None
    doc: Document


def _not_implemented(method: str, path: str) -> ApiFault:
    return ApiFault(405, f"[The lab's engine simulator does not implement {method} {path}]",
                    reason="Method Not Allowed")


class Resources:
    """Answers API requests from ``catalog``'s store, writing through ``handlers``."""

    def __init__(self, catalog: Catalog, handlers: Handlers) -> None:
        self.catalog = catalog
        self.handlers = handlers
        self.renderer = Renderer(catalog)

    def handle(self, ctx: ApiContext, method: str, segments: list[str],
               query: Mapping[str, str], body: bytes, content_type: str | None) -> Reply:
        """One request to the API path ``segments`` (below ``/ovirt-engine/api``)."""
        path = "/".join(segments)
        if not segments:
            if method != "GET":
                raise _not_implemented(method, "/ovirt-engine/api")
            return Reply(200, "api", api_root(self.catalog.store, ctx.user))
        action = self._action(segments) if method == "POST" else None
        if action is not None:
            return self._act(ctx, action, segments[-1], body, content_type, query)
        if len(segments) % 2:
            if method == "GET":
                return self._list(path, query)
            kind = self.catalog.require(path)
            adder = self.handlers.adders.get(kind_key(path))
            if method != "POST" or adder is None:
                raise _not_implemented(method, path)
            doc = adder(ctx, path, parse_body(body, content_type), query)
            return Reply(201, kind.tag, self.renderer.entity(path, doc))
        target = Target("/".join(segments[:-1]), segments[-1])
        doc = self.catalog.document(target.collection, target.entity_id)
        key = kind_key(target.collection)
        if method == "GET":
            follow = parse_follow(query.get("follow"))
            viewer = self.handlers.viewers.get(key)
            if viewer is not None:
                doc = viewer(doc, query)
            return Reply(200, self.catalog.kind(target.collection).tag,
                         self.renderer.entity(target.collection, doc, follow))
        if method == "PUT" and key in self.handlers.updaters:
            updated = self.handlers.updaters[key](ctx, target, parse_body(body, content_type),
                                                  query)
            return Reply(200, self.catalog.kind(target.collection).tag,
                         self.renderer.entity(target.collection, updated))
        if method == "DELETE" and key in self.handlers.removers:
            self.handlers.removers[key](ctx, target, query)
            return Reply(200, None, {})
        raise _not_implemented(method, path)

    def _action(self, segments: list[str]) -> Target | None:
        """The entity an action path (``vms/ID/start``) addresses, or None."""
        if len(segments) < 3 or len(segments) % 2 == 0:
            return None
        owner = "/".join(segments[:-2])
        kind = KINDS.get(kind_key(owner))
        if kind is None or segments[-1] not in kind.actions:
            return None
        return Target(owner, segments[-2])

    def _act(self, ctx: ApiContext, target: Target, name: str, body: bytes,
             content_type: str | None, query: Mapping[str, str]) -> Reply:
        self.catalog.document(target.collection, target.entity_id)
        handler = self.handlers.actions.get((kind_key(target.collection), name))
        if handler is None:
            raise _not_implemented("POST", f"{target.collection}/{target.entity_id}/{name}")
        try:
            extra = handler(ctx, target, parse_body(body, content_type), query)
        except ApiFault as fault:
            if fault.empty:
                raise
            return Reply(fault.status, "action", fault.action_document())
        return Reply(200, "action", {**extra, "status": "complete"})

    def _list(self, collection: str, query: Mapping[str, str]) -> Reply:
        kind = self.catalog.kind(collection)
        docs = self.catalog.documents(collection)
        key = kind_key(collection)
        if key == "events":
            docs.sort(key=lambda doc: int(doc["index"]), reverse=True)
            if "from" in query:
                start = _number(query, "from")
                docs = [doc for doc in docs if int(doc["index"]) > start]
        if key.endswith("/disksnapshots"):
            docs = listed(docs, query)
        if query.get("search"):
            search = Search(query["search"],
                            query.get("case_sensitive", "false").lower() == "true", key)
            docs = search.select(docs, key, Relations(self.catalog),
                                 _number(query, "max") if "max" in query else -1)
        if "max" in query and _number(query, "max") >= 0:
            docs = docs[:_number(query, "max")]
        follow = parse_follow(query.get("follow"))
        return Reply(200, kind.plural, self.renderer.listing(collection, docs, follow))

    def _name_of(self, reference: Document) -> str | None:
        found = self.catalog.lookup(str(reference.get("href", "")))
        if found is None:
            return None
        doc = found[1]
        return str(doc.get("name", doc.get("user_name", ""))) or None


def _number(query: Mapping[str, str], name: str) -> int:
    try:
        return int(query[name])
    except ValueError:
        raise bad_request(f"The value '{query[name]}' of parameter '{name}' is not an "
                          "integer") from None
