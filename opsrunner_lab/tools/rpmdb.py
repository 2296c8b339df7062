"""The lab's RPM database and ``rpm -q``.

A host's installed lab packages live in ``<sysroot>/var/lib/rpm/opsrunner-lab.json`` (name,
version, release, arch, repository, install time, the files with their SHA-256, the config
files and the folders the install made). ``rpm -q NAME...``, ``rpm -qa [PATTERN...]`` and
``rpm -qf FILE...`` answer like the real rpm: one line per argument, ``package X is not
installed`` / ``file X is not owned by any package``, and the number of misses as exit status.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from opsrunner_lab.tools.common import ToolError
from opsrunner_lab.tools.lab_host import tool_host, write_if_changed

STATE = "var/lib/rpm/opsrunner-lab.json"
LOCK = "var/lib/rpm/.opsrunner-lab.lock"


@dataclass(frozen=True)
class Nevra:
    """A package's name, version, release and architecture."""

    name: str
    version: str
    release: str
    arch: str

    @property
    def evr(self) -> str:
        return f"{self.version}-{self.release}"

    @property
    def nevra(self) -> str:
        return f"{self.name}-{self.evr}.{self.arch}"

    def matches(self, spec: str) -> bool:
        """Whether ``spec`` names this package as dnf reads it: ``name``, ``name.arch``,
        ``name-version``, ``name-version-release`` or the full NEVRA, with shell globs."""
        forms = (self.name, f"{self.name}.{self.arch}", f"{self.name}-{self.version}",
                 f"{self.name}-{self.evr}", self.nevra)
        return any(fnmatchcase(form, spec) for form in forms)


@dataclass(frozen=True)
class InstalledPackage(Nevra):
    """A package as the database records it (``files``: host path -> SHA-256)."""

    repo: str = ""
    install_time: int = 0
    files: dict[str, str] = field(default_factory=dict)
    config: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)


@dataclass
class RpmDb:
    """The installed packages of one sysroot, in install order."""

    sysroot: Path
    packages: dict[str, InstalledPackage] = field(default_factory=dict)
    metadata_time: int = 0

    @classmethod
    def load(cls, sysroot: Path) -> RpmDb:
        """The database of ``sysroot`` (empty when there is none yet)."""
        path = sysroot / STATE
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            return cls(sysroot, {}, int(time.time()))
        except ValueError as exc:
            raise ToolError(f"{path}: not a lab RPM database ({exc})") from None
        packages = {name: InstalledPackage(**record)
                    for name, record in data.get("packages", {}).items()}
        return cls(sysroot, packages, int(data.get("metadata_time", time.time())))

    def save(self) -> None:
        data = {"metadata_time": self.metadata_time,
                "packages": {name: asdict(pkg) for name, pkg in self.packages.items()}}
        write_if_changed(self.sysroot / STATE, (json.dumps(data, indent=1) + "\n").encode())

    def owner(self, host_path: str) -> InstalledPackage | None:
        """The package that installed ``host_path``, if any."""
        return next((pkg for pkg in self.packages.values()
                     if host_path in pkg.files or host_path in pkg.dirs), None)


@contextlib.contextmanager
def locked(sysroot: Path) -> Iterator[None]:
    """Hold the sysroot's package lock (one transaction at a time, as rpm's own lock)."""
    path = sysroot / LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def is_installed(sysroot: Path, name: str) -> bool:
    """Whether the lab package ``name`` is installed in ``sysroot``."""
    return name in RpmDb.load(sysroot).packages


def rpm_main(script: str, args: list[str]) -> int:
    """``rpm -q``/``-qa``/``-qf``; exit status = the number of arguments not found."""
    letters: set[str] = set()
    operands: list[str] = []
    for word in args:
        if word in ("--query", "--all", "--file"):
            letters.add(word[2])
        elif word.startswith("-") and len(word) > 1 and not word.startswith("--"):
            letters.update(word[1:])
        elif word.startswith("--"):
            return _usage(word)
        else:
            operands.append(word)
    if "q" not in letters or not letters <= {"q", "a", "f"}:
        return _usage(" ".join(args) or "(no arguments)")
    try:
        host = tool_host(script)
        db = RpmDb.load(host.sysroot)
    except ToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if "a" in letters:
        for pkg in db.packages.values():
            if not operands or any(pkg.matches(spec) for spec in operands):
                print(pkg.nevra)
        return 0
    if not operands:
        print("rpm: no arguments given for query", file=sys.stderr)
        return 1
    misses = 0
    for operand in operands:
        found, line = _query_file(db, operand) if "f" in letters else _query_name(db, operand)
        misses += not found
        print(line, file=sys.stderr if line.startswith("error: ") else sys.stdout)
    return min(misses, 255)


def _query_name(db: RpmDb, spec: str) -> tuple[bool, str]:
    found = [pkg.nevra for pkg in db.packages.values() if pkg.matches(spec)]
    return (True, "\n".join(found)) if found else (False, f"package {spec} is not installed")


def _query_file(db: RpmDb, path: str) -> tuple[bool, str]:
    host_path = "/" + path.strip("/")
    if not path.startswith("/") or not os.path.lexists(db.sysroot / host_path.lstrip("/")):
        return False, f"error: file {path}: No such file or directory"
    owner = db.owner(host_path)
    return (True, owner.nevra) if owner else (
        False, f"file {host_path} is not owned by any package")


def _usage(what: str) -> int:
    print(f"rpm: {what}: not supported by the lab's rpm (it answers queries: -q NAME..., "
          f"-qa [PATTERN...], -qf FILE...)", file=sys.stderr)
    return 1
