"""Free-text terms and the engine's relative dates in the simulator's search."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsrunner_lab.engine_api.faults import ApiFault
from opsrunner_lab.engine_api.search import Search
from opsrunner_lab.engine_api.search_dates import DAY_MS, date_matches, relative_millis
from opsrunner_lab.engine_api.search_syntax import FREE_TEXT, parse

NOW = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)  # a Friday
MIDNIGHT = int(datetime(2026, 12, 4, tzinfo=UTC).timestamp() * 1000)


def test_a_lone_word_that_is_no_field_is_free_text() -> None:
    [[term]] = parse("web*", frozenset({"name"})).groups
    assert (term.fld, term.op, term.value) == (FREE_TEXT, "=", "*web**")
    [[_, second]] = parse('name=a and "db server"', frozenset({"name"})).groups
    assert (second.fld, second.value) == (FREE_TEXT, "*db server*")


def test_a_lone_field_name_still_wants_a_relation() -> None:
    with pytest.raises(ApiFault) as fault:
        Search("name", collection="vms")
    assert fault.value.detail == "invalid condition relation"


def test_free_text_matches_any_text_field() -> None:
    vm = {"name": "web01", "description": "front end", "comment": "", "status": "up"}
    assert Search("web*").matches(vm, lambda ref: None) is True
    assert Search("END").matches(vm, lambda ref: None) is True
    assert Search("END", case_sensitive=True).matches(vm, lambda ref: None) is False
    assert Search("db").matches(vm, lambda ref: None) is False


@pytest.mark.parametrize(("word", "days_back"), [
    ("today", 0), ("Yesterday", 1), ("wednesday", 2), ("Saturday", 6), ("friday", 7),
    ("thursday", 0), ("nonsense", 0)])
def test_relative_days_are_midnights(word: str, days_back: int) -> None:
    assert relative_millis(word, NOW) == MIDNIGHT - days_back * DAY_MS


def test_equal_is_the_whole_day_and_order_compares_with_midnight() -> None:
    noon = str(MIDNIGHT + DAY_MS // 2)
    assert date_matches(noon, "=", "today", NOW) is True
    assert date_matches(noon, "=", "yesterday", NOW) is False
    assert date_matches(noon, ">", "today", NOW) is True
    assert date_matches(noon, "<", "yesterday", NOW) is False
    assert date_matches(noon, "=", "2026-12-04", NOW) is True
    assert date_matches("not a date", "=", "today", NOW) is None
