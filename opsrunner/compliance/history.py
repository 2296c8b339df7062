"""Compliance runs in the run history: ``opsrunner runs`` lists them beside workflow runs.

Each recorded run (``<state>/compliance/<profile>/runs/<run-id>.json``, see
:mod:`opsrunner.compliance.baseline`) becomes one :class:`~opsrunner.state.history.RunSummary`
whose workflow is ``compliance <profile>``: a host is ``ok`` when no control failed on it
(waived counts as ok), else ``failed``; the run ended ``ok`` or ``failed`` as its exit code.
A file that cannot be read is skipped with a note.
"""

from __future__ import annotations

import json
from typing import Any

from opsrunner.state import StateDir
from opsrunner.state.history import RunSummary

FAILING = ("failed", "error")


def compliance_runs(state: StateDir) -> list[RunSummary]:
    """Every recorded compliance run of every profile, newest first."""
    found: list[RunSummary] = []
    for path in (state.root / "compliance").glob("*/runs/*.json"):
        try:
            doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            found.append(_summary(doc, str(path)))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            found.append(RunSummary(path.stem, "", str(path), "", None, False, 0, 0, 0, 0,
                                    "failed", notes=[f"{path}: unreadable ({exc})"]))
    found.sort(key=lambda s: (s.started, s.run_id), reverse=True)
    return found


def _summary(doc: dict[str, Any], path: str) -> RunSummary:
    hosts = list(doc["hosts"])
    failing = {r["host"] for c in doc["controls"] for r in c["results"]
               if r["status"] in FAILING}
    code = int(doc["summary"]["exit_code"])
    return RunSummary(run_id=str(doc["run_id"]), workflow=f"compliance {doc['profile']['name']}",
                      workflow_file=path, started=str(doc["started"]),
                      duration=float(doc["duration"]), check=False,
                      ok=len([h for h in hosts if h not in failing]), changed=0,
                      failed=len(failing), deferred=0, ended="ok" if code == 0 else "failed",
                      exit_code=code)
