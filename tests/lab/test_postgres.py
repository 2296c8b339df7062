"""The lab's PostgreSQL 15: initdb, the engine-address-only server, provisioning from the conf
files (roles, passwords, seeded databases), restart and stop by pid."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_lab import PgLab, PgTestLayout, psql_tcp, query, require_postgres, running_pg_lab

from opsrunner_lab.daemon import LabServerError
from opsrunner_lab.engine_db import DWH_DB, ENGINE_DB, DbConf, pg_bin
from opsrunner_lab.pg_cluster import PgCluster
from opsrunner_lab.postgres import postgresql_unit, provision, seeded_stamp
from opsrunner_lab.processes import pid_alive

ADDRESS = "127.0.84.2"


@pytest.fixture(scope="module")
def pg() -> Iterator[PgLab]:
    with running_pg_lab(ADDRESS) as lab:
        yield lab


def test_first_provisioning_creates_the_roles_and_seeds_both_databases(pg: PgLab) -> None:
    assert pg.changes == ["role engine created", "database engine seeded",
                          "role ovirt_engine_history created",
                          "database ovirt_engine_history seeded"]
    assert seeded_stamp(pg.layout, ENGINE_DB).is_file()
    assert seeded_stamp(pg.layout, DWH_DB).is_file()


def test_roles_log_in_over_tcp_on_the_engine_address_with_the_conf_passwords(pg: PgLab) -> None:
    assert query(pg.engine, "select current_user, current_database(), inet_server_addr(), "
                            "current_setting('listen_addresses')") == \
        f"engine|engine|{ADDRESS}|{ADDRESS}"
    assert query(pg.dwh, "select current_user, current_database()") == \
        "ovirt_engine_history|ovirt_engine_history"


def test_a_wrong_password_is_refused(pg: PgLab) -> None:
    wrong = DbConf(pg.engine.host, pg.engine.port, "engine", "engine", "not-the-password")
    done = psql_tcp(wrong, "select 1")
    assert done.returncode == 2
    assert 'password authentication failed for user "engine"' in done.stderr


def test_only_the_postgres_os_user_may_use_the_socket(pg: PgLab) -> None:
    cluster = PgCluster(pg.layout)
    done = subprocess.run([pg_bin("psql"), "-X", "-w", "-h", str(cluster.socket_dir),
                           "-U", "engine", "-d", "engine", "-c", "select 1"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert 'no pg_hba.conf entry for host "[local]", user "engine"' in done.stderr
    assert cluster.psql("select current_user;").strip() == "postgres"


def test_the_databases_are_owned_by_their_roles_and_hold_the_seed(pg: PgLab) -> None:
    assert query(pg.engine, "select pg_get_userbyid(datdba) from pg_database "
                            "where datname = 'engine'") == "engine"
    assert query(pg.engine, "select count(*) from audit_log") == "10000"
    assert query(pg.engine, "select count(*) from job") == "800"
    assert query(pg.engine, "select count(*) from step") == "2400"
    assert query(pg.engine, "select count(*) from vds_static where host_name = "
                            f"'{ADDRESS.rsplit('.', 1)[0]}.11'") == "1"
    assert query(pg.engine, "select tableowner from pg_tables where tablename = 'vm_static'") \
        == "engine"
    assert query(pg.dwh, "select count(*) from vm_samples_history") == "9600"
    assert query(pg.dwh, "select count(*) from host_samples_history") == "2000"


def test_the_bloated_tables_keep_their_dead_rows(pg: PgLab) -> None:
    """Autovacuum is off on them, so the deleted 80% stays on disk until a vacuum."""
    options = query(pg.engine, "select reloptions from pg_class where relname = 'audit_log'")
    assert options == "{autovacuum_enabled=false}"
    sizes = query(pg.engine, "create temp table live as select * from audit_log; "
                             "select pg_relation_size('audit_log') / pg_relation_size('live')")
    assert int(sizes.splitlines()[-1]) >= 4  # 50 000 rows' worth of pages for 10 000 rows


def test_the_marker_table_takes_rows(pg: PgLab) -> None:
    note = query(pg.engine, "insert into opsrunner_marker (note) values ('provisioned') "
                            "returning note")
    assert note.splitlines()[0] == "provisioned"


def test_provisioning_again_changes_nothing_and_does_not_reseed(pg: PgLab) -> None:
    query(pg.engine, "delete from vm_static where vm_name = 'vm07'")
    assert provision(pg.layout) == []
    assert query(pg.engine, "select count(*) from vm_static where vm_name like 'vm%'") == "23"


def test_a_changed_conf_password_is_applied_by_the_next_provisioning(pg: PgLab) -> None:
    later = pg.sysroot / "etc/ovirt-engine/engine.conf.d/20-rotated.conf"
    rotated = DbConf(pg.engine.host, pg.engine.port, "engine", "engine", "rotated-Pa55word")
    later.write_text(f'ENGINE_DB_PASSWORD="{rotated.password}"\n')
    try:
        assert provision(pg.layout) == ["role engine password set"]
        assert query(rotated, "select current_user") == "engine"
        assert psql_tcp(pg.engine, "select 1").returncode == 2
    finally:
        later.unlink()
        provision(pg.layout)
    assert query(pg.engine, "select current_user") == "engine"


def test_restart_keeps_the_data_and_stop_leaves_no_process(pg: PgLab) -> None:
    """A connected client does not hold the stop up (fast shutdown); a stale lock file does
    not block the next start."""
    with subprocess.Popen([pg_bin("psql"), "-X", "-h", str(PgCluster(pg.layout).socket_dir),
                           "-U", "postgres", "-d", "postgres"], stdin=subprocess.PIPE,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          user="postgres", group="postgres", extra_groups=[]) as client:
        assert client.stdin is not None
        client.stdin.write(b"select 1;\n")
        client.stdin.flush()
        query(pg.engine, "insert into opsrunner_marker (note) values ('before the restart')")
        pids = pg.server_pids()
        assert len(pids) >= 5  # postmaster, checkpointer, bgwriter, walwriter, launchers...
        assert pg.unit.stop() is True
        assert [pid for pid in pids if pid_alive(pid)] == []
        assert not pg.unit.is_active()
        client.stdin.close()
    log = pg.unit.daemon.logfile.read_text()
    assert "received fast shutdown request" in log
    cluster = PgCluster(pg.layout)
    # A lock file left by a killed server, naming a pid now used by another postgres process.
    with subprocess.Popen(["sleep", "60"], user="postgres", group="postgres",
                          extra_groups=[]) as other:
        try:
            (cluster.data_dir / "postmaster.pid").write_text(f"{other.pid}\n{cluster.data_dir}\n")
            pg.unit.start()
        finally:
            other.kill()
    assert query(pg.engine, "select count(*) from opsrunner_marker "
                            "where note = 'before the restart'") == "1"


def test_a_lab_folder_postgres_cannot_reach_is_refused_with_the_fix() -> None:
    require_postgres()
    with tempfile.TemporaryDirectory(prefix="opsrunner-pg-closed-") as closed:
        Path(closed).chmod(0o700)
        layout = PgTestLayout(Path(closed) / "lab", "127.0.84.9")
        with pytest.raises(LabServerError) as caught:
            postgresql_unit(layout).start()
    assert str(caught.value) == (
        f"PostgreSQL runs as user postgres, which cannot enter {closed} on the way to "
        f"{closed}/lab/hosts/engine/pgdata; put the lab in a folder postgres can traverse "
        f"(e.g. --dir /var/lib/opsrunner/lab) or allow it: chmod o+x {closed}")


def test_a_socket_path_too_long_for_unix_sockets_is_refused(tmp_path: Path) -> None:
    require_postgres()
    layout = PgTestLayout(tmp_path / ("x" * 80), "127.0.84.9")
    with pytest.raises(LabServerError, match=r"longer than 107 bytes"):
        postgresql_unit(layout).start()
