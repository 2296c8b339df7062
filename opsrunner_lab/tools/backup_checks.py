"""The engine database steps of ``engine-backup`` around the dumps: notifying the engine,
checking a restore target, provisioning it, and cleaning the restored engine's temporary
tables, each as the real tool does it (and with its messages)."""

from __future__ import annotations

from pathlib import Path

from opsrunner_lab.daemon import LabServerError
from opsrunner_lab.engine_db import DbConf
from opsrunner_lab.layout import ENGINE_PORTS
from opsrunner_lab.pg_cluster import PgCluster
from opsrunner_lab.pg_scram import scram_verifier
from opsrunner_lab.pg_seed import sql_ident, sql_literal
from opsrunner_lab.tools.backup_pg import run_pg
from opsrunner_lab.tools.backup_run import BackupRun, error_line, fail
from opsrunner_lab.tools.common import ToolError

# Scope flag -> the scope name LogEngineBackupEvent records, in the real tool's order.
NOTIFY_SCOPES = (("files", "files"), ("db", "db"), ("dwhdb", "dwhdb"),
                 ("cinderlibdb", "cinderlib"), ("grafanadb", "grafanadb"))
# What the engine keeps only while it runs; emptied after a restore.
ENGINE_TEMP_TABLES = ("async_tasks", "async_tasks_entities", "business_entity_snapshot",
                      "command_entities", "job", "step")
IGNORED_SCHEMA_LINES = ("create extension", "create procedural language")


def notify_engine(run: BackupRun, conf: DbConf, status: int, message: str) -> None:
    """Record the backup's start (0), success (1) or failure (-1) through the engine's
    ``LogEngineBackupEvent``, once per scope. ToolError: ``Failed notifying engine``."""
    run.output("Notifying engine")
    log_path = str(Path(run.options.log).resolve())
    for flag, scope in NOTIFY_SCOPES:
        if not run.options.in_scope(flag):
            continue
        text = f"engine-backup: {message}, scope={scope}, log={log_path}"
        sql = (f"SELECT LogEngineBackupEvent({sql_literal(scope)}, now(), {status}, "
               f"{sql_literal(text)}, {sql_literal(run.engine_fqdn())}, "
               f"{sql_literal(log_path)});")
        done = run_pg(run, conf, "psql", ["-t", "-c", sql])
        if done.returncode != 0:
            raise fail("Failed notifying engine", cause=error_line(done.stderr))


def verify_connection(run: BackupRun, conf: DbConf) -> None:
    """The restore target answers and holds no objects (``pg_dump -s`` creates nothing
    but extensions). ToolError with the real tool's messages."""
    done = run_pg(run, conf, "psql", ["-c", "select 1"])
    if done.returncode != 0:
        raise ToolError(f"Can't connect to database '{conf.database}': "
                        f"{error_line(done.stderr)}. Please see '{run.prog} --help'.")
    done = run_pg(run, conf, "pg_dump", ["-s"], log_stdout=False)
    creates = [line for line in done.stdout.splitlines()
               if line.lower().startswith("create")
               and not line.lower().startswith(IGNORED_SCHEMA_LINES)]
    if creates:
        run.log.line(f"Database {conf.database} holds: {creates[0]}")
        raise ToolError(f"Database '{conf.database}' is not empty")
    if done.stderr.strip():
        raise fail(f"Failed checking if database '{conf.database}' is empty",
                   cause=error_line(done.stderr))


def provision_database(run: BackupRun, conf: DbConf) -> None:
    """Create ``conf``'s role (with its password) and database on the lab's PostgreSQL, as
    ``ovirt-engine-provisiondb`` does. ToolError when either exists already."""
    run.output(f"- user '{conf.user}', database '{conf.database}'")
    if conf.host not in ("localhost", run.layout.engine_address):
        raise ToolError("Can provision database only in localhost")
    if conf.port != ENGINE_PORTS["postgresql"]:
        raise ToolError("Can provision database only with the default port of PostgreSQL")
    if not conf.password:
        raise ToolError("Some database credentials missing - cannot provision database")
    cluster = PgCluster(run.layout)
    try:
        found = cluster.psql(
            f"SELECT 1 FROM pg_roles WHERE rolname = {sql_literal(conf.user)} UNION ALL "
            f"SELECT 1 FROM pg_database WHERE datname = {sql_literal(conf.database)};")
        if found.strip():
            raise ToolError(f"Existing database '{conf.database}' or user '{conf.user}' "
                            f"found and temporary ones created - Please clean up everything "
                            f"and try again")
        cluster.psql(f"CREATE ROLE {sql_ident(conf.user)} WITH LOGIN PASSWORD "
                     f"{sql_literal(scram_verifier(conf.password))};", what="CREATE ROLE")
        cluster.psql(f"CREATE DATABASE {sql_ident(conf.database)} OWNER {sql_ident(conf.user)} "
                     f"TEMPLATE template0 ENCODING 'UTF8';", what="CREATE DATABASE")
    except LabServerError as exc:
        raise fail(f"Provisioning database '{conf.database}' failed, please check the log "
                   f"for details", cause=str(exc)) from None


def clean_engine_temp_data(run: BackupRun, conf: DbConf) -> None:
    """Mark the engine database as just restored and empty its temporary tables (those the
    engine rebuilds), skipping tables this engine schema does not have."""
    run.output(f"  - Cleaning up temporary tables in engine database '{conf.database}'")
    tables = set(_psql(run, conf, "SELECT tablename FROM pg_tables WHERE "
                                  "schemaname = 'public'", "Failed listing tables").split())
    if "vdc_options" in tables:
        found = _psql(run, conf, "SELECT count(*) FROM vdc_options WHERE option_name = "
                                 "'DbJustRestored' AND version = 'general'",
                      "Failed checking DbJustRestored")
        if found.strip() not in ("", "0"):
            run.output("  - Updating DbJustRestored VdcOption in engine database")
            _psql(run, conf, "UPDATE vdc_options SET option_value = '1' WHERE option_name = "
                             "'DbJustRestored' AND version = 'general'",
                  "Failed updating DbJustRestored")
        else:
            run.output("  - Inserting DbJustRestored VdcOption in engine database")
            _psql(run, conf, "INSERT INTO vdc_options (option_name, option_value, version) "
                             "VALUES ('DbJustRestored', '1', 'general')",
                  "Failed inserting DbJustRestored")
    for table in ENGINE_TEMP_TABLES:
        if table in tables:
            run.log.line(f"truncating {table}")
            _psql(run, conf, f"TRUNCATE TABLE {table} cascade", f"Failed cleaning up {table}")
    if "dwh_history_timekeeping" in tables:
        running = _psql(run, conf, "SELECT var_value FROM dwh_history_timekeeping WHERE "
                                   "var_name = 'DwhCurrentlyRunning'",
                        "Failed checking DwhCurrentlyRunning")
        if "1" in running:
            run.output("  - Resetting DwhCurrentlyRunning in dwh_history_timekeeping in "
                       "engine database")
            _psql(run, conf, "UPDATE dwh_history_timekeeping SET var_value = '0' WHERE "
                             "var_name = 'DwhCurrentlyRunning'",
                  "Failed resetting DwhCurrentlyRunning")


def _psql(run: BackupRun, conf: DbConf, sql: str, failed: str) -> str:
    done = run_pg(run, conf, "psql", ["-A", "-t", "-c", sql])
    if done.returncode != 0:
        raise fail(failed, cause=error_line(done.stderr))
    return done.stdout
