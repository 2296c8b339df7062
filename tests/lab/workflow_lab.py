"""Running the first-party workflows (workflows/*.yml) against the session lab, as a user
does: ``opsrunner run`` in a subprocess with the lab's inventory and ``--output json``; and
what the tests need around them (database queries, dead rows, service states)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pg_lab import query

from opsrunner_lab import manager
from opsrunner_lab.engine_db import DWH_DB, ENGINE_DB, DbConf, read_db_conf
from opsrunner_lab.layout import ENGINE, LabLayout

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
DEAD_ROW_NOTE = "opsrunner test dead row"


@dataclass
class RunOutcome:
    """One ``opsrunner run``: exit status, the JSON report, and the engine host's part."""

    code: int
    report: dict[str, Any]
    stderr: str

    @property
    def engine(self) -> dict[str, Any]:
        host: dict[str, Any] = self.report["hosts"][ENGINE]
        return host

    def step(self, task: str) -> dict[str, Any]:
        """The (last) record of the step running ``task``."""
        found = [s for s in self.engine["steps"] if s["task"] == task]
        assert found, f"no step with task {task}: {self.engine['steps']}"
        return found[-1]

    def checks(self) -> dict[str, str]:
        """The workflow's own check name (without the host id) -> status."""
        return {c["name"].split("[")[0] + _param(c["name"]): c["status"]
                for c in self.engine["verify"] if not c["name"].startswith("OLVM-")}

    def controls(self) -> dict[str, str]:
        """The olvm-baseline control id -> status, of the controls that re-proved the estate
        after the workflow (its ``profile:``)."""
        return {c["name"].partition(":")[0]: c["status"] for c in self.engine["verify"]
                if c["name"].startswith("OLVM-")}


def _param(name: str) -> str:
    """``test_x[ssh://engine-httpd]`` -> ``[httpd]``; no parameter -> ``""``."""
    inside = name.partition("[")[2].rstrip("]")
    param = inside.partition(f"{ENGINE}-")[2]
    return f"[{param}]" if param else ""


def run_workflow(lab: LabLayout, tmp_path: Path, name: str, *args: str) -> RunOutcome:
    """``opsrunner run workflows/<name> -i <lab inventory> --output json ...``."""
    proc = subprocess.run([sys.executable, "-m", "opsrunner.cli", "run", str(WORKFLOWS / name),
                           "-i", str(lab.inventory), "--output", "json", "--state-dir",
                           str(tmp_path / "state"), *args],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.stdout, proc.stderr
    return RunOutcome(proc.returncode, json.loads(proc.stdout), proc.stderr)


def db_confs(lab: LabLayout) -> tuple[DbConf, DbConf]:
    """The engine's and the DWH's connections (the passwords never change in the lab)."""
    sysroot = lab.sysroot(ENGINE)
    return read_db_conf(sysroot, ENGINE_DB), read_db_conf(sysroot, DWH_DB)


def markers(engine: DbConf) -> list[str]:
    return query(engine, "SELECT note FROM opsrunner_marker ORDER BY id").splitlines()


def plant_dead_rows(lab: LabLayout, rows: int = 20000) -> None:
    """Rows inserted then deleted in tables without autovacuum: space a vacuum gives back."""
    engine, dwh = db_confs(lab)
    query(engine, f"INSERT INTO audit_log (log_time, log_type_name, log_type, severity, message) "
                  f"SELECT now(), '{DEAD_ROW_NOTE}', 1, 0, repeat('x', 300) "
                  f"FROM generate_series(1, {rows}); "
                  f"DELETE FROM audit_log WHERE log_type_name = '{DEAD_ROW_NOTE}'")
    query(dwh, f"INSERT INTO vm_samples_history (history_datetime, vm_id, vm_status, vm_ip) "
               f"SELECT now(), gen_random_uuid(), 1, '{DEAD_ROW_NOTE}' "
               f"FROM generate_series(1, {rows}); "
               f"DELETE FROM vm_samples_history WHERE vm_ip = '{DEAD_ROW_NOTE}'")


def services_down(lab: LabLayout) -> list[str]:
    """The lab's services that are not running (empty when all are)."""
    return [f"{row.host}/{row.service}" for row in manager.status(lab.root) if not row.active]
