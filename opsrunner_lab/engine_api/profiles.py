"""Disk profiles as the engine answers them: ``/diskprofiles`` and
``/storagedomains/{id}/diskprofiles``.

A view of the storage domains (nothing is stored): the engine gives every data domain one disk
profile named after it, with no QoS. The lab gives that profile the domain's own id, which is
what its disks' ``disk_profile`` references name.
"""

from __future__ import annotations

from opsrunner_lab.engine_api.model import Document, ref
from opsrunner_lab.engine_api.store import Store


def disk_profile(domain: Document) -> Document:
    """The disk profile of data domain ``domain``."""
    return {"id": domain["id"], "name": domain["name"],
            "storage_domain": ref("storagedomains", str(domain["id"]))}


def disk_profiles_view(store: Store, segments: list[str]) -> list[Document]:
    """``/diskprofiles``: one per data domain."""
    return [disk_profile(domain) for domain in store.documents("storagedomains")
            if domain.get("type") == "data"]


def domain_profiles_view(store: Store, segments: list[str]) -> list[Document]:
    """``/storagedomains/{id}/diskprofiles``: that domain's profile."""
    return [profile for profile in disk_profiles_view(store, segments)
            if profile["id"] == segments[1]]
