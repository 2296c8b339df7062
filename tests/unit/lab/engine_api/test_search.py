"""The engine API simulator's search language."""

from __future__ import annotations

import pytest

from opsrunner_lab.engine_api.faults import ApiFault
from opsrunner_lab.engine_api.search import Search

HOST = {"id": "1", "name": "kvm1", "status": "up", "cluster": {"href": "/c/1", "id": "c1"}}
EVENT = {"id": "7", "index": "7", "severity": "warning", "description": "window started"}


def name_of(reference: dict[str, object]) -> str | None:
    return "Default" if reference.get("id") == "c1" else None


@pytest.mark.parametrize(("query", "doc", "expected"), [
    ("name=kvm1", HOST, True),
    ("NAME=KVM1", HOST, True),
    ("name=kvm*", HOST, True),
    ('name="kvm1"', HOST, True),
    ("Hosts: name=kvm1", HOST, True),
    ("name!=kvm1", HOST, False),
    ("name=kvm2 or status=up", HOST, True),
    ("name=kvm2 or name=kvm3 and status=up", HOST, False),
    ("name=kvm1 and status=maintenance", HOST, False),
    ("cluster=default", HOST, True),
    ("severity>normal", EVENT, True),
    ("severity>=error", EVENT, False),
    ("index<10", EVENT, True),
    ("message=*started", EVENT, True),
    ("", HOST, True),
])
def test_matches(query: str, doc: dict[str, object], expected: bool) -> None:
    assert Search(query).matches(doc, name_of) is expected


@pytest.mark.parametrize(("query", "detail"), [
    ("name", "invalid condition relation"),
    ("name=a and", "invalid post or and phrase"),
    ("name=a name=b", "name=a $name$=b"),
])
def test_invalid_queries_are_400_faults(query: str, detail: str) -> None:
    with pytest.raises(ApiFault) as fault:
        Search(query)
    assert (fault.value.status, fault.value.detail) == (400, detail)


def test_case_sensitive_only_when_asked() -> None:
    assert Search("name=KVM1", case_sensitive=True).matches(HOST, name_of) is False
    assert Search("NAME=kvm1 AND status=up", case_sensitive=True).matches(HOST, name_of) is True


def test_unknown_field_is_a_400_fault_naming_it() -> None:
    with pytest.raises(ApiFault) as fault:
        Search("colour=red").check_fields(HOST, "hosts")
    assert fault.value.detail == "$colour$=red"
