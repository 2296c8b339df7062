"""Checks after workflows/seal-template.yml, for each sealed guest.

In the guest's files: ``/.unconfigured`` exists, no ``/etc/ssh/ssh_host_*``, no
``/etc/udev/rules.d/70-*``, no network profile tied to the machine (no HWADDR/UUID line in
an ``ifcfg-*`` but lo's, no ``uuid``/``mac-address`` in a NetworkManager keyfile), the
hostname reset for its release (OL 6: ``HOSTNAME=localhost.localdomain`` in ``/etc/sysconfig/network``;
OL 7+: no ``/etc/hostname``). A sealed VM is powered off, so these are read from its disk: in
the lab that is the guest's sysroot on this machine; elsewhere they are skipped (the task
re-read them in the guest before its poweroff).

Through the engine API: the template exists, is ok, its boot disk is aliased like the
template, it has the VM's NICs (by name, without MACs: VMs made from it get new ones), the
audit log records the seal, the VM is down; with ``cloud_init``, the template's
initial-run settings match (the root password aside: the engine never returns it).

Variables: ``template`` (default ``<vm>-template``), ``cloud_init``.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

import pytest

from opsrunner_plugins.seal_template.cloud_init import differences, parse_settings
from opsrunner_plugins.seal_template.guest import (
    IFCFG_FILES,
    KEYFILES,
    OL6_HOSTNAME,
    identity_lines,
    release_of,
)


def _vm(hostvars: dict[str, Any]) -> str:
    return str(hostvars.get("vm") or hostvars.get("vm_name") or hostvars["inventory_hostname"])


def _template(hostvars: dict[str, Any]) -> str:
    return str(hostvars.get("template") or f"{_vm(hostvars)}-template")


def _named(service: Any, name: str) -> Any:
    found = [e for e in service.list(search=f"name={name}") if e.name == name]
    assert len(found) == 1, f"{len(found)} entities named {name!r}, expected one"
    return found[0]


@pytest.fixture
def disk(hostvars: dict[str, Any]) -> Path:
    """The sealed guest's file tree (its disk), readable only in the lab."""
    root = str(hostvars.get("sysroot") or "/")
    if not hostvars.get("lab") or root == "/" or not os.path.isdir(root):
        pytest.skip("the sealed VM is powered off and its disk is not on this machine; the "
                    "seal task re-read these files in the guest before powering it off")
    return Path(root)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None


def test_the_guest_is_marked_unconfigured_without_host_keys_or_udev_rules(disk: Path) -> None:
    assert (disk / ".unconfigured").is_file(), "/.unconfigured is missing"
    keys = sorted(os.path.basename(p) for p in glob.glob(str(disk / "etc/ssh/ssh_host_*")))
    assert keys == [], f"host keys left in /etc/ssh: {keys}"
    rules = sorted(os.path.basename(p) for p in glob.glob(str(disk / "etc/udev/rules.d/70-*")))
    assert rules == [], f"udev rules left in /etc/udev/rules.d: {rules}"


def test_no_network_profile_keeps_a_mac_or_uuid_line(disk: Path) -> None:
    left = []
    profiles = glob.glob(str(disk) + IFCFG_FILES) + glob.glob(str(disk) + KEYFILES)
    for path in sorted(p for p in profiles if not p.endswith("/ifcfg-lo")):
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        left += [f"{os.path.basename(path)}: {line}" for line in identity_lines(path, text)]
    assert left == [], f"lines left: {left}"


def test_the_hostname_is_reset_for_the_release(disk: Path) -> None:
    release = release_of(_read(disk / "etc/os-release"), _read(disk / "etc/system-release"))
    if release.major <= 6:
        network = _read(disk / "etc/sysconfig/network") or ""
        assert f"HOSTNAME={OL6_HOSTNAME}" in network.splitlines(), \
            f"/etc/sysconfig/network of {release.name} does not set HOSTNAME={OL6_HOSTNAME}"
    else:
        assert not (disk / "etc/hostname").exists(), f"/etc/hostname is left ({release.name})"


def test_the_template_is_ok_sealed_and_its_disk_named_after_it(hostvars: dict[str, Any],
                                                                engine_api: Any) -> None:
    name = _template(hostvars)
    template = _named(engine_api.templates_service(), name)
    assert template.status.value == "ok", f"template {name} is {template.status.value}"
    service = engine_api.templates_service().template_service(template.id)
    aliases = [engine_api.disks_service().disk_service(a.disk.id).get().alias
               for a in service.disk_attachments_service().list() if a.bootable]
    assert aliases == [name], f"template {name}'s boot disk is aliased {aliases}"
    records = [e.description for e in engine_api.events_service().list(max=500)]
    assert any(str(d).startswith(f"Template {name} was sealed") for d in records), \
        f"the audit log has no record that template {name} was sealed"


def test_the_template_has_the_vms_nics_without_macs(hostvars: dict[str, Any],
                                                     engine_api: Any) -> None:
    vm = _named(engine_api.vms_service(), _vm(hostvars))
    template = _named(engine_api.templates_service(), _template(hostvars))
    vm_nics = engine_api.vms_service().vm_service(vm.id).nics_service().list()
    nics = engine_api.templates_service().template_service(template.id).nics_service().list()
    assert sorted(n.name for n in nics) == sorted(n.name for n in vm_nics), \
        f"template {template.name} has NICs {sorted(n.name for n in nics)}, VM {vm.name} " \
        f"{sorted(n.name for n in vm_nics)}"
    with_mac = [n.name for n in nics if n.mac is not None and n.mac.address]
    assert with_mac == [], f"template NICs with a MAC address: {with_mac}"


def test_the_source_vm_is_down(hostvars: dict[str, Any], engine_api: Any) -> None:
    vm = _named(engine_api.vms_service(), _vm(hostvars))
    assert vm.status.value == "down", f"VM {vm.name} is {vm.status.value}, expected down"


def test_the_template_has_the_cloud_init_settings(hostvars: dict[str, Any],
                                                   engine_api: Any) -> None:
    wanted = hostvars.get("cloud_init")
    if not wanted:
        pytest.skip("no cloud_init settings given")
    settings = parse_settings({k: v for k, v in wanted.items() if k != "root_password"},
                              Path.cwd())
    template = _named(engine_api.templates_service(), _template(hostvars))
    current = engine_api.templates_service().template_service(template.id).get().initialization
    assert differences(settings, current) == [], \
        f"template {template.name} differs in {differences(settings, current)}"
