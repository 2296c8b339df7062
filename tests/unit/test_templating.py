"""Jinja2 rendering: sandboxed, StrictUndefined, native values, the project's filters and tests."""

from __future__ import annotations

import pytest

from opsrunner.errors import Location, TemplateError
from opsrunner.templating import evaluate, is_template, render_text, render_value, undeclared_names


def test_a_lone_expression_keeps_its_type():
    assert render_value("{{ [1, 2] }}", {}) == [1, 2]
    assert render_value("{{ n + 1 }}", {"n": 2}) == 3
    assert render_value("n={{ n }}", {"n": 2}) == "n=2"
    assert render_value({"a": ["{{ x }}"]}, {"x": True}) == {"a": [True]}
    assert render_value("no markup", {}) == "no markup"


def test_undefined_name_is_an_error_with_its_location():
    where = Location("wf.yml", 3, 7)
    with pytest.raises(TemplateError, match=r"^wf.yml:3:7: undefined variable: 'nope' is undefined"):
        render_value("{{ nope }}", {}, location=where)


def test_sandbox_refuses_internals():
    with pytest.raises(TemplateError, match="not allowed in the template sandbox"):
        render_text("{{ x.__class__.__mro__ }}", {"x": 1})


def test_match_search_and_quote():
    assert evaluate("note is match('^[a-z-]+$')", {"note": "in-the-backup"}) is True
    assert evaluate("note is match('^[a-z]+$')", {"note": "x; rm -rf /"}) is False
    assert evaluate("'abc' is search('b')", {}) is True
    assert render_text("{{ p | quote }}", {"p": "a b'c"}) == "'a b'\"'\"'c'"


def test_names_a_template_reads():
    assert undeclared_names({"a": "{{ x.y }} {{ z | default(1) }}"}) == {"x", "z"}
    assert undeclared_names("a and b", expression=True) == {"a", "b"}
    assert is_template("{% if x %}") and not is_template("plain")


@pytest.mark.parametrize(("value", "expected"), [
    ("yes", True), (" On ", True), ("1", True), ("no", False), ("", False), ("  ", False),
    ("maybe", False), (1, True), (0, False), ([], False),
])
def test_the_bool_filter(value: object, expected: bool) -> None:
    assert evaluate("v | bool", {"v": value}) is expected
