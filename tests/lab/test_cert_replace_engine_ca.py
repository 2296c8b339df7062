"""After workflows/cert-replace.yml (a third-party CA's chain for Apache) on a lab of its own
(127.0.132.x, engine and one guest): the cert_replace step's note names the one inventory
change (``engine_ca_file: <the chain>``); a later engine workflow with tasks on the engine and
on the guest (which reaches the engine through the inventory's one engine) passes with
``-e engine_ca_file=<the chain>`` and, without it, fails TLS verification naming
engine_ca_file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cert_chains import make_chain
from lab_up import running_lab
from workflow_lab import RunOutcome, run_workflow

from opsrunner_lab.layout import GUEST, LabLayout

LATER = """\
name: An audit event from every host, after the certificate replacement
hosts: all
steps:
  - name: Log an event through the engine API
    task: api.event
    with:
      description: "engine reached from {{ inventory_hostname }} after cert-replace"
"""


@pytest.fixture(scope="module")
def lab() -> Iterator[LabLayout]:
    with running_lab("127.0.132.", kvm_hosts=0) as layout:
        yield layout


@pytest.fixture(scope="module")
def replaced(lab: LabLayout, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunOutcome]:
    """cert-replace.yml with a one-intermediate chain; the chain's path and the run."""
    folder = tmp_path_factory.mktemp("replace")
    chain = make_chain(1, "engine.lab.local", addresses=(lab.engine_address,), prefix="Later")
    ca, cert, key = chain.write(folder / "input")
    run = run_workflow(lab, folder, "cert-replace.yml", "-e", f"ca_chain={ca}",
                       "-e", f"cert={cert}", "-e", f"key={key}", "--no-verify")
    assert run.code == 0, run.engine
    return ca, run


def steps(run: RunOutcome, host: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = run.report["hosts"][host]["steps"]
    return found


def later(lab: LabLayout, tmp_path: Path, *args: str) -> RunOutcome:
    workflow = tmp_path / "later.yml"
    workflow.write_text(LATER)
    return run_workflow(lab, tmp_path, str(workflow), "--no-verify", *args)


def test_the_note_names_the_inventory_change(replaced: tuple[Path, RunOutcome]) -> None:
    ca, run = replaced
    step = run.step("cert_replace")
    assert step["status"] == "changed"
    assert f"NEXT: set engine_ca_file: {ca} in the inventory (vars of host engine;" in \
        step["note"]
    assert f"-e engine_ca_file={ca}" in step["note"]


def test_extra_var_engine_ca_file_reaches_every_hosts_session(
        lab: LabLayout, replaced: tuple[Path, RunOutcome], tmp_path: Path) -> None:
    ca, _ = replaced
    run = later(lab, tmp_path, "-e", f"engine_ca_file={ca}")
    assert run.code == 0, run.report["hosts"]
    for host in ("engine", GUEST):
        assert [s["status"] for s in steps(run, host)] == ["changed"], host


def test_without_it_the_tls_failure_names_engine_ca_file(
        lab: LabLayout, replaced: tuple[Path, RunOutcome], tmp_path: Path) -> None:
    run = later(lab, tmp_path)
    assert run.code != 0
    for host in ("engine", GUEST):
        (step,) = steps(run, host)
        assert step["status"] == "failed", host
        assert "TLS with the engine at https://" in step["msg"], step["msg"]
        assert "engine_ca_file" in step["msg"], step["msg"]
