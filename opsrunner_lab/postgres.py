"""The lab's ``postgresql`` service on the engine host, and the databases it provisions.

``postgresql_unit(layout)`` is the unit the lab's ``systemctl`` starts and stops (its
``prepare`` runs initdb once). ``provision(layout)`` is what ``opsrunner lab up`` runs after
the services are up, as ``engine-setup`` would: the roles and databases named in the engine's
and DWH's conf files, with their passwords, and the lab's seeded schema.
``install_db_tools(layout)`` installs ``engine-psql.sh``, ``engine-vacuum.sh`` and
``dwh-vacuum.sh`` into the sysroot.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path

from opsrunner_lab.daemon import Daemon
from opsrunner_lab.db_tools import install_db_tools
from opsrunner_lab.engine_db import PRODUCTS, DbConf, DbProduct, has_db_conf, read_db_conf
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.pg_cluster import PORT, PgCluster
from opsrunner_lab.pg_scram import scram_verifier, verifier_matches
from opsrunner_lab.pg_seed import seed_sql, sql_ident, sql_literal
from opsrunner_lab.processes import child_pids, pid_alive, start_time
from opsrunner_lab.unit import Unit

__all__ = ["PostgresDaemon", "install_db_tools", "postgresql_unit", "provision", "seeded_stamp"]


class PostgresDaemon(Daemon):
    """The postmaster, stopped as the real unit does (``KillSignal=SIGINT``: fast shutdown,
    clients disconnected). Its children run in their own process groups, so any left after
    a forced stop are killed by pid."""

    def stop(self, timeout: float = 10.0) -> bool:
        pid = self.pid()
        if pid is None:
            return super().stop(timeout)
        children = {child: start_time(child) for child in child_pids(pid)}
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # our own child: leave no zombie
            time.sleep(0.05)
        super().stop(timeout)
        for child, started in children.items():
            if pid_alive(child) and start_time(child) == started:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
        return True


def postgresql_unit(layout: LabLayout) -> Unit:
    """``postgresql.service``: PostgreSQL 15 as user postgres on the engine's address."""
    cluster = PgCluster(layout)
    daemon = PostgresDaemon("postgresql", cluster.argv(), cluster.pidfile, cluster.logfile,
                            ready=cluster.ready, cwd=Path("/"),
                            env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"})
    return Unit("postgresql", daemon, "PostgreSQL RDBMS", prepare=cluster.prepare,
                ports={"postgresql": PORT})


def provision(layout: LabLayout) -> list[str]:
    """Make the conf files' roles and databases ready (starting postgresql if it is down).

    Idempotent: a role is created, or its password set when the conf file's no longer
    matches; each database is created and seeded once per cluster (a stamp in the data
    folder), so a database a workflow emptied or dropped stays that way. A product whose
    conf files are gone (after engine-cleanup) is skipped. Returns what it changed.
    """
    postgresql_unit(layout).start()
    cluster = PgCluster(layout)
    sysroot = layout.sysroot(ENGINE)
    kvm_hosts = [(host.name, host.address) for host in layout.hosts() if host.role == "kvm"]
    changes: list[str] = []
    for product in PRODUCTS:
        if has_db_conf(sysroot, product):
            conf = read_db_conf(sysroot, product)
            changes += _ensure_role(cluster, conf)
            changes += _seed_once(cluster, conf, product, kvm_hosts)
    return changes


def seeded_stamp(layout: LabLayout, product: DbProduct) -> Path:
    """The file that records that ``product``'s database was seeded in this cluster."""
    return _stamp(PgCluster(layout), product)


def _stamp(cluster: PgCluster, product: DbProduct) -> Path:
    return cluster.data_dir / f"opsrunner-seeded-{product.name}"


def _ensure_role(cluster: PgCluster, conf: DbConf) -> list[str]:
    found = cluster.psql(f"SELECT 'role:' || coalesce(rolpassword, '') FROM pg_authid "
                         f"WHERE rolname = {sql_literal(conf.user)};",
                         what=f"reading role {conf.user}").strip()
    stored = found.removeprefix("role:")
    if found and verifier_matches(stored, conf.password):
        return []
    password = sql_literal(scram_verifier(conf.password)) if conf.password else "NULL"
    verb = "ALTER" if found else "CREATE"
    cluster.psql(f"{verb} ROLE {sql_ident(conf.user)} WITH LOGIN PASSWORD {password};",
                 what=f"{verb} ROLE {conf.user}")
    return [f"role {conf.user} {'password set' if found else 'created'}"]


def _seed_once(cluster: PgCluster, conf: DbConf, product: DbProduct,
               kvm_hosts: Sequence[tuple[str, str]]) -> list[str]:
    stamp = _stamp(cluster, product)
    if stamp.exists():
        return []
    exists = cluster.psql(f"SELECT 1 FROM pg_database WHERE datname = "
                          f"{sql_literal(conf.database)};").strip()
    if not exists:
        cluster.psql(f"CREATE DATABASE {sql_ident(conf.database)} OWNER {sql_ident(conf.user)} "
                     f"TEMPLATE template0 ENCODING 'UTF8';",
                     what=f"CREATE DATABASE {conf.database}")
    tables = cluster.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public';",
                          database=conf.database).strip()
    if tables == "0":
        cluster.psql(seed_sql(product.name, conf.user, kvm_hosts), database=conf.database,
                     what=f"seeding database {conf.database}")
    stamp.write_text(f"{conf.database} seeded for {product.name}\n")
    return [f"database {conf.database} {'seeded' if tables == '0' else 'kept'}"]

