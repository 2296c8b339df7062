"""The engine's and DWH's DB settings from a sysroot, and pgpass files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opsrunner_lab.engine_db import (
    DWH_DB,
    ENGINE_DB,
    DbConf,
    DbConfError,
    has_db_conf,
    pgpass_env,
    read_db_conf,
)


def write(sysroot: Path, relpath: str, text: str) -> Path:
    path = sysroot / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


ENGINE_TEXT = ('ENGINE_DB_HOST="127.0.80.2"\nENGINE_DB_PORT="5432"\nENGINE_DB_USER="engine"\n'
               'ENGINE_DB_PASSWORD="s3cr\\"et"\nENGINE_DB_DATABASE="engine"\n')


def test_engine_conf_read_in_the_tools_order(tmp_path: Path) -> None:
    write(tmp_path, "usr/share/ovirt-engine/conf/engine.conf.defaults",
          'ENGINE_DB_PORT="1"\nENGINE_DB_HOST="localhost"\n')
    write(tmp_path, "etc/ovirt-engine/engine.conf.d/10-setup-database.conf", ENGINE_TEXT)
    write(tmp_path, "etc/ovirt-engine/engine.conf.d/20-override.conf", 'ENGINE_DB_PORT="6432"\n')
    conf = read_db_conf(tmp_path, ENGINE_DB)
    assert conf == DbConf("127.0.80.2", 6432, "engine", "engine", 's3cr"et')
    assert "s3cr" not in repr(conf)
    assert has_db_conf(tmp_path, ENGINE_DB)
    assert not has_db_conf(tmp_path, DWH_DB)


def test_dwh_conf(tmp_path: Path) -> None:
    write(tmp_path, "etc/ovirt-engine-dwh/ovirt-engine-dwhd.conf.d/10-setup-database.conf",
          ENGINE_TEXT.replace("ENGINE_DB", "DWH_DB").replace('"engine"', '"ovirt_engine_history"'))
    conf = read_db_conf(tmp_path, DWH_DB)
    assert (conf.user, conf.database) == ("ovirt_engine_history", "ovirt_engine_history")


def test_missing_settings_are_named(tmp_path: Path) -> None:
    with pytest.raises(DbConfError) as caught:
        read_db_conf(tmp_path, ENGINE_DB)
    assert str(caught.value) == (f"{tmp_path}/etc/ovirt-engine/engine.conf.d: no ENGINE_DB_* "
                                 f"settings: no *.conf file in the folder")
    path = write(tmp_path, "etc/ovirt-engine/engine.conf.d/10-setup-database.conf",
                 'ENGINE_DB_HOST="h"\nENGINE_DB_PASSWORD="pw"\n')
    with pytest.raises(DbConfError) as caught:
        read_db_conf(tmp_path, ENGINE_DB)
    assert str(caught.value) == (f"ENGINE_DB_PORT, ENGINE_DB_USER, ENGINE_DB_DATABASE not set "
                                 f"by {path}")


def test_a_bad_port_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "etc/ovirt-engine/engine.conf.d/10-setup-database.conf",
          ENGINE_TEXT.replace('"5432"', '"54x"'))
    with pytest.raises(DbConfError, match=r"ENGINE_DB_PORT must be a TCP port number \(1-65535\)"):
        read_db_conf(tmp_path, ENGINE_DB)


def test_pgpass_line_escapes_colons_and_backslashes() -> None:
    conf = DbConf("127.0.80.2", 5432, "engine", "engine", "a:b\\c")
    assert conf.pgpass_line() == "127.0.80.2:5432:engine:engine:a\\:b\\\\c\n"


def test_pgpass_env_holds_a_private_file_removed_afterwards() -> None:
    conf = DbConf("h", 5432, "u", "d", "pw")
    with pgpass_env([conf], base={"PGPASSWORD": "old", "PATH": "/bin"}) as env:
        path = Path(env["PGPASSFILE"])
        assert path.read_text() == "h:5432:d:u:pw\n"
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700
        assert env == {"PATH": "/bin", "PGPASSFILE": str(path)}
    assert not path.exists()
    assert not path.parent.exists()
    assert "PGPASSFILE" not in os.environ
