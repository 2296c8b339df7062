"""The service and timer unit files of a schedule: writing, reading back, removing.

A schedule ``NAME`` is ``NAME.service`` (``Type=oneshot``, ``opsrunner run WORKFLOW -i INV
--window W``) and ``NAME.timer`` (its ``OnCalendar=`` lines, ``Persistent=true``). Both start
with the line :data:`MARKER` and carry ``X-Opsrunner-Workflow=``, ``X-Opsrunner-Inventory=``
and ``X-Opsrunner-Window=`` in ``[Unit]`` (systemd ignores ``X-`` keys): only such files are
listed, replaced or removed; any other unit file is left alone.

The files are written mode 0644, like every unit: they hold no secret (``-e`` names that look
like one are refused by the command; secrets belong in the inventory, as ``secret_file`` or
``secret_env`` with ``--env-file``, whose file only is named here).
"""

from __future__ import annotations

import os
import re
import tempfile
import textwrap
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from opsrunner.errors import UsageError, unknown_name_message
from opsrunner.schedule.oncalendar import CalendarPlan, oncalendar
from opsrunner.windows.model import Window

MARKER = "# Written by opsrunner schedule install;"
"""The first line of every unit file opsrunner writes starts so."""
DEFAULT_DIR = Path("/etc/systemd/system")
KEY_WORKFLOW = "X-Opsrunner-Workflow"
KEY_INVENTORY = "X-Opsrunner-Inventory"
KEY_WINDOW = "X-Opsrunner-Window"
MARGIN = timedelta(minutes=10)
"""Added to the window's drain grace for ``TimeoutStopSec=`` (time for the always-steps after a
stop) and to duration + drain grace for the ``TimeoutStartSec=`` backstop."""
UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.\\-]{1,200}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Schedule:
    """What ``schedule install`` writes: ``opsrunner run`` of ``workflow`` over ``inventory``
    in ``window``, started by a timer named ``name``.

    ``command`` is how the opsrunner in use is started (its absolute path, or the Python
    interpreter with ``-m opsrunner.cli``); ``run_args`` the arguments after ``run``. Paths are
    absolute.
    """

    name: str
    workflow: Path
    inventory: str
    window: Window
    command: tuple[str, ...]
    run_args: tuple[str, ...]
    working_dir: Path
    env_file: Path | None = None
    randomized_delay: float | None = None

    @property
    def argv(self) -> list[str]:
        return [*self.command, "run", *self.run_args]


def unit_name(workflow: Path, window: str) -> str:
    """``opsrunner-<workflow stem>-<window>``, lower case, runs of other characters as ``-``."""
    slug = re.sub(r"[^a-z0-9]+", "-", f"{workflow.stem}-{window}".lower()).strip("-")
    return f"opsrunner-{slug or 'schedule'}"


def check_name(name: str) -> str:
    """``name`` without a ``.service``/``.timer`` suffix; UsageError unless a unit name."""
    for suffix in (".service", ".timer"):
        name = name.removesuffix(suffix)
    if not UNIT_NAME.match(name) or name.startswith("-"):
        raise UsageError(f"schedule name {name!r}: use letters, digits and : _ . - only")
    return name


def check_path(path: str | Path, what: str) -> str:
    """``path`` as text for a unit file; UsageError for control characters (a newline would
    end the line) or a trailing backslash (it would continue it)."""
    text = str(path)
    if CONTROL.search(text) or text.endswith("\\"):
        raise UsageError(f"{what} {text!r}: a unit file cannot hold a path with control "
                         f"characters or a trailing backslash")
    return text


def quote_exec(arg: str, *, program: bool = False) -> str:
    """``arg`` quoted for ``ExecStart=``: in double quotes, ``\\`` and ``"`` backslashed, ``%``
    as ``%%`` (specifiers), ``$`` as ``$$`` (variables), control characters as ``\\xNN``.

    The ``program`` (the first word) gets no ``$`` doubling: systemd does not expand variables
    there. It may not hold quotes, backslashes or ``$``: systemd refuses the first two.
    """
    if program:
        if any(c in arg for c in "\"'\\$") or CONTROL.search(arg) or not arg.startswith("/"):
            raise UsageError(f"the opsrunner program {arg!r}: systemd needs an absolute path "
                             f"without quotes, backslashes or $")
        return '"' + arg.replace("%", "%%") + '"'
    out = []
    for char in arg:
        if char in '\\"':
            out.append("\\" + char)
        elif char == "%":
            out.append("%%")
        elif char == "$":
            out.append("$$")
        elif CONTROL.match(char):
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def span(seconds: float) -> str:
    """A systemd time span: ``2h 15min``, ``90s``, ``0``."""
    left = max(0, round(seconds))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return " ".join(parts) or "0"


def _spec(text: str) -> str:
    """A value with systemd specifiers: ``%`` as ``%%``."""
    return text.replace("%", "%%")


def _comment(text: str) -> list[str]:
    clean = CONTROL.sub(" ", text).rstrip("\\")
    return ["# " + line for line in textwrap.wrap(clean, 96, break_on_hyphens=False)] or ["#"]


def _header(schedule: Schedule, other: str) -> list[str]:
    return [f"{MARKER} `opsrunner schedule remove {schedule.name}` removes it and its {other}",
            "# (`schedule install --replace` writes both again: edits here are lost then)."]


def _unit_section(schedule: Schedule) -> list[str]:
    return ["[Unit]",
            f"Description={_spec(f'opsrunner {schedule.workflow.name} in window {schedule.window.name}')}",
            f"{KEY_WORKFLOW}={check_path(schedule.workflow, 'workflow')}",
            f"{KEY_INVENTORY}={check_path(schedule.inventory, 'inventory')}",
            f"{KEY_WINDOW}={schedule.window.name}"]


def service_text(schedule: Schedule) -> str:
    """The ``NAME.service`` file of ``schedule``."""
    window = schedule.window
    grace = window.drain_grace.total_seconds()
    stop = grace + MARGIN.total_seconds()
    backstop = window.duration.total_seconds() + grace + MARGIN.total_seconds()
    program, *rest = schedule.argv
    lines = [*_header(schedule, "timer"), *_unit_section(schedule),
             "Wants=network-online.target", "After=network-online.target", "",
             "[Service]", "Type=oneshot",
             f"WorkingDirectory={_spec(check_path(schedule.working_dir, 'working folder'))}"]
    if schedule.env_file is not None:
        lines.append(f"EnvironmentFile={_spec(check_path(schedule.env_file, '--env-file'))}")
    lines += [
        "ExecStart=" + " ".join([quote_exec(program, program=True),
                                 *(quote_exec(arg) for arg in rest)]),
        *_comment("systemctl stop (and the backstop below) sends SIGTERM to opsrunner alone "
                  "(KillMode=mixed): it acts as Ctrl-C, the running steps finish and the "
                  "always-steps run (exit 130); the processes left when it exits, or all of "
                  f"them after TimeoutStopSec (the window's drain grace {span(grace)} + "
                  f"{span(MARGIN.total_seconds())}), are killed."),
        "KillMode=mixed", "KillSignal=SIGTERM", f"TimeoutStopSec={span(stop)}",
        *_comment("A backstop only: opsrunner closes the window itself. It is the window's "
                  f"duration {span(window.duration.total_seconds())} + drain grace + "
                  f"{span(MARGIN.total_seconds())} (TimeoutStartSec=, as RuntimeMaxSec= does "
                  "not apply to Type=oneshot)."),
        f"TimeoutStartSec={span(backstop)}",
        *_comment("Exit 3: the window was not open (a late catch-up after downtime, a blackout, "
                  "a firing the calendar could not leave out); nothing was changed."),
        "SuccessExitStatus=3", ""]
    return "\n".join(lines)


def timer_text(schedule: Schedule, calendar: CalendarPlan) -> str:
    """The ``NAME.timer`` file of ``schedule``, firing at ``calendar``."""
    window = schedule.window
    lines = [*_header(schedule, "service"), *_unit_section(schedule), "", "[Timer]",
             *_comment(f"The window {window.name}: {window.rrule} in {window.timezone}, open "
                       f"{span(window.duration.total_seconds())}."
                       + ("" if calendar.exact else " The calendar is a superset of it:"))]
    for note in calendar.notes:
        lines += _comment(f"Note: {note}")
    lines += [f"OnCalendar={expression}" for expression in oncalendar(calendar)]
    lines += [*_comment("A firing missed while the machine was off runs at boot; opsrunner "
                        "refuses it past the window's start deadline "
                        f"({span(window.start_deadline.total_seconds())} after the opening)."),
              "Persistent=true", "AccuracySec=1s"]
    if schedule.randomized_delay:
        lines.append(f"RandomizedDelaySec={span(schedule.randomized_delay)}")
    lines += [f"Unit={schedule.name}.service", "", "[Install]", "WantedBy=timers.target", ""]
    return "\n".join(lines)


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """The ``key=value`` entries of a unit file by section, in order (comments, blank lines and
    line continuations as systemd reads them)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip() if pending else raw.strip()
        pending = ""
        if not line or line[0] in "#;":
            continue
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
        elif current is not None and "=" in line:
            key, _, value = line.partition("=")
            current.append((key.strip(), value.strip()))
    return sections


@dataclass(frozen=True)
class UnitFile:
    """One unit file as read back: whether opsrunner wrote it, and its entries."""

    path: Path
    ours: bool
    sections: dict[str, list[tuple[str, str]]]

    def get(self, section: str, key: str) -> str | None:
        values = self.all(section, key)
        return values[-1] if values else None

    def all(self, section: str, key: str) -> list[str]:
        return [v for k, v in self.sections.get(section, []) if k == key]


def read_unit(path: Path) -> UnitFile | None:
    """``path`` read back (None when it does not exist); UsageError when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise UsageError(f"{path}: cannot be read: {error.strerror or error}") from None
    sections = parse_unit(text)
    ours = text.startswith(MARKER) and any(k == KEY_WORKFLOW for k, _ in sections.get("Unit", []))
    return UnitFile(path, ours, sections)


@dataclass(frozen=True)
class Installed:
    """A schedule found in a folder: its unit files (None: missing) and what they record."""

    name: str
    service: UnitFile | None
    timer: UnitFile | None
    problems: tuple[str, ...] = field(default=())

    def _key(self, key: str) -> str:
        for unit in (self.timer, self.service):
            if unit is not None and unit.ours:
                value = unit.get("Unit", key)
                if value is not None:
                    return value
        return ""

    @property
    def workflow(self) -> str:
        return self._key(KEY_WORKFLOW)

    @property
    def inventory(self) -> str:
        return self._key(KEY_INVENTORY)

    @property
    def window(self) -> str:
        return self._key(KEY_WINDOW)

    @property
    def on_calendar(self) -> list[str]:
        return self.timer.all("Timer", "OnCalendar") if self.timer else []

    def as_json(self) -> dict[str, Any]:
        timer, service = self.timer, self.service
        return {"name": self.name, "workflow": self.workflow, "inventory": self.inventory,
                "window": self.window,
                "timer": str(timer.path) if timer else None,
                "service": str(service.path) if service else None,
                "on_calendar": self.on_calendar,
                "randomized_delay": timer.get("Timer", "RandomizedDelaySec") if timer else None,
                "exec_start": service.get("Service", "ExecStart") if service else None,
                "problems": list(self.problems)}


def find_installed(folder: Path, name: str) -> Installed | None:
    """The schedule ``name`` in ``folder``: None unless one of its files is opsrunner's."""
    service = read_unit(folder / f"{name}.service")
    timer = read_unit(folder / f"{name}.timer")
    if not any(unit is not None and unit.ours for unit in (service, timer)):
        return None
    problems = []
    for unit, kind in ((service, "service"), (timer, "timer")):
        if unit is None:
            problems.append(f"no {name}.{kind}")
        elif not unit.ours:
            problems.append(f"{unit.path} was not written by opsrunner")
    if service and timer and service.ours and timer.ours:
        for key in (KEY_WORKFLOW, KEY_INVENTORY, KEY_WINDOW):
            if service.get("Unit", key) != timer.get("Unit", key):
                problems.append(f"the service and the timer differ in {key}")
    if timer and timer.ours and timer.get("Timer", "Unit") != f"{name}.service":
        problems.append(f"the timer starts {timer.get('Timer', 'Unit')}, not {name}.service")
    return Installed(name, service, timer, tuple(problems))


def list_installed(folder: Path) -> list[Installed]:
    """Every opsrunner schedule in ``folder``, by name; UsageError if it cannot be listed."""
    try:
        names = sorted({p.name.rsplit(".", 1)[0] for p in folder.iterdir()
                        if p.suffix in (".service", ".timer") and p.is_file()})
    except FileNotFoundError:
        return []
    except OSError as error:
        raise UsageError(f"{folder}: cannot be listed: {error.strerror or error}") from None
    found = (find_installed(folder, name) for name in names)
    return [schedule for schedule in found if schedule is not None]


def _same_path(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b) if a and b else False


def conflicts(folder: Path, schedule: Schedule, *, replace: bool) -> None:
    """Refuse ``schedule`` (UsageError) when a unit file of its name is not opsrunner's, when
    its name is taken (unless ``replace``), or when another schedule in ``folder`` runs the
    same workflow over the same inventory."""
    for suffix in (".service", ".timer"):
        unit = read_unit(folder / f"{schedule.name}{suffix}")
        if unit is not None and not unit.ours:
            raise UsageError(f"{unit.path} exists and was not written by opsrunner: it is left "
                             f"alone; choose another name with --name")
    for other in list_installed(folder):
        same = (_same_path(other.workflow, str(schedule.workflow))
                and _same_path(other.inventory, schedule.inventory))
        if other.name == schedule.name:
            if not replace:
                raise UsageError(f"the schedule {other.name} exists in {folder} (workflow "
                                 f"{other.workflow}, window {other.window}): write it again "
                                 f"with --replace, or `opsrunner schedule remove {other.name}`")
        elif same:
            raise UsageError(f"{other.name} in {folder} already schedules {other.workflow} over "
                             f"{other.inventory} (window {other.window}): two timers would run "
                             f"it twice; `opsrunner schedule remove {other.name}` first")


def write_pair(folder: Path, schedule: Schedule, calendar: CalendarPlan) -> tuple[Path, Path]:
    """Write ``NAME.service`` then ``NAME.timer`` into ``folder`` (each atomically: a
    temporary file renamed over it, mode 0644); the paths written."""
    texts = ((folder / f"{schedule.name}.service", service_text(schedule)),
             (folder / f"{schedule.name}.timer", timer_text(schedule, calendar)))
    for path, text in texts:
        _write_atomic(path, text)
    return texts[0][0], texts[1][0]


def _write_atomic(path: Path, text: str) -> None:
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as error:
        raise UsageError(f"{path.parent}: cannot write there: {error.strerror or error} "
                         f"(run as root, or choose another folder with --dir)") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fchmod(out.fileno(), 0o644)
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot be written: {error.strerror or error}") from None


def remove_pair(folder: Path, name: str) -> list[Path]:
    """Remove the schedule ``name`` (both files; only opsrunner's) from ``folder``; the paths
    removed.

    :raises UsageError: no such schedule, one of its files is not opsrunner's, or its timer is
        still enabled in ``folder`` (``timers.target.wants``).
    """
    found = find_installed(folder, name)
    if found is None:
        known = [s.name for s in list_installed(folder)]
        raise UsageError(unknown_name_message("schedule", name, known) + f" in {folder}"
                         if known else f"no opsrunner schedule {name!r} in {folder}")
    foreign = [u.path for u in (found.service, found.timer) if u is not None and not u.ours]
    if foreign:
        raise UsageError(f"{foreign[0]} was not written by opsrunner: nothing was removed")
    if (folder / "timers.target.wants" / f"{name}.timer").is_symlink():
        raise UsageError(f"{name}.timer is enabled: run `systemctl disable --now {name}.timer` "
                         f"first, while its unit file is there; nothing was removed")
    removed: list[Path] = []
    for unit in (found.timer, found.service):
        if unit is None:
            continue
        try:
            unit.path.unlink()
        except FileNotFoundError:
            continue
        except OSError as error:
            raise UsageError(f"{unit.path}: cannot be removed: {error.strerror or error}"
                             + (f" (removed: {', '.join(map(str, removed))})" if removed else "")
                             ) from None
        removed.append(unit.path)
    return removed
