"""Idempotent file-tree primitives for the lab's sysroots, and the Oracle Linux identity files.

Each primitive creates what is missing and leaves what exists alone (content, mode and
owner), so rebuilding a sysroot keeps every change a workflow made. Modes are set
explicitly, whatever the umask.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

Content = str | bytes | Callable[[], str | bytes]

# Oracle Linux release of each major version the lab's hosts and guests run.
RELEASES = {6: "6.10", 7: "7.9", 8: "8.8", 9: "9.4"}
LAB_DOMAIN = "lab.local"


def fqdn(host: str) -> str:
    """The lab host's fully qualified name: ``engine`` -> ``engine.lab.local``."""
    return f"{host}.{LAB_DOMAIN}"


def ensure_dir(path: Path, mode: int = 0o755, owner: tuple[int, int] | None = None) -> Path:
    """Create ``path`` (missing parents 0755) with ``mode`` and numeric ``owner`` (uid, gid)."""
    if path.is_dir():
        return path
    if not path.parent.is_dir():
        ensure_dir(path.parent)
    path.mkdir()
    os.chmod(path, mode)
    if owner is not None:
        os.chown(path, *owner)
    return path


def ensure_file(path: Path, content: Content, mode: int = 0o644,
                owner: tuple[int, int] | None = None) -> bool:
    """Write ``path`` unless it exists (even as a dangling link); True if written.

    ``content`` may be a callable, called only when the file is written (e.g. key generation).
    """
    if os.path.lexists(path):
        return False
    ensure_dir(path.parent)
    data = content() if callable(content) else content
    raw = data.encode() if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)
        if owner is not None:
            os.fchown(fd, *owner)
        os.write(fd, raw)
    finally:
        os.close(fd)
    return True


def ensure_symlink(path: Path, target: str) -> bool:
    """Make ``path`` a symlink to ``target`` (kept as given, e.g. relative) unless it exists."""
    if os.path.lexists(path):
        return False
    ensure_dir(path.parent)
    path.symlink_to(target)
    return True


def shell_conf(values: dict[str, str]) -> str:
    """``KEY="value"`` lines, one per item, as the engine's ``*.conf`` files hold them."""
    return "".join(f'{key}="{value}"\n' for key, value in values.items())


def write_os_identity(root: Path, major: int, hostname: str | None = None) -> None:
    """``/etc/oracle-release`` (and ``os-release`` from OL 7, ``/etc/hostname`` if given)."""
    version = RELEASES[major]
    minor = version.split(".")[1]
    etc = root / "etc"
    ensure_file(etc / "oracle-release", f"Oracle Linux Server release {version}\n")
    ensure_symlink(etc / "system-release", "oracle-release")
    if major >= 7:
        ensure_file(etc / "os-release", _os_release(major, minor))
    if hostname is not None:
        ensure_file(etc / "hostname", hostname + "\n")


def _os_release(major: int, minor: str) -> str:
    version = f"{major}.{minor}"
    lines = [
        'NAME="Oracle Linux Server"',
        f'VERSION="{version}"',
        'ID="ol"',
        'ID_LIKE="fedora"',
        'VARIANT="Server"',
        'VARIANT_ID="server"',
        f'VERSION_ID="{version}"',
        *([f'PLATFORM_ID="platform:el{major}"'] if major >= 8 else []),
        f'PRETTY_NAME="Oracle Linux Server {version}"',
        'ANSI_COLOR="0;31"',
        f'CPE_NAME="cpe:/o:oracle:linux:{major}:{minor}:server"',
        'HOME_URL="https://linux.oracle.com/"',
        'BUG_REPORT_URL="https://github.com/oracle/oracle-linux"',
        "",
        f'ORACLE_BUGZILLA_PRODUCT="Oracle Linux {major}"',
        f"ORACLE_BUGZILLA_PRODUCT_VERSION={version}",
        'ORACLE_SUPPORT_PRODUCT="Oracle Linux"',
        f"ORACLE_SUPPORT_PRODUCT_VERSION={version}",
    ]
    return "\n".join(lines) + "\n"
