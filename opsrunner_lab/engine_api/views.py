"""Collections the engine derives from others, answered from the documents they derive from
(nothing of them is stored), by kind key: each view is ``(store, path segments) -> documents``.
"""

from __future__ import annotations

from collections.abc import Callable

from opsrunner_lab.engine_api import (
    networks,
    profiles,
    reported,
    roles,
    snapshot_disks,
    statistics,
    vm_permissions,
)
from opsrunner_lab.engine_api.model import Document
from opsrunner_lab.engine_api.store import Store

View = Callable[[Store, list[str]], list[Document]]

VIEWS: dict[str, View] = {
    "diskprofiles": profiles.disk_profiles_view,
    "storagedomains/diskprofiles": profiles.domain_profiles_view,
    "networks": networks.networks_view,
    "networks/vnicprofiles": networks.network_profiles_view,
    "datacenters/networks": networks.dc_networks_view,
    "clusters/networks": networks.cluster_networks_view,
    "vnicprofiles": networks.vnic_profiles_view,
    "roles": roles.roles_view,
    "roles/permits": roles.permits_view,
    "tags": roles.tags_view,
    "permissions": roles.permissions_view,
    "users/permissions": roles.user_permissions_view,
    "hosts/statistics": statistics.host_statistics_view,
    "vms/statistics": statistics.vm_statistics_view,
    "vms/reporteddevices": reported.reported_devices_view,
    "vms/permissions": vm_permissions.vm_permissions_view,
    "vms/snapshots/disks": snapshot_disks.snapshot_disks_view,
    "storagedomains/disksnapshots": snapshot_disks.domain_disk_snapshots_view,
    "disks/disksnapshots": snapshot_disks.disk_disk_snapshots_view,
}
