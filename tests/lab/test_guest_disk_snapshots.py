"""A snapshot of a lab guest's VM keeps the guest's disk (its sysroot): restoring the snapshot
taken before a seal gives the files back exactly, and the guest answers SSH with its known host
keys again; removing a snapshot deletes its archive. ``DELETE /templates/{id}`` through the real
ovirtsdk4. Own lab on 127.0.110.x (a lab the user runs is never disturbed)."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
import pytest
from engine_actions_lab import ADMIN_NAME, assert_fault, descriptions, status_of, wait_for
from lab_up import answers, engine_system, eventually, running_lab

from opsrunner.testing import tree_state
from opsrunner_lab.engine_api.settings import write_timing
from opsrunner_lab.guest_disk import archive_folder
from opsrunner_lab.layout import LabLayout

PREFIX = "127.0.110."
GUEST = "ol8-vm1"


def quick_transitions(layout: LabLayout) -> None:
    write_timing(layout, 0.1)


@pytest.fixture(scope="module")
def lab() -> Iterator[LabLayout]:
    with running_lab(PREFIX, kvm_hosts=1, guests=[GUEST],
                     before_up=quick_transitions) as layout:
        yield layout


@pytest.fixture
def system(lab: LabLayout) -> Iterator[sdk.services.SystemService]:
    with engine_system(lab) as system:
        yield system


def vm_of(system: sdk.services.SystemService) -> sdk.services.VmService:
    vms = system.vms_service()
    return vms.vm_service(vms.list(search=f"name={GUEST}")[0].id)


def ssh(lab: LabLayout, command: str) -> subprocess.CompletedProcess[str]:
    guest = lab.host(GUEST)
    return subprocess.run(["ssh", "-i", str(lab.client_key), "-p", str(guest.port),
                           "-o", f"UserKnownHostsFile={lab.known_hosts}",
                           "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                           "-o", "ConnectTimeout=5", f"root@{guest.address}", command],
                          capture_output=True, text=True, timeout=30)


def snapshot_ok(snapshots: sdk.services.SnapshotsService, description: str) -> types.Snapshot:
    made = snapshots.add(types.Snapshot(description=description))
    service = snapshots.snapshot_service(made.id)
    wait_for(lambda: service.get().snapshot_status.value, lambda s: s == "ok", description)
    return made


def seal_like_changes(sysroot: Path) -> None:
    """What sealing does to a guest, and a little more: files changed, removed and added, a
    mode, an owner and a symlink changed."""
    for key in (sysroot / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (sysroot / "etc/hostname").write_text("localhost.localdomain\n")
    (sysroot / "etc/udev/rules.d/70-persistent-net.rules").unlink()
    (sysroot / "root/.bash_history").unlink()
    (sysroot / "var/log/messages").write_bytes(b"")
    (sysroot / ".unconfigured").touch()
    os.chown(sysroot / "home/admin/notes", 0, 0)
    (sysroot / "home/admin/notes").chmod(0o644)
    (sysroot / "etc/localtime").unlink()
    (sysroot / "etc/localtime").symlink_to("/usr/share/zoneinfo/Europe/Paris")


def test_restoring_the_snapshot_taken_before_a_seal_gives_the_files_back(
        lab: LabLayout, system: sdk.services.SystemService) -> None:
    sysroot = lab.sysroot(GUEST)
    (sysroot / "home/admin").mkdir(parents=True, exist_ok=True)
    notes = sysroot / "home/admin/notes"
    notes.write_text("mine\n")
    notes.chmod(0o640)
    os.chown(notes, 1000, 1000)
    (sysroot / "etc/localtime").symlink_to("/usr/share/zoneinfo/UTC")
    before = tree_state(sysroot)
    assert len([p for p in before if p.startswith("etc/ssh/ssh_host_")]) == 6

    vm = vm_of(system)
    snapshots = vm.snapshots_service()
    first = snapshots.add(types.Snapshot(description="before-seal"))
    archive = archive_folder(lab) / f"{first.id}.tar"
    assert archive.is_file()  # taken at the request: the snapshot's content is that moment's
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert stat.S_IMODE(archive.parent.stat().st_mode) == 0o700
    first_service = snapshots.snapshot_service(first.id)
    wait_for(lambda: first_service.get().snapshot_status.value, lambda s: s == "ok", "first")

    seal_like_changes(sysroot)
    assert tree_state(sysroot) != before
    later = snapshot_ok(snapshots, "after-seal")
    later_archive = archive_folder(lab) / f"{later.id}.tar"
    assert later_archive.is_file()
    vm.stop()
    wait_for(status_of(vm), lambda s: s == "down", GUEST)
    assert eventually(lambda: not answers(lab, GUEST))

    first_service.restore()
    wait_for(status_of(vm), lambda s: s == "down", "restored VM")
    assert tree_state(sysroot) == before
    assert not later_archive.exists()  # the restore drops the later snapshot, and its disk
    assert eventually(lambda: [s.description for s in snapshots.list()] == ["Active VM",
                                                                            "before-seal"])
    assert sorted(p.name for p in sysroot.parent.iterdir() if p.name.startswith(".")) == []

    vm.start()
    assert answers(lab, GUEST)
    done = ssh(lab, "echo ok")  # strict host key checking against the lab's known_hosts
    assert (done.returncode, done.stdout, done.stderr) == (0, "ok\n", "")
    assert archive.is_file()  # the restored snapshot keeps its disk


def test_removing_a_snapshot_deletes_its_disk_archive(
        lab: LabLayout, system: sdk.services.SystemService) -> None:
    snapshots = vm_of(system).snapshots_service()
    made = snapshot_ok(snapshots, "short-lived")
    archive = archive_folder(lab) / f"{made.id}.tar"
    assert archive.is_file()
    snapshots.snapshot_service(made.id).remove()
    assert not archive.exists()
    assert eventually(lambda: "short-lived" not in [s.description for s in snapshots.list()])
    assert descriptions(system, 356)[0] == (f"Snapshot short-lived deletion on VM {GUEST} has "
                                            "been completed.")


def test_a_template_is_removed_with_its_disks_and_nics(
        system: sdk.services.SystemService) -> None:
    vm = vm_of(system)
    if vm.get().status.value != "down":
        vm.stop()
        wait_for(status_of(vm), lambda s: s == "down", GUEST)
    templates = system.templates_service()
    with pytest.raises(sdk.Error) as blank:
        templates.template_service("00000000-0000-0000-0000-000000000000").remove()
    assert_fault(blank.value, 409, "Cannot remove Template. Removing Blank Template is not "
                                   "allowed.")
    added = templates.add(types.Template(name="ol8-tpl", vm=types.Vm(id=vm.get().id)),
                          seal=True)
    template = templates.template_service(added.id)
    with pytest.raises(sdk.Error) as locked:
        template.remove()
    assert_fault(locked.value, 409, "Template's Image is locked (temporarily).")
    wait_for(status_of(template), lambda s: s == "ok", "ol8-tpl")
    disk_ids = [a.id for a in template.disk_attachments_service().list()]
    assert len(disk_ids) == 1 and len(template.nics_service().list()) == 1

    template.remove()
    assert template.get().status.value == "locked"
    assert system.disks_service().disk_service(disk_ids[0]).get().status.value == "locked"
    assert eventually(lambda: "ol8-tpl" not in [t.name for t in templates.list()])
    with pytest.raises(sdk.NotFoundError):
        template.get()
    with pytest.raises(sdk.NotFoundError):
        system.disks_service().disk_service(disk_ids[0]).get()
    with pytest.raises(sdk.NotFoundError):
        template.nics_service().list()
    assert [d.alias for d in system.disks_service().list()] == [f"{GUEST}_Disk1"]
    assert descriptions(system, 50) == [f"Removal of Template ol8-tpl was initiated by "
                                        f"{ADMIN_NAME}."]
    assert descriptions(system, 251) == ["Removal of Template ol8-tpl has been completed."]
