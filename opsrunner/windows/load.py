"""Loading a ``windows.yaml``: YAML with positions -> checks -> :class:`WindowSet`.

The file (``windows.yaml`` or ``windows.yml`` in the inventory folder, or beside an inventory
file; or the file given with ``--windows``)::

    blackouts:                       # optional: shared lists, referenced by name from windows
      year-end-freeze:
        - {from: 2026-12-25, to: 2027-01-03, reason: year-end change freeze}
        - {date: 2026-11-03, reason: Culture Day}
    windows:                         # required: at least one window, by name
      sunday-night:
        description: weekly engine vacuum                 # optional
        rrule: "FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=0"
        duration: 4h                                      # required, > 0
        timezone: Asia/Tokyo                              # required, an IANA name
        start: 2026-01-04                                 # optional, default 2001-01-01
        start_deadline: 15m                               # optional, default 15m
        drain_grace: 5m                                   # optional, default 5m
        blackouts: [year-end-freeze, {from: 2026-08-10, to: 2026-08-16, reason: Obon}]
      first-saturday:
        monthly: "first Sat 01:00"
        duration: 6h
        timezone: Europe/Berlin

Names (of windows and of shared blackout lists) are letters, digits, ``-`` and ``_``,
starting with a letter or digit.

A window has exactly one recurrence:

* ``rrule``: an RFC 5545 RRULE (``RRULE:`` prefix optional), read by ``python-dateutil``.
  FREQ is YEARLY, MONTHLY, WEEKLY, DAILY or HOURLY; COUNT and UNTIL are allowed (UNTIL as a
  date, that day included; a wall-clock time in the zone; or a UTC time ending in ``Z``);
  DTSTART is not (that is ``start``).
* ``weekly: "Sun 01:00"`` or ``"Sat,Sun 01:00"`` (Mon..Sun or full day names, any case);
* ``daily: "02:30"``;
* ``monthly: "first Sat 01:00"`` (first, second, third, fourth or last, and a day), or
  ``"15 03:00"`` (a day of the month, 1..31; months without that day are skipped).

Times are 24-hour ``H:MM`` wall-clock times in the window's zone. The short forms become RRULE
text (``weekly: "Sun 01:00"`` -> ``FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=0``);
:attr:`Window.rrule` always holds RRULE text. ``start`` is the DTSTART date the occurrences
count from (at 00:00 in the zone); it matters for INTERVAL > 1 and COUNT. The default,
2001-01-01, is a Monday and the first day of a month and of a year: a bare ``FREQ=WEEKLY`` runs
on Mondays, ``FREQ=MONTHLY`` on the 1st, ``INTERVAL=2`` weeks count from that week.

Durations are :func:`opsrunner.durations.parse_duration` forms (``4h``, ``90m``, ``1h30m``,
a number of seconds); ``4:00`` is refused (YAML reads it as 240). Dates are YAML dates or
``"YYYY-MM-DD"`` strings. A blackout entry is ``{date: D}`` or ``{from: D, to: D}``
(inclusive) with an optional ``reason`` (in a shared list it defaults to the list's name), or a
bare date; a window's ``blackouts`` lists shared list names and entries. Blackout days are
dates in each window's zone.

Every problem is collected with its ``file:line:column``; one
:class:`~opsrunner.errors.WorkflowErrors` lists them all (the error class of the workflow
loader). What only shows over time (a rule that never fires, openings that overlap,
overlapping blackouts) is :func:`opsrunner.windows.check.problems`'s.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opsrunner.durations import parse_duration
from opsrunner.errors import (
    FileRefused,
    Location,
    Problem,
    UsageError,
    WorkflowError,
    WorkflowErrors,
    shown_value,
    suggest,
)
from opsrunner.regularfile import YAML_LIMIT, read_regular_file
from opsrunner.windows.calendar import normalize_rule, parse_rule
from opsrunner.windows.model import (
    DEFAULT_DRAIN_GRACE,
    DEFAULT_START_DEADLINE,
    Blackout,
    Window,
    WindowSet,
)
from opsrunner.yamlsrc import KeyPath, Positions, load_yaml

FILE_NAMES = ("windows.yaml", "windows.yml")
TOP_KEYS = ("blackouts", "windows")
WINDOW_KEYS = ("description", "rrule", "weekly", "daily", "monthly", "duration", "timezone",
               "start", "start_deadline", "drain_grace", "blackouts")
RECURRENCES = ("rrule", "weekly", "daily", "monthly")
BLACKOUT_KEYS = ("date", "from", "to", "reason")
DEFAULT_START = date(2001, 1, 1)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SEXAGESIMAL = re.compile(r"[-+]?\d[\d_]*(?::[0-5]?\d)+")
_YAML_DATE = re.compile(r"(?<![\w.-])(\d{4})-(\d\d?)-(\d\d?)(?![\w.-])")
_PLAIN = re.compile(r"[^\s,\]}#]+")
_DAYS = {"MO": ("mon", "monday"), "TU": ("tue", "tues", "tuesday"),
         "WE": ("wed", "wednesday"), "TH": ("thu", "thur", "thurs", "thursday"),
         "FR": ("fri", "friday"), "SA": ("sat", "saturday"), "SU": ("sun", "sunday")}
_DAY_CODES = {spelling: code for code, spellings in _DAYS.items() for spelling in spellings}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_TIME = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})"
_WEEKLY = re.compile(rf"(?P<days>[a-z]+(?:\s*,\s*[a-z]+)*)\s+{_TIME}", re.I)
_MONTHLY = re.compile(rf"(?:(?P<nth>[a-z]+)\s+(?P<day>[a-z]+)|(?P<mday>\d{{1,2}}))\s+{_TIME}",
                      re.I)
_DAILY = re.compile(_TIME)
_FORMS = {
    "weekly": '"DAY[,DAY...] H:MM" such as "Sun 01:00" or "Sat,Sun 01:00" (days: Mon, Tue, '
              'Wed, Thu, Fri, Sat, Sun)',
    "daily": '"H:MM" such as "02:30"',
    "monthly": '"ORDINAL DAY H:MM" such as "first Sat 01:00" or "last Sun 02:00" (first, '
               'second, third, fourth, last), or "DAY-OF-MONTH H:MM" such as "15 03:00"',
}
_RULE_FORM = ("an RRULE such as FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=0 (FREQ: YEARLY, "
              "MONTHLY, WEEKLY, DAILY or HOURLY)")
_ZONE_FORM = "an IANA time zone such as Europe/Berlin, America/New_York, Asia/Tokyo or UTC"


def find_windows_file(inventory: str | None, option: str | None) -> Path | None:
    """The windows file to read: ``option`` when given, else ``windows.yaml`` (or ``.yml``) in
    the inventory folder, or beside an inventory file; None when there is none.

    :raises UsageError: ``option`` is not a file, or both spellings sit in the folder.
    """
    if option:
        path = Path(option)
        if not path.is_file():
            why = ("is a folder" if path.is_dir() else
                   "is not a regular file" if path.exists() else "does not exist")
            raise UsageError(f"windows file {option!r} {why}; give a windows.yaml file")
        return path
    if not inventory:
        return None
    where = Path(inventory)
    folder = where if where.is_dir() else where.parent
    # exists(), not is_file(): a FIFO or folder named windows.yaml is refused, not skipped
    found = [folder / name for name in FILE_NAMES if (folder / name).exists()]
    if len(found) > 1:
        raise UsageError(f"both {found[0]} and {found[1]} exist; keep one, or give --windows")
    return found[0] if found else None


def load_windows(path: Path) -> WindowSet:
    """Parse and check the windows file ``path``.

    :raises WorkflowErrors: every problem, one ``file:line:column: message`` a line.
    """
    try:
        data, positions = load_yaml(path, kind="windows file", error=WorkflowError)
    except WorkflowError as exc:
        raise WorkflowErrors([(exc.location or Location(str(path)), exc.message)]) from None
    except ValueError as exc:  # YAML's date reader refuses 2026-13-01 without a position
        raise WorkflowErrors(_bad_dates(path, exc)) from None
    reader = _Reader(positions, _source_lines(path))
    top = reader.mapping(data, (), "a windows file", TOP_KEYS)
    if top is None:
        reader.raise_if_any()
        return WindowSet(source=str(path))  # not reached: a non-mapping is reported
    shared = _shared_blackouts(reader, top.get("blackouts"))
    windows: dict[str, Window] = {}
    listing = top.get("windows")
    if listing is None or listing == {}:
        where = positions.value(("windows",) if "windows" in top else ())
        reader.report(where, "a windows file needs 'windows': a mapping of window names to "
                             "windows (keys: " + ", ".join(WINDOW_KEYS) + ")")
    elif not isinstance(listing, dict):
        reader.report(positions.value(("windows",)), "'windows' must be a mapping of window "
                                                      f"names to windows, got {shown_value(listing)}")
    else:
        for name, value in listing.items():
            window = _window(reader, name, value, shared)
            if window is not None:
                windows[window.name] = window
    reader.raise_if_any()
    return WindowSet(source=str(path), windows=windows)


def _source_lines(path: Path) -> list[str]:
    try:
        raw = read_regular_file(path, what="windows file", limit=YAML_LIMIT).data
        return raw.decode("utf-8").removeprefix("\ufeff").splitlines()
    except (OSError, FileRefused, UnicodeDecodeError):
        return []


def _bad_dates(path: Path, error: ValueError) -> list[Problem]:
    """Where the file spells a date that does not exist (YAML gives no position for it)."""
    found: list[Problem] = []
    for number, line in enumerate(_source_lines(path), start=1):
        for match in _YAML_DATE.finditer(line):
            year, month, day = (int(part) for part in match.groups())
            try:
                date(year, month, day)
            except ValueError as exc:
                found.append((Location(str(path), number, match.start() + 1),
                              f"{match.group()} is not a date ({exc}); expected YYYY-MM-DD"))
    return found or [(Location(str(path)), f"invalid date in the windows file: {error}")]


class _Reader:
    """Typed reads of one document that record problems instead of raising."""

    def __init__(self, positions: Positions, lines: list[str]) -> None:
        self.positions = positions
        self.lines = lines
        self.problems: list[Problem] = []

    def report(self, where: Location, message: str) -> None:
        self.problems.append((where, message))

    def raise_if_any(self) -> None:
        if self.problems:
            raise WorkflowErrors(self.problems)

    def at(self, path: KeyPath) -> Location:
        return self.positions.value(path)

    def mapping(self, value: Any, path: KeyPath, what: str,
                allowed: Sequence[str]) -> dict[str, Any] | None:
        """``value`` as a mapping of ``allowed`` keys; unknown keys reported at the key."""
        if not isinstance(value, dict):
            self.report(self.at(path), f"{what} must be a mapping with keys: "
                                       f"{', '.join(allowed)}; got {shown_value(value)}")
            return None
        known: dict[str, Any] = {}
        for key, item in value.items():
            if key in allowed:
                known[key] = item
            else:
                self.report(self.positions.key((*path, key)),
                            f"unknown key {key!r} in {what}{suggest(str(key), allowed)} "
                            f"(allowed: {', '.join(allowed)})")
        return known

    def raw(self, path: KeyPath) -> str:
        """The plain scalar as written at ``path`` ("" when unknown)."""
        where = self.at(path)
        if not 0 < where.line <= len(self.lines):
            return ""
        match = _PLAIN.match(self.lines[where.line - 1], where.column - 1)
        return match.group() if match else ""

    def name(self, key: Hashable, path: KeyPath, kind: str) -> str | None:
        if isinstance(key, str) and _NAME.fullmatch(key):
            return key
        self.report(self.positions.key(path), f"{kind} name {shown_value(key)} is not allowed: "
                                              "letters, digits, '-' and '_', starting with a "
                                              "letter or digit")
        return None

    def text(self, data: Mapping[str, Any], path: KeyPath, key: str, what: str) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int) and not isinstance(value, bool):
            spelled = self.raw((*path, key))
            if _SEXAGESIMAL.fullmatch(spelled):  # daily: 2:30 unquoted reads as the int 150
                return spelled
        self.report(self.at((*path, key)), f"{what}: {key!r} must be a non-empty string, "
                                           f"got {shown_value(value)}")
        return None

    def duration(self, data: Mapping[str, Any], path: KeyPath, key: str, what: str,
                 default: timedelta, *, positive: bool) -> timedelta:
        value = data.get(key)
        where = self.at((*path, key))
        if value is None:
            return default
        allowed = "a duration such as 4h, 90m, 1h30m or 15m" + (" (> 0)" if positive else "")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.report(where, f"{what}: {key!r} must be {allowed}, got {shown_value(value)}")
            return default
        spelled = self.raw((*path, key))
        if not isinstance(value, str) and _SEXAGESIMAL.fullmatch(spelled):
            self.report(where, f"{what}: {key!r} {spelled} is ambiguous (YAML reads it as "
                               f"{value} seconds); write {allowed}")
            return default
        try:
            seconds = parse_duration(str(value))
        except UsageError as exc:
            self.report(where, f"{what}: {key!r}: {exc.message}")
            return default
        if positive and seconds <= 0:
            self.report(where, f"{what}: {key!r} must be {allowed}, got {value!r}")
            return default
        return timedelta(seconds=seconds)

    def day(self, value: Any, path: KeyPath, what: str) -> date | None:
        """A YAML date or a ``YYYY-MM-DD`` string."""
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str) and _DATE.fullmatch(value.strip()):
            try:
                return date.fromisoformat(value.strip())
            except ValueError as exc:
                self.report(self.at(path), f"{what}: {value!r} is not a date ({exc})")
                return None
        self.report(self.at(path), f"{what} must be a date (YYYY-MM-DD, such as 2026-12-25), "
                                   f"got {shown_value(value)}")
        return None


def _shared_blackouts(reader: _Reader, value: Any) -> dict[str, tuple[Blackout, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        reader.report(reader.at(("blackouts",)),
                      f"'blackouts' must be a mapping of list names to lists of blackouts, got "
                      f"{shown_value(value)}")
        return {}
    shared: dict[str, tuple[Blackout, ...]] = {}
    for key, entries in value.items():
        path = ("blackouts", key)
        name = reader.name(key, path, "blackout list")
        if name is None:
            continue
        if not isinstance(entries, list) or not entries:
            reader.report(reader.at(path), f"blackout list {name}: must be a non-empty list of "
                                           "blackouts ({date: D} or {from: D, to: D}, with a "
                                           f"reason), got {shown_value(entries)}")
            continue
        found = [_blackout(reader, item, (*path, index), f"blackout list {name}", name)
                 for index, item in enumerate(entries)]
        shared[name] = tuple(b for b in found if b is not None)
    return shared


def _blackout(reader: _Reader, value: Any, path: KeyPath, what: str,
              default_reason: str) -> Blackout | None:
    where = reader.at(path)
    if not isinstance(value, dict):
        day = reader.day(value, path, f"{what}: a blackout")
        return None if day is None else Blackout(day, day, default_reason, where)
    data = reader.mapping(value, path, f"a blackout of {what}", BLACKOUT_KEYS)
    if data is None:
        return None
    reason = default_reason
    if "reason" in data:
        reason = reader.text(data, path, "reason", what) or default_reason
    if "date" in data:
        for key in ("from", "to"):
            if key in data:
                reader.report(reader.positions.key((*path, key)),
                              f"{what}: a blackout is {{date: D}} or {{from: D, to: D}}, not "
                              f"both ('{key}' with 'date')")
                return None
        day = reader.day(data["date"], (*path, "date"), f"{what}: 'date'")
        return None if day is None else Blackout(day, day, reason, where)
    if "from" not in data or "to" not in data:
        missing = "to" if "from" in data else "from" if "to" in data else "date"
        reader.report(where, f"{what}: a blackout needs {missing!r} ({{date: D}} or "
                             "{from: D, to: D}, both days included)")
        return None
    first = reader.day(data["from"], (*path, "from"), f"{what}: 'from'")
    last = reader.day(data["to"], (*path, "to"), f"{what}: 'to'")
    if first is None or last is None:
        return None
    if last < first:
        reader.report(reader.at((*path, "to")), f"{what}: 'to' ({last}) is before 'from' "
                                                f"({first})")
        return None
    return Blackout(first, last, reason, where)


def _window(reader: _Reader, key: Hashable, value: Any,
            shared: Mapping[str, tuple[Blackout, ...]]) -> Window | None:
    path: KeyPath = ("windows", key)
    name = reader.name(key, path, "window")
    if name is None:
        return None
    what = f"window {name}"
    data = reader.mapping(value, path, what, WINDOW_KEYS)
    if data is None:
        return None
    timezone = _timezone(reader, data, path, what)
    rrule = _recurrence(reader, data, path, what, timezone or "UTC")
    duration = reader.duration(data, path, "duration", what, timedelta(0), positive=True)
    if "duration" not in data or data["duration"] is None:
        reader.report(reader.at(path), f"{what}: missing required key 'duration' (such as 4h)")
    start = DEFAULT_START
    if data.get("start") is not None:
        start = reader.day(data["start"], (*path, "start"), f"{what}: 'start'") or DEFAULT_START
    window = Window(
        name=name, rrule=rrule or "", duration=duration, timezone=timezone or "UTC", start=start,
        start_deadline=reader.duration(data, path, "start_deadline", what,
                                       DEFAULT_START_DEADLINE, positive=False),
        drain_grace=reader.duration(data, path, "drain_grace", what, DEFAULT_DRAIN_GRACE,
                                    positive=False),
        blackouts=_window_blackouts(reader, data.get("blackouts"), (*path, "blackouts"), what,
                                    shared),
        description=reader.text(data, path, "description", what) or "",
        location=reader.positions.key(path))
    return window if rrule and timezone and duration > timedelta(0) else None


def _timezone(reader: _Reader, data: Mapping[str, Any], path: KeyPath, what: str) -> str | None:
    if data.get("timezone") is None:
        reader.report(reader.at(path), f"{what}: missing required key 'timezone' ({_ZONE_FORM})")
        return None
    value = data["timezone"]
    where = reader.at((*path, "timezone"))
    if not isinstance(value, str) or not value.strip():
        reader.report(where, f"{what}: 'timezone' must be {_ZONE_FORM}, got {shown_value(value)}")
        return None
    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        from zoneinfo import available_timezones

        reader.report(where, f"{what}: unknown time zone {name!r}"
                             f"{suggest(name, available_timezones())} ({_ZONE_FORM})")
        return None
    return name


def _recurrence(reader: _Reader, data: Mapping[str, Any], path: KeyPath, what: str,
                timezone: str) -> str | None:
    given = [key for key in RECURRENCES if key in data]
    if not given:
        reader.report(reader.at(path), f"{what}: needs one of 'rrule', 'weekly', 'daily', "
                                       "'monthly' (when it opens)")
        return None
    for extra in given[1:]:
        reader.report(reader.positions.key((*path, extra)),
                      f"{what}: {given[0]!r} and {extra!r}: give exactly one of 'rrule', "
                      "'weekly', 'daily', 'monthly'")
    key = given[0]
    where = reader.at((*path, key))
    text = reader.text(data, path, key, what)
    if text is None:
        if data.get(key) is None:
            reader.report(where, f"{what}: {key!r} is empty; expected "
                                 f"{_FORMS.get(key, _RULE_FORM)}")
        return None
    try:
        rule = normalize_rule(text) if key == "rrule" else _short_form(key, text)
        parse_rule(rule, timezone)
    except ValueError as exc:
        why = f": {exc}" if str(exc) else ""
        if key == "rrule":
            reader.report(where, f"{what}: invalid RRULE {text!r}{why}; expected {_RULE_FORM}")
        else:
            reader.report(where, f"{what}: invalid {key!r} {text!r}{why}; expected "
                                 f"{_FORMS[key]}")
        return None
    return rule


def _short_form(key: str, text: str) -> str:
    """The RRULE text of ``weekly``, ``daily`` or ``monthly`` short form ``text``."""
    spelled = " ".join(text.split())
    pattern = {"weekly": _WEEKLY, "daily": _DAILY, "monthly": _MONTHLY}[key]
    match = pattern.fullmatch(spelled)
    if match is None:
        raise ValueError("")
    hour, minute = int(match["hour"]), int(match["minute"])
    if hour > 23 or minute > 59:
        raise ValueError(f"{match['hour']}:{match['minute']} is not a time of day (00:00..23:59)")
    clock = f"BYHOUR={hour};BYMINUTE={minute}"
    if key == "daily":
        return f"FREQ=DAILY;{clock}"
    if key == "weekly":
        codes = [_day_code(day.strip()) for day in match["days"].split(",")]
        for code in codes:
            if codes.count(code) > 1:
                raise ValueError(f"{code.title()} is given twice")
        ordered = [code for code in _DAYS if code in codes]
        return f"FREQ=WEEKLY;BYDAY={','.join(ordered)};{clock}"
    if match["mday"] is not None:
        mday = int(match["mday"])
        if not 1 <= mday <= 31:
            raise ValueError(f"day of the month {mday} is not 1..31")
        return f"FREQ=MONTHLY;BYMONTHDAY={mday};{clock}"
    nth = _ORDINALS.get(match["nth"].lower())
    if nth is None:
        raise ValueError(f"{match['nth']!r} is not first, second, third, fourth or last"
                         f"{suggest(match['nth'].lower(), _ORDINALS)}")
    return f"FREQ=MONTHLY;BYDAY={nth}{_day_code(match['day'])};{clock}"


def _day_code(day: str) -> str:
    code = _DAY_CODES.get(day.lower())
    if code is None:
        raise ValueError(f"{day!r} is not a day{suggest(day.lower(), _DAY_CODES)}")
    return code


def _window_blackouts(reader: _Reader, value: Any, path: KeyPath, what: str,
                      shared: Mapping[str, tuple[Blackout, ...]]) -> tuple[Blackout, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        reader.report(reader.at(path), f"{what}: 'blackouts' must be a list of shared list "
                                       "names and blackouts ({date: D} or {from: D, to: D}), "
                                       f"got {shown_value(value)}")
        return ()
    found: list[Blackout] = []
    used: set[str] = set()
    for index, item in enumerate(value):
        at = (*path, index)
        if isinstance(item, str) and not _DATE.fullmatch(item.strip()):
            name = item.strip()
            if name in used:
                reader.report(reader.at(at), f"{what}: blackout list {name} is listed twice")
            elif name not in shared:
                known = ", ".join(shared) or "none defined under the top-level 'blackouts'"
                reader.report(reader.at(at), f"{what}: unknown blackout list {name!r}"
                                             f"{suggest(name, shared)} (shared lists: {known})")
            else:
                found.extend(shared[name])
            used.add(name)
            continue
        blackout = _blackout(reader, item, at, what, "")
        if blackout is not None:
            found.append(blackout)
    return tuple(found)
