"""Planned file changes of the ``hsts`` task, and writing them safely on the host.

A change is planned for every file first (nothing is written while any file is refused);
then each changed file is backed up, its new content staged beside it (a Python file must
compile there, with the host's interpreter), and only then installed over the original with
``cat`` (so owner, mode and SELinux label stay those of the file). :func:`restore` undoes
installed changes from their backups.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from opsrunner import Task
from opsrunner_plugins._remote import backup, file_facts

STAGE_SUFFIX = ".opsrunner-new"
# Compiles without writing bytecode (py_compile would leave a __pycache__ behind).
_COMPILE = "import sys; compile(open(sys.argv[1], 'rb').read(), sys.argv[1], 'exec')"


@dataclass
class Planned:
    """One file of the procedure: its content now (None: absent) and wanted (None: delete)."""

    path: str  # on the host (sysroot applied)
    shown: str  # as the user gave it
    service: str  # restarted when the file changes
    old: bytes | None
    new: bytes | None
    action: str  # what the change is, e.g. "patched (max-age=31536000)"
    python: bool = False
    backup: str | None = field(default=None, init=False)
    installed: bool = field(default=False, init=False)

    @property
    def changed(self) -> bool:
        return self.old != self.new


def read_text(task: Task, path: str, shown: str) -> str | None:
    """The file's text (UTF-8), None when absent; a clear failure for anything else."""
    facts = file_facts(task, path)
    if facts is None:
        return None
    if facts.kind != "file":
        task.fail(f"{shown} is a {facts.kind}, not a regular file; nothing was changed")
    try:
        return task.get(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        task.fail(f"{shown} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                  "nothing was changed")


def write_all(task: Task, plans: list[Planned], python: str) -> None:
    """Back up, stage, compile and install every changed file; nothing installed on a refusal.

    A Python file that does not compile (``python`` on the host) fails the task with the
    compiler's message before any file is installed.
    """
    changed = [p for p in plans if p.changed]
    staged: list[Planned] = []
    try:
        for plan in changed:
            if plan.new is None:
                continue
            facts = file_facts(task, plan.path)
            task.put(plan.new, plan.path + STAGE_SUFFIX, mode=facts.mode if facts else 0o644)
            staged.append(plan)
            if plan.python:
                _compile(task, plan, python)
    except BaseException:
        _discard(task, staged)
        raise
    for plan in changed:
        if plan.old is not None:
            plan.backup = backup(task, plan.path)
    for plan in changed:
        quoted = shlex.quote(plan.path)
        if plan.new is None:
            task.run(f"rm -f -- {quoted}", check_rc=True)
        elif plan.old is None:
            task.run(f"mv -f -- {shlex.quote(plan.path + STAGE_SUFFIX)} {quoted}", check_rc=True)
        else:
            stage = shlex.quote(plan.path + STAGE_SUFFIX)
            task.run(f"cat -- {stage} > {quoted} && rm -f -- {stage}", check_rc=True)
        plan.installed = True


def restore(task: Task, plans: list[Planned]) -> None:
    """Put every installed file back as it was (from its backup; a created file is removed)."""
    for plan in plans:
        if not plan.installed:
            continue
        quoted = shlex.quote(plan.path)
        if plan.backup is None:
            task.run(f"rm -f -- {quoted}", check_rc=True)
        else:
            task.run(f"cat -- {shlex.quote(plan.backup)} > {quoted}", check_rc=True)
        plan.installed = False


def _compile(task: Task, plan: Planned, python: str) -> None:
    stage = plan.path + STAGE_SUFFIX
    res = task.run(f"{shlex.quote(python)} -c {shlex.quote(_COMPILE)} {shlex.quote(stage)}")
    if res.rc != 0:
        detail = (res.stderr or res.stdout).strip().splitlines()
        task.fail(f"the patched {plan.shown} does not compile with {python} "
                  f"(exit status {res.rc}): {detail[-1] if detail else 'no output'}; "
                  "nothing was changed")


def _discard(task: Task, staged: list[Planned]) -> None:
    paths = " ".join(shlex.quote(p.path + STAGE_SUFFIX) for p in staged)
    if paths:
        task.run(f"rm -f -- {paths}")
