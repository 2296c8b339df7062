"""The ``opsrunner`` command line.

Exit codes: 0 every host ok; 1 usage or input error (nothing was changed); 2 some host
failed (a step or a check); 130 interrupted (always-steps ran). Heavy libraries (paramiko,
ovirtsdk4, jinja2, the plugins) load only inside the commands that need them.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from opsrunner.cli.guard import guard

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES = ("Exit codes: 0 all hosts ok, 1 usage or input error, 2 some host failed, "
              "3 outside the maintenance window (nothing changed), 4 some host deferred to "
              "the next window, 130 interrupted (Ctrl-C, SIGTERM or SIGHUP; the always-steps "
              "ran).")
INVENTORY_ENV = "OPSRUNNER_INVENTORY"


def inventory_option(f: F) -> F:
    return click.option("-i", "--inventory", "inventory", envvar=INVENTORY_ENV,
                        help="Inventory folder (hosts.yaml, groups.yaml, defaults.yaml) or "
                             f"Ansible YAML inventory file. Default: ${INVENTORY_ENV}.")(f)


def state_dir_option(f: F) -> F:
    return click.option("--state-dir", envvar="OPSRUNNER_STATE_DIR", type=click.Path(file_okay=False),
                        help="Where run journals and target locks live. Default: "
                             "$OPSRUNNER_STATE_DIR, else .opsrunner.")(f)


def common_options(f: F) -> F:
    for option in reversed([
        click.option("--limit", "-l", help="Restrict hosts: names, groups, globs, "
                     "'a & b', 'a | b', '!a', parentheses."),
        click.option("-e", "--extra-var", "extra", multiple=True, metavar="KEY=VALUE|@FILE",
                     help="Extra variable (wins over all others); repeatable."),
        click.option("--plugin-dir", "plugin_dirs", multiple=True,
                     type=click.Path(file_okay=False),
                     help="Load every *.py of this folder as a plugin (_*.py: helpers); "
                          "repeatable."),
    ]):
        f = option(f)
    return f


class _Main(click.Group):
    """Click's group, with opsrunner's exit codes: usage errors exit 1 (click's default is 2,
    which opsrunner reserves for "some host failed"), Ctrl-C exits 130."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.ClickException as exc:
            exc.show()
            sys.exit(1)
        except click.exceptions.Abort:
            click.echo("interrupted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=_Main, epilog=EXIT_CODES,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="opsrunner")
def main() -> None:
    """Run operations workflows on an Oracle Linux Virtualization Manager (oVirt 4.5) estate."""


@main.command(epilog=EXIT_CODES)
@click.argument("workflow", type=click.Path(dir_okay=False), required=False)
@inventory_option
@common_options
@click.option("--check", is_flag=True, help="Report what would change; change nothing.")
@click.option("--forks", type=click.IntRange(1, 500), default=20, show_default=True,
              help="Hosts worked on at the same time.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: one JSON document on stdout.")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False),
              help="Also write a JUnit XML report here.")
@click.option("--yes", is_flag=True, help="Confirm destructive steps (restore, cleanup); with "
              "--resume, also run again steps that are not safe to run twice.")
@click.option("--accept-new-host-keys", is_flag=True,
              help="Trust and record unknown host keys (like OpenSSH accept-new); "
                   "a changed key is always refused.")
@state_dir_option
@click.option("--resume", metavar="RUN_ID|last",
              help="Finish an earlier run: hosts that finished are skipped, finished steps "
                   "are re-checked, not re-run (see `opsrunner runs`).")
@click.option("--force", is_flag=True, help="With --resume: accept a changed workflow.")
@click.option("--lock-wait", metavar="DURATION", default="0",
              help="Wait this long (30s, 5m) for a host locked by another run, instead of "
                   "failing that host at once.")
@click.option("--window", metavar="NAME",
              help="Run in this maintenance window (over the workflow's window:).")
@click.option("--windows", "windows_file", type=click.Path(dir_okay=False),
              help="The windows file. Default: windows.yaml in the inventory folder.")
@click.option("--outside-window", is_flag=True,
              help="Run although the window is not open (needs --reason).")
@click.option("--reason", metavar="TEXT",
              help="Why the run goes ahead outside its window: journal, report, audit log.")
@click.option("--notify", "notify_file", type=click.Path(dir_okay=False),
              help="E-mail settings for the run-finished notice. Default: notify.yaml in "
                   "the inventory folder, if any.")
@click.option("--no-verify", is_flag=True, help="Skip the workflow's verify checks.")
@click.option("-v", "--verbose", is_flag=True, help="Show every step, not only changes.")
def run(workflow: str | None, inventory: str | None, limit: str | None, extra: tuple[str, ...],
        plugin_dirs: tuple[str, ...], check: bool, forks: int, output: str,
        junit_file: str | None, yes: bool, accept_new_host_keys: bool, state_dir: str | None,
        resume: str | None, force: bool, lock_wait: str, window: str | None,
        windows_file: str | None, outside_window: bool, reason: str | None,
        notify_file: str | None, no_verify: bool, verbose: bool) -> None:
    """Run WORKFLOW on the inventory's hosts, then its verify checks.

    Every run is journaled in the state folder and takes a lock on each target host
    (not in check mode). With --resume, WORKFLOW and -i default to the earlier run's.
    """
    from opsrunner.cli.commands import RunRequest, run_workflow
    from opsrunner.durations import parse_duration

    if workflow is None and not resume:
        raise click.UsageError("missing argument WORKFLOW (or give --resume RUN_ID)")
    if force and not resume:
        raise click.UsageError("--force goes with --resume")
    if outside_window and not (reason and reason.strip()):
        raise click.UsageError("--outside-window needs --reason TEXT: why the run cannot wait "
                               "for its window")
    if reason and not outside_window:
        raise click.UsageError("--reason goes with --outside-window")

    def start() -> int:
        request = RunRequest(
            None if workflow is None else Path(workflow),
            inventory or ("" if resume else _need_inventory(None)), limit, extra, plugin_dirs,
            check=check, forks=forks, output=output, junit=junit_file, confirmed=yes,
            accept_new=accept_new_host_keys, state_dir=state_dir, verify=not no_verify,
            verbose=verbose, resume=resume, force=force,
            lock_wait=parse_duration(lock_wait), window=window, windows_file=windows_file,
            outside_reason=reason if outside_window else None, notify_file=notify_file)
        return run_workflow(request)

    _stop_like_ctrl_c()
    sys.exit(guard(start))


def _stop_like_ctrl_c() -> None:
    """SIGTERM (``systemctl stop`` of a maintenance-window unit, ``kill``) and SIGHUP (the
    admin's SSH session to the control node dropped) act as Ctrl-C: running steps finish, the
    always-steps run (services started again), exit 130; a second signal aborts at once.
    After SIGHUP the standard streams that were the lost terminal write to /dev/null, as under
    ``nohup``, so the rest of the run and its journal are not cut short by a dead terminal."""
    import signal

    from opsrunner.interrupts import note_signal

    def interrupt(signum: int, frame: Any) -> None:
        if signum == signal.SIGHUP:
            _detach_from_terminal()
        note_signal(signal.Signals(signum).name)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)


def _detach_from_terminal() -> None:
    """Point stdin, stdout and stderr at /dev/null where they are a terminal (a character
    device: a terminal whose other end has gone no longer answers ``isatty``); files and pipes
    are left as they are."""
    import os
    import stat

    null = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in (0, 1, 2):
            try:
                terminal = stat.S_ISCHR(os.fstat(fd).st_mode)
            except OSError:
                terminal = True
            if terminal:
                os.dup2(null, fd)
    finally:
        os.close(null)


COMPLIANCE_EXIT_CODES = ("With --profile: 0 every control passed or was waived, 1 usage or "
                         "input error (nothing was checked), 2 a control failed or could not "
                         "run.")


@main.command(epilog=EXIT_CODES + "\n\n" + COMPLIANCE_EXIT_CODES)
@click.argument("workflow", type=click.Path(dir_okay=False), required=False)
@inventory_option
@common_options
@click.option("--profile", metavar="NAME|PATH", help="Run a compliance profile's controls "
              "instead of a workflow's checks: a name in profiles/ (olvm-baseline) or a path.")
@click.option("--control", "controls", multiple=True, metavar="ID",
              help="With --profile: only this control (repeatable).")
@click.option("--waivers", "waivers_file", type=click.Path(dir_okay=False),
              help="With --profile: the waivers file (accepted deviations, with expiry).")
@click.option("--accept", is_flag=True,
              help="With --profile: record this run's results as the accepted baseline.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False),
              help="With --profile: write a self-contained HTML report.")
@state_dir_option
@click.option("--output", type=click.Choice(["text", "json"]), default="text")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False))
@click.option("--accept-new-host-keys", is_flag=True)
def verify(workflow: str | None, inventory: str | None, limit: str | None,
           extra: tuple[str, ...], plugin_dirs: tuple[str, ...], profile: str | None,
           controls: tuple[str, ...], waivers_file: str | None, accept: bool,
           html_file: str | None, state_dir: str | None, output: str, junit_file: str | None,
           accept_new_host_keys: bool) -> None:
    """Run only WORKFLOW's verify checks: prove the estate is as the workflow leaves it.

    With --profile instead: run a compliance profile's controls on every host they apply
    to, apply the waivers, show the drift since the accepted baseline, and report (a
    control-by-host matrix, --output json, --junit with one suite a host, --html)."""
    if profile is not None:
        if workflow is not None:
            raise click.UsageError("give a WORKFLOW or --profile, not both")
        from opsrunner.cli.compliance import ProfileRequest, verify_profile

        req = ProfileRequest(profile, _need_inventory(inventory), limit, extra, controls,
                             waivers_file, state_dir, accept, output, junit_file, html_file,
                             plugin_dirs)
        sys.exit(guard(lambda: verify_profile(req)))
    if workflow is None:
        raise click.UsageError("give the WORKFLOW whose checks to run, or --profile NAME")
    for flag, given in (("--control", controls), ("--waivers", waivers_file),
                        ("--accept", accept), ("--html", html_file)):
        if given:
            raise click.UsageError(f"{flag} goes with --profile")
    from opsrunner.cli.commands import RunRequest, verify_workflow

    request = RunRequest(Path(workflow), _need_inventory(inventory), limit, extra,
                         plugin_dirs, output=output, junit=junit_file,
                         accept_new=accept_new_host_keys)
    sys.exit(guard(lambda: verify_workflow(request)))


@main.command(epilog=EXIT_CODES)
@click.argument("workflow", type=click.Path(dir_okay=False))
@click.option("-i", "--inventory", "inventory", envvar=INVENTORY_ENV,
              help="Also check host selection and undefined variables against it.")
@common_options
@click.option("--window", metavar="NAME", help="Also check this maintenance window (over the "
              "workflow's window:) against the workflow.")
@click.option("--windows", "windows_file", type=click.Path(dir_okay=False),
              help="The windows file. Default: windows.yaml in the inventory folder.")
def validate(workflow: str, inventory: str | None, limit: str | None, extra: tuple[str, ...],
             plugin_dirs: tuple[str, ...], window: str | None, windows_file: str | None) -> None:
    """Parse WORKFLOW and check it (keys, tasks, parameters, templates, its window);
    connect to nothing."""
    from opsrunner.cli.commands import validate_workflow

    sys.exit(guard(lambda: validate_workflow(Path(workflow), inventory, limit, extra,
                                              plugin_dirs, window, windows_file)))


@main.command()
@click.option("--plugin-dir", "plugin_dirs", multiple=True, type=click.Path(file_okay=False),
              help="Load every *.py of this folder as a plugin (_*.py: helpers); repeatable.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text")
def plugins(plugin_dirs: tuple[str, ...], output: str) -> None:
    """List every task with its parameters and documentation."""
    from opsrunner.cli.commands import list_plugins

    sys.exit(guard(lambda: list_plugins(plugin_dirs, output)))


@main.command("inventory")
@inventory_option
@click.option("--limit", "-l")
@click.option("--plugin-dir", "plugin_dirs", multiple=True, type=click.Path(file_okay=False),
              help="Load every *.py of this folder as a plugin (_*.py: helpers); repeatable.")
@click.option("--output", type=click.Choice(["yaml", "json"]), default="yaml")
def inventory_cmd(inventory: str | None, limit: str | None, plugin_dirs: tuple[str, ...],
                  output: str) -> None:
    """Show the resolved hosts and their variables (secrets redacted)."""
    from opsrunner.cli.commands import show_inventory

    sys.exit(guard(lambda: show_inventory(_need_inventory(inventory), limit, plugin_dirs,
                                           output)))


def _need_inventory(inventory: str | None) -> str:
    """The inventory to use: -i, $OPSRUNNER_INVENTORY, else the lab's (the embedded default)."""
    if inventory:
        return inventory
    from opsrunner_lab.layout import default_lab_dir

    lab_inventory = default_lab_dir() / "inventory"
    if (lab_inventory / "hosts.yaml").exists():
        return str(lab_inventory)
    raise click.UsageError(f"no inventory: give -i PATH, set ${INVENTORY_ENV}, or start the "
                           f"lab with `opsrunner lab up`")


class _LazyGroup(click.Group):
    """A group whose subcommands are those of the click group ``target`` (``module:name``),
    imported when they are first listed or looked up: ``opsrunner --help`` imports nothing of
    it."""

    def __init__(self, *args: Any, target: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.target = target
        self._group: click.Group | None = None

    def _loaded(self) -> click.Group:
        if self._group is None:
            module, _, name = self.target.partition(":")
            try:
                group = getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError) as error:
                raise click.ClickException(f"{self.name} is not available: {error}") from None
            self._group = group
        return self._group

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._loaded().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._loaded().get_command(ctx, cmd_name)


@main.group(cls=_LazyGroup, target="opsrunner_lab.cli:lab")
def lab() -> None:
    """The lab: a local OLVM estate of real servers on loopback (the default inventory)."""


@main.group(cls=_LazyGroup, target="opsrunner.cli.locks:lock")
def lock() -> None:
    """Target locks: list them (status), break a stale one (break HOST --run RUN_ID)."""


# `runs` has options of its own (plain `opsrunner runs` lists), which a _LazyGroup cannot
# forward; its module imports only click at import time, so --help stays light.
from opsrunner.cli.runs import runs as _runs  # noqa: E402

main.add_command(_runs)


@main.group(cls=_LazyGroup, target="opsrunner.cli.schedule:schedule")
def schedule() -> None:
    """Schedules: systemd timers (or crontab lines) that run a workflow in its window."""


@main.group(cls=_LazyGroup, target="opsrunner.cli.windows:window")
def window() -> None:
    """Maintenance windows: list them, show the next openings of one (next NAME)."""
