"""``opsrunner schedule install|list|remove``: systemd timers that run a workflow in its window.

``install`` checks the workflow, the inventory (in the environment a scheduled run has) and
the window, then writes ``NAME.service`` and ``NAME.timer`` (see
:mod:`opsrunner.schedule.units`), or with ``--cron`` prints crontab lines instead. The run
itself checks its window when it starts: the timer only decides when it tries.

Exit codes: 0 done; 1 usage or input error, a refused install or remove (nothing written).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from opsrunner.cli import INVENTORY_ENV
from opsrunner.cli.guard import guard
from opsrunner.state import STATE_ENV

if TYPE_CHECKING:
    from opsrunner.schedule.oncalendar import CalendarPlan
    from opsrunner.schedule.units import Installed, Schedule
    from opsrunner.windows.model import Window

DEFAULT_DIR = "/etc/systemd/system"
SERVICE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""The PATH systemd gives a system service (and close to what cron gives a job)."""
_SECRET_NAME = re.compile(r"passw|passphrase|secret|token|api_?key|private_?key|credential"
                          r"|(^|_)(pass|pwd)($|_)", re.IGNORECASE)


def _dir_option(f: Any) -> Any:
    return click.option("--dir", "folder", default=DEFAULT_DIR, show_default=True,
                        type=click.Path(file_okay=False),
                        help="The folder of the unit files.")(f)


@click.group()
def schedule() -> None:
    """systemd timers (or crontab lines) that run a workflow in its maintenance window."""


@schedule.command("install")
@click.argument("workflow", type=click.Path(dir_okay=False))
@click.option("--window", metavar="NAME", help="The maintenance window. Default: the "
              "workflow's window:.")
@click.option("-i", "--inventory", "inventory", envvar=INVENTORY_ENV,
              help=f"Inventory folder or Ansible YAML file. Default: ${INVENTORY_ENV}.")
@click.option("-e", "--extra-var", "extra", multiple=True, metavar="KEY=VALUE|@FILE",
              help="Extra variable for every run (written into the unit: no secrets); "
                   "repeatable.")
@click.option("--limit", "-l", help="Restrict every run to these hosts.")
@click.option("--plugin-dir", "plugin_dirs", multiple=True, type=click.Path(file_okay=False),
              help="Plugin folder for every run; repeatable.")
@click.option("--windows", "windows_file", type=click.Path(dir_okay=False),
              help="The windows file. Default: windows.yaml in the inventory folder.")
@click.option("--state-dir", envvar=STATE_ENV, type=click.Path(file_okay=False),
              help=f"The runs' state folder (journals, locks). Default: ${STATE_ENV}, else "
                   ".opsrunner here.")
@click.option("--env-file", type=click.Path(dir_okay=False),
              help="KEY=VALUE file for the runs' environment (the inventory's secret_env "
                   "variables); only its path is written into the unit.")
@_dir_option
@click.option("--name", help="The units' name (NAME.service, NAME.timer). Default: "
              "opsrunner-<workflow>-<window>.")
@click.option("--randomized-delay", metavar="DURATION",
              help="Start up to this long (5m) after the opening, at random; at most the "
                   "window's start deadline.")
@click.option("--replace", is_flag=True, help="Write the schedule NAME again.")
@click.option("--cron", is_flag=True, help="Write nothing; print crontab lines instead "
              "(hosts without systemd).")
def install(workflow: str, window: str | None, inventory: str | None, extra: tuple[str, ...],
            limit: str | None, plugin_dirs: tuple[str, ...], windows_file: str | None,
            state_dir: str | None, env_file: str | None, folder: str, name: str | None,
            randomized_delay: str | None, replace: bool, cron: bool) -> None:
    """Schedule WORKFLOW in its window: write NAME.service and NAME.timer into --dir.

    The timer fires at every opening of the window (OnCalendar= from its recurrence,
    Persistent=true); each run checks the window itself and is refused past its start
    deadline (exit 3, nothing changed), so a late catch-up after downtime does nothing.
    A second timer for the same workflow and inventory is refused.
    """
    def action() -> int:
        schedule_, calendar = _prepare(Path(workflow), window, inventory, extra, limit,
                                       plugin_dirs, windows_file, state_dir, env_file, name,
                                       randomized_delay)
        if cron:
            return _print_cron(schedule_, calendar)
        return _install(Path(folder), schedule_, calendar, replace=replace)

    sys.exit(guard(action))


def opsrunner_command() -> tuple[str, ...]:
    """How a unit starts the opsrunner in use: the ``opsrunner`` program that is running,
    else the one on PATH, else this Python with ``-m opsrunner.cli``."""
    running = Path(sys.argv[0])
    if running.name == "opsrunner" and running.is_file():
        return (str(running.resolve()),)
    found = shutil.which("opsrunner")
    if found:
        return (os.path.abspath(found),)
    return (os.path.abspath(sys.executable), "-m", "opsrunner.cli")


def _prepare(workflow_path: Path, window_name: str | None, inventory: str | None,
             extra: Sequence[str], limit: str | None, plugin_dirs: Sequence[str],
             windows_file: str | None, state_dir: str | None, env_file: str | None,
             name: str | None, randomized_delay: str | None) -> tuple[Schedule, CalendarPlan]:
    """Check everything a scheduled run needs; the schedule and its calendar."""
    from opsrunner.cli import _need_inventory
    from opsrunner.cli.extravars import parse_extra_vars
    from opsrunner.durations import parse_duration
    from opsrunner.errors import UsageError
    from opsrunner.plugins import load_registry
    from opsrunner.schedule.oncalendar import plan
    from opsrunner.schedule.units import Schedule, check_name, unit_name
    from opsrunner.state import StateDir
    from opsrunner.workflow import load_workflow

    registry = load_registry(plugin_dirs)
    items = [_extra_item(item) for item in extra]
    parse_extra_vars(items)
    workflow_file = workflow_path.resolve()
    workflow = load_workflow(workflow_file, registry)
    chosen = window_name or workflow.window
    if not chosen:
        raise UsageError(f"{workflow_path}: names no window: give --window NAME")
    inventory_path = str(Path(inventory or _need_inventory(None)).resolve())
    env_path = Path(env_file).resolve() if env_file else None
    _check_inventory(inventory_path, registry, workflow, limit, parse_extra_vars(items),
                     env_path)
    windows_path, window = _find_window(inventory_path, windows_file, chosen)
    delay = None
    if randomized_delay:
        delay = parse_duration(randomized_delay)
        deadline = window.start_deadline.total_seconds()
        if delay > deadline:
            raise UsageError(f"--randomized-delay {randomized_delay}: longer than the start "
                             f"deadline of window {window.name} ({deadline:g}s): runs "
                             f"delayed past it would be refused as late")
    calendar = plan(window)
    if not calendar.days and not calendar.gap_firings:
        raise UsageError(f"window {window.name!r} ({window.rrule}) never opens: nothing to "
                         f"schedule")
    state = StateDir.resolve(state_dir).root.resolve()
    run_args = [str(workflow_file), "-i", inventory_path, "--window", window.name,
                "--windows", str(windows_path), "--state-dir", str(state)]
    if limit:
        run_args += ["--limit", limit]
    for folder in plugin_dirs:
        run_args += ["--plugin-dir", str(Path(folder).resolve())]
    for item in items:
        run_args += ["-e", item]
    unit = check_name(name) if name else unit_name(workflow_file, window.name)
    schedule_ = Schedule(unit, workflow_file, inventory_path, window, opsrunner_command(),
                         tuple(run_args), Path.cwd(), env_path, delay)
    return schedule_, calendar


def _extra_item(item: str) -> str:
    """``-e`` as the unit gets it: ``@FILE`` made absolute; a secret-looking name refused."""
    from opsrunner.errors import UsageError

    if item.startswith("@"):
        return "@" + str(Path(item[1:]).resolve())
    key = item.partition("=")[0].strip()
    if _SECRET_NAME.search(key):
        raise UsageError(f"-e {key}=...: looks like a secret, and -e values are written into "
                         f"the unit file, which anyone may read; put secrets in the inventory "
                         f"as {{secret_file: PATH}}, or {{secret_env: NAME}} with --env-file")
    return item


def _check_inventory(path: str, registry: Any, workflow: Any, limit: str | None,
                     extra: dict[str, Any], env_file: Path | None) -> None:
    """Load the inventory as a scheduled run will: with systemd's environment and the
    ``--env-file`` variables only; then the hosts and variables the workflow needs."""
    from opsrunner.cli.commands import select_hosts
    from opsrunner.errors import UsageError
    from opsrunner.inventory import load_inventory
    from opsrunner.workflow import WorkflowErrors, check_names

    with _service_environment(env_file):
        try:
            inventory = load_inventory(path, registry)
        except UsageError as error:
            if "environment variable" not in str(error):
                raise
            raise UsageError(f"{error}; a scheduled run has only systemd's environment "
                             f"and the variables of --env-file FILE (KEY=VALUE lines, mode "
                             f"0600), or use {{secret_file: PATH}}") from None
    hosts = select_hosts(inventory, workflow, limit)
    for host in hosts:
        registry.connection_factory(host.connection)
    known = set(extra)
    for host in hosts:
        known |= set(host.data)
    problems = check_names(workflow, known)
    if problems:
        raise WorkflowErrors(problems)


@contextmanager
def _service_environment(env_file: Path | None) -> Iterator[None]:
    """``os.environ`` as a service has it, for the block: PATH, LANG, HOME and the
    ``env_file`` variables."""
    saved = dict(os.environ)
    environment = {"PATH": SERVICE_PATH, "LANG": saved.get("LANG", "C.UTF-8")}
    if "HOME" in saved:
        environment["HOME"] = saved["HOME"]
    if env_file is not None:
        environment.update(_read_env_file(env_file))
    os.environ.clear()
    os.environ.update(environment)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _read_env_file(path: Path) -> dict[str, str]:
    """The ``KEY=VALUE`` lines of an ``EnvironmentFile=`` (comments, blank lines and
    surrounding quotes as systemd reads them); a note when others may read it."""
    from opsrunner.errors import FileRefused, UsageError
    from opsrunner.regularfile import SECRET_LIMIT, read_regular_file

    try:
        contents = read_regular_file(path, what="--env-file", limit=SECRET_LIMIT)
        text, mode = contents.data.decode("utf-8"), contents.mode
    except FileRefused as error:
        raise UsageError(str(error)) from None
    except UnicodeDecodeError:
        raise UsageError(f"--env-file {path}: is not UTF-8 text") from None
    except OSError as error:
        raise UsageError(f"--env-file {path}: cannot be read: {error.strerror or error}") from None
    if mode & 0o077:
        click.echo(f"note: {path} may be read by others: chmod 600 {path}", err=True)
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise UsageError(f"--env-file {path}: {line[:40]!r} is not KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _find_window(inventory: str, windows_file: str | None, name: str) -> tuple[Path, Window]:
    """The windows file (``--windows``, else the inventory folder's windows.yaml), absolute,
    and its window ``name``."""
    from opsrunner.errors import UsageError, unknown_name_message
    from opsrunner.windows import find_windows_file, load_windows

    path = find_windows_file(inventory, windows_file)
    if path is None:
        raise UsageError(f"no windows.yaml in the inventory folder {inventory} (give "
                         f"--windows FILE)")
    windows = load_windows(path).windows
    if name not in windows:
        raise UsageError(f"{path}: " + unknown_name_message("window", name, windows))
    return Path(path).resolve(), windows[name]


def _print_cron(schedule_: Schedule, calendar: CalendarPlan) -> int:
    from opsrunner.schedule.cron import cron_command, cron_lines

    command = cron_command(schedule_.argv, schedule_.working_dir, schedule_.env_file)
    lines, notes = cron_lines(calendar, command)
    click.echo(f"# opsrunner {schedule_.workflow.name} in window {schedule_.window.name} "
               f"({schedule_.window.rrule} in {schedule_.window.timezone})")
    for line in lines:
        click.echo(line)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    click.echo("note: CRON_TZ applies to the lines after it in the crontab (cronie honours it; "
               "a cron without it reads the times in the system's zone, and opsrunner refuses "
               "the runs out of place, exit 3)", err=True)
    return 0


def _install(folder: Path, schedule_: Schedule, calendar: CalendarPlan, *,
             replace: bool) -> int:
    from opsrunner.errors import UsageError
    from opsrunner.schedule.oncalendar import oncalendar, systemd_next
    from opsrunner.schedule.units import conflicts, write_pair

    if not folder.is_dir():
        raise UsageError(f"--dir {folder}: no such folder")
    conflicts(folder, schedule_, replace=replace)
    expressions = oncalendar(calendar)
    now = datetime.now(UTC).replace(microsecond=0)
    fired: list[datetime] | None = None
    if shutil.which("systemd-analyze"):
        fired = systemd_next(expressions, 5, now)  # before writing: refuses what systemd does
    service, timer = write_pair(folder, schedule_, calendar)
    window = schedule_.window
    click.echo(f"wrote {service}\nwrote {timer}")
    click.echo(f"window {window.name}: {window.rrule} in {window.timezone}")
    for note in calendar.notes:
        click.echo(f"note: {note}", err=True)
    zone = ZoneInfo(window.timezone)
    if fired is None:
        click.echo("note: systemd-analyze not found: the calendar was not checked by systemd",
                   err=True)
    else:
        click.echo("next openings, as systemd computes them:")
        for moment in fired:
            click.echo(f"  {_both(moment, zone)}")
        _compare(window, fired, now, exact=calendar.exact)
    click.echo(f"then:\n  systemctl daemon-reload\n  systemctl enable --now {schedule_.name}.timer")
    return 0


def _both(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a %Y-%m-%d %H:%M:%S %Z} ({moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC)"


def _compare(window: Window, fired: list[datetime], now: datetime, *, exact: bool) -> None:
    """Warn when systemd's firings after ``now`` miss an opening of the window (or, for an
    exact calendar, differ from them) as opsrunner's calendar computes them."""
    from opsrunner.windows import calendar as window_calendar

    if not fired:
        return
    ahead = [o.opens.astimezone(UTC) for o in window_calendar.openings(window, now, len(fired) + 1)
             if o.opens.astimezone(UTC) > now][:len(fired)]
    missed = [o for o in ahead if o <= fired[-1] and o not in fired]
    extra = [f for f in fired if f not in ahead and (not ahead or f <= ahead[-1])]
    zone = ZoneInfo(window.timezone)
    if missed:
        click.echo("warning: the timer would miss these openings of the window: "
                   + ", ".join(_both(o, zone) for o in missed), err=True)
    elif exact and extra:
        click.echo("warning: systemd fires at times the window does not open: "
                   + ", ".join(_both(f, zone) for f in extra), err=True)


@schedule.command("list")
@_dir_option
@click.option("--output", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: one JSON document on stdout.")
def list_(folder: str, output: str) -> None:
    """List the schedules opsrunner wrote into --dir (other units are left out)."""

    def action() -> int:
        from opsrunner.schedule.units import list_installed

        found = list_installed(Path(folder))
        if output == "json":
            click.echo(json.dumps({"dir": folder, "schedules": [s.as_json() for s in found]},
                                  indent=2))
        else:
            _print_table(Path(folder), found)
        return 0

    sys.exit(guard(action))


def _print_table(folder: Path, found: list[Installed]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 240)
    if not found:
        console.print(f"no opsrunner schedules in {folder}", markup=False)
        return
    table = Table(box=None, padding=(0, 1), pad_edge=False, header_style="dim")
    for column in ("name", "window", "workflow", "inventory", "on calendar"):
        table.add_column(column)
    for item in found:
        calendar = item.on_calendar
        shown = (calendar[0] + (f" (+{len(calendar) - 1})" if len(calendar) > 1 else "")
                 if calendar else "")
        table.add_row(*(Text(cell) for cell in (item.name, item.window, item.workflow,
                                                 item.inventory, shown)))
    console.print(table)
    for item in found:
        for problem in item.problems:
            console.print(f"{item.name}: {problem}", markup=False)


@schedule.command("remove")
@click.argument("name")
@_dir_option
def remove(name: str, folder: str) -> None:
    """Remove the schedule NAME (its .service and .timer; only units opsrunner wrote)."""

    def action() -> int:
        from opsrunner.schedule.units import check_name, remove_pair

        unit = check_name(name)
        for path in remove_pair(Path(folder), unit):
            click.echo(f"removed {path}")
        click.echo(f"then:\n  systemctl daemon-reload\n(if {unit}.timer is still enabled "
                   f"from another folder: systemctl disable --now {unit}.timer)")
        return 0

    sys.exit(guard(action))
