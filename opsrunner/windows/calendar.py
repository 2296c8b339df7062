"""When a maintenance window opens: its RRULE evaluated in wall-clock time of its zone.

A window's occurrences are wall-clock times in its IANA zone, counted from ``start`` at 00:00
(the DTSTART; hours, minutes and seconds the rule does not give are 0, the week starts on
Monday unless the rule says ``WKST``). Each occurrence becomes an :class:`Opening`:

* a wall-clock time that does not exist that day (the DST gap) opens at the first valid
  instant after it, the moment the clocks jump (its note: ``02:30 does not exist on 2026-03-08
  in America/New_York (DST gap); opens at 03:00``); a time that exists twice (the DST repeat)
  opens at the first of the two (``01:30 occurs twice on 2026-11-01 in America/New_York (DST
  repeat); opens at the first, 01:30 EDT``); two occurrences that land on the same instant
  open once;
* ``closes`` is ``opens`` plus ``duration`` of elapsed time (a 4h window over the spring
  change closes 4 real hours later, at 06:00 wall-clock time rather than 05:00);
  ``start_deadline`` and ``cut`` are elapsed time after ``opens`` and ``closes`` likewise;
* an opening that touches a blackout day (any zone date from ``opens`` to just before
  ``closes``) is skipped as a whole: it does not open at all, not even for the part outside
  the blackout. :func:`skipped` tells which, and why.

All results are aware datetimes in the window's zone (:class:`zoneinfo.ZoneInfo`); ``after``
and ``now`` must be aware (any zone). Searches look at most :data:`HORIZON_YEARS` ahead, so a
rule that never fires returns nothing instead of spinning. Nothing here reads the clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice
from zoneinfo import ZoneInfo

from opsrunner.windows.model import Blackout, Opening, Window

HORIZON_YEARS = 100
"""How far :func:`openings`, :func:`skipped` and :func:`next_opening` look ahead."""

FREQUENCIES = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY")
"""The FREQ values a window may use (MINUTELY and SECONDLY are refused)."""

_CYCLE = 400  # years after which the Gregorian calendar (dates and weekdays) repeats exactly
_FAST_FORWARD_DAYS = {"WEEKLY": 7, "DAILY": 1, "HOURLY": 1}  # days per INTERVAL step
_UNTIL = re.compile(r"(?P<day>\d{8})(?:T(?P<time>\d{6})(?P<utc>Z?))?")
_LAST_YEAR = datetime(9999, 12, 31, 23, 59, 59)


@dataclass(frozen=True)
class Rule:
    """A window's RRULE, split for evaluation: ``core`` is what dateutil iterates (with
    ``WKST``, without ``COUNT`` and ``UNTIL``), which are applied here; ``until`` is a naive
    wall-clock time in the window's zone."""

    freq: str
    interval: int
    core: str
    count: int | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Skipped:
    """An occurrence that did not open because it touches ``blackout``."""

    opening: Opening
    blackout: Blackout

    @property
    def reason(self) -> str:
        return blackout_label(self.blackout)


def normalize_rule(text: str) -> str:
    """``text`` as stored in :attr:`Window.rrule`: stripped, upper case, without ``RRULE:``."""
    body = text.strip().upper()
    return body.removeprefix("RRULE:").strip()


@lru_cache(maxsize=256)
def parse_rule(text: str, timezone: str) -> Rule:
    """Split and check the RRULE ``text`` of a window in ``timezone``.

    ``UNTIL`` may be a date (that day included), a wall-clock time in the zone
    (``20261231T235900``) or a UTC time (``...Z``). A ``DTSTART`` is refused (the window's
    ``start`` is its DTSTART), as are FREQ=MINUTELY and SECONDLY.

    :raises ValueError: the rule is invalid; the message is dateutil's or names what is wrong.
    """
    from dateutil.rrule import rrulestr

    body = normalize_rule(text)
    if not body:
        raise ValueError("the RRULE is empty")
    if any(char.isspace() for char in body):
        raise ValueError("an RRULE is one line of NAME=VALUE parts joined by ';', without "
                         "DTSTART (the window's 'start' is its DTSTART)")
    seen: set[str] = set()
    kept: list[str] = []
    freq, interval, count, until = "", 1, None, None
    for part in body.split(";"):
        name, sep, value = part.partition("=")
        if not sep or not name or not value:
            raise ValueError(f"{part!r} is not NAME=VALUE")
        if name in seen:
            raise ValueError(f"{name} is given twice")
        seen.add(name)
        if name == "DTSTART":
            raise ValueError("DTSTART is not part of a window's RRULE: give the window's "
                             "'start' (a date) instead")
        if name == "COUNT":
            count = _positive(name, value)
        elif name == "UNTIL":
            until = _until(value, timezone)
        else:
            if name == "FREQ":
                freq = value
                if value in ("MINUTELY", "SECONDLY"):
                    raise ValueError(f"FREQ={value} is refused: a window recurs at most "
                                     "hourly")
            elif name == "INTERVAL":
                interval = _positive(name, value)
            kept.append(part)
    if not freq:
        raise ValueError(f"FREQ is missing (one of {', '.join(FREQUENCIES)})")
    if "WKST" not in seen:
        kept.append("WKST=MO")
    core = ";".join(kept)
    try:
        rrulestr(core, dtstart=datetime(2001, 1, 1))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ValueError(str(exc)) from None
    if freq not in FREQUENCIES:  # dateutil accepted it: defensive only
        raise ValueError(f"invalid 'FREQ': {freq}")
    return Rule(freq, interval, core, count, until)


def _positive(name: str, value: str) -> int:
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise ValueError(f"invalid {name!r}: {value} (an integer >= 1)")


def _until(value: str, timezone: str) -> datetime:
    match = _UNTIL.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        day = datetime.strptime(match["day"], "%Y%m%d")
        if match["time"] is None:
            return day.replace(hour=23, minute=59, second=59)
        moment = datetime.strptime(match["day"] + match["time"], "%Y%m%d%H%M%S")
    except ValueError:
        raise ValueError(f"invalid 'UNTIL': {value} (YYYYMMDD, YYYYMMDDTHHMMSS in the window's "
                         f"zone, or YYYYMMDDTHHMMSSZ in UTC)") from None
    if match["utc"]:
        moment = moment.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    return moment


def occurrences(rule: Rule, start: date, since: datetime, end: datetime) -> Iterator[datetime]:
    """Naive wall-clock occurrences of ``rule`` counted from ``start``, from ``since`` to ``end``
    (both naive, inclusive), in order; bounded even when the rule never fires."""
    from dateutil.rrule import rrulestr

    if rule.until is not None:
        end = min(end, rule.until)
    end = min(end, _LAST_YEAR)
    anchor = datetime.combine(start, time())
    if rule.count is None:
        anchor = _fast_forward(rule, start, since)
    if end < max(anchor, since):
        return
    # dateutil checks UNTIL only on a matching candidate: a rule that never fires would scan
    # up to year 9999. Evaluated whole 400-year cycles later (every date, DTSTART included,
    # moved by the same number of days, weekdays kept), the scan past ``end`` is short.
    # Easter does not repeat every 400 years: a BYEASTER rule is evaluated where it is.
    shift = max(0, (_LAST_YEAR.year - end.year) // _CYCLE) * _CYCLE
    if "BYEASTER=" in rule.core:
        shift = 0
    text = f"{rule.core};UNTIL={_years(end, shift):%Y%m%dT%H%M%S}"
    stream: Iterator[datetime] = iter(rrulestr(text, dtstart=_years(anchor, shift)))
    if rule.count is not None:
        stream = islice(stream, rule.count)
    low = _years(since, shift)
    for wall in stream:
        if wall >= low:
            yield _years(wall, -shift)


def _fast_forward(rule: Rule, start: date, since: datetime) -> datetime:
    """A DTSTART no later than ``since`` that gives the same occurrences from ``since`` on:
    ``start`` moved by whole INTERVAL steps (weekly, daily, hourly rules; others keep it)."""
    step_days = _FAST_FORWARD_DAYS.get(rule.freq, 0) * rule.interval
    origin = datetime.combine(start, time())
    if step_days == 0 or since <= origin:
        return origin
    steps = (since.date() - start).days // step_days
    return origin + timedelta(days=steps * step_days)


def _years(moment: datetime, years: int) -> datetime:
    return moment.replace(year=moment.year + years) if years else moment


def resolve(wall: datetime, zone: ZoneInfo) -> tuple[datetime, str]:
    """The instant a naive wall-clock time opens in ``zone``, and the DST note ("" if none)."""
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first, ""
    day, clock = f"{wall:%Y-%m-%d}", _clock(wall)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
        return first, (f"{clock} occurs twice on {day} in {zone.key} (DST repeat); opens at "
                       f"the first, {_clock(first)} {first.tzname()}")
    low, high = sorted((first.astimezone(UTC), second.astimezone(UTC)))
    after = high.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):  # the jump, to the second
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    opens = high.replace(microsecond=0).astimezone(zone)
    return opens, (f"{clock} does not exist on {day} in {zone.key} (DST gap); opens at "
                   f"{_clock(opens)}")


def _clock(moment: datetime) -> str:
    return f"{moment:%H:%M:%S}" if moment.second else f"{moment:%H:%M}"


def opening_at(window: Window, wall: datetime) -> Opening:
    """The opening of ``window`` for the naive wall-clock occurrence ``wall``."""
    zone = ZoneInfo(window.timezone)
    opens, note = resolve(wall, zone)
    base = opens.astimezone(UTC)
    return Opening(window=window.name, opens=opens,
                   closes=(base + window.duration).astimezone(zone),
                   start_deadline=(base + window.start_deadline).astimezone(zone),
                   cut=(base + window.duration + window.drain_grace).astimezone(zone),
                   note=note)


def blackout_of(window: Window, opening: Opening) -> Blackout | None:
    """The first of the window's blackouts that a zone date of ``opening`` falls in."""
    zone = ZoneInfo(window.timezone)
    first = opening.opens.astimezone(zone).date()
    last = (opening.closes.astimezone(zone) - timedelta(microseconds=1)).date()
    for blackout in window.blackouts:
        if blackout.first <= last and first <= blackout.last:
            return blackout
    return None


def blackout_label(blackout: Blackout) -> str:
    """The blackout's reason, else its days (``2026-08-10..2026-08-16``)."""
    if blackout.reason:
        return blackout.reason
    if blackout.first == blackout.last:
        return f"{blackout.first}"
    return f"{blackout.first}..{blackout.last}"


def timeline(window: Window, after: datetime, *,
             years: float = HORIZON_YEARS) -> Iterator[tuple[Opening, Blackout | None]]:
    """Every occurrence of ``window`` whose ``closes`` is after ``after``, within ``years``,
    in order, each with the blackout that removes it (None: it opens)."""
    zone = ZoneInfo(window.timezone)
    moment = _aware(after)
    local = moment.astimezone(zone).replace(tzinfo=None)
    since = local - window.duration - timedelta(days=1)  # DST offsets differ by < 1 day
    end = local + timedelta(days=365.25 * years) if local.year + years < 9999 else _LAST_YEAR
    rule = parse_rule(window.rrule, window.timezone)
    previous: datetime | None = None
    for wall in occurrences(rule, window.start, since, end):
        opening = opening_at(window, wall)
        opens = opening.opens.astimezone(UTC)
        if previous is not None and opens <= previous:
            continue
        previous = opens
        if opening.closes.astimezone(UTC) > moment:
            yield opening, blackout_of(window, opening)


def upcoming(window: Window, after: datetime, count: int) -> tuple[list[Opening], list[Skipped]]:
    """:func:`openings` and :func:`skipped` of the same search, in one pass."""
    found: list[Opening] = []
    removed: list[Skipped] = []
    if count <= 0:
        return found, removed
    for opening, blackout in timeline(window, after):
        if blackout is not None:
            removed.append(Skipped(opening, blackout))
            continue
        found.append(opening)
        if len(found) == count:
            break
    return found, removed


def openings(window: Window, after: datetime, count: int) -> list[Opening]:
    """The next ``count`` openings whose ``closes`` is after ``after`` (one in progress
    included), in order, blacked-out ones left out; fewer when the rule ends or none come
    within :data:`HORIZON_YEARS`."""
    return upcoming(window, after, count)[0]


def skipped(window: Window, after: datetime, count: int) -> list[Skipped]:
    """The occurrences a blackout removed among those up to the ``count``-th opening of
    :func:`openings` (what ``opsrunner window next --count`` lists), in order."""
    return upcoming(window, after, count)[1]


def current(window: Window, now: datetime) -> Opening | None:
    """The opening of ``window`` open at ``now`` (``opens <= now < closes``), or None
    (closed, or the opening in progress is blacked out)."""
    moment = _aware(now)
    for opening, blackout in timeline(window, moment, years=1 / 365):
        if opening.opens.astimezone(UTC) > moment:
            return None
        if blackout is None:
            return opening
    return None


def next_opening(window: Window, now: datetime) -> Opening | None:
    """The first opening that opens strictly after ``now`` (not the one in progress)."""
    moment = _aware(now)
    for opening, blackout in timeline(window, moment):
        if blackout is None and opening.opens.astimezone(UTC) > moment:
            return opening
    return None


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone: give an aware datetime")
    return moment.astimezone(UTC)


def describe_duration(span: timedelta) -> str:
    """``4h``, ``1h30m``, ``1d2h``, ``90s`` -> as :func:`opsrunner.durations.parse_duration`
    reads them back (whole seconds)."""
    seconds = round(span.total_seconds())
    if seconds == 0:
        return "0s"
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return sign + "".join(parts)
