"""Controls of each guest (a VM reachable over SSH), read in the guest with testinfra.

A guest's VM is first looked up in the engine (its inventory ``vm_name``, else the host name):
a VM that is not running has no SSH to answer, so its controls are skipped with the VM's
status as the reason, not reported as errors. A sealed VM is powered off, as the OLVM
Administration Guide's "Sealing a Virtual Machine for a Template" leaves it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

Evidence = Callable[[str, object], None]

UNCONFIGURED = "/.unconfigured"
RUNNING = frozenset({"up", "powering_up", "reboot_in_progress", "migrating", "paused"})


def _vm_name(hostvars: dict[str, Any]) -> str:
    return str(hostvars.get("vm_name") or hostvars.get("inventory_hostname") or "")


def _running_vm(engine_api: Any, hostvars: dict[str, Any], evidence: Evidence) -> str:
    """The guest's VM name; skips the control when the VM is not running (or not known)."""
    name = _vm_name(hostvars)
    found = [vm for vm in engine_api.vms_service().list(search=f"name={name}")
             if vm.name == name]
    if not found:
        evidence("vm status", "no such VM")
        pytest.skip(f"the engine has no VM named {name}; the guest cannot be judged")
    status = str(found[0].status.value) if found[0].status is not None else "unknown"
    evidence("vm status", status)
    if status not in RUNNING:
        pytest.skip(f"VM {name} is {status} in the engine: the guest is not reachable over "
                    "SSH, and a powered-off VM runs nothing")
    return name


def test_no_running_guest_is_marked_unconfigured(host: Any, host_path: Callable[[str], str],
                                                 hostvars: dict[str, Any], engine_api: Any,
                                                 evidence: Evidence) -> None:
    name = _running_vm(engine_api, hostvars, evidence)
    present = host.file(host_path(UNCONFIGURED)).exists
    evidence(UNCONFIGURED, "present" if present else "absent")
    assert not present, (f"running guest {name} still carries {UNCONFIGURED}: it will "
                         "reconfigure itself (new host keys, hostname, root password) at its "
                         "next boot; remove it, or seal the VM and power it off")
