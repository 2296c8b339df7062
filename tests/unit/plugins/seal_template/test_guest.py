"""The guest side of seal_template on local sysroots built like the lab's OL6-9 guests: the
release read from the files, the survey (what would change), the seal itself, the re-survey."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner import TaskFailed
from opsrunner.testing import MakeTask, tree_state
from opsrunner_lab.sysroot_guest import build_guest, guest_mac
from opsrunner_plugins.seal_template.guest import (
    GuestRelease,
    SealPlan,
    apply,
    apply_script,
    guest_macs,
    guest_release,
    identity_lines,
    parse_survey,
    release_of,
    survey,
)

OL8 = GuestRelease("ol", "Oracle Linux Server 8.8", 8)


def test_release_of_reads_os_release_then_system_release() -> None:
    assert release_of('NAME="Oracle Linux Server"\nID="ol"\nID_LIKE="fedora"\n'
                      'VERSION_ID="8.8"\nPRETTY_NAME="Oracle Linux Server 8.8"\n', None) == OL8
    assert release_of('ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n', None) \
        == GuestRelease("rocky", "rocky", 9)
    assert release_of(None, "Oracle Linux Server release 6.10\n") == \
        GuestRelease("ol", "Oracle Linux Server release 6.10", 6)
    assert release_of(None, "CentOS release 6.10 (Final)").major == 6


@pytest.mark.parametrize(("os_release", "system_release", "message"), [
    ('ID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"\nPRETTY_NAME="Ubuntu 22.04.4 LTS"\n', None,
     "the guest runs Ubuntu 22.04.4 LTS (ID=ubuntu); only Oracle Linux or a RHEL-like system "
     "can be sealed this way"),
    ('ID=fedora\nVERSION_ID=39\nNAME=Fedora\n', None,
     "the guest runs Fedora (ID=fedora); only Oracle Linux or a RHEL-like system can be "
     "sealed this way"),
    ('ID="ol"\nNAME="Oracle Linux Server"\n', None,
     "the guest's /etc/os-release has no numeric VERSION_ID (Oracle Linux Server)"),
    (None, "Debian GNU/Linux 12", "the guest runs 'Debian GNU/Linux 12'; only Oracle Linux "
                                  "or a RHEL-like system can be sealed this way"),
    (None, None, "the guest runs 'neither /etc/os-release nor /etc/system-release'; only "
                 "Oracle Linux or a RHEL-like system can be sealed this way"),
])
def test_release_of_refuses_other_systems(os_release: str | None, system_release: str | None,
                                          message: str) -> None:
    with pytest.raises(ValueError) as caught:
        release_of(os_release, system_release)
    assert str(caught.value) == message


@pytest.mark.parametrize("major", [6, 7, 8, 9])
def test_a_lab_guest_is_surveyed_sealed_and_then_has_nothing_left(
        make_task: MakeTask, tmp_path: Path, major: int) -> None:
    build_guest(tmp_path, f"ol{major}-vm1", major)
    task = make_task()
    release = guest_release(task)
    assert release.major == major
    plan = survey(task, release, clear_logs=True)
    files = plan.files()
    assert files[0] == "/.unconfigured"
    assert "/etc/udev/rules.d/70-persistent-net.rules" in files
    profile = ("/etc/NetworkManager/system-connections/eth0.nmconnection" if major >= 9
               else "/etc/sysconfig/network-scripts/ifcfg-eth0")
    assert profile in files
    assert "/var/log/messages" in files and "/root/anaconda-ks.cfg" in files
    assert ("/etc/hostname" in files) == (major >= 7)
    assert ("/etc/sysconfig/network" in files) == (major <= 6)
    assert all((tmp_path / f.lstrip("/")).exists() for f in files if f != "/.unconfigured")
    apply(task, plan)
    again = survey(task, release, clear_logs=True)
    assert again.steps() == []
    assert (tmp_path / ".unconfigured").is_file()
    assert list((tmp_path / "etc/ssh").glob("ssh_host_*")) == []
    assert identity_lines(profile, (tmp_path / profile.lstrip("/")).read_text()) == []
    network = (tmp_path / "etc/sysconfig/network").read_text()
    if major <= 6:
        assert network == "NETWORKING=yes\nHOSTNAME=localhost.localdomain\n"
    else:
        assert not (tmp_path / "etc/hostname").exists() and f"ol{major}-vm1" in network


def test_check_mode_changes_nothing(make_task: MakeTask, tmp_path: Path) -> None:
    build_guest(tmp_path, "ol8-vm1", 8)
    before = tree_state(tmp_path)
    task = make_task(check=True)
    plan = survey(task, guest_release(task), clear_logs=True)
    assert plan.steps() and tree_state(tmp_path) == before


def test_hwaddr_and_uuid_lines_go_and_the_rest_stays_byte_identical(
        make_task: MakeTask, tmp_path: Path) -> None:
    build_guest(tmp_path, "ol8-vm1", 8)
    eth1 = tmp_path / "etc/sysconfig/network-scripts/ifcfg-eth1"
    text = ('# HWADDR=in a comment stays\nDEVICE=eth1\r\nHWADDR="56:6f:00:00:00:02"\n'
            '\tUUID=0b3c1f0e-8f0a-4e7c-9a55-2f1e0c4b6d11\nNM_UUID_NOTE=stays\nONBOOT=yes')
    eth1.write_bytes(text.encode())
    eth1.chmod(0o640)
    task = make_task()
    plan = survey(task, guest_release(task), clear_logs=False)
    assert plan.hw_lines["/etc/sysconfig/network-scripts/ifcfg-eth1"] == [
        'HWADDR="56:6f:00:00:00:02"', "\tUUID=0b3c1f0e-8f0a-4e7c-9a55-2f1e0c4b6d11"]
    assert "remove HWADDR, UUID from /etc/sysconfig/network-scripts/ifcfg-eth1" in plan.steps()
    apply(task, plan)
    assert eth1.read_bytes() == b"# HWADDR=in a comment stays\nDEVICE=eth1\r\n" \
                                b"NM_UUID_NOTE=stays\nONBOOT=yes"
    assert eth1.stat().st_mode & 0o777 == 0o640


def test_every_ifcfg_but_lo_loses_its_hwaddr_and_uuid(make_task: MakeTask, tmp_path: Path) -> None:
    """Not only ifcfg-eth*: predictable names (enp1s0) are tied to the MAC the same way."""
    build_guest(tmp_path, "ol8-vm1", 8)
    scripts = tmp_path / "etc/sysconfig/network-scripts"
    (scripts / "ifcfg-enp1s0").write_text("DEVICE=enp1s0\nHWADDR=56:6f:00:00:00:03\n")
    (scripts / "ifcfg-lo").write_text("DEVICE=lo\nUUID=kept-for-lo\n")
    task = make_task()
    plan = survey(task, guest_release(task), clear_logs=False)
    assert sorted(plan.hw_lines) == ["/etc/sysconfig/network-scripts/ifcfg-enp1s0",
                                     "/etc/sysconfig/network-scripts/ifcfg-eth0"]
    apply(task, plan)
    assert (scripts / "ifcfg-enp1s0").read_text() == "DEVICE=enp1s0\n"
    assert (scripts / "ifcfg-lo").read_text() == "DEVICE=lo\nUUID=kept-for-lo\n"


def test_ol9_keyfiles_lose_only_uuid_and_mac_address(make_task: MakeTask, tmp_path: Path) -> None:
    build_guest(tmp_path, "ol9-vm1", 9)
    folder = tmp_path / "etc/NetworkManager/system-connections"
    eth1 = folder / "eth1.nmconnection"
    eth1.write_text("[connection]\nid=eth1\nuuid=0b3c1f0e-8f0a-4e7c-9a55-2f1e0c4b6d11\n"
                    "type=ethernet\n\n[ethernet]\ncloned-mac-address=stable\n"
                    "mac-address=56:6F:00:00:00:02\n# mac-address=in a comment\n\n"
                    "[ipv4]\naddress1=192.0.2.20/24\nmethod=manual\n")
    eth1.chmod(0o600)
    task = make_task()
    assert guest_macs(task) == {guest_mac("ol9-vm1"), "56:6f:00:00:00:02"}
    plan = survey(task, guest_release(task), clear_logs=False)
    path = "/etc/NetworkManager/system-connections/eth1.nmconnection"
    assert plan.hw_lines[path] == ["uuid=0b3c1f0e-8f0a-4e7c-9a55-2f1e0c4b6d11",
                                   "mac-address=56:6F:00:00:00:02"]
    assert f"remove mac-address, uuid from {path}" in plan.steps()
    apply(task, plan)
    assert eth1.read_text() == ("[connection]\nid=eth1\ntype=ethernet\n\n[ethernet]\n"
                                "cloned-mac-address=stable\n# mac-address=in a comment\n\n"
                                "[ipv4]\naddress1=192.0.2.20/24\nmethod=manual\n")
    assert eth1.stat().st_mode & 0o777 == 0o600
    assert guest_macs(task) == set()


def test_login_records_are_emptied_not_removed(make_task: MakeTask, tmp_path: Path) -> None:
    build_guest(tmp_path, "ol8-vm1", 8)
    (tmp_path / "var/log/wtmp").write_bytes(b"x" * 384)
    (tmp_path / "var/log/btmp").write_bytes(b"")
    task = make_task()
    plan = survey(task, guest_release(task), clear_logs=True)
    assert "empty /var/log/wtmp" in plan.steps()
    assert "/var/log/btmp" not in plan.files()  # empty already
    apply(task, plan)
    assert (tmp_path / "var/log/wtmp").read_bytes() == b""
    assert survey(task, plan.release, clear_logs=True).logs == []


def test_paths_with_spaces_and_quotes_are_quoted(tmp_path: Path) -> None:
    plan = parse_survey(f"udev {tmp_path}/etc/udev/rules.d/70-it's odd.rules\n", str(tmp_path),
                        OL8)
    assert plan.udev_rules == ["/etc/udev/rules.d/70-it's odd.rules"]
    script = apply_script(plan, str(tmp_path))
    assert f"rm -rf -- '{tmp_path}/etc/udev/rules.d/70-it'\"'\"'s odd.rules'" in script


def test_apply_fails_quoting_the_error(make_task: MakeTask, tmp_path: Path) -> None:
    plan = SealPlan(OL8, unconfigured=True, hw_lines={"/etc/missing/ifcfg-eth0": ["UUID=x"]})
    with pytest.raises(TaskFailed) as caught:
        apply(make_task(), plan)
    assert "ifcfg-eth0: No such file or directory" in str(caught.value)


def test_guest_macs_come_from_sys_and_ifcfg(make_task: MakeTask, tmp_path: Path) -> None:
    build_guest(tmp_path, "ol8-vm1", 8)
    net = tmp_path / "sys/class/net"
    for name, mac in (("eth1", "56:6F:00:00:00:02\n"), ("lo", "00:00:00:00:00:00\n")):
        (net / name).mkdir(parents=True)
        (net / name / "address").write_text(mac)
    assert guest_macs(make_task()) == {guest_mac("ol8-vm1"), "56:6f:00:00:00:02"}


def test_a_sealed_guest_without_sys_shows_no_mac(make_task: MakeTask, tmp_path: Path) -> None:
    build_guest(tmp_path, "ol8-vm1", 8)
    task = make_task()
    apply(task, survey(task, guest_release(task), clear_logs=False))
    assert guest_macs(task) == set()
