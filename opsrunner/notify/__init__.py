"""Run-finished notifications: a first-party e-mail notifier driven by the run-event hooks.

* :mod:`opsrunner.notify.settings`: ``notify.yaml`` (the ``email:`` section, with the keys of
  ovirt-engine-notifier in lower case): :func:`load_notify`, :func:`find_notify_file`.
* :mod:`opsrunner.notify.message`: the subject and body made from a run report.
* :mod:`opsrunner.notify.email`: :class:`EmailNotifier`, the plugin implementing
  ``opsrunner_run_finished``; a failed send is one line on stderr and in ``notifier.error``,
  never a changed exit code.

Importing this package loads nothing heavy; the names below load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsrunner.notify.email import EmailNotifier
    from opsrunner.notify.message import compose, has_problems
    from opsrunner.notify.settings import (
        EmailSettings,
        NotifySettings,
        find_notify_file,
        load_notify,
    )

_HOMES = {
    "EmailNotifier": "opsrunner.notify.email",
    "compose": "opsrunner.notify.message", "has_problems": "opsrunner.notify.message",
    **{name: "opsrunner.notify.settings" for name in (
        "EmailSettings", "NotifySettings", "find_notify_file",
        "load_notify")},
}

__all__ = [
    "EmailNotifier",
    "EmailSettings",
    "NotifySettings",
    "compose",
    "find_notify_file",
    "has_problems",
    "load_notify",
]


def __getattr__(name: str) -> Any:
    """Import a name's module on first use (PEP 562) and keep the value."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
