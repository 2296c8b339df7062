"""``GET /ovirt-engine/api``: links, product info, special objects, summary, time, user."""

from __future__ import annotations

from opsrunner_lab.engine_api.catalog import RUNNING
from opsrunner_lab.engine_api.model import (
    API,
    BLANK_TEMPLATE_ID,
    ROOT_COLLECTIONS,
    SEARCHABLE,
    Document,
    ref,
)
from opsrunner_lab.engine_api.store import Store

PRODUCT_NAME = "Oracle Linux Virtualization Manager"
PRODUCT_VERSION = {"build": "5", "full_version": "4.5.5-1.73.el9", "major": "4", "minor": "5",
                   "revision": "0"}
SYSTEM = "_system"  # the simulator's own records (not an API collection)


def _count(active: int, total: int) -> Document:
    return {"active": str(active), "total": str(total)}


def api_root(store: Store, user: Document) -> Document:
    """The API root document for ``user`` (the authenticated and effective user)."""
    links = []
    for name in ROOT_COLLECTIONS:
        links.append({"href": f"{API}/{name}", "rel": name})
        if name in SEARCHABLE:
            links.append({"href": f"{API}/{name}?search={{query}}", "rel": f"{name}/search"})
    hosts, vms = store.documents("hosts"), store.documents("vms")
    domains, users = store.documents("storagedomains"), store.documents("users")
    summary = {
        "hosts": _count(sum(1 for h in hosts if h.get("status") == "up"), len(hosts)),
        "storage_domains": _count(sum(1 for d in domains if d.get("_dc_status") == "active"),
                                  len(domains)),
        "users": _count(len(users), len(users)),
        "vms": _count(sum(1 for v in vms if v.get("status") in RUNNING), len(vms)),
    }
    user_ref = ref("users", str(user["id"]))
    engine = store.get(SYSTEM, "engine") or {}
    return {
        "link": links,
        "product_info": {"instance_id": engine.get("instance_id", ""), "name": PRODUCT_NAME,
                         "version": dict(PRODUCT_VERSION)},
        "special_objects": {"blank_template": ref("templates", BLANK_TEMPLATE_ID),
                            "root_tag": ref("tags", BLANK_TEMPLATE_ID)},
        "summary": summary,
        "time": store.now_ms(),
        "authenticated_user": user_ref,
        "effective_user": dict(user_ref),
    }
