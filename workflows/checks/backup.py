"""Checks after workflows/backup.yml: the archive (``backup_file``, else the newest
default-named one in ``backup_dir``) is there with mode 0600, engine-backup --mode=verify
passes on it, and every line of its sha256sum member matches the member it names."""

from __future__ import annotations

import shlex
from typing import Any

import pytest

BACKUP_DIR = "/var/lib/ovirt-engine-backup"


@pytest.fixture
def archive(host: Any, hostvars: dict[str, Any], host_path: Any) -> str:
    """The archive's path on the host."""
    if hostvars.get("backup_file"):
        return str(host_path(hostvars["backup_file"]))
    folder = host_path(hostvars.get("backup_dir", BACKUP_DIR))
    newest = host.run(f"ls -1t {shlex.quote(folder)}/ovirt-engine-backup-*.backup 2>/dev/null "
                      "| head -n 1").stdout.strip()
    assert newest, f"no ovirt-engine-backup-*.backup in {folder}"
    return str(newest)


def test_archive_is_a_private_file(host: Any, archive: str) -> None:
    found = host.file(archive)
    assert found.is_file, f"{archive} is missing"
    assert found.mode == 0o600, f"{archive} has mode {found.mode:04o}, not 0600"


def test_engine_backup_verifies_it(host: Any, archive: str, hostvars: dict[str, Any]) -> None:
    tool = hostvars.get("engine_backup_command", "engine-backup")
    res = host.run(f"l=$(mktemp) || exit 1; {tool} --mode=verify --file={shlex.quote(archive)} "
                   "--log=\"$l\" </dev/null; s=$?; rm -f \"$l\"; exit $s")
    assert res.rc == 0, f"engine-backup --mode=verify: {(res.stderr or res.stdout).strip()}"


def test_its_sha256sum_member_matches(host: Any, archive: str) -> None:
    res = host.run(f"d=$(mktemp -d) || exit 1; trap 'rm -rf \"$d\"' EXIT; "
                   f"tar -xf {shlex.quote(archive)} -C \"$d\" && cd \"$d\" && "
                   "test -s sha256sum && sha256sum --check --strict sha256sum")
    assert res.rc == 0, f"sha256sum --check: {(res.stdout + res.stderr).strip()[-500:]}"
