"""The service and timer unit files: their text, ExecStart quoting as systemd reads it,
``systemd-analyze verify``, writing, reading back, refusing, removing."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from opsrunner.errors import UsageError
from opsrunner.schedule.oncalendar import plan
from opsrunner.schedule.units import (
    MARKER,
    Schedule,
    check_name,
    conflicts,
    find_installed,
    list_installed,
    parse_unit,
    quote_exec,
    remove_pair,
    service_text,
    span,
    timer_text,
    unit_name,
    write_pair,
)
from opsrunner.windows.model import Window

needs_systemd = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                   reason="needs systemd-analyze (Debian package systemd)")
OPSRUNNER = Path(sys.executable).parent / "opsrunner"
ODD = 'a b%c$d"e\\f'  # a space, a systemd specifier, a variable, a quote, a backslash
WINDOW = Window("sunday-night", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=0",
                timedelta(hours=3), "Asia/Tokyo", date(2026, 1, 4),
                start_deadline=timedelta(minutes=20), drain_grace=timedelta(minutes=5))


def systemd_words(line: str) -> list[str]:
    """ExecStart's words as systemd.service(5) describes them: split on blanks outside double
    quotes, C escapes in them, then %% to %, then $$ to $ (not in the program)."""
    words: list[str] = []
    for match in re.finditer(r'"((?:[^"\\]|\\.)*)"|(\S+)', line):
        text = match.group(1) if match.group(1) is not None else match.group(2)
        text = re.sub(r"\\x([0-9a-f]{2})", lambda m: chr(int(m.group(1), 16)), text)
        text = re.sub(r"\\(.)", r"\1", text).replace("%%", "%")
        words.append(text if not words else text.replace("$$", "$"))
    return words


def make(tmp_path: Path, *, name: str = "opsrunner-vacuum-sunday-night", odd: str = ODD,
         program: Path = OPSRUNNER, delay: float | None = 60.0) -> Schedule:
    base = tmp_path / odd
    (base / "inventory").mkdir(parents=True, exist_ok=True)
    workflow = base / "vacuum.yml"
    workflow.write_text("name: vacuum\nsteps: []\n")
    return Schedule(name, workflow, str(base / "inventory"), WINDOW, (str(program),),
                    (str(workflow), "-i", str(base / "inventory"), "--window", WINDOW.name,
                     "--state-dir", str(base / ".opsrunner"), "-e", "note=50% off $HOME\n!"),
                    base, randomized_delay=delay)


def write(tmp_path: Path, schedule: Schedule) -> tuple[Path, Path]:
    folder = tmp_path / "units"
    folder.mkdir(exist_ok=True)
    return write_pair(folder, schedule, plan(schedule.window))


def verify(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemd-analyze", "verify", "--man=no", *map(str, paths)],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "TZ": "UTC"})


def test_unit_names() -> None:
    assert unit_name(Path("/w/vacuum.yml"), "sunday-night") == "opsrunner-vacuum-sunday-night"
    assert unit_name(Path("/w/Cert Replace.yml"), "Q1 (first)") == "opsrunner-cert-replace-q1-first"
    assert check_name("nightly.timer") == "nightly"
    for bad in ("", "a b", "-x", "a/b"):
        with pytest.raises(UsageError, match="letters, digits"):
            check_name(bad)


def test_spans() -> None:
    assert (span(0), span(90), span(3600 + 900), span(86400 + 61)) == (
        "0", "1min 30s", "1h 15min", "1d 1min 1s")


def test_exec_start_quoting_reads_back_as_systemd_splits_it(tmp_path: Path) -> None:
    schedule = make(tmp_path)
    line = next(v for k, v in parse_unit(service_text(schedule))["Service"] if k == "ExecStart")
    assert systemd_words(line) == schedule.argv
    assert quote_exec('50% $x "q" \\') == '"50%% $$x \\"q\\" \\\\"'
    assert quote_exec("a\nb") == '"a\\x0ab"'
    assert quote_exec("/opt/a b%/opsrunner", program=True) == '"/opt/a b%%/opsrunner"'
    for program in ("/opt/$x/opsrunner", '/opt/"/opsrunner', "opsrunner"):
        with pytest.raises(UsageError, match="absolute path"):
            quote_exec(program, program=True)


def test_service_file(tmp_path: Path) -> None:
    text = service_text(make(tmp_path))
    assert text.startswith(MARKER)
    unit = parse_unit(text)
    service = dict(unit["Service"])
    assert service["Type"] == "oneshot"
    assert (service["KillMode"], service["KillSignal"]) == ("mixed", "SIGTERM")
    assert service["TimeoutStopSec"] == "15min"  # drain grace 5min + 10min
    assert service["TimeoutStartSec"] == "3h 15min"  # duration 3h + 5min + 10min
    assert service["SuccessExitStatus"] == "3"
    assert service["WorkingDirectory"] == str(tmp_path / ODD).replace("%", "%%")
    keys = dict(unit["Unit"])
    assert keys["X-Opsrunner-Workflow"] == str(tmp_path / ODD / "vacuum.yml")
    assert keys["X-Opsrunner-Inventory"] == str(tmp_path / ODD / "inventory")
    assert keys["X-Opsrunner-Window"] == "sunday-night"


def test_timer_file(tmp_path: Path) -> None:
    text = timer_text(make(tmp_path), plan(WINDOW))
    assert text.startswith(MARKER)
    timer = parse_unit(text)
    assert timer["Timer"] == [("OnCalendar", "Sun *-*-* 01:00:00 Asia/Tokyo"),
                              ("Persistent", "true"), ("AccuracySec", "1s"),
                              ("RandomizedDelaySec", "1min"),
                              ("Unit", "opsrunner-vacuum-sunday-night.service")]
    assert timer["Install"] == [("WantedBy", "timers.target")]
    assert "start deadline (20min after the opening)" in text.replace("\n# ", " ")


def test_the_timer_comments_carry_the_notes_of_a_superset(tmp_path: Path) -> None:
    fortnight = Window("fortnight", "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA;BYHOUR=1", timedelta(hours=1),
                       "UTC", date(2026, 1, 3))
    schedule = make(tmp_path)
    text = timer_text(Schedule(schedule.name, schedule.workflow, schedule.inventory, fortnight,
                               schedule.command, schedule.run_args, schedule.working_dir),
                      plan(fortnight))
    flat = text.replace("\n# ", " ")
    assert "The calendar is a superset of it: Note: INTERVAL=2 cannot be said" in flat
    assert "refuses the extra firings (exit 3, nothing changed)" in flat
    assert "RandomizedDelaySec" not in text


@needs_systemd
def test_systemd_analyze_verify_accepts_the_pair(tmp_path: Path) -> None:
    service, timer = write(tmp_path, make(tmp_path))
    done = verify(service, timer)
    assert (done.returncode, done.stderr) == (0, "")


@needs_systemd
def test_verify_finds_the_program_through_its_quoting(tmp_path: Path) -> None:
    odd_bin = tmp_path / "bin dir%x"
    odd_bin.mkdir()
    (odd_bin / "opsrunner").symlink_to(OPSRUNNER)
    service, timer = write(tmp_path, make(tmp_path, program=odd_bin / "opsrunner"))
    done = verify(service, timer)
    assert (done.returncode, done.stderr) == (0, "")
    (odd_bin / "opsrunner").unlink()
    assert "is not executable" in verify(service, timer).stderr


@needs_systemd
def test_verify_would_catch_an_unescaped_specifier(tmp_path: Path) -> None:
    service, timer = write(tmp_path, make(tmp_path))
    service.write_text(service.read_text().replace("%%c", "%c"))
    assert "Specifier '%c'" in verify(service, timer).stderr


def test_written_files_are_0644_and_read_back(tmp_path: Path) -> None:
    schedule = make(tmp_path)
    service, timer = write(tmp_path, schedule)
    for path in (service, timer):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in service.parent.iterdir()) == [
        "opsrunner-vacuum-sunday-night.service", "opsrunner-vacuum-sunday-night.timer"]
    found = find_installed(service.parent, schedule.name)
    assert found is not None and found.problems == ()
    assert (found.workflow, found.inventory, found.window) == (
        str(schedule.workflow), schedule.inventory, "sunday-night")
    assert found.on_calendar == ["Sun *-*-* 01:00:00 Asia/Tokyo"]
    record = found.as_json()
    assert record["randomized_delay"] == "1min" and record["timer"] == str(timer)


def test_foreign_units_are_neither_listed_nor_overwritten(tmp_path: Path) -> None:
    folder = tmp_path / "units"
    folder.mkdir()
    (folder / "opsrunner-vacuum-sunday-night.timer").write_text("[Timer]\nOnCalendar=daily\n")
    (folder / "other.service").write_text("[Service]\nExecStart=/bin/true\n")
    assert list_installed(folder) == []
    with pytest.raises(UsageError, match="was not written by opsrunner: it is left alone"):
        conflicts(folder, make(tmp_path), replace=True)


def test_a_second_timer_for_the_same_workflow_and_inventory_is_refused(tmp_path: Path) -> None:
    first = make(tmp_path)
    write(tmp_path, first)
    folder = tmp_path / "units"
    with pytest.raises(UsageError, match="write it again with --replace"):
        conflicts(folder, first, replace=False)
    conflicts(folder, first, replace=True)
    second = make(tmp_path, name="opsrunner-vacuum-again")
    with pytest.raises(UsageError) as refused:
        conflicts(folder, second, replace=True)
    said = str(refused.value)
    assert "opsrunner-vacuum-sunday-night" in said and "opsrunner schedule remove" in said
    elsewhere = make(tmp_path, name="opsrunner-vacuum-other", odd="other")
    conflicts(folder, elsewhere, replace=False)  # another workflow file: allowed


def test_remove_takes_both_files_of_opsrunner_only(tmp_path: Path) -> None:
    schedule = make(tmp_path)
    service, timer = write(tmp_path, schedule)
    folder = service.parent
    with pytest.raises(UsageError, match="did you mean 'opsrunner-vacuum-sunday-night'"):
        remove_pair(folder, "opsrunner-vacuum-sunday")
    wants = folder / "timers.target.wants"
    wants.mkdir()
    (wants / timer.name).symlink_to(timer)
    with pytest.raises(UsageError, match="systemctl disable --now"):
        remove_pair(folder, schedule.name)
    (wants / timer.name).unlink()
    assert remove_pair(folder, schedule.name) == [timer, service]
    assert not timer.exists() and not service.exists()
    with pytest.raises(UsageError, match="no opsrunner schedule"):
        remove_pair(folder, schedule.name)


def test_remove_refuses_a_pair_with_a_foreign_half(tmp_path: Path) -> None:
    schedule = make(tmp_path)
    service, timer = write(tmp_path, schedule)
    service.write_text("[Service]\nExecStart=/bin/true\n")
    found = find_installed(service.parent, schedule.name)
    assert found is not None and any("not written by opsrunner" in p for p in found.problems)
    with pytest.raises(UsageError, match="nothing was removed"):
        remove_pair(service.parent, schedule.name)
    assert timer.exists()


def test_parse_unit_reads_continuations_and_skips_comments() -> None:
    sections = parse_unit("# c\n[Unit]\n; c\nDescription=a\\\n  b\n\n[Timer]\nOnCalendar=x\n")
    assert sections == {"Unit": [("Description", "a b")], "Timer": [("OnCalendar", "x")]}
