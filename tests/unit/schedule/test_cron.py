"""Crontab lines: CRON_TZ, the five fields, supersets with notes, the DST gap's own line, and
a command /bin/sh runs as the words it was given."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest

from opsrunner.errors import UsageError
from opsrunner.schedule.cron import cron_command, cron_lines
from opsrunner.schedule.oncalendar import REFUSED, plan
from opsrunner.windows.model import Window

TODAY = date(2026, 12, 3)


def lines(rrule: str, zone: str = "UTC", today: date = TODAY) -> tuple[list[str], list[str]]:
    window = Window("w", rrule, timedelta(hours=2), zone, date(2026, 1, 3))
    return cron_lines(plan(window, today=today), "CMD")


@pytest.mark.parametrize(("rrule", "zone", "expected"), [
    ("FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=0", "Asia/Tokyo", ["0 1 * * 0 CMD"]),
    ("FREQ=WEEKLY;BYDAY=MO,WE,SU;BYHOUR=1,3;BYMINUTE=0,30", "UTC", ["0,30 1,3 * * 0,1,3 CMD"]),
    ("FREQ=MONTHLY;BYMONTHDAY=1,15;BYMONTH=1,7;BYHOUR=4", "UTC", ["0 4 1,15 1,7 * CMD"]),
    ("FREQ=DAILY;BYHOUR=23;BYMINUTE=45", "UTC", ["45 23 * * * CMD"]),
])
def test_exact_lines(rrule: str, zone: str, expected: list[str]) -> None:
    crontab, notes = lines(rrule, zone)
    assert crontab == [f"CRON_TZ={zone}", *expected]
    assert all(REFUSED not in note for note in notes)
    assert any("no backstop" in note for note in notes)


def test_a_weekday_and_a_day_of_the_month_keep_the_weekday_only() -> None:
    crontab, notes = lines("FREQ=MONTHLY;BYDAY=1SA;BYHOUR=1", "Europe/Berlin")
    assert crontab == ["CRON_TZ=Europe/Berlin", "0 1 * * 6 CMD"]
    assert any("either the day of the month or the weekday" in n and REFUSED in n for n in notes)


def test_days_from_the_end_become_every_day_they_can_fall_on() -> None:
    crontab, notes = lines("FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=2")
    assert crontab == ["CRON_TZ=UTC", "0 2 28,29,30,31 * * CMD"]
    assert any("from the end of the month" in n and REFUSED in n for n in notes)


def test_the_notes_of_the_calendar_come_along() -> None:
    _, notes = lines("FREQ=WEEKLY;INTERVAL=2;BYDAY=SA")
    assert any("INTERVAL=2" in n for n in notes)


def test_a_dst_gap_opening_has_a_line_for_its_year_only() -> None:
    crontab, notes = lines("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "America/New_York",
                           today=date(2026, 3, 1))
    assert crontab[:3] == ["CRON_TZ=America/New_York", "30 2 * * * CMD",
                           '0 3 8 3 * [ "$(TZ=America/New_York date +\\%Y)" = 2026 ] && CMD']
    assert any("DST gap" in n for n in notes)


def test_seconds_cannot_be_said_in_cron() -> None:
    with pytest.raises(UsageError, match="cron cannot start at"):
        lines("FREQ=DAILY;BYSECOND=30")


def test_the_command_runs_as_given(tmp_path: Path) -> None:
    odd = tmp_path / "a b'c$d%e"
    odd.mkdir()
    env = odd / "env"
    env.write_text("GREETING='hello there'\n")
    command = cron_command(["/bin/sh", "-c", 'printf "%s|%s|%s" "$PWD" "$GREETING" "$0"', "50%"],
                           odd, env)
    assert "%" not in command.replace("\\%", "")
    # cron turns \% back into %, then hands the line to /bin/sh
    done = subprocess.run(["/bin/sh", "-c", command.replace("\\%", "%")], capture_output=True,
                          text=True, check=True)
    assert done.stdout == f"{odd}|hello there|50%"
    with pytest.raises(UsageError, match="control characters"):
        cron_command(["/bin/echo", "a\nb"], odd)
