"""The compliance history: every run recorded, one accepted baseline, and drift against it.

Under the state folder (``--state-dir``, ``$OPSRUNNER_STATE_DIR``, ``.opsrunner``)::

    compliance/<profile>/runs/<run-id>.json     # every compliance run (the JSON report)
    compliance/<profile>/baseline.json          # the accepted results and evidence
    compliance/<profile>/baseline-<run-id>.json # the baseline it replaced (kept)

``--accept`` records the run's results and evidence as the baseline. Later runs report the
drift: controls newly failing or newly passing on a host, and evidence that changed (a
certificate's fingerprint, a file's digest, a setting). Each change is put down to the
opsrunner run that changed that host since the baseline, from the run journals: the newest
run (not a check run) with a step that changed the host (whether the run then passed its
checks or not), of a workflow the control is tagged with (a
workflow file's name without ``.yml``); otherwise it changed outside opsrunner. Files are
written whole (a temporary file renamed over), mode 0600, in folders of mode 0700.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from opsrunner.compliance.model import (
    ComplianceReport,
    Drift,
    EvidenceChange,
    Profile,
    StatusChange,
)
from opsrunner.errors import UsageError
from opsrunner.report.journal import timestamp
from opsrunner.state import StateDir

BASELINE_SCHEMA = "opsrunner.compliance-baseline/1"


def folder_of(state: StateDir, profile: str) -> Path:
    return state.root / "compliance" / profile


def record_run(state: StateDir, report: ComplianceReport, document: Mapping[str, Any]) -> Path:
    """Keep ``document`` (the run's JSON report) in the history; return its path."""
    runs = state.ensure(folder_of(state, report.profile.name) / "runs")
    path = runs / f"{report.run_id}.json"
    _write(path, document)
    return path


def accept(state: StateDir, report: ComplianceReport) -> Path:
    """Make ``report`` the accepted baseline (the one it replaces is kept beside it)."""
    folder = state.ensure(folder_of(state, report.profile.name))
    path = folder / "baseline.json"
    previous = load_baseline(state, report.profile.name)
    if previous is not None:
        os.replace(path, folder / f"baseline-{previous['run_id']}.json")
    _write(path, {
        "schema": BASELINE_SCHEMA, "profile": report.profile.name, "run_id": report.run_id,
        "started": report.started, "accepted": timestamp(),
        "results": [{"control": r.control, "host": r.host, "status": r.status,
                     "evidence": dict(r.evidence)} for r in report.results]})
    return path


def load_baseline(state: StateDir, profile: str) -> dict[str, Any] | None:
    """The accepted baseline of ``profile``, or None when none was accepted.

    :raises UsageError: the file is there but unreadable or not a baseline.
    """
    path = folder_of(state, profile) / "baseline.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a compliance baseline ({exc}); move it away or accept "
                         f"a new one with --accept") from None
    if not isinstance(data, dict) or data.get("schema") != BASELINE_SCHEMA:
        raise UsageError(f"{path}: not a compliance baseline (schema {BASELINE_SCHEMA}); "
                         f"move it away or accept a new one with --accept")
    return data


def drift(report: ComplianceReport, baseline: Mapping[str, Any], state: StateDir) -> Drift:
    """What differs between ``report`` and ``baseline``, with who changed it (see the module
    docstring). Only the controls and hosts of ``report`` are compared."""
    found = Drift(baseline_run=str(baseline["run_id"]), accepted=str(baseline["accepted"]))
    before = {(r["control"], r["host"]): r for r in baseline.get("results", [])}
    changers = _changers(state, str(baseline.get("started", "")), report.started)
    for result in report.results:
        old = before.get((result.control, result.host))
        cause = _cause(report.profile, result.control, result.host, changers)
        old_status = old["status"] if old else None
        if old_status != result.status and not (old is None and result.status == "passed"):
            found.statuses.append(StatusChange(result.control, result.host, old_status,
                                               result.status, *cause))
        if old is None:
            continue
        old_evidence: dict[str, str] = old.get("evidence") or {}
        for name in sorted(set(old_evidence) | set(result.evidence)):
            was, now = old_evidence.get(name), result.evidence.get(name)
            if was != now:
                found.evidence.append(EvidenceChange(result.control, result.host, name, was,
                                                     now, *cause))
    return found


def _changers(state: StateDir, since: str, until: str) -> list[tuple[str, str, str, set[str]]]:
    """The runs between the baseline and now that changed hosts: (run id, workflow name,
    workflow file stem, hosts changed), newest first."""
    from opsrunner.state.history import host_steps, journals, options_of, workflow_of

    found: list[tuple[str, str, str, set[str]]] = []
    for journal in journals(state):
        started = str(journal.header.get("ts") or "")
        if not started or not since <= started <= until or options_of(journal.header).get("check"):
            continue
        changed = {h for h, steps in host_steps(journal).items()
                   if any(s["status"] == "changed" and not s["resumed_from"] for s in steps)}
        if changed:
            name, file = workflow_of(journal.header)
            found.append((journal.run_id, name, Path(file).stem, changed))
    return found


def _cause(profile: Profile, control: str, host: str,
           changers: list[tuple[str, str, str, set[str]]]) -> tuple[str | None, str | None]:
    tags = set(profile.controls[control].tags) if control in profile.controls else set()
    for run_id, name, stem, hosts in changers:
        if host in hosts and stem in tags:
            return run_id, name or stem
    return None, None


def _write(path: Path, document: Mapping[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(document, fh, indent=1, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temporary, path)
