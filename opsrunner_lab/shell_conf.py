"""Read shell-style ``KEY="value"`` configuration files the way the oVirt tools source them.

The engine's tools ``source`` ``engine.conf.d/*.conf`` in sorted order, so a later file wins
and ``${OTHER}`` expands to what an earlier line set. Supported: comments, ``export``,
single quotes (literal), double quotes (``\\" \\$ \\\\ \\```` escapes, expansion), unquoted
words, ``$NAME`` and ``${NAME}``. Command substitution is refused. Errors name the file, line
and column but never a value (values hold passwords).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from opsrunner.errors import Location, UsageError

_ASSIGNMENT = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOUBLE_QUOTE_ESCAPES = '"$\\`'


class ShellConfError(UsageError):
    """A shell-style configuration file cannot be read; says where and what is allowed."""


def read_shell_conf(path: Path, known: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables ``path`` sets, on top of ``known`` (which ``${NAME}`` may refer to).

    Returns ``known`` updated with the file's assignments (a new dict).
    """
    values = dict(known or {})
    try:
        text = path.read_text()
    except OSError as exc:
        raise ShellConfError(f"cannot read: {exc.strerror}", Location(str(path))) from None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _ASSIGNMENT.match(line)
        if match is None:
            raise ShellConfError("expected KEY=value (a shell variable assignment)",
                                 Location(str(path), number, len(line) - len(line.lstrip()) + 1))
        key = match.group(1)
        values[key] = _parse_value(line, match.end(), values, Location(str(path), number))
    return values


def read_shell_confs(paths: Iterable[Path]) -> dict[str, str]:
    """Read ``paths`` in the given order, as if each were sourced in turn (later files win)."""
    values: dict[str, str] = {}
    for path in paths:
        values = read_shell_conf(path, values)
    return values


def conf_dir_files(folder: Path) -> list[Path]:
    """``folder/*.conf`` in sorted order (what the tools source), or [] if there is none."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.conf") if p.is_file())


def _parse_value(line: str, start: int, values: Mapping[str, str], where: Location) -> str:
    out: list[str] = []
    index = start
    quote = ""
    while index < len(line):
        char = line[index]
        column = index + 1
        if quote == "'":
            if char == "'":
                quote = ""
            else:
                out.append(char)
        elif char == "\\":
            following = line[index + 1:index + 2]
            if not following:
                raise _error("a backslash at the end of the line (continuation lines are "
                             "not supported)", where, column)
            if quote == '"' and following not in _DOUBLE_QUOTE_ESCAPES:
                out.append(char)
            out.append(following)
            index += 1
        elif char == "$":
            index = _expand(line, index, values, out, where) - 1
        elif char == "`":
            raise _error("command substitution is not supported", where, column)
        elif quote == '"':
            if char == '"':
                quote = ""
            else:
                out.append(char)
        elif char in "'\"":
            quote = char
        elif char.isspace():
            rest = line[index:].strip()
            if rest and not rest.startswith("#"):
                raise _error("unquoted whitespace in the value; quote it: KEY=\"...\"",
                             where, column)
            break
        else:
            out.append(char)
        index += 1
    if quote:
        kind = "double" if quote == '"' else "single"
        raise _error(f"unterminated {kind} quote", where, len(line) + 1)
    return "".join(out)


def _expand(line: str, index: int, values: Mapping[str, str], out: list[str],
            where: Location) -> int:
    """Expand the ``$`` at ``index``; return the index after the expansion."""
    following = line[index + 1:index + 2]
    if following == "(":
        raise _error("command substitution is not supported", where, index + 1)
    if following == "{":
        end = line.find("}", index)
        name = line[index + 2:end] if end > 0 else ""
        if end < 0 or not _NAME.fullmatch(name):
            raise _error("expected ${NAME}", where, index + 1)
        out.append(values.get(name, ""))
        return end + 1
    match = _NAME.match(line, index + 1)
    if match is None:
        out.append("$")
        return index + 1
    out.append(values.get(match.group(0), ""))
    return match.end()


def _error(message: str, where: Location, column: int) -> ShellConfError:
    return ShellConfError(message, Location(where.file, where.line, column))
