"""A window's recurrence as crontab lines, for hosts without systemd.

``CRON_TZ=<zone>``, then one ``minute hour day-of-month month day-of-week command`` line per
day condition of a :class:`~opsrunner.schedule.oncalendar.CalendarPlan`. What cron cannot say
becomes a superset, with a note, never a subset: a day counted from the month's end (cron
has the days it may fall on), a weekday *and* a day of the month (cron runs when either
matches, so only the weekday is kept). A DST gap's opening gets a line of its own that runs
only in its year (the command tests the year in the window's zone).

``CRON_TZ`` is honoured by cronie (Oracle Linux, RHEL); a cron without it reads the times in
the system's zone, where opsrunner's window check refuses the runs out of place (exit 3).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from opsrunner.errors import UsageError
from opsrunner.schedule.oncalendar import REFUSED, CalendarPlan, DaySpec
from opsrunner.schedule.units import CONTROL


def cron_command(argv: Sequence[str], working_dir: Path, env_file: Path | None = None) -> str:
    """The command part of a crontab line: ``cd DIR && exec PROGRAM run ...`` for ``/bin/sh``,
    every word quoted, ``%`` (a newline to cron) as ``\\%``.

    :raises UsageError: a word with a control character (a crontab line cannot hold it).
    """
    words = [str(working_dir), *argv] + ([str(env_file)] if env_file else [])
    for word in words:
        if CONTROL.search(word):
            raise UsageError(f"{word!r}: a crontab line cannot hold control characters")
    command = f"cd {shlex.quote(str(working_dir))} && exec {shlex.join(argv)}"
    if env_file is not None:
        command = f"set -a && . {shlex.quote(str(env_file))} && set +a && {command}"
    return command.replace("%", "\\%")


def _field(values: Sequence[int] | None) -> str:
    return "*" if values is None else ",".join(str(v) for v in values)


def cron_lines(calendar: CalendarPlan, command: str) -> tuple[list[str], list[str]]:
    """The crontab lines (``CRON_TZ=`` first) running ``command`` at ``calendar``, and the
    notes on what they fire beyond the window's openings.

    :raises UsageError: a time with seconds other than 0 (cron starts at whole minutes).
    """
    times = calendar.times
    if times.seconds not in (None, (0,)):
        raise UsageError(f"window {calendar.window!r} opens at a second past the minute, "
                         f"which cron cannot start at: use the systemd timer")
    notes = list(calendar.notes)
    clock = f"{_field(times.minutes)} {_field(times.hours)}"
    lines = [f"CRON_TZ={calendar.zone}"]
    for spec in calendar.days:
        days, weekdays = _days(spec, notes)
        months = _field(None if spec.months is None else sorted(spec.months))
        line = f"{clock} {days} {months} {weekdays} {command}"
        if line not in lines:
            lines.append(line)
    if calendar.gap_firings:
        notes.append("a DST gap's opening has a line of its own that runs only in its year; "
                     "what cron does with a time in the gap varies between cron daemons (a "
                     "second start finds the hosts locked by the first and changes nothing)")
    zone = shlex.quote(calendar.zone)
    for moment in calendar.gap_firings:
        year_test = f'[ "$(TZ={zone} date +\\%Y)" = {moment.year} ] && '
        lines.append(f"{moment.minute} {moment.hour} {moment.day} {moment.month} * "
                     f"{year_test}{command}")
    notes.append("cron has no backstop on the run's length: opsrunner's window cuts its steps at "
                 "the close")
    return lines, notes


def _days(spec: DaySpec, notes: list[str]) -> tuple[str, str]:
    """The day-of-month and day-of-week fields of ``spec`` (cron weekdays: 0 Sunday)."""
    weekdays = "*" if spec.weekdays is None else ",".join(
        str((d + 1) % 7) for d in sorted(spec.weekdays, key=lambda d: (d + 1) % 7))
    if spec.days is None:
        return "*", weekdays
    if spec.weekdays is not None:
        _note(notes, "cron runs when either the day of the month or the weekday matches: the "
                     "lines keep only the weekday, so they run on every such weekday")
        return "*", weekdays
    if spec.from_end:
        _note(notes, "cron cannot count days from the end of the month: the lines run on "
                     "every day of the month such a day can fall on")
        possible = sorted({d for back in spec.days for d in range(29 - back, 33 - back)
                           if 1 <= d <= 31})
        return _field(possible), weekdays
    return _field(sorted(spec.days)), weekdays


def _note(notes: list[str], text: str) -> None:
    note = f"{text}; {REFUSED}"
    if note not in notes:
        notes.append(note)
