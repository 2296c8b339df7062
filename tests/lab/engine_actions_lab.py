"""Helpers for the tests of the simulator's actions: a lab whose transitions are quick, polling
until an entity reaches a state, and the engine's faults as the SDK reports them."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import ovirtsdk4 as sdk
import ovirtsdk4.types as types

from opsrunner_lab.engine_api.settings import write_timing
from opsrunner_lab.layout import LabLayout

# Every transition takes a quarter of its default time (a host reaches maintenance in 0.5 s).
SCALE = 0.25
ADMIN_NAME = "admin@internal-authz"
T = TypeVar("T")


def quick_layout(root: Path, prefix: str, kvm_hosts: int = 2) -> LabLayout:
    """A lab layout in ``root`` whose simulator runs its transitions at :data:`SCALE`."""
    layout = LabLayout(root, kvm_hosts=kvm_hosts, address_prefix=prefix)
    write_timing(layout, SCALE)
    return layout


def wait_for(read: Callable[[], T], done: Callable[[T], bool], what: str,
             timeout: float = 20.0) -> list[T]:
    """Poll ``read`` until ``done``; the distinct values seen, in order (AssertionError on
    timeout, naming the last value)."""
    seen: list[T] = []
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if not seen or seen[-1] != value:
            seen.append(value)
        if done(value):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r} after {timeout} s (seen {seen})")
        time.sleep(0.02)


def status_of(service: object) -> Callable[[], str]:
    """A reader of an entity's ``status`` value (``service.get().status.value``)."""
    def read() -> str:
        entity = service.get()  # type: ignore[attr-defined]
        return str(entity.status.value)
    return read


def assert_fault(error: sdk.Error, code: int, message: str) -> None:
    """``error`` is the engine's fault ``[message]`` with HTTP status ``code``."""
    assert error.code == code, str(error)
    assert f'Fault detail is "[{message}]".' in str(error), str(error)


def events(system: sdk.services.SystemService, code: int) -> list[types.Event]:
    """The events of one code, newest first."""
    return list(system.events_service().list(search=f"code={code}"))


def descriptions(system: sdk.services.SystemService, code: int) -> list[str]:
    return [str(event.description) for event in events(system, code)]


def by_name(service: object, name: str) -> object:
    """The one entity named ``name`` of a collection service."""
    found = service.list(search=f"name={name}")  # type: ignore[attr-defined]
    assert len(found) == 1, f"{len(found)} entities named {name}"
    return found[0]
