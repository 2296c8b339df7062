"""The database work of ``engine-setup`` and ``engine-cleanup``: dumps taken before a change,
emptying a database (the objects go, the database and its role stay) and creating the
schema of an empty one. Clients connect as the database's own user with a pgpass file."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from opsrunner_lab.daemon import LabServerError
from opsrunner_lab.engine_db import DbConf, DbProduct, pg_bin, pgpass_env, read_db_conf
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.pg_cluster import PgCluster
from opsrunner_lab.pg_seed import seed_sql, sql_ident, sql_literal
from opsrunner_lab.tools.backup_run import error_line
from opsrunner_lab.tools.otopi_dialog import Dialog, StageError

# Drops every object of schema public that the connected owner owns (tables first: their
# sequences, indexes and row types go with them), keeping the schema, database and role.
CLEAR_SQL = """DO $clear$
DECLARE item record;
BEGIN
  FOR item IN SELECT format('DROP %s IF EXISTS %I.%I CASCADE',
        CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
          WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
        n.nspname, c.relname) AS statement
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      ORDER BY c.relkind IN ('r', 'p') DESC
  LOOP EXECUTE item.statement; END LOOP;
  FOR item IN SELECT format('DROP %s IF EXISTS %s CASCADE',
        CASE p.prokind WHEN 'a' THEN 'AGGREGATE' ELSE 'ROUTINE' END,
        p.oid::regprocedure) AS statement
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'public'
  LOOP EXECUTE item.statement; END LOOP;
  FOR item IN SELECT format('DROP %s IF EXISTS %I.%I CASCADE',
        CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, n.nspname, t.typname)
        AS statement
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = 'public' AND t.typtype IN ('d', 'e', 'r')
  LOOP EXECUTE item.statement; END LOOP;
END $clear$;
"""


def psql(conf: DbConf, sql: str, dialog: Dialog) -> str:
    """``sql`` run by psql as ``conf.user``; its output. StageError with psql's error."""
    argv = [pg_bin("psql"), "-X", "-w", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", conf.host,
            "-p", str(conf.port), "-U", conf.user, "-d", conf.database]
    with pgpass_env([conf], base=_env()) as env:
        done = subprocess.run(argv, input=sql, env=env, capture_output=True, text=True,
                              check=False)
    dialog.debug(f"psql on {conf.database}: exit {done.returncode}\n{done.stderr}")
    if done.returncode != 0:
        raise StageError(f"Failed on database {conf.database}: {error_line(done.stderr)}")
    return done.stdout


def dump_database(conf: DbConf, target: Path, dialog: Dialog) -> None:
    """``pg_dump --format=custom`` of ``conf``'s database into ``target`` (mode 0600)."""
    argv = [pg_bin("pg_dump"), "-w", "-U", conf.user, "-h", conf.host, "-p", str(conf.port),
            "-E", "UTF8", "--disable-dollar-quoting", "--disable-triggers",
            "--format=custom", conf.database]
    target.parent.mkdir(parents=True, exist_ok=True)
    with pgpass_env([conf], base=_env()) as env, \
            os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        done = subprocess.run(argv, env=env, stdout=out, stderr=subprocess.PIPE, text=False,
                              check=False)
    stderr = done.stderr.decode(errors="replace")
    dialog.debug(f"pg_dump of {conf.database}: exit {done.returncode}\n{stderr}")
    if done.returncode != 0 or stderr.strip():
        raise StageError(f"Failed to back up database {conf.database}: "
                         f"{error_line(stderr)}")


def clear_database(conf: DbConf, dialog: Dialog) -> None:
    """Drop every object of the database's public schema (the database and role stay)."""
    psql(conf, CLEAR_SQL, dialog)


def table_count(conf: DbConf, dialog: Dialog) -> int:
    return int(psql(conf, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public';",
                    dialog).strip() or 0)


def create_schema_if_empty(layout: LabLayout, product: DbProduct, dialog: Dialog) -> bool:
    """Seed ``product``'s database with the lab's fresh schema when it holds no table (it is
    created first if missing, as the superuser); True if seeded."""
    conf = read_db_conf(layout.sysroot(ENGINE), product)
    cluster = PgCluster(layout)
    try:
        exists = cluster.psql(f"SELECT 1 FROM pg_database WHERE datname = "
                              f"{sql_literal(conf.database)};").strip()
        if not exists:
            cluster.psql(f"CREATE DATABASE {sql_ident(conf.database)} OWNER "
                         f"{sql_ident(conf.user)} TEMPLATE template0 ENCODING 'UTF8';",
                         what=f"CREATE DATABASE {conf.database}")
        if table_count(conf, dialog):
            return False
        kvm_hosts = [(host.name, host.address) for host in layout.hosts() if host.role == "kvm"]
        cluster.psql(seed_sql(product.name, conf.user, kvm_hosts), database=conf.database,
                     what=f"creating the schema of {conf.database}")
    except LabServerError as exc:
        raise StageError(str(exc)) from None
    return True


def _env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
