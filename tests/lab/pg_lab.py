"""A running lab PostgreSQL for the tests: conf files with random passwords, the unit started
and provisioned, the DB tools installed; and psql over TCP with a pgpass file.

The engine gets a test-only loopback address (not the lab's 127.0.80.2), so these tests never
clash with a lab that is up on this machine.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from opsrunner_lab.engine_db import PG_BIN_DIR, DbConf, pg_bin, pgpass_env
from opsrunner_lab.layout import ENGINE, LabHost, LabLayout
from opsrunner_lab.postgres import install_db_tools, postgresql_unit, provision
from opsrunner_lab.processes import child_pids, pid_alive
from opsrunner_lab.unit import Unit

ENGINE_CONF = "etc/ovirt-engine/engine.conf.d/10-setup-database.conf"
DWH_CONF = "etc/ovirt-engine-dwh/ovirt-engine-dwhd.conf.d/10-setup-database.conf"


class PgTestLayout(LabLayout):
    """A lab layout whose engine answers on ``address`` (one KVM host)."""

    def __init__(self, root: Path, address: str) -> None:
        super().__init__(root, kvm_hosts=1)
        self.address = address

    def hosts(self) -> list[LabHost]:
        return [LabHost(ENGINE, "engine", self.address),
                LabHost("kvm1", "kvm", self.address.rsplit(".", 1)[0] + ".11")]


@dataclass
class PgLab:
    layout: PgTestLayout
    unit: Unit
    engine: DbConf
    dwh: DbConf
    changes: list[str] = field(default_factory=list)

    @property
    def sysroot(self) -> Path:
        return self.layout.sysroot(ENGINE)

    def server_pids(self) -> list[int]:
        pid = self.unit.daemon.pid()
        return [] if pid is None else [pid, *child_pids(pid)]


def require_postgres() -> None:
    if os.geteuid() != 0:
        pytest.skip("the lab's PostgreSQL needs root (it runs the server as user postgres)")
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("PostgreSQL 15 is not installed (no postgres user)")
    if not (PG_BIN_DIR / "postgres").is_file():
        pytest.skip(f"PostgreSQL 15 is not installed (no {PG_BIN_DIR}/postgres)")


def write_db_confs(layout: LabLayout) -> tuple[DbConf, DbConf]:
    """Write the engine's and DWH's 10-setup-database.conf (random passwords) as engine-setup
    does; return the two connections."""
    address = layout.engine_address
    engine = DbConf(address, 5432, "engine", "engine", secrets.token_urlsafe(18) + '"$\\:')
    dwh = DbConf(address, 5432, "ovirt_engine_history", "ovirt_engine_history",
                 secrets.token_urlsafe(18))
    for conf, prefix, relpath in ((engine, "ENGINE", ENGINE_CONF), (dwh, "DWH", DWH_CONF)):
        path = layout.sysroot(ENGINE) / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        password = conf.password.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
        path.write_text(
            f'{prefix}_DB_HOST="{conf.host}"\n{prefix}_DB_PORT="{conf.port}"\n'
            f'{prefix}_DB_USER="{conf.user}"\n{prefix}_DB_PASSWORD="{password}"\n'
            f'{prefix}_DB_DATABASE="{conf.database}"\n{prefix}_DB_SECURED="False"\n'
            f'{prefix}_DB_SECURED_VALIDATION="False"\n'
            f'{prefix}_DB_DRIVER="org.postgresql.Driver"\n'
            f'{prefix}_DB_URL="jdbc:postgresql://${{{prefix}_DB_HOST}}:${{{prefix}_DB_PORT}}/'
            f'${{{prefix}_DB_DATABASE}}?sslfactory=org.postgresql.ssl.NonValidatingFactory"\n')
        path.chmod(0o600)
    return engine, dwh


def psql_tcp(conf: DbConf, sql: str) -> subprocess.CompletedProcess[str]:
    """``psql -c sql`` over TCP as ``conf.user`` with ``conf.password`` (pgpass file)."""
    with pgpass_env([conf]) as env:
        return subprocess.run([pg_bin("psql"), "-X", "-A", "-t", "-w", "-h", conf.host,
                               "-p", str(conf.port), "-U", conf.user, "-d", conf.database,
                               "-c", sql], env=env, capture_output=True, text=True, check=False)


def query(conf: DbConf, sql: str) -> str:
    """The output of ``sql`` (one value per line); fails the test on a psql error."""
    done = psql_tcp(conf, sql)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@contextmanager
def running_pg_lab(address: str) -> Iterator[PgLab]:
    """A provisioned lab PostgreSQL on ``address``; stopped (no process left) afterwards."""
    require_postgres()
    base = Path(tempfile.mkdtemp(prefix="opsrunner-pg-"))
    base.chmod(0o711)  # postgres must traverse down to its data folder
    layout = PgTestLayout(base / "lab", address)
    engine, dwh = write_db_confs(layout)
    unit = postgresql_unit(layout)
    lab = PgLab(layout, unit, engine, dwh)
    try:
        unit.start()
        lab.changes = provision(layout)
        install_db_tools(layout)
        yield lab
    finally:
        pids = lab.server_pids()
        unit.stop()
        shutil.rmtree(base, ignore_errors=True)
        survivors = [pid for pid in pids if pid_alive(pid)]
        assert not survivors, f"postgres processes survived stop(): {survivors}"
