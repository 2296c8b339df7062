"""engine-backup on a lab engine finds both databases from what engine-setup left (the setup
environment in ``ovirt-engine-setup.conf.d`` and the ``10-setup-database.conf`` files), and
without them backs up the files only, silently, exit 0, as the real one does."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_lab import EngineLab, running_engine_lab

from opsrunner_lab.sysroot_engine import ENGINE_DB_CONF
from opsrunner_lab.sysroot_setup_files import POST_INSTALL_CONF, PROTOCOLS_CONF, SETUP_CONF_D

PREFIX = "127.0.132."


@pytest.fixture(scope="module")
def lab() -> Iterator[EngineLab]:
    with running_engine_lab(PREFIX) as engine_lab:
        yield engine_lab


@contextlib.contextmanager
def moved_aside(lab: EngineLab, relative: str) -> Iterator[None]:
    path = lab.sysroot / relative
    aside = lab.layout.root / "aside" / path.name
    aside.parent.mkdir(exist_ok=True)
    shutil.move(path, aside)
    try:
        yield
    finally:
        shutil.move(aside, path)


def backup(lab: EngineLab, name: str) -> tuple[subprocess.CompletedProcess[str], dict[str, int]]:
    """A backup into the lab's root; the archive's members and their sizes."""
    file = lab.layout.root / f"{name}.backup"
    done = lab.run("engine-backup", "--mode=backup", "--scope=all", f"--file={file}",
                   f"--log={lab.layout.root / name}.log")
    assert done.returncode == 0, done.stderr
    with tarfile.open(file) as tar:
        return done, {member.name.removeprefix("./"): member.size for member in tar.getmembers()}


def test_both_databases_come_from_the_setup_files(lab: EngineLab) -> None:
    done, members = backup(lab, "full")
    assert "- Engine database 'engine'\n- DWH database 'ovirt_engine_history'\n" in done.stdout
    assert members["db/engine_backup.db"] > 0 and members["db/dwh_backup.db"] > 0
    assert done.stderr == ""
    for name in (POST_INSTALL_CONF, PROTOCOLS_CONF):
        assert (lab.sysroot / name).is_file()


@pytest.mark.parametrize("remove", [POST_INSTALL_CONF, SETUP_CONF_D])
def test_without_the_setup_environment_only_files_are_backed_up(
        lab: EngineLab, remove: str) -> None:
    with moved_aside(lab, remove):
        done, members = backup(lab, f"no-setup-{Path(remove).name}")
    assert "database" not in done.stdout and done.stderr == ""
    lines = done.stdout.splitlines()
    assert "- Files" in lines and lines[-3].startswith("Packing into file")
    assert lines[-2:] == ["Notifying engine", "Done."]  # the engine DB user is still set
    assert "db/engine_backup.db" not in members and "db/dwh_backup.db" not in members
    assert members["files"] > 0


def test_without_the_engine_db_settings_only_dwh_is_backed_up(lab: EngineLab) -> None:
    with moved_aside(lab, ENGINE_DB_CONF):
        done, members = backup(lab, "no-engine-db")
    assert "- Engine database" not in done.stdout and "Notifying engine" not in done.stdout
    assert "- DWH database 'ovirt_engine_history'" in done.stdout
    assert "db/engine_backup.db" not in members and members["db/dwh_backup.db"] > 0
