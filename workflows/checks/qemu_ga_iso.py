"""Checks after workflows/qemu-ga-iso.yml, through the engine API (the real ovirtsdk4 on the
control node, with the host's ``engine_url``, ``engine_user``, ``engine_password`` and
``engine_ca_file``): the ISO disk is in ``storage_domain``, ok, with the size and sha256 of
the ISO built on the host recorded; with ``vm``, its boot order and CD are as the OLVM
Administration Guide, "Administration Tasks", section "Installing the QEMU Guest Agent"
("QEMUゲスト・エージェントのインストール") says (attach: hd then cdrom, the ISO inserted;
detach: hd only, the CD empty), in the configuration its next boot uses (the guide restarts
the VM after the edit).

Variables (``-e``): ``storage_domain`` (data), ``vm`` (none), ``mode`` (attach),
``iso_name`` (qemu-ga-windows.iso), ``iso_build_dir`` (/var/tmp/qemu-ga-iso).
"""

from __future__ import annotations

import posixpath
import shlex
from typing import Any

import pytest

from opsrunner_plugins.engine.upload import checksum_record
from opsrunner_plugins.qemu_ga_iso import BUILD_DIR, ISO_NAME


def _named(service: Any, name: str) -> Any:
    found = [e for e in service.list(search=f"name={name}") if e.name == name]
    assert len(found) == 1, f"{len(found)} entities named {name!r}, expected one"
    return found[0]


def _iso_name(hostvars: dict[str, Any]) -> str:
    return str(hostvars.get("iso_name") or ISO_NAME)


def test_iso_disk_holds_the_built_iso(host: Any, hostvars: dict[str, Any], host_path: Any,
                                      engine_api: Any) -> None:
    name = _iso_name(hostvars)
    iso = host_path(posixpath.join(str(hostvars.get("iso_build_dir") or BUILD_DIR), name))
    res = host.run(f"sha256sum {shlex.quote(iso)} && stat -c %s {shlex.quote(iso)}")
    assert res.rc == 0, f"cannot read {iso} on the host: {res.stderr.strip()}"
    digest, size = res.stdout.split()[0], int(res.stdout.split()[-1])
    disk = _named(engine_api.disks_service(), name)
    domain = _named(engine_api.storage_domains_service(), str(hostvars.get("storage_domain") or "data"))
    assert [str(d.id) for d in disk.storage_domains or []] == [str(domain.id)], \
        f"disk {name} is not in storage domain {domain.name}"
    assert str(disk.status.value if disk.status else "") == "ok", f"disk {name} is not ok"
    assert str(disk.content_type.value) == "iso", f"disk {name} is not an ISO disk"
    assert int(disk.provisioned_size) == size, \
        f"disk {name} has {disk.provisioned_size} bytes, the ISO {size}"
    assert disk.description == checksum_record(digest, size), \
        f"disk {name} records {disk.description!r}, the ISO is sha256={digest} size={size}"


def test_vm_boot_order_and_cd(hostvars: dict[str, Any], engine_api: Any) -> None:
    vm_name = str(hostvars.get("vm") or "")
    if not vm_name:
        pytest.skip("no vm given")
    attach = str(hostvars.get("mode") or "attach") == "attach"
    vm = _named(engine_api.vms_service(), vm_name)
    service = engine_api.vms_service().vm_service(vm.id)
    if str(vm.status.value) != "down":  # the boot order counts at the next boot
        vm = service.get(next_run=True)
    devices = [d.value for d in (vm.os.boot.devices or [])] if vm.os and vm.os.boot else []
    assert devices == (["hd", "cdrom"] if attach else ["hd"]), \
        f"VM {vm_name} boots from {devices}"
    cdroms = service.cdroms_service().list()
    held = str(cdroms[0].file.id) if cdroms and cdroms[0].file and cdroms[0].file.id else ""
    if attach:
        disk = _named(engine_api.disks_service(), _iso_name(hostvars))
        assert held == str(disk.id), f"VM {vm_name}'s CD holds {held or 'nothing'}, not the ISO"
    else:
        assert held == "", f"VM {vm_name}'s CD still holds {held}"
