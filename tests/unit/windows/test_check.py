"""check.problems: what only shows when the calendar is computed, located at the window."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

from opsrunner.windows import load_windows
from opsrunner.windows.check import CHECK_YEARS, problems

NOW = datetime(2026, 12, 3, 14, tzinfo=UTC)


def check(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "windows.yaml"
    path.write_text(textwrap.dedent(text))
    return [line.replace(f"{path}:", "") for line in problems(load_windows(path), now=NOW)]


def test_a_sound_file_has_no_problem(tmp_path):
    assert check(tmp_path, """\
        blackouts:
          year-end-freeze:
            - {from: 2026-12-25, to: 2027-01-03, reason: year-end change freeze}
            - {date: 2026-11-03, reason: Culture Day}
        windows:
          sunday-night:
            rrule: "FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=0"
            duration: 4h
            timezone: Asia/Tokyo
            blackouts: [year-end-freeze, {from: 2026-08-10, to: 2026-08-16}]
          nightly:
            daily: "02:30"
            duration: 24h
            timezone: Asia/Tokyo
        """) == []


def test_a_rule_that_never_fires(tmp_path):
    assert check(tmp_path, """\
        windows:
          feb-30:
            rrule: "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"
            duration: 1h
            timezone: UTC
          ended:
            rrule: "FREQ=DAILY;UNTIL=20251231"
            duration: 1h
            timezone: UTC
            start: 2025-01-01
        """) == [
        "2:3: window feb-30: never opens in the 5 years from 2026-12-03: its rule "
        "'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30' has no occurrence then (counted from 2001-01-01)",
        "6:3: window ended: never opens in the 5 years from 2026-12-03: its rule "
        "'FREQ=DAILY;UNTIL=20251231' has no occurrence then (counted from 2025-01-01)"]
    assert CHECK_YEARS == 5


def test_every_opening_blacked_out(tmp_path):
    assert check(tmp_path, """\
        blackouts:
          moratorium: [{from: 2026-01-01, to: 2031-12-31, reason: migration}]
        windows:
          yearly:
            rrule: "FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=1;BYHOUR=3;BYMINUTE=0"
            duration: 1h
            timezone: Europe/Berlin
            blackouts: [moratorium]
        """) == ["4:3: window yearly: never opens in the 5 years from 2026-12-03: each of its 5 "
                 "occurrences falls in a blackout (migration)"]


def test_openings_that_would_overlap_name_the_pair(tmp_path):
    found = check(tmp_path, """\
        windows:
          long:
            weekly: "Sat,Sun 01:00"
            duration: 25h
            timezone: Asia/Tokyo
          dst:
            daily: "01:00"
            duration: 24h
            timezone: America/New_York
        """)
    assert found == [
        "2:3: window long: duration 1d1h is longer than the 1d from the opening at 2026-12-05 "
        "01:00 JST to the next, at 2026-12-06 01:00 JST: openings would overlap",
        "6:3: window dst: duration 1d is longer than the 23h from the opening at 2027-03-14 "
        "01:00 EST to the next, at 2027-03-15 01:00 EDT: openings would overlap"]


def test_overlapping_blackouts_in_one_window(tmp_path):
    found = check(tmp_path, """\
        blackouts:
          freeze:
            - {from: 2026-12-20, to: 2027-01-05, reason: year-end freeze}
        windows:
          w:
            daily: "02:00"
            duration: 1h
            timezone: UTC
            blackouts: [freeze, {date: 2026-12-31, reason: New Year's Eve}, 2027-02-01]
        """)
    assert found == [  # check() strips the file name from every location
        "5:3: window w: blackouts overlap: 2026-12-20..2027-01-05 (year-end freeze, at 3:7) "
        "and 2026-12-31 (New Year's Eve, at 9:25)"]


def test_a_start_deadline_past_the_close(tmp_path):
    assert check(tmp_path, """\
        windows:
          short:
            daily: "02:00"
            duration: 10m
            timezone: UTC
        """) == ["2:3: window short: start_deadline 15m is longer than the duration 10m: a run "
                 "could start after the window closed"]


def test_problems_default_to_now(tmp_path):
    path = tmp_path / "windows.yaml"
    path.write_text('windows:\n  w: {rrule: "FREQ=DAILY;UNTIL=20000101", duration: 1h, '
                    "timezone: UTC}\n")
    [problem] = problems(load_windows(path))
    assert f"from {datetime.now(UTC):%Y-%m-%d}" in problem
