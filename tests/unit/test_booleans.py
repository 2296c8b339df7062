"""The one set of boolean words, and what the empty string is."""

from __future__ import annotations

import pytest

from opsrunner.booleans import FALSE_WORDS, TRUE_WORDS, parse_bool


@pytest.mark.parametrize("word", sorted(TRUE_WORDS))
def test_true_words_in_any_case_and_padding(word: str) -> None:
    assert parse_bool(word) is True
    assert parse_bool(f" {word.upper()}\n") is True


@pytest.mark.parametrize("word", sorted(FALSE_WORDS))
def test_false_words_in_any_case_and_padding(word: str) -> None:
    assert parse_bool(word) is False
    assert parse_bool(f" {word.title()} ") is False


def test_bools_are_themselves() -> None:
    assert parse_bool(True) is True and parse_bool(False) is False


@pytest.mark.parametrize("value", ["", "  ", "maybe", "y", "2", 1, 0, None, []])
def test_anything_else_is_not_a_boolean_the_empty_string_included(value: object) -> None:
    assert parse_bool(value) is None
