"""Roles' permits (``/roles/{id}/permits``) through the real ovirtsdk4: each predefined role's
action groups as a fresh engine has them, by the engine's ids and names, ``administrative`` for
an administrator's group, each with its role. Simulator on 127.0.137.x."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
import pytest
from engine_actions_lab import quick_layout
from engine_api_lab import ApiLab, running_api

PREFIX = "127.0.137."
SUPER_USER = "00000000-0000-0000-0000-000000000001"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiLab]:
    with running_api(quick_layout(tmp_path / "lab", PREFIX)) as lab:
        yield lab


def _permits(system: sdk.services.SystemService, name: str) -> list[types.Permit]:
    roles = system.roles_service()
    role = next(r for r in roles.list() if r.name == name)
    return list(roles.role_service(role.id).permits_service().list())


def test_the_super_user_has_every_action_group_with_the_engine_ids_and_names(
        system: sdk.services.SystemService) -> None:
    permits = _permits(system, "SuperUser")
    by_id = {p.id: p for p in permits}
    assert len(permits) == 97
    assert (by_id["1"].name, by_id["1"].administrative) == ("create_vm", False)
    assert (by_id["800"].name, by_id["800"].administrative) == ("configure_engine", True)
    assert (by_id["1110"].name, by_id["23"].name) == ("backup_disk", "reset_vm")
    assert {p.role.id for p in permits} == {SUPER_USER}
    assert by_id["1"].href == f"/ovirt-engine/api/roles/{SUPER_USER}/permits/1"
    one = system.roles_service().role_service(SUPER_USER).permits_service().permit_service(
        "12").get()
    assert one.name == "manipulate_vm_snapshots"


def test_a_user_role_has_only_the_user_groups_it_is_given(
        system: sdk.services.SystemService) -> None:
    assert {p.name for p in _permits(system, "UserRole")} == {
        "change_vm_cd", "connect_to_vm", "reboot_vm", "stop_vm", "shut_down_vm",
        "hibernate_vm", "run_vm", "reset_vm", "vm_pool_basic_operations",
        "access_image_storage", "login"}
    assert {p.administrative for p in _permits(system, "UserRole")} == {False}
    assert [p.name for p in _permits(system, "ReadOnlyAdmin")] == ["login"]


def test_every_predefined_role_has_permits_and_an_unknown_role_is_404(
        system: sdk.services.SystemService) -> None:
    roles = system.roles_service()
    for role in roles.list():
        assert roles.role_service(role.id).permits_service().list(), role.name
    with pytest.raises(sdk.NotFoundError):
        roles.role_service("5e1f0a2b-0000-4000-8000-00000000dead").permits_service().list()
