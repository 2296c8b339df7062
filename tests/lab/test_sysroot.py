"""The hosts' sysroots: the OLVM file tree of each role, built idempotently."""

from __future__ import annotations

import ipaddress
import os
import re
import stat
import uuid
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import PolicyBuilder, Store

from opsrunner_lab.layout import LabLayout
from opsrunner_lab.shell_conf import read_shell_conf
from opsrunner_lab.sysroot import build_sysroots, guest_release
from opsrunner_lab.sysroot_engine import DWH_DB_CONF, ENGINE_DB_CONF, ENGINE_DWH_DB_CONF
from opsrunner_lab.sysroot_guest import build_guest, guest_mac

pytestmark = pytest.mark.lab

DB_KEYS = ["HOST", "PORT", "USER", "PASSWORD", "DATABASE", "SECURED", "SECURED_VALIDATION",
           "DRIVER", "URL"]
ENGINE_PATHS = {  # path: (kind, mode)
    "etc/ovirt-engine/engine.conf.d/10-setup-database.conf": ("file", 0o600),
    "etc/ovirt-engine/engine.conf.d/10-setup-dwh-database.conf": ("file", 0o600),
    "etc/ovirt-engine-dwh/ovirt-engine-dwhd.conf.d/10-setup-database.conf": ("file", 0o600),
    "etc/pki": ("dir", 0o755),
    "etc/pki/ovirt-engine": ("dir", 0o755),
    "etc/pki/ovirt-engine/ca.pem": ("file", 0o644),
    "etc/pki/ovirt-engine/certs/apache.cer": ("file", 0o644),
    "etc/pki/ovirt-engine/keys/apache.key.nopass": ("file", 0o600),
    "etc/pki/ovirt-engine/certs/websocket-proxy.cer": ("file", 0o644),
    "etc/pki/ovirt-engine/keys/websocket-proxy.key.nopass": ("file", 0o600),
    "etc/pki/ovirt-engine/certs/engine.cer": ("file", 0o644),
    "etc/pki/ca-trust/source/anchors": ("dir", 0o755),
    "etc/pki/java/cacerts": ("file", 0o644),
    "etc/ovirt-engine/ovirt-websocket-proxy.conf.d/10-setup.conf": ("file", 0o644),
    "etc/httpd/conf.d": ("dir", 0o755),
    "etc/httpd/conf.d/ovirt-engine-root-redirect.conf": ("file", 0o644),
    "var/lib/ovirt-engine/backups": ("dir", 0o755),
    "var/lib/ovirt-engine-dwh/backups": ("dir", 0o755),
    "var/lib/ovirt-engine-backup": ("dir", 0o755),
    "var/log/ovirt-engine-backup": ("dir", 0o755),
    "var/log/ovirt-engine": ("dir", 0o755),
    "usr/share/ovirt-engine/dbscripts": ("dir", 0o755),
    "usr/share/ovirt-engine/bin": ("dir", 0o755),
    "etc/sysconfig": ("dir", 0o755),
    "etc/os-release": ("file", 0o644),
    "etc/hostname": ("file", 0o644),
}
GUEST_FILES = [
    *(f"etc/ssh/ssh_host_{t}_key{s}" for t in ("rsa", "ecdsa", "ed25519") for s in ("", ".pub")),
    "etc/hostname", "etc/udev/rules.d/70-persistent-net.rules", "etc/sysconfig/network",
    "etc/sysconfig/network-scripts/ifcfg-eth0", "var/log/messages", "var/log/secure",
    "var/log/cron", "var/log/dnf.log", "var/log/audit/audit.log", "root/anaconda-ks.cfg",
    "root/.bash_history", "etc/os-release", "etc/oracle-release",
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> LabLayout:
    layout = LabLayout(tmp_path_factory.mktemp("lab"), kvm_hosts=2)
    build_sysroots(layout)
    return layout


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.mark.parametrize("relative", sorted(ENGINE_PATHS))
def test_engine_path_exists_with_its_mode(lab: LabLayout, relative: str) -> None:
    path = lab.sysroot("engine") / relative
    kind, expected = ENGINE_PATHS[relative]
    assert path.is_dir() if kind == "dir" else path.is_file(), path
    assert oct(mode(path)) == oct(expected)
    assert (path.stat().st_uid, path.stat().st_gid) == (0, 0)


def test_engine_db_conf_is_engine_setups_shell_format(lab: LabLayout) -> None:
    path = lab.sysroot("engine") / "etc/ovirt-engine/engine.conf.d/10-setup-database.conf"
    lines = path.read_text().splitlines()
    assert [line.split("=", 1)[0] for line in lines] == [f"ENGINE_DB_{k}" for k in DB_KEYS]
    assert all(re.fullmatch(r'[A-Z_]+="[^"]*"', line) for line in lines), lines
    values = read_shell_conf(path)
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}", values["ENGINE_DB_PASSWORD"])
    assert {k: v for k, v in values.items() if k != "ENGINE_DB_PASSWORD"} == {
        "ENGINE_DB_HOST": "127.0.80.2", "ENGINE_DB_PORT": "5432", "ENGINE_DB_USER": "engine",
        "ENGINE_DB_DATABASE": "engine", "ENGINE_DB_SECURED": "False",
        "ENGINE_DB_SECURED_VALIDATION": "False", "ENGINE_DB_DRIVER": "org.postgresql.Driver",
        "ENGINE_DB_URL": "jdbc:postgresql://127.0.80.2:5432/"
                         "engine?sslfactory=org.postgresql.ssl.NonValidatingFactory"}
    # the file itself keeps the references, as engine-setup writes it; reading expands them
    assert 'ENGINE_DB_URL="jdbc:postgresql://${ENGINE_DB_HOST}:${ENGINE_DB_PORT}/' \
           '${ENGINE_DB_DATABASE}?sslfactory=org.postgresql.ssl.NonValidatingFactory"' in lines


def test_dwh_db_confs_agree_on_the_dwh_credentials(lab: LabLayout) -> None:
    root = lab.sysroot("engine")
    dwhd = read_shell_conf(root / DWH_DB_CONF)
    engine_side = read_shell_conf(root / ENGINE_DWH_DB_CONF)
    engine = read_shell_conf(root / ENGINE_DB_CONF)
    assert list(engine_side) == [f"DWH_DB_{k}" for k in DB_KEYS]
    assert dwhd["DWH_DB_USER"] == dwhd["DWH_DB_DATABASE"] == "ovirt_engine_history"
    assert {k: v for k, v in dwhd.items() if k.startswith("DWH_DB_")} == engine_side
    assert {k: v for k, v in dwhd.items() if k.startswith("ENGINE_DB_")} == engine
    assert dwhd["DWH_DB_PASSWORD"] != engine["ENGINE_DB_PASSWORD"]


def test_apache_ca_is_a_relative_symlink_to_ca_pem(lab: LabLayout) -> None:
    link = lab.sysroot("engine") / "etc/pki/ovirt-engine/apache-ca.pem"
    assert link.is_symlink()
    assert os.readlink(link) == "ca.pem"
    assert link.read_bytes() == (lab.root / "pki/ca.pem").read_bytes()


@pytest.mark.parametrize("service", ["apache", "websocket-proxy", "engine"])
def test_service_certificate_is_issued_by_the_engine_ca(lab: LabLayout, service: str) -> None:
    pki = lab.sysroot("engine") / "etc/pki/ovirt-engine"
    ca = x509.load_pem_x509_certificate((pki / "ca.pem").read_bytes())
    leaf = x509.load_pem_x509_certificate((pki / f"certs/{service}.cer").read_bytes())
    for name in (x509.DNSName("engine.lab.local"),
                 x509.IPAddress(ipaddress.ip_address("127.0.80.2"))):
        PolicyBuilder().store(Store([ca])).build_server_verifier(name).verify(leaf, [])
    key_pem = (pki / f"keys/{service}.key.nopass").read_bytes()
    key = serialization.load_pem_private_key(key_pem, None)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    assert (key.public_key().public_bytes(serialization.Encoding.PEM, spki)
            == leaf.public_key().public_bytes(serialization.Encoding.PEM, spki))


def test_websocket_proxy_conf_points_at_its_certificate(lab: LabLayout) -> None:
    conf = lab.sysroot("engine") / "etc/ovirt-engine/ovirt-websocket-proxy.conf.d/10-setup.conf"
    assert conf.read_text().splitlines() == [
        "PROXY_PORT=6100",
        "SSL_CERTIFICATE=/etc/pki/ovirt-engine/certs/websocket-proxy.cer",
        "SSL_KEY=/etc/pki/ovirt-engine/keys/websocket-proxy.key.nopass",
        "FORCE_DATA_VERIFICATION=False",
        "CERT_FOR_DATA_VERIFICATION=/etc/pki/ovirt-engine/certs/engine.cer",
        "SSL_ONLY=True",
    ]


@pytest.mark.parametrize("host", ["engine", "kvm1", "kvm2", "ol8-vm1"])
def test_every_host_is_oracle_linux_8_8_with_its_name(lab: LabLayout, host: str) -> None:
    root = lab.sysroot(host)
    release = read_shell_conf(root / "etc/os-release")
    assert (release["ID"], release["VERSION_ID"]) == ("ol", "8.8")
    assert release["PRETTY_NAME"] == "Oracle Linux Server 8.8"
    assert (root / "etc/oracle-release").read_text() == "Oracle Linux Server release 8.8\n"
    assert (root / "etc/hostname").read_text() == f"{host}.lab.local\n"


@pytest.mark.parametrize("host", ["kvm1", "kvm2"])
def test_kvm_host_has_vdsm_paths_owned_36_36(lab: LabLayout, host: str) -> None:
    root = lab.sysroot(host)
    assert "management_port = 54321" in (root / "etc/vdsm/vdsm.conf").read_text()
    for relative in ("var/lib/vdsm", "var/log/vdsm", "rhev/data-center/mnt"):
        info = (root / relative).stat()
        assert stat.S_ISDIR(info.st_mode) and (info.st_uid, info.st_gid) == (36, 36), relative


def test_guest_has_what_sealing_removes(lab: LabLayout) -> None:
    root = lab.sysroot("ol8-vm1")
    missing = [relative for relative in GUEST_FILES if not (root / relative).is_file()]
    assert not missing
    assert (root / "etc/hostname").read_text() == "ol8-vm1.lab.local\n"
    assert mode(root / "etc/ssh/ssh_host_ed25519_key") == 0o600
    assert mode(root / "etc/ssh/ssh_host_ed25519_key.pub") == 0o644
    assert "HOSTNAME=ol8-vm1.lab.local" in (root / "etc/sysconfig/network").read_text()


@pytest.mark.parametrize("key_type", ["rsa", "ecdsa", "ed25519"])
def test_guest_host_key_pairs_match(lab: LabLayout, key_type: str) -> None:
    ssh = lab.sysroot("ol8-vm1") / "etc/ssh"
    key = serialization.load_ssh_private_key((ssh / f"ssh_host_{key_type}_key").read_bytes(), None)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    expected = f"{public} root@ol8-vm1.lab.local\n"
    assert (ssh / f"ssh_host_{key_type}_key.pub").read_text() == expected


def test_guest_nic_files_share_one_mac_and_a_uuid(lab: LabLayout) -> None:
    root = lab.sysroot("ol8-vm1")
    mac = guest_mac("ol8-vm1")
    assert re.fullmatch(r"56:6f(:[0-9a-f]{2}){4}", mac)
    ifcfg = read_shell_conf(root / "etc/sysconfig/network-scripts/ifcfg-eth0")
    assert {k: ifcfg[k] for k in ("DEVICE", "TYPE", "BOOTPROTO", "ONBOOT", "NAME", "HWADDR")} == {
        "DEVICE": "eth0", "TYPE": "Ethernet", "BOOTPROTO": "dhcp", "ONBOOT": "yes",
        "NAME": "eth0", "HWADDR": mac}
    assert uuid.UUID(ifcfg["UUID"]).version == 4
    rules = (root / "etc/udev/rules.d/70-persistent-net.rules").read_text()
    assert f'SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{{address}}=="{mac}"' in rules


def test_rebuild_keeps_changes_and_restores_only_what_is_missing(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path, kvm_hosts=1)
    build_sysroots(layout)
    engine = layout.sysroot("engine")
    conf = engine / "etc/ovirt-engine/engine.conf.d/10-setup-database.conf"
    password = read_shell_conf(conf)["ENGINE_DB_PASSWORD"]
    cert = engine / "etc/pki/ovirt-engine/certs/apache.cer"
    link = engine / "etc/pki/ovirt-engine/apache-ca.pem"
    ifcfg = layout.sysroot("ol8-vm1") / "etc/sysconfig/network-scripts/ifcfg-eth0"
    cert.write_text("third-party certificate\n")
    link.unlink()
    link.write_text("third-party CA\n")
    (engine / "etc/pki").chmod(0o700)
    ifcfg.write_text("DEVICE=eth0\n")
    conf.unlink()
    rsa_key = layout.sysroot("ol8-vm1") / "etc/ssh/ssh_host_rsa_key"
    old_rsa = rsa_key.read_bytes()

    build_sysroots(layout)

    assert cert.read_text() == "third-party certificate\n"
    assert not link.is_symlink() and link.read_text() == "third-party CA\n"
    assert mode(engine / "etc/pki") == 0o700
    assert ifcfg.read_text() == "DEVICE=eth0\n"
    assert rsa_key.read_bytes() == old_rsa
    assert read_shell_conf(conf)["ENGINE_DB_PASSWORD"] == password
    assert mode(conf) == 0o600


@pytest.mark.parametrize(("release", "version"), [(6, "6.10"), (7, "7.9")])
def test_older_guests_follow_their_release(tmp_path: Path, release: int, version: str) -> None:
    root = build_guest(tmp_path / "guest", f"ol{release}-vm1", release)
    assert (root / "etc/oracle-release").read_text() == f"Oracle Linux Server release {version}\n"
    assert (root / "etc/hostname").exists() == (release == 7)
    assert (root / "etc/os-release").exists() == (release == 7)
    assert (root / "var/log/yum.log").is_file() and not (root / "var/log/dnf.log").exists()
    network = (root / "etc/sysconfig/network").read_text()
    assert f"HOSTNAME=ol{release}-vm1.lab.local" in network
    key_types = sorted(p.name for p in (root / "etc/ssh").glob("*_key"))
    assert key_types == (["ssh_host_dsa_key", "ssh_host_rsa_key"] if release == 6 else
                         ["ssh_host_ecdsa_key", "ssh_host_ed25519_key", "ssh_host_rsa_key"])


def test_an_ol9_guest_keeps_its_nic_profile_in_a_networkmanager_keyfile(tmp_path: Path) -> None:
    root = build_guest(tmp_path / "guest", "ol9-vm1", 9)
    os_release = (root / "etc/os-release").read_text()
    assert 'VERSION_ID="9.4"' in os_release and 'PLATFORM_ID="platform:el9"' in os_release
    assert (root / "var/log/dnf.log").is_file() and (root / "etc/hostname").exists()
    folder = root / "etc/NetworkManager/system-connections"
    keyfile = folder / "eth0.nmconnection"
    assert mode(folder) == 0o700 and mode(keyfile) == 0o600
    lines = keyfile.read_text().splitlines()
    assert f"mac-address={guest_mac('ol9-vm1').upper()}" in lines
    assert [line for line in lines if line.startswith(("id=", "interface-name=", "type="))] == \
        ["id=eth0", "type=ethernet", "interface-name=eth0"]
    assert uuid.UUID(next(line[5:] for line in lines if line.startswith("uuid="))).version == 4
    assert list((root / "etc/sysconfig/network-scripts").glob("ifcfg-*")) == []


def test_guest_release_comes_from_its_name_and_must_be_known(tmp_path: Path) -> None:
    assert [guest_release(n) for n in ("ol6-vm1", "ol7-db", "ol8-vm1", "ol9-vm1", "vm1")] == \
        [6, 7, 8, 9, 8]
    with pytest.raises(ValueError, match=r"Oracle Linux release 5 is not supported; "
                                         r"use one of \[6, 7, 8, 9\]"):
        build_guest(tmp_path, "ol5-vm1", 5)
