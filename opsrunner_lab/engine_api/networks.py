"""The management network every data center has, ``ovirtmgmt``, as the engine answers it:
``/networks``, ``/datacenters/{id}/networks``, ``/clusters/{id}/networks`` and its vNIC profile
``ovirtmgmt`` (``/vnicprofiles``, ``/networks/{id}/vnicprofiles``).

These are views of the data centers and clusters (nothing is stored): each data center has one
``ovirtmgmt`` network (a VM network, MTU 0 = the default, no STP), attached to each of its
clusters with the roles engine-setup gives it there (management, display, migration, default
route; required). The data center ``Default`` (the one engine-setup creates) has the engine's
well-known id for it, ``00000000-0000-0000-0000-000000000009``; another data center's is derived
from its id. The vNIC profile has the network's name, no port mirroring, pass-through disabled,
and the engine's default filter ``vdsm-no-mac-spoofing``.

A data center's or cluster's copy of the network has no sub-collection links, as on the engine
(those services have none); the global one links permissions, vnicprofiles, networklabels.
"""

from __future__ import annotations

import uuid

from opsrunner_lab.engine_api.model import Document, listing, ref
from opsrunner_lab.engine_api.store import Store

MANAGEMENT = "ovirtmgmt"
DEFAULT_DC = "Default"
DEFAULT_NETWORK_ID = "00000000-0000-0000-0000-000000000009"
NO_MAC_SPOOFING_FILTER_ID = "d2370ab4-fee3-11e9-a310-8c1645ce738e"  # vdsm-no-mac-spoofing
CLUSTER_USAGES = ("vm", "display", "migration", "management", "default_route")
_NAMESPACE = uuid.UUID("6f707372-756e-6e65-722d-6e6574776f72")


def network_id(dc: Document) -> str:
    """The id of the ``ovirtmgmt`` network of data center ``dc``."""
    if dc.get("name") == DEFAULT_DC:
        return DEFAULT_NETWORK_ID
    return str(uuid.uuid5(_NAMESPACE, f"{dc['id']}/{MANAGEMENT}"))


def profile_id(net_id: str) -> str:
    """The id of the ``ovirtmgmt`` vNIC profile of network ``net_id``."""
    return str(uuid.uuid5(_NAMESPACE, f"{net_id}/vnicprofile/{MANAGEMENT}"))


def management_profile_id(store: Store, dc_id: str) -> str | None:
    """The id of data center ``dc_id``'s ``ovirtmgmt`` vNIC profile; None: no such DC."""
    dc = store.get("datacenters", dc_id)
    return None if dc is None else profile_id(network_id(dc))


def network(dc: Document) -> Document:
    """The global view of ``dc``'s ``ovirtmgmt`` network."""
    return {"id": network_id(dc), "name": MANAGEMENT, "description": "Management Network",
            "comment": "", "mtu": "0", "port_isolation": "false", "stp": "false",
            "usages": listing("usage", ["vm"]), "vdsm_name": MANAGEMENT,
            "data_center": ref("datacenters", str(dc["id"]))}


def cluster_network(dc: Document, cluster_id: str) -> Document:
    """``dc``'s ``ovirtmgmt`` network as cluster ``cluster_id`` has it."""
    doc = network(dc)
    doc.update({"display": "false", "required": "true",
                "usages": listing("usage", list(CLUSTER_USAGES)),
                "cluster": ref("clusters", cluster_id), "_links": []})
    return doc


def vnic_profile(dc: Document) -> Document:
    """The ``ovirtmgmt`` vNIC profile of ``dc``'s management network."""
    net_id = network_id(dc)
    return {"id": profile_id(net_id), "name": MANAGEMENT,
            "pass_through": {"mode": "disabled"}, "port_mirroring": "false",
            "network": ref("networks", net_id),
            "network_filter": ref("networkfilters", NO_MAC_SPOOFING_FILTER_ID)}


def networks_view(store: Store, segments: list[str]) -> list[Document]:
    """``/networks``: one management network per data center."""
    return [network(dc) for dc in store.documents("datacenters")]


def dc_networks_view(store: Store, segments: list[str]) -> list[Document]:
    """``/datacenters/{id}/networks``."""
    dc = store.get("datacenters", segments[1])
    return [] if dc is None else [{**network(dc), "_links": []}]


def cluster_networks_view(store: Store, segments: list[str]) -> list[Document]:
    """``/clusters/{id}/networks``: the networks of the cluster's data center."""
    cluster = store.get("clusters", segments[1])
    dc_id = (cluster or {}).get("data_center", {}).get("id")
    dc = store.get("datacenters", str(dc_id)) if dc_id else None
    return [] if dc is None else [cluster_network(dc, segments[1])]


def vnic_profiles_view(store: Store, segments: list[str]) -> list[Document]:
    """``/vnicprofiles``: every network's profiles."""
    return [vnic_profile(dc) for dc in store.documents("datacenters")]


def network_profiles_view(store: Store, segments: list[str]) -> list[Document]:
    """``/networks/{id}/vnicprofiles``: the profiles of one network."""
    return [profile for profile in vnic_profiles_view(store, segments)
            if profile["network"]["id"] == segments[1]]
