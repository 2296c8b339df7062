"""Content digests of a workflow, recorded in the journal and compared by ``--resume``.

A step's digest covers what it does (name, task, ``with:``, ``when``, ``register``, retries,
timeout, ...), not where it is written, so moving comments or reformatting YAML changes the
file's digest but no step's.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from opsrunner.errors import FileRefused
from opsrunner.regularfile import YAML_LIMIT, read_regular_file
from opsrunner.workflow.model import Step, Workflow


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":")).encode()


def step_digest(step: Step) -> str:
    return _sha256(_canonical({
        "name": step.name, "task": step.task, "args": step.args, "when": step.when,
        "register": step.register, "retries": step.retries, "delay": step.delay,
        "until": step.until, "timeout": step.timeout, "on_error": step.on_error,
        "run_once": step.run_once}))


def settings_digest(workflow: Workflow) -> str:
    """Everything of the workflow but its steps: hosts, strategy, batches, vars, checks."""
    return _sha256(_canonical({
        "name": workflow.name, "hosts": workflow.hosts, "strategy": workflow.strategy,
        "batch": workflow.batch, "max_fail_percentage": workflow.max_fail_percentage,
        "vars": workflow.vars, "verify": [str(p) for p in workflow.verify]}))


def workflow_record(workflow: Workflow) -> dict[str, Any]:
    """The journal header's ``workflow`` object."""
    try:
        file_digest = _sha256(read_regular_file(workflow.path, what="workflow",
                                                limit=YAML_LIMIT).data)
    except (OSError, FileRefused):  # replaced since it was loaded
        file_digest = ""
    return {
        "name": workflow.name, "file": str(Path(workflow.path).resolve()),
        "digest": file_digest, "settings": settings_digest(workflow),
        "steps": [{"index": s.index, "name": s.name, "task": s.task, "digest": step_digest(s)}
                  for s in workflow.steps],
        "always": [{"index": s.index, "name": s.name, "task": s.task, "digest": step_digest(s)}
                   for s in workflow.always],
    }


def path_digest(path: Path) -> str:
    """A file's digest, or a folder's over its files (names and bytes, sorted, not recursive);
    "" when it cannot be read."""
    try:
        if path.is_dir():
            digest = hashlib.sha256()
            for item in sorted(p for p in path.iterdir() if p.is_file()):
                digest.update(item.name.encode() + b"\0" + item.read_bytes() + b"\0")
            return "sha256:" + digest.hexdigest()
        return _sha256(path.read_bytes())
    except OSError:
        return ""


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed between two ``workflow`` records, one line each ([] when the same)."""
    lines = []
    if old.get("settings") != new.get("settings"):
        lines.append("the workflow's settings (hosts, strategy, batch, vars or verify) changed")
    for section in ("steps", "always"):
        before, after = old.get(section, []), new.get(section, [])
        for index in range(max(len(before), len(after))):
            was = before[index] if index < len(before) else None
            now = after[index] if index < len(after) else None
            label = f"{section}[{index + 1}]"
            if was is None and now is not None:
                lines.append(f"{label} {now['name']!r}: added")
            elif now is None and was is not None:
                lines.append(f"{label} {was['name']!r}: removed")
            elif was is not None and now is not None and was.get("digest") != now.get("digest"):
                renamed = "" if was["name"] == now["name"] else f" (was {was['name']!r})"
                lines.append(f"{label} {now['name']!r}: changed{renamed}")
    return lines
