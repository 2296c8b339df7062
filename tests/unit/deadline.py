"""A safety net for tests of code that must not block: fail instead of hanging the suite."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Hung(AssertionError):
    """The guarded block ran past its deadline (it blocked)."""


@contextmanager
def deadline(seconds: float = 10.0) -> Iterator[None]:
    """Raise :class:`Hung` in the main thread if the block runs longer than ``seconds``.

    Only a safety net: tests assert the behaviour itself (the refusal), not the timing.
    """

    def expire(signum: int, frame: FrameType | None) -> None:
        raise Hung(f"blocked for more than {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
