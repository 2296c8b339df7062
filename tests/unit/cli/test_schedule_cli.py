"""``opsrunner schedule install|list|remove``: the units written (and verified by systemd),
--cron, and every refusal (secrets in -e, a late random delay, a second timer, a foreign
unit, an inventory secret the service would not have)."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from opsrunner.schedule.units import parse_unit
from opsrunner.windows.model import Window

needs_systemd = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                   reason="needs systemd-analyze (Debian package systemd)")
OPSRUNNER = Path(sys.executable).parent / "opsrunner"
Cli = Callable[..., tuple[int, str, str]]

WINDOWS_YAML = """
windows:
  sunday-night:
    rrule: "FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=0"
    duration: 3h
    timezone: Asia/Tokyo
  first-saturday:
    monthly: "first Sat 01:00"
    duration: 2h
    timezone: Europe/Berlin
  far-future:
    daily: "02:30"
    duration: 1h
    timezone: America/New_York
    start: 2099-01-01
"""


@pytest.fixture
def setup(tmp_path: Path, local_inventory: Callable[..., Path],
          monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    schedule_cli = importlib.import_module("opsrunner.cli.schedule")
    inventory = local_inventory(("h1",))
    windows = inventory / "windows.yaml"
    windows.write_text(WINDOWS_YAML)
    monkeypatch.setattr(schedule_cli, "opsrunner_command", lambda: (str(OPSRUNNER),))
    workflow = tmp_path / "vacuum.yml"
    workflow.write_text(textwrap.dedent("""
        name: vacuum
        window: sunday-night
        steps:
          - {name: s, task: command, with: {cmd: "echo {{ greeting | default('hi') }}"}}
    """))
    units = tmp_path / "units"
    units.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSRUNNER_STATE_DIR", raising=False)
    return {"inventory": inventory, "workflow": workflow, "units": units, "windows": windows}


def install(cli: Cli, setup: dict[str, Path], *args: str) -> tuple[int, str, str]:
    return cli("schedule", "install", str(setup["workflow"]), "-i", str(setup["inventory"]),
               "--dir", str(setup["units"]), *args)


def unit_files(setup: dict[str, Path]) -> list[str]:
    return sorted(p.name for p in setup["units"].iterdir())


@needs_systemd
def test_install_writes_a_verified_pair_and_says_what_next(cli: Cli,
                                                           setup: dict[str, Path]) -> None:
    code, out, err = install(cli, setup, "-e", "greeting=hello there", "--randomized-delay", "5m")
    assert code == 0, err
    assert "warning" not in err
    name = "opsrunner-vacuum-sunday-night"
    assert unit_files(setup) == [f"{name}.service", f"{name}.timer"]
    service, timer = (setup["units"] / f"{name}.service", setup["units"] / f"{name}.timer")
    assert f"wrote {service}\nwrote {timer}\n" in out
    assert f"systemctl daemon-reload\n  systemctl enable --now {name}.timer" in out
    openings = out.split("next openings, as systemd computes them:\n")[1].split("then:")[0]
    assert len(openings.splitlines()) == 5 and all(" JST (" in line and line.startswith("  Sun ")
                                                   for line in openings.splitlines())
    text = service.read_text()
    state = setup["workflow"].parent / ".opsrunner"
    assert (f'ExecStart="{OPSRUNNER}" "run" "{setup["workflow"]}" "-i" "{setup["inventory"]}" '
            f'"--window" "sunday-night" "--windows" "{setup["windows"]}" "--state-dir" '
            f'"{state}" "-e" "greeting=hello there"') in text
    assert f"WorkingDirectory={setup['workflow'].parent}\n" in text
    assert "RandomizedDelaySec=5min\n" in timer.read_text()
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(service), str(timer)],
                          capture_output=True, text=True, check=False)
    assert (done.returncode, done.stderr) == (0, "")


def test_the_window_option_wins_and_names_the_units(cli: Cli, setup: dict[str, Path]) -> None:
    code, _, err = install(cli, setup, "--window", "first-saturday", "--name", "monthly.timer")
    assert code == 0, err
    assert unit_files(setup) == ["monthly.service", "monthly.timer"]
    timer = (setup["units"] / "monthly.timer").read_text()
    assert "OnCalendar=Sat *-*-01..07 01:00:00 Europe/Berlin\n" in timer
    assert "X-Opsrunner-Window=first-saturday\n" in timer


@pytest.mark.parametrize(("args", "said"), [
    (("-e", "db_password=x"), "looks like a secret"),
    (("-e", "API_TOKEN=x"), "secret_env: NAME} with --env-file"),
    (("--randomized-delay", "20m"), "longer than the start deadline"),
    (("--window", "nope"), "unknown window 'nope'"),
    (("--windows", "missing.yaml"), "missing.yaml"),
    (("--name", "a b"), "letters, digits"),
    (("-e", "not a var"), "expected KEY=VALUE"),
])
def test_refusals_write_nothing(cli: Cli, setup: dict[str, Path], args: tuple[str, ...],
                                said: str) -> None:
    code, _, err = install(cli, setup, *args)
    assert code == 1 and said in err, err
    assert unit_files(setup) == []


def test_a_second_timer_for_the_same_workflow_and_inventory_is_refused(
        cli: Cli, setup: dict[str, Path]) -> None:
    assert install(cli, setup)[0] == 0
    before = {p.name: p.read_text() for p in setup["units"].iterdir()}
    code, _, err = install(cli, setup, "--window", "first-saturday")
    assert code == 1
    assert "opsrunner-vacuum-sunday-night" in err and "opsrunner schedule remove" in err
    code, _, err = install(cli, setup)
    assert code == 1 and "--replace" in err
    assert {p.name: p.read_text() for p in setup["units"].iterdir()} == before
    code, _, err = install(cli, setup, "--replace", "-e", "greeting=again")
    assert code == 0, err
    assert '"greeting=again"' in (setup["units"] / "opsrunner-vacuum-sunday-night.service"
                                  ).read_text()


def test_a_foreign_unit_of_the_same_name_is_left_alone(cli: Cli, setup: dict[str, Path]) -> None:
    foreign = setup["units"] / "opsrunner-vacuum-sunday-night.service"
    foreign.write_text("[Service]\nExecStart=/bin/true\n")
    code, _, err = install(cli, setup, "--replace")
    assert code == 1 and "not written by opsrunner" in err
    assert foreign.read_text() == "[Service]\nExecStart=/bin/true\n"


def test_an_inventory_secret_from_the_environment_needs_an_env_file(
        cli: Cli, setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    groups = setup["inventory"] / "groups.yaml"
    groups.write_text(yaml.safe_dump({"all_local": {"data": {"token": {
        "secret_env": "OPSRUNNER_TEST_TOKEN"}}}}))
    monkeypatch.setenv("OPSRUNNER_TEST_TOKEN", "in my shell only")
    code, _, err = install(cli, setup)
    assert code == 1 and "OPSRUNNER_TEST_TOKEN" in err and "--env-file" in err
    assert os.environ["OPSRUNNER_TEST_TOKEN"] == "in my shell only"  # restored
    env = tmp_path / "env"
    env.write_text("# for the timer\nOPSRUNNER_TEST_TOKEN='s3cret'\n")
    env.chmod(0o600)
    code, _, err = install(cli, setup, "--env-file", str(env))
    assert code == 0, err
    text = (setup["units"] / "opsrunner-vacuum-sunday-night.service").read_text()
    assert f"EnvironmentFile={env}\n" in text and "s3cret" not in text


def test_cron_prints_lines_and_writes_nothing(cli: Cli, setup: dict[str, Path]) -> None:
    code, out, err = install(cli, setup, "--cron", "--window", "first-saturday")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("# opsrunner vacuum.yml in window first-saturday")
    assert lines[1] == "CRON_TZ=Europe/Berlin"
    assert lines[2].startswith(f"0 1 * * 6 cd {setup['workflow'].parent} && exec {OPSRUNNER} "
                               f"run {setup['workflow']} -i {setup['inventory']} --window "
                               f"first-saturday")
    assert "either the day of the month or the weekday" in err and "exit 3" in err
    assert unit_files(setup) == []


def test_list_and_remove(cli: Cli, setup: dict[str, Path]) -> None:
    folder = str(setup["units"])
    code, out, _ = cli("schedule", "list", "--dir", folder)
    assert code == 0 and f"no opsrunner schedules in {folder}" in out
    assert install(cli, setup)[0] == 0
    (setup["units"] / "other.timer").write_text("[Timer]\nOnCalendar=daily\n")
    code, out, _ = cli("schedule", "list", "--dir", folder, "--output", "json")
    listing = json.loads(out)
    assert [s["name"] for s in listing["schedules"]] == ["opsrunner-vacuum-sunday-night"]
    only = listing["schedules"][0]
    assert (only["window"], only["workflow"], only["inventory"]) == (
        "sunday-night", str(setup["workflow"]), str(setup["inventory"]))
    assert only["on_calendar"] == ["Sun *-*-* 01:00:00 Asia/Tokyo"] and only["problems"] == []
    code, out, _ = cli("schedule", "list", "--dir", folder)
    assert "opsrunner-vacuum-sunday-night" in out and "Sun *-*-* 01:00:00 Asia/Tokyo" in out
    code, out, err = cli("schedule", "remove", "other", "--dir", folder)
    assert code == 1 and "unknown schedule 'other'" in err
    code, out, err = cli("schedule", "remove", "opsrunner-vacuum-sunday-night.timer",
                         "--dir", folder)
    assert code == 0, err
    assert "removed" in out and "systemctl disable --now opsrunner-vacuum-sunday-night.timer" in out
    assert unit_files(setup) == ["other.timer"]


def test_help_does_not_import_the_schedule_modules() -> None:
    code = textwrap.dedent("""
        import sys
        from click.testing import CliRunner
        from opsrunner.cli import main
        assert CliRunner().invoke(main, ["--help"]).exit_code == 0
        print(",".join(m for m in sys.modules if m.startswith(("opsrunner.schedule",
                                                               "opsrunner.cli.schedule"))))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_install_warns_when_systemd_would_miss_an_opening(capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import UTC, datetime

    from opsrunner.windows import calendar as window_calendar

    schedule_cli = importlib.import_module("opsrunner.cli.schedule")
    daily = Window("daily", "FREQ=DAILY;BYHOUR=2", timedelta(hours=1), "UTC", date(2026, 1, 1))
    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    opens = [o.opens.astimezone(UTC) for o in window_calendar.openings(daily, now, 3)]
    schedule_cli._compare(daily, opens, now, exact=True)
    assert capsys.readouterr().err == ""
    schedule_cli._compare(daily, [opens[0], opens[2]], now, exact=True)
    assert "would miss these openings of the window: Sat 2026-12-05 02:00:00 UTC" in (
        capsys.readouterr().err)
    schedule_cli._compare(daily, [*opens[:2], opens[1].replace(hour=3)], now, exact=True)
    assert "fires at times the window does not open" in capsys.readouterr().err


def test_the_units_command_is_a_run_its_window_refuses_outside_an_opening(
        cli: Cli, setup: dict[str, Path]) -> None:
    """ExecStart as systemd splits it, run as the service would (its working folder): the
    window is not open (it first opens in 2099), so the run changes nothing and exits 3."""
    from tests.unit.schedule.test_units import systemd_words

    code, _, err = install(cli, setup, "--window", "far-future")
    assert code == 0, err
    assert "before the window's first opening on 2099-01-01" in err
    service = (setup["units"] / "opsrunner-vacuum-far-future.service").read_text()
    line = next(v for k, v in parse_unit(service)["Service"] if k == "ExecStart")
    argv = systemd_words(line)
    done = subprocess.run(argv, cwd=setup["workflow"].parent, capture_output=True, text=True,
                          check=False, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    assert done.returncode == 3, done.stderr
    assert "window far-future is not open now" in done.stderr
    assert "nothing was changed" in done.stderr
