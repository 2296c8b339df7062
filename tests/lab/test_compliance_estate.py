"""The olvm-baseline profile's estate, KVM host and guest controls on a lab of this module's own
(127.0.121.x: two KVM hosts, two guests): every control passes on the lab as it comes up; each
fault, injected through the engine API (the real ovirtsdk4), the simulator's lab-internal door
or the hosts' files, fails its control with the evidence line an auditor reads, and passes
again once undone."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import ovirtsdk4.types as types
import pytest
from lab_up import answers, engine_system, eventually, running_lab

from opsrunner.cli.compliance import ProfileRequest, compliance_report
from opsrunner.compliance.model import ComplianceReport, ControlResult
from opsrunner_lab.engine_api.lab_internal import AGE, STORAGE_SPACE, lab_post
from opsrunner_lab.engine_api.settings import write_timing
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.pki import LabCA
from opsrunner_lab.sysroot_kvm import VDSM_CA, VDSM_CERT

PREFIX = "127.0.121."
GUESTS = ["ol8-vm1", "ol7-vm1"]
KVM = ["kvm1", "kvm2"]
PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "olvm-baseline"
ESTATE = ["OLVM-HOST-001", "OLVM-HOST-002", "OLVM-SNAP-001", "OLVM-STOR-001", "OLVM-GA-001"]
HOSTS_OF = {**{control: [ENGINE] for control in ESTATE}, "OLVM-VDSM-001": KVM, "OLVM-VDSM-002": KVM,
            "OLVM-GUEST-001": GUESTS}
GIB = 1024 ** 3
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def quick(layout: LabLayout) -> None:
    """The engine's transitions (maintenance, snapshots, disks, power) in a tenth of the time."""
    write_timing(layout, 0.1)


@pytest.fixture(scope="module")
def lab() -> Iterator[LabLayout]:
    with running_lab(PREFIX, kvm_hosts=2, guests=GUESTS, before_up=quick) as layout:
        yield layout


@pytest.fixture
def system(lab: LabLayout) -> Iterator[Any]:
    with engine_system(lab) as found:
        yield found


def verify(lab: LabLayout, tmp_path: Path, controls: Sequence[str],
           extra: Sequence[str] = ()) -> ComplianceReport:
    """``opsrunner verify --profile olvm-baseline --control ...`` on the lab, as the CLI runs it."""
    return compliance_report(ProfileRequest(profile=str(PROFILE), inventory=str(lab.inventory),
                                            controls=tuple(controls), extra=tuple(extra),
                                            state_dir=str(tmp_path / "state")))


def result(report: ComplianceReport, control: str, host: str = ENGINE) -> ControlResult:
    found = report.result(control, host)
    assert found is not None, f"no result of {control} on {host}: {report.results}"
    return found


def statuses(report: ComplianceReport) -> dict[tuple[str, str], str]:
    return {(r.control, r.host): r.status for r in report.results}


def named(service: Any, name: str) -> Any:
    found = [e for e in service.list(search=f"name={name}") if e.name == name]
    assert len(found) == 1, (name, found)
    return found[0]


def status_of(service: Any, entity_id: str) -> str:
    return str(service.get().status.value) if entity_id else ""


def test_every_control_passes_on_the_lab(lab: LabLayout, tmp_path: Path) -> None:
    report = verify(lab, tmp_path, list(HOSTS_OF))
    expected = {(c, h): "passed" for c, hosts in HOSTS_OF.items() for h in hosts}
    assert statuses(report) == expected, [(r.control, r.host, r.message) for r in report.results]
    assert report.exit_code == 0
    assert result(report, "OLVM-HOST-001").evidence == {"host kvm1": "up", "host kvm2": "up"}
    assert result(report, "OLVM-GA-001").evidence == {"windows vms": "no Windows VM"}
    assert result(report, "OLVM-SNAP-001").evidence == {"vm ol7-vm1": "no snapshot",
                                                        "vm ol8-vm1": "no snapshot"}
    assert result(report, "OLVM-STOR-001").evidence == {
        "domain data": "90.0% free (45.0 GiB of 50.0 GiB)"}
    for host in KVM:
        found = result(report, "OLVM-VDSM-001", host).evidence
        not_after = datetime.datetime.strptime(found["notAfter"], "%Y-%m-%dT%H:%M:%SZ")
        days = (not_after - datetime.datetime.now()).days
        assert 396 <= days <= 398, found  # issued at host deploy for 398 days
        assert re.fullmatch(r"SHA256:([0-9A-F]{2}:){31}[0-9A-F]{2}", found["fingerprint"])
        chain = result(report, "OLVM-VDSM-002", host).evidence
        assert chain["ca fingerprint"] == chain["engine ca fingerprint"], chain
    for guest in GUESTS:
        assert result(report, "OLVM-GUEST-001", guest).evidence == {
            "vm status": "up", "/.unconfigured": "absent"}


def test_a_host_in_maintenance_fails_host_001_and_after_24_h_host_002(
        lab: LabLayout, tmp_path: Path, system: Any) -> None:
    hosts = system.hosts_service()
    host = hosts.host_service(named(hosts, "kvm2").id)
    host.deactivate()
    try:
        assert eventually(lambda: status_of(host, "kvm2") == "maintenance")
        report = verify(lab, tmp_path, ["OLVM-HOST-001", "OLVM-HOST-002"])
        up = result(report, "OLVM-HOST-001")
        assert (up.status, up.message) == (
            "failed", "host kvm2 is in status maintenance, expected every host Up in the engine")
        assert up.evidence == {"host kvm1": "up", "host kvm2": "maintenance"}
        recent = result(report, "OLVM-HOST-002")
        assert recent.status == "passed", recent.message  # just now: within 24 h
        assert re.fullmatch(f"maintenance since {STAMP}", recent.evidence["host kvm2"])

        events = [e for e in system.events_service().list(search="type=15")
                  if e.host is not None and e.host.id == host.get().id]
        assert [e.description for e in events] == ["Host kvm2 was switched to Maintenance Mode."]
        aged = lab_post(lab, AGE, {"entity": f"events/{events[0].id}", "hours": 49})
        since = datetime.datetime.fromtimestamp(aged["time"] / 1000, datetime.UTC)
        report = verify(lab, tmp_path, ["OLVM-HOST-002"])
        old = result(report, "OLVM-HOST-002")
        assert (old.status, old.message) == (
            "failed", f"host kvm2 is in Maintenance since {since:%Y-%m-%dT%H:%M:%SZ} (49 h), "
                      "the profile allows 24 h")
        assert report.exit_code == 2
        longer = verify(lab, tmp_path, ["OLVM-HOST-002"], ["max_maintenance_hours=72"])
        assert result(longer, "OLVM-HOST-002").status == "passed"

        system.events_service().event_service(events[0].id).remove()  # aged out of the log
        report = verify(lab, tmp_path, ["OLVM-HOST-002"], ["max_maintenance_hours=72"])
        forgotten = result(report, "OLVM-HOST-002")
        assert (forgotten.status, forgotten.message) == (
            "failed", "host kvm2 is in Maintenance and the audit log has no record of it being "
                      "switched there (older than the log keeps), the profile allows 72 h")
    finally:
        host.activate()
        assert eventually(lambda: status_of(host, "kvm2") == "up")
    report = verify(lab, tmp_path, ["OLVM-HOST-001", "OLVM-HOST-002"])
    assert statuses(report) == {("OLVM-HOST-001", ENGINE): "passed",
                                ("OLVM-HOST-002", ENGINE): "passed"}, report.results


def test_an_old_snapshot_and_a_full_data_domain_fail_snap_001_and_stor_001(
        lab: LabLayout, tmp_path: Path, system: Any) -> None:
    vms = system.vms_service()
    snapshots = vms.vm_service(named(vms, "ol8-vm1").id).snapshots_service()
    domain = named(system.storage_domains_service(), "data")
    space = {"available": int(domain.available), "used": int(domain.used)}
    snapshot = snapshots.add(types.Snapshot(description="before patching"))
    service = snapshots.snapshot_service(snapshot.id)
    try:
        assert eventually(lambda: str(service.get().snapshot_status.value) == "ok")
        aged = lab_post(lab, AGE, {"entity": f"vms/{named(vms, 'ol8-vm1').id}/snapshots/"
                                             f"{snapshot.id}", "hours": 10 * 24})
        taken = datetime.datetime.fromtimestamp(aged["time"] / 1000, datetime.UTC)
        lab_post(lab, STORAGE_SPACE, {"domain": "data", "available": 2 * GIB, "used": 48 * GIB})
        report = verify(lab, tmp_path, ["OLVM-SNAP-001", "OLVM-STOR-001"])
        old = result(report, "OLVM-SNAP-001")
        assert (old.status, old.message) == (
            "failed", f"VM ol8-vm1 has snapshot 'before patching' of "
                      f"{taken:%Y-%m-%dT%H:%M:%SZ} (10.0 days old), the profile allows 7 days")
        assert old.evidence["vm ol8-vm1"] == (f"oldest snapshot 'before patching' of "
                                              f"{taken:%Y-%m-%dT%H:%M:%SZ}")
        full = result(report, "OLVM-STOR-001")
        assert (full.status, full.message) == (
            "failed", "storage domain data has 4.0% free (2.0 GiB available, 48.0 GiB used), "
                      "the profile wants at least 10% free")
        assert full.evidence == {"domain data": "4.0% free (2.0 GiB of 50.0 GiB)"}
    finally:
        lab_post(lab, STORAGE_SPACE, {"domain": "data", **space})
        service.remove()
        assert eventually(lambda: all(s.id != snapshot.id for s in snapshots.list()))
    report = verify(lab, tmp_path, ["OLVM-SNAP-001", "OLVM-STOR-001"])
    assert statuses(report) == {("OLVM-SNAP-001", ENGINE): "passed",
                                ("OLVM-STOR-001", ENGINE): "passed"}, report.results


def test_a_windows_vm_without_the_iso_fails_ga_001_and_a_down_guest_is_skipped(
        lab: LabLayout, tmp_path: Path, system: Any) -> None:
    vms = system.vms_service()
    vm = vms.vm_service(named(vms, "ol7-vm1").id)
    os_type = str(vm.get().os.type)
    vm.stop()
    disk_service = None
    try:
        assert eventually(lambda: status_of(vm, "ol7-vm1") == "down")
        vm.update(types.Vm(os=types.OperatingSystem(type="windows_2019x64")))
        report = verify(lab, tmp_path, ["OLVM-GA-001", "OLVM-GUEST-001"])
        missing = result(report, "OLVM-GA-001")
        assert (missing.status, missing.message) == (
            "failed", "1 Windows VM(s) (ol7-vm1) but no guest agent ISO (qemu-ga*.iso, "
                      "virtio-win*.iso) in an ISO or data storage domain; "
                      "workflows/qemu-ga-iso.yml uploads one")
        assert missing.evidence == {"windows vms": "ol7-vm1", "guest agent iso": "none"}
        down = result(report, "OLVM-GUEST-001", "ol7-vm1")
        assert (down.status, down.message) == (
            "skipped", "VM ol7-vm1 is down in the engine: the guest is not reachable over SSH, "
                       "and a powered-off VM runs nothing")
        assert result(report, "OLVM-GUEST-001", "ol8-vm1").status == "passed"

        disks = system.disks_service()
        disk = disks.add(types.Disk(name="qemu-ga-windows.iso", format=types.DiskFormat.RAW,
                                    content_type=types.DiskContentType.ISO,
                                    provisioned_size=1024 * 1024,
                                    storage_domains=[types.StorageDomain(name="data")]))
        disk_service = disks.disk_service(disk.id)
        assert eventually(lambda: status_of(disk_service, disk.id) == "ok")
        report = verify(lab, tmp_path, ["OLVM-GA-001"])
        present = result(report, "OLVM-GA-001")
        assert present.status == "passed", present.message
        assert present.evidence == {"windows vms": "ol7-vm1",
                                    "guest agent iso": "qemu-ga-windows.iso in data"}
    finally:
        if disk_service is not None:
            disk_service.remove()
        vm.update(types.Vm(os=types.OperatingSystem(type=os_type)))
        vm.start()
        assert eventually(lambda: status_of(vm, "ol7-vm1") == "up")
        assert eventually(lambda: answers(lab, "ol7-vm1"))
    report = verify(lab, tmp_path, ["OLVM-GA-001", "OLVM-GUEST-001"])
    assert set(statuses(report).values()) == {"passed"}, report.results
    assert result(report, "OLVM-GA-001").evidence == {"windows vms": "no Windows VM"}


def test_vdsm_certificates_expiring_or_from_another_ca_and_an_unconfigured_running_guest(
        lab: LabLayout, tmp_path: Path) -> None:
    cert1, cert2 = (lab.sysroot(h) / VDSM_CERT for h in KVM)
    ca2 = lab.sysroot("kvm2") / VDSM_CA
    marker = lab.sysroot("ol8-vm1") / ".unconfigured"
    kept = {path: path.read_bytes() for path in (cert1, cert2, ca2)}
    engine_ca = LabCA(lab.root / "pki")
    other_ca = LabCA(tmp_path / "other-pki").ensure()
    try:
        cert1.write_bytes(engine_ca.issue("kvm1.lab.local", ["kvm1.lab.local"], days=10)[1])
        cert2.write_bytes(other_ca.issue("kvm2.lab.local", ["kvm2.lab.local"], days=398)[1])
        marker.touch()
        controls = ["OLVM-VDSM-001", "OLVM-VDSM-002", "OLVM-GUEST-001"]
        report = verify(lab, tmp_path, controls)
        expiring = result(report, "OLVM-VDSM-001", "kvm1")
        assert expiring.status == "failed"
        assert re.fullmatch(f"the VDSM certificate /{VDSM_CERT} of "
                            f"host kvm1 expires on {STAMP} \\(10 days left\\), the profile "
                            "wants at least 30 days left", expiring.message), expiring.message
        assert result(report, "OLVM-VDSM-001", "kvm2").status == "passed"
        foreign = result(report, "OLVM-VDSM-002", "kvm2")
        assert (foreign.status, foreign.message) == (
            "failed", "the VDSM certificate of host kvm2 (issuer CN=opsrunner lab CA,O=opsrunner "
                      "lab) is not signed by the CA in /etc/pki/vdsm/certs/cacert.pem "
                      f"(CN=opsrunner lab CA,O=opsrunner lab, "
                      f"{result(report, 'OLVM-VDSM-002', 'kvm2').evidence['ca fingerprint']})")
        assert result(report, "OLVM-VDSM-002", "kvm1").status == "passed"
        unconfigured = result(report, "OLVM-GUEST-001", "ol8-vm1")
        assert (unconfigured.status, unconfigured.message) == (
            "failed", "running guest ol8-vm1 still carries /.unconfigured: it will reconfigure "
                      "itself (new host keys, hostname, root password) at its next boot; remove "
                      "it, or seal the VM and power it off")
        assert unconfigured.evidence == {"vm status": "up", "/.unconfigured": "present"}
        assert result(report, "OLVM-GUEST-001", "ol7-vm1").status == "passed"

        ca2.write_bytes(other_ca.cert_pem)  # the host trusts the other CA: not the engine's
        report = verify(lab, tmp_path, ["OLVM-VDSM-002"])
        wrong_ca = result(report, "OLVM-VDSM-002", "kvm2")
        evidence = wrong_ca.evidence
        assert wrong_ca.status == "failed"
        assert wrong_ca.message == (
            f"/etc/pki/vdsm/certs/cacert.pem of host kvm2 (CN=opsrunner lab CA,O=opsrunner lab, "
            f"{evidence['ca fingerprint']}) is not the engine CA "
            f"{lab.sysroot(ENGINE) / 'etc/pki/ovirt-engine/ca.pem'} (CN=opsrunner lab CA,"
            f"O=opsrunner lab, {evidence['engine ca fingerprint']})")
        assert evidence["ca fingerprint"] != evidence["engine ca fingerprint"]
    finally:
        for path, data in kept.items():
            path.write_bytes(data)
        marker.unlink(missing_ok=True)
    report = verify(lab, tmp_path, ["OLVM-VDSM-001", "OLVM-VDSM-002", "OLVM-GUEST-001"])
    assert set(statuses(report).values()) == {"passed"}, report.results
