"""Secret values: reading them from environment variables or files, and redacting them by value.

A secret reference is a mapping ``{secret_env: NAME}`` or ``{secret_file: PATH}``. Secret values
never appear in error messages; only the variable name or file path does.
"""

from __future__ import annotations

import os
import re
import stat
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from opsrunner.errors import FileRefused, Location, UsageError
from opsrunner.pathnames import path_problem
from opsrunner.regularfile import SECRET_LIMIT, read_regular_file

MASK = "********"
SECRET_KEYS = ("secret_env", "secret_file")


class Redactor:
    """Replaces every occurrence of every known secret value with ``********``.

    Overlapping occurrences of different secrets are masked as one run, so no part of any
    secret survives. Empty strings are ignored. ``add`` may be called from any thread.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for secret in secrets:
            self.add(secret)

    @property
    def secrets(self) -> frozenset[str]:
        """The secret values known so far."""
        return frozenset(self._secrets)

    def add(self, secret: str) -> None:
        """Start redacting ``secret`` (ignored when empty)."""
        if not secret:
            return
        with self._lock:
            if secret in self._secrets:
                return
            self._secrets.add(secret)
            self._pattern = None  # compiled again when next needed: n adds cost one compile

    def _compiled(self) -> re.Pattern[str] | None:
        """The pattern of every secret known, compiled once after the last ``add``."""
        with self._lock:
            if self._pattern is None and self._secrets:
                ordered = sorted(self._secrets, key=lambda s: (-len(s), s))
                # A lookahead finds the longest secret starting at every position, overlaps
                # included.
                alternatives = "|".join(re.escape(s) for s in ordered)
                self._pattern = re.compile(f"(?=({alternatives}))", re.S)
            return self._pattern

    def text(self, s: str) -> str:
        """``s`` with every secret occurrence replaced by the mask."""
        if not s:
            return s
        pattern = self._pattern or self._compiled()
        if pattern is None:
            return s
        pieces: list[str] = []
        done = 0  # end of the text already copied or masked
        run_start = run_end = -1
        for found in pattern.finditer(s):
            start, end = found.start(), found.start() + len(found.group(1))
            if start <= run_end:
                run_end = max(run_end, end)
                continue
            if run_end >= 0:
                pieces += [s[done:run_start], MASK]
                done = run_end
            run_start, run_end = start, end
        if run_end < 0:
            return s
        pieces += [s[done:run_start], MASK, s[run_end:]]
        return "".join(pieces)

    def value(self, obj: Any) -> Any:
        """``obj`` with secrets redacted in every string, through dicts, lists and tuples."""
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, Mapping):
            return {self.value(k): self.value(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.value(v) for v in obj]
        if isinstance(obj, tuple):
            return tuple(self.value(v) for v in obj)
        return obj


def is_secret_ref(value: object) -> bool:
    """True for a mapping that names ``secret_env`` or ``secret_file``."""
    return isinstance(value, Mapping) and any(key in value for key in SECRET_KEYS)


def read_secret(spec: Mapping[str, Any], base_dir: Path, where: str, *,
                location: Location | None = None, error: type[UsageError] = UsageError) -> str:
    """The secret a reference ``{secret_env: NAME}`` or ``{secret_file: PATH}`` points to.

    :param base_dir: folder a relative ``secret_file`` path is relative to.
    :param where: what holds the reference, for messages (``host 'web1', data 'db_password'``).
    :raises error: for a malformed reference or an unreadable secret.
    """
    keys = [str(k) for k in spec]
    if len(keys) != 1 or keys[0] not in SECRET_KEYS:
        raise error(f"{where}: a secret reference has exactly one key, secret_env or secret_file "
                    f"(got {', '.join(keys) or 'nothing'})", location)
    ref = spec[keys[0]]
    if not isinstance(ref, str) or not ref:
        raise error(f"{where}: {keys[0]} must be a non-empty string", location)
    if keys[0] == "secret_env":
        return secret_from_env(ref, where, location=location, error=error)
    return secret_from_file(ref, base_dir, where, location=location, error=error)


def secret_from_env(name: str, where: str, *, location: Location | None = None,
                    error: type[UsageError] = UsageError) -> str:
    """The value of environment variable ``name``; an error when it is unset or empty."""
    value = os.environ.get(name)
    if value is None:
        raise error(f"{where}: environment variable {name} is not set", location)
    if not value:
        raise error(f"{where}: environment variable {name} is empty", location)
    return value


def secret_from_file(path: str, base_dir: Path, where: str, *, location: Location | None = None,
                     error: type[UsageError] = UsageError) -> str:
    """The text of a secret file, minus one trailing newline.

    The file must be a regular file of at most 64 KiB, UTF-8, not empty, and not readable by
    others (``mode & 0o004``); a FIFO or device is refused without blocking.
    A relative ``path`` is relative to ``base_dir``; ``~`` is expanded.
    """
    try:
        file = Path(path).expanduser()
    except RuntimeError:  # ~user of an unknown user
        raise error(f"{where}: secret file {path!r}: its home folder is unknown",
                    location) from None
    if not file.is_absolute():
        file = base_dir / file
    problem = path_problem(file)
    if problem is not None:
        raise error(f"{where}: secret file {path[:60]!r} {problem}", location)
    try:
        contents = read_regular_file(file, what="secret file", limit=SECRET_LIMIT)
    except FileRefused as exc:
        raise error(f"{where}: {exc}", location) from None
    except FileNotFoundError:
        raise error(f"{where}: secret file {file} does not exist", location) from None
    except OSError as exc:
        raise error(f"{where}: secret file {file} cannot be read: {exc.strerror}",
                    location) from None
    if contents.mode & stat.S_IROTH:
        raise error(f"{where}: secret file {file} is readable by others "
                    f"(mode {stat.S_IMODE(contents.mode):04o}); run: chmod o-r {file}", location)
    raw = contents.data
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{where}: secret file {file} is not UTF-8 text", location) from None
    if text.endswith("\n"):
        text = text[:-2] if text.endswith("\r\n") else text[:-1]
    if not text:
        raise error(f"{where}: secret file {file} is empty", location)
    return text
