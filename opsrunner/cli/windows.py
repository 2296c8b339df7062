"""``opsrunner window list|next``: the maintenance windows of a ``windows.yaml``.

The file is ``--windows FILE``, else ``windows.yaml`` (or ``.yml``) in the inventory folder
(``-i``, ``$OPSRUNNER_INVENTORY``) or beside an inventory file. Times are computed from now,
or from ``--after``. Exit codes: 0 done; 1 no file, an invalid file, or an unknown window.

``window list --output json``::

    {"file": "inventory/windows.yaml", "after": "2026-12-03T14:00:00Z",
     "windows": [{"name", "description", "rrule", "timezone", "start": "2026-01-04",
                  "duration", "start_deadline", "drain_grace": seconds,
                  "blackouts": [{"first", "last", "reason"}],
                  "open_now": bool, "next": OPENING | null}],
     "problems": ["file:line:col: window NAME: ..."]}

``window next NAME --output json``::

    {"window": "sunday-night", "timezone": "Asia/Tokyo", "after": "2026-12-03T14:00:00Z",
     "openings": [OPENING, ...],
     "skipped": [{"opens": ISO, "opens_utc": ISO, "reason": "year-end change freeze"}]}

where OPENING is ``{"window", "opens", "closes", "opens_utc", "closes_utc", "start_deadline",
"cut", "note"}``: ``opens``, ``closes``, ``start_deadline`` and ``cut`` in the window's zone
with their offset (``2026-12-06T01:00:00+09:00``), the ``_utc`` ones ending in ``Z``;
``note`` names a DST gap or repeat ("" when none). ``skipped`` lists the occurrences a blackout
removed before the last opening shown.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from opsrunner.cli import INVENTORY_ENV
from opsrunner.cli.guard import guard

if TYPE_CHECKING:
    from opsrunner.windows.calendar import Skipped
    from opsrunner.windows.model import Opening, Window, WindowSet

F = TypeVar("F", bound=Callable[..., Any])


def _file_options(f: F) -> F:
    for option in reversed([
        click.option("--windows", "windows_file", type=click.Path(dir_okay=False),
                     help="The windows file. Default: windows.yaml in the inventory folder."),
        click.option("-i", "--inventory", "inventory", envvar=INVENTORY_ENV,
                     help=f"Inventory whose folder holds windows.yaml. Default: ${INVENTORY_ENV}."),
        click.option("--after", metavar="TIME",
                     help="Compute from this moment instead of now: ISO 8601 (2026-12-24, "
                          "2026-12-24T10:00 in each window's zone, or with an offset or Z)."),
        click.option("--output", type=click.Choice(["text", "json"]), default="text",
                     show_default=True, help="json: one JSON document on stdout."),
    ]):
        f = option(f)
    return f


@click.group()
def window() -> None:
    """Maintenance windows: when unattended runs may change the estate."""


@window.command("list")
@_file_options
def list_(windows_file: str | None, inventory: str | None, after: str | None,
          output: str) -> None:
    """List the windows, each with its next opening; report problems (a rule that never
    fires, overlapping openings or blackouts) on stderr."""

    def action() -> int:
        from opsrunner.windows import calendar
        from opsrunner.windows.check import problems

        window_set = _load(inventory, windows_file)
        rows = []
        for item in window_set.windows.values():
            moment = _moment(after, item)
            now = calendar.current(item, moment)
            rows.append((item, now is not None, now or calendar.next_opening(item, moment)))
        found = problems(window_set, now=_moment(after, None))
        if output == "json":
            click.echo(json.dumps({
                "file": window_set.source, "after": _utc(_moment(after, None)),
                "windows": [{**_window_json(item), "open_now": is_open,
                             "next": _opening_json(opening) if opening else None}
                            for item, is_open, opening in rows],
                "problems": found}, indent=2))
        else:
            _print_list(window_set, rows)
            for problem in found:
                click.echo(f"warning: {problem}", err=True)
        return 0

    sys.exit(guard(action))


def _print_list(window_set: WindowSet, rows: list[tuple[Window, bool, Opening | None]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from opsrunner.windows.calendar import describe_duration

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 240)
    table = Table(box=None, padding=(0, 1), pad_edge=False, header_style="dim")
    for column in ("window", "recurrence", "duration", "timezone", "next opening", "blackouts",
                   "description"):
        table.add_column(column)
    for item, is_open, opening in rows:
        when = "never" if opening is None else _local(opening.opens)
        if is_open and opening is not None:
            when = f"open now, until {_local(opening.closes)}"
        table.add_row(*(Text(cell) for cell in (
            item.name, item.rrule, describe_duration(item.duration), item.timezone, when,
            str(len(item.blackouts)) if item.blackouts else "", item.description)))
    console.print(f"{window_set.source}:", markup=False)
    console.print(table)


@window.command("next")
@click.argument("name")
@click.option("--count", "-n", type=click.IntRange(1, 1000), default=5, show_default=True,
              help="How many openings to show.")
@_file_options
def next_(name: str, count: int, windows_file: str | None, inventory: str | None,
          after: str | None, output: str) -> None:
    """Show the next openings of window NAME: opens-closes in its zone and in UTC, the start
    deadline, DST notes, and the occurrences a blackout removed."""

    def action() -> int:
        from opsrunner.errors import UsageError, unknown_name_message
        from opsrunner.windows.calendar import upcoming

        window_set = _load(inventory, windows_file)
        item = window_set.windows.get(name)
        if item is None:
            raise UsageError(unknown_name_message("window", name, window_set.windows))
        moment = _moment(after, item)
        found, removed = upcoming(item, moment, count)
        if output == "json":
            click.echo(json.dumps({
                "window": item.name, "timezone": item.timezone, "after": _utc(moment),
                "openings": [_opening_json(opening) for opening in found],
                "skipped": [{"opens": _iso(skip.opening.opens),
                             "opens_utc": _utc(skip.opening.opens), "reason": skip.reason}
                            for skip in removed]}, indent=2))
        else:
            _print_next(item, moment, found, removed)
        return 0

    sys.exit(guard(action))


def _print_next(item: Window, moment: datetime, found: list[Opening],
                removed: list[Skipped]) -> None:
    from opsrunner.windows.calendar import HORIZON_YEARS, describe_duration

    click.echo(f"{item.name}: {item.description + ', ' if item.description else ''}"
               f"{item.rrule} for {describe_duration(item.duration)} in {item.timezone}")
    lines: list[tuple[datetime, str]] = []
    for opening in found:
        line = (f"  {_span(opening.opens, opening.closes)}  (UTC "
                f"{_span(opening.opens.astimezone(UTC), opening.closes.astimezone(UTC), zone=False)})"
                f"  start by {_clock(opening.start_deadline)}")
        if opening.opens.astimezone(UTC) <= moment.astimezone(UTC) < opening.closes.astimezone(UTC):
            line += "  open now"
        if opening.note:
            line += f"  note: {opening.note}"
        lines.append((opening.opens.astimezone(UTC), line))
    for skip in removed:
        lines.append((skip.opening.opens.astimezone(UTC),
                      f"  {_local(skip.opening.opens)}  skipped by blackout: {skip.reason}"))
    for _, line in sorted(lines, key=lambda pair: pair[0]):
        click.echo(line)
    if not found:
        click.echo(f"  no opening in the {HORIZON_YEARS} years after {_local(moment)}")


def _load(inventory: str | None, option: str | None) -> WindowSet:
    from opsrunner.errors import UsageError
    from opsrunner.windows import find_windows_file, load_windows

    path = find_windows_file(inventory, option)
    if path is None:
        where = f" (none in the folder of {inventory})" if inventory else ""
        raise UsageError(f"no windows file{where}: give --windows FILE, or put windows.yaml "
                         f"in the inventory folder (-i, ${INVENTORY_ENV})")
    return load_windows(path)


def _moment(after: str | None, item: Window | None) -> datetime:
    """``--after`` (a naive time is in the window's zone, or UTC without one), else now."""
    if after is None:
        return datetime.now(UTC)
    from zoneinfo import ZoneInfo

    from opsrunner.errors import UsageError

    text = after.strip()
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise UsageError(f"--after {after!r}: expected an ISO 8601 time such as 2026-12-24, "
                         "2026-12-24T10:00 or 2026-12-24T10:00+09:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(item.timezone) if item else UTC)
    return moment


def _window_json(item: Window) -> dict[str, Any]:
    return {"name": item.name, "description": item.description, "rrule": item.rrule,
            "timezone": item.timezone, "start": item.start.isoformat(),
            "duration": item.duration.total_seconds(),
            "start_deadline": item.start_deadline.total_seconds(),
            "drain_grace": item.drain_grace.total_seconds(),
            "blackouts": [{"first": b.first.isoformat(), "last": b.last.isoformat(),
                           "reason": b.reason} for b in item.blackouts]}


def _opening_json(opening: Opening) -> dict[str, str]:
    return {"window": opening.window, "opens": _iso(opening.opens),
            "closes": _iso(opening.closes), "opens_utc": _utc(opening.opens),
            "closes_utc": _utc(opening.closes), "start_deadline": _iso(opening.start_deadline),
            "cut": _iso(opening.cut), "note": opening.note}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def _local(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %a %H:%M} {moment.tzname()}"


def _clock(moment: datetime) -> str:
    return f"{moment:%H:%M} {moment.tzname()}"


def _span(opens: datetime, closes: datetime, *, zone: bool = True) -> str:
    """``2026-12-06 Sun 01:00 JST - 05:00 JST``; the closing date too when it differs."""
    start = f"{opens:%Y-%m-%d %a %H:%M}" + (f" {opens.tzname()}" if zone else "")
    end = f"{closes:%H:%M}" if closes.date() == opens.date() else f"{closes:%Y-%m-%d %a %H:%M}"
    return f"{start} - {end}" + (f" {closes.tzname()}" if zone else "")
