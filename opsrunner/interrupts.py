"""Which signal interrupted the run, for the journal and the report.

Python turns SIGINT into KeyboardInterrupt; the CLI turns SIGTERM into one too and notes it
here first, so the runner can say which of them stopped the run.
"""

from __future__ import annotations

_received: list[str] = []


def note_signal(name: str) -> None:
    """Record that signal ``name`` (``"SIGTERM"``) is about to interrupt the run."""
    _received.append(name)


def last_signal() -> str:
    """The latest noted signal, else ``"SIGINT (Ctrl-C)"`` (what a bare KeyboardInterrupt is)."""
    return _received[-1] if _received else "SIGINT (Ctrl-C)"
