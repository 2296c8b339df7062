"""Running a CLI command body: opsrunner errors become one line and an exit code."""

from __future__ import annotations

import os
from collections.abc import Callable

import click


def guard(action: Callable[[], int]) -> int:
    """Run a command body; print OpsrunnerErrors as one line (no traceback), and any other
    exception as one ``internal error`` line (exit 1)."""
    from opsrunner.errors import OpsrunnerError, UsageError
    from opsrunner.report import EXIT_INTERRUPTED, EXIT_USAGE

    try:
        return action()
    except UsageError as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_USAGE
    except OpsrunnerError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        os._exit(EXIT_USAGE)
    except Exception as exc:  # a bug: one line that says so, never a traceback
        from opsrunner.unexpected import unexpected

        click.echo(f"error: internal error, {unexpected(exc)}; please report it with the "
                   f"command line that caused it", err=True)
        return EXIT_USAGE
