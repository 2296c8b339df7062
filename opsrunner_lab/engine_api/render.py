"""Documents as the API answers them: hrefs, ``<actions>``, ``<link>``s, and ``?follow=``.

``follow`` takes the engine's syntax: comma-separated names, dotted for depth
(``disk_attachments.disk,nics``). A name is either a linked sub-collection, by its list element
(``disk_attachments`` for the ``diskattachments`` link), whose entities are then embedded in
place of the link, or a reference field (``cluster``, ``host``, ``disk``), replaced by the
complete entity.
"""

from __future__ import annotations

from opsrunner_lab.engine_api.catalog import Catalog
from opsrunner_lab.engine_api.faults import bad_request
from opsrunner_lab.engine_api.model import KINDS, Document, href, kind_key

FollowTree = dict[str, "FollowTree"]
_HEAD = ("name", "description", "comment")


def parse_follow(text: str | None) -> FollowTree:
    """``"a.b,c"`` -> ``{"a": {"b": {}}, "c": {}}``."""
    tree: FollowTree = {}
    for path in (text or "").split(","):
        node = tree
        for name in (part.strip() for part in path.split(".")):
            if name:
                node = node.setdefault(name, {})
    return tree


class Renderer:
    """Renders documents of ``catalog`` (embedding followed entities)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def entity(self, collection: str, doc: Document, follow: FollowTree | None = None) -> Document:
        """One entity of ``collection`` as answered."""
        collection = str(doc.get("_collection", collection))
        kind = self.catalog.kind(collection)
        own = href(collection, str(doc["id"]))
        out: Document = {}
        if kind.actions:
            out["actions"] = {"link": [{"href": f"{own}/{name}", "rel": name}
                                       for name in kind.actions]}
        for key in _HEAD:
            if key in doc:
                out[key] = doc[key]
        embedded = {name: self._follow(collection, doc, name, below)
                    for name, below in (follow or {}).items()}
        links = [{"href": f"{own}/{rel}", "rel": rel} for rel in doc.get("_links", kind.links)
                 if self._follow_name(collection, rel) not in embedded]
        if links:
            out["link"] = links
        for key, value in doc.items():
            if key not in out and key != "id" and not key.startswith("_"):
                out[key] = embedded.pop(key, value)
        out.update(embedded)
        if not doc.get("_bare"):  # an entity the engine gives no href (a history statistic)
            out["href"] = own
        out["id"] = doc["id"]
        return out

    def listing(self, collection: str, docs: list[Document],
                follow: FollowTree | None = None) -> Document:
        """A list of entities: ``{tag: [...]}``, or ``{}`` when empty (as the engine's JSON)."""
        if not docs:
            return {}
        tag = self.catalog.kind(collection).tag
        return {tag: [self.entity(collection, doc, follow) for doc in docs]}

    def _follow_name(self, collection: str, rel: str) -> str:
        """The ``follow`` name of a link: its list element (``diskattachments`` -> ...)."""
        kind = KINDS.get(f"{kind_key(collection)}/{rel}")
        return kind.plural if kind is not None else rel

    def _follow(self, collection: str, doc: Document, name: str, below: FollowTree) -> Document:
        for rel in doc.get("_links", self.catalog.kind(collection).links):
            if self._follow_name(collection, rel) == name:
                child = f"{collection}/{doc['id']}/{rel}"
                return self.listing(child, self.catalog.documents(child), below)
        value = doc.get(name)
        if isinstance(value, dict) and isinstance(value.get("href"), str):
            found = self.catalog.lookup(value["href"])
            if found is not None:
                return self.entity(found[0], found[1], below)
            return value
        if isinstance(value, dict) and name.endswith("s"):
            return {tag: [self._follow_ref(item, below) for item in items]
                    for tag, items in value.items()}
        raise bad_request(f"Cannot follow '{name}': {kind_key(collection)} have no link or "
                          f"reference of that name")

    def _follow_ref(self, item: Document, below: FollowTree) -> Document:
        found = self.catalog.lookup(str(item.get("href", "")))
        return item if found is None else self.entity(found[0], found[1], below)
