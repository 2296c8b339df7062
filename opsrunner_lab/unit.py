"""A lab service unit: what the lab's ``systemctl`` starts, stops and reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from opsrunner_lab.daemon import Daemon


@dataclass
class Unit:
    """One ``NAME.service`` of a lab host.

    :param daemon: the server process (pid-file tracked).
    :param prepare: idempotent one-time set-up run before every start (e.g. ``initdb``).
    :param ports: the ports it listens on, for ``opsrunner lab status``.
    :param description: the unit's Description= line, as ``systemctl status`` shows it.
    """

    name: str
    daemon: Daemon
    description: str = ""
    prepare: Callable[[], None] | None = None
    ports: dict[str, int] = field(default_factory=dict)

    def start(self) -> int:
        if self.prepare is not None and not self.daemon.is_running():
            self.prepare()
        return self.daemon.start()

    def stop(self) -> bool:
        return self.daemon.stop()

    def is_active(self) -> bool:
        return self.daemon.is_running()
