"""After a replacement, cert_replace says how to continue: the one inventory change
(``engine_ca_file: <the CA chain on the control node>``), unless the inventory already has it;
the run summary prints each step's note."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from opsrunner.host import Host
from opsrunner.report import HostReport, RunReport, StepRecord
from opsrunner.report.display import print_summary
from opsrunner.task import Task
from opsrunner_plugins.cert_replace import inventory_note


def task_on(data: dict[str, object]) -> Task:
    return Task(Host("engine", "10.0.0.2", data=data), lambda: None)  # type: ignore[arg-type,return-value]


def test_the_note_names_the_one_inventory_change(tmp_path: Path) -> None:
    ca = str(tmp_path / "new ca.pem")
    note = inventory_note(task_on({"engine_ca_file": "/etc/opsrunner/engine-ca.pem"}), ca)
    assert note == (f"NEXT: set engine_ca_file: {ca} in the inventory (vars of host engine; the "
                    f"CA chain validated on the control node): later engine workflows verify "
                    f"the engine's TLS with it, and fail until then unless run with "
                    f"-e engine_ca_file='{ca}'")
    assert inventory_note(task_on({}), ca).startswith("NEXT: set engine_ca_file: ")


def test_no_note_when_the_inventory_already_names_the_chain(tmp_path: Path) -> None:
    ca = tmp_path / "ca-chain.pem"
    assert inventory_note(task_on({"engine_ca_file": str(ca)}), str(ca)) == ""
    assert inventory_note(task_on({"engine_ca_file": f"{tmp_path}/./ca-chain.pem"}), str(ca)) == ""


def test_the_run_summary_prints_step_notes() -> None:
    report = RunReport("r1", "Replace the Apache certificate", "cert-replace.yml")
    host = HostReport("engine", status="ok")
    host.steps.append(StepRecord("Validate and install", "cert_replace", "changed",
                                 note="NEXT: set engine_ca_file: /srv/ca.pem in the inventory"))
    host.steps.append(StepRecord("Skipped one", "api.event", "skipped", note="not shown"))
    report.hosts["engine"] = host
    out = io.StringIO()
    print_summary(report, Console(file=out, width=300, color_system=None))
    assert ("note: engine: Validate and install: NEXT: set engine_ca_file: /srv/ca.pem in the "
            "inventory\n") in out.getvalue()
    assert "not shown" not in out.getvalue()
