"""The ``vacuum`` task: the engine database vacuum of the OLVM Administration Guide,
"Administration Tasks", section "Reclaiming Database Storage" ("データベース記憶域の再利用").

Measure the sizes (the guide's query through ``engine-psql.sh``), stop ovirt-engine,
ovirt-engine-dwhd and grafana-server, dump each database with the guide's ``pg_dump``, run
``engine-vacuum.sh -f -v`` (and ``dwh-vacuum.sh -f -v`` when the DWH database exists), start
again what was stopped whatever failed, measure again and report the bytes reclaimed.
A record of the run (``record``) lets the workflow's checks compare the sizes later.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass, field
from typing import Any, Literal

from opsrunner import Registry, Result, Task, TaskFailed, hookimpl
from opsrunner_plugins import _remote
from opsrunner_plugins.engine_services import active_services, start_all, stop_active
from opsrunner_plugins.vacuum import db, report, steps
from opsrunner_plugins.vacuum.steps import VACUUM_FLAGS, Target

SEED_SERVICES = ["ovirt-engine", "ovirt-engine-dwhd", "grafana-server"]
PRODUCTS = {"engine": ("ENGINE", "engine"), "dwh": ("DWH", "dwh")}  # key: (conf prefix, dump)


def vacuum(task: Task, *,
           databases: list[str] | str = ["engine", "dwh"],  # noqa: B006 - never mutated
           mode: Literal["full", "analyze"] = "full", dump: bool = True, keep_dumps: int = 0,
           services: list[str] = SEED_SERVICES,
           pg_bin_dir: str | None = None,
           engine_conf: str = "/etc/ovirt-engine/engine.conf.d/10-setup-database.conf",
           dwh_conf: str = "/etc/ovirt-engine/engine.conf.d/10-setup-dwh-database.conf",
           engine_psql: str = "/usr/share/ovirt-engine/dbscripts/engine-psql.sh",
           engine_vacuum: str = "/usr/share/ovirt-engine/bin/engine-vacuum.sh",
           dwh_vacuum: str = "/usr/share/ovirt-engine-dwh/bin/dwh-vacuum.sh",
           engine_dump_dir: str = "/var/lib/ovirt-engine/backups",
           dwh_dump_dir: str = "/var/lib/ovirt-engine-dwh/backups",
           record: str = "/var/lib/opsrunner/vacuum-last.json") -> Result:
    """Vacuum the engine (and DWH) database as the OLVM Administration Guide, "Administration
    Tasks", section "Reclaiming Database Storage" ("データベース記憶域の再利用") does; report the
    space reclaimed.

    :param databases: engine and/or dwh (a list or a comma-separated string). dwh is
        skipped, with a note, when the DWH is not set up (no dwh_conf) or its database is gone.
    :param mode: full: ``-f -v`` (VACUUM FULL gives the space back); analyze: ``-a -v``.
    :param dump: take the guide's pg_dump of each database first; false skips it (a warning:
        no way back if the vacuum goes wrong).
    :param keep_dumps: keep only the newest N dumps made this way per database; 0 keeps all.
    :param services: stopped while the databases are dumped and vacuumed (those running),
        then started again whatever happened.
    :param pg_bin_dir: folder of pg_dump/pg_restore on the host (default: pg_dump on the
        host's PATH, as the guide's /usr/bin/pg_dump, else /usr/lib/postgresql/15/bin).
    :param engine_conf: sets ENGINE_DB_* (host, port, user, database, password).
    :param dwh_conf: sets DWH_DB_* (the guide's file).
    :param engine_psql: measures the sizes with the guide's query (plus exact bytes).
    :param engine_vacuum: the engine database's vacuum tool.
    :param dwh_vacuum: the DWH database's vacuum tool.
    :param engine_dump_dir: where the engine dumps go (engine-<stamp>.<pid>.dump).
    :param dwh_dump_dir: where the DWH dumps go (dwh-<stamp>.<pid>.dump).
    :param record: JSON record of this run on the host (sizes, dumps) for the checks.

    The password is read from the conf file on the host and reaches pg_dump through a
    private pgpass file (environment, never argv). data: before, after, reclaimed (bytes by
    database name), dumps, stopped, started, skipped.
    """
    keys = _keys(task, databases)
    if keep_dumps < 0:
        task.fail(f"keep_dumps must be 0 (keep all) or more, got {keep_dumps}")
    for name, value in (("engine_conf", engine_conf), ("dwh_conf", dwh_conf),
                        ("engine_psql", engine_psql), ("engine_vacuum", engine_vacuum),
                        ("dwh_vacuum", dwh_vacuum), ("engine_dump_dir", engine_dump_dir),
                        ("dwh_dump_dir", dwh_dump_dir), ("record", record)):
        _remote.require_absolute(name, value)
    before = db.measure(task, engine_psql)
    plan = {"engine": (engine_conf, engine_vacuum, engine_dump_dir),
            "dwh": (dwh_conf, dwh_vacuum, dwh_dump_dir)}
    targets, skipped = _targets(task, keys, plan, before)
    pg_dir = db.pg_bin_dir(task, pg_bin_dir) if dump else None
    running = active_services(task, services)
    flags = VACUUM_FLAGS[mode]
    if task.check:
        plan_text = [f"stop {', '.join(running)}" if running else "",
                     *([f"pg_dump {t.database}" for t in targets] if dump else ["no dump"]),
                     *[f"{posixpath.basename(t.tool)} {flags}" for t in targets],
                     f"start {', '.join(running)}" if running else ""]
        return Result(changed=True, msg="would " + "; ".join(s for s in plan_text if s),
                      data={"before": report.in_bytes(before), "skipped": skipped})
    if not dump:
        task.log("WARNING: no dump taken (dump: false); a failed vacuum cannot be undone")
    host_record = task.path(record)
    task.run(f"rm -f -- {shlex.quote(host_record)}", check_rc=True)
    run = _Run()
    folders = {"engine": engine_dump_dir, "dwh": dwh_dump_dir}
    _dump_and_vacuum(task, run, running, targets, pg_dir, keep_dumps, folders, mode)
    started, failures = start_all(task, run.stopped)
    after = _measure_after(task, engine_psql, run.error)
    summary = report.summary(before, after, targets)
    data: dict[str, Any] = {"before": report.in_bytes(before), "after": report.in_bytes(after),
                            "reclaimed": {t.database: before[t.database].size -
                                          after[t.database].size
                                          for t in targets if t.database in after},
                            "dumps": run.dumps, "stopped": run.stopped, "started": started,
                            "skipped": skipped}
    failed = bool(run.error or failures)
    report.write_record(task, host_record, data, targets, pg_dir, mode, failed=failed)
    restart = (f"; started again: {', '.join(started)}" if started else "") + \
        (f"; NOT started again: {'; '.join(failures)}" if failures else "")
    if failed:
        return Result(changed=True, failed=True, data=data, msg=(run.error or "vacuum done")
                      + restart + (f"; {summary}" if summary else ""))
    notes = "".join(f"; {note}" for note in skipped)
    task.log(summary + notes)
    return Result(changed=True, stdout="".join(run.outputs), data=data,
                  msg=f"{summary}{notes}" + ("; no dump taken" if not dump else ""),
                  note=summary)


@dataclass
class _Run:
    """What the changing part did: services stopped, dumps (by database), tool outputs, and
    the error that ended it early ("" when none)."""

    stopped: list[str] = field(default_factory=list)
    dumps: dict[str, str] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    error: str = ""


def _dump_and_vacuum(task: Task, run: _Run, running: list[str], targets: list[Target],
                     pg_dir: str | None, keep: int, folders: dict[str, str], mode: str) -> None:
    """Stop the running services, dump (when ``pg_dir``), vacuum; a failure ends it early
    and is kept in ``run.error`` (the caller starts ``run.stopped`` again)."""
    try:
        run.stopped = stop_active(task, running)
        for target in targets if pg_dir else []:
            run.dumps[target.database] = _dump(task, pg_dir or "", target, keep,
                                               folders[target.key])
        for target in targets:
            task.log(f"{posixpath.basename(target.tool)} {VACUUM_FLAGS[mode]} "
                     f"({target.database})")
            run.outputs.append(steps.run_vacuum(task, target, mode).stdout)
    except TaskFailed as exc:
        run.error = str(exc)


def _keys(task: Task, databases: list[str] | str) -> list[str]:
    keys = [d.strip() for d in databases.split(",")] if isinstance(databases, str) \
        else list(databases)
    keys = [k for k in keys if k]
    unknown = [k for k in keys if k not in PRODUCTS]
    if unknown or not keys:
        task.fail(f"databases must be some of engine, dwh; got {keys}")
    return list(dict.fromkeys(keys))


def _targets(task: Task, keys: list[str], plan: dict[str, tuple[str, str, str]],
             sizes: dict[str, db.DbSize]) -> tuple[list[Target], list[str]]:
    """The databases to vacuum, and notes on those skipped (DWH not set up)."""
    targets: list[Target] = []
    skipped: list[str] = []
    for key in keys:
        conf, tool, dump_dir = plan[key]
        prefix, dump_prefix = PRODUCTS[key]
        settings = db.read_settings(task, conf, prefix)
        if settings is None or settings.database not in sizes:
            why = f"{conf} does not exist" if settings is None else \
                f"database {settings.database} does not exist"
            if key == "engine":
                task.fail(f"cannot vacuum the engine database: {why}")
            skipped.append(f"DWH skipped: {why}")
            continue
        if task.run(f"[ -x {shlex.quote(task.path(tool))} ]").rc != 0:
            task.fail(f"{tool} is not installed (not an executable)")
        targets.append(Target(key, settings, task.path(tool), task.path(dump_dir), dump_prefix))
    return targets, skipped


def _dump(task: Task, pg_dir: str, target: Target, keep: int, folder: str) -> str:
    """Dump ``target`` and apply the retention; the dump's path in the frame of ``folder``."""
    task.log(f"pg_dump {target.database} (custom format)")
    path = steps.dump(task, pg_dir, target)
    shown = _remote.shown_path(task, path, folder)
    task.log(f"dumped {target.database} to {shown}")
    if keep:
        for old in steps.prune_dumps(task, target, keep, path):
            task.log(f"removed old dump {_remote.shown_path(task, old, folder)}")
    return shown


def _measure_after(task: Task, engine_psql: str, error: str) -> dict[str, db.DbSize]:
    """Sizes after the vacuum; after a failure, whatever can be measured (maybe nothing)."""
    if not error:
        return db.measure(task, engine_psql)
    try:
        return db.measure(task, engine_psql)
    except TaskFailed:
        return {}


@hookimpl
def opsrunner_register_tasks(registry: Registry) -> None:
    registry.add_task(vacuum, name="vacuum", idempotent=True)
