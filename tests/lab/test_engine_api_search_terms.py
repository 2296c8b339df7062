"""Free-text terms, the engine's relative dates and its malformed-search fault, through the
real ovirtsdk4: a lone word matches the entities a text field of which contains it
(``search=kvm*``), ``time>yesterday`` and ``time=today`` as the engine's days, and a bad query
is 400 ``Operation Failed`` with the text ovirt-engine's ErrorTranslator makes of the search
checker's error. Simulator on 127.0.139.x."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ovirtsdk4 as sdk
import pytest
from engine_actions_lab import quick_layout
from engine_api_lab import ApiLab, running_api

PREFIX = "127.0.139."


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiLab]:
    with running_api(quick_layout(tmp_path / "lab", PREFIX)) as lab:
        yield lab


def _names(service: object, search: str) -> list[str]:
    return sorted(str(e.name) for e in service.list(search=search))  # type: ignore[attr-defined]


def test_a_lone_word_is_free_text_over_the_entities_text_fields(
        system: sdk.services.SystemService) -> None:
    hosts, vms = system.hosts_service(), system.vms_service()
    assert _names(hosts, "kvm*") == ["kvm1", "kvm2"]
    assert _names(hosts, "KVM2") == ["kvm2"]
    assert _names(hosts, "kvm* and status=up") == ["kvm1", "kvm2"]
    assert _names(hosts, "nothing-like-it") == []
    vm = vms.list()[0]
    assert _names(vms, "vm1") == [vm.name]
    assert _names(vms, f'"{vm.name}" sortby name desc') == [vm.name]


def test_relative_dates_on_events_and_vms(system: sdk.services.SystemService) -> None:
    events, vms = system.events_service(), system.vms_service()
    everything = len(events.list())
    assert everything > 0
    assert len(events.list(search="time>yesterday")) == everything
    assert len(events.list(search="time=today")) == everything
    assert events.list(search="time<yesterday") == []
    assert events.list(search="time=yesterday") == []
    assert len(vms.list(search="creationdate=today")) == len(vms.list())
