"""The terminal report: the matrix (failures first), evidence, waivers, notes, drift, summary."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from opsrunner.compliance.model import ControlResult
from opsrunner.compliance.text import matrix_order, print_compliance
from tests.unit.compliance.sample import (
    CERT_RUN,
    GA_SKIP,
    HOSTS,
    IN_FORCE_JUSTIFICATION,
    PKI_ERROR,
    SSH_MESSAGE,
    SSH_RUN,
    TLS_MESSAGE,
    passing_report,
    sample_report,
)

ORDER = ["OLVM-PKI-003", "OLVM-TLS-001", "OLVM-SSH-002", "OLVM-NTP-005", "OLVM-DB-004",
         "OLVM-GA-006"]
"""Failing first (error 0.8, failed 0.7, failed 0.5 with a waived host), then the rest by
impact."""


def _render(report, width: int) -> str:
    console = Console(width=width, record=True)
    print_compliance(report, console)
    return console.export_text()


def _row(text: str, cid: str) -> str:
    return next(line for line in text.splitlines() if f" {cid} " in line)


def test_rows_put_failing_controls_first_then_waived_then_by_impact_and_id():
    assert [c.id for c in matrix_order(sample_report())] == ORDER
    report = sample_report()
    for result in report.results:
        if result.status in ("failed", "error"):
            result.status = "waived"
    report.result("OLVM-PKI-003", "kvm02").status = "passed"  # type: ignore[union-attr]
    assert [c.id for c in matrix_order(report)] == [
        "OLVM-TLS-001", "OLVM-SSH-002", "OLVM-PKI-003", "OLVM-NTP-005", "OLVM-DB-004",
        "OLVM-GA-006"]


@pytest.mark.parametrize("width", [80, 160])
def test_the_matrix_fits_the_terminal_with_every_control_host_and_status(width):
    text = _render(sample_report(), width)
    assert max(len(line) for line in text.splitlines()) <= width
    rows = [next(i for i, line in enumerate(text.splitlines()) if f" {cid} " in line)
            for cid in ORDER]
    assert rows == sorted(rows)
    header = next(line for line in text.splitlines() if "control" in line and "engine" in line)
    assert [header.index(h) for h in HOSTS] == sorted(header.index(h) for h in HOSTS)
    assert "impact, title" in header
    assert _row(text, "OLVM-PKI-003").split()[-8:] == [
        "passed", "│", "passed", "│", "error", "│", "-", "│"]
    assert _row(text, "OLVM-SSH-002").split()[-8:] == [
        "-", "│", "waived", "│", "failed", "│", "passed", "│"]
    assert _row(text, "OLVM-GA-006").split()[-2:] == ["skipped", "│"]
    assert "[0.7 critical] HSTS" in text and "[0.05 low] QEMU guest" in text


def test_on_a_wide_terminal_each_finding_is_one_line():
    lines = _render(sample_report(), 160).splitlines()
    assert f"OLVM-TLS-001 on engine: {TLS_MESSAGE}" in lines
    assert f"OLVM-SSH-002 on kvm02: {SSH_MESSAGE}" in lines
    assert f"OLVM-PKI-003 on kvm02 (could not run): {PKI_ERROR}" in lines
    assert f"OLVM-SSH-002 on kvm01: {SSH_MESSAGE}; waived until 2026-06-30: " \
           f"{IN_FORCE_JUSTIFICATION} (waivers.yml:1:3)" in " ".join(lines)
    assert any(line.startswith("- the waiver of OLVM-TLS-001 for engine expired") for line in lines)
    assert GA_SKIP not in lines  # skips are in the matrix only


def test_the_drift_says_what_changed_and_who_changed_it():
    lines = _render(sample_report(), 160).splitlines()
    assert ("Drift since run 20260215T081500Z-4242-ab12 (accepted at 2026-02-15T08:31:07Z)"
            in lines)
    assert (f"newly failing: OLVM-SSH-002 on kvm02 (passed -> failed), changed by run "
            f"{SSH_RUN} (workflow sshd-hardening)") in lines
    assert (f"newly passing: OLVM-PKI-003 on kvm01 (failed -> passed), changed by run "
            f"{CERT_RUN} (workflow cert-replace)") in lines
    assert ("evidence: OLVM-NTP-005 on engine: chrony.server: ntp1.example.com -> "
            "pool.ntp.org, changed outside opsrunner") in lines


def test_the_last_line_sums_up_and_says_what_the_exit_code_means():
    last = _render(sample_report(), 160).splitlines()[-1]
    assert last == ("8 passed, 2 failed, 1 waived, 1 skipped, 1 error: FAIL, exit code 2 "
                    "(a control failed or could not run)")
    text = _render(passing_report(), 160)
    assert text.splitlines()[-1].endswith(
        ": PASS, exit code 0 (every control that is not waived passed or was skipped)")
    assert "Failures" not in text and "Waived" not in text and "Notes" not in text
    assert "Drift: none since run 20260215T081500Z-4242-ab12" in text
    assert "This run is now the accepted baseline." in text


def test_without_a_baseline_there_is_no_drift_section():
    report = sample_report()
    report.drift = None
    assert "Drift" not in _render(report, 160)


def test_no_colour_codes_off_a_terminal_and_colours_on_one():
    plain = io.StringIO()
    print_compliance(sample_report(), Console(file=plain, width=100))
    assert "\x1b" not in plain.getvalue() and "failed" in plain.getvalue()
    coloured = io.StringIO()
    print_compliance(sample_report(), Console(file=coloured, width=100, force_terminal=True,
                                              color_system="standard"))
    assert "\x1b[" in coloured.getvalue()


def test_texts_from_checks_are_shown_as_they_are_without_markup_or_control_codes():
    report = sample_report()
    report.hosts.append("[red]web01")
    report.results.append(ControlResult("OLVM-DB-004", "kvm01", "failed",
                                        "[bold red]not markup[/] \x1b[2Jcleared\x07"))
    plain = io.StringIO()
    print_compliance(report, Console(file=plain, width=160, force_terminal=True))
    out = plain.getvalue()
    assert "\x1b[2J" not in out and "\x07" not in out
    text = _render(report, 160)
    assert "OLVM-DB-004 on kvm01: [bold red]not markup[/] [2Jcleared" in text
    assert "[red]web01" in text
