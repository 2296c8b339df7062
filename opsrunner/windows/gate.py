"""The start gate of a windowed run: is the window open now, and what does the run get.

A workflow runs in a window when it says ``window: NAME`` or the run is given ``--window
NAME``. The run may start from the opening until its start deadline, outside every blackout;
otherwise :class:`~opsrunner.errors.OutsideWindow` (exit 3, nothing changed) says when the
window next opens. ``--outside-window --reason TEXT`` runs anyway, without admission control;
the reason goes into the journal, the report and the engine's audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from opsrunner.errors import OutsideWindow, UsageError, unknown_name_message
from opsrunner.registry import Registry
from opsrunner.state import StateDir
from opsrunner.windows.admission import Admission, Estimator
from opsrunner.windows.model import Opening, Window
from opsrunner.workflow.model import Workflow


@dataclass(frozen=True)
class WindowChoice:
    """What the gate decided: the admission (None when run outside the window) and the
    report's/journal's ``window`` object."""

    admission: Admission | None
    record: dict[str, Any]


def window_name(workflow: Workflow, option: str | None) -> str | None:
    """``--window`` over the workflow's ``window:``."""
    return option or workflow.window


def choose(name: str, *, workflow: Workflow, inventory: str, windows_file: str | None,
           registry: Registry, state: StateDir, outside_reason: str | None,
           now: datetime | None = None) -> WindowChoice:
    """Open the gate of window ``name`` for ``workflow``, or raise OutsideWindow."""
    from opsrunner.windows import find_windows_file, load_windows

    path = find_windows_file(inventory, windows_file)
    if path is None:
        raise UsageError(f"{workflow.path}: runs in window {name!r}, but no windows.yaml is "
                         f"in the inventory folder {inventory} (give --windows FILE)")
    windows = load_windows(path).windows
    if name not in windows:
        raise UsageError(f"{path}: " + unknown_name_message("window", name, windows))
    window = windows[name]
    zone = ZoneInfo(window.timezone)
    moment = (now or datetime.now(zone)).astimezone(zone)
    opening = _admitting(window, moment)
    if outside_reason is not None:
        if not outside_reason.strip():
            raise UsageError("--outside-window needs --reason TEXT: why the run cannot wait")
        record = {"name": name, "timezone": window.timezone, "outside_reason": outside_reason,
                  "file": str(path)}
        return WindowChoice(None, record)
    if isinstance(opening, str):
        raise OutsideWindow(f"{opening}; nothing was changed. To run anyway: --outside-window "
                            f"--reason TEXT")
    from opsrunner.state.history import host_step_durations

    estimator = Estimator(host_step_durations(state, workflow.path),
                          host_step_durations(state, workflow.path, always=True))
    admission = Admission(opening, estimator, lambda task: registry.task(task).reserve)
    return WindowChoice(admission, {**admission.describe(), "file": str(path)})


def _admitting(window: Window, now: datetime) -> Opening | str:
    """The opening a run may start in now, or why not (with the next opening)."""
    from opsrunner.windows import calendar

    current = calendar.current(window, now)
    if current is not None and now <= current.start_deadline:
        return current
    following = calendar.next_opening(window, now)
    nxt = ("it has no opening ahead" if following is None else
           f"it next opens {_both(following.opens)}")
    if current is not None:
        return (f"window {window.name} opened at {_both(current.opens)}, and its start "
                f"deadline passed at {_both(current.start_deadline)}; {nxt}")
    return f"window {window.name} is not open now ({_both(now)}); {nxt}"


def _both(moment: datetime) -> str:
    utc = moment.astimezone(ZoneInfo("UTC"))
    return f"{moment:%Y-%m-%d %H:%M %Z} ({utc:%Y-%m-%d %H:%M} UTC)"
