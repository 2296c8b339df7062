"""File changes of the certificate replacement on the engine host, and the ``/etc/pki`` guard.

Paths are host paths (already mapped through :meth:`Task.path`). Files are rewritten in place
(``cat >``), so an existing file keeps its owner and group; content goes through stdin, never
argv.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

from opsrunner import Task
from opsrunner_plugins import _remote

SEED_PKI_MODE = 0o755


def write_file(task: Task, path: str, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path``; with ``mode`` the file has it before any byte is written."""
    quoted = shlex.quote(path)
    if mode is None:
        script = f"umask 022; cat > {quoted}"
    else:
        script = (f"umask 077; touch -- {quoted} && chmod {mode:04o} -- {quoted} && "
                  f"cat > {quoted}")
    task.run(script, stdin=data, check_rc=True)


def copy_file(task: Task, source: str, dest: str) -> None:
    """``cp -p source dest`` (the backups of the OLVM Administration Guide,
    "Administration Tasks", section "Replacing the Oracle Linux Virtualization Manager Apache SSL
    Certificate" ("Oracle Linux Virtualization Manager Apache SSL証明書の置換"), keeping mode,
    owner and times)."""
    task.run(f"cp -p -- {shlex.quote(source)} {shlex.quote(dest)}", check_rc=True)


def keep_backup(task: Task, path: str, bck: str) -> str | None:
    """Copy ``path`` to ``bck`` (the guide's ``.bck``); an older, different ``bck`` is first kept
    as ``bck.<timestamp>.bak`` (returned), so no earlier certificate is ever lost."""
    kept = None
    old = _remote.file_facts(task, bck)
    current = _remote.file_facts(task, path)
    if old is not None and current is not None and old.sha256 != current.sha256:
        kept = _remote.backup(task, bck)
    copy_file(task, path, bck)
    return kept


def with_settings(text: str, settings: Mapping[str, str]) -> str:
    """``text`` (a shell-style conf) with each ``KEY=value`` of ``settings`` set: existing
    assignments of the key are replaced in place, missing keys are appended."""
    lines = text.splitlines()
    for key, value in settings.items():
        assignment = re.compile(rf"^\s*{re.escape(key)}\s*=")
        hits = [i for i, line in enumerate(lines) if assignment.match(line)]
        if hits:
            for i in hits:
                lines[i] = f"{key}={value}"
        else:
            lines.append(f"{key}={value}")
    return "".join(line + "\n" for line in lines)


class PkiGuard:
    """The mode and owner of ``/etc/pki`` and ``/etc/pki/ovirt-engine``, which the guide says
    must stay 0755 and never change: recorded once, re-checked after each step."""

    PATHS = ("/etc/pki", "/etc/pki/ovirt-engine")

    def __init__(self, task: Task) -> None:
        self._task = task
        self._before: dict[str, tuple[int, int, int]] = {}
        for path in self.PATHS:
            facts = _remote.file_facts(task, task.path(path))
            if facts is None or facts.kind != "directory":
                task.fail(f"{path} is not a directory on {task.host.name}: is this an OLVM engine?")
            if facts.mode != SEED_PKI_MODE:
                task.fail(f"{path} has mode {facts.mode:04o}; the procedure requires 0755 "
                          "(restore it with chmod 0755 before replacing the certificate)")
            self._before[path] = (facts.mode, facts.uid, facts.gid)

    def check(self, step: str) -> None:
        """TaskFailed if ``step`` changed the mode or owner of a guarded folder."""
        for path, before in self._before.items():
            facts = _remote.file_facts(self._task, self._task.path(path))
            after = (facts.mode, facts.uid, facts.gid) if facts else None
            if after != before:
                shown = f"mode {after[0]:04o} uid {after[1]} gid {after[2]}" if after else "gone"
                self._task.fail(f"{step} changed {path}: it was mode {before[0]:04o} uid "
                                f"{before[1]} gid {before[2]}, now {shown}; restore it (0755) "
                                "before anything else")
