"""Counting the work a call does (Python lines run), to test that an algorithm is linear
without timing it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any


def lines_run(call: Callable[[], Any], *, under: str | tuple[str, ...]) -> int:
    """How many lines of files whose path contains ``under`` (or one of them) run during
    ``call()``."""
    parts = (under,) if isinstance(under, str) else under
    count = 0

    def tracer(frame: FrameType, event: str, _arg: Any) -> Any:
        nonlocal count
        if not any(part in frame.f_code.co_filename for part in parts):
            return None  # do not trace this frame's lines
        if event == "line":
            count += 1
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        call()
    finally:
        sys.settrace(previous)
    return count


def growth(count: Callable[[int], int], small: int) -> float:
    """``count(2 * small) / count(small)``: about 2 for a linear algorithm, 4 for a quadratic."""
    return count(2 * small) / count(small)
