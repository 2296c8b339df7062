"""What engine-setup leaves on the lab's engine: the files, their modes and values, never
rebuilt over; the lab's engine-backup dumps a database only when the setup environment
enables it, and otherwise leaves it out silently and exits 0, as the real one does."""

from __future__ import annotations

import configparser
import stat
from pathlib import Path

import pytest

from opsrunner_lab.engine_db import DbConf
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.pki import LabCA
from opsrunner_lab.shell_conf import read_shell_conf
from opsrunner_lab.sysroot_engine import build_engine, db_settings
from opsrunner_lab.sysroot_setup_files import (
    DWH_UUID_CONF,
    PACKAGING_CONF,
    PACKAGING_JBOSS_CONF,
    POST_INSTALL_CONF,
    PROTOCOLS_CONF,
    SETUP_CONF_D,
)
from opsrunner_lab.tools import engine_backup
from opsrunner_lab.tools.backup_run import BackupRun
from opsrunner_lab.tools.otopi_env import ANSWERS_DIR
from opsrunner_lab.tools.setup_conf import setup_enabled


@pytest.fixture
def layout(tmp_path: Path) -> LabLayout:
    lab = LabLayout(tmp_path / "lab", 1, "127.0.99.")
    lab.save()
    build_engine(lab, LabCA(lab.root / "pki").ensure())
    return lab


def _environment(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return dict(parser["environment:default"])


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_setup_environment_enables_engine_and_dwh(layout: LabLayout) -> None:
    root = layout.sysroot(ENGINE)
    post = _environment(root / POST_INSTALL_CONF)
    assert post["OVESETUP_ENGINE_CORE/enable"] == "bool:True"
    assert post["OVESETUP_DWH_CORE/enable"] == "bool:True"
    assert post["OVESETUP_CONFIG/fqdn"] == "str:engine.lab.local"
    assert _environment(root / PACKAGING_CONF)["OVESETUP_CONFIG/validFirewallManagers"] == \
        "str:firewalld"
    assert "OVESETUP_CONFIG/jbossHome" in _environment(root / PACKAGING_JBOSS_CONF)
    for name in (POST_INSTALL_CONF, PACKAGING_CONF, PACKAGING_JBOSS_CONF, PROTOCOLS_CONF,
                 DWH_UUID_CONF):
        assert _mode(root / name) == 0o644, name
    assert _mode(root / SETUP_CONF_D) == 0o755


def test_protocols_name_the_engine_fqdn(layout: LabLayout) -> None:
    values = read_shell_conf(layout.sysroot(ENGINE) / PROTOCOLS_CONF)
    assert values["ENGINE_FQDN"] == "engine.lab.local"
    assert values["ENGINE_AJP_ENABLED"] == "true"
    assert read_shell_conf(layout.sysroot(ENGINE) / DWH_UUID_CONF)["DWH_UUID"]


def test_the_answer_file_matches_the_databases_and_holds_no_password(layout: LabLayout) -> None:
    files = sorted((layout.sysroot(ENGINE) / ANSWERS_DIR).glob("*-setup.conf"))
    assert len(files) == 1 and _mode(files[0]) == 0o600
    answers = _environment(files[0])
    engine, dwh = db_settings(layout, "engine"), db_settings(layout, "dwh")
    assert answers["OVESETUP_DB/host"] == f"str:{engine['ENGINE_DB_HOST']}"
    assert answers["OVESETUP_DB/port"] == f"int:{engine['ENGINE_DB_PORT']}"
    assert answers["OVESETUP_DB/database"] == "str:engine"
    assert answers["OVESETUP_DB/user"] == "str:engine"
    assert answers["OVESETUP_DWH_DB/database"] == f"str:{dwh['DWH_DB_DATABASE']}"
    assert answers["OVESETUP_PROVISIONING/postgresProvisioningEnabled"] == "bool:True"
    text = files[0].read_text()
    assert engine["ENGINE_DB_PASSWORD"] not in text and dwh["DWH_DB_PASSWORD"] not in text


def test_a_rebuild_keeps_changed_files(layout: LabLayout) -> None:
    root = layout.sysroot(ENGINE)
    (root / POST_INSTALL_CONF).write_text("[environment:default]\n")
    build_engine(layout, LabCA(layout.root / "pki").ensure())
    assert (root / POST_INSTALL_CONF).read_text() == "[environment:default]\n"
    assert len(list((root / ANSWERS_DIR).glob("*-setup.conf"))) == 1


def test_setup_enabled_reads_the_folder_in_order(layout: LabLayout) -> None:
    root = layout.sysroot(ENGINE)
    assert setup_enabled(root, "OVESETUP_ENGINE_CORE/enable")
    assert not setup_enabled(root, "OVESETUP_CONFIG/keycloakEnable")
    assert not setup_enabled(root, "OVESETUP_NO/suchKey")
    (root / SETUP_CONF_D / "99-local.conf").write_text(
        "[environment:default]\nOVESETUP_ENGINE_CORE/enable=bool:False\n")
    assert not setup_enabled(root, "OVESETUP_ENGINE_CORE/enable")
    (root / SETUP_CONF_D / "99-local.conf").write_text("not an ini file\n")
    assert not setup_enabled(root, "OVESETUP_DWH_CORE/enable")


def _backup(layout: LabLayout, monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str, list[str]]:
    """engine-backup --mode=backup with the database calls recorded instead of run."""
    dumped: list[str] = []

    def dump(run: BackupRun, conf: DbConf, target: Path, options: object) -> None:
        dumped.append(conf.database)
        target.write_bytes(b"dump")

    monkeypatch.setattr(engine_backup, "notify_engine", lambda *args: None)
    monkeypatch.setattr(engine_backup, "dump_database", dump)
    script = layout.bin_dir(ENGINE) / "engine-backup"
    folder = layout.root / "out"
    folder.mkdir(exist_ok=True)
    status = engine_backup.main(str(script), ["--mode=backup", f"--file={folder}/b.backup",
                                              f"--log={folder}/b.log"])
    out, err = capsys.readouterr()
    return status, out, err, dumped


def test_engine_backup_dumps_both_databases_the_setup_enabled(
        layout: LabLayout, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err, dumped = _backup(layout, monkeypatch, capsys)
    assert (status, err) == (0, "")
    assert dumped == ["engine", "ovirt_engine_history"]
    assert "- Engine database 'engine'\n- DWH database 'ovirt_engine_history'\n" in out


@pytest.mark.parametrize("remove", [POST_INSTALL_CONF, SETUP_CONF_D])
def test_without_the_setup_environment_only_files_are_backed_up_silently(
        layout: LabLayout, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], remove: str) -> None:
    path = layout.sysroot(ENGINE) / remove
    if path.is_dir():
        for child in path.iterdir():
            child.unlink()
        path.rmdir()
    else:
        path.unlink()
    status, out, err, dumped = _backup(layout, monkeypatch, capsys)
    # The real engine-backup's 'engine_enabled' gate: no warning, no FATAL, exit 0.
    assert (status, err, dumped) == (0, "", [])
    lines = out.splitlines()
    assert lines[4:] == ["Backing up:", "- Files", f"Packing into file '{layout.root}/out/b.backup'",
                         "Done."]
    log = (layout.root / "out/b.log").read_text()
    assert "OVESETUP_ENGINE_CORE/enable is not bool:True" in log
