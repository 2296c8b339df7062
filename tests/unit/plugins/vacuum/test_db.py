"""Engine database settings, sizes and the pgpass hand-over, on a local sysroot."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from opsrunner import TaskFailed
from opsrunner.testing import MakeTask
from opsrunner_plugins.vacuum import db

CONF = "/etc/ovirt-engine/engine.conf.d/10-setup-database.conf"
SIZES = "postgres|7455 kB|7634279\nengine|30 MB|31645031\novirt_engine_history|17 MB|17546599\n"


def write_conf(root: Path, text: str) -> None:
    path = root / CONF.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_parse_sizes_reads_name_pretty_and_bytes() -> None:
    sizes = db.parse_sizes(SIZES)
    assert sizes["engine"] == db.DbSize("engine", 31645031, "30 MB")
    assert sorted(sizes) == ["engine", "ovirt_engine_history", "postgres"]


def test_parse_sizes_refuses_psql_errors_with_the_error() -> None:
    with pytest.raises(ValueError, match='no database sizes in the output: ERROR:  relation '
                                         '"pg_databse" does not exist'):
        db.parse_sizes('ERROR:  relation "pg_databse" does not exist\nLINE 1: ...\n')
    with pytest.raises(ValueError, match="no output"):
        db.parse_sizes("")


def test_settings_are_sourced_as_shell_and_the_password_kept_out_of_repr(
        make_task: MakeTask, tmp_path: Path) -> None:
    write_conf(tmp_path, 'ENGINE_DB_HOST="localhost"\nENGINE_DB_PORT="5432"\n'
                         'ENGINE_DB_USER="engine"\nENGINE_DB_DATABASE="engine"\n'
                         'ENGINE_DB_PASSWORD="p@ss:w\\"ord"\n'
                         'ENGINE_DB_URL="jdbc:postgresql://${ENGINE_DB_HOST}:5432/engine"\n')
    settings = db.read_settings(make_task(), CONF, "ENGINE")
    assert settings == db.DbSettings("localhost", 5432, "engine", "engine", 'p@ss:w"ord')
    assert "ord" not in repr(settings)
    assert settings.pgpass_line() == 'localhost:5432:engine:engine:p@ss\\:w"ord'


def test_missing_conf_means_not_set_up_and_an_incomplete_one_fails(
        make_task: MakeTask, tmp_path: Path) -> None:
    assert db.read_settings(make_task(), CONF, "ENGINE") is None
    write_conf(tmp_path, 'ENGINE_DB_HOST="localhost"\nENGINE_DB_PASSWORD="secret"\n')
    with pytest.raises(TaskFailed) as failed:
        db.read_settings(make_task(), CONF, "ENGINE")
    assert str(failed.value) == (f"{CONF} does not set ENGINE_DB_PORT, ENGINE_DB_USER, "
                                 "ENGINE_DB_DATABASE")
    assert "secret" not in str(failed.value)


def test_the_password_reaches_the_client_in_a_private_pgpass_file_removed_after(
        make_task: MakeTask) -> None:
    settings = db.DbSettings("db.example", 5432, "engine", "engine", "s3cret")
    res = db.run_with_password(make_task(), settings, 'stat -c %a "$PGPASSFILE"; '
                               'cat "$PGPASSFILE"; echo "$PGPASSFILE"; env | grep -c s3cret')
    mode, line, path, in_env = res.stdout.split("\n")[:4]
    assert (mode, line, in_env) == ("600", "db.example:5432:engine:engine:s3cret", "0")
    assert not Path(path).exists() and not Path(path).parent.exists()


def test_pg_bin_dir_is_checked_or_found(make_task: MakeTask, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "opt/pg/bin"
    folder.mkdir(parents=True)
    (folder / "pg_dump").write_text("#!/bin/sh\n")
    (folder / "pg_dump").chmod(stat.S_IRWXU)
    assert db.pg_bin_dir(make_task(), "/opt/pg/bin") == str(folder)
    with pytest.raises(TaskFailed, match="pg_bin_dir: /opt/none/pg_dump is not an executable"):
        db.pg_bin_dir(make_task(), "/opt/none")
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")
    assert db.pg_bin_dir(make_task(), None) == str(folder)
