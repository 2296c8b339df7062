"""The engine API simulator as real clients see it, through the real ovirtsdk4: empty strings,
the collections disks, NICs and permissions link to (disk profiles, networks, vNIC profiles,
roles, tags, permissions), statistics and reported devices. In-process on 127.0.131.x."""

from __future__ import annotations

import base64
from pathlib import Path

import ovirtsdk4 as sdk
import pytest
from engine_api_lab import ApiLab

from opsrunner_lab.layout import LabLayout

PREFIX = "127.0.131."


@pytest.fixture
def layout(tmp_path: Path) -> LabLayout:
    return LabLayout(tmp_path / "lab", kvm_hosts=2, address_prefix=PREFIX)


def test_empty_strings_read_back_as_empty_strings_not_none(api: ApiLab,
                                                           system: sdk.services.SystemService
                                                           ) -> None:
    host = system.hosts_service().list()[0]
    assert host.os.custom_kernel_cmdline == ""
    assert host.comment == ""
    assert host.hardware_information.family == ""
    assert host.os.custom_kernel_cmdline.split() == []  # what ovirt.ovirt's ovirt_host does
    vm = system.vms_service().list()[0]
    assert (vm.description, vm.comment) == ("", "")
    body = api.request("GET", f"/ovirt-engine/api/hosts/{host.id}", headers={
        "Authorization": "Basic " + _basic(api)}).body.decode()
    assert "<custom_kernel_cmdline></custom_kernel_cmdline>" in body
    assert f'<cluster href="/ovirt-engine/api/clusters/{host.cluster.id}" ' in body
    assert "<custom_kernel_cmdline />" not in body


def _basic(api: ApiLab) -> str:
    return base64.b64encode(f"admin@internal:{api.password}".encode()).decode()
