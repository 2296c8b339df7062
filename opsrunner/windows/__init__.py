"""Maintenance windows: when unattended runs may change the estate.

:mod:`opsrunner.windows.model` holds the validated windows; :mod:`~opsrunner.windows.load`
reads a ``windows.yaml`` (the file format is its docstring) and finds it beside the inventory;
:mod:`~opsrunner.windows.calendar` computes openings (DST gaps and repeats, blackouts);
:mod:`~opsrunner.windows.check` finds what only shows over time (a rule that never fires,
overlapping openings or blackouts). ``load_windows`` and ``find_windows_file`` are importable
from here; they load on first use (python-dateutil is imported only when a rule is read).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsrunner.windows.load import find_windows_file, load_windows

__all__ = ["find_windows_file", "load_windows"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("opsrunner.windows.load"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
