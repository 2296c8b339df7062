"""A compliance run as one self-contained HTML page, for auditors and for printing.

The page loads nothing: inline CSS only, no script, no link, no image but ``data:``, and a
Content-Security-Policy that forbids the rest. Sections: the header (profile, run, hosts),
the summary by impact band with the verdict, the control-by-host matrix (each cell says its
status in words; colour only helps; a CSS-only "show failures only" switch), the evidence
of each failure, the waivers, the notes, the drift against the accepted baseline and the
controls' details. Every text is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from pathlib import Path

from opsrunner.compliance.json_report import (
    BANDS,
    band_summary,
    control_results,
    control_status,
    result_index,
    started_day,
    verdict,
)
from opsrunner.compliance.model import (
    ERROR,
    FAILING,
    STATUSES,
    WAIVED,
    ComplianceReport,
    Control,
    ControlResult,
    Drift,
    EvidenceChange,
    StatusChange,
    Waiver,
    impact_name,
)
from opsrunner.compliance.text import clean, matrix_order
from opsrunner.report.output_file import write_output_file

POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'"
"""The page's Content-Security-Policy: nothing but its own inline style."""

CSS = """
:root { --failed: #b3261e; --error: #7b1fa2; --waived: #a15c00; --passed: #1b6e20;
        --skipped: #5f6368; --line: #d0d4d9; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       margin: 0 auto; max-width: 1200px; padding: 1.5rem; color: #1f2328; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; border-bottom: 2px solid var(--line); padding-bottom: .2rem;
     margin-top: 2rem; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .3rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border: 1px solid var(--line); padding: .25rem .5rem; text-align: left;
         vertical-align: top; }
thead th { background: #f3f4f6; }
.verdict { display: inline-block; font-weight: 700; font-size: 1.2rem; padding: .2rem .8rem;
           border: 2px solid; border-radius: .3rem; }
.verdict.PASS { color: var(--passed); }
.verdict.FAIL { color: var(--failed); }
.st { font-weight: 600; text-align: center; white-space: nowrap; }
.st.passed { color: var(--passed); background: #e6f4e7; }
.st.failed { color: #fff; background: var(--failed); }
.st.error { color: #fff; background: var(--error); }
.st.waived { color: var(--waived); background: #fdf0d5; }
.st.skipped { color: var(--skipped); background: #f1f3f4; }
.st.na { color: #9aa0a6; font-weight: 400; }
pre { background: #f6f8fa; border: 1px solid var(--line); padding: .5rem; margin: .3rem 0;
      white-space: pre-wrap; overflow-wrap: anywhere; }
.muted { color: #5f6368; }
.nw { white-space: nowrap; }
.filter-label { margin-left: .3rem; }
table.matrix tr.failing th { border-left: 4px solid var(--failed); }
#only-failing:checked ~ table.matrix tbody tr:not(.failing) { display: none; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  #only-failing, .filter-label { display: none; }
  table.matrix tbody tr { display: table-row !important; }
  h2 { break-after: avoid; }
  tr, article, pre { break-inside: avoid; }
  * { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
}
"""


def e(text: object) -> str:
    """``text`` as HTML text or attribute value: escaped, without control characters."""
    return html.escape(clean(str(text)), quote=True)


def to_html(report: ComplianceReport) -> str:
    """The whole page (see the module docstring)."""
    title = f"{report.profile.name}: {verdict(report)} (run {report.run_id})"
    body = [_header(report), _summary(report), _matrix(report), _failures(report),
            _waivers(report), _notes(report), _drift(report), _controls(report)]
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{e(POLICY)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
        *body, '<footer class="muted"><p>Written by opsrunner (compliance report, schema '
                'opsrunner.compliance/1).</p></footer>', "</body>", "</html>", ""])


def write_html(report: ComplianceReport, path: str | Path) -> None:
    """Write :func:`to_html` to ``path`` (UTF-8), atomically."""
    write_output_file(path, to_html(report).encode("utf-8"))


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], nowrap: Sequence[str] = ()) -> str:
    """A table; ``head`` is text (escaped here), ``rows`` are cells of ready HTML; the
    columns named in ``nowrap`` do not wrap (ids, dates)."""
    header = "".join(f'<th scope="col">{e(h)}</th>' for h in head)
    kinds = ['<td class="nw">' if h in nowrap else "<td>" for h in head]
    lines = ["<table>", f"<thead><tr>{header}</tr></thead>", "<tbody>"]
    lines += ["<tr>" + "".join(f"{kind}{cell}</td>" for kind, cell in zip(kinds, row, strict=True))
              + "</tr>" for row in rows]
    return "\n".join([*lines, "</tbody>", "</table>"])


def _header(report: ComplianceReport) -> str:
    facts = [("Profile", report.profile.name), ("Run", report.run_id),
             ("Started", report.started), ("Duration", f"{report.duration:.1f} s"),
             ("Inventory", report.inventory or "-"), ("Limit", report.limit or "none"),
             ("Hosts", ", ".join(report.hosts))]
    items = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in facts)
    outcome = verdict(report)
    return (f'<header><h1>{e(report.profile.title)}</h1>\n'
            f'<p>Verdict: <span class="verdict {outcome}">{outcome}</span> '
            f'<span class="muted">(exit code {report.exit_code})</span></p>\n'
            f'<dl class="facts">{items}</dl></header>')


def _summary(report: ComplianceReport) -> str:
    bands = band_summary(report)
    rows = [[e(band), *(str(bands[band][key]) for key in ("failing", "waived", "passing",
                                                          "skipped"))] for band in BANDS]
    counts = report.counts()
    results = ", ".join(f"{counts[s]} {s}" for s in STATUSES)
    return ('<section id="summary"><h2>Summary by impact</h2>\n'
            '<p>Controls per impact band (a control is failing when it failed or could not '
            'run on at least one host).</p>\n'
            + _table(("impact", "failing", "waived", "passing", "skipped"), rows)
            + f'\n<p>Results (control on host): {e(results)}. Verdict: '
              f'<strong>{verdict(report)}</strong>.</p></section>')


def _matrix(report: ComplianceReport) -> str:
    head = "".join(f'<th scope="col">{e(h)}</th>' for h in ("control", "impact", "title",
                                                             *report.hosts))
    rows, found = [], result_index(report)
    for control in matrix_order(report):
        status = control_status(report, control.id)
        group = "failing" if status in FAILING else "waived" if status == WAIVED else "ok"
        cells = "".join(_cell(found.get((control.id, h))) for h in report.hosts)
        rows.append(f'<tr class="{group}"><th scope="row">{e(control.id)}</th>'
                    f"<td>{e(_impact(control))}</td><td>{e(control.title)}</td>{cells}</tr>")
    return "\n".join([
        '<section id="matrix"><h2>Controls by host</h2>',
        '<input type="checkbox" id="only-failing">'
        '<label class="filter-label" for="only-failing">show failures only</label>',
        '<table class="matrix">', f"<thead><tr>{head}</tr></thead>", "<tbody>", *rows,
        "</tbody>", "</table>",
        '<p class="muted">"-": the control does not apply to the host.</p></section>'])


def _cell(result: ControlResult | None) -> str:
    if result is None:
        return '<td class="st na" title="does not apply">-</td>'
    return f'<td class="st {e(result.status)}">{e(result.status)}</td>'


def _impact(control: Control) -> str:
    return f"{control.impact:g} {impact_name(control.impact)}"


def _failures(report: ComplianceReport) -> str:
    parts = ['<section id="failures"><h2>Failures</h2>']
    found = [(c, r) for c in matrix_order(report) for r in control_results(report, c.id)
             if r.status in FAILING]
    if not found:
        parts.append("<p>No control failed.</p>")
    for index, (control, result) in enumerate(found):
        what = "could not run" if result.status == ERROR else "failed"
        parts.append(
            f'<article id="failure-{index}"><h3>{e(control.id)}: {e(control.title)}</h3>\n'
            f"<p>On <strong>{e(result.host)}</strong>: {e(what)} "
            f'<span class="muted">(impact {e(_impact(control))})</span></p>\n'
            f"<pre>{e(result.message or '(no message)')}</pre>{_evidence(result)}</article>")
    return "\n".join([*parts, "</section>"])


def _evidence(result: ControlResult) -> str:
    if not result.evidence:
        return ""
    return "\n" + _table(("evidence", "value"), ([e(k), e(v)] for k, v in
                                                  result.evidence.items()))


def _waivers(report: ComplianceReport) -> str:
    today = started_day(report)
    rows = [[e(w.control), e(w.hosts), e(w.justification), e(w.expires.isoformat()),
             e("in force" if w.in_force(today) else "expired"), e(_applied(report, w)),
             e(str(w.location))] for w in report.waivers]
    if not rows:
        return '<section id="waivers"><h2>Waivers</h2>\n<p>No waiver.</p></section>'
    return ('<section id="waivers"><h2>Waivers</h2>\n'
            + _table(("control", "hosts", "justification", "expires", "state",
                      "applied to", "declared at"), rows,
                     nowrap=("control", "expires", "state")) + "</section>")


def _applied(report: ComplianceReport, waiver: Waiver) -> str:
    hosts = [r.host for r in report.results if r.waiver == waiver]
    return ", ".join(hosts) or "-"


def _notes(report: ComplianceReport) -> str:
    if not report.notes:
        return ""
    items = "".join(f"<li>{e(note)}</li>" for note in report.notes)
    return f'<section id="notes"><h2>Notes</h2>\n<ul>{items}</ul></section>'


def _drift(report: ComplianceReport) -> str:
    drift = report.drift
    parts = ['<section id="drift"><h2>Drift</h2>']
    if drift is None:
        parts.append("<p>No accepted baseline: nothing to compare this run with.</p>")
    elif drift.empty:
        parts.append(f"<p>No drift since run {e(drift.baseline_run)} accepted at "
                     f"{e(drift.accepted)}.</p>")
    else:
        parts.append(_drift_tables(drift))
    if report.accepted:
        parts.append("<p><strong>This run is now the accepted baseline.</strong></p>")
    return "\n".join([*parts, "</section>"])


def _drift_tables(drift: Drift) -> str:
    parts = [f"<p>Changes since run {e(drift.baseline_run)} accepted at "
             f"{e(drift.accepted)}.</p>"]
    if drift.statuses:
        parts.append("<h3>Status changes</h3>")
        parts.append(_table(("change", "control", "host", "before", "after", "changed by"),
                            (_status_row(s) for s in drift.statuses),
                            nowrap=("change", "control")))
    if drift.evidence:
        parts.append("<h3>Evidence changes</h3>")
        parts.append(_table(("control", "host", "evidence", "before", "after", "changed by"),
                            (_evidence_row(c) for c in drift.evidence), nowrap=("control",)))
    return "\n".join(parts)


def _changed_by(run: str | None, workflow: str | None) -> str:
    if run is None:
        return "outside opsrunner"
    return f"run {run}" + (f" (workflow {workflow})" if workflow else "")


def _status_row(change: StatusChange) -> list[str]:
    return [e(change.kind), e(change.control), e(change.host),
            e(change.before or "not in the baseline"), e(change.after),
            e(_changed_by(change.changed_by, change.changed_by_workflow))]


def _evidence_row(change: EvidenceChange) -> list[str]:
    return [e(change.control), e(change.host), e(change.name),
            e("(none)" if change.before is None else change.before),
            e("(none)" if change.after is None else change.after),
            e(_changed_by(change.changed_by, change.changed_by_workflow))]


def _controls(report: ComplianceReport) -> str:
    rows = [[e(c.id), e(_impact(c)), e(c.section), e(c.hosts), e(", ".join(c.tags) or "-"),
             e(c.rationale)] for c in matrix_order(report)]
    return ('<section id="controls"><h2>Controls</h2>\n'
            + _table(("control", "impact", "section", "hosts", "tags", "rationale"), rows,
                     nowrap=("control", "impact"))
            + "</section>")
