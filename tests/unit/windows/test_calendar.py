"""The window calendar on real dates: Tokyo (no DST), New York and Berlin across their 2026
changes, blackouts, COUNT/UNTIL/INTERVAL, and a rule that never fires."""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr

from opsrunner.errors import Location
from opsrunner.windows import calendar
from opsrunner.windows.calendar import (
    current,
    describe_duration,
    next_opening,
    openings,
    parse_rule,
    skipped,
    upcoming,
)
from opsrunner.windows.model import Blackout, Window

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def make(rrule: str, timezone: str = "UTC", duration: timedelta = timedelta(hours=1), *,
         start: date = date(2001, 1, 1), blackouts: tuple[Blackout, ...] = (),
         **fields: timedelta) -> Window:
    return Window(name="w", rrule=rrule, duration=duration, timezone=timezone, start=start,
                  blackouts=blackouts, location=Location("windows.yaml", 2, 3), **fields)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def blackout(first: str, last: str | None = None, reason: str = "") -> Blackout:
    return Blackout(date.fromisoformat(first), date.fromisoformat(last or first), reason)


SUNDAY_TOKYO = make("FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=0", "Asia/Tokyo", timedelta(hours=4))


def test_weekly_in_tokyo_with_deadline_and_cut():
    found = openings(SUNDAY_TOKYO, utc(2026, 12, 3, 14), 3)
    assert [o.opens for o in found] == [datetime(2026, 12, d, 1, tzinfo=TOKYO) for d in (6, 13, 20)]
    first = found[0]
    assert first.window == "w"
    assert first.opens.tzinfo == TOKYO and first.opens.tzname() == "JST"
    assert first.opens.astimezone(UTC) == utc(2026, 12, 5, 16)
    assert first.closes == datetime(2026, 12, 6, 5, tzinfo=TOKYO)
    assert first.start_deadline == datetime(2026, 12, 6, 1, 15, tzinfo=TOKYO)
    assert first.cut == datetime(2026, 12, 6, 5, 5, tzinfo=TOKYO)
    assert first.note == ""


def test_an_opening_in_progress_is_included_until_it_closes():
    during = utc(2026, 12, 5, 19, 59)  # 04:59 JST, the window closes at 05:00
    assert openings(SUNDAY_TOKYO, during, 1)[0].opens == datetime(2026, 12, 6, 1, tzinfo=TOKYO)
    at_close = utc(2026, 12, 5, 20)
    assert openings(SUNDAY_TOKYO, at_close, 1)[0].opens == datetime(2026, 12, 13, 1, tzinfo=TOKYO)


def test_current_and_next_opening():
    during = utc(2026, 12, 5, 17)
    now = current(SUNDAY_TOKYO, during)
    assert now is not None and now.opens == datetime(2026, 12, 6, 1, tzinfo=TOKYO)
    assert now.is_open(during)
    following = next_opening(SUNDAY_TOKYO, during)
    assert following is not None and following.opens == datetime(2026, 12, 13, 1, tzinfo=TOKYO)
    assert current(SUNDAY_TOKYO, utc(2026, 12, 5, 15, 59, 59)) is None
    assert current(SUNDAY_TOKYO, utc(2026, 12, 5, 16)) is not None
    assert current(SUNDAY_TOKYO, utc(2026, 12, 5, 20)) is None
    before = next_opening(SUNDAY_TOKYO, utc(2026, 12, 5, 15, 59))
    assert before is not None and before.opens == datetime(2026, 12, 6, 1, tzinfo=TOKYO)


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="has no time zone"):
        openings(SUNDAY_TOKYO, datetime(2026, 12, 3), 1)
    with pytest.raises(ValueError, match="has no time zone"):
        current(SUNDAY_TOKYO, datetime(2026, 12, 3))


def test_the_new_york_gap_opens_when_the_clocks_jump():
    window = make("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "America/New_York")
    found = openings(window, utc(2026, 3, 7), 3)
    assert [o.opens.astimezone(UTC) for o in found] == [
        utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30)]
    gap = found[1]
    assert gap.opens == datetime(2026, 3, 8, 3, 0, tzinfo=NEW_YORK)
    assert gap.opens.tzname() == "EDT"
    assert gap.note == ("02:30 does not exist on 2026-03-08 in America/New_York (DST gap); "
                        "opens at 03:00")
    assert gap.closes.astimezone(UTC) == utc(2026, 3, 8, 8)  # an hour of elapsed time
    assert found[0].note == found[2].note == ""


def test_the_new_york_repeat_opens_at_the_first_and_lasts_elapsed_time():
    window = make("FREQ=DAILY;BYHOUR=1;BYMINUTE=30", "America/New_York")
    found = openings(window, utc(2026, 10, 31, 12), 2)
    repeat = found[0]
    assert repeat.opens.astimezone(UTC) == utc(2026, 11, 1, 5, 30)
    assert repeat.opens.tzname() == "EDT"
    assert repeat.note == ("01:30 occurs twice on 2026-11-01 in America/New_York (DST repeat); "
                           "opens at the first, 01:30 EDT")
    assert repeat.closes.astimezone(UTC) == utc(2026, 11, 1, 6, 30)
    assert (repeat.closes.strftime("%H:%M"), repeat.closes.tzname()) == ("01:30", "EST")
    assert found[1].opens.astimezone(UTC) == utc(2026, 11, 2, 6, 30)
    assert found[1].note == ""


def test_berlin_changes_and_durations_across_them():
    window = make("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "Europe/Berlin", timedelta(hours=2))
    spring = openings(window, utc(2026, 3, 28, 12), 1)[0]
    assert spring.opens == datetime(2026, 3, 29, 3, 0, tzinfo=BERLIN)
    assert spring.opens.tzname() == "CEST"
    assert "02:30 does not exist on 2026-03-29 in Europe/Berlin (DST gap)" in spring.note
    autumn = openings(window, utc(2026, 10, 24, 12), 1)[0]
    assert autumn.opens.astimezone(UTC) == utc(2026, 10, 25, 0, 30)
    assert autumn.note.endswith("(DST repeat); opens at the first, 02:30 CEST")
    assert autumn.closes.astimezone(UTC) == utc(2026, 10, 25, 2, 30)
    assert autumn.closes.strftime("%H:%M %Z") == "03:30 CET"
    night = make("FREQ=DAILY;BYHOUR=1;BYMINUTE=0", "Europe/Berlin", timedelta(hours=4))
    over_spring = openings(night, utc(2026, 3, 28, 12), 1)[0]
    assert over_spring.opens.strftime("%H:%M %Z") == "01:00 CET"
    assert over_spring.closes.strftime("%H:%M %Z") == "06:00 CEST"
    assert over_spring.note == ""


def test_two_occurrences_on_one_instant_open_once():
    window = make("FREQ=DAILY;BYHOUR=2,3;BYMINUTE=0", "America/New_York", timedelta(minutes=30))
    found = openings(window, utc(2026, 3, 8), 3)
    assert [o.opens.astimezone(UTC) for o in found] == [
        utc(2026, 3, 8, 7), utc(2026, 3, 9, 6), utc(2026, 3, 9, 7)]
    assert "02:00 does not exist" in found[0].note


def test_blackouts_skip_whole_openings_and_are_named():
    freeze = blackout("2026-12-25", "2027-01-03", "year-end change freeze")
    holiday = blackout("2026-12-14", reason="")
    window = make("FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=0", "Asia/Tokyo", timedelta(hours=4),
                  blackouts=(freeze, holiday))
    found, removed = upcoming(window, utc(2026, 12, 3), 3)
    assert [o.opens.date() for o in found] == [date(2026, 12, 6), date(2026, 12, 13),
                                                date(2026, 12, 20)]
    assert removed == []
    found, removed = upcoming(window, utc(2026, 12, 19), 2)
    assert [o.opens.date() for o in found] == [date(2026, 12, 20), date(2027, 1, 10)]
    assert [(s.opening.opens.date(), s.reason) for s in removed] == [
        (date(2026, 12, 27), "year-end change freeze"), (date(2027, 1, 3), "year-end change freeze")]
    assert skipped(window, utc(2026, 12, 19), 2) == removed
    assert openings(window, utc(2026, 12, 19), 2) == found
    assert current(window, utc(2026, 12, 26, 17)) is None  # 02:00 JST on a blacked-out Sunday


def test_an_opening_that_reaches_into_a_blackout_day_is_skipped_whole():
    late = make("FREQ=DAILY;BYHOUR=22;BYMINUTE=0", "Asia/Tokyo", timedelta(hours=3),
                blackouts=(blackout("2026-05-05", reason="Children's Day"),))
    found, removed = upcoming(late, utc(2026, 5, 3), 3)
    assert [o.opens.date() for o in found] == [date(2026, 5, 3), date(2026, 5, 6), date(2026, 5, 7)]
    assert [(s.opening.opens.date(), s.reason) for s in removed] == [
        (date(2026, 5, 4), "Children's Day"), (date(2026, 5, 5), "Children's Day")]
    to_midnight = make("FREQ=DAILY;BYHOUR=22;BYMINUTE=0", "Asia/Tokyo", timedelta(hours=2),
                       blackouts=(blackout("2026-05-05"),))
    found, removed = upcoming(to_midnight, utc(2026, 5, 3), 2)
    assert [o.opens.date() for o in found] == [date(2026, 5, 3), date(2026, 5, 4)]
    assert [s.reason for s in upcoming(to_midnight, utc(2026, 5, 5), 1)[1]] == ["2026-05-05"]


def test_blackout_days_are_in_the_window_zone():
    # 01:00 JST Sunday is Saturday 16:00 UTC: a blackout on the Sunday removes it
    window = make("FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=0", "Asia/Tokyo",
                  blackouts=(blackout("2026-12-06"),))
    assert openings(window, utc(2026, 12, 3), 1)[0].opens.date() == date(2026, 12, 13)


def test_interval_counts_from_start():
    odd = make("FREQ=WEEKLY;INTERVAL=2;BYDAY=SU;BYHOUR=1;BYMINUTE=0", "Asia/Tokyo",
               start=date(2026, 1, 4))
    even = make("FREQ=WEEKLY;INTERVAL=2;BYDAY=SU;BYHOUR=1;BYMINUTE=0", "Asia/Tokyo",
                start=date(2026, 1, 11))
    assert [o.opens.date() for o in openings(odd, utc(2026, 12, 1), 2)] == [
        date(2026, 12, 6), date(2026, 12, 20)]
    assert [o.opens.date() for o in openings(even, utc(2026, 12, 1), 2)] == [
        date(2026, 12, 13), date(2026, 12, 27)]


@pytest.mark.parametrize("rule", [
    "FREQ=WEEKLY;INTERVAL=3;BYDAY=SA,SU;BYHOUR=1;BYMINUTE=0",
    "FREQ=DAILY;INTERVAL=5;BYHOUR=4;BYMINUTE=15",
    "FREQ=HOURLY;INTERVAL=7",
    "FREQ=HOURLY;INTERVAL=5;BYHOUR=3,13;BYMINUTE=30",
    "FREQ=MONTHLY;BYDAY=-1SU;BYHOUR=2;BYMINUTE=0",
    "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=31;BYHOUR=2;BYMINUTE=0",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=0;BYMINUTE=0",
    "FREQ=WEEKLY",
    "FREQ=YEARLY;BYEASTER=-2;BYHOUR=6;BYMINUTE=0",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;BYHOUR=20;BYMINUTE=0",
])
@pytest.mark.parametrize("start", [date(2001, 1, 1), date(2019, 7, 17)])
def test_openings_agree_with_dateutil_counting_from_start(rule, start):
    window = make(rule, start=start, duration=timedelta(minutes=10))
    after = utc(2026, 12, 3, 14, 7)
    expected = [moment.replace(tzinfo=UTC)
                for moment in islice_after(rrulestr(rule, dtstart=datetime.combine(
                    start, datetime.min.time())), after.replace(tzinfo=None) - timedelta(minutes=10), 6)]
    assert [o.opens for o in openings(window, after, 6)] == expected


def islice_after(rule: object, low: datetime, count: int) -> list[datetime]:
    found = []
    for moment in rule:  # type: ignore[attr-defined]
        if moment > low:
            found.append(moment)
            if len(found) == count:
                break
    return found


def test_count_counts_from_start_and_until_ends():
    counted = make("FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=0;COUNT=3", "Asia/Tokyo",
                   start=date(2026, 12, 1))
    assert [o.opens.day for o in openings(counted, utc(2026, 11, 1), 5)] == [6, 13, 20]
    assert openings(counted, utc(2026, 12, 20), 5) == []
    utc_until = make("FREQ=DAILY;BYHOUR=1;BYMINUTE=0;UNTIL=20261204T160000Z", "Asia/Tokyo")
    assert [o.opens.day for o in openings(utc_until, utc(2026, 12, 1), 9)] == [2, 3, 4, 5]
    day_until = make("FREQ=DAILY;BYHOUR=23;BYMINUTE=0;UNTIL=20261204", "Asia/Tokyo")
    assert [o.opens.day for o in openings(day_until, utc(2026, 12, 1), 9)] == [1, 2, 3, 4]
    wall_until = make("FREQ=DAILY;BYHOUR=23;BYMINUTE=0;UNTIL=20261204T225959", "Asia/Tokyo")
    assert [o.opens.day for o in openings(wall_until, utc(2026, 12, 1), 9)] == [1, 2, 3]
    assert next_opening(wall_until, utc(2026, 12, 5)) is None


def test_a_rule_that_never_fires_returns_nothing_quickly():
    for rule in ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "FREQ=HOURLY;BYMONTH=4;BYMONTHDAY=31",
                 "FREQ=WEEKLY;INTERVAL=2;BYMONTH=2;BYMONTHDAY=30"):
        window = make(rule)
        began = clock.perf_counter()
        assert openings(window, utc(2026, 12, 3), 3) == []
        assert next_opening(window, utc(2026, 12, 3)) is None
        assert current(window, utc(2026, 12, 3)) is None
        assert clock.perf_counter() - began < 5


def test_parse_rule_splits_count_and_until():
    rule = parse_rule("rrule:FREQ=DAILY;COUNT=4;UNTIL=20270101T000000Z;BYHOUR=1", "Asia/Tokyo")
    assert (rule.freq, rule.interval, rule.count) == ("DAILY", 1, 4)
    assert rule.until == datetime(2027, 1, 1, 9, 0)
    assert rule.core == "FREQ=DAILY;BYHOUR=1;WKST=MO"
    assert parse_rule("FREQ=WEEKLY;WKST=SU;INTERVAL=2", "UTC").core == "FREQ=WEEKLY;WKST=SU;INTERVAL=2"
    with pytest.raises(ValueError, match="FREQ=MINUTELY is refused"):
        parse_rule("FREQ=MINUTELY", "UTC")


@pytest.mark.parametrize(("span", "text"), [
    (timedelta(hours=4), "4h"), (timedelta(minutes=90), "1h30m"), (timedelta(0), "0s"),
    (timedelta(days=1, hours=2), "1d2h"), (timedelta(seconds=90), "1m30s"),
    (timedelta(hours=-23), "-23h"),
])
def test_describe_duration(span, text):
    assert describe_duration(span) == text


def test_the_horizon_is_documented():
    assert calendar.HORIZON_YEARS == 100
