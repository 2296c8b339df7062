"""The lab's package catalogue: what ``dnf install`` puts on a lab host, and how.

- ``qemu-ga-win``: the two installers at the OLVM paths (generated, deterministic content of a
  few hundred KB starting with the OLE2/MSI signature) and a README.
- ``genisoimage``: links this machine's real ``/usr/bin/genisoimage`` into the host's ``bin/``
  as ``mkisofs`` and ``genisoimage``.
- ``cloud-init``: ``/etc/cloud/cloud.cfg`` (a config file), ``/usr/bin/cloud-init`` (answers
  ``--version`` and ``status``, linked into ``bin/``) and its unit file.

A package program that this machine has on the system PATH anyway (Debian's genisoimage
ships ``/usr/bin/mkisofs``) is shadowed in ``bin/`` by a guard answering ``command not found``
(exit 127) until the package is installed, so a host behaves as one without the package.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass

from opsrunner_lab.tools.lab_host import SYSTEM_PATH, ToolHost
from opsrunner_lab.tools.rpmdb import Nevra

MSI_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
MSI_PATHS = {
    "i386": "/usr/i686-w64-mingw32/sys-root/mingw/bin/qemu-ga-i386.msi",
    "x86_64": "/usr/x86_64-w64-mingw32/sys-root/mingw/bin/qemu-ga-x86_64.msi",
}
MSI_SIZES = {"i386": 372_736, "x86_64": 401_408}
GUARD_MARK = "# opsrunner lab: not installed on this host"


@dataclass(frozen=True)
class PackageFile:
    """A file a package installs at host path ``path``; a ``config`` file is kept as
    ``.rpmsave`` when it was changed before the package is removed."""

    path: str
    content: Callable[[], bytes]
    mode: int = 0o644
    config: bool = False


@dataclass(frozen=True)
class Command:
    """A program the package puts on the host's PATH: a link in ``bin/`` to ``target``, a
    path of this machine or, with ``in_sysroot``, a host path inside the sysroot."""

    name: str
    target: str
    in_sysroot: bool = False


@dataclass(frozen=True)
class Package(Nevra):
    """A package of the catalogue (sizes in bytes, for dnf's transaction summary)."""

    repo: str = ""
    summary: str = ""
    download_size: int = 0
    installed_size: int = 0
    files: tuple[PackageFile, ...] = ()
    commands: tuple[Command, ...] = ()

    def missing_programs(self) -> list[str]:
        """Programs of this machine the package links to that are not here."""
        return [cmd.target for cmd in self.commands
                if not cmd.in_sysroot and not os.access(cmd.target, os.X_OK)]


def msi_bytes(arch: str, version: str) -> bytes:
    """A stand-in installer: an OLE2 compound-file header, then deterministic bytes."""
    header = MSI_MAGIC + bytes(16) + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
    header = header.ljust(512, b"\0")
    seed = f"qemu-ga-win {version} {arch}".encode()
    return header + hashlib.shake_256(seed).digest(MSI_SIZES[arch] - len(header))


def _text(text: str) -> Callable[[], bytes]:
    return lambda: text.encode()


_QGA_VERSION = "104.0.2"
_QGA_README = f"""\
qemu-ga-win {_QGA_VERSION}: QEMU guest agent installers for Windows guests.
  32-bit: {MSI_PATHS["i386"]}
  64-bit: {MSI_PATHS["x86_64"]}
Build an ISO of both (mkisofs -R -J), attach it to the VM and run the installer in the guest.
(Package of the opsrunner lab: the installers are stand-ins of realistic size.)
"""
_CLOUD_INIT_VERSION = "23.4"
_CLOUD_INIT_RELEASE = "7.0.1.el8"
_CLOUD_CFG = """\
users:
 - default

disable_root: true
ssh_pwauth: false
ssh_deletekeys: true
ssh_genkeytypes: ['rsa', 'ecdsa', 'ed25519']
mount_default_fields: [~, ~, 'auto', 'defaults,nofail', '0', '2']

cloud_init_modules:
 - bootcmd
 - write-files
 - set_hostname
 - update_hostname
 - users-groups
 - ssh

cloud_config_modules:
 - runcmd

cloud_final_modules:
 - scripts-user
 - final-message

system_info:
  distro: rhel
  default_user:
    name: cloud-user
    lock_passwd: true
    groups: [adm, systemd-journal]
    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
    shell: /bin/bash
  paths:
    cloud_dir: /var/lib/cloud
    templates_dir: /etc/cloud/templates
  ssh_svcname: sshd
"""
_CLOUD_INIT_BIN = f"""\
#!/bin/sh
# cloud-init of the opsrunner lab (installed by `dnf install cloud-init`)
case "$1" in
    --version|-v) echo "/usr/bin/cloud-init {_CLOUD_INIT_VERSION}-{_CLOUD_INIT_RELEASE}" ;;
    status) echo "status: done" ;;
    *) echo "usage: /usr/bin/cloud-init [-h] [--version] {{init,modules,status}} ..." >&2
       echo "/usr/bin/cloud-init: error: the lab's cloud-init answers --version and status" >&2
       exit 2 ;;
esac
"""
_CLOUD_INIT_UNIT = """\
[Unit]
Description=Initial cloud-init job (metadata service crawler)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart=/usr/bin/cloud-init init
RemainAfterExit=yes
TimeoutSec=0

[Install]
WantedBy=multi-user.target
"""

CATALOGUE: dict[str, Package] = {pkg.name: pkg for pkg in (
    Package("qemu-ga-win", _QGA_VERSION, "1.el8", "noarch", repo="ol8_ovirt45",
            summary="Qemu Guest Agent for Windows", download_size=731_000,
            installed_size=776_000, files=(
                PackageFile(MSI_PATHS["i386"], lambda: msi_bytes("i386", _QGA_VERSION)),
                PackageFile(MSI_PATHS["x86_64"], lambda: msi_bytes("x86_64", _QGA_VERSION)),
                PackageFile("/usr/share/doc/qemu-ga-win/README", _text(_QGA_README)),
            )),
    Package("genisoimage", "1.1.11", "39.el8", "x86_64", repo="ol8_appstream",
            summary="Creates an image of an ISO9660 file-system", download_size=324_000,
            installed_size=1_600_000, commands=(
                Command("mkisofs", "/usr/bin/genisoimage"),
                Command("genisoimage", "/usr/bin/genisoimage"),
            )),
    Package("cloud-init", _CLOUD_INIT_VERSION, _CLOUD_INIT_RELEASE, "noarch",
            repo="ol8_appstream", summary="Cloud instance init scripts",
            download_size=1_100_000, installed_size=4_600_000, files=(
                PackageFile("/etc/cloud/cloud.cfg", _text(_CLOUD_CFG), config=True),
                PackageFile("/usr/bin/cloud-init", _text(_CLOUD_INIT_BIN), 0o755),
                PackageFile("/usr/lib/systemd/system/cloud-init.service",
                            _text(_CLOUD_INIT_UNIT)),
            ), commands=(Command("cloud-init", "/usr/bin/cloud-init", in_sysroot=True),)),
)}


def sync_commands(host: ToolHost, installed: set[str]) -> None:
    """Make ``host``'s ``bin/`` match ``installed``: the programs of installed packages
    linked, those of the others absent, or guarded when the system PATH has them."""
    for pkg in CATALOGUE.values():
        for cmd in pkg.commands:
            path = host.bin_dir / cmd.name
            if os.path.lexists(path) and not (path.is_symlink() or _is_guard(path)):
                continue  # not ours: leave it
            if pkg.name in installed:
                target = str(host.in_sysroot(cmd.target)) if cmd.in_sysroot else cmd.target
                if not (path.is_symlink() and os.readlink(path) == target):
                    path.unlink(missing_ok=True)
                    path.symlink_to(target)
            elif shutil.which(cmd.name, path=SYSTEM_PATH):
                if not _is_guard(path):
                    path.unlink(missing_ok=True)
                    path.write_text(_guard(pkg.name))
                    path.chmod(0o755)
            else:
                path.unlink(missing_ok=True)


def _guard(package: str) -> str:
    return (f"#!/bin/sh\n{GUARD_MARK} (`dnf install {package}` puts the real one here)\n"
            f'echo "$(basename "$0"): command not found" >&2\nexit 127\n')


def _is_guard(path: os.PathLike[str]) -> bool:
    try:
        with open(path, encoding="utf-8") as handle:
            return GUARD_MARK in handle.read(4096)
    except (OSError, UnicodeDecodeError):
        return False
