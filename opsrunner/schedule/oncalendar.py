"""A window's recurrence as systemd ``OnCalendar=`` expressions.

:func:`plan` reads a :class:`~opsrunner.windows.model.Window` (an RFC 5545 RRULE without
DTSTART, evaluated in the window's zone, wall-clock time, from ``Window.start``) into a
:class:`CalendarPlan`: day conditions, times of day, dated firings for DST gaps, and notes.
A plan is exact, or else a superset of the window's openings, never a subset; each note
says what is extra. :func:`oncalendar` renders a plan as ``OnCalendar=`` values, such as
``Sun *-*-* 01:00:00 Asia/Tokyo`` or ``Sat *-*-01..07 01:00:00 Europe/Berlin`` (the first
Saturday); :mod:`opsrunner.schedule.cron` renders it as crontab lines.

DST, as ``systemd-analyze calendar`` (systemd 252) computes it: a wall-clock time that does
not exist that day (the spring-forward gap) does not fire at all, while opsrunner's window
opens at the first valid time after the gap; the plan adds one dated firing at that time
for each such day up to a horizon year. A time that exists twice (fall back) fires once, at
the first, as the window opens.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from opsrunner.errors import UsageError
from opsrunner.windows.model import Window

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
"""RRULE weekday names; the index is :meth:`date.weekday` (0 Monday)."""
SYSTEMD_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
FREQUENCIES = ("SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
GAP_YEARS = 10
"""How many years ahead a plan lists the dated firings of DST gaps."""

REFUSED = "opsrunner's own window check refuses the extra firings (exit 3, nothing changed)"
"""The end of every note about a superset."""

_LISTS = {"BYMONTHDAY": (-31, 31), "BYMONTH": (1, 12), "BYHOUR": (0, 23), "BYMINUTE": (0, 59),
          "BYSECOND": (0, 59), "BYSETPOS": (-366, 366), "BYYEARDAY": (-366, 366),
          "BYWEEKNO": (-53, 53)}
_BYDAY = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")


@dataclass(frozen=True)
class Rule:
    """A parsed RRULE. ``byday`` holds (ordinal, weekday) pairs: ordinal 0 is every such
    weekday, 1 the first, -1 the last; weekday 0 is Monday."""

    freq: str
    interval: int = 1
    count: int | None = None
    until: str | None = None
    byday: tuple[tuple[int, int], ...] = ()
    bymonthday: tuple[int, ...] = ()
    bymonth: tuple[int, ...] = ()
    byhour: tuple[int, ...] = ()
    byminute: tuple[int, ...] = ()
    bysecond: tuple[int, ...] = ()
    bysetpos: tuple[int, ...] = ()
    byyearday: tuple[int, ...] = ()
    byweekno: tuple[int, ...] = ()


def parse_rrule(text: str) -> Rule:
    """The :class:`Rule` of RRULE ``text`` (``FREQ=WEEKLY;BYDAY=SU;BYHOUR=1``; an ``RRULE:``
    prefix is allowed).

    :raises UsageError: an unknown or repeated part, a value out of range, no FREQ.
    """
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    parts: dict[str, str] = {}
    for item in filter(None, body.split(";")):
        name, sep, value = item.partition("=")
        name = name.strip().upper()
        if not sep or not value.strip() or name in parts:
            raise UsageError(f"RRULE {text!r}: {item!r} is not NAME=VALUE, or is given twice")
        parts[name] = value.strip().upper()
    freq = parts.pop("FREQ", "")
    if freq not in FREQUENCIES:
        raise UsageError(f"RRULE {text!r}: FREQ must be one of {', '.join(FREQUENCIES)}")
    values: dict[str, object] = {"freq": freq}
    for name, value in parts.items():
        if name in ("INTERVAL", "COUNT"):
            if not value.isdigit() or int(value) < 1:
                raise UsageError(f"RRULE {text!r}: {name} must be a positive number")
            values[name.lower()] = int(value)
        elif name == "UNTIL":
            values["until"] = value
        elif name == "WKST":
            if value not in WEEKDAYS:
                raise UsageError(f"RRULE {text!r}: WKST must be a weekday (MO..SU)")
        elif name == "BYDAY":
            values["byday"] = tuple(_byday(text, value))
        elif name in _LISTS:
            low, high = _LISTS[name]
            numbers = []
            for number in value.split(","):
                if (not re.fullmatch(r"[+-]?\d+", number) or not low <= int(number) <= high
                        or (int(number) == 0 and low < 0)):
                    raise UsageError(f"RRULE {text!r}: {name} value {number!r} is not a number "
                                     f"in {low}..{high}" + (" other than 0" if low < 0 else ""))
                numbers.append(int(number))
            values[name.lower()] = tuple(numbers)
        else:
            raise UsageError(f"RRULE {text!r}: unknown part {name!r}")
    return Rule(**values)  # type: ignore[arg-type]


def _byday(text: str, value: str) -> Iterable[tuple[int, int]]:
    for item in value.split(","):
        match = _BYDAY.fullmatch(item)
        if not match or (match.group(1) and not 1 <= abs(int(match.group(1))) <= 53):
            raise UsageError(f"RRULE {text!r}: BYDAY value {item!r} is not [+-N]MO..SU")
        yield int(match.group(1) or 0), WEEKDAYS.index(match.group(2))


@dataclass(frozen=True)
class DaySpec:
    """Days on which a timer fires: every condition holds (None: any).

    ``days`` are days of the month (1..31), or with ``from_end`` counted from the month's last
    day (1 the last day, 7 the seventh-last), as systemd's ``~`` does.
    """

    weekdays: frozenset[int] | None = None
    months: frozenset[int] | None = None
    days: frozenset[int] | None = None
    from_end: bool = False

    def matches(self, day: date) -> bool:
        if self.weekdays is not None and day.weekday() not in self.weekdays:
            return False
        if self.months is not None and day.month not in self.months:
            return False
        if self.days is None:
            return True
        if self.from_end:
            last = ((day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day
            return last - day.day + 1 in self.days
        return day.day in self.days


@dataclass(frozen=True)
class TimesOfDay:
    """The wall-clock times a timer fires on its days: every combination of ``hours``,
    ``minutes`` and ``seconds`` (None: every value)."""

    hours: tuple[int, ...] | None = (0,)
    minutes: tuple[int, ...] | None = (0,)
    seconds: tuple[int, ...] | None = (0,)

    def between(self, first: datetime, last: datetime) -> bool:
        """Whether one of these times of a day from ``first`` to ``last`` is in [first, last)."""
        day = first.date()
        while day <= last.date():
            for hour in self.hours if self.hours is not None else range(24):
                start = datetime.combine(day, time(hour))
                if start + timedelta(hours=1) <= first or start >= last:
                    continue
                for minute in self.minutes if self.minutes is not None else range(60):
                    for second in self.seconds if self.seconds is not None else range(60):
                        if first <= start.replace(minute=minute, second=second) < last:
                            return True
            day += timedelta(days=1)
        return False


@dataclass(frozen=True)
class CalendarPlan:
    """When a timer for one window fires, in ``zone`` wall-clock time.

    It fires on the days of any of ``days``, at ``times``, and at each of ``gap_firings``
    (wall-clock datetimes: the openings that fall in a DST gap, listed up to the year
    ``horizon``). ``exact`` is False when it fires at more times than the window opens;
    ``notes`` say where, and why that is harmless.
    """

    window: str
    rrule: str
    zone: str
    days: tuple[DaySpec, ...]
    times: TimesOfDay
    gap_firings: tuple[datetime, ...] = ()
    horizon: int = 0
    exact: bool = True
    notes: tuple[str, ...] = field(default=())


def plan(window: Window, today: date | None = None, years: int = GAP_YEARS) -> CalendarPlan:
    """The :class:`CalendarPlan` of ``window``; DST-gap firings from ``today`` (default: today
    in the window's zone) to the end of the year ``years`` later.

    :raises UsageError: the RRULE cannot be read (the message names the window).
    """
    try:
        rule = parse_rrule(window.rrule)
        zone = ZoneInfo(window.timezone)
    except UsageError as error:
        raise UsageError(f"window {window.name!r}: {error.message}", window.location) from None
    except (ValueError, KeyError):
        raise UsageError(f"window {window.name!r}: unknown time zone {window.timezone!r}",
                         window.location) from None
    notes: list[str] = []
    days = _days(rule, window.start, notes)
    times = _times(rule, notes)
    exact = not notes
    today = today or datetime.now(zone).date()
    if rule.count is not None or rule.until is not None:
        notes.append(f"{'COUNT' if rule.count is not None else 'UNTIL'} cannot be said in a "
                     f"timer: it keeps firing after the rule's last occurrence; {REFUSED}; "
                     f"remove the schedule then")
        exact = False
    if window.start > today:
        notes.append(f"the timer also fires before the window's first opening on "
                     f"{window.start.isoformat()}; {REFUSED}")
        exact = False
    if window.blackouts:
        spans = ", ".join(f"{b.first.isoformat()}..{b.last.isoformat()}" for b in window.blackouts)
        notes.append(f"the timer also fires in the window's blackouts ({spans}); {REFUSED}")
        exact = False
    horizon = today.year + years
    gaps = tuple(_gap_firings(zone, days, times, today, date(horizon + 1, 1, 1)))
    if gaps:
        first = gaps[0]
        notes.append(f"in a DST gap (e.g. {first:%Y-%m-%d}) the window opens at the first valid "
                     f"time after it ({first:%H:%M:%S} {window.timezone}), which systemd would "
                     f"skip: the timer has a dated OnCalendar= line for each such day until "
                     f"{horizon}; install the schedule again (--replace) before then")
    return CalendarPlan(window.name, window.rrule, window.timezone, tuple(days), times, gaps,
                        horizon, exact, tuple(notes))


def _superset(notes: list[str], what: str, fires: str) -> None:
    notes.append(f"{what} cannot be said in a timer's calendar: it fires {fires}; {REFUSED}")


def _days(rule: Rule, start: date, notes: list[str]) -> list[DaySpec]:
    """The day conditions of ``rule``: each BY* day part limits the days (RFC 5545 as
    dateutil evaluates it), the union of the returned specs is every day it allows."""
    months: set[int] | None = set(rule.bymonth) or None
    byday = list(rule.byday)
    monthdays = list(rule.bymonthday)
    if rule.interval > 1 and rule.freq in ("DAILY", "WEEKLY", "YEARLY"):
        unit = {"DAILY": "day", "WEEKLY": "week", "YEARLY": "year"}[rule.freq]
        _superset(notes, f"INTERVAL={rule.interval}", f"every {unit} the rest of the rule allows")
    if rule.interval > 1 and rule.freq == "MONTHLY":
        if 12 % rule.interval == 0:
            step = {(start.month - 1 + i * rule.interval) % 12 + 1
                    for i in range(12 // rule.interval)}
            months = step if months is None else months & step
        else:
            _superset(notes, f"INTERVAL={rule.interval}", "every month the rest of the rule allows")
    if not (byday or monthdays or rule.byyearday or rule.byweekno):
        if rule.freq == "WEEKLY":
            byday = [(0, start.weekday())]
        elif rule.freq in ("MONTHLY", "YEARLY"):
            monthdays = [start.day]
            if rule.freq == "YEARLY" and months is None:
                months = {start.month}
    if rule.byyearday or rule.byweekno:
        part = "BYYEARDAY" if rule.byyearday else "BYWEEKNO"
        _superset(notes, part, "on every day the rest of the rule allows")
    if rule.bysetpos:
        byday = _setpos(rule, byday, monthdays, notes)
    in_month = rule.freq == "MONTHLY" or (rule.freq == "YEARLY" and bool(rule.bymonth))
    in_year = rule.freq == "YEARLY" and not rule.bymonth and not rule.byweekno
    plain = frozenset(wd for n, wd in byday if n == 0 or not (in_month or in_year))
    weekday_parts: list[DaySpec | None] = [DaySpec(weekdays=plain)] if plain else []
    for n, wd in byday:
        if n and (in_month or in_year):
            weekday_parts.append(_ordinal(n, wd, in_month, notes))
    if not byday:
        weekday_parts = [DaySpec()]
    positive = frozenset(d for d in monthdays if d > 0)
    negative = frozenset(-d for d in monthdays if d < 0)
    if any(d > 28 for d in negative):
        _superset(notes, "BYMONTHDAY below -28", "on the matching days counted from the start")
        positive |= {day for back in negative if back > 28
                     for day in range(29 - back, 33 - back) if day >= 1}
        negative = frozenset(d for d in negative if d <= 28)
    day_parts = ([DaySpec(days=positive)] if positive else []) + (
        [DaySpec(days=negative, from_end=True)] if negative else [])
    if not monthdays:
        day_parts = [DaySpec()]
    frozen_months = frozenset(months) if months is not None else None
    specs: list[DaySpec] = []
    for weekday_part in weekday_parts:
        if weekday_part is None:
            continue
        for day_part in day_parts:
            spec = _both(weekday_part, day_part, notes)
            if spec is None:
                continue
            if frozen_months is not None:
                spec_months = frozen_months if spec.months is None else spec.months & frozen_months
                if not spec_months:
                    continue
                spec = DaySpec(spec.weekdays, spec_months, spec.days, spec.from_end)
            if spec not in specs:
                specs.append(spec)
    return specs


def _setpos(rule: Rule, byday: list[tuple[int, int]], monthdays: list[int],
            notes: list[str]) -> list[tuple[int, int]]:
    """BYSETPOS over a month of one weekday at one time is that weekday's ordinal; otherwise
    the plan keeps the whole set (a superset)."""
    one_time = all(len(values) <= 1 for values in (rule.byhour, rule.byminute, rule.bysecond))
    if (rule.freq == "MONTHLY" and len(byday) == 1 and byday[0][0] == 0 and not monthdays
            and not rule.byyearday and not rule.byweekno and one_time
            and all(abs(p) <= 5 for p in rule.bysetpos)):
        return [(p, byday[0][1]) for p in rule.bysetpos]
    _superset(notes, f"BYSETPOS={','.join(map(str, rule.bysetpos))}",
              "at every occurrence of the set it picks from")
    return byday


def _ordinal(n: int, weekday: int, in_month: bool, notes: list[str]) -> DaySpec | None:
    """The n-th (n < 0: from the end) ``weekday`` of each month, or with not ``in_month`` of
    the year; None when there is none."""
    wd = frozenset({weekday})
    name = f"{n:+d}{WEEKDAYS[weekday]}"
    if in_month:
        if abs(n) > 5:
            return None
        if n == 5:
            return DaySpec(weekdays=wd, days=frozenset(range(29, 32)))
        if n == -5:  # systemd's ~ counts at most 28 days back: days 1..3 hold it, if any
            _superset(notes, f"BYDAY={name}", f"on every {SYSTEMD_WEEKDAYS[weekday]} of days 1..3")
            return DaySpec(weekdays=wd, days=frozenset(range(1, 4)))
        week = range(7 * abs(n) - 6, 7 * abs(n) + 1)
        return DaySpec(weekdays=wd, days=frozenset(week), from_end=n < 0)
    if 1 <= n <= 4:
        return DaySpec(weekdays=wd, months=frozenset({1}),
                       days=frozenset(range(7 * n - 6, 7 * n + 1)))
    if -4 <= n <= -1:
        return DaySpec(weekdays=wd, months=frozenset({12}),
                       days=frozenset(range(32 - 7 * -n, 39 - 7 * -n)))
    _superset(notes, f"BYDAY={name} in a year", f"on every {SYSTEMD_WEEKDAYS[weekday]}")
    return DaySpec(weekdays=wd)


def _both(weekday_part: DaySpec, day_part: DaySpec, notes: list[str]) -> DaySpec | None:
    """Days that satisfy both parts (None: none), or a superset when systemd cannot say it."""
    if day_part.days is None:
        return weekday_part
    if weekday_part.days is None:
        return DaySpec(weekday_part.weekdays, weekday_part.months, day_part.days,
                       day_part.from_end)
    if weekday_part.from_end == day_part.from_end:
        common = weekday_part.days & day_part.days
        if not common:
            return None
        return DaySpec(weekday_part.weekdays, weekday_part.months, frozenset(common),
                       day_part.from_end)
    _superset(notes, "BYMONTHDAY with an ordinal BYDAY counted from the other end",
              "on the BYMONTHDAY days of that weekday")
    return DaySpec(weekday_part.weekdays, weekday_part.months, day_part.days, day_part.from_end)


def _times(rule: Rule, notes: list[str]) -> TimesOfDay:
    """Every combination of BYHOUR, BYMINUTE, BYSECOND (default: DTSTART's time, midnight);
    a rule that ticks through hours, minutes or seconds has every value there, or its
    INTERVAL's steps when they divide the day, the hour, the minute evenly."""
    fine = {"HOURLY": 0, "MINUTELY": 1, "SECONDLY": 2}.get(rule.freq, 3)
    chosen: list[tuple[int, ...] | None] = []
    for index, (values, size) in enumerate(((rule.byhour, 24), (rule.byminute, 60),
                                            (rule.bysecond, 60))):
        picked: tuple[int, ...] | None = tuple(sorted(set(values))) if values else None
        if picked is None and (fine == 3 or index > fine):
            picked = (0,)  # DTSTART's time: midnight
        if index == fine and rule.interval > 1:
            if size % rule.interval == 0:
                steps = set(range(0, size, rule.interval))
                picked = tuple(sorted(steps if picked is None else steps & set(picked)))
            else:
                _superset(notes, f"INTERVAL={rule.interval}",
                          f"every {('hour', 'minute', 'second')[fine]} the rest of the rule "
                          f"allows")
        chosen.append(picked)
    return TimesOfDay(*chosen)


def _gap_firings(zone: ZoneInfo, days: Sequence[DaySpec], times: TimesOfDay, first: date,
                 end: date) -> Iterable[datetime]:
    """The wall-clock end of each DST gap from ``first`` to ``end`` that hides a firing: the
    window opens there, where systemd would not fire."""
    step = timedelta(days=1)
    instant = datetime.combine(first, time(), zone).astimezone(UTC)
    stop = datetime.combine(end, time(), zone).astimezone(UTC)
    before = instant.astimezone(zone).utcoffset()
    while instant < stop:
        after_instant = instant + step
        after = after_instant.astimezone(zone).utcoffset()
        if after is not None and before is not None and after > before:
            low, high = instant, after_instant  # the transition is in (low, high]
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == before:
                    low = middle
                else:
                    high = middle
            transition = high.replace(microsecond=0)
            gap_start = (transition + before).replace(tzinfo=None)
            gap_end = (transition + after).replace(tzinfo=None)
            hidden = any(spec.matches(gap_start.date()) for spec in days)
            if hidden and times.between(gap_start, gap_end):
                yield gap_end
        before = after
        instant = after_instant


def oncalendar(calendar: CalendarPlan) -> list[str]:
    """The ``OnCalendar=`` values of ``calendar``: one a day condition, then the DST-gap
    firings (``2027-03-14 03:00:00 America/New_York``)."""
    clock = ":".join(_values(values, 2) for values in
                     (calendar.times.hours, calendar.times.minutes, calendar.times.seconds))
    lines: list[str] = []
    for spec in calendar.days:
        weekdays = ("" if spec.weekdays is None else
                    ",".join(SYSTEMD_WEEKDAYS[d] for d in sorted(spec.weekdays)) + " ")
        months = _values(None if spec.months is None else sorted(spec.months), 2)
        if spec.days is None:
            chains = ["*"]
        elif spec.from_end:
            chains = _from_end_chains(sorted(spec.days))
        else:
            chains = [_values(sorted(spec.days), 2)]
        lines.extend(f"{weekdays}*-{months}{'~' if spec.from_end else '-'}{days} {clock} "
                     f"{calendar.zone}" for days in chains)
    lines.extend(f"{moment:%Y-%m-%d %H:%M:%S} {calendar.zone}" for moment in calendar.gap_firings)
    return lines


def _runs(values: Sequence[int]) -> list[tuple[int, int]]:
    """``values`` (sorted) as (first, last) runs; a run of two is two runs of one."""
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        if j - i >= 2:
            out.append((values[i], values[j]))
        else:
            out.extend((v, v) for v in values[i:j + 1])
        i = j + 1
    return out


def _run_text(first: int, last: int, width: int = 2) -> str:
    return f"{first:0{width}d}" if first == last else f"{first:0{width}d}..{last:0{width}d}"


def _values(values: Sequence[int] | None, width: int) -> str:
    """``*``, or the values with runs of three or more as ranges: ``01..07,15``."""
    if values is None:
        return "*"
    return ",".join(_run_text(first, last, width) for first, last in _runs(values))


def _from_end_chains(values: Sequence[int]) -> list[str]:
    """Days counted from the month's end as ``~`` lists systemd 252 accepts: it lowers the
    allowed maximum by 3 for each element of such a list (28, 25, 22...), so a list that
    would pass it is split over several expressions."""
    chains: list[list[tuple[int, int]]] = []
    for run in _runs(values):
        if chains and run[1] <= 28 - 3 * len(chains[-1]):
            chains[-1].append(run)
        else:
            chains.append([run])
    return [",".join(_run_text(*run) for run in chain) for chain in chains]


_ELAPSE = re.compile(r"^\s*(?:Next elapse|Iter\. #\d+):\s+\w{3} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC$")


def systemd_next(expressions: Sequence[str], count: int = 5, base: datetime | None = None,
                 analyze: str | None = None) -> list[datetime]:
    """The next ``count`` firings (aware, UTC) of a timer with these ``OnCalendar=`` values,
    after ``base`` (default now), as ``systemd-analyze calendar`` computes them.

    :raises UsageError: systemd-analyze is missing, or refuses an expression.
    """
    program = analyze or shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
    command = [program, "calendar", f"--iterations={count}"]
    if base is not None:
        command.append(f"--base-time=@{int(base.timestamp())}")
    try:
        done = subprocess.run([*command, *expressions], capture_output=True, text=True,
                              env={**os.environ, "TZ": "UTC", "LC_ALL": "C"}, check=False,
                              timeout=60)
    except OSError as error:
        raise UsageError(f"cannot run systemd-analyze: {error.strerror or error}") from None
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        raise UsageError(f"systemd-analyze calendar refused the calendar: "
                         f"{said[-1] if said else f'exit {done.returncode}'}")
    found = set()
    for line in done.stdout.splitlines():
        match = _ELAPSE.match(line)
        if match:
            found.add(datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC))
    return sorted(found)[:count]
