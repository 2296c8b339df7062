"""How the lab's own Python servers wait for SIGTERM or SIGINT in their main thread.

Python runs a signal's handler in the main thread, but the kernel may hand the signal to
any thread (a server thread, say). A main thread blocked in a bare ``Event.wait()`` is then
never woken to run the handler, and the stop waits out its timeout (seen: one stop of the
engine simulator in twenty took 10 s). Waiting in short slices lets the handler run.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

_SLICE = 0.2  # seconds: the longest a stop can go unnoticed


def stop_event() -> threading.Event:
    """An event that SIGTERM and SIGINT set (their handlers are installed now)."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def wait_for(stop: threading.Event) -> None:
    """Block the main thread until ``stop`` is set, waking often enough to run handlers."""
    while not stop.wait(_SLICE):
        pass
