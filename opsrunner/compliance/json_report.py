"""A compliance run as one JSON document, schema ``opsrunner.compliance/1``.

The JSON Schema (draft 2020-12) ships with opsrunner: :func:`schema`, file
``opsrunner/compliance/compliance-1.schema.json``. Every key is always present; a value that
does not exist is ``null``. Times are UTC, ISO 8601 with a ``Z``; dates are ``YYYY-MM-DD``;
durations are seconds.

Top level:

- ``schema``: ``"opsrunner.compliance/1"``; a new major number means a key changed meaning.
- ``run_id``: the run's id (as ``opsrunner runs`` lists it).
- ``profile``: ``{name, title}`` of the profile run.
- ``started``: when the run started; ``duration``: how long it took.
- ``inventory``: the inventory's source; ``limit``: the ``--limit`` expression or ``null``.
- ``hosts``: the hosts checked, in inventory order.
- ``summary``: ``counts`` (how many control-on-host results have each status: ``passed``,
  ``failed``, ``waived``, ``skipped``, ``error``), ``failing_by_impact`` (for each impact
  band ``critical``, ``high``, ``medium``, ``low``: how many controls failed or could not run
  on at least one host), ``exit_code`` (0: nothing failing; 2: a control failed or could not
  run) and ``verdict`` (``PASS`` or ``FAIL``, as the exit code).
- ``controls``: the controls run, in profile order: ``id``, ``title``, ``impact`` (0.0 to
  1.0), ``impact_band``, ``section`` (of the OLVM Administration Guide), ``tags`` (the
  workflows that change what it checks), ``rationale``, ``hosts`` (the host pattern it
  applies to) and ``results``: one a host it applied to, in host order, with ``host``,
  ``status``, ``message`` (the check's evidence line; empty when it passed), ``evidence``
  (name -> value, as the check recorded it), ``duration``, ``cases`` (test cases behind the
  result) and ``waiver`` (``null``, or the waiver that turned the failure into ``waived``:
  ``justification``, ``expires``, ``hosts`` and ``location``, its ``file:line:col``).
- ``waivers``: every waiver of the waiver file, in force or not: ``control``, ``hosts``,
  ``justification``, ``expires``, ``location`` and ``in_force`` (on the day the run started).
- ``notes``: remarks of the run (waivers that expired...), one sentence each.
- ``drift``: ``null`` without an accepted baseline, else ``baseline_run`` (the accepted
  run), ``accepted`` (when it was accepted), ``statuses`` (each control and host whose
  status changed: ``control``, ``host``, ``before`` (``null``: not in the baseline),
  ``after``, ``kind`` (``newly failing``, ``newly passing`` or ``changed``), ``changed_by``
  (the opsrunner run that touched the host in between, ``null``: changed outside opsrunner)
  and ``changed_by_workflow``) and ``evidence`` (each piece of evidence that changed:
  ``control``, ``host``, ``name``, ``before``, ``after`` (``null``: absent), ``changed_by``,
  ``changed_by_workflow``).
- ``accepted``: this run was recorded as the new accepted baseline.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, TextIO, cast

from opsrunner.compliance.model import (
    ERROR,
    FAILED,
    FAILING,
    IMPACT_NAMES,
    PASSED,
    SKIPPED,
    WAIVED,
    ComplianceReport,
    Control,
    ControlResult,
    Drift,
    Waiver,
    impact_name,
)

SCHEMA = "opsrunner.compliance/1"
SCHEMA_FILE = "compliance-1.schema.json"
BANDS = tuple(name for _, name in IMPACT_NAMES)
"""The impact bands, highest first."""
CONTROL_ORDER = (FAILED, ERROR, WAIVED, PASSED, SKIPPED)
"""How a control's results on its hosts fold into one status: the first present wins."""


def schema() -> dict[str, Any]:
    """The JSON Schema of :func:`to_json`'s document (draft 2020-12)."""
    text = files("opsrunner.compliance").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return cast(dict[str, Any], json.loads(text))


def started_at(report: ComplianceReport) -> datetime:
    """When the run started, in UTC (a time without an offset is taken as UTC)."""
    moment = datetime.fromisoformat(report.started)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def started_day(report: ComplianceReport) -> date:
    """The day (UTC) the run started: the day waivers are in force or not."""
    return started_at(report).date()


def report_controls(report: ComplianceReport) -> list[Control]:
    """The profile's controls that have a result in the report, in profile order."""
    seen = {r.control for r in report.results}
    return [c for c in report.profile.controls.values() if c.id in seen]


def result_index(report: ComplianceReport) -> dict[tuple[str, str], ControlResult]:
    """Every result by (control, host)."""
    return {(r.control, r.host): r for r in report.results}


def control_results(report: ComplianceReport, control: str) -> list[ControlResult]:
    """The results of ``control``, in the report's host order."""
    order = {host: index for index, host in enumerate(report.hosts)}
    found = [r for r in report.results if r.control == control]
    return sorted(found, key=lambda r: order.get(r.host, len(order)))


def control_status(report: ComplianceReport, control: str) -> str:
    """The status of ``control`` over its hosts (:data:`CONTROL_ORDER`); ``skipped`` when it
    has no result."""
    present = {r.status for r in report.results if r.control == control}
    return next((s for s in CONTROL_ORDER if s in present), SKIPPED)


def band_summary(report: ComplianceReport) -> dict[str, dict[str, int]]:
    """For each impact band: how many controls are ``failing`` (failed or error on a host),
    ``waived``, ``passing`` and ``skipped`` (on every host)."""
    summary = {band: dict.fromkeys(("failing", "waived", "passing", "skipped"), 0)
               for band in BANDS}
    for control in report_controls(report):
        status = control_status(report, control.id)
        key = "failing" if status in FAILING else "passing" if status == PASSED else status
        summary[impact_name(control.impact)][key] += 1
    return summary


def verdict(report: ComplianceReport) -> str:
    """``PASS`` when the exit code is 0, else ``FAIL``."""
    return "PASS" if report.exit_code == 0 else "FAIL"


def to_json(report: ComplianceReport) -> dict[str, Any]:
    """The report as the document described in the module docstring."""
    return {
        "schema": SCHEMA,
        "run_id": report.run_id,
        "profile": {"name": report.profile.name, "title": report.profile.title},
        "started": report.started,
        "duration": round(report.duration, 3),
        "inventory": report.inventory,
        "limit": report.limit,
        "hosts": list(report.hosts),
        "summary": _summary(report),
        "controls": [_control(report, c) for c in report_controls(report)],
        "waivers": [_waiver_entry(w, started_day(report)) for w in report.waivers],
        "notes": list(report.notes),
        "drift": None if report.drift is None else _drift(report.drift),
        "accepted": report.accepted,
    }


def write_json(report: ComplianceReport, path_or_stream: str | Path | TextIO) -> None:
    """Write :func:`to_json` indented, with a final newline, to a file path or a stream."""
    text = json.dumps(to_json(report), indent=2, ensure_ascii=False) + "\n"
    if isinstance(path_or_stream, (str, Path)):
        Path(path_or_stream).write_text(text, encoding="utf-8")
    else:
        path_or_stream.write(text)


def _summary(report: ComplianceReport) -> dict[str, Any]:
    bands = band_summary(report)
    return {"counts": report.counts(),
            "failing_by_impact": {band: bands[band]["failing"] for band in BANDS},
            "exit_code": report.exit_code,
            "verdict": verdict(report)}


def _control(report: ComplianceReport, control: Control) -> dict[str, Any]:
    return {"id": control.id, "title": control.title, "impact": control.impact,
            "impact_band": impact_name(control.impact), "section": control.section,
            "tags": list(control.tags), "rationale": control.rationale,
            "hosts": control.hosts,
            "results": [_result(r) for r in control_results(report, control.id)]}


def _result(result: ControlResult) -> dict[str, Any]:
    waiver = result.waiver
    return {"host": result.host, "status": result.status, "message": result.message,
            "evidence": {str(k): str(v) for k, v in result.evidence.items()},
            "duration": round(result.duration, 3), "cases": result.cases,
            "waiver": None if waiver is None else {
                "justification": waiver.justification, "expires": waiver.expires.isoformat(),
                "hosts": waiver.hosts, "location": str(waiver.location)}}


def _waiver_entry(waiver: Waiver, today: date) -> dict[str, Any]:
    return {"control": waiver.control, "hosts": waiver.hosts,
            "justification": waiver.justification, "expires": waiver.expires.isoformat(),
            "location": str(waiver.location), "in_force": waiver.in_force(today)}


def _drift(drift: Drift) -> dict[str, Any]:
    return {
        "baseline_run": drift.baseline_run,
        "accepted": drift.accepted,
        "statuses": [{"control": s.control, "host": s.host, "before": s.before,
                      "after": s.after, "kind": s.kind, "changed_by": s.changed_by,
                      "changed_by_workflow": s.changed_by_workflow} for s in drift.statuses],
        "evidence": [{"control": e.control, "host": e.host, "name": e.name,
                      "before": e.before, "after": e.after, "changed_by": e.changed_by,
                      "changed_by_workflow": e.changed_by_workflow} for e in drift.evidence],
    }

