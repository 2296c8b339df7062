"""``PUT /hosts/{id}``: name, comment, address and the host's cluster, with the engine's rules.

As on the engine (BackendHostResource, ChangeVDSClusterCommand, UpdateVdsCommand): a different
``<cluster>`` (by id or name) moves the host first, allowed only in ``maintenance`` (and
``pending_approval``); then the host's fields are updated. A name must not be empty nor another
host's (case-insensitive); the address may change only after a failed install. A
``<description>`` is ignored (the engine's host has none). Refusals, in the engine's order:
status for the cluster, unknown cluster id, empty name, taken name, address.

Events (AuditLogType codes): 43 USER_UPDATE_VDS, once for the cluster change and once for the
update, as the engine logs its two commands.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

from opsrunner_lab.engine_api.estate import ref_id
from opsrunner_lab.engine_api.faults import bad_request, conflict, not_found
from opsrunner_lab.engine_api.handlers import ApiContext, Handlers, Target
from opsrunner_lab.engine_api.model import Document, ref
from opsrunner_lab.engine_api.store import Store
from opsrunner_lab.engine_api.transitions import event_now, require, user_name
from opsrunner_lab.engine_api.xmlcodec import child_text

UPDATED_CODE = 43
CANNOT_EDIT = "Cannot edit Host."
NOT_IN_MAINTENANCE = (f"{CANNOT_EDIT} Host parameters cannot be modified while Host is "
                      "operational.\nPlease switch Host to Maintenance mode first.")
CLUSTER_INVALID = f"{CANNOT_EDIT} Cluster ID is not valid."
NAME_EMPTY = "Can not edit Host. The given name is empty."
NAME_TAKEN = (f"{CANNOT_EDIT} The Host name is already in use, please choose a unique name and "
              "try again.")
ADDRESS_FIXED = ("Host Address can not be modified due to Security restrictions.  In order to "
                 "change Host Address, Host has to be reinstalled")
# Statuses in which VdsStatic's clusterId is editable.
CLUSTER_EDITABLE = frozenset({"maintenance", "pending_approval"})


def target_cluster(store: Store, host: Document, body: ET.Element) -> str | None:
    """The id of the cluster ``body`` moves ``host`` to, or None when it does not move it.

    Faults: an unknown cluster name is a 404 (the API's lookup); a move out of maintenance, then
    an unknown cluster id, are the engine's 409 refusals.
    """
    element = body.find("cluster")
    if element is None:
        return None
    cluster_id, cluster_name = element.get("id") or child_text(element, "id"), \
        child_text(element, "name")
    if not cluster_id and cluster_name:
        found = next((c for c in store.documents("clusters") if c["name"] == cluster_name), None)
        if found is None:
            raise not_found()
        cluster_id = str(found["id"])
    if not cluster_id or cluster_id == ref_id(host, "cluster"):
        return None
    if host.get("status") not in CLUSTER_EDITABLE:
        raise conflict(NOT_IN_MAINTENANCE)
    if store.get("clusters", cluster_id) is None:
        raise conflict(CLUSTER_INVALID)
    return cluster_id


def field_changes(store: Store, host: Document, body: ET.Element) -> Document:
    """The changes of name, comment and address ``body`` asks for (faults as the engine)."""
    changes: Document = {key: text for key in ("name", "comment", "address")
                         if (text := child_text(body, key)) is not None}
    name = changes.get("name")
    if name is not None and name.lower() != str(host["name"]).lower():
        if not name:
            raise bad_request(NAME_EMPTY)
        if any(str(other["name"]).lower() == name.lower()
               for other in store.documents("hosts") if other["id"] != host["id"]):
            raise conflict(NAME_TAKEN)
    address = changes.get("address")
    if (address is not None and address != host.get("address")
            and host.get("status") != "install_failed"):
        raise conflict(ADDRESS_FIXED)
    return changes


def update_host(ctx: ApiContext, target: Target, body: ET.Element,
                query: Mapping[str, str]) -> Document:
    """``PUT /hosts/{id}``: the updated host (see the module doc)."""
    store = ctx.store
    with store.transaction():
        host = require(ctx, "hosts", target.entity_id)
        host_id = str(host["id"])
        cluster_id = target_cluster(store, host, body)
        changes = field_changes(store, host, body)
        about = {"host": host_id}
        if cluster_id is not None:
            store.update("hosts", host_id, {"cluster": ref("clusters", cluster_id)})
            event_now(ctx, UPDATED_CODE, f"Host {host['name']} configuration was updated by "
                                         f"{user_name(ctx)}.", about=about)
        updated = store.update("hosts", host_id, changes)
        event_now(ctx, UPDATED_CODE, f"Host {updated['name']} configuration was updated by "
                                     f"{user_name(ctx)}.", about=about)
        return updated


def register(handlers: Handlers) -> None:
    handlers.updaters["hosts"] = update_host
