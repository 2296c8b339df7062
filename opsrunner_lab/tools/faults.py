"""Fault injection for the lab's engine tools: ``<lab>/faults/<name>`` makes a step fail.

A test (or a user rehearsing a failure) creates the file; the tool that reads it then fails
at that step with a realistic message, as the real tool would. The file holds optional
``KEY=value`` lines::

    message=Engine schema refresh failed    # the error text (default: the tool's own)
    times=1                                 # fail this many more runs, then remove the file

An empty file fails every run with the default message. Faults the tools know:

- ``engine-setup``: ``[ ERROR ] Failed to execute stage 'Misc configuration': <message>``.
- ``pg_dump``: every ``pg_dump`` of ``engine-backup`` fails with ``<message>`` on its stderr.
- ``guest-poweroff``: a guest's ``poweroff``/``shutdown``/``halt`` hangs: exit 0, the VM stays up.
"""

from __future__ import annotations

from pathlib import Path

from opsrunner_lab.layout import LabLayout
from opsrunner_lab.tools.common import ToolError


def fault_path(layout: LabLayout, name: str) -> Path:
    """The file that injects the fault ``name``."""
    return layout.root / "faults" / name


def take_fault(layout: LabLayout, name: str, default: str) -> str | None:
    """The message of fault ``name`` when it is armed (one use consumed), else None."""
    path = fault_path(layout, name)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or key.strip() not in ("message", "times"):
            raise ToolError(f"{path}:{number}: expected message=TEXT or times=N")
        values[key.strip()] = value.strip()
    times = values.get("times", "")
    if times and not times.isdigit():
        raise ToolError(f"{path}: times must be a whole number, not {times!r}")
    if times:
        left = int(times) - 1
        if left <= 0:
            path.unlink(missing_ok=True)
        else:
            path.write_text("".join(f"{key}={value}\n" for key, value in
                                    {**values, "times": str(left)}.items()))
        if int(times) <= 0:
            return None
    return values.get("message") or default
