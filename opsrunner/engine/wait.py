"""Waiting for an engine entity to reach a status: polling with a deadline and backoff.

The first poll is immediate; then the delay starts at 0.5 s and grows by x1.5 up to 3 s (the
ovirt Ansible collection polls every 3 s). A failure status stops the wait at once. Pure logic:
the service and the clock are passed in, so it is tested with fakes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any, Protocol

from opsrunner.errors import EngineError, EngineTimeout

FIRST_DELAY = 0.5
DELAY_FACTOR = 1.5
MAX_DELAY = 3.0
GONE = "gone"
"""The status a wait sees once the entity no longer exists (its ``get`` answers 404)."""

FAILURE_STATUSES = frozenset({
    "install_failed", "non_responsive", "non_operational", "error", "illegal",
    "not_responding", "finished_failure", "finalizing_failure", "cancelled_system",
    "cancelled_user",
})
"""Statuses (and image transfer phases) after which waiting for another one is pointless."""


class Clock(Protocol):
    """Where a wait reads the time and sleeps (``time.monotonic``/``time.sleep``)."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def status_value(entity: Any) -> str:
    """``entity.status`` as text (SDK enums have a ``value``); ``unknown`` when unset."""
    return enum_text(getattr(entity, "status", None))


def enum_text(value: Any) -> str:
    """An SDK enum (or plain value) as text; ``unknown`` for None."""
    if value is None:
        return "unknown"
    return str(getattr(value, "value", value))


def delays(first: float = FIRST_DELAY, factor: float = DELAY_FACTOR,
           cap: float = MAX_DELAY) -> Callable[[], float]:
    """A function returning the next delay of the backoff on each call."""
    current = [first]

    def next_delay() -> float:
        value = current[0]
        current[0] = min(value * factor, cap)
        return value

    return next_delay


def wait_for_status(service: Any, wanted: str | Collection[str], *, deadline: float,
                    describe: str,
                    failure_statuses: Collection[str] = FAILURE_STATUSES,
                    status_of: Callable[[Any], str] = status_value,
                    on_status: Callable[[str], None] | None = None,
                    clock: Clock | None = None) -> Any:
    """Poll ``service.get()`` until the entity's status is one of ``wanted``; return the entity.

    :param wanted: the awaited status(es); include :data:`GONE` to wait for a removal (then
        the result is None once ``get`` raises the SDK's NotFoundError).
    :param deadline: a ``clock.monotonic()`` value; past it, :class:`EngineTimeout`.
    :param describe: the entity for messages, e.g. ``host kvm1``.
    :param failure_statuses: statuses that end the wait with :class:`EngineError` (unless
        awaited).
    :param status_of: reads the status from the entity (``snapshot_status``, ``phase``...).
    :param on_status: called with every status seen for the first time in a row.
    :raises EngineError: naming the entity, the status reached and the one awaited.
    """
    clock = clock or SystemClock()
    awaited = {wanted} if isinstance(wanted, str) else set(wanted)
    awaited_text = " or ".join(sorted(awaited))
    started = clock.monotonic()
    next_delay = delays()
    last = None
    while True:
        entity, status = _poll(service, awaited, status_of)
        if status != last and on_status is not None:
            on_status(status)
        last = status
        if status in awaited:
            return entity
        if status in failure_statuses:
            raise EngineError(f"{describe} reached status {status} while waiting for "
                              f"{awaited_text}")
        left = deadline - clock.monotonic()
        if left <= 0:
            waited = clock.monotonic() - started
            raise EngineTimeout(f"timed out after {waited:.0f}s waiting for {describe} to "
                                f"reach {awaited_text}: its status is still {status}")
        clock.sleep(min(next_delay(), left))


def _poll(service: Any, awaited: set[str], status_of: Callable[[Any], str]) -> tuple[Any, str]:
    try:
        entity = service.get()
    except Exception as exc:
        if GONE in awaited and _is_not_found(exc):
            return None, GONE
        raise
    return entity, status_of(entity)


def _is_not_found(exc: Exception) -> bool:
    import ovirtsdk4 as sdk

    return isinstance(exc, sdk.NotFoundError)
