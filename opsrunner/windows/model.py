"""Maintenance windows: what a ``windows.yaml`` defines, once validated.

A window opens at every occurrence of its recurrence (an RFC 5545 RRULE, evaluated in the
window's IANA time zone, wall-clock time) and stays open for ``duration``. An opening that
overlaps a blackout (a change freeze, a holiday) is skipped as a whole. A run may start until
``start_deadline`` after the opening; at the close, a running step gets ``drain_grace`` more,
then it is cut like a step timeout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from opsrunner.errors import Location
from opsrunner.report import EXIT_OUTSIDE_WINDOW

__all__ = ["DEFAULT_DRAIN_GRACE", "DEFAULT_START_DEADLINE", "EXIT_OUTSIDE_WINDOW", "Blackout",
           "Opening", "Window", "WindowSet"]

DEFAULT_START_DEADLINE = timedelta(minutes=15)
DEFAULT_DRAIN_GRACE = timedelta(minutes=5)


@dataclass(frozen=True)
class Blackout:
    """Days when no window opens: ``first`` to ``last`` inclusive, in the window's zone."""

    first: date
    last: date
    reason: str = ""
    location: Location = field(default_factory=lambda: Location("<windows>"))

    def covers(self, day: date) -> bool:
        return self.first <= day <= self.last


@dataclass(frozen=True)
class Window:
    """One named maintenance window.

    ``rrule`` is the RRULE text (short forms such as ``weekly: "Sun 01:00"`` are turned into
    one at load), ``start`` the DTSTART date its occurrences count from (it matters for
    ``INTERVAL`` > 1), both evaluated in ``timezone``.
    """

    name: str
    rrule: str
    duration: timedelta
    timezone: str
    start: date
    start_deadline: timedelta = DEFAULT_START_DEADLINE
    drain_grace: timedelta = DEFAULT_DRAIN_GRACE
    blackouts: tuple[Blackout, ...] = ()
    description: str = ""
    location: Location = field(default_factory=lambda: Location("<windows>"))


@dataclass(frozen=True)
class Opening:
    """One occurrence of a window, as aware datetimes in the window's zone.

    ``start_deadline`` is the last moment a run may start in it; ``cut`` is when a step still
    running after ``closes`` is cut (``closes`` plus the window's ``drain_grace``). ``note``
    names a DST oddity of this occurrence ("" when none): a wall-clock opening time that does
    not exist that day (the gap: it opens at the first valid time after it), or one that exists
    twice (the repeat: it opens at the first).
    """

    window: str
    opens: datetime
    closes: datetime
    start_deadline: datetime
    cut: datetime
    note: str = ""

    def is_open(self, now: datetime) -> bool:
        return self.opens <= now < self.closes


@dataclass
class WindowSet:
    """The windows of one file, by name, and where they came from."""

    source: str
    windows: dict[str, Window] = field(default_factory=dict)
