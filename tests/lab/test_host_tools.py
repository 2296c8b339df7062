"""The lab's host tools through their installed scripts, with a host's PATH (its bin/ first):
the tools of each role, the real mkisofs after ``dnf install genisoimage``, update-ca-trust
picking up an anchor, dnf's question, hosted-engine's global maintenance."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from opsrunner_lab.host_tools import install_host_tools
from opsrunner_lab.layout import ENGINE, GUEST, LabLayout
from opsrunner_lab.pki import LabCA
from opsrunner_lab.tools.jks import read_truststore
from opsrunner_lab.tools.lab_host import SYSTEM_PATH
from opsrunner_lab.tools.lab_packages import GUARD_MARK, MSI_PATHS
from opsrunner_lab.tools.update_ca_trust import JAVA_CACERTS, TLS_BUNDLE

SECTOR = 2048


@pytest.fixture
def layout(tmp_path: Path) -> LabLayout:
    layout = LabLayout(tmp_path / "lab", kvm_hosts=1, address_prefix="127.0.92.")
    install_host_tools(layout)
    return layout


def sh(layout: LabLayout, host: str, command: str, cwd: Path | None = None
       ) -> subprocess.CompletedProcess[str]:
    """``command`` in a shell with ``host``'s PATH, stdin not a terminal."""
    env = {"PATH": f"{layout.bin_dir(host)}:{SYSTEM_PATH}", "LC_ALL": "C.UTF-8"}
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, cwd=cwd, check=False, timeout=60)


def tools(layout: LabLayout, host: str) -> set[str]:
    folder = layout.bin_dir(host)
    return {path.name for path in folder.iterdir()
            if path.is_symlink() or GUARD_MARK not in path.read_text()}


def test_each_role_has_its_tools_and_a_reinstall_changes_nothing(layout: LabLayout) -> None:
    assert tools(layout, ENGINE) == {"update-ca-trust", "dnf", "yum", "rpm", "hosted-engine"}
    assert tools(layout, "kvm1") == {"update-ca-trust", "dnf", "yum", "rpm"}
    assert tools(layout, GUEST) == {"dnf", "yum", "rpm", "poweroff", "shutdown", "halt"}
    files = sorted(p for p in layout.root.rglob("*") if p.is_file() and not p.is_symlink())
    before = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in files}
    install_host_tools(layout)
    assert {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in files} == before
    assert (layout.bin_dir(GUEST) / "yum").readlink() == Path("dnf")


def test_mkisofs_only_after_dnf_install_genisoimage(layout: LabLayout, tmp_path: Path) -> None:
    before = sh(layout, ENGINE, "mkisofs -version")
    assert (before.returncode, before.stderr) == (127, "mkisofs: command not found\n")
    installed = sh(layout, ENGINE, "dnf install -y qemu-ga-win genisoimage")
    assert installed.returncode == 0, installed.stderr
    assert installed.stdout.endswith("\nComplete!\n")
    assert sh(layout, ENGINE, "rpm -q genisoimage").stdout == "genisoimage-1.1.11-39.el8.x86_64\n"
    build = tmp_path / "build-iso"
    build.mkdir()
    sysroot = layout.sysroot(ENGINE)
    for path in MSI_PATHS.values():
        shutil.copy(sysroot / path.lstrip("/"), build)
    made = sh(layout, ENGINE, "mkisofs -R -J -o qemu-ga-windows.iso build-iso/", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    iso = (tmp_path / "qemu-ga-windows.iso").read_bytes()
    assert iso[16 * SECTOR:16 * SECTOR + 6] == b"\x01CD001"  # primary volume descriptor
    listing = subprocess.run(["isoinfo", "-J", "-l", "-i", str(tmp_path / "qemu-ga-windows.iso")],
                             capture_output=True, text=True, check=True).stdout
    entries = {line.split()[-1]: line.split()[4] for line in listing.splitlines()
               if line.endswith(".msi ")}
    assert entries == {"qemu-ga-i386.msi": "372736", "qemu-ga-x86_64.msi": "401408"}
    extracted = subprocess.run(["isoinfo", "-J", "-x", "/qemu-ga-x86_64.msi", "-i",
                                str(tmp_path / "qemu-ga-windows.iso")], capture_output=True,
                               check=True).stdout
    assert extracted == (build / "qemu-ga-x86_64.msi").read_bytes()
    assert sh(layout, GUEST, "mkisofs -version").returncode == 127  # other hosts: still not


def test_update_ca_trust_picks_up_a_new_anchor(layout: LabLayout, tmp_path: Path) -> None:
    sysroot = layout.sysroot(ENGINE)
    ca = LabCA(tmp_path / "third-party").ensure()
    assert ca.cert_pem.decode() not in (sysroot / TLS_BUNDLE).read_text()
    anchors = sysroot / "etc/pki/ca-trust/source/anchors"
    anchors.mkdir(parents=True, exist_ok=True)
    (anchors / "third-party-ca-cert.pem").write_bytes(ca.cert_pem)
    (anchors / "broken.pem").write_text(
        "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n")
    done = sh(layout, ENGINE, "update-ca-trust export")
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr == ("p11-kit: /etc/pki/ca-trust/source/anchors/broken.pem: couldn't "
                           "parse PEM block of type CERTIFICATE; skipping it\n")
    assert ca.cert_pem.decode() in (sysroot / "etc/pki/tls/certs/ca-bundle.crt").read_text()
    aliases = [alias for alias, _ in read_truststore((sysroot / JAVA_CACERTS).read_bytes())]
    assert "opsrunner lab ca" in aliases
    if shutil.which("keytool"):
        listed = subprocess.run(["keytool", "-list", "-keystore", str(sysroot / JAVA_CACERTS),
                                 "-storepass", "changeit", "-alias", "opsrunner lab ca"],
                                capture_output=True, text=True, check=False)
        assert listed.returncode == 0 and "trustedCertEntry" in listed.stdout, listed.stdout


def test_dnf_without_y_is_aborted_and_installs_nothing(layout: LabLayout) -> None:
    asked = sh(layout, ENGINE, "yum install qemu-ga-win")
    assert asked.returncode == 1
    assert asked.stdout.endswith("Is this ok [y/N]: ")
    assert asked.stderr == "Operation aborted.\n"
    missing = sh(layout, ENGINE, "rpm -q qemu-ga-win")
    assert (missing.returncode, missing.stdout) == (1, "package qemu-ga-win is not installed\n")
    unknown = sh(layout, GUEST, "dnf install -y foo")
    assert (unknown.returncode, unknown.stderr) == (1, "Error: Unable to find a match: foo\n")
    assert "No match for argument: foo\n" in unknown.stdout


def test_hosted_engine_global_maintenance(layout: LabLayout) -> None:
    assert sh(layout, ENGINE, "hosted-engine --set-maintenance --mode=global").returncode == 0
    status = sh(layout, ENGINE, "hosted-engine --vm-status")
    assert status.returncode == 0
    assert status.stdout.count("!! Cluster is in GLOBAL MAINTENANCE mode !!") == 2
    wrong = sh(layout, ENGINE, "hosted-engine --set-maintenance --mode=off")
    assert (wrong.returncode, wrong.stdout) == (1, "Invalid value 'off' for --mode\n")
    assert sh(layout, ENGINE, "hosted-engine --set-maintenance --mode=none").returncode == 0
    assert "GLOBAL MAINTENANCE" not in sh(layout, ENGINE, "hosted-engine --vm-status").stdout
    assert sh(layout, GUEST, "hosted-engine --vm-status").returncode == 127  # engine only
