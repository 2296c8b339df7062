"""Read access to collections by path: stored documents, the engine's derived views, and the
values the engine computes when it answers (a host's VM summary).

A document from a view may carry ``_collection``, the collection its href belongs to (a storage
domain's disks are ``/disks/{id}``, as on the engine).
"""

from __future__ import annotations

from opsrunner_lab.engine_api.faults import ApiFault, not_found
from opsrunner_lab.engine_api.model import KINDS, Document, Kind, kind_key, parse_href, ref
from opsrunner_lab.engine_api.store import Store
from opsrunner_lab.engine_api.views import VIEWS

RUNNING = frozenset({"up", "powering_up", "powering_down", "reboot_in_progress", "migrating",
                     "wait_for_launch", "paused"})
# The list element of sub-collections the simulator does not model (answered empty).
EMPTY_LIST_TAGS = {"fenceagents": "agents", "devices": "host_devices",
                   "hostdevices": "host_devices", "networkattachments": "network_attachments",
                   "storageconnectionextensions": "storage_connection_extensions",
                   "unmanagednetworks": "unmanaged_networks", "katelloerrata": "katello_errata",
                   "affinitylabels": "affinity_labels", "graphicsconsoles": "graphics_consoles",
                   "reporteddevices": "reported_devices", "diskprofiles": "disk_profiles",
                   "disksnapshots": "disk_snapshots", "affinitygroups": "affinity_groups",
                   "storageconnections": "storage_connections", "cpuprofiles": "cpu_profiles",
                   "networkfilters": "network_filters", "iscsibonds": "iscsi_bonds",
                   "glusterhooks": "gluster_hooks", "glustervolumes": "gluster_volumes",
                   "enabledfeatures": "cluster_features", "sshpublickeys": "ssh_public_keys",
                   "networklabels": "network_labels",
                   "externalnetworkproviders": "external_providers", "numanodes": "host_numa_nodes",
                   "externalnetworkproviderconfigurations":
                       "external_network_provider_configurations"}


class Catalog:
    """The read model over ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def kind(self, collection: str) -> Kind:
        """The kind of a collection path; an unmodelled link of an entity is an empty kind.

        A 404 fault for a path that is neither.
        """
        key = kind_key(collection)
        if key in KINDS:
            return KINDS[key]
        parent = self._parent(collection)
        if parent is not None:
            rel = collection.rsplit("/", 1)[1]
            tag = EMPTY_LIST_TAGS.get(rel, rel)
            return Kind(tag.rstrip("s"), tag)
        raise not_found()

    def require(self, collection: str) -> Kind:
        """The kind of an existing collection path (its owner exists); else a 404 fault."""
        if "/" in collection and self._parent(collection) is None:
            raise not_found()
        return self.kind(collection)

    def _parent(self, collection: str) -> Document | None:
        """The owning entity of a sub-collection if it exists and links to it."""
        segments = collection.split("/")
        if len(segments) < 3:
            return None
        owner_collection, owner_id, rel = "/".join(segments[:-2]), segments[-2], segments[-1]
        owner_kind = KINDS.get(kind_key(owner_collection))
        if owner_kind is None or rel not in owner_kind.links:
            return None
        if kind_key(owner_collection) in VIEWS:
            return self._from_view(owner_collection, owner_id)
        return self.store.get(owner_collection, owner_id)

    def _from_view(self, collection: str, entity_id: str) -> Document | None:
        try:
            return self.document(collection, entity_id)
        except ApiFault:
            return None

    def documents(self, collection: str) -> list[Document]:
        """The documents of a collection path (404 fault if the path does not exist)."""
        self.require(collection)
        key = kind_key(collection)
        segments = collection.split("/")
        if key == "datacenters/storagedomains":
            docs = [self._attached(doc, segments[1]) for doc in self.store.documents(
                "storagedomains") if doc.get("_dc_id") == segments[1]]
        elif key == "storagedomains/disks":
            docs = [{**doc, "_collection": "disks"} for doc in self.store.documents("disks")
                    if _on_domain(doc, segments[1])]
        elif key in VIEWS:
            docs = VIEWS[key](self.store, segments)
        elif key in KINDS:
            docs = self.store.documents(collection)
        else:
            docs = []
        return [self.computed(key, doc) for doc in docs]

    def document(self, collection: str, entity_id: str) -> Document:
        """One document of a collection path (404 fault if unknown)."""
        if (kind_key(collection) in KINDS and kind_key(collection) not in VIEWS
                and len(collection.split("/")) == 1):
            doc = self.store.get(collection, entity_id)
            if doc is None:
                raise not_found()
            return self.computed(collection, doc)
        for doc in self.documents(collection):
            if doc["id"] == entity_id:
                return doc
        raise not_found()

    def lookup(self, href: str) -> tuple[str, Document] | None:
        """The collection path and document an href points at, or None."""
        parsed = parse_href(href)
        if parsed is None:
            return None
        collection, entity_id = parsed
        if kind_key(collection) in VIEWS:
            found = self._from_view(collection, entity_id)
            return None if found is None else (collection, found)
        doc = self.store.get(collection, entity_id)
        return None if doc is None else (collection, self.computed(kind_key(collection), doc))

    def computed(self, key: str, doc: Document) -> Document:
        """``doc`` with the values the engine computes when answering."""
        if key == "hosts":
            vms = [vm for vm in self.store.documents("vms")
                   if vm.get("host", {}).get("id") == doc["id"]]
            active = sum(1 for vm in vms if vm.get("status") in RUNNING)
            migrating = sum(1 for vm in vms if vm.get("status") == "migrating")
            summary = {"active": str(active), "migrating": str(migrating), "total": str(len(vms))}
            doc = _insert_before(doc, "transparent_hugepages", "summary", summary)
        return doc

    def _attached(self, doc: Document, dc_id: str) -> Document:
        """A storage domain as its data center sees it: with status and data_center."""
        doc = _insert_before(doc, "storage", "status", doc.get("_dc_status", "unknown"))
        return _insert_before(doc, "data_centers", "data_center", ref("datacenters", dc_id))


def _on_domain(disk: Document, sd_id: str) -> bool:
    domains = disk.get("storage_domains", {}).get("storage_domain", [])
    return any(domain.get("id") == sd_id for domain in domains)


def _insert_before(doc: Document, anchor: str, key: str, value: object) -> Document:
    """A copy of ``doc`` with ``key`` set, placed before ``anchor`` (at the end if absent)."""
    out: Document = {}
    for name, existing in doc.items():
        if name == anchor:
            out[key] = value
        if name != key:
            out[name] = existing
    out.setdefault(key, value)
    return out
