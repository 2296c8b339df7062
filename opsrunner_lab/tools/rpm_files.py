"""Putting a lab package's files into a sysroot and taking them out again, as rpm does.

Install writes each file (atomically, with its mode) and records its SHA-256 and the folders
it had to make; a config file that exists with other content stays and the package's version
goes to ``FILE.rpmnew``. Remove deletes the files, keeps a changed config file as
``FILE.rpmsave``, and removes the folders the install made when they are empty.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from pathlib import Path

from opsrunner_lab.tools.lab_host import ToolHost, write_if_changed
from opsrunner_lab.tools.lab_packages import Package
from opsrunner_lab.tools.rpmdb import InstalledPackage

# Folders of the ``filesystem`` package (never removed with a package).
FILESYSTEM_DIRS = frozenset({
    "/etc", "/usr", "/usr/bin", "/usr/lib", "/usr/lib/systemd", "/usr/lib/systemd/system",
    "/usr/share", "/usr/share/doc", "/var", "/var/lib"})


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def install_files(host: ToolHost, pkg: Package) -> tuple[InstalledPackage, list[str]]:
    """Write ``pkg``'s files into ``host``'s sysroot; its database record and rpm's warnings."""
    files: dict[str, str] = {}
    config: list[str] = []
    dirs: list[str] = []
    warnings: list[str] = []
    for item in pkg.files:
        target = host.in_sysroot(item.path)
        dirs += _missing_dirs(host, target.parent)
        data = item.content()
        if item.config:
            config.append(item.path)
        if item.config and target.is_file() and target.read_bytes() != data:
            write_if_changed(Path(f"{target}.rpmnew"), data, item.mode)
            warnings.append(f"warning: {item.path} created as {item.path}.rpmnew")
            files[item.path] = sha256(target.read_bytes())
            continue
        write_if_changed(target, data, item.mode)
        files[item.path] = sha256(data)
    record = InstalledPackage(pkg.name, pkg.version, pkg.release, pkg.arch, repo=pkg.repo,
                              install_time=int(time.time()), files=files, config=config,
                              dirs=dirs)
    return record, warnings


def remove_files(host: ToolHost, record: InstalledPackage) -> list[str]:
    """Delete ``record``'s files (a changed config file is kept as ``.rpmsave``) and the
    folders its install made, when empty; rpm's warnings."""
    warnings = []
    for path, digest in record.files.items():
        target = host.in_sysroot(path)
        if not os.path.lexists(target):
            continue
        if (path in record.config and target.is_file()
                and sha256(target.read_bytes()) != digest):
            os.replace(target, f"{target}.rpmsave")
            warnings.append(f"warning: {path} saved as {path}.rpmsave")
        else:
            target.unlink()
    for folder in sorted(record.dirs, key=len, reverse=True):
        with contextlib.suppress(OSError):
            host.in_sysroot(folder).rmdir()
    return warnings


def _missing_dirs(host: ToolHost, folder: Path) -> list[str]:
    """The host paths of ``folder`` and its parents that do not exist yet, top first, but
    for those the ``filesystem`` package owns on a real host."""
    missing = []
    while not folder.exists() and folder != host.sysroot:
        missing.append(host.host_path(folder))
        folder = folder.parent
    return [path for path in missing[::-1] if path not in FILESYSTEM_DIRS]
