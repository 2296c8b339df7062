"""RRULE to systemd OnCalendar= expressions: the expressions themselves, that systemd accepts
them, supersets with notes (never subsets), and the DST gap as systemd computes it."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta

import pytest

from opsrunner.errors import UsageError
from opsrunner.schedule.oncalendar import (
    REFUSED,
    DaySpec,
    parse_rrule,
    plan,
    systemd_next,
)
from opsrunner.schedule.oncalendar import oncalendar as render
from opsrunner.windows.model import Blackout, Window

needs_systemd = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                   reason="needs systemd-analyze (Debian package systemd)")
TODAY = date(2026, 12, 3)


def window(rrule: str, zone: str = "UTC", start: date = date(2026, 1, 3), **kw: object) -> Window:
    return Window("w", rrule, timedelta(hours=2), zone, start, **kw)  # type: ignore[arg-type]


def expressions(rrule: str, zone: str = "UTC") -> list[str]:
    return render(plan(window(rrule, zone), today=TODAY))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_parse_rrule_reads_every_part() -> None:
    rule = parse_rrule("RRULE:FREQ=MONTHLY;INTERVAL=2;BYDAY=1SA,-1SU,MO;BYMONTHDAY=1,-1;"
                       "BYMONTH=3,9;BYHOUR=1,2;BYMINUTE=30;BYSECOND=5;BYSETPOS=-1;COUNT=4;WKST=SU")
    assert rule.freq == "MONTHLY" and rule.interval == 2 and rule.count == 4
    assert rule.byday == ((1, 5), (-1, 6), (0, 0))
    assert (rule.bymonthday, rule.bymonth, rule.byhour) == ((1, -1), (3, 9), (1, 2))
    assert (rule.byminute, rule.bysecond, rule.bysetpos) == ((30,), (5,), (-1,))


@pytest.mark.parametrize(("text", "said"), [
    ("BYDAY=SU", "FREQ must be one of"),
    ("FREQ=FORTNIGHTLY", "FREQ must be one of"),
    ("FREQ=WEEKLY;BYDAY=SUN", "BYDAY value 'SUN'"),
    ("FREQ=WEEKLY;BYHOUR=24", "BYHOUR value '24' is not a number in 0..23"),
    ("FREQ=MONTHLY;BYMONTHDAY=0", "other than 0"),
    ("FREQ=WEEKLY;INTERVAL=0", "INTERVAL must be a positive number"),
    ("FREQ=WEEKLY;FREQ=DAILY", "given twice"),
    ("FREQ=WEEKLY;BYEASTER=0", "unknown part 'BYEASTER'"),
])
def test_parse_rrule_refuses_what_it_cannot_read(text: str, said: str) -> None:
    with pytest.raises(UsageError, match=said):
        parse_rrule(text)


def test_plan_names_the_window_of_a_bad_rule() -> None:
    with pytest.raises(UsageError, match="window 'w': RRULE"):
        plan(window("FREQ=WEEKLY;BYDAY=XX"))
    with pytest.raises(UsageError, match="unknown time zone 'Mars/Olympus'"):
        plan(window("FREQ=DAILY", "Mars/Olympus"))


@pytest.mark.parametrize(("rrule", "zone", "expected"), [
    ("FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=0", "Asia/Tokyo", ["Sun *-*-* 01:00:00 Asia/Tokyo"]),
    ("FREQ=MONTHLY;BYDAY=1SA;BYHOUR=1;BYMINUTE=0", "Europe/Berlin",
     ["Sat *-*-01..07 01:00:00 Europe/Berlin"]),
    ("FREQ=MONTHLY;BYDAY=-1SU;BYHOUR=1", "Europe/Berlin", ["Sun *-*~01..07 01:00:00 Europe/Berlin"]),
    ("FREQ=MONTHLY;BYDAY=2TU,-2FR;BYHOUR=22", "UTC",
     ["Tue *-*-08..14 22:00:00 UTC", "Fri *-*~08..14 22:00:00 UTC"]),
    ("FREQ=MONTHLY;BYDAY=5SU;BYHOUR=3", "UTC", ["Sun *-*-29..31 03:00:00 UTC"]),
    ("FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=1,3;BYMINUTE=0,30", "UTC",
     ["Mon,Wed,Fri *-*-* 01,03:00,30:00 UTC"]),
    ("FREQ=DAILY;BYHOUR=23;BYMINUTE=45;BYMONTH=1,2", "UTC", ["*-01,02-* 23:45:00 UTC"]),
    ("FREQ=DAILY;BYDAY=SA,SU", "UTC", ["Sat,Sun *-*-* 00:00:00 UTC"]),
    ("FREQ=MONTHLY;BYMONTHDAY=1,2,3,15,-1;BYHOUR=4", "UTC",
     ["*-*-01..03,15 04:00:00 UTC", "*-*~01 04:00:00 UTC"]),
    ("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", "UTC", ["Fri *-*-13 00:00:00 UTC"]),
    ("FREQ=MONTHLY;BYDAY=1MO;BYMONTHDAY=1,2,3,10", "UTC", ["Mon *-*-01..03 00:00:00 UTC"]),
    ("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1;BYHOUR=2", "UTC", ["*-01,04,07,10-01 02:00:00 UTC"]),
    ("FREQ=MONTHLY;BYDAY=SU;BYSETPOS=2;BYHOUR=1", "UTC", ["Sun *-*-08..14 01:00:00 UTC"]),
    ("FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU;BYHOUR=3", "UTC", ["Sun *-03~01..07 03:00:00 UTC"]),
    ("FREQ=YEARLY;BYDAY=1MO", "UTC", ["Mon *-01-01..07 00:00:00 UTC"]),
    ("FREQ=YEARLY;BYDAY=-1FR", "UTC", ["Fri *-12-25..31 00:00:00 UTC"]),
    # the defaults come from DTSTART (Window.start, 2026-01-03, a Saturday, at midnight)
    ("FREQ=WEEKLY;BYHOUR=5", "UTC", ["Sat *-*-* 05:00:00 UTC"]),
    ("FREQ=MONTHLY", "UTC", ["*-*-03 00:00:00 UTC"]),
    ("FREQ=YEARLY", "UTC", ["*-01-03 00:00:00 UTC"]),
    ("FREQ=HOURLY;INTERVAL=6;BYMINUTE=15", "UTC", ["*-*-* 00,06,12,18:15:00 UTC"]),
    ("FREQ=MINUTELY;INTERVAL=15;BYHOUR=2", "UTC", ["*-*-* 02:00,15,30,45:00 UTC"]),
])
def test_exact_calendars(rrule: str, zone: str, expected: list[str]) -> None:
    calendar = plan(window(rrule, zone), today=TODAY)
    assert render(calendar) == expected
    assert calendar.exact and calendar.notes == ()


@pytest.mark.parametrize(("rrule", "expected", "said"), [
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=SA;BYHOUR=1", ["Sat *-*-* 01:00:00 UTC"], "INTERVAL=2"),
    ("FREQ=DAILY;INTERVAL=3;BYHOUR=1", ["*-*-* 01:00:00 UTC"], "INTERVAL=3"),
    ("FREQ=MONTHLY;INTERVAL=5;BYMONTHDAY=1", ["*-*-01 00:00:00 UTC"], "INTERVAL=5"),
    ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;BYHOUR=22",
     ["Mon,Tue,Wed,Thu,Fri *-*-* 22:00:00 UTC"], "BYSETPOS=-1"),
    ("FREQ=MONTHLY;BYDAY=-5SU", ["Sun *-*-01..03 00:00:00 UTC"], "BYDAY=-5SU"),
    ("FREQ=YEARLY;BYDAY=20MO", ["Mon *-*-* 00:00:00 UTC"], "in a year"),
    ("FREQ=YEARLY;BYYEARDAY=100", ["*-*-* 00:00:00 UTC"], "BYYEARDAY"),
    ("FREQ=WEEKLY;BYDAY=SU;COUNT=10", ["Sun *-*-* 00:00:00 UTC"], "COUNT"),
    ("FREQ=WEEKLY;BYDAY=SU;UNTIL=20271231T000000Z", ["Sun *-*-* 00:00:00 UTC"], "UNTIL"),
])
def test_what_systemd_cannot_say_is_a_superset_with_a_note(rrule: str, expected: list[str],
                                                           said: str) -> None:
    calendar = plan(window(rrule), today=TODAY)
    assert render(calendar) == expected
    assert not calendar.exact
    assert any(said in note and REFUSED in note for note in calendar.notes), calendar.notes
    assert "exit 3, nothing changed" in REFUSED


def test_a_window_starting_later_or_with_blackouts_is_a_superset_too() -> None:
    later = plan(window("FREQ=DAILY", start=date(2027, 6, 1)), today=TODAY)
    assert not later.exact and "before the window's first opening on 2027-06-01" in later.notes[0]
    frozen = plan(window("FREQ=DAILY", blackouts=(Blackout(date(2026, 12, 20),
                                                           date(2027, 1, 3)),)), today=TODAY)
    assert not frozen.exact and "blackouts (2026-12-20..2027-01-03)" in frozen.notes[0]


def test_days_from_the_end_are_split_where_systemd_252_would_refuse_the_list() -> None:
    # systemd 252 allows ~28 for the first element of a ~ list, ~25 for the second, ~22...
    assert expressions("FREQ=MONTHLY;BYMONTHDAY=-1,-28") == ["*-*~01 00:00:00 UTC",
                                                            "*-*~28 00:00:00 UTC"]
    assert expressions("FREQ=MONTHLY;BYMONTHDAY=-9,-10,-11,-12,-13,-14,-20") == [
        "*-*~09..14,20 00:00:00 UTC"]


def test_day_spec_matches_days_from_the_end() -> None:
    last_week = DaySpec(weekdays=frozenset({6}), days=frozenset(range(1, 8)), from_end=True)
    assert last_week.matches(date(2027, 2, 28))  # the last Sunday of February 2027
    assert not last_week.matches(date(2027, 2, 21))
    assert last_week.matches(date(2028, 2, 27)) and not last_week.matches(date(2028, 2, 20))
    assert DaySpec(months=frozenset({3})).matches(date(2027, 3, 9))
    assert not DaySpec(months=frozenset({3})).matches(date(2027, 4, 9))


@needs_systemd
@pytest.mark.parametrize("rrule", [
    "FREQ=MONTHLY;BYDAY=2TU,-2FR,-1SA,5SU;BYHOUR=22;BYMINUTE=0,30",
    "FREQ=MONTHLY;BYMONTHDAY=1,2,3,4,5,6,7,8,-1,-2,-3,-4,-5,-6,-7,-8,-9",
    "FREQ=MONTHLY;BYMONTHDAY=-9,-10,-11,-12,-13,-14,-28,-30",
    "FREQ=YEARLY;BYMONTH=2,3;BYMONTHDAY=29,-1;BYDAY=MO,TU,WE,TH,FR",
    "FREQ=HOURLY;BYDAY=SA;BYMINUTE=0,20,40",
])
def test_systemd_accepts_every_expression(rrule: str) -> None:
    lines = expressions(rrule)
    assert len(systemd_next(lines, 5)) == 5


@needs_systemd
def test_systemd_firings_of_a_weekly_window() -> None:
    base = utc("2026-12-03 12:00:00")
    fired = systemd_next(expressions("FREQ=WEEKLY;BYDAY=SU;BYHOUR=1", "Asia/Tokyo"), 3, base)
    assert fired == [utc("2026-12-05 16:00:00"), utc("2026-12-12 16:00:00"),
                     utc("2026-12-19 16:00:00")]


@needs_systemd
def test_systemd_refusal_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="systemd-analyze calendar refused"):
        systemd_next(["Sunday-ish 01:00"], 1)


# DST in America/New_York: 2026-03-08 02:00 EST jumps to 03:00 EDT (the gap), 2026-11-01
# 02:00 EDT falls back to 01:00 EST (01:00..02:00 exists twice).

@needs_systemd
def test_systemd_alone_skips_a_time_in_the_dst_gap() -> None:
    base = utc("2026-03-06 00:00:00")
    fired = systemd_next(["*-*-* 02:30:00 America/New_York"], 4, base)
    assert fired == [utc("2026-03-06 07:30:00"), utc("2026-03-07 07:30:00"),
                     utc("2026-03-09 06:30:00"), utc("2026-03-10 06:30:00")]


@needs_systemd
def test_the_plan_adds_the_gap_opening_at_the_first_valid_time_after_it() -> None:
    calendar = plan(window("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "America/New_York"),
                    today=date(2026, 3, 1))
    lines = render(calendar)
    assert lines[0] == "*-*-* 02:30:00 America/New_York"
    assert lines[1:3] == ["2026-03-08 03:00:00 America/New_York",
                          "2027-03-14 03:00:00 America/New_York"]
    assert len(lines) == 1 + 11 and calendar.horizon == 2036  # one gap a year, 2026..2036
    assert calendar.exact and "DST gap" in calendar.notes[0]
    fired = systemd_next(lines, 5, utc("2026-03-06 00:00:00"))
    assert fired == [utc("2026-03-06 07:30:00"), utc("2026-03-07 07:30:00"),
                     utc("2026-03-08 07:00:00"),  # 03:00 EDT
                     utc("2026-03-09 06:30:00"), utc("2026-03-10 06:30:00")]


def test_gap_lines_only_for_days_the_rule_fires_on_and_times_in_the_gap() -> None:
    # Berlin springs forward on the last Sunday of March, 02:00 -> 03:00
    sunday = plan(window("FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", "Europe/Berlin"),
                  today=TODAY)
    assert [f"{m:%Y-%m-%d %H:%M}" for m in sunday.gap_firings[:2]] == ["2027-03-28 03:00",
                                                                       "2028-03-26 03:00"]
    saturday = plan(window("FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=30", "Europe/Berlin"),
                    today=TODAY)
    early = plan(window("FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=59", "Europe/Berlin"),
                 today=TODAY)
    tokyo = plan(window("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "Asia/Tokyo"), today=TODAY)
    assert saturday.gap_firings == early.gap_firings == tokyo.gap_firings == ()
    assert saturday.notes == early.notes == tokyo.notes == ()


@needs_systemd
def test_a_time_that_exists_twice_fires_once_at_the_first() -> None:
    fired = systemd_next(render(plan(window("FREQ=DAILY;BYHOUR=1;BYMINUTE=30",
                                            "America/New_York"), today=date(2026, 10, 1))),
                         3, utc("2026-10-31 12:00:00"))
    assert fired == [utc("2026-11-01 05:30:00"),  # 01:30 EDT, the first of the two
                     utc("2026-11-02 06:30:00"), utc("2026-11-03 06:30:00")]


@needs_systemd
def test_a_last_sunday_window_in_the_berlin_gap_fires_only_through_its_dated_lines() -> None:
    calendar = plan(window("FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU;BYHOUR=2;BYMINUTE=30",
                           "Europe/Berlin"), today=TODAY)
    lines = render(calendar)
    with pytest.raises(UsageError):  # every last Sunday of March, 02:30 is in the gap
        systemd_next(lines[:1], 1)
    fired = systemd_next(lines[1:], 2, utc("2026-12-03 00:00:00"))
    assert fired == [utc("2027-03-28 01:00:00"), utc("2028-03-26 01:00:00")]  # 03:00 CEST


def _plan_moments(rrule: str, first: date, last: date) -> set[datetime]:
    """Every wall-clock moment from ``first`` to ``last`` at which the plan fires (gaps aside)."""
    calendar = plan(window(rrule), today=TODAY)
    times = calendar.times
    out = set()
    day = first
    while day <= last:
        if any(spec.matches(day) for spec in calendar.days):
            for hour in times.hours if times.hours is not None else range(24):
                for minute in times.minutes if times.minutes is not None else range(60):
                    for second in times.seconds or (0,):
                        out.add(datetime(day.year, day.month, day.day, hour, minute, second))
        day += timedelta(days=1)
    return out


@pytest.mark.parametrize("rrule", [
    "FREQ=WEEKLY;BYDAY=SU;BYHOUR=1",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=1,3;BYMINUTE=0,30",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA;BYHOUR=1",
    "FREQ=DAILY;INTERVAL=3;BYHOUR=2;BYMINUTE=30",
    "FREQ=DAILY;BYDAY=SA,SU;BYMONTH=1,6,12",
    "FREQ=MONTHLY;BYDAY=1SA;BYHOUR=1",
    "FREQ=MONTHLY;BYDAY=-1SU,2TU;BYHOUR=22",
    "FREQ=MONTHLY;BYDAY=5SU,-5MO",
    "FREQ=MONTHLY;BYMONTHDAY=1,15,-1,-2,-30",
    "FREQ=MONTHLY;BYMONTHDAY=31",
    "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13",
    "FREQ=MONTHLY;BYDAY=1MO,-1FR;BYMONTHDAY=1,2,3,4,5,6,7,-3",
    "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1;BYHOUR=2",
    "FREQ=MONTHLY;INTERVAL=5;BYDAY=1SU",
    "FREQ=MONTHLY;BYDAY=SU;BYSETPOS=2,-1;BYHOUR=1",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;BYHOUR=22",
    "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU;BYHOUR=3",
    "FREQ=YEARLY;BYDAY=1MO,-2FR,20WE",
    "FREQ=YEARLY;BYYEARDAY=100,-1",
    "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO",
    "FREQ=YEARLY;INTERVAL=2;BYMONTH=2;BYMONTHDAY=29",
    "FREQ=MONTHLY",
    "FREQ=YEARLY",
    "FREQ=HOURLY;INTERVAL=6;BYMINUTE=15;BYDAY=SA",
    "FREQ=HOURLY;INTERVAL=5;BYMINUTE=0;BYMONTHDAY=1",
    "FREQ=MINUTELY;INTERVAL=20;BYHOUR=2,3;BYDAY=SU",
])
def test_the_plan_covers_every_occurrence_and_only_those_when_exact(rrule: str) -> None:
    """dateutil's RRULE (the reference, in wall-clock time) against the plan, two years."""
    from dateutil.rrule import rrulestr

    start = datetime(2026, 1, 3)
    first, last = date(2026, 12, 3), date(2028, 12, 31)
    occurrences = set(rrulestr(rrule, dtstart=start).between(
        datetime.combine(first, datetime.min.time()),
        datetime.combine(last, datetime.max.time()), inc=True))
    fired = _plan_moments(rrule, first, last)
    assert occurrences, rrule
    assert occurrences <= fired, sorted(occurrences - fired)[:5]
    if plan(window(rrule), today=TODAY).exact:
        assert fired == occurrences, sorted(fired - occurrences)[:5]


# systemd against opsrunner's own calendar (opsrunner.windows.calendar), which `opsrunner window
# next` prints: the next five firings are the next five openings.

def _agree(win: Window, base: datetime, today: date | None = None) -> list[datetime]:
    from opsrunner.windows import calendar as window_calendar

    calendar = plan(win, today=today or base.date())
    fired = systemd_next(render(calendar), 5, base)
    ahead = [o.opens.astimezone(UTC) for o in window_calendar.openings(win, base, 6)
             if o.opens.astimezone(UTC) > base][:5]
    assert calendar.exact
    assert fired == ahead
    return fired


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@needs_systemd
@pytest.mark.parametrize(("rrule", "zone"), [
    ("FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=0", "Asia/Tokyo"),
    ("FREQ=MONTHLY;BYDAY=1SA;BYHOUR=1;BYMINUTE=0", "Europe/Berlin"),
    ("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "America/New_York"),
    ("FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=22;BYMINUTE=0,30", "Europe/London"),
    ("FREQ=MONTHLY;BYDAY=-1SU;BYHOUR=2;BYMINUTE=30", "Europe/Berlin"),
    ("FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU;BYHOUR=2;BYMINUTE=30", "Europe/Berlin"),
])
def test_systemd_agrees_with_the_window_calendar_from_now(rrule: str, zone: str) -> None:
    _agree(Window("w", rrule, timedelta(hours=2), zone, date(2026, 1, 1)), _now())


@needs_systemd
def test_systemd_agrees_with_the_window_calendar_across_the_2026_03_08_gap() -> None:
    """systemd alone skips 02:30 on 2026-03-08 (it does not exist in New York); the window
    opens at 03:00 EDT, when the clocks jump; the plan's dated line makes systemd fire then."""
    from opsrunner.windows import calendar as window_calendar

    daily = Window("w", "FREQ=DAILY;BYHOUR=2;BYMINUTE=30", timedelta(hours=2),
                   "America/New_York", date(2026, 1, 1))
    base = utc("2026-03-06 00:00:00")
    fired = _agree(daily, base, today=date(2026, 3, 1))
    assert fired[2] == utc("2026-03-08 07:00:00")
    gap = window_calendar.openings(daily, base, 5)[2]
    assert gap.note == ("02:30 does not exist on 2026-03-08 in America/New_York (DST gap); "
                        "opens at 03:00")
    assert utc("2026-03-08 07:00:00") not in systemd_next(render(plan(daily))[:1], 5, base)


@needs_systemd
def test_systemd_agrees_with_the_window_calendar_across_the_2026_11_01_repeat() -> None:
    daily = Window("w", "FREQ=DAILY;BYHOUR=1;BYMINUTE=30", timedelta(hours=2),
                   "America/New_York", date(2026, 1, 1))
    fired = _agree(daily, utc("2026-10-30 12:00:00"))
    assert fired[1] == utc("2026-11-01 05:30:00")  # the first 01:30, EDT
