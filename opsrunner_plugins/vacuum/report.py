"""What the vacuum reports: sizes before and after, the bytes reclaimed, and the run's record
on the host that the workflow's checks read (sizes, dumps, the pg_restore to list them)."""

from __future__ import annotations

import json
import posixpath
import shlex
from typing import Any

from opsrunner import Task
from opsrunner_plugins.vacuum.db import DbSize
from opsrunner_plugins.vacuum.steps import Target


def summary(before: dict[str, DbSize], after: dict[str, DbSize], targets: list[Target]) -> str:
    """``engine: 30 MB -> 10 MB (reclaimed 20971520 bytes, 20.0 MiB); ...``."""
    parts = []
    for target in targets:
        name = target.database
        if name in after:
            gained = before[name].size - after[name].size
            shown = f", {human(gained)}" if abs(gained) >= 1024 else ""
            parts.append(f"{name}: {before[name].pretty} -> {after[name].pretty} "
                         f"(reclaimed {gained} bytes{shown})")
    return "; ".join(parts)


def human(size: int) -> str:
    """``1536`` -> ``1.5 KiB`` (negative sizes keep their sign)."""
    value = float(abs(size))
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            text = f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
            return ("-" if size < 0 else "") + text
        value /= 1024
    raise AssertionError("unreachable")


def in_bytes(sizes: dict[str, DbSize]) -> dict[str, int]:
    """Each database's size in bytes."""
    return {name: size.size for name, size in sizes.items()}


def write_record(task: Task, host_record: str, data: dict[str, Any], targets: list[Target],
                 pg_dir: str | None, mode: str, *, failed: bool) -> None:
    """The run's record for the checks: sizes by database, dumps, pg_restore, outcome."""
    record = {"mode": mode, "failed": failed,
              "pg_restore": posixpath.join(pg_dir, "pg_restore") if pg_dir else None,
              "databases": {t.database: {"key": t.key, "before": data["before"][t.database],
                                         "after": data["after"].get(t.database),
                                         "dump": data["dumps"].get(t.database)}
                            for t in targets},
              "stopped": data["stopped"], "started": data["started"]}
    task.run(f"mkdir -p -- {shlex.quote(posixpath.dirname(host_record))}", check_rc=True)
    task.put((json.dumps(record, indent=2) + "\n").encode(), host_record, mode=0o644)
