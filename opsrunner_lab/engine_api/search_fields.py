"""The searchable fields of each collection, by their engine names, and the related entities a
cross-entity field (``Storage.name=``, ``cluster=``) reaches.

A field is a document path (``cpu.architecture``) or ``@object``: the name of the related
entities of that object (``cluster`` on hosts is ``@clusters``, the same as ``Clusters.name``).
Objects are named as the engine's search objects are (``Vms``, ``Hosts``, ``Storage`` ...), in
any case, singular or plural. A document key of the entity is searchable too (``code``).
"""

from __future__ import annotations

from opsrunner_lab.engine_api.catalog import Catalog
from opsrunner_lab.engine_api.model import Document

OBJECTS = {"vm": "vms", "vms": "vms", "host": "hosts", "hosts": "hosts", "vds": "hosts",
           "cluster": "clusters", "clusters": "clusters", "datacenter": "datacenters",
           "datacenters": "datacenters", "data_center": "datacenters", "template": "templates",
           "templates": "templates", "storage": "storagedomains",
           "storagedomain": "storagedomains", "storagedomains": "storagedomains",
           "disk": "disks", "disks": "disks", "event": "events", "events": "events",
           "user": "users", "users": "users"}
_COMMON = {"name": "name", "description": "description", "comment": "comment", "id": "id",
           "status": "status"}
FIELDS: dict[str, dict[str, str]] = {
    "vms": {**_COMMON, "host": "@hosts", "cluster": "@clusters", "datacenter": "@datacenters",
            "template": "@templates", "storage": "@storagedomains", "os": "os.type",
            "type": "type", "memory": "memory", "fqdn": "fqdn", "creationdate": "creation_time",
            "architecture": "cpu.architecture", "uptime": "start_time"},
    "hosts": {**_COMMON, "cluster": "@clusters", "datacenter": "@datacenters",
              "address": "address", "type": "type", "memory": "memory",
              "active_vms": "summary.active", "migrating_vms": "summary.migrating",
              "external_status": "external_status", "hw_id": "hardware_information.uuid"},
    "templates": {**_COMMON, "cluster": "@clusters", "datacenter": "@datacenters",
                  "storage": "@storagedomains", "os": "os.type", "mem": "memory",
                  "creationdate": "creation_time", "architecture": "cpu.architecture",
                  "version": "version.version_name"},
    "disks": {**_COMMON, "alias": "alias", "storage": "@storagedomains",
              "datacenter": "@datacenters", "provisioned_size": "provisioned_size",
              "size": "provisioned_size", "actual_size": "actual_size", "format": "format",
              "shareable": "shareable", "content_type": "content_type",
              "disk_type": "storage_type", "wipe_after_delete": "wipe_after_delete",
              "vm_names": "@vms"},
    "datacenters": {**_COMMON, "type": "local", "storage": "@storagedomains",
                    "compatibility_version": "version.major"},
    "clusters": {**_COMMON, "datacenter": "@datacenters",
                 "architecture": "cpu.architecture"},
    "storagedomains": {**_COMMON, "datacenter": "@datacenters", "type": "type",
                       "size": "available", "used": "used", "committed": "committed",
                       "external_status": "external_status"},
    "events": {"id": "index", "type": "code", "severity": "severity", "message": "description",
               "time": "time", "origin": "origin", "custom_event_id": "custom_id",
               "correlation_id": "correlation_id", "usrname": "@users", "user": "@users",
               "event_host": "@hosts", "host": "@hosts", "event_vm": "@vms", "vm": "@vms",
               "event_template": "@templates", "template": "@templates",
               "event_storage": "@storagedomains", "storage": "@storagedomains",
               "event_datacenter": "@datacenters", "datacenter": "@datacenters",
               "event_cluster": "@clusters", "cluster": "@clusters"},
    "users": {"name": "name", "lastname": "last_name", "usrname": "user_name",
              "department": "department", "id": "id", "directory": "domain.name"},
}
# Document keys of a reference to each collection's entities (singular, then list form).
_REF_KEYS = {"vms": "vm", "hosts": "host", "clusters": "cluster", "datacenters": "data_center",
             "templates": "template", "storagedomains": "storage_domain", "disks": "disk",
             "users": "user"}
# Relations of more than one hop: the collections passed through.
_PATHS = {("vms", "datacenters"): ("clusters",), ("hosts", "datacenters"): ("clusters",),
          ("templates", "datacenters"): ("clusters",), ("datacenters", "hosts"): ("clusters",),
          ("datacenters", "vms"): ("clusters",), ("datacenters", "templates"): ("clusters",),
          ("vms", "storagedomains"): ("disks",), ("templates", "storagedomains"): ("disks",),
          ("disks", "datacenters"): ("storagedomains",),
          ("storagedomains", "vms"): ("disks",), ("hosts", "storagedomains"): (
              "clusters", "datacenters")}
_WITH_DISKS = ("vms", "templates")


def entity_collection(collection_key: str) -> str:
    """The top-level collection of a listed collection's entities (``storagedomains/disks`` ->
    ``disks``)."""
    last = collection_key.rsplit("/", 1)[-1]
    return last if last in FIELDS else collection_key


class Relations:
    """Related entities over ``catalog``'s estate."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._all: dict[str, list[Document]] = {}

    def documents(self, collection: str) -> list[Document]:
        if collection not in self._all:
            try:
                self._all[collection] = self.catalog.documents(collection)
            except Exception:  # a collection the lab does not serve has no entities
                self._all[collection] = []
        return self._all[collection]

    def name_of(self, reference: Document) -> str | None:
        """The name of the entity ``reference`` points at (else the name it carries)."""
        found = self.catalog.lookup(str(reference.get("href", "")))
        doc = found[1] if found is not None else reference
        name = doc.get("name", doc.get("user_name"))
        return None if name is None else str(name)

    def related(self, doc: Document, source: str, target: str) -> list[Document]:
        """The ``target`` entities related to ``doc`` (an entity of ``source``)."""
        docs = [doc]
        current = source
        for step in (*_PATHS.get((source, target), ()), target):
            docs = [found for one in docs for found in self._hop(one, current, step)]
            current = step
        unique: dict[str, Document] = {str(found.get("id")): found for found in docs}
        return list(unique.values())

    def _hop(self, doc: Document, source: str, target: str) -> list[Document]:
        ids = self._ids(doc, source, target)
        if ids:
            return [found for found in self.documents(target) if found.get("id") in ids]
        return [found for found in self.documents(target)
                if doc.get("id") in self._ids(found, target, source)]

    def _ids(self, doc: Document, source: str, target: str) -> set[object]:
        """Ids of ``target`` entities ``doc`` refers to itself."""
        key = _REF_KEYS.get(target, "")
        ids: set[object] = set()
        single = doc.get(key)
        if isinstance(single, dict) and "id" in single:
            ids.add(single["id"])
        plural = doc.get(f"{key}s")
        if isinstance(plural, dict) and isinstance(plural.get(key), list):
            ids.update(item.get("id") for item in plural[key] if isinstance(item, dict))
        if source == "storagedomains" and target == "datacenters" and doc.get("_dc_id"):
            ids.add(doc["_dc_id"])
        if source in _WITH_DISKS and target == "disks":
            for attachment in self.documents(f"{source}/{doc.get('id')}/diskattachments"):
                ids.add(attachment.get("disk", {}).get("id"))
            self._all.pop(f"{source}/{doc.get('id')}/diskattachments", None)
        return ids
