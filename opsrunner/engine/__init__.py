"""The engine API session of a run, on the real ``ovirtsdk4`` (imported on first use only).

Tasks reach it as ``task.engine``. One :class:`EngineSession` per (url, user) is shared by every
task of a run (the SDK serialises requests on its connection) and closed, with a logout, when
the run ends. Reads go through :meth:`EngineSession.errors`; writes through
:meth:`EngineSession.change`, which refuses in check mode: a task in check mode reads and decides
but never writes. SDK exceptions become :class:`EngineError` (a ``TaskFailed``) quoting the engine.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from opsrunner.engine.errors import engine_errors
from opsrunner.engine.settings import EngineSettings, settings_for
from opsrunner.engine.wait import FAILURE_STATUSES, Clock, status_value, wait_for_status
from opsrunner.errors import EngineCheckModeError, EngineError, suggest
from opsrunner.host import Host
from opsrunner.secrets import Redactor

__all__ = ["KINDS", "EngineCheckModeError", "EngineError", "EnginePool", "EngineSession"]

REQUEST_TIMEOUT = 120.0
"""Seconds the SDK waits for one answer."""

# kind -> (collection service, entity service, word for messages)
KINDS: dict[str, tuple[str, str, str]] = {
    "hosts": ("hosts_service", "host_service", "host"),
    "vms": ("vms_service", "vm_service", "VM"),
    "templates": ("templates_service", "template_service", "template"),
    "disks": ("disks_service", "disk_service", "disk"),
    "clusters": ("clusters_service", "cluster_service", "cluster"),
    "storagedomains": ("storage_domains_service", "storage_domain_service", "storage domain"),
    "datacenters": ("data_centers_service", "data_center_service", "data center"),
}
_LISTED_NAMES = 20

Connect = Callable[[EngineSettings], Any]


def sdk_connection(settings: EngineSettings) -> Any:
    """A real ``ovirtsdk4.Connection`` (it logs in on its first request)."""
    import ovirtsdk4 as sdk

    return sdk.Connection(url=settings.url, username=settings.user, password=settings.password,
                          ca_file=settings.ca_file, insecure=settings.insecure,
                          timeout=int(REQUEST_TIMEOUT))


class EngineSession:
    """One engine login: find entities by name, read, change (not in check mode), wait.

    :param connect: builds the SDK connection (default :func:`sdk_connection`).
    """

    def __init__(self, settings: EngineSettings, *, check: bool,
                 connect: Connect | None = None) -> None:
        self.settings = settings
        self.check = check
        self._connect = connect or sdk_connection
        self._connection: Any = None
        self._lock = threading.Lock()

    @property
    def connection(self) -> Any:
        """The SDK connection, created on first use."""
        with self._lock:
            if self._connection is None:
                with self.errors("connect to the engine"):
                    self._connection = self._connect(self.settings)
            return self._connection

    @property
    def system(self) -> Any:
        """The SDK's root service."""
        return self.connection.system_service()

    def errors(self, what: str) -> contextlib.AbstractContextManager[None]:
        """A block whose SDK exceptions become :class:`EngineError` about ``what``."""
        return engine_errors(what, self.settings.url, self.settings.user)

    @contextlib.contextmanager
    def change(self, what: str) -> Iterator[None]:
        """A block that writes to the engine: refused in check mode, errors translated."""
        if self.check:
            raise EngineCheckModeError(f"check mode: refusing to {what} (the task tried to "
                                       "change the engine in check mode; nothing was sent)")
        with self.errors(what):
            yield

    def act(self, service: Any, action: str, what: str, **params: Any) -> Any:
        """Call ``service.<action>(**params)`` as a change (see :meth:`change`)."""
        with self.change(what):
            return getattr(service, action)(**params)

    def collection(self, kind: str) -> Any:
        """The collection service of ``kind`` (a key of :data:`KINDS`)."""
        return getattr(self.system, KINDS[kind][0])()

    def service(self, kind: str, entity_id: str) -> Any:
        """The entity service of ``kind`` for ``entity_id``."""
        return getattr(self.collection(kind), KINDS[kind][1])(entity_id)

    def search(self, kind: str, query: str | None = None) -> list[Any]:
        """Entities of ``kind`` matching the engine search ``query`` (all when None)."""
        word = KINDS[kind][2]
        with self.errors(f"list {word}s" + (f" ({query})" if query else "")):
            return list(self.collection(kind).list(search=query))

    def find(self, kind: str, name: str) -> Any:
        """The one entity of ``kind`` named ``name`` (exactly, case included).

        :raises EngineError: none or several; "did you mean" lists close names.
        """
        word = KINDS[kind][2]
        quoted = name.replace('"', "")
        found = [e for e in self.search(kind, f'name="{quoted}"') if e.name == name]
        if len(found) == 1:
            return found[0]
        if found:
            ids = ", ".join(str(e.id) for e in found)
            raise EngineError(f"{len(found)} {word}s are named {name!r} (ids {ids}); "
                              "rename them to tell them apart")
        names = sorted(str(e.name) for e in self.search(kind))
        raise EngineError(not_found_message(word, name, names))

    def wait_for_status(self, service: Any, wanted: str | Collection[str], *, deadline: float,
                        describe: str, failure_statuses: Collection[str] = FAILURE_STATUSES,
                        status_of: Callable[[Any], str] = status_value,
                        on_status: Callable[[str], None] | None = None,
                        clock: Clock | None = None) -> Any:
        """:func:`opsrunner.engine.wait.wait_for_status`, with SDK errors translated."""
        with self.errors(f"read {describe}"):
            return wait_for_status(service, wanted, deadline=deadline, describe=describe,
                                   failure_statuses=failure_statuses, status_of=status_of,
                                   on_status=on_status, clock=clock)

    def close(self) -> None:
        """Log out and release the connection (errors ignored: the run is ending)."""
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()


def not_found_message(word: str, name: str, names: list[str]) -> str:
    """``no host named 'kvm9'; did you mean 'kvm1'? (hosts: kvm1, kvm2)``."""
    text = f"no {word} named {name!r} in the engine{suggest(name, names)}"
    shown = ", ".join(names[:_LISTED_NAMES]) + (", ..." if len(names) > _LISTED_NAMES else "")
    return text + (f" ({word}s: {shown})" if names else f" (there are no {word}s)")


class EnginePool:
    """The engine sessions of one run, by (url, user); :meth:`close` at the end of the run.

    :param inventory: every inventory host, to find the engine of a host without
        ``engine_url`` (see :mod:`opsrunner.engine.settings`).
    :param redactor: learns each engine password, so it never reaches a report.
    :param extra_vars: the run's ``-e`` extra vars; their ``engine_*`` items apply to every
        host's engine session (they win over the inventory's).
    """

    def __init__(self, *, check: bool, inventory: Mapping[str, Host] | None = None,
                 redactor: Redactor | None = None, connect: Connect | None = None,
                 extra_vars: Mapping[str, Any] | None = None) -> None:
        self.check = check
        self.inventory: Mapping[str, Host] = inventory or {}
        self.extra_vars: Mapping[str, Any] = extra_vars or {}
        self._redactor = redactor
        self._connect = connect
        self._sessions: dict[tuple[str, str], EngineSession] = {}
        self._lock = threading.Lock()

    def session(self, host: Host, vars: Mapping[str, Any],
                log: Callable[[str], None] | None = None) -> EngineSession:
        """The session for a task on ``host`` with ``vars``; created on first use.

        :raises UsageError: the engine settings are missing or invalid.
        """
        settings = settings_for(host, vars, self.inventory, self.extra_vars)
        with self._lock:
            session = self._sessions.get(settings.key)
            if session is not None:
                return session
            if self._redactor is not None:
                self._redactor.add(settings.password)
            if settings.insecure and log is not None:
                log(f"WARNING: engine_insecure is true: the TLS certificate of {settings.url} "
                    "is not verified")
            session = EngineSession(settings, check=self.check, connect=self._connect)
            self._sessions[settings.key] = session
            return session

    def close(self) -> None:
        """Close every session (log out); the pool may be used again afterwards."""
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            session.close()
