"""workflows/vacuum.yml on the session lab: the space reclaimed is reported and every check
passes; a failing pg_dump and a failing vacuum tool fail the run clearly, and the services
the vacuum stopped run again."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from workflow_lab import db_confs, plant_dead_rows, run_workflow, services_down

from opsrunner_lab.layout import ENGINE, LabLayout

SERVICES = "ovirt-engine, ovirt-engine-dwhd, grafana-server"
ENGINE_VACUUM = "usr/share/ovirt-engine/bin/engine-vacuum.sh"


@pytest.fixture
def stand_in(lab: LabLayout) -> Iterator[Path]:
    """A folder in the engine's sysroot for stand-in programs; removed afterwards."""
    folder = lab.sysroot(ENGINE) / "opt/opsrunner-test"
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def write_program(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def test_vacuum_reports_the_space_reclaimed_and_the_checks_pass(lab: LabLayout,
                                                                tmp_path: Path) -> None:
    plant_dead_rows(lab)
    run = run_workflow(lab, tmp_path, "vacuum.yml")
    assert run.code == 0, run.engine
    step = run.step("vacuum")
    assert step["status"] == "changed"
    reclaimed = dict(re.findall(r"(\w+): \S+ \S+ -> \S+ \S+ \(reclaimed (-?\d+) bytes", step["msg"]))
    assert set(reclaimed) == {"engine", "ovirt_engine_history"}, step["msg"]
    assert all(int(gained) > 1_000_000 for gained in reclaimed.values()), step["msg"]
    assert run.checks() == {
        "test_the_vacuum_finished": "passed",
        "test_stopped_service_runs_again[ovirt-engine]": "passed",
        "test_stopped_service_runs_again[ovirt-engine-dwhd]": "passed",
        "test_stopped_service_runs_again[grafana-server]": "passed",
        "test_each_dump_is_readable_by_pg_restore": "passed",
        "test_no_database_is_larger_than_before": "passed"}
    dumps = sorted((lab.sysroot(ENGINE) / "var/lib/ovirt-engine/backups").glob("engine-*.dump"))
    assert dumps and re.fullmatch(r"engine-\d{14}\.\d+\.dump", dumps[-1].name)
    assert services_down(lab) == []
    seen = json.dumps(run.report) + run.stderr + "".join(
        path.read_text() for path in (tmp_path / "state" / "runs").iterdir())
    assert all(conf.password and conf.password not in seen for conf in db_confs(lab))


def test_a_failing_pg_dump_fails_before_the_vacuum_and_restarts_the_services(
        lab: LabLayout, tmp_path: Path, stand_in: Path) -> None:
    write_program(stand_in / "bin/pg_dump",
                  'echo "pg_dump: error: connection to server at \\"127.0.0.1\\", port 5432 '
                  'failed: FATAL:  the database system is shutting down" >&2\nexit 1\n')
    dumps = lab.sysroot(ENGINE) / "var/lib/ovirt-engine/backups"
    before = set(dumps.iterdir())
    run = run_workflow(lab, tmp_path, "vacuum.yml", "-e", "pg_bin_dir=/opt/opsrunner-test/bin",
                       "--no-verify")
    assert run.code == 2
    step = run.step("vacuum")
    assert step["status"] == "failed"
    assert step["msg"].startswith(
        "pg_dump of database engine failed (exit status 1): pg_dump: error: connection to "
        'server at "127.0.0.1", port 5432 failed: FATAL:  the database system is shutting '
        f"down; started again: {SERVICES}; engine: ")
    assert set(dumps.iterdir()) == before
    assert services_down(lab) == []


def test_a_failing_vacuum_tool_fails_the_run_and_restarts_the_services(
        lab: LabLayout, tmp_path: Path, stand_in: Path) -> None:
    tool = lab.sysroot(ENGINE) / ENGINE_VACUUM
    original = stand_in / "engine-vacuum.sh.orig"
    shutil.copy2(tool, original)
    try:
        write_program(tool, 'echo "vacuumdb: vacuuming database \\"engine\\""\n'
                            'echo "vacuumdb: error: vacuuming of table \\"public.audit_log\\" '
                            'failed: ERROR:  could not extend file: No space left on device" >&2\n'
                            "exit 1\n")
        run = run_workflow(lab, tmp_path, "vacuum.yml", "-e", "vacuum_databases=engine")
    finally:
        shutil.copy2(original, tool)
    assert run.code == 2
    step = run.step("vacuum")
    assert step["msg"].startswith(
        "engine-vacuum.sh -f -v failed on database engine (exit status 1): vacuumdb: error: "
        'vacuuming of table "public.audit_log" failed: ERROR:  could not extend file: No space '
        f"left on device; started again: {SERVICES}")
    checks = run.checks()
    assert checks["test_the_vacuum_finished"] == "failed"
    assert checks["test_stopped_service_runs_again[ovirt-engine]"] == "passed"
    assert checks["test_each_dump_is_readable_by_pg_restore"] == "passed"
    assert services_down(lab) == []
