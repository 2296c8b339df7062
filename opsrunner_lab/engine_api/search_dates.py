"""Date values of the engine's search (``time`` of events, ``creationdate`` of VMs and
templates), as its BaseConditionFieldAutoCompleter formats them: a date or date-time, or a
relative day, ``Today``, ``Yesterday`` or the name of a day 2 to 7 days ago (``Monday``), at
midnight; a value that is none of them means today, as on the engine. ``=`` matches the whole
day from that instant (the engine's ``between``); the other operators compare with the instant.
Days are the lab engine's local days (UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

DAY_MS = 86_400_000
DATE_FIELDS = frozenset({"time", "creationdate"})
_FORMS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
          "%Y-%m-%d %H:%M:%S", "%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S")


def absolute_millis(value: str) -> int | None:
    """Epoch milliseconds, or a date or date-time (UTC), as epoch milliseconds; else None."""
    if value.lstrip("-").isdigit():
        return int(value)
    for form in _FORMS:
        try:
            return int(datetime.strptime(value, form).replace(tzinfo=UTC).timestamp() * 1000)
        except ValueError:
            continue
    return None


def _midnight(moment: datetime) -> int:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return int(day.timestamp() * 1000)


def relative_millis(value: str, now: datetime) -> int:
    """The midnight a relative day names (today for anything else)."""
    word = value.strip().lower()
    if word == "yesterday":
        return _midnight(now - timedelta(days=1))
    for back in range(2, 8):
        day = now - timedelta(days=back)
        if day.strftime("%A").lower() == word:
            return _midnight(day)
    return _midnight(now)


def date_matches(actual: str, op: str, wanted: str, now: datetime | None = None) -> bool | None:
    """Whether the date ``actual`` (epoch ms or a date) stands in ``op`` to ``wanted``; None if
    ``actual`` is no date."""
    left = absolute_millis(actual)
    if left is None:
        return None
    right = absolute_millis(wanted)
    if right is None:
        right = relative_millis(wanted, now or datetime.now(UTC))
    if op == "=":
        return right <= left < right + DAY_MS
    return {"!=": left != right, ">": left > right, "<": left < right, ">=": left >= right,
            "<=": left <= right}[op]
