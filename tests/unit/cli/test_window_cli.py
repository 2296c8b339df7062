"""``opsrunner window list|next``: finding the file, text and JSON, DST notes, blackout skips,
errors with locations, and a light ``opsrunner --help``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

WINDOWS_YAML = """\
blackouts:
  year-end-freeze:
    - {from: 2026-12-25, to: 2027-01-03, reason: year-end change freeze}
windows:
  sunday-night:
    description: weekly engine vacuum
    rrule: "FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=0"
    duration: 4h
    timezone: Asia/Tokyo
    blackouts: [year-end-freeze]
  nightly:
    daily: "02:30"
    duration: 1h
    timezone: America/New_York
  short:
    daily: "03:00"
    duration: 10m
    timezone: UTC
"""
OPENING_KEYS = ["window", "opens", "closes", "opens_utc", "closes_utc", "start_deadline", "cut",
                "note"]


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    folder = tmp_path / "inventory"
    folder.mkdir()
    (folder / "hosts.yaml").write_text("{}\n")
    (folder / "windows.yaml").write_text(WINDOWS_YAML)
    return folder


def test_help_lists_the_commands_and_opsrunner_help_stays_light(cli):
    code, out, _ = cli("window", "--help")
    assert code == 0 and "list" in out and "next" in out
    code, out, _ = cli("--help")
    assert code == 0 and "window" in out
    probe = textwrap.dedent("""
        import sys
        from click.testing import CliRunner
        from opsrunner.cli import main
        assert CliRunner().invoke(main, ["--help"]).exit_code == 0
        print(",".join(m for m in ("dateutil", "opsrunner.windows", "opsrunner.cli.windows")
                       if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_next_text_in_the_zone_and_utc_with_blackout_skips(cli, inventory):
    code, out, err = cli("window", "next", "sunday-night", "-i", str(inventory), "--after",
                         "2026-12-14", "--count", "3")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == ("sunday-night: weekly engine vacuum, FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;"
                        "BYMINUTE=0 for 4h in Asia/Tokyo")
    assert lines[1:] == [
        "  2026-12-20 Sun 01:00 JST - 05:00 JST  (UTC 2026-12-19 Sat 16:00 - 20:00)  start by "
        "01:15 JST",
        "  2026-12-27 Sun 01:00 JST  skipped by blackout: year-end change freeze",
        "  2027-01-03 Sun 01:00 JST  skipped by blackout: year-end change freeze",
        "  2027-01-10 Sun 01:00 JST - 05:00 JST  (UTC 2027-01-09 Sat 16:00 - 20:00)  start by "
        "01:15 JST",
        "  2027-01-17 Sun 01:00 JST - 05:00 JST  (UTC 2027-01-16 Sat 16:00 - 20:00)  start by "
        "01:15 JST"]


def test_next_names_the_dst_gap_and_an_opening_in_progress(cli, inventory):
    code, out, _ = cli("window", "next", "nightly", "-i", str(inventory), "--after",
                       "2026-03-07T02:45", "-n", "2")
    assert code == 0
    lines = out.splitlines()
    assert lines[1] == ("  2026-03-07 Sat 02:30 EST - 03:30 EST  (UTC 2026-03-07 Sat 07:30 - "
                        "08:30)  start by 02:45 EST  open now")
    assert lines[2] == ("  2026-03-08 Sun 03:00 EDT - 04:00 EDT  (UTC 2026-03-08 Sun 07:00 - "
                        "08:00)  start by 03:15 EDT  note: 02:30 does not exist on 2026-03-08 "
                        "in America/New_York (DST gap); opens at 03:00")


def test_next_json_shape(cli, inventory):
    code, out, _ = cli("window", "next", "sunday-night", "-i", str(inventory), "--after",
                       "2026-12-20T00:00:00Z", "-n", "1", "--output", "json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["window", "timezone", "after", "openings", "skipped"]
    assert (data["window"], data["timezone"], data["after"]) == (
        "sunday-night", "Asia/Tokyo", "2026-12-20T00:00:00Z")
    [opening] = data["openings"]
    assert list(opening) == OPENING_KEYS
    assert opening == {
        "window": "sunday-night", "opens": "2027-01-10T01:00:00+09:00",
        "closes": "2027-01-10T05:00:00+09:00", "opens_utc": "2027-01-09T16:00:00Z",
        "closes_utc": "2027-01-09T20:00:00Z", "start_deadline": "2027-01-10T01:15:00+09:00",
        "cut": "2027-01-10T05:05:00+09:00", "note": ""}
    assert data["skipped"] == [
        {"opens": "2026-12-27T01:00:00+09:00", "opens_utc": "2026-12-26T16:00:00Z",
         "reason": "year-end change freeze"},
        {"opens": "2027-01-03T01:00:00+09:00", "opens_utc": "2027-01-02T16:00:00Z",
         "reason": "year-end change freeze"}]


def test_next_json_notes_the_repeat(cli, inventory):
    code, out, _ = cli("window", "next", "nightly", "--windows", str(inventory / "windows.yaml"),
                       "--after", "2026-11-01T00:00", "-n", "1", "--output", "json")
    assert code == 0
    [opening] = json.loads(out)["openings"]
    assert opening["opens"] == "2026-11-01T02:30:00-05:00"  # 02:30 exists once that day
    window = textwrap.dedent("""\
        windows:
          early: {daily: "01:30", duration: 1h, timezone: America/New_York}
        """)
    path = inventory / "early.yaml"
    path.write_text(window)
    code, out, _ = cli("window", "next", "early", "--windows", str(path), "--after",
                       "2026-11-01T00:00", "-n", "1", "--output", "json")
    [opening] = json.loads(out)["openings"]
    assert (opening["opens"], opening["closes"], opening["opens_utc"]) == (
        "2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00", "2026-11-01T05:30:00Z")
    assert opening["note"] == ("01:30 occurs twice on 2026-11-01 in America/New_York (DST "
                               "repeat); opens at the first, 01:30 EDT")


def test_list_text_and_its_warnings(cli, inventory):
    code, out, err = cli("window", "list", "-i", str(inventory / "hosts.yaml"), "--after",
                         "2026-12-05T17:00Z")
    assert code == 0
    assert out.splitlines()[0] == f"{inventory / 'windows.yaml'}:"
    rows = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert "open now, until 2026-12-06 Sun 05:00 JST" in rows["sunday-night"]
    assert "weekly engine vacuum" in rows["sunday-night"]
    assert "2026-12-06 Sun 02:30 EST" in rows["nightly"]
    assert "2026-12-06 Sun 03:00 UTC" in rows["short"]
    assert err == (f"warning: {inventory / 'windows.yaml'}:15:3: window short: start_deadline "
                   "15m is longer than the duration 10m: a run could start after the window "
                   "closed\n")


def test_list_json_shape_and_the_inventory_from_the_environment(cli, inventory, monkeypatch):
    monkeypatch.setenv("OPSRUNNER_INVENTORY", str(inventory))
    code, out, _ = cli("window", "list", "--output", "json", "--after", "2026-12-03T00:00:00Z")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["file", "after", "windows", "problems"]
    assert data["file"] == str(inventory / "windows.yaml")
    first = data["windows"][0]
    assert list(first) == ["name", "description", "rrule", "timezone", "start", "duration",
                           "start_deadline", "drain_grace", "blackouts", "open_now", "next"]
    assert first["duration"] == 14400 and first["start"] == "2001-01-01"
    assert first["blackouts"] == [{"first": "2026-12-25", "last": "2027-01-03",
                                   "reason": "year-end change freeze"}]
    assert first["open_now"] is False
    assert list(first["next"]) == OPENING_KEYS
    assert first["next"]["opens"] == "2026-12-06T01:00:00+09:00"
    assert [w["name"] for w in data["windows"]] == ["sunday-night", "nightly", "short"]
    assert len(data["problems"]) == 1 and "window short: start_deadline" in data["problems"][0]


def test_an_unknown_window_is_named_with_a_suggestion(cli, inventory):
    code, out, err = cli("window", "next", "nighty", "-i", str(inventory))
    assert (code, out) == (1, "")
    assert err == ("error: unknown window 'nighty'; did you mean 'nightly'? (known: nightly, "
                   "short, sunday-night)\n")


def test_no_windows_file(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("OPSRUNNER_INVENTORY", raising=False)
    code, _, err = cli("window", "list")
    assert code == 1
    assert err.startswith("error: no windows file: give --windows FILE, or put windows.yaml")
    code, _, err = cli("window", "list", "-i", str(tmp_path))
    assert code == 1 and f"(none in the folder of {tmp_path})" in err
    code, _, err = cli("window", "list", "--windows", str(tmp_path / "nope.yaml"))
    assert code == 1 and "does not exist" in err


def test_an_invalid_file_lists_every_problem_without_a_traceback(cli, tmp_path):
    path = tmp_path / "windows.yaml"
    path.write_text('windows:\n  a: {rrule: "FREQ=WEEKY", duration: 1h, timezone: UTC}\n'
                    '  b: {daily: "02:00", duration: 1h, timezone: Asia/Tokio}\n')
    code, out, err = cli("window", "next", "a", "--windows", str(path))
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"error: {path}:2:14: window a: invalid RRULE 'FREQ=WEEKY': invalid 'FREQ': WEEKY; "
        "expected an RRULE such as FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=0 (FREQ: YEARLY, "
        "MONTHLY, WEEKLY, DAILY or HOURLY)",
        f"{path}:3:47: window b: unknown time zone 'Asia/Tokio'; did you mean 'Asia/Tokyo'? "
        "(an IANA time zone such as Europe/Berlin, America/New_York, Asia/Tokyo or UTC)"]
    assert "Traceback" not in err


def test_a_bad_after(cli, inventory):
    code, _, err = cli("window", "next", "nightly", "-i", str(inventory), "--after", "tomorrow")
    assert code == 1
    assert err == ("error: --after 'tomorrow': expected an ISO 8601 time such as 2026-12-24, "
                   "2026-12-24T10:00 or 2026-12-24T10:00+09:00\n")
