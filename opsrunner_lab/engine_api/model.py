"""The engine API's entity kinds: URL segment, XML tags, action and link names of each.

Entities are *documents*: ordered dicts in the engine's own JSON shape (what it answers to
``Accept: application/json``), which the XML writer maps one to one onto the engine's XML:

- scalars are strings (``"true"``, ``"1073741824"``), except timestamps: epoch milliseconds (int);
- a reference is ``{"href": ..., "id": ...}`` (``href``, ``id`` and ``rel`` become attributes);
- a list is a dict holding one key, the singular tag: ``{"data_center": [{...}, ...]}``;
- keys starting with ``_`` are the simulator's own bookkeeping and are never rendered.

A *collection path* is the URL path below ``/ovirt-engine/api`` (``vms``, ``vms/<id>/nics``); its
*kind key* drops the ids (``vms/nics``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

API = "/ovirt-engine/api"
BLANK_TEMPLATE_ID = "00000000-0000-0000-0000-000000000000"

Document = dict[str, Any]


class Number(str):
    """A numeric value the engine writes as a JSON number (a statistic's ``datum``); in XML,
    and in the store, the string it is."""

    def as_number(self) -> int | float:
        """The value as a JSON number: an int when it has no fraction."""
        value = float(self)
        return int(value) if value.is_integer() and "." not in self else value


@dataclass(frozen=True)
class Kind:
    """One kind of entity.

    :param tag: the element of one entity (``disk_attachment``).
    :param plural: the element of a list of them, and their ``follow`` name (``disk_attachments``).
    :param actions: the ``<actions>`` links, in the engine's order.
    :param links: the ``<link rel=...>`` sub-resources, in the engine's order.
    """

    tag: str
    plural: str
    actions: tuple[str, ...] = ()
    links: tuple[str, ...] = ()


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_VM_ACTIONS = _words("detach export commitsnapshot clone reordermacaddresses logon maintenance "
                     "previewsnapshot ticket thawfilesystems undosnapshot freezefilesystems "
                     "cancelmigration reboot migrate shutdown start stop suspend")
_VM_LINKS = _words("applications cdroms diskattachments watchdogs graphicsconsoles hostdevices "
                   "nics numanodes sessions reporteddevices snapshots backups affinitylabels "
                   "katelloerrata permissions tags statistics")

KINDS: dict[str, Kind] = {
    "datacenters": Kind("data_center", "data_centers", (), _words(
        "quotas iscsibonds qoss clusters networks storagedomains permissions")),
    "datacenters/storagedomains": Kind("storage_domain", "storage_domains", _words(
        "activate deactivate")),
    "clusters": Kind("cluster", "clusters", _words("resetemulatedmachine upgrade syncallnetworks"),
                     _words("affinitygroups glusterhooks glustervolumes enabledfeatures "
                            "externalnetworkproviders cpuprofiles networkfilters networks "
                            "permissions")),
    "hosts": Kind("host", "hosts", _words(
        "refresh install activate deactivate upgrade unregisteredstoragedomainsdiscover "
        "upgradecheck syncallnetworks setupnetworks approve commitnetconfig enrollcertificate "
        "fence forceselectspm iscsidiscover iscsilogin"), _words(
        "fenceagents devices hooks nics numanodes storage networkattachments "
        "storageconnectionextensions unmanagednetworks externalnetworkproviderconfigurations "
        "affinitylabels katelloerrata permissions tags statistics")),
    "vms": Kind("vm", "vms", _VM_ACTIONS, _VM_LINKS),
    "vms/nics": Kind("nic", "nics", _words("activate deactivate"),
                     _words("networkfilterparameters reporteddevices statistics")),
    "vms/cdroms": Kind("cdrom", "cdroms"),
    "vms/diskattachments": Kind("disk_attachment", "disk_attachments"),
    "vms/snapshots": Kind("snapshot", "snapshots", ("restore",), _words("cdroms disks nics")),
    "templates": Kind("template", "templates", ("export",), _words(
        "cdroms diskattachments watchdogs graphicsconsoles nics permissions tags")),
    "templates/diskattachments": Kind("disk_attachment", "disk_attachments"),
    "templates/nics": Kind("nic", "nics"),
    "storagedomains": Kind("storage_domain", "storage_domains", _words(
        "isattached reduceluns updateovfstore refreshluns"), _words(
        "disks diskprofiles disksnapshots storageconnections permissions templates vms")),
    "storagedomains/disks": Kind("disk", "disks", _words(
        "reduce copy export move sparsify refreshlun"), ("permissions", "statistics")),
    "disks": Kind("disk", "disks", _words("reduce copy export move sparsify refreshlun"),
                  ("permissions", "disksnapshots", "statistics")),
    "imagetransfers": Kind("image_transfer", "image_transfers", _words(
        "cancel extend finalize pause resume")),
    "jobs": Kind("job", "jobs", ("clear", "end"), ("steps",)),
    "events": Kind("event", "events"),
    "users": Kind("user", "users", (), _words("groups permissions roles sshpublickeys tags")),
    "users/permissions": Kind("permission", "permissions"),
    "diskprofiles": Kind("disk_profile", "disk_profiles", (), ("permissions",)),
    "storagedomains/diskprofiles": Kind("disk_profile", "disk_profiles"),
    "networks": Kind("network", "networks", (), _words("permissions vnicprofiles networklabels")),
    "networks/vnicprofiles": Kind("vnic_profile", "vnic_profiles", (), ("permissions",)),
    "datacenters/networks": Kind("network", "networks"),
    "clusters/networks": Kind("network", "networks"),
    "vnicprofiles": Kind("vnic_profile", "vnic_profiles", (), ("permissions",)),
    "roles": Kind("role", "roles", (), ("permits",)),
    "roles/permits": Kind("permit", "permits"),
    "tags": Kind("tag", "tags"),
    "permissions": Kind("permission", "permissions"),
    "hosts/statistics": Kind("statistic", "statistics"),
    "vms/statistics": Kind("statistic", "statistics"),
    "vms/reporteddevices": Kind("reported_device", "reported_devices"),
    "vms/permissions": Kind("permission", "permissions"),
    "vms/snapshots/disks": Kind("disk", "disks"),
    "storagedomains/disksnapshots": Kind("disk_snapshot", "disk_snapshots"),
    "disks/disksnapshots": Kind("disk_snapshot", "disk_snapshots"),
}

# Collections of the API root's <link>s (each also gets a ``<name>/search`` link).
ROOT_COLLECTIONS = ("clusters", "datacenters", "diskprofiles", "disks", "events", "hosts",
                    "imagetransfers", "jobs", "networks", "permissions", "roles",
                    "storagedomains", "tags", "templates", "users", "vms", "vnicprofiles")
SEARCHABLE = frozenset({"clusters", "datacenters", "disks", "events", "hosts", "jobs",
                        "storagedomains", "templates", "users", "vms"})


def kind_key(collection: str) -> str:
    """``vms/<id>/nics`` -> ``vms/nics``: the collection path without its ids."""
    return "/".join(collection.split("/")[::2])


def href(collection: str, entity_id: str | None = None) -> str:
    """The API href of a collection, or of one entity in it."""
    path = f"{API}/{collection}"
    return path if entity_id is None else f"{path}/{entity_id}"


def ref(collection: str, entity_id: str, **fields: Any) -> Document:
    """A reference to an entity (``<cluster href=".." id=".."/>``), with optional fields."""
    return {**fields, "href": href(collection, entity_id), "id": entity_id}


def listing(tag: str, items: list[Any]) -> Document:
    """A list value: ``{"data_center": [..]}``."""
    return {tag: items}


def flag(value: bool) -> str:
    """A boolean as the engine writes it."""
    return "true" if value else "false"


def parse_href(value: str) -> tuple[str, str] | None:
    """``/ovirt-engine/api/vms/ID/nics/NID`` -> ``("vms/ID/nics", "NID")``; None if no entity."""
    if not value.startswith(API + "/"):
        return None
    segments = value[len(API) + 1:].split("/")
    if len(segments) < 2 or len(segments) % 2:
        return None
    return "/".join(segments[:-1]), segments[-1]
