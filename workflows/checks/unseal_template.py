"""Checks after workflows/unseal-template.yml: the VM is up (unless ``start`` was false), the
template is gone (unless ``keep_template``), the "before seal" snapshot is gone; and in the
guest, reached over SSH with the host keys known from before the seal: no ``/.unconfigured``,
its SSH host keys back, its hostname back (OL 7+: ``/etc/hostname``; OL 6: not
localhost.localdomain).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from opsrunner_plugins.seal_template.guest import OL6_HOSTNAME
from opsrunner_plugins.seal_template.unseal import snapshot_description


def _vm(hostvars: dict[str, Any]) -> str:
    return str(hostvars.get("vm") or hostvars.get("vm_name") or hostvars["inventory_hostname"])


def _template(hostvars: dict[str, Any]) -> str:
    return str(hostvars.get("template") or f"{_vm(hostvars)}-template")


def _started(hostvars: dict[str, Any]) -> bool:
    return str(hostvars.get("start", True)).lower() not in ("false", "no", "0")


def test_the_vm_is_back_without_the_template_or_the_snapshot(hostvars: dict[str, Any],
                                                              engine_api: Any) -> None:
    name = _vm(hostvars)
    vms = [v for v in engine_api.vms_service().list(search=f"name={name}") if v.name == name]
    assert len(vms) == 1, f"{len(vms)} VMs named {name}"
    wanted = "up" if _started(hostvars) else "down"
    assert vms[0].status.value == wanted, f"VM {name} is {vms[0].status.value}, not {wanted}"
    snapshots = engine_api.vms_service().vm_service(vms[0].id).snapshots_service().list()
    left = [s.description for s in snapshots
            if s.description == snapshot_description(_template(hostvars))]
    assert left == [], f"VM {name} still has the snapshot {left[0]!r}"
    if str(hostvars.get("keep_template", False)).lower() in ("true", "yes", "1"):
        return
    template = _template(hostvars)
    found = [t for t in engine_api.templates_service().list(search=f"name={template}")
             if t.name == template]
    assert found == [], f"template {template} still exists"


def test_the_guest_is_unsealed(host: Any, hostvars: dict[str, Any],
                               host_path: Callable[[str], str]) -> None:
    if not _started(hostvars):
        pytest.skip("the VM was not started (start=false)")
    assert not host.file(host_path("/.unconfigured")).exists, "/.unconfigured is still there"
    keys = host.run(f"ls {host_path('/etc/ssh')}").stdout.split()
    assert any(k.startswith("ssh_host_") and k.endswith("_key") for k in keys), \
        f"no SSH host key in /etc/ssh: {keys}"
    if host.file(host_path("/etc/os-release")).exists:
        assert host.file(host_path("/etc/hostname")).exists, "/etc/hostname is missing"
    else:
        network = host.file(host_path("/etc/sysconfig/network")).content_string
        assert f"HOSTNAME={OL6_HOSTNAME}" not in network.splitlines(), \
            "the hostname is still localhost.localdomain"
