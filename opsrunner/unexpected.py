"""One line for an exception nobody foresaw, where a traceback would otherwise reach a user.

:func:`unexpected` names the exception's type (qualified unless built in), its message and the
line that raised it, as ``unexpected re.error: missing ) (at opsrunner_plugins/x.py:67)``.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from typing import Any


def unexpected(exc: BaseException, func: Callable[..., Any] | None = None) -> str:
    """One line for an exception nobody foresaw: ``unexpected Type: message (at file:line)``.

    The place is the innermost frame in the task's own source folder when ``func`` is given
    and one is there (what its author needs), else the innermost frame of all.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    home = os.path.dirname(getattr(getattr(func, "__code__", None), "co_filename", "") or "")
    own = [f for f in frames if home and f.filename.startswith(home + os.sep)]
    place = (own or frames)[-1] if frames else None
    where = f" (at {_short(place.filename)}:{place.lineno})" if place else ""
    text = str(exc) or "no message"
    if isinstance(exc, SystemExit):
        text = f"the task called exit({exc.code!r})"
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else (
        f"{kind.__module__}.{kind.__qualname__}")
    return f"unexpected {name}: {text}{where}"


def _short(filename: str) -> str:
    """``filename`` from its top-level package on (``opsrunner_plugins/checks/__init__.py``)."""
    root = os.path.dirname(filename)
    while root and os.path.exists(os.path.join(root, "__init__.py")):
        parent = os.path.dirname(root)
        if parent == root:
            break
        root = parent
    return os.path.relpath(filename, root) if root else filename
