"""Loading windows.yaml: the documented format, short forms, and file:line:column for every
problem."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from opsrunner.errors import Location, UsageError, WorkflowErrors
from opsrunner.windows import find_windows_file, load_windows
from opsrunner.windows.load import DEFAULT_START

EXAMPLE = """\
blackouts:                       # shared lists, referenced by name from windows
  year-end-freeze:
    - {from: 2026-12-25, to: 2027-01-03, reason: year-end change freeze}
    - {date: 2026-11-03, reason: Culture Day}
windows:
  sunday-night:
    description: weekly engine vacuum
    rrule: "FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=0"
    duration: 4h
    timezone: Asia/Tokyo
    start: 2026-01-04
    start_deadline: 10m
    drain_grace: 2m
    blackouts: [year-end-freeze, {from: 2026-08-10, to: 2026-08-16, reason: Obon}]
  first-saturday:
    monthly: "first Sat 01:00"
    duration: 6h
    timezone: Europe/Berlin
"""


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str], Path]:
    def make(text: str, name: str = "windows.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return make


def problems_of(path: Path) -> list[tuple[Location, str]]:
    with pytest.raises(WorkflowErrors) as caught:
        load_windows(path)
    return list(caught.value.problems)


def one_problem(path: Path) -> tuple[str, str]:
    """The single problem of ``path`` as ("line:col", message)."""
    found = problems_of(path)
    assert len(found) == 1, found
    where, message = found[0]
    assert where.file == str(path)
    return f"{where.line}:{where.column}", message


def window_yaml(**keys: str) -> str:
    """A file with one window ``w``; ``keys`` are its YAML lines (value text as written)."""
    recurrence = {k: v for k, v in keys.items() if k in ("rrule", "weekly", "daily", "monthly")}
    body = {**(recurrence or {"daily": '"02:00"'}), "duration": "1h", "timezone": "UTC", **keys}
    lines = "".join(f"    {key}: {value}\n" for key, value in body.items() if value != "-")
    return f"windows:\n  w:\n{lines}"


def test_the_documented_example_loads_with_every_field(write):
    path = write(EXAMPLE)
    windows = load_windows(path)
    assert windows.source == str(path)
    assert list(windows.windows) == ["sunday-night", "first-saturday"]
    sunday = windows.windows["sunday-night"]
    assert sunday.rrule == "FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=0"
    assert sunday.duration == timedelta(hours=4)
    assert sunday.timezone == "Asia/Tokyo"
    assert sunday.start == date(2026, 1, 4)
    assert sunday.start_deadline == timedelta(minutes=10)
    assert sunday.drain_grace == timedelta(minutes=2)
    assert sunday.description == "weekly engine vacuum"
    assert sunday.location == Location(str(path), 6, 3)
    assert [(b.first, b.last, b.reason) for b in sunday.blackouts] == [
        (date(2026, 12, 25), date(2027, 1, 3), "year-end change freeze"),
        (date(2026, 11, 3), date(2026, 11, 3), "Culture Day"),
        (date(2026, 8, 10), date(2026, 8, 16), "Obon")]
    assert sunday.blackouts[0].location == Location(str(path), 3, 7)
    assert sunday.blackouts[2].location.line == 14
    saturday = windows.windows["first-saturday"]
    assert saturday.rrule == "FREQ=MONTHLY;BYDAY=1SA;BYHOUR=1;BYMINUTE=0"
    assert saturday.start == DEFAULT_START == date(2001, 1, 1)
    assert saturday.start_deadline == timedelta(minutes=15)
    assert saturday.drain_grace == timedelta(minutes=5)
    assert saturday.blackouts == ()


def test_the_default_start_is_a_monday_and_the_first_of_a_month_and_year():
    assert DEFAULT_START.weekday() == 0 and DEFAULT_START.day == 1 and DEFAULT_START.month == 1


@pytest.mark.parametrize(("key", "text", "rrule"), [
    ("weekly", '"Sun 01:00"', "FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=0"),
    ("weekly", '"Sat,Sun 01:00"', "FREQ=WEEKLY;BYDAY=SA,SU;BYHOUR=1;BYMINUTE=0"),
    ("weekly", '"sunday, Wed 23:45"', "FREQ=WEEKLY;BYDAY=WE,SU;BYHOUR=23;BYMINUTE=45"),
    ("daily", '"02:30"', "FREQ=DAILY;BYHOUR=2;BYMINUTE=30"),
    ("daily", "2:30", "FREQ=DAILY;BYHOUR=2;BYMINUTE=30"),  # YAML's int 150, read as written
    ("daily", "12:05", "FREQ=DAILY;BYHOUR=12;BYMINUTE=5"),
    ("monthly", '"first Sat 01:00"', "FREQ=MONTHLY;BYDAY=1SA;BYHOUR=1;BYMINUTE=0"),
    ("monthly", '"last Sun 02:00"', "FREQ=MONTHLY;BYDAY=-1SU;BYHOUR=2;BYMINUTE=0"),
    ("monthly", '"third Tue 22:00"', "FREQ=MONTHLY;BYDAY=3TU;BYHOUR=22;BYMINUTE=0"),
    ("monthly", '"15 03:00"', "FREQ=MONTHLY;BYMONTHDAY=15;BYHOUR=3;BYMINUTE=0"),
    ("monthly", "15 03:00", "FREQ=MONTHLY;BYMONTHDAY=15;BYHOUR=3;BYMINUTE=0"),
    ("rrule", '"RRULE:freq=daily;byhour=4;byminute=0"', "FREQ=DAILY;BYHOUR=4;BYMINUTE=0"),
    ("rrule", '"FREQ=WEEKLY;BYDAY=SU;COUNT=3"', "FREQ=WEEKLY;BYDAY=SU;COUNT=3"),
    ("rrule", '"FREQ=DAILY;UNTIL=20261231T000000Z"', "FREQ=DAILY;UNTIL=20261231T000000Z"),
    ("rrule", '"FREQ=HOURLY;INTERVAL=6"', "FREQ=HOURLY;INTERVAL=6"),
])
def test_recurrences_become_rrule_text(write, key, text, rrule):
    path = write(window_yaml(**{key: text}))
    assert load_windows(path).windows["w"].rrule == rrule


@pytest.mark.parametrize(("text", "allowed"), [
    ('"Sunday 1am"', 'such as "Sun 01:00"'),
    ('"Sun"', 'such as "Sun 01:00"'),
    ('"Sno 01:00"', "'Sno' is not a day; did you mean 'sun'?"),
    ('"Sun 24:00"', "24:00 is not a time of day (00:00..23:59)"),
    ('"Sun,Sun 01:00"', "Su is given twice"),
])
def test_a_bad_weekly_form_names_the_form(write, text, allowed):
    where, message = one_problem(write(window_yaml(weekly=text)))
    assert where == "3:13"
    assert message.startswith(f"window w: invalid 'weekly' {text.strip(chr(34))!r}")
    assert allowed in message
    assert '"DAY[,DAY...] H:MM"' in message


@pytest.mark.parametrize(("text", "allowed"), [
    ('"fifth Sun 01:00"', "'fifth' is not first, second, third, fourth or last"),
    ('"32 01:00"', "day of the month 32 is not 1..31"),
    ('"first 01:00"', 'such as "first Sat 01:00"'),
])
def test_a_bad_monthly_form_names_the_form(write, text, allowed):
    where, message = one_problem(write(window_yaml(monthly=text)))
    assert where == "3:14"
    assert allowed in message
    assert '"DAY-OF-MONTH H:MM" such as "15 03:00"' in message


@pytest.mark.parametrize(("rule", "dateutil_says"), [
    ("FREQ=WEEKY;BYDAY=SU", "invalid 'FREQ': WEEKY"),
    ("FREQ=WEEKLY;BYDAY=XX", "invalid 'BYDAY': XX"),
    ("FREQ=DAILY;BYHOUR=25", "hour must be in 0..23"),
    ("FREQ=DAILY;FOO=1", "unknown parameter 'FOO'"),
    ("FREQ=DAILY;BYHOUR", "'BYHOUR' is not NAME=VALUE"),
    ("BYDAY=SU", "FREQ is missing"),
    ("FREQ=DAILY;INTERVAL=0", "invalid 'INTERVAL': 0 (an integer >= 1)"),
    ("FREQ=DAILY;COUNT=0", "invalid 'COUNT': 0 (an integer >= 1)"),
    ("FREQ=DAILY;UNTIL=2026", "invalid 'UNTIL': 2026"),
    ("FREQ=DAILY;FREQ=WEEKLY", "FREQ is given twice"),
    ("FREQ=MINUTELY", "FREQ=MINUTELY is refused: a window recurs at most hourly"),
    ("FREQ=SECONDLY;INTERVAL=30", "FREQ=SECONDLY is refused"),
    ("DTSTART:20260101T000000 RRULE:FREQ=DAILY", "one line of NAME=VALUE parts"),
    ("DTSTART=20260101T000000;FREQ=DAILY", "give the window's 'start'"),
])
def test_a_bad_rrule_gives_the_reason_at_the_value(write, rule, dateutil_says):
    where, message = one_problem(write(window_yaml(rrule=f'"{rule}"')))
    assert where == "3:12"
    assert message.startswith(f"window w: invalid RRULE {rule!r}: ")
    assert dateutil_says in message
    assert "expected an RRULE such as FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=0" in message


def test_exactly_one_recurrence(write):
    where, message = one_problem(write(window_yaml(rrule='"FREQ=DAILY"', weekly='"Sun 01:00"')))
    assert where == "4:5"
    assert message == ("window w: 'rrule' and 'weekly': give exactly one of 'rrule', 'weekly', "
                       "'daily', 'monthly'")
    path = write("windows:\n  w:\n    duration: 1h\n    timezone: UTC\n")
    assert one_problem(path) == ("3:5", "window w: needs one of 'rrule', 'weekly', 'daily', "
                                        "'monthly' (when it opens)")


def test_an_unknown_zone_is_an_error_at_load_with_a_suggestion(write):
    where, message = one_problem(write(window_yaml(timezone="Asia/Tokio")))
    assert where == "5:15"
    assert message.startswith("window w: unknown time zone 'Asia/Tokio'; did you mean "
                              "'Asia/Tokyo'? (an IANA time zone such as Europe/Berlin")
    for bad in ("Mars/Olympus", "../../etc/passwd", "42"):
        _, message = one_problem(write(window_yaml(timezone=f'"{bad}"')))
        assert f"unknown time zone {bad!r}" in message


def test_missing_duration_and_timezone_are_named(write):
    path = write('windows:\n  w:\n    daily: "02:00"\n')
    found = problems_of(path)
    assert [(w.line, m) for w, m in found] == [
        (3, "window w: missing required key 'timezone' (an IANA time zone such as "
            "Europe/Berlin, America/New_York, Asia/Tokyo or UTC)"),
        (3, "window w: missing required key 'duration' (such as 4h)")]


@pytest.mark.parametrize(("key", "text", "expected"), [
    ("duration", "4:00", "'duration' 4:00 is ambiguous (YAML reads it as 240 seconds); write "
                         "a duration such as 4h"),
    ("duration", "0", "'duration' must be a duration such as 4h, 90m, 1h30m or 15m (> 0), "
                      "got 0"),
    ("duration", "4 hours", "'duration': invalid duration '4 hours': expected seconds (90)"),
    ("duration", "[1]", "'duration' must be a duration such as 4h, 90m, 1h30m or 15m (> 0), "
                        "got list [1]"),
    ("start_deadline", "yes", "'start_deadline' must be a duration such as 4h, 90m, 1h30m or "
                              "15m, got bool True"),
    ("drain_grace", "-5m", "'drain_grace': invalid duration '-5m'"),
])
def test_bad_durations_name_the_forms(write, key, text, expected):
    _, message = one_problem(write(window_yaml(**{key: text})))
    assert message.startswith(f"window w: {expected}")


def test_durations_use_parse_duration_forms(write):
    path = write(window_yaml(duration="1h30m", start_deadline="0", drain_grace="90"))
    window = load_windows(path).windows["w"]
    assert (window.duration, window.start_deadline, window.drain_grace) == (
        timedelta(minutes=90), timedelta(0), timedelta(seconds=90))


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-01-04", date(2026, 1, 4)),
    ('"2026-01-04"', date(2026, 1, 4)),
])
def test_dates_are_yaml_dates_or_strings(write, text, expected):
    assert load_windows(write(window_yaml(start=text))).windows["w"].start == expected


@pytest.mark.parametrize(("text", "got"), [
    ("2026-01-04 10:00:00", "got datetime"),
    ('"04.01.2026"', "got str '04.01.2026'"),
    ("20260104", "got int 20260104"),
])
def test_other_dates_are_refused_naming_the_form(write, text, got):
    where, message = one_problem(write(window_yaml(start=text)))
    assert where == "6:12"
    assert message.startswith("window w: 'start' must be a date (YYYY-MM-DD, such as "
                              "2026-12-25), got")
    assert got in message


def test_a_date_that_does_not_exist_is_located(write):
    path = write(window_yaml(start="2026-02-30"))
    assert one_problem(path) == ("6:12", "2026-02-30 is not a date (day is out of range for "
                                         "month); expected YYYY-MM-DD (or a date and time)")
    quoted = write(window_yaml(start='"2026-02-30"'))
    assert one_problem(quoted)[1].startswith("window w: 'start': '2026-02-30' is not a date")


def test_unknown_keys_name_the_allowed_ones_with_a_suggestion(write):
    path = write("""\
        windows:
          w:
            daily: "02:00"
            duraton: 1h
            timezone: UTC
            blackout: []
        blackout: {}
        """)
    found = problems_of(path)
    messages = {f"{w.line}:{w.column}": m for w, m in found}
    assert messages["4:5"].startswith("unknown key 'duraton' in window w; did you mean "
                                      "'duration'? (allowed: description, rrule, weekly, daily")
    assert messages["6:5"].startswith("unknown key 'blackout' in window w; did you mean "
                                      "'blackouts'?")
    assert messages["7:1"] == ("unknown key 'blackout' in a windows file; did you mean "
                               "'blackouts'? (allowed: blackouts, windows)")
    assert messages["3:5"] == "window w: missing required key 'duration' (such as 4h)"


def test_blackouts_shared_inline_and_bare_dates(write):
    path = write("""\
        blackouts:
          holidays:
            - 2026-11-03
            - {date: "2026-11-23"}
            - {from: 2026-12-29, to: 2027-01-03, reason: New Year}
        windows:
          w:
            daily: "02:00"
            duration: 1h
            timezone: Asia/Tokyo
            blackouts: [holidays, 2026-05-05, {date: 2026-08-13, reason: Obon}]
        """)
    blackouts = load_windows(path).windows["w"].blackouts
    assert [(str(b.first), str(b.last), b.reason) for b in blackouts] == [
        ("2026-11-03", "2026-11-03", "holidays"), ("2026-11-23", "2026-11-23", "holidays"),
        ("2026-12-29", "2027-01-03", "New Year"), ("2026-05-05", "2026-05-05", ""),
        ("2026-08-13", "2026-08-13", "Obon")]
    assert blackouts[3].covers(date(2026, 5, 5)) and not blackouts[3].covers(date(2026, 5, 6))


def test_bad_blackouts_are_each_located(write):
    path = write("""\
        blackouts:
          freeze:
            - {from: 2026-12-25, to: 2026-12-01}
            - {from: 2026-12-25}
            - {date: 2026-12-25, from: 2026-12-24}
            - {day: 2026-12-25}
          empty: []
        windows:
          w:
            daily: "02:00"
            duration: 1h
            timezone: UTC
            blackouts: [frezee, freeze, freeze, {date: tomorrow}]
          v:
            daily: "02:00"
            duration: 1h
            timezone: UTC
            blackouts: year-end
        """)
    messages = [(f"{w.line}:{w.column}", m) for w, m in problems_of(path)]
    assert messages == [
        ("3:30", "blackout list freeze: 'to' (2026-12-01) is before 'from' (2026-12-25)"),
        ("4:7", "blackout list freeze: a blackout needs 'to' ({date: D} or {from: D, to: D}, "
                "both days included)"),
        ("5:26", "blackout list freeze: a blackout is {date: D} or {from: D, to: D}, not both "
                 "('from' with 'date')"),
        ("6:7", "blackout list freeze: a blackout needs 'date' ({date: D} or {from: D, to: D}, "
                "both days included)"),
        ("6:8", "unknown key 'day' in a blackout of blackout list freeze (allowed: date, from, "
                "to, reason)"),
        ("7:10", "blackout list empty: must be a non-empty list of blackouts ({date: D} or "
                 "{from: D, to: D}, with a reason), got list []"),
        ("13:17", "window w: unknown blackout list 'frezee'; did you mean 'freeze'? (shared "
                  "lists: freeze)"),
        ("13:33", "window w: blackout list freeze is listed twice"),
        ("13:48", "window w: 'date' must be a date (YYYY-MM-DD, such as 2026-12-25), got str "
                  "'tomorrow'"),
        ("18:16", "window v: 'blackouts' must be a list of shared list names and blackouts "
                  "({date: D} or {from: D, to: D}), got str 'year-end'"),
    ]


def test_the_file_level_problems(write):
    assert one_problem(write("windows: {}\n")) == (
        "1:10", "a windows file needs 'windows': a mapping of window names to windows (keys: "
                "description, rrule, weekly, daily, monthly, duration, timezone, start, "
                "start_deadline, drain_grace, blackouts)")
    assert one_problem(write("- a\n"))[1].startswith(
        "a windows file must be a mapping with keys: blackouts, windows; got list")
    assert one_problem(write("windows: [a]\n"))[1] == (
        "'windows' must be a mapping of window names to windows, got list ['a']")
    assert one_problem(write(""))[1] == "empty windows file"
    assert one_problem(write("windows:\n  w: {daily: '02:00'\n"))[1].startswith("YAML syntax error")
    dup = write("windows:\n  w: {daily: '02:00', duration: 1h, timezone: UTC}\n  w: {}\n")
    assert one_problem(dup) == ("3:3", "duplicate key 'w' (first at line 2, column 3)")


def test_window_names(write):
    path = write("""\
        windows:
          "nightly backup": {daily: "02:00", duration: 1h, timezone: UTC}
          2026: {daily: "02:00", duration: 1h, timezone: UTC}
          _x: {daily: "02:00", duration: 1h, timezone: UTC}
          ok-1_b: {daily: "02:00", duration: 1h, timezone: UTC}
        """)
    messages = [(w.line, m) for w, m in problems_of(path)]
    allowed = "is not allowed: letters, digits, '-' and '_', starting with a letter or digit"
    assert messages == [(2, f"window name str 'nightly backup' {allowed}"),
                        (3, f"window name int 2026 {allowed}"), (4, f"window name str '_x' {allowed}")]


def test_every_problem_of_the_file_is_reported_at_once(write):
    path = write("""\
        windows:
          a:
            rrule: "FREQ=WEEKY"
            duration: 4h
            timezone: Asia/Tokyo
          b:
            weekly: "Sun 01:00"
            duration: 4h
            timezone: Europe/Berlim
        """)
    with pytest.raises(WorkflowErrors) as caught:
        load_windows(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}:3:12: window a: invalid RRULE")
    assert lines[1].startswith(f"{path}:9:15: window b: unknown time zone 'Europe/Berlim'; "
                               "did you mean 'Europe/Berlin'?")
    assert isinstance(caught.value, UsageError)


def test_an_unreadable_file(tmp_path):
    missing = tmp_path / "windows.yaml"
    with pytest.raises(WorkflowErrors, match=r"windows.yaml: cannot read windows file"):
        load_windows(missing)


def test_find_windows_file(tmp_path):
    inventory = tmp_path / "inv"
    inventory.mkdir()
    (inventory / "hosts.yaml").write_text("{}\n")
    assert find_windows_file(str(inventory), None) is None
    assert find_windows_file(None, None) is None
    (inventory / "windows.yml").write_text("windows: {}\n")
    assert find_windows_file(str(inventory), None) == inventory / "windows.yml"
    assert find_windows_file(str(inventory / "hosts.yaml"), None) == inventory / "windows.yml"
    (inventory / "windows.yaml").write_text("windows: {}\n")
    with pytest.raises(UsageError, match=r"both .*windows\.yaml and .*windows\.yml exist; keep one"):
        find_windows_file(str(inventory), None)
    other = tmp_path / "other.yaml"
    other.write_text("windows: {}\n")
    assert find_windows_file(str(inventory), str(other)) == other
    with pytest.raises(UsageError, match=r"windows file '.*nope.yaml' does not exist"):
        find_windows_file(str(inventory), str(tmp_path / "nope.yaml"))
    with pytest.raises(UsageError, match="is a folder"):
        find_windows_file(None, str(inventory))


def test_a_fifo_windows_file_is_refused_not_skipped(tmp_path):
    import os

    from tests.unit.deadline import deadline

    inventory = tmp_path / "inv"
    inventory.mkdir()
    os.mkfifo(inventory / "windows.yaml")
    found = find_windows_file(str(inventory), None)
    assert found == inventory / "windows.yaml"
    with deadline(), pytest.raises(WorkflowErrors) as caught:
        load_windows(found)
    assert str(caught.value) == f"{found}: windows file is not a regular file (a FIFO)"
    with pytest.raises(UsageError, match=r"windows file '.*windows.yaml' is not a regular file"):
        find_windows_file(None, str(found))
