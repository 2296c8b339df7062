"""The one exception hierarchy of opsrunner.

Everything opsrunner raises on purpose derives from :class:`OpsrunnerError`.
:class:`UsageError` and its subclasses are the user's mistakes (bad input, bad
options): the CLI prints them as one line, without a traceback, and exits 1.
:func:`suggest` is the one "did you mean" of their messages.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Location:
    """A place in a source file; ``line`` and ``column`` count from 1."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"


class OpsrunnerError(Exception):
    """Root of every error opsrunner raises on purpose; the CLI prints it as one line and
    exits with ``exit_code``."""

    exit_code = 1


class UsageError(OpsrunnerError):
    """Bad input from the user; printed as one line, exit code 1.

    :param message: what is wrong and what is allowed.
    :param location: where in which file, when the input came from a file.
    """

    def __init__(self, message: str, location: Location | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class InventoryError(UsageError):
    """The inventory cannot be read or resolved."""


class WorkflowError(UsageError):
    """The workflow file is invalid (syntax, schema, template, parameters)."""


Problem = tuple[Location, str]
"""One problem of a file: where, and what is wrong."""


class WorkflowErrors(WorkflowError):
    """Every problem found in one workflow; ``str()`` gives one ``file:line:col: message`` a line.

    ``problems`` are sorted by position; ``location`` is the first one's (None if empty).
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p[0].file, p[0].line, p[0].column))
        super().__init__("\n".join(f"{where}: {message}" for where, message in self.problems))
        self.location = self.problems[0][0] if self.problems else None


class PluginError(OpsrunnerError):
    """A plugin could not be loaded or registered; names the plugin."""


class TemplateError(UsageError):
    """A Jinja2 expression failed to render (undefined name, sandbox violation, syntax)."""


class HostConnectionError(OpsrunnerError):
    """A host could not be reached or authenticated; fails that host only."""


class HostKeyError(HostConnectionError):
    """The host key is unknown (and new keys are not accepted) or has changed."""


class FileRefused(OpsrunnerError):
    """A file opsrunner will not read (see :mod:`opsrunner.regularfile`): not a regular file,
    or over its size limit. ``str()`` is ``<what> <path> <reason>``, e.g. ``workflow /tmp/p
    is not a regular file (a FIFO)``; ``reason`` reads after a subject (``is 50.0 MiB;
    workflows are limited to 8 MiB``). Callers re-raise it as their own error type."""

    def __init__(self, what: str, path: str, reason: str) -> None:
        self.what = what
        self.path = path
        self.reason = reason
        super().__init__(f"{what} {path} {reason}")


class LockError(OpsrunnerError):
    """A target lock could not be taken, checked or broken; the message names the host."""


class LockHolder(Protocol):
    """What :class:`LockBusy` needs of a lock's owner (:class:`opsrunner.state.locks.LockOwner`)."""

    @property
    def run_id(self) -> str: ...

    def describe(self) -> str: ...


class LockBusy(LockError):
    """Another run holds the lock of ``host`` on the ``where`` ("control node" or "host").

    ``owner`` is that run (None when it left no record); ``stale`` says its process is gone.
    ``str()``: ``<host>: locked on the <where> by <owner>; <advice>``.
    """

    def __init__(self, host: str, where: str, owner: LockHolder | None, *,
                 stale: bool = False, waited: float = 0.0, stopped: bool = False) -> None:
        self.host = host
        self.where = where
        self.owner = owner
        self.stale = stale
        holder = owner.describe() if owner else "another run (it left no owner record)"
        if stale and owner:
            inventory = " -i INVENTORY" if where == "host" else ""
            advice = (f"its process is gone (a stale lock); once sure, break it with "
                      f"`opsrunner lock break {host} --run {owner.run_id}{inventory}`")
        elif stopped:
            advice = "the run stopped while waiting for it"
        elif waited > 0:
            advice = f"still locked after waiting {waited:g}s"
        else:
            advice = "wait for it with --lock-wait DURATION, or try again later"
        super().__init__(f"{host}: locked on the {where} by {holder}; {advice}")


class OutsideWindow(OpsrunnerError):
    """The run's maintenance window is not open (closed, in a blackout, or past its start
    deadline): nothing was changed; exit code 3."""

    exit_code = 3


class TaskFailed(OpsrunnerError):
    """Raised by a task to fail its host with a message (instead of returning a failed Result)."""


class StepTimeout(OpsrunnerError):
    """A step ran past its ``timeout``."""


class EngineError(TaskFailed):
    """The engine refused or failed an operation; the message quotes the engine's words."""


class EngineTimeout(EngineError):
    """An entity did not reach the awaited status before the deadline."""


class EngineCheckModeError(EngineError):
    """A task tried to change the engine in check mode (a bug of the task; nothing was sent)."""


def shown_value(value: object) -> str:
    """A value as messages show it: ``str 'abc'``, ``int 3``, ``null``; long texts end in
    ``...`` and an integer too long for ``str()`` is shown by its size."""
    if value is None:
        return "null"
    if isinstance(value, int) and abs(value) >= 10 ** 60:
        return f"int of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def suggest(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` naming the known name closest to ``name``, or ``""``.

    A known name equal to ``name`` but for case wins (the first in sorted order); otherwise
    the closest by :func:`difflib.get_close_matches` at its default cutoff (0.6), if any.
    """
    names = sorted(set(known))
    folded = [k for k in names if k.lower() == name.lower()]
    close = folded[:1] or difflib.get_close_matches(name, names, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown_name_message(kind: str, name: str, known: Iterable[str]) -> str:
    """``unknown task 'comand'; did you mean 'command'? (known: ...)`` (30 names at most)."""
    names = sorted(known)
    listing = ", ".join(names) if len(names) <= 30 else ", ".join(names[:30]) + ", ..."
    return f"unknown {kind} {name!r}{suggest(name, names)} (known: {listing})"
