"""The collections the simulator derives from the estate: management network and its vNIC
profile per data center, disk profiles per data domain, roles, tags and permissions."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner_lab.engine_api.catalog import Catalog
from opsrunner_lab.engine_api.faults import ApiFault
from opsrunner_lab.engine_api.model import ref
from opsrunner_lab.engine_api.networks import (
    DEFAULT_NETWORK_ID,
    management_profile_id,
    network_id,
    profile_id,
)
from opsrunner_lab.engine_api.roles import SUPER_USER_ROLE_ID
from opsrunner_lab.engine_api.store import Store


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    store = Store(tmp_path / "state.json")
    store.put("datacenters", {"id": "dc1", "name": "Default"})
    store.put("datacenters", {"id": "dc2", "name": "Other"})
    store.put("clusters", {"id": "c1", "name": "Default", "data_center": ref("datacenters",
                                                                             "dc1")})
    store.put("storagedomains", {"id": "sd1", "name": "data", "type": "data"})
    store.put("storagedomains", {"id": "iso1", "name": "iso", "type": "iso"})
    store.put("users", {"id": "u1", "name": "admin", "_login": "admin@internal"})
    return Catalog(store)


def test_the_default_data_center_has_the_engines_well_known_network_id() -> None:
    assert network_id({"id": "dc1", "name": "Default"}) == DEFAULT_NETWORK_ID
    other = network_id({"id": "dc2", "name": "Other"})
    assert other != DEFAULT_NETWORK_ID and other == network_id({"id": "dc2", "name": "Other"})
    assert profile_id(DEFAULT_NETWORK_ID) != profile_id(other)


def test_each_data_center_has_ovirtmgmt_and_its_clusters_have_it_with_their_roles(
        catalog: Catalog) -> None:
    assert [n["data_center"]["id"] for n in catalog.documents("networks")] == ["dc1", "dc2"]
    in_cluster = catalog.documents("clusters/c1/networks")
    assert [(n["id"], n["cluster"]["id"], n["required"]) for n in in_cluster] == [
        (DEFAULT_NETWORK_ID, "c1", "true")]
    assert "management" in in_cluster[0]["usages"]["usage"]
    assert catalog.document("networks", DEFAULT_NETWORK_ID)["name"] == "ovirtmgmt"
    profile = management_profile_id(catalog.store, "dc1")
    assert [p["id"] for p in catalog.documents(
        f"networks/{DEFAULT_NETWORK_ID}/vnicprofiles")] == [profile]
    assert management_profile_id(catalog.store, "nope") is None
    found = catalog.lookup(f"/ovirt-engine/api/vnicprofiles/{profile}")
    assert found is not None and found[1]["network"]["id"] == DEFAULT_NETWORK_ID


def test_disk_profiles_are_those_of_data_domains_by_their_ids(catalog: Catalog) -> None:
    assert [(p["id"], p["name"]) for p in catalog.documents("diskprofiles")] == [
        ("sd1", "data")]
    assert catalog.documents("storagedomains/sd1/diskprofiles")[0]["name"] == "data"
    assert catalog.documents("storagedomains/iso1/diskprofiles") == []
    with pytest.raises(ApiFault) as missing:
        catalog.document("diskprofiles", "iso1")
    assert missing.value.status == 404


def test_roles_tags_and_the_admins_system_permission(catalog: Catalog) -> None:
    roles = {r["name"]: r for r in catalog.documents("roles")}
    assert roles["SuperUser"]["id"] == SUPER_USER_ROLE_ID
    assert roles["ClusterAdmin"]["administrative"] == "true"
    assert roles["UserRole"]["administrative"] == "false"
    assert len({r["id"] for r in roles.values()}) == len(roles)
    assert [t["name"] for t in catalog.documents("tags")] == ["root"]
    [permission] = catalog.documents("permissions")
    assert (permission["role"]["id"], permission["user"]["id"]) == (SUPER_USER_ROLE_ID, "u1")
    assert catalog.documents("users/u1/permissions") == [permission]
    permits = catalog.documents(f"roles/{SUPER_USER_ROLE_ID}/permits")
    assert (len(permits), permits[0]["id"], permits[0]["name"]) == (97, "1", "create_vm")
