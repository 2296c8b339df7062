"""The control node's state folder: run journals (``runs/``) and target locks (``locks/``).

The folder is chosen by ``--state-dir``, else ``$OPSRUNNER_STATE_DIR``, else ``.opsrunner``
in the working directory. It is created with mode 0700; journals and lock files are 0600.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from opsrunner.errors import UsageError

STATE_ENV = "OPSRUNNER_STATE_DIR"
DEFAULT_STATE_DIR = Path(".opsrunner")


@dataclass(frozen=True)
class StateDir:
    """Where one control node keeps what outlives a run."""

    root: Path

    @classmethod
    def resolve(cls, option: str | os.PathLike[str] | None = None) -> StateDir:
        """``option`` (``--state-dir``), else ``$OPSRUNNER_STATE_DIR``, else ``.opsrunner``."""
        chosen = option or os.environ.get(STATE_ENV) or DEFAULT_STATE_DIR
        return cls(Path(chosen))

    @property
    def runs(self) -> Path:
        """One ``<run-id>.jsonl`` journal per run."""
        return self.root / "runs"

    @property
    def locks(self) -> Path:
        """One ``<host>.lock`` file per target host, held with ``flock`` by the run on it."""
        return self.root / "locks"

    def ensure(self, sub: Path) -> Path:
        """Create ``sub`` (and the root) with mode 0700; UsageError saying which folder and why
        when it cannot be created."""
        try:
            sub.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise UsageError(f"state folder {sub}: cannot be created: "
                             f"{exc.strerror or exc}; nothing was changed "
                             f"(choose another with --state-dir or ${STATE_ENV})") from None
        return sub
