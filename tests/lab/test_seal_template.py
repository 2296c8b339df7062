"""workflows/seal-template.yml on a lab of its own (127.0.109.x) with OL8, OL7 and OL6 guests:
check mode lists the files and changes nothing; a seal with cloud-init then a second run that
changes nothing; two NICs; a guest that is not Oracle Linux; a poweroff that hangs (fail, or
finished through the engine); a VM that is down; OL7 and OL6 hostname steps; and
workflows/unseal-template.yml undoing a seal from its snapshot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ovirtsdk4.types as types
import pytest
import yaml
from lab_up import answers, eventually, running_lab
from lab_up import engine_system as engine
from workflow_lab import WORKFLOWS

from opsrunner.testing import tree_state
from opsrunner_lab.engine_api.settings import write_timing
from opsrunner_lab.layout import LabLayout
from opsrunner_lab.sysroot_guest import guest_mac
from opsrunner_lab.tools.faults import fault_path
from opsrunner_lab.tools.rpmdb import is_installed
from opsrunner_lab.units import host_units

GUESTS = ["ol8-vm1", "ol8-vm2", "ol8-vm3", "ol8-vm4", "ol7-vm1", "ol6-vm1", "ol9-vm1"]
PASSWORD = "Tmpl-r00t-Secret"
ALL_CHECKS = {
    "test_the_guest_is_marked_unconfigured_without_host_keys_or_udev_rules": "passed",
    "test_no_network_profile_keeps_a_mac_or_uuid_line": "passed",
    "test_the_hostname_is_reset_for_the_release": "passed",
    "test_the_template_is_ok_sealed_and_its_disk_named_after_it": "passed",
    "test_the_template_has_the_vms_nics_without_macs": "passed",
    "test_the_source_vm_is_down": "passed",
    "test_the_template_has_the_cloud_init_settings": "skipped",
}
CLOUD_INIT = {
    "authorized_ssh_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpsrunnerLabKeyOnly0123456789"
                            "abcdefghijk admin@lab"],
    "regenerate_ssh_keys": True,
    "dns_servers": ["192.0.2.53", "192.0.2.54"],
    "dns_search": ["lab.local"],
    "nics": [{"name": "eth0", "boot_protocol": "static", "address": "192.0.2.10",
              "netmask": "255.255.255.0", "gateway": "192.0.2.1"}],
    "custom_script": "runcmd:\n - touch /etc/sealed-by-opsrunner\n",
    "root_password": {"secret_env": "TEMPLATE_ROOT_PASSWORD"},
}


@pytest.fixture(scope="module")
def lab() -> Iterator[LabLayout]:
    with running_lab("127.0.109.", kvm_hosts=1, guests=GUESTS,
                     before_up=lambda layout: write_timing(layout, 0.1)) as layout:
        yield layout


def named(service: Any, name: str) -> list[Any]:
    return [e for e in service.list(search=f"name={name}") if e.name == name]


def vm_status(lab: LabLayout, name: str) -> str:
    with engine(lab) as system:
        return str(named(system.vms_service(), name)[0].status.value)


def snapshots(lab: LabLayout, vm: str) -> list[str]:
    with engine(lab) as system:
        found = named(system.vms_service(), vm)[0]
        service = system.vms_service().vm_service(found.id).snapshots_service()
        return [str(s.description) for s in service.list() if s.snapshot_type.value != "active"]


class Run:
    """One ``opsrunner run workflows/<workflow> --limit GUEST``."""

    def __init__(self, lab: LabLayout, tmp_path: Path, guest: str, *args: str,
                 workflow: str = "seal-template.yml") -> None:
        self.guest = guest
        proc = subprocess.run(
            [sys.executable, "-m", "opsrunner.cli", "run", str(WORKFLOWS / workflow),
             "-i", str(lab.inventory), "--limit", guest, "--output", "json", "--state-dir",
             str(tmp_path / "state"), *args],
            capture_output=True, text=True, timeout=600, check=False)
        assert proc.stdout, proc.stderr
        self.code, self.stdout, self.stderr = proc.returncode, proc.stdout, proc.stderr
        self.host: dict[str, Any] = json.loads(proc.stdout)["hosts"][guest]
        self.step: dict[str, Any] = self.host["steps"][0]

    def checks(self) -> dict[str, str]:
        return {c["name"].split("[")[0]: c["status"] for c in self.host["verify"]}


def sysroot(lab: LabLayout, guest: str, path: str = "/") -> Path:
    return lab.sysroot(guest) / path.lstrip("/")


def test_a_guest_that_is_not_the_vm_is_refused_untouched(lab: LabLayout, tmp_path: Path) -> None:
    before = tree_state(sysroot(lab, "ol8-vm1"))
    run = Run(lab, tmp_path, "ol8-vm1", "--yes", "-e", "vm=ol7-vm1")
    assert run.code == 2
    assert run.step["msg"] == (
        f"refusing to seal: this guest's MAC addresses ({guest_mac('ol8-vm1')}) are not VM "
        f"ol7-vm1's ({guest_mac('ol7-vm1')}); check the vm parameter and the inventory "
        "(vm_name); nothing was changed")
    assert tree_state(sysroot(lab, "ol8-vm1")) == before
    assert vm_status(lab, "ol7-vm1") == "up" and snapshots(lab, "ol7-vm1") == []


def test_check_mode_lists_every_file_and_changes_nothing(lab: LabLayout, tmp_path: Path) -> None:
    before = tree_state(sysroot(lab, "ol8-vm1"))
    run = Run(lab, tmp_path, "ol8-vm1", "--check")
    assert run.code == 0, run.host
    assert run.step["status"] == "changed"
    msg = run.step["msg"]
    for path in ("create /.unconfigured", "/etc/ssh/ssh_host_rsa_key",
                 "/etc/ssh/ssh_host_ed25519_key.pub", "remove /etc/hostname",
                 "remove /etc/udev/rules.d/70-persistent-net.rules",
                 "remove HWADDR, UUID from /etc/sysconfig/network-scripts/ifcfg-eth0",
                 "clear /root/.bash_history", "would snapshot VM ol8-vm1",
                 "would power ol8-vm1 off and make the sealed template ol8-vm1-template"):
        assert path in msg, msg
    assert tree_state(sysroot(lab, "ol8-vm1")) == before
    assert vm_status(lab, "ol8-vm1") == "up" and snapshots(lab, "ol8-vm1") == []
    unconfirmed = Run(lab, tmp_path, "ol8-vm1")
    assert unconfirmed.code == 2
    assert unconfirmed.step["msg"] == (
        "sealing VM ol8-vm1 removes its SSH host keys, hostname and NIC identities and powers "
        "it off (undo: workflows/unseal-template.yml, from the snapshot taken first); confirm "
        "with --yes (nothing was changed)")
    assert tree_state(sysroot(lab, "ol8-vm1")) == before
    assert vm_status(lab, "ol8-vm1") == "up" and snapshots(lab, "ol8-vm1") == []


def test_a_seal_with_cloud_init_then_a_second_run_changes_nothing(
        lab: LabLayout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPLATE_ROOT_PASSWORD", PASSWORD)
    extra = tmp_path / "cloud-init.yml"
    extra.write_text(yaml.safe_dump({"cloud_init": CLOUD_INIT}))
    args = ("-e", f"@{extra}", "-e", "install_cloud_init=true", "-e", "template=ol8-template")
    run = Run(lab, tmp_path, "ol8-vm1", "--yes", *args)
    assert run.code == 0, run.host
    assert run.checks() == {**ALL_CHECKS, "test_the_template_has_the_cloud_init_settings":
                            "passed"}
    for part in ("snapshot 'before seal for template ol8-template' of VM ol8-vm1",
                 "installed cloud-init", "started cloud-init",
                 "sealed Oracle Linux Server 8", "powered ol8-vm1 off from the guest",
                 "created template ol8-template from VM ol8-vm1 (sealed)",
                 "set cloud-init on template ol8-template"):
        assert part in run.step["msg"], run.step["msg"]
    assert is_installed(sysroot(lab, "ol8-vm1"), "cloud-init")  # enabled by its preset
    cloud_init = host_units(lab, "ol8-vm1")["cloud-init"]
    assert eventually(lambda: cloud_init.daemon.pid() is None)  # the power-off ended it too
    assert vm_status(lab, "ol8-vm1") == "down" and not answers(lab, "ol8-vm1")
    assert snapshots(lab, "ol8-vm1") == ["before seal for template ol8-template"]
    with engine(lab) as system:
        template = named(system.templates_service(), "ol8-template")[0]
        init = system.templates_service().template_service(template.id).get().initialization
        assert (init.dns_servers, init.dns_search, init.regenerate_ssh_keys) == \
            ("192.0.2.53 192.0.2.54", "lab.local", True)
        assert [(n.name, n.boot_protocol.value, n.ip.address) for n in init.nic_configurations] \
            == [("eth0", "static", "192.0.2.10")]
        assert init.root_password is None  # the engine never returns it
    journal = "".join(p.read_text() for p in (tmp_path / "state" / "runs").glob("*.jsonl"))
    for text in (run.stdout, run.stderr, journal):
        assert PASSWORD not in text

    again = Run(lab, tmp_path, "ol8-vm1", *args)  # no --yes: nothing to seal
    assert again.code == 0, again.host
    assert again.step["status"] == "ok", again.step
    assert again.step["msg"] == ("template ol8-template exists (sealed from VM ol8-vm1); its "
                                 "cloud-init settings are as wanted")
    assert again.checks() == run.checks()


def test_two_nics_lose_only_their_hwaddr_and_uuid_lines(lab: LabLayout, tmp_path: Path) -> None:
    scripts = sysroot(lab, "ol8-vm2", "/etc/sysconfig/network-scripts")
    eth1 = scripts / "ifcfg-eth1"
    eth1.write_text('# second NIC; HWADDR=kept-in-a-comment\nTYPE=Ethernet\nBOOTPROTO=none\n'
                    'IPADDR=192.0.2.20\nHWADDR="56:6f:00:00:00:02"\nNAME=eth1\n'
                    '  UUID=0b3c1f0e-8f0a-4e7c-9a55-2f1e0c4b6d11\nDEVICE=eth1\nONBOOT=yes\n')
    eth1.chmod(0o600)
    wtmp = sysroot(lab, "ol8-vm2", "/var/log/wtmp")
    wtmp.write_bytes(b"\x07" * 384)
    wtmp.chmod(0o664)
    before = {p.name: p.read_text() for p in scripts.glob("ifcfg-eth*")}
    with engine(lab) as system:  # the VM's second vNIC, the guest's eth1
        vm = named(system.vms_service(), "ol8-vm2")[0]
        system.vms_service().vm_service(vm.id).nics_service().add(
            types.Nic(name="nic2", mac=types.Mac(address="56:6f:00:00:00:02")))
    run = Run(lab, tmp_path, "ol8-vm2", "--yes", "-e", "clear_logs=true", "-e", "snapshot_first=false")
    assert run.code == 0, run.host
    assert run.checks() == ALL_CHECKS
    with engine(lab) as system:
        template = named(system.templates_service(), "ol8-vm2-template")[0]
        nics = system.templates_service().template_service(template.id).nics_service().list()
        assert sorted(n.name for n in nics) == ["nic1", "nic2"]
    for name, text in before.items():
        kept = [line for line in text.splitlines(keepends=True)
                if not line.lstrip().startswith(("HWADDR=", "UUID="))]
        assert len(kept) == len(text.splitlines()) - 2
        assert (scripts / name).read_text() == "".join(kept), name
    assert eth1.stat().st_mode & 0o777 == 0o600
    assert wtmp.read_bytes() == b"" and wtmp.stat().st_mode & 0o777 == 0o664
    assert not sysroot(lab, "ol8-vm2", "/var/log/messages").exists()
    assert not sysroot(lab, "ol8-vm2", "/root/anaconda-ks.cfg").exists()
    assert sysroot(lab, "ol8-vm2", "/root/.bash_history").read_bytes() == b""
    assert snapshots(lab, "ol8-vm2") == []


def test_a_guest_that_is_not_oracle_linux_is_refused_untouched(lab: LabLayout,
                                                                 tmp_path: Path) -> None:
    os_release = sysroot(lab, "ol8-vm3", "/etc/os-release")
    original = os_release.read_bytes()
    os_release.write_text('NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\n'
                          'PRETTY_NAME="Ubuntu 22.04.4 LTS"\n')
    try:
        before = tree_state(sysroot(lab, "ol8-vm3"))
        run = Run(lab, tmp_path, "ol8-vm3", "--yes")
        assert run.code == 2
        assert run.step["msg"] == ("refusing to seal: the guest runs Ubuntu 22.04.4 LTS "
                                   "(ID=ubuntu); only Oracle Linux or a RHEL-like system can be "
                                   "sealed this way; nothing was changed")
        assert tree_state(sysroot(lab, "ol8-vm3")) == before
        assert vm_status(lab, "ol8-vm3") == "up" and snapshots(lab, "ol8-vm3") == []
    finally:
        os_release.write_bytes(original)


def test_a_hung_poweroff_fails_clearly_then_the_engine_shuts_the_vm_down(
        lab: LabLayout, tmp_path: Path) -> None:
    fault = fault_path(lab, "guest-poweroff")
    fault.parent.mkdir(parents=True, exist_ok=True)
    fault.write_text("times=1\n")
    failed = Run(lab, tmp_path, "ol8-vm3", "--yes", "-e", "if_still_up=fail", "-e", "shutdown_timeout=2")
    assert failed.code == 2
    assert failed.step["msg"].startswith("VM ol8-vm3 did not go down after poweroff in the "
                                         "guest (timed out after"), failed.step
    assert "run again with if_down=sealed (or use if_still_up=shutdown|stop)" in \
        failed.step["msg"]
    assert vm_status(lab, "ol8-vm3") == "up"
    assert sysroot(lab, "ol8-vm3", "/.unconfigured").exists()
    with engine(lab) as system:
        assert named(system.templates_service(), "ol8-vm3-template") == []

    fault.write_text("times=1\n")
    run = Run(lab, tmp_path, "ol8-vm3", "--yes", "-e", "shutdown_timeout=2")
    assert run.code == 0, run.host
    assert "VM ol8-vm3 did not go down by itself: shutdown through the engine" in \
        run.step["msg"]
    assert run.checks() == ALL_CHECKS


def test_a_hung_poweroff_with_if_still_up_stop_pulls_the_plug(lab: LabLayout,
                                                              tmp_path: Path) -> None:
    fault = fault_path(lab, "guest-poweroff")
    fault.write_text("times=1\n")
    run = Run(lab, tmp_path, "ol8-vm4", "--yes", "-e", "if_still_up=stop", "-e", "shutdown_timeout=2")
    assert run.code == 0, run.host
    assert "VM ol8-vm4 did not go down by itself: stop through the engine" in run.step["msg"]
    assert run.checks() == ALL_CHECKS
    assert not fault.exists()


def test_ol7_a_vm_that_is_down_is_refused_then_started_and_sealed(lab: LabLayout,
                                                                   tmp_path: Path) -> None:
    with engine(lab) as system:
        vm = named(system.vms_service(), "ol7-vm1")[0]
        system.vms_service().vm_service(vm.id).stop()
    deadline = time.monotonic() + 15
    while vm_status(lab, "ol7-vm1") != "down" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert vm_status(lab, "ol7-vm1") == "down"
    refused = Run(lab, tmp_path, "ol7-vm1", "--yes")
    assert refused.code == 2
    assert refused.step["msg"].startswith("VM ol7-vm1 is down and template does not exist yet: "
                                          "the guest cannot be sealed over SSH."), refused.step
    run = Run(lab, tmp_path, "ol7-vm1", "--yes", "-e", "if_down=start")
    assert run.code == 0, run.host
    assert "sealed Oracle Linux Server 7" in run.step["msg"]
    assert run.checks() == ALL_CHECKS
    assert not sysroot(lab, "ol7-vm1", "/etc/hostname").exists()
    network = sysroot(lab, "ol7-vm1", "/etc/sysconfig/network").read_text()
    assert "HOSTNAME=ol7-vm1.lab.local" in network  # OL7: only /etc/hostname goes (the seed)


def test_ol6_resets_the_hostname_in_sysconfig_network(lab: LabLayout, tmp_path: Path) -> None:
    before = tree_state(sysroot(lab, "ol6-vm1"))
    refused = Run(lab, tmp_path, "ol6-vm1", "--yes", "-e", "install_cloud_init=true")
    assert refused.code == 2
    assert refused.step["msg"].startswith("install_cloud_init: Oracle Linux Server release 6"), \
        refused.step
    assert refused.step["msg"].endswith("nothing was changed")
    assert tree_state(sysroot(lab, "ol6-vm1")) == before
    run = Run(lab, tmp_path, "ol6-vm1", "--yes")
    assert run.code == 0, run.host
    assert run.checks() == ALL_CHECKS
    network = sysroot(lab, "ol6-vm1", "/etc/sysconfig/network")
    assert network.read_text() == "NETWORKING=yes\nHOSTNAME=localhost.localdomain\n"
    assert os.stat(network).st_mode & 0o777 == 0o644


def test_ol9_keyfiles_lose_only_their_uuid_and_mac_address(lab: LabLayout,
                                                           tmp_path: Path) -> None:
    keyfile = sysroot(lab, "ol9-vm1", "/etc/NetworkManager/system-connections/eth0.nmconnection")
    before = keyfile.read_text()
    planned = Run(lab, tmp_path, "ol9-vm1", "--check")
    assert planned.code == 0, planned.host
    assert ("remove mac-address, uuid from "
            "/etc/NetworkManager/system-connections/eth0.nmconnection") in planned.step["msg"]
    run = Run(lab, tmp_path, "ol9-vm1", "--yes")
    assert run.code == 0, run.host
    assert "sealed Oracle Linux Server 9.4" in run.step["msg"]
    assert run.checks() == ALL_CHECKS
    kept = [line for line in before.splitlines(keepends=True)
            if not line.startswith(("uuid=", "mac-address="))]
    assert len(kept) == len(before.splitlines()) - 2
    assert keyfile.read_text() == "".join(kept)
    assert keyfile.stat().st_mode & 0o777 == 0o600
    assert not sysroot(lab, "ol9-vm1", "/etc/hostname").exists()


def run_unseal(lab: LabLayout, tmp_path: Path, guest: str, *args: str) -> Run:
    """``opsrunner run workflows/unseal-template.yml --limit GUEST``."""
    return Run(lab, tmp_path, guest, *args, workflow="unseal-template.yml")


def test_a_mistaken_seal_is_undone_from_the_snapshot(lab: LabLayout, tmp_path: Path) -> None:
    """ol8-vm1 was sealed into ol8-template (with its snapshot) by an earlier test."""
    args = ("-e", "template=ol8-template")
    unconfirmed = run_unseal(lab, tmp_path, "ol8-vm1", *args)
    assert unconfirmed.code == 2
    assert unconfirmed.step["msg"].startswith("undoing the seal would remove template "
                                              "ol8-template; restore VM ol8-vm1 from snapshot")
    assert unconfirmed.step["msg"].endswith("confirm with --yes (nothing was changed)")
    planned = run_unseal(lab, tmp_path, "ol8-vm1", *args, "--check")
    assert planned.code == 0 and planned.step["msg"].startswith("would remove template")
    assert vm_status(lab, "ol8-vm1") == "down"

    run = run_unseal(lab, tmp_path, "ol8-vm1", *args, "--yes")
    assert run.code == 0, run.host
    assert run.step["msg"] == (
        "removed template ol8-template; restored VM ol8-vm1 from snapshot 'before seal for "
        "template ol8-template' and removed the snapshot; started VM ol8-vm1")
    assert run.checks() == {"test_the_vm_is_back_without_the_template_or_the_snapshot":
                            "passed", "test_the_guest_is_unsealed": "passed"}
    root = sysroot(lab, "ol8-vm1")
    assert not (root / ".unconfigured").exists() and (root / "etc/hostname").exists()
    assert "HWADDR=" in (root / "etc/sysconfig/network-scripts/ifcfg-eth0").read_text()
    assert answers(lab, "ol8-vm1") and snapshots(lab, "ol8-vm1") == []
    assert not is_installed(root, "cloud-init")  # installed after the snapshot: gone again
    assert "cloud-init" not in host_units(lab, "ol8-vm1")

    again = run_unseal(lab, tmp_path, "ol8-vm1", *args, "--yes")
    assert again.code == 0 and again.step["status"] == "ok"
    assert again.step["msg"] == ("nothing to undo: VM ol8-vm1 has no snapshot 'before seal "
                                 "for template ol8-template'")
