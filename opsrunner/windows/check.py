"""Checks of loaded windows beyond syntax: what only shows when the calendar is computed.

:func:`problems` looks :data:`CHECK_YEARS` ahead of ``now`` for each window: a window that
never opens (its rule never fires, has ended, or every opening falls in a blackout), a
duration longer than the time between two consecutive occurrences (openings would overlap),
overlapping blackouts in one window's list, and a ``start_deadline`` longer than the window.
An unknown time zone, a bad RRULE and the like are the loader's errors.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from opsrunner.windows.calendar import blackout_label, describe_duration, timeline
from opsrunner.windows.model import Blackout, Opening, Window, WindowSet

CHECK_YEARS = 5


def problems(window_set: WindowSet, *, now: datetime | None = None) -> list[str]:
    """Every problem of every window, each ``file:line:col: window NAME: what is wrong``.

    :param now: where the look-ahead starts (aware); default: the current time.
    """
    moment = now if now is not None else datetime.now(UTC)
    found: list[str] = []
    for window in window_set.windows.values():
        found.extend(f"{window.location}: window {window.name}: {message}"
                     for message in window_problems(window, moment))
    return found


def window_problems(window: Window, now: datetime) -> list[str]:
    """The problems of one window, without its location."""
    found: list[str] = []
    if window.start_deadline > window.duration:
        found.append(f"start_deadline {describe_duration(window.start_deadline)} is longer "
                     f"than the duration {describe_duration(window.duration)}: a run could "
                     "start after the window closed")
    found.extend(_overlapping_blackouts(window.blackouts))
    occurrences = list(timeline(window, now, years=CHECK_YEARS))
    if not any(blackout is None for _, blackout in occurrences):
        found.append(_never_opens(window, now, occurrences))
    overlap = _first_overlap(window, [opening for opening, _ in occurrences])
    if overlap:
        found.append(overlap)
    return found


def _never_opens(window: Window, now: datetime,
                 occurrences: list[tuple[Opening, Blackout | None]]) -> str:
    since = f"in the {CHECK_YEARS} years from {now.astimezone(UTC):%Y-%m-%d}"
    if not occurrences:
        return (f"never opens {since}: its rule {window.rrule!r} has no occurrence then "
                f"(counted from {window.start})")
    reasons = sorted({blackout_label(b) for _, b in occurrences if b is not None})
    return (f"never opens {since}: each of its {len(occurrences)} occurrences falls in a "
            f"blackout ({', '.join(reasons)})")


def _first_overlap(window: Window, openings: list[Opening]) -> str:
    for this, following in pairwise(openings):
        gap = gap_after(this, following)
        if window.duration > gap:
            return (f"duration {describe_duration(window.duration)} is longer than the "
                    f"{describe_duration(gap)} from the opening at {_when(this.opens)} to the "
                    f"next, at {_when(following.opens)}: openings would overlap")
    return ""


def _overlapping_blackouts(blackouts: tuple[Blackout, ...]) -> list[str]:
    found: list[str] = []
    for index, first in enumerate(blackouts):
        for second in blackouts[index + 1:]:
            if first.first <= second.last and second.first <= first.last:
                found.append(f"blackouts overlap: {_days(first)} ({_origin(first)}) and "
                             f"{_days(second)} ({_origin(second)})")
    return found


def _days(blackout: Blackout) -> str:
    if blackout.first == blackout.last:
        return f"{blackout.first}"
    return f"{blackout.first}..{blackout.last}"


def _origin(blackout: Blackout) -> str:
    reason = f"{blackout.reason}, " if blackout.reason else ""
    return f"{reason}at {blackout.location}"


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname()}"


def gap_after(previous: Opening, following: Opening) -> timedelta:
    """Elapsed time from one opening to the next (wall-clock subtraction would ignore DST)."""
    return following.opens.astimezone(UTC) - previous.opens.astimezone(UTC)
