"""workflows/qemu-ga-iso.yml on a lab of its own (127.0.105.x): dnf installs qemu-ga-win and
genisoimage on the engine host, the real mkisofs builds the ISO, it is uploaded through the
API simulator and ovirt-imageio and attached to ol8-vm1; a second run changes nothing; detach
mode empties the CD; a missing MSI fails with its path named."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ovirtsdk4 as sdk
import pytest
from lab_up import running_lab
from workflow_lab import run_workflow

from opsrunner_lab.engine_api.server import admin_password_file
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_plugins.engine.upload import checksum_record
from opsrunner_plugins.qemu_ga_iso import BUILD_DIR, ISO_NAME, MSIS

VM = "ol8-vm1"
ALL_CHECKS = {"test_iso_disk_holds_the_built_iso": "passed",
              "test_vm_boot_order_and_cd": "passed"}


@pytest.fixture(scope="module")
def lab() -> Iterator[LabLayout]:
    """A lab of this module's own (one KVM host), down and purged afterwards."""
    with running_lab("127.0.105.", kvm_hosts=1) as layout:
        yield layout


def engine_disk_and_vm(layout: LabLayout, disk: str, vm: str) -> tuple[Any, Any]:
    """The disk and the VM (its next-run configuration) of these names, read with the
    real ovirtsdk4."""
    connection = sdk.Connection(url=f"https://{layout.engine_address}/ovirt-engine/api",
                                username="admin@internal",
                                password=admin_password_file(layout).read_text().strip(),
                                ca_file=str(sysroot_file(layout, "/etc/pki/ovirt-engine/ca.pem")))
    try:
        system = connection.system_service()
        disks = [d for d in system.disks_service().list(search=f"name={disk}") if d.name == disk]
        vms = [v for v in system.vms_service().list(search=f"name={vm}") if v.name == vm]
        assert len(disks) == 1 and len(vms) == 1, (disks, vms)
        return disks[0], system.vms_service().vm_service(vms[0].id).get(next_run=True)
    finally:
        connection.close()


def sysroot_file(layout: LabLayout, path: str) -> Path:
    return layout.sysroot(ENGINE) / path.lstrip("/")


def test_attach_then_a_second_run_changes_nothing_then_detach(lab: LabLayout,
                                                               tmp_path: Path) -> None:
    run = run_workflow(lab, tmp_path, "qemu-ga-iso.yml", "-e", f"vm={VM}")
    assert run.code == 0, (run.step("qemu_ga_iso"), run.engine["verify"])
    step = run.step("qemu_ga_iso")
    assert step["status"] == "changed", step
    for part in ("installed qemu-ga-win", "installed genisoimage", "built ", "uploaded ",
                 "boot order"):
        assert part in step["msg"], step["msg"]
    assert run.checks() == ALL_CHECKS
    iso = sysroot_file(lab, f"{BUILD_DIR}/{ISO_NAME}").read_bytes()
    disk, vm = engine_disk_and_vm(lab, ISO_NAME, VM)
    assert disk.description == checksum_record(hashlib.sha256(iso).hexdigest(), len(iso))
    assert disk.provisioned_size == len(iso)  # mkisofs's size (2048-byte sectors), no padding
    assert [d.value for d in vm.os.boot.devices] == ["hd", "cdrom"]

    again = run_workflow(lab, tmp_path, "qemu-ga-iso.yml", "-e", f"vm={VM}")
    assert again.code == 0, again.engine
    assert again.step("qemu_ga_iso")["status"] == "ok", again.step("qemu_ga_iso")
    assert again.checks() == ALL_CHECKS

    planned = run_workflow(lab, tmp_path, "qemu-ga-iso.yml", "--check", "-e", f"vm={VM}",
                           "-e", "mode=detach")
    assert planned.code == 0, planned.engine
    assert planned.step("qemu_ga_iso")["status"] == "changed"
    assert "would change CD-ROM in the configuration: eject" in planned.step("qemu_ga_iso")["msg"]
    _, vm = engine_disk_and_vm(lab, ISO_NAME, VM)
    assert [d.value for d in vm.os.boot.devices] == ["hd", "cdrom"]

    detach = run_workflow(lab, tmp_path, "qemu-ga-iso.yml", "-e", f"vm={VM}", "-e", "mode=detach")
    assert detach.code == 0, detach.engine
    assert detach.step("qemu_ga_iso")["status"] == "changed"
    assert detach.checks() == ALL_CHECKS
    _, vm = engine_disk_and_vm(lab, ISO_NAME, VM)
    assert [d.value for d in vm.os.boot.devices] == ["hd"]


def test_a_missing_msi_fails_naming_it(lab: LabLayout, tmp_path: Path) -> None:
    msi = sysroot_file(lab, MSIS[1])
    if not msi.exists():
        first = run_workflow(lab, tmp_path, "qemu-ga-iso.yml")
        assert first.code == 0, first.engine
    kept = msi.read_bytes()
    msi.unlink()
    try:
        run = run_workflow(lab, tmp_path, "qemu-ga-iso.yml")
    finally:
        msi.write_bytes(kept)
    assert run.code != 0
    step = run.step("qemu_ga_iso")
    assert step["status"] == "failed"
    assert step["msg"] == (f"qemu-ga-win is installed but {MSIS[1]} is missing; reinstall it "
                           "(dnf reinstall -y qemu-ga-win)"), step["msg"]
