"""The ``lineinfile`` task: set or remove one ``KEY=value`` line in a shell-style config file.

Made for engine.conf.d and ovirt-websocket-proxy.conf.d files: the last active (not
commented) line defining the key is replaced, other active duplicates are removed, and
every other byte of the file is kept (comments, order, line endings, a missing final
newline). A missing key is appended at the end.
"""

from __future__ import annotations

import re
from typing import Literal

from opsrunner import Registry, Result, Task, hookimpl
from opsrunner_plugins import _remote

_SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "KEY")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
MASK = "********"


def lineinfile(task: Task, *, path: str, key: str, value: str | None = None,
               state: Literal["present", "absent"] = "present", quote: bool = False,
               separator: str = "=", create: bool = True, mode: str | int | None = None,
               backup: bool = True) -> Result:
    """Set (or remove) one KEY=value line in a config file, keeping every other line intact.

    :param path: absolute path of the config file on the host.
    :param key: the variable name, e.g. ENGINE_HEAP_MAX.
    :param value: the value to write (required with state=present, not allowed with absent).
    :param state: present: replace the last active line defining the key (removing other
        active duplicates) or append one; absent: remove every active line defining it.
    :param quote: write KEY="value", escaping backslash, double quote, $ and ` for the shell.
    :param separator: text between key and value (spaces around it are accepted when reading).
    :param create: create a missing file (state=present); false fails instead.
    :param mode: quoted four-digit octal string like "0600" for secret files; unset keeps
        an existing file's mode (a created file gets 0644).
    :param backup: copy the file to ``<path>.<YYYYmmddHHMMSS>.bak`` before changing it.

    data["previous"] is the old value (None when there was none; masked when the key
    names a password, secret, token or key).
    """
    _remote.require_absolute("path", path)
    if not _KEY.match(key):
        task.fail(f"key {key!r} is not a variable name (letters, digits, _ . -)")
    if state == "present" and value is None:
        task.fail("value is required with state=present")
    if state == "absent" and value is not None:
        task.fail("value is not allowed with state=absent")
    if "\n" in (value or "") or "\r" in (value or ""):
        task.fail(f"the value of {key} must be a single line")
    wanted_mode = _remote.parse_mode(mode)
    host_path = task.path(path)
    facts = _remote.file_facts(task, host_path)
    if facts is not None and facts.kind != "file":
        task.fail(f"{path} is a {facts.kind}, not a regular file")
    if facts is None and state == "present" and not create:
        task.fail(f"{path} does not exist (create=false)")
    old = _read(task, host_path) if facts is not None else ""
    line = None if value is None else key + separator + (shell_quote(value) if quote else value)
    new, previous = edit(old, key, separator, line)

    changes: list[str] = []
    if facts is None and state == "present":
        changes.append("create file")
    if new != old:
        changes.append(f"{'set' if state == 'present' else 'remove'} {key}")
    if state == "present":
        changes += _remote.Attrs(mode=wanted_mode).differences(facts)
    shown = MASK if previous is not None and is_secret(key) else previous
    result = Result(changed=bool(changes), msg=_remote.change_message(path, changes, task.check),
                    data={"previous": shown})
    if task.check or not changes:
        return result
    if new != old:
        if facts is not None and backup:
            result.data["backup"] = _remote.shown_path(task, _remote.backup(task, host_path), path)
        try:
            task.put(new.encode("utf-8", "surrogateescape"), host_path, mode=wanted_mode)
        except OSError as exc:
            task.fail(f"cannot write {path}: {exc}")
    elif facts is not None:
        _remote.Attrs(mode=wanted_mode).apply(task, host_path, facts)
    return result


def edit(text: str, key: str, separator: str, line: str | None) -> tuple[str, str | None]:
    """Return ``text`` with ``key`` set to ``line`` (None: removed), and the old value.

    Pure function: the last active line defining ``key`` becomes ``line`` (keeping its
    line ending), other active ones are dropped; without one, ``line`` is appended.
    """
    lines = split_lines(text)
    pattern = key_pattern(key, separator)
    hits = [i for i, item in enumerate(lines) if pattern.match(item)]
    drop = set(hits) if line is None else set(hits[:-1])
    previous = None
    if hits:
        last = lines[hits[-1]]
        previous = unquote(pattern.sub("", last, count=1).rstrip("\r\n").strip())
    if line is None:
        return "".join(item for i, item in enumerate(lines) if i not in drop), previous
    if hits:
        last = lines[hits[-1]]
        ending = last[len(last.rstrip("\r\n")):]
        lines[hits[-1]] = line + ending
        lines = [item for i, item in enumerate(lines) if i not in drop]
    elif lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
        lines.append(line)
    else:
        lines.append(line + "\n")
    return "".join(lines), previous


def split_lines(text: str) -> list[str]:
    """Lines with their ``\\n`` endings; the last one may lack it."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines


def key_pattern(key: str, separator: str) -> re.Pattern[str]:
    """Matches the start of an active line defining ``key``, up to and including the separator."""
    sep = separator.strip()
    tail = rf"[ \t]*{re.escape(sep)}[ \t]*" if sep else r"[ \t]+"
    return re.compile(rf"^[ \t]*{re.escape(key)}{tail}")


def shell_quote(value: str) -> str:
    """``value`` in shell double quotes (backslash, ``"``, ``$`` and backquote escaped)."""
    return '"' + re.sub(r'([\\"$`])', r"\\\1", value) + '"'


def unquote(raw: str) -> str:
    """The value of a shell-style assignment's right side (double or single quoted, or bare)."""
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return re.sub(r'\\([\\"$`])', r"\1", raw[1:-1])
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1]
    return raw


def is_secret(key: str) -> bool:
    """True when the key's name suggests a secret value."""
    upper = key.upper()
    return any(word in upper for word in _SECRET_WORDS)


def _read(task: Task, path: str) -> str:
    try:
        return task.get(path).decode("utf-8", "surrogateescape")
    except OSError as exc:
        task.fail(f"cannot read {path}: {exc}")


@hookimpl
def opsrunner_register_tasks(registry: Registry) -> None:
    registry.add_task(lineinfile, name="lineinfile", idempotent=True)
