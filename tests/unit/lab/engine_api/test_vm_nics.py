"""The simulator's VM NIC helpers: which MACs the engine refuses, allocation from the lab's pool,
and the NIC a template takes from its VM."""

from __future__ import annotations

import re

import pytest

from opsrunner_lab.engine_api.model import ref
from opsrunner_lab.engine_api.shapes_devices import nic
from opsrunner_lab.engine_api.vm_nics import (
    BAD_MAC,
    MULTICAST_MAC,
    allocate_mac,
    mac_problem,
    template_nic,
)

POOL_MAC = re.compile(r"^56:6f(:[0-9a-f]{2}){4}$")


@pytest.mark.parametrize("address", ["56:6f:1a:2b:3c:4d", "56:6F:1A:2B:3C:4D", "02:00:00:00:00:00"])
def test_unicast_macs_in_either_case_are_taken(address: str) -> None:
    assert mac_problem(address) is None


@pytest.mark.parametrize("address", ["56:6f:1a:2b:3c", "56-6f-1a-2b-3c-4d", "56:6f:1a:2b:3c:4g",
                                     "00:00:00:00:00:00", "", " 56:6f:1a:2b:3c:4d"])
def test_malformed_or_null_macs_are_refused_with_the_engine_message(address: str) -> None:
    assert mac_problem(address) == BAD_MAC
    assert BAD_MAC.startswith('MAC address must be in format "HH:HH:HH:HH:HH:HH"')


@pytest.mark.parametrize("address", ["01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "57:6f:00:00:00:01"])
def test_multicast_macs_are_refused(address: str) -> None:
    assert mac_problem(address) == MULTICAST_MAC


def test_allocation_is_from_the_pool_stable_and_skips_used_addresses() -> None:
    first = allocate_mac(set(), "ol8-vm1/nic2")
    assert POOL_MAC.match(first) and mac_problem(first) is None
    assert allocate_mac(set(), "ol8-vm1/nic2") == first
    second = allocate_mac({first}, "ol8-vm1/nic2")
    assert second != first and POOL_MAC.match(second)
    assert allocate_mac({first, second}, "ol8-vm1/nic2") not in {first, second}


def test_a_template_nic_keeps_the_device_but_not_the_mac_nor_the_vm() -> None:
    vm_nic = nic("n1", "nic1", "vm1", "56:6f:00:00:00:01", "profile1")
    vm_nic["plugged"] = "false"
    copied = template_nic(vm_nic, "t-n1", "tpl1")
    assert copied == {"id": "t-n1", "name": "nic1", "interface": "virtio", "linked": "true",
                      "plugged": "false", "template": ref("templates", "tpl1"),
                      "vnic_profile": ref("vnicprofiles", "profile1")}
    assert "mac" in vm_nic  # the VM's NIC is left as it was


def test_a_nic_on_no_network_gives_a_template_nic_on_no_network() -> None:
    vm_nic = nic("n2", "nic2", "vm1", "56:6f:00:00:00:02", "p")
    del vm_nic["vnic_profile"]
    assert "vnic_profile" not in template_nic(vm_nic, "t-n2", "tpl1")
