"""The ``command`` task: run a shell command on the host."""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Mapping
from typing import Any

from opsrunner import Registry, Result, Task, check_env_names, hookimpl
from opsrunner_plugins import _remote


def command(task: Task, *, cmd: str, creates: str | None = None, removes: str | None = None,
            rc: list[int] = [0],  # noqa: B006 - never mutated; shown as the schema default
            env: dict[str, str] | None = None,
            chdir: str | None = None, stdin: str | None = None,
            sudo: bool | None = None, read_only: bool = False) -> Result:
    """Run a shell command on the host (changed when it ran).

    :param cmd: the command line, run by ``sh -c`` on the host.
    :param creates: skip the command when this path exists on the host.
    :param removes: skip the command unless this path exists on the host.
    :param rc: the exit statuses that count as success.
    :param env: environment variables for the command; the values never appear in any
        process's argv, so secrets belong here rather than in ``cmd``.
    :param chdir: run in this directory (must exist).
    :param stdin: text fed to the command's standard input.
    :param sudo: run as root through sudo (default: the host's ``sudo`` setting).
    :param read_only: the command only reads (gathers facts): it reports ok, not changed,
        and it runs in check mode too, so later steps can use what it found.

    Absolute paths in creates, removes and chdir are mapped into the host's sysroot;
    relative creates/removes are taken relative to chdir. Check mode evaluates creates and
    removes but does not run the command. The result carries rc, stdout and stderr.
    """
    accepted = list(rc)
    if not accepted:
        task.fail("rc must list at least one accepted exit status")
    try:
        check_env_names(env or {})
    except ValueError as exc:
        task.fail(str(exc))
    if chdir is not None and not _remote.exists(task, task.path(chdir), directory=True):
        task.fail(f"chdir: directory {chdir} does not exist")
    if creates is not None and _remote.exists(task, _locate(task, creates, chdir)):
        return Result(msg=f"not run: {creates} exists (creates)")
    if removes is not None and not _remote.exists(task, _locate(task, removes, chdir)):
        return Result(msg=f"not run: {removes} does not exist (removes)")
    if task.check and not read_only:
        return Result(changed=True, msg=f"would run: {cmd}")
    line = cmd if chdir is None else f"cd -- {shlex.quote(task.path(chdir))} || exit 127\n{cmd}"
    res = task.run(line, env=env or None, sudo=sudo,
                   stdin=None if stdin is None else stdin.encode())
    if res.rc not in accepted:
        return Result.from_command(res, changed=not read_only, failed=True,
                                   msg=f"exit status {res.rc} not in accepted {accepted}")
    return Result.from_command(res, changed=not read_only, msg=f"ran (exit status {res.rc})")


def _locate(task: Task, path: str, chdir: str | None) -> str:
    """``path`` on the host: relative to ``chdir`` when relative, then mapped to the sysroot."""
    if chdir is not None and not posixpath.isabs(path):
        path = posixpath.join(chdir, path)
    return task.path(path)


@hookimpl
def opsrunner_register_tasks(registry: Registry) -> None:
    registry.add_task(command, name="command", idempotent=_rerun_safe)


def _rerun_safe(args: Mapping[str, Any]) -> bool:
    """A command guarded by ``creates``/``removes``, or one that only reads, may run again."""
    return any(args.get(key) for key in ("creates", "removes", "read_only"))
