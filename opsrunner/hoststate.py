"""Per-host state of a run: its connection, registered results, report, failure flags."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from typing import Any

from opsrunner.connection import Connection
from opsrunner.errors import Location
from opsrunner.host import Host
from opsrunner.report import HostReport
from opsrunner.templating import render_value

RUNTIME_NAMES = frozenset({"host", "inventory_hostname", "check_mode", "run_id"})
"""The variables a host's state sets at run time, over every other source; workflow ``vars``
and ``register`` may not take them."""


class HostSession:
    """The host's one connection for the run: opened on first use, reopened after a reset."""

    def __init__(self, factory: Callable[[], Connection]) -> None:
        self._factory = factory
        self._connection: Connection | None = None
        self._lock = threading.Lock()

    def get(self) -> Connection:
        with self._lock:
            if self._connection is None:
                self._connection = self._factory()
            return self._connection

    def reset(self) -> None:
        """Close the connection (aborting what runs on it); the next use reconnects."""
        with self._lock:
            conn, self._connection = self._connection, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    close = reset


class HostState:
    """What the runner tracks for one host.

    Variables visible to templates, lowest priority first: the host's inventory data
    (host over its groups over defaults), workflow ``vars`` (rendered per host, in order),
    ``-e`` extra vars, registered step results; over them all, :data:`RUNTIME_NAMES`.
    """

    def __init__(self, host: Host, session: HostSession, *, workflow_vars: Mapping[str, Any],
                 extra_vars: Mapping[str, Any], check: bool, run_id: str,
                 var_locations: Mapping[str, Location] | None = None) -> None:
        self.host = host
        self.session = session
        self.report = HostReport(host.name)
        self.registered: dict[str, Any] = {}
        self.started = False
        self.failed = False
        self.unreachable = False
        self.deferred = False
        """A step waits for the next maintenance window: nothing more but always-steps."""
        self.locked_out = False
        """Another run holds the host's lock: nothing more runs here, always-steps neither."""
        self._workflow_vars = workflow_vars
        self._var_locations = var_locations or {}
        self._extra_vars = extra_vars
        self._fixed = {"host": host.template_view(), "inventory_hostname": host.name,
                       "check_mode": check, "run_id": run_id}
        self._base: dict[str, Any] | None = None

    @property
    def extra_vars(self) -> Mapping[str, Any]:
        """The run's ``-e`` extra vars."""
        return self._extra_vars

    def context(self) -> dict[str, Any]:
        """The template context for the host's next step (raises TemplateError on bad vars)."""
        if self._base is None:
            base: dict[str, Any] = {**self.host.data, **self._extra_vars, **self._fixed}
            for name, value in self._workflow_vars.items():
                if name not in self._extra_vars:
                    base[name] = render_value(value, base,
                                              location=self._var_locations.get(name))
            self._base = base
        return {**self._base, **self.registered, **self._fixed}

    def fail(self) -> None:
        self.failed = True
        self.report.status = "failed"

    def defer(self) -> None:
        self.deferred = True
        if self.report.status != "failed":
            self.report.status = "deferred"

    def start(self) -> None:
        self.started = True
        if self.report.status == "skipped":
            self.report.status = "ok"
