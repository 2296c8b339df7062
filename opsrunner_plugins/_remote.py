"""Facts and small changes on a host's files, shared by the first-party file plugins.

Every function takes a path *on the host* (already mapped through :meth:`Task.path`) and
quotes it for the shell. The host needs POSIX ``sh`` and GNU coreutils.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from opsrunner import Task, TaskFailed

_KINDS = {"regular file": "file", "regular empty file": "file", "directory": "directory",
          "symbolic link": "link"}
_MODE = re.compile(r"^(?:0o)?([0-7]{4})$")

# Prints "absent", or: type, octal mode, owner, uid, group, gid, then the sha256 of a
# regular file or the target of a link. `stat` without -L describes a link itself.
_FACTS = (
    'p={path}; if [ ! -e "$p" ] && [ ! -L "$p" ]; then echo absent; '
    'if [ -d "$(dirname -- "$p")" ]; then echo folder; fi; exit 0; fi; '
    "stat --printf '%F\\n%a\\n%U\\n%u\\n%G\\n%g\\n' -- \"$p\" || exit 1; "
    'if [ -L "$p" ]; then readlink -- "$p"; '
    "elif [ -f \"$p\" ]; then sha256sum < \"$p\" | cut -d' ' -f1; fi"
)

# Copies the file next to itself as <path>.<timestamp>.bak (never over an older backup),
# keeping mode, owner and times, and prints the backup's path.
_BACKUP = (
    'p={path}; ts=$(date +%Y%m%d%H%M%S); b="$p.$ts.bak"; n=0; '
    'while [ -e "$b" ]; do n=$((n+1)); b="$p.$ts.$n.bak"; done; '
    'cp -p -- "$p" "$b" && printf %s "$b"'
)


@dataclass(frozen=True)
class FileFacts:
    """What ``stat`` says about one path (a link is described, not followed)."""

    kind: str  # "file", "directory", "link" or "other"
    mode: int
    owner: str
    uid: int
    group: str
    gid: int
    sha256: str | None = None  # regular files only
    target: str | None = None  # links only


@dataclass(frozen=True)
class Attrs:
    """Wanted mode/owner/group of a path; ``None`` leaves that attribute as it is."""

    mode: int | None = None
    owner: str | None = None
    group: str | None = None

    def differences(self, facts: FileFacts | None) -> list[str]:
        """Readable changes needed (``mode 0644 -> 0600``); all given ones for a new path."""
        out: list[str] = []
        if self.mode is not None and (facts is None or facts.mode != self.mode):
            was = f"{facts.mode:04o} -> " if facts else ""
            out.append(f"mode {was}{self.mode:04o}")
        if self.owner is not None and (facts is None or not _same(self.owner, facts.owner,
                                                                   facts.uid)):
            out.append(f"owner {facts.owner + ' -> ' if facts else ''}{self.owner}")
        if self.group is not None and (facts is None or not _same(self.group, facts.group,
                                                                   facts.gid)):
            out.append(f"group {facts.group + ' -> ' if facts else ''}{self.group}")
        return out

    def apply(self, task: Task, path: str, facts: FileFacts | None) -> None:
        """Set the attributes that differ from ``facts`` (``None``: all given ones)."""
        quoted = shlex.quote(path)
        if self.mode is not None and (facts is None or facts.mode != self.mode):
            task.run(f"chmod {self.mode:04o} -- {quoted}", check_rc=True)
        owner = self.owner if self.owner is not None and (
            facts is None or not _same(self.owner, facts.owner, facts.uid)) else None
        group = self.group if self.group is not None and (
            facts is None or not _same(self.group, facts.group, facts.gid)) else None
        if owner or group:
            task.run(f"chown -h -- {shlex.quote(_owner_spec(owner, group))} {quoted}",
                     check_rc=True)


def tree_mismatches(task: Task, path: str, owner: str | None, group: str | None) -> int:
    """How many entries in the tree at ``path`` have another owner or group than wanted."""
    tests = [f"! -user {shlex.quote(owner)}"] if owner else []
    tests += [f"! -group {shlex.quote(group)}"] if group else []
    if not tests:
        return 0
    res = task.run(f"find {shlex.quote(path)} \\( {' -o '.join(tests)} \\) -print | wc -l",
                   check_rc=True)
    return int(res.stdout.strip() or 0)


def chown_tree(task: Task, path: str, owner: str | None, group: str | None) -> None:
    """Set owner and group on the whole tree at ``path`` (links themselves, not targets)."""
    spec = _owner_spec(owner, group)
    task.run(f"chown -R -h -- {shlex.quote(spec)} {shlex.quote(path)}", check_rc=True)


def file_facts(task: Task, path: str) -> FileFacts | None:
    """Facts about ``path`` on the host, or ``None`` when nothing is there."""
    return probe(task, path)[0]


def probe(task: Task, path: str) -> tuple[FileFacts | None, bool]:
    """:func:`file_facts` of ``path`` and whether its folder exists, in one command."""
    res = task.run(_FACTS.format(path=shlex.quote(path)), check_rc=True)
    lines = res.stdout.split("\n")
    if lines[0] == "absent":
        return None, len(lines) > 1 and lines[1] == "folder"
    return _facts(path, lines, res.stdout), True


def _facts(path: str, lines: list[str], stdout: str) -> FileFacts:
    if len(lines) < 6:
        raise TaskFailed(f"cannot read the facts of {path}: unexpected stat output {stdout!r}")
    kind = _KINDS.get(lines[0], "other")
    extra = "\n".join(lines[6:]).rstrip("\n") or None
    uid, gid = int(lines[3]), int(lines[5])
    return FileFacts(kind=kind, mode=int(lines[1], 8), uid=uid, gid=gid,
                     owner=str(uid) if lines[2] == "UNKNOWN" else lines[2],
                     group=str(gid) if lines[4] == "UNKNOWN" else lines[4],
                     sha256=extra if kind == "file" else None,
                     target=extra if kind == "link" else None)


def exists(task: Task, path: str, *, directory: bool = False) -> bool:
    """True when ``path`` exists on the host (a directory, with ``directory``)."""
    quoted = shlex.quote(path)
    test = f"[ -d {quoted} ]" if directory else f"[ -e {quoted} ] || [ -L {quoted} ]"
    return task.run(test).rc == 0


def backup(task: Task, path: str) -> str:
    """Copy ``path`` to ``<path>.<YYYYmmddHHMMSS>.bak`` on the host; return the copy's path."""
    res = task.run(_BACKUP.format(path=shlex.quote(path)), check_rc=True)
    return res.stdout


def parse_mode(mode: str | int | None) -> int | None:
    """``"0640"`` -> ``0o640``; TaskFailed for anything but four octal digits.

    An int is a mode YAML already decoded (unquoted ``0640`` is the number 0o640); only
    permission bits (up to 0o777) are accepted that way, since an unquoted ``644`` is decimal.
    """
    if mode is None:
        return None
    if isinstance(mode, int):
        if 0 <= mode <= 0o777:
            return mode
        raise TaskFailed(f"mode {mode} is ambiguous as a number (YAML reads 644 as decimal); "
                         f"write it as a quoted octal string like '0644'")
    match = _MODE.match(mode.strip())
    if not match:
        raise TaskFailed(f"mode must be a quoted four-digit octal string like '0640', got "
                         f"{mode!r} (an unquoted YAML 0640 is read as the number 416)")
    return int(match.group(1), 8)


def require_absolute(name: str, path: str) -> None:
    """TaskFailed unless ``path`` is absolute (plugins map absolute paths into the sysroot)."""
    if not posixpath.isabs(path):
        raise TaskFailed(f"{name} must be an absolute path, got {path!r}")


def shown_path(task: Task, host_path: str, given: str) -> str:
    """``host_path`` in the frame of the user's parameter ``given`` (sysroot prefix removed)."""
    mapped = task.path(given)
    if host_path.startswith(mapped):
        return given + host_path[len(mapped):]
    return host_path


def change_message(path: str, changes: list[str], check: bool) -> str:
    """``changed /p: a, b`` / ``would change /p: a, b`` / ``/p is up to date``."""
    if not changes:
        return f"{path} is up to date"
    return f"{'would change' if check else 'changed'} {path}: {', '.join(changes)}"


def _same(wanted: str, name: str, ident: int) -> bool:
    return int(wanted) == ident if wanted.isdigit() else wanted == name


def _owner_spec(owner: str | None, group: str | None) -> str:
    return (owner or "") + (f":{group}" if group else "")


# -- retention: the backups and dumps a task keeps ------------------------------------------


def old_files(entries: Sequence[tuple[float, str]], keep: int, protect: str) -> list[str]:
    """Of ``(mtime, path)`` entries, those beyond the newest ``keep`` (``protect`` is never
    listed and counts as kept); oldest last. ``keep`` 0 keeps everything."""
    if keep <= 0:
        return []
    ordered = sorted(entries, key=lambda e: (e[0], e[1]), reverse=True)
    others = [path for _, path in ordered if path != protect]
    kept = keep - 1 if any(path == protect for _, path in entries) else keep
    return others[max(kept, 0):]


def list_files(task: Task, folder: str, pattern: str) -> list[tuple[float, str]]:
    """``(mtime, path)`` of the regular files in ``folder`` whose name matches ``pattern``."""
    res = task.run(f"find {shlex.quote(folder)} -maxdepth 1 -type f -name {shlex.quote(pattern)} "
                   "-printf '%T@ %p\\n' 2>/dev/null; true")
    out: list[tuple[float, str]] = []
    for line in res.stdout.splitlines():
        stamp, _, path = line.partition(" ")
        try:
            out.append((float(stamp), path))
        except ValueError:
            continue
    return out


def remove_files(task: Task, paths: Sequence[str]) -> None:
    """Remove ``paths`` on the host."""
    if paths:
        task.run("rm -f -- " + " ".join(shlex.quote(p) for p in paths), check_rc=True)
