"""The terminal report of a compliance run: the control-by-host matrix and what it means.

Failing controls come first. Under the matrix: the evidence of each failure, the waived
results, the notes, the drift against the accepted baseline and one summary line. Every
text from a check or a file is printed as plain text (no rich markup, no control codes);
colour only when the console is a terminal (rich decides).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from opsrunner.compliance.json_report import (
    control_results,
    control_status,
    report_controls,
    result_index,
    verdict,
)
from opsrunner.compliance.model import (
    ERROR,
    FAILED,
    FAILING,
    PASSED,
    SKIPPED,
    STATUSES,
    WAIVED,
    ComplianceReport,
    Control,
    ControlResult,
    Drift,
    EvidenceChange,
    StatusChange,
    impact_name,
)

STYLES = {PASSED: "green", FAILED: "bold red", WAIVED: "yellow", SKIPPED: "dim",
          ERROR: "bold magenta"}
"""The colour of each status word."""
NOT_APPLICABLE = "-"
_CONTROL_CODES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """``text`` without control characters (tab and newline stay)."""
    return _CONTROL_CODES.sub("", text)


def matrix_order(report: ComplianceReport) -> list[Control]:
    """The controls of the report, failing (failed or error on a host) first, then waived,
    then the rest; within each group by impact, highest first, then by id."""

    def key(control: Control) -> tuple[int, float, str]:
        status = control_status(report, control.id)
        group = 0 if status in FAILING else 1 if status == WAIVED else 2
        return group, -control.impact, control.id

    return sorted(report_controls(report), key=key)


def print_compliance(report: ComplianceReport, console: Console) -> None:
    """Print the whole report on ``console``: matrix, failures, waived results, notes,
    drift (when there is a baseline) and the summary line."""
    console.print(matrix(report))
    for block in (_failures(report), _waived(report), _notes(report), _drift(report)):
        if block:
            console.print()
            for line in block:
                console.print(line)
    console.print()
    console.print(summary_line(report))


def matrix(report: ComplianceReport) -> Table:
    """The control-by-host table: a status word a cell, ``-`` where the control does not
    apply to the host."""
    title = Text(clean(f"{report.profile.title} ({report.profile.name}): run "
                       f"{report.run_id}, {report.started}"), style="bold")
    table = Table(title=title, title_justify="left")
    table.add_column("control", no_wrap=True)
    table.add_column("impact, title", min_width=16, overflow="fold")
    for host in report.hosts:
        table.add_column(Text(clean(host)), no_wrap=True, min_width=len(max(STATUSES, key=len)))
    found = result_index(report)
    for control in matrix_order(report):
        cells = [_status_cell(found.get((control.id, host))) for host in report.hosts]
        table.add_row(Text(control.id, style="bold"), _about(control), *cells)
    return table


def summary_line(report: ComplianceReport) -> Text:
    """``N passed, N failed, ...: PASS|FAIL, exit code C (what it means)``."""
    counts = report.counts()
    line = Text()
    for index, status in enumerate(STATUSES):
        line.append(", " if index else "")
        line.append(f"{counts[status]} {status}", style=STYLES[status] if counts[status] else "")
    outcome = verdict(report)
    meaning = ("a control failed or could not run" if report.exit_code else
               "every control that is not waived passed or was skipped")
    line.append(": ")
    line.append(outcome, style="bold red" if report.exit_code else "bold green")
    line.append(f", exit code {report.exit_code} ({meaning})")
    return line


def _about(control: Control) -> Text:
    return Text.assemble((f"[{control.impact:g} {impact_name(control.impact)}]", "italic"),
                         f" {clean(control.title)}")


def _status_cell(result: ControlResult | None) -> Text:
    if result is None:
        return Text(NOT_APPLICABLE, style="dim")
    return Text(result.status, style=STYLES.get(result.status, ""))


def _heading(text: str) -> Text:
    return Text(text, style="bold underline")


def _where(result: ControlResult) -> Text:
    return Text.assemble((result.control, "bold"), f" on {clean(result.host)}")


def _in_order(report: ComplianceReport, statuses: Iterable[str]) -> list[ControlResult]:
    wanted = set(statuses)
    return [r for c in matrix_order(report) for r in control_results(report, c.id)
            if r.status in wanted]


def _failures(report: ComplianceReport) -> list[Text]:
    found = _in_order(report, FAILING)
    lines = [_heading("Failures")] if found else []
    for result in found:
        line = _where(result)
        if result.status == ERROR:
            line.append(" (could not run)", style=STYLES[ERROR])
        line.append(f": {clean(result.message) or '(no message)'}")
        lines.append(line)
    return lines


def _waived(report: ComplianceReport) -> list[Text]:
    found = _in_order(report, (WAIVED,))
    lines = [_heading("Waived")] if found else []
    for result in found:
        line = _where(result)
        if result.message:
            line.append(f": {clean(result.message)}")
        waiver = result.waiver
        if waiver is None:
            line.append("; waived", style=STYLES[WAIVED])
        else:
            line.append(f"; waived until {waiver.expires.isoformat()}", style=STYLES[WAIVED])
            line.append(f": {clean(waiver.justification)} ({clean(str(waiver.location))})")
        lines.append(line)
    return lines


def _notes(report: ComplianceReport) -> list[Text]:
    if not report.notes:
        return []
    return [_heading("Notes"), *(Text(f"- {clean(note)}") for note in report.notes)]


def _drift(report: ComplianceReport) -> list[Text]:
    drift = report.drift
    if drift is None:
        return []
    lines = [_drift_heading(drift)]
    lines += [_status_change(change) for change in drift.statuses]
    lines += [_evidence_change(change) for change in drift.evidence]
    if report.accepted:
        lines.append(Text("This run is now the accepted baseline.", style="bold"))
    return lines


def _drift_heading(drift: Drift) -> Text:
    since = clean(f"since run {drift.baseline_run} (accepted at {drift.accepted})")
    if drift.empty:
        return Text.assemble(("Drift", "bold underline"), f": none {since}")
    return _heading(f"Drift {since}")


def _changed_by(run: str | None, workflow: str | None) -> str:
    if run is None:
        return "changed outside opsrunner"
    return clean(f"changed by run {run}" + (f" (workflow {workflow})" if workflow else ""))


def _status_change(change: StatusChange) -> Text:
    before = change.before or "not in the baseline"
    style = {"newly failing": STYLES[FAILED], "newly passing": STYLES[PASSED]}.get(change.kind, "")
    return Text.assemble((change.kind, style), ": ", (clean(change.control), "bold"),
                         clean(f" on {change.host} ({before} -> {change.after}), "),
                         _changed_by(change.changed_by, change.changed_by_workflow))


def _evidence_change(change: EvidenceChange) -> Text:
    before = "(none)" if change.before is None else change.before
    after = "(none)" if change.after is None else change.after
    return Text.assemble("evidence: ", (clean(change.control), "bold"),
                         clean(f" on {change.host}: {change.name}: {before} -> {after}, "),
                         _changed_by(change.changed_by, change.changed_by_workflow))
