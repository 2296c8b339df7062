"""A compliance run end to end on ``local`` hosts: real pytest and testinfra processes, the
profile's params, evidence, waivers, the baseline and drift, the run that caused it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from opsrunner.cli.compliance import ProfileRequest, compliance_report
from opsrunner.compliance.model import ComplianceReport
from opsrunner.errors import UsageError

from .conftest import healthy, write

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def estate(local_inventory: Callable[..., Path], tmp_path: Path) -> Path:
    inventory = local_inventory(("h1", "h2"))
    for name in ("h1", "h2"):
        healthy(tmp_path / "roots" / name)
    return inventory


def run(profile: Path, inventory: Path, tmp_path: Path, **options: object) -> ComplianceReport:
    request = ProfileRequest(str(profile), str(inventory), state_dir=str(tmp_path / "state"),
                             **options)  # type: ignore[arg-type]
    return compliance_report(request)


def statuses(report: ComplianceReport) -> dict[tuple[str, str], str]:
    return {(r.control, r.host): r.status for r in report.results}


def test_a_healthy_estate_passes_every_control_on_its_hosts(demo_profile: Path, estate: Path,
                                                            tmp_path: Path) -> None:
    report = run(demo_profile, estate, tmp_path)
    assert statuses(report) == {
        ("DEMO-MOTD-001", "h1"): "passed", ("DEMO-MOTD-001", "h2"): "passed",
        ("DEMO-PKI-001", "h1"): "passed",
        ("DEMO-PARAM-001", "h1"): "passed", ("DEMO-PARAM-001", "h2"): "passed"}
    assert report.exit_code == 0 and report.hosts == ["h1", "h2"]
    motd = report.result("DEMO-MOTD-001", "h1")
    assert motd is not None and len(motd.evidence["sha256"]) == 64
    assert report.result("DEMO-PKI-001", "h1").evidence == {"mode": "0o755"}  # type: ignore[union-attr]
    assert report.result("DEMO-PARAM-001", "h2").cases == 2  # type: ignore[union-attr]


def test_failures_carry_the_checks_own_words(demo_profile: Path, estate: Path,
                                             tmp_path: Path) -> None:
    (tmp_path / "roots/h2/etc/motd").unlink()
    (tmp_path / "roots/h1/etc/pki").chmod(0o700)
    (tmp_path / "roots/h1/etc/b.conf").unlink()
    report = run(demo_profile, estate, tmp_path)
    found = {(r.control, r.host): (r.status, r.message) for r in report.results}
    assert found[("DEMO-MOTD-001", "h2")] == ("failed", "/etc/motd is missing")
    assert found[("DEMO-PKI-001", "h1")] == ("failed", "/etc/pki is 0700, expected 0755")
    assert found[("DEMO-PARAM-001", "h1")] == ("failed", "[b.conf] /etc/b.conf is missing")
    assert found[("DEMO-PARAM-001", "h2")][0] == "passed"
    assert report.result("DEMO-PKI-001", "h1").evidence == {"mode": "0o700"}  # type: ignore[union-attr]
    assert report.exit_code == 2


def test_params_are_overridden_with_extra_vars(demo_profile: Path, estate: Path,
                                               tmp_path: Path) -> None:
    report = run(demo_profile, estate, tmp_path, extra=("min_size=1000",),
                 controls=("DEMO-MOTD-001",))
    assert {r.status for r in report.results} == {"failed"}
    assert report.results[0].message == ("/etc/motd has 20 bytes, the profile requires at "
                                         "least 1000")
    with pytest.raises(UsageError, match=r"-e min_size=lots: DEMO-MOTD-001 needs a number"):
        run(demo_profile, estate, tmp_path, extra=("min_size=lots",))


def test_an_unknown_control_is_refused_with_a_suggestion(demo_profile: Path, estate: Path,
                                                         tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown control 'DEMO-PKI-01'; did you mean "
                                         r"'DEMO-PKI-001'\?"):
        run(demo_profile, estate, tmp_path, controls=("DEMO-PKI-01",))
    assert not (tmp_path / "state").exists()


def test_limit_narrows_the_hosts(demo_profile: Path, estate: Path, tmp_path: Path) -> None:
    report = run(demo_profile, estate, tmp_path, limit="h2")
    assert report.hosts == ["h2"] and {r.host for r in report.results} == {"h2"}
    with pytest.raises(UsageError, match="no selected control applies"):
        run(demo_profile, estate, tmp_path, limit="h2", controls=("DEMO-PKI-001",))


def test_a_waiver_in_force_turns_a_failure_into_waived(demo_profile: Path, estate: Path,
                                                       tmp_path: Path) -> None:
    (tmp_path / "roots/h1/etc/pki").chmod(0o700)
    waivers = write(tmp_path / "waivers.yml", """\
        waivers:
          - control: DEMO-PKI-001
            hosts: h1
            justification: CHG-4711 until the vendor fixes the installer
            expires: 2027-01-31
        """)
    report = run(demo_profile, estate, tmp_path, waivers=str(waivers), today=date(2027, 1, 31))
    waived = report.result("DEMO-PKI-001", "h1")
    assert waived is not None and waived.status == "waived"
    assert waived.waiver is not None and waived.waiver.justification.startswith("CHG-4711")
    assert waived.message == "/etc/pki is 0700, expected 0755"
    assert report.exit_code == 0 and not report.notes

    expired = run(demo_profile, estate, tmp_path, waivers=str(waivers), today=date(2027, 2, 1))
    assert expired.result("DEMO-PKI-001", "h1").status == "failed"  # type: ignore[union-attr]
    assert expired.exit_code == 2
    assert expired.notes == [f"the waiver of DEMO-PKI-001 on h1 ({waivers}:2:5) expired on "
                             "2027-01-31: it no longer applies, the failure counts"]


def test_accept_then_drift_names_the_run_that_changed_it(demo_profile: Path, estate: Path,
                                                         tmp_path: Path, cli: Cli) -> None:
    accepted = run(demo_profile, estate, tmp_path, accept=True)
    baseline = json.loads((tmp_path / "state/compliance/demo/baseline.json").read_text())
    assert baseline["run_id"] == accepted.run_id and accepted.accepted
    assert (tmp_path / f"state/compliance/demo/runs/{accepted.run_id}.json").exists()

    # opsrunner changes h1's motd (a workflow called motd: the control is tagged motd) ...
    workflow = write(tmp_path / "motd.yml", f"""\
        name: motd
        hosts: h1
        steps:
          - name: new motd
            task: command
            with: {{cmd: "echo changed by opsrunner > {tmp_path}/roots/h1/etc/motd"}}
        """)
    code, out, err = cli("run", str(workflow), "-i", str(estate), "--state-dir",
                         str(tmp_path / "state"), "--output", "json")
    assert code == 0, err
    changer = json.loads(out)["run_id"]
    # ... someone else breaks h2's and /etc/pki of h1
    (tmp_path / "roots/h2/etc/motd").write_text("edited by hand\n")
    (tmp_path / "roots/h1/etc/pki").chmod(0o700)

    report = run(demo_profile, estate, tmp_path)
    assert report.drift is not None and report.drift.baseline_run == accepted.run_id
    changes = {(c.control, c.host, c.name): c for c in report.drift.evidence}
    assert changes[("DEMO-MOTD-001", "h1", "sha256")].changed_by == changer
    assert changes[("DEMO-MOTD-001", "h1", "sha256")].changed_by_workflow == "motd"
    assert changes[("DEMO-MOTD-001", "h2", "sha256")].changed_by is None
    pki = changes[("DEMO-PKI-001", "h1", "mode")]
    assert (pki.before, pki.after, pki.changed_by) == ("0o755", "0o700", None)
    (status,) = report.drift.statuses
    assert (status.control, status.host, status.kind) == ("DEMO-PKI-001", "h1",
                                                          "newly failing")

    (tmp_path / "roots/h1/etc/pki").chmod(0o755)
    again = run(demo_profile, estate, tmp_path, accept=True)
    assert again.drift is not None and not again.drift.statuses
    kept = tmp_path / f"state/compliance/demo/baseline-{accepted.run_id}.json"
    assert json.loads(kept.read_text())["run_id"] == accepted.run_id


def test_compliance_runs_are_in_the_run_history(demo_profile: Path, estate: Path,
                                                tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "roots/h2/etc/motd").unlink()
    report = run(demo_profile, estate, tmp_path)
    code, out, _ = cli("runs", "--state-dir", str(tmp_path / "state"), "--output", "json")
    assert code == 0
    (listed,) = json.loads(out)["runs"]
    assert (listed["run_id"], listed["workflow"], listed["ended"]) == (
        report.run_id, "compliance demo", "failed")
    assert listed["hosts"] == {"ok": 1, "changed": 0, "failed": 1, "deferred": 0}
    code, out, _ = cli("runs", "--state-dir", str(tmp_path / "state"), "--workflow", "demo",
                       "--status", "ok", "--output", "json")
    assert json.loads(out)["runs"] == []
