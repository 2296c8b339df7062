"""Roles, tags and permissions as a fresh engine has them: ``/roles`` (the built-in roles, by
their well-known ids, names and descriptions), ``/tags`` (the ``root`` tag), ``/permissions``
(the system's: ``admin@internal`` is SuperUser) and ``/users/{id}/permissions``.

Views (nothing is stored). A role is ``administrative`` when it is an administrator role, and
none of the built-in ones is ``mutable``. ``/roles/{id}/permits`` are its action groups
(:mod:`.role_permits`), each by the group's id and lower-case name, ``administrative`` for an
administrator's group, with its ``<role>``.
"""

from __future__ import annotations

import uuid

from opsrunner_lab.engine_api.model import Document, flag, ref
from opsrunner_lab.engine_api.role_permits import ACTION_GROUPS, ROLE_GROUPS
from opsrunner_lab.engine_api.store import Store

SUPER_USER_ROLE_ID = "00000000-0000-0000-0000-000000000001"
ROOT_TAG_ID = "00000000-0000-0000-0000-000000000000"
ADMIN_LOGIN = "admin@internal"
_NAMESPACE = uuid.UUID("6f707372-756e-6e65-722d-7065726d6974")

# (id, name, description, administrative) of the engine's predefined roles.
BUILTIN_ROLES: tuple[tuple[str, str, str, bool], ...] = (
    (SUPER_USER_ROLE_ID, "SuperUser", "Roles management administrator", True),
    ("00000000-0000-0000-0001-000000000001", "UserRole", "Standard User Role", False),
    ("00000000-0000-0000-0001-000000000002", "PowerUserRole",
     "User Role, allowed to create VMs, Templates and Disks", False),
    ("def00001-0000-0000-0000-def000000001", "ClusterAdmin",
     "Administrator Role, permission for all the objects underneath a specific Cluster", True),
    ("def00002-0000-0000-0000-def000000002", "DataCenterAdmin",
     "Administrator Role, permission for all the objects underneath a specific Data Center, "
     "except Storage", True),
    ("def00003-0000-0000-0000-def000000003", "StorageAdmin",
     "Administrator Role, permission for all operations on a specific Storage Domain", True),
    ("def00004-0000-0000-0000-def000000004", "HostAdmin",
     "Administrator Role, permission for all operations on a specific Host", True),
    ("def00005-0000-0000-0000-def000000005", "NetworkAdmin",
     "Administrator Role, permission for all operations on a specific Logical Network", True),
    ("def00006-0000-0000-0000-def000000006", "UserVmManager",
     "User Role, with permission for any operation on Vms", False),
    ("def00007-0000-0000-0000-def000000007", "VmPoolAdmin",
     "Administrator Role, permission for all operations on a specific VM Pool", True),
    ("def00008-0000-0000-0000-def000000008", "TemplateAdmin",
     "Administrator Role, permission for all operations on a specific Template", True),
    ("def00009-0000-0000-0000-def000000009", "UserTemplateBasedVm", "Template User", False),
    ("def0000a-0000-0000-0000-def00000000a", "QuotaConsumer",
     "User Role, permissions to consume the Quota resources", False),
    ("def0000a-0000-0000-0000-def00000000b", "DiskOperator",
     "User Role, permissions for all operations on a specific disk", False),
    ("def0000a-0000-0000-0000-def00000000c", "DiskCreator",
     "User Role, permission to create Disks", False),
    ("def0000a-0000-0000-0000-def00000000d", "VmCreator",
     "User Role, permission to create VMs", False),
    ("def0000a-0000-0000-0000-def00000000e", "TemplateCreator",
     "User Role, permission to create Templates", False),
    ("def0000a-0000-0000-0000-def00000000f", "TemplateOwner",
     "User Role, permissions for all operations on Templates", False),
    ("def0000a-0000-0000-0000-def000000010", "VnicProfileUser",
     "VM Network Interface Profile User", False),
    ("def0000b-0000-0000-0000-def00000000b", "GlusterAdmin",
     "Administrator Role, permissions for operations on Gluster objects", True),
    ("def0000c-0000-0000-0000-def000000000", "ExternalEventsCreator",
     "External Events Creator", False),
    ("def0000c-0000-0000-0000-def00000000c", "ReadOnlyAdmin", "Read Only Administrator Role",
     True),
    ("def0000d-0000-0000-0000-def000000000", "ExternalTasksCreator", "External Tasks Creator",
     False),
    ("def00011-0000-0000-0000-def000000011", "InstanceCreator",
     "User Role, permission to create Instances", False),
    ("def00012-0000-0000-0000-def000000012", "UserInstanceManager",
     "User Role, with permission for any operation on Instances", False),
    ("def00011-0000-0000-0000-def000000013", "TagManager", "Tag Manager", True),
    ("def00011-0000-0000-0000-def000000014", "BookmarkManager", "Bookmark Manager", True),
    ("def00011-0000-0000-0000-def000000015", "EventNotificationManager",
     "Event Notification Manager", True),
    ("def00011-0000-0000-0000-def000000016", "AuditLogManager", "Audit Log Manager", True),
    ("def00013-0000-0000-0000-def000000013", "MacPoolAdmin",
     "MAC Pool Administrator Role, permission for manipulation with MAC pools", True),
    ("def00014-0000-0000-0000-def000000014", "MacPoolUser",
     "MAC Pool User Role, permission allowing using MAC pools", False),
    ("def00020-0000-0000-0000-abc000000010", "DiskProfileUser", "Disk Profile User", False),
    ("def00006-0000-0000-0000-def000000011", "UserVmRunTimeManager",
     "User Role, with permissions for any operations on VMs except snapshot manipulation", False),
    ("def00021-0000-0000-0000-def000000015", "UserProfileEditor",
     "Role that allow users to edit the UserProfile", False),
    ("def00030-0000-0000-0000-def000000011", "VmImporterExporter",
     "Administrator Role, with permission to import or export Vms", True),
    ("def00017-0000-0000-0000-def000000017", "CpuProfileOperator", "Cpu Profile Operation",
     False),
    ("def00016-0000-0000-0000-def000000016", "CpuProfileCreator",
     "Cpu Profile Creation/Deletion/Updating and Operation", True),
)


def roles_view(store: Store, segments: list[str]) -> list[Document]:
    """``/roles``: the built-in roles."""
    return [{"id": role_id, "name": name, "description": description,
             "administrative": flag(admin), "mutable": "false"}
            for role_id, name, description, admin in BUILTIN_ROLES]


def permits_view(store: Store, segments: list[str]) -> list[Document]:
    """``/roles/{id}/permits``: the role's action groups, by id."""
    role = ref("roles", segments[1])
    return [{"id": str(group), "name": ACTION_GROUPS[group][0],
             "administrative": flag(ACTION_GROUPS[group][1]), "role": role}
            for group in ROLE_GROUPS.get(segments[1], ())]


def tags_view(store: Store, segments: list[str]) -> list[Document]:
    """``/tags``: the ``root`` tag every engine has."""
    return [{"id": ROOT_TAG_ID, "name": "root", "description": "root"}]


def _admin(store: Store) -> Document | None:
    return next((u for u in store.documents("users") if u.get("_login") == ADMIN_LOGIN), None)


def admin_permission(user_id: str) -> Document:
    """``admin@internal``'s SuperUser permission on the system."""
    return {"id": str(uuid.uuid5(_NAMESPACE, f"{user_id}/{SUPER_USER_ROLE_ID}")),
            "role": ref("roles", SUPER_USER_ROLE_ID), "user": ref("users", user_id)}


def permissions_view(store: Store, segments: list[str]) -> list[Document]:
    """``/permissions``: the system's permissions."""
    admin = _admin(store)
    return [] if admin is None else [admin_permission(str(admin["id"]))]


def user_permissions_view(store: Store, segments: list[str]) -> list[Document]:
    """``/users/{id}/permissions``: the system permissions given to that user."""
    return [permission for permission in permissions_view(store, segments)
            if permission["user"]["id"] == segments[1]]
