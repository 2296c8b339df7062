"""workflows/vacuum.yml in maintenance windows on the session lab, with real short windows:
one open now runs it; one whose close comes before the vacuum's estimate defers it (the
always-step runs, the services are up); a closed window and a passed start deadline change
nothing (exit 3); the engine's audit log shows the window's start and end; the lab's SMTP
server receives the run-finished e-mail."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ovirtsdk4 as sdk
import pytest
import yaml
from workflow_lab import WORKFLOWS, services_down

from opsrunner_lab.lab_inventory import engine_api_vars
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.smtp_server import running_smtp

ZONE = "Asia/Tokyo"


def _windows(tmp_path: Path, **windows: dict[str, Any]) -> Path:
    path = tmp_path / "windows.yaml"
    path.write_text(yaml.safe_dump({"windows": windows}))
    return path


def _daily(opened_minutes_ago: float, duration: str, **extra: Any) -> dict[str, Any]:
    """A daily window whose opening today was ``opened_minutes_ago`` minutes ago."""
    opens = datetime.now(ZoneInfo(ZONE)) - timedelta(minutes=opened_minutes_ago)
    return {"daily": opens.strftime("%H:%M"), "duration": duration, "timezone": ZONE, **extra}


def _run(lab: LabLayout, tmp_path: Path, workflow: Path, *args: str
         ) -> tuple[int, dict[str, Any], str]:
    proc = subprocess.run([sys.executable, "-m", "opsrunner.cli", "run", str(workflow), "-i",
                           str(lab.inventory), "--output", "json", "--state-dir",
                           str(tmp_path / "state"), *args],
                          capture_output=True, text=True, timeout=600, check=False)
    return proc.returncode, (json.loads(proc.stdout) if proc.stdout.strip() else {}), proc.stderr


def _events(lab: LabLayout) -> list[str]:
    settings = engine_api_vars(lab)
    password = Path(settings["engine_password"]["secret_file"]).read_text().strip()
    connection = sdk.Connection(url=settings["engine_url"], username=settings["engine_user"],
                                password=password, ca_file=settings["engine_ca_file"])
    try:
        events = connection.system_service().events_service().list(max=50)
    finally:
        connection.close()
    return [e.description for e in events if e.origin == "opsrunner"]


def _estimated(tmp_path: Path, estimate: str) -> Path:
    """vacuum.yml with an estimate: on its vacuum step (its checks beside it)."""
    workflow = yaml.safe_load((WORKFLOWS / "vacuum.yml").read_text())
    workflow["steps"][1]["estimate"] = estimate
    workflow["verify"] = [str(WORKFLOWS / "checks" / "vacuum.py")]
    path = tmp_path / "vacuum-estimated.yml"
    path.write_text(yaml.safe_dump(workflow, sort_keys=False))
    return path


def test_a_window_open_now_runs_the_vacuum_and_the_engine_sees_it(lab: LabLayout,
                                                                   tmp_path: Path) -> None:
    windows = _windows(tmp_path, tonight=_daily(1, "30m"))
    code, doc, err = _run(lab, tmp_path, WORKFLOWS / "vacuum.yml", "--window", "tonight",
                          "--windows", str(windows))
    assert code == 0, err
    assert doc["window"]["name"] == "tonight"
    assert datetime.fromisoformat(doc["window"]["closes"]) > datetime.now(ZoneInfo(ZONE))
    logged = [e for e in _events(lab) if doc["run_id"] in e]
    assert any("maintenance window tonight started" in e and "Engine database vacuum" in e
               for e in logged), logged
    assert any("maintenance window tonight ended" in e and "1 ok, 0 failed, 0 deferred" in e
               for e in logged), logged


def test_a_window_closing_before_the_estimate_defers_the_vacuum_and_mails_it(
        lab: LabLayout, tmp_path: Path) -> None:
    windows = _windows(tmp_path, short=_daily(1, "10m"))
    with running_smtp(tmp_path / "smtp", user="opsrunner", password="mail-pw-7781") as smtp:
        (tmp_path / "notify.yaml").write_text(yaml.safe_dump({"email": {
            "server": smtp.host, "port": smtp.port, "encryption": "starttls",
            "user": "opsrunner", "password": {"secret_file": str(tmp_path / "smtp-pw")},
            "from": "opsrunner@lab.local", "to": ["olvm-admins@lab.local"],
            "ca_file": str(smtp.ca_file), "when": "problems"}}))
        (tmp_path / "smtp-pw").write_text("mail-pw-7781\n")
        (tmp_path / "smtp-pw").chmod(0o600)
        code, doc, err = _run(lab, tmp_path, _estimated(tmp_path, "2h"), "--window", "short",
                              "--windows", str(windows), "--notify", str(tmp_path / "notify.yaml"))
        messages = smtp.messages()
    assert code == 4, err
    host = doc["hosts"][ENGINE]
    assert host["status"] == "deferred"
    statuses = [(s["name"], s["status"]) for s in host["steps"]]
    assert statuses[0][1] == "ok" and statuses[1][1] == "deferred", statuses
    assert statuses[-1] == ("Every engine service that ran before runs again", "ok")
    deferred = host["steps"][1]
    assert deferred["estimate"] >= 7200 and "after the window closes" in deferred["msg"]
    assert services_down(lab) == []
    (mail,) = messages
    subject = str(mail.message["Subject"])
    assert "1 deferred" in subject and "short" in subject, subject
    body = mail.message.get_body(("plain",)).get_content()
    assert "predicted overrun" in body and "mail-pw-7781" not in body


@pytest.mark.parametrize("window", [
    {"opened_minutes_ago": -120, "duration": "1h"},     # opens in two hours
    {"opened_minutes_ago": 20, "duration": "1h"},       # open, but its start deadline (15m) passed
], ids=["closed", "past-start-deadline"])
def test_outside_the_window_nothing_changes_and_the_exit_code_is_3(
        lab: LabLayout, tmp_path: Path, window: dict[str, Any]) -> None:
    windows = _windows(tmp_path, w=_daily(window["opened_minutes_ago"], window["duration"]))
    code, doc, err = _run(lab, tmp_path, WORKFLOWS / "vacuum.yml", "--window", "w",
                          "--windows", str(windows))
    assert code == 3, err
    assert doc == {} and "nothing was changed" in err and "next opens" in err
    assert "Traceback" not in err
    assert not (tmp_path / "state" / "runs").exists() or not list(
        (tmp_path / "state" / "runs").iterdir())
    code, doc, err = _run(lab, tmp_path, WORKFLOWS / "vacuum.yml", "--window", "w",
                          "--windows", str(windows), "--outside-window", "--reason",
                          "INC-4711 database full")
    assert code == 0, err
    assert doc["window"]["outside_reason"] == "INC-4711 database full"
    assert any("OUTSIDE maintenance window w (reason: INC-4711 database full)" in e
               for e in _events(lab) if doc["run_id"] in e)
