"""Jinja2 rendering: sandboxed, StrictUndefined, native values, the project's filters and tests."""

from __future__ import annotations

import json
import re
import time

import pytest

from opsrunner import templating
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


# Bounded template work (issue 16, class 10): every payload fails fast with a located message.
COSTLY = [
    ("{{ 9 ** (9 ** 9) }}", "exponent too large: 9 ** 387420489 would have about"),
    ("{{ 10 ** 10000 }}", "exponent too large: 10 ** 10000"),
    ("{{ (10 ** 4000) * (10 ** 4000) }}", "number too large: the result would have about 8,000"),
    ("{{ 'x' * 4000000000 }}", "result would be 4,000,000,000 characters; templates are limited "
                               "to 10,000,000"),
    ("{{ [1] * 10 ** 9 }}", "result would be 1,000,000,000 items"),
    ("{{ ('x' * 9000000) + ('x' * 9000000) }}", "result would be 18,000,000 characters"),
    ("{{ '%999999999d' % 1 }}", "result would be 999,999,999 characters"),
    ("{{ '%*d' % (10 ** 9, 1) }}", "result would be 1,000,000,000 characters"),
    ("{{ '%999999999d' | format(1) }}", "result would be 999,999,999 characters"),
    ("{{ '{:>999999999}'.format(1) }}", "result would be 999,999,999 characters"),
    ("{{ 'x'.center(10 ** 9) }}", "result would be 1,000,000,000 characters"),
    ("{{ 'x' | center(9999999999) }}", "result would be 9,999,999,999 characters"),
    ("{{ 'x' | indent(10 ** 9) }}", "result would be 1,000,000,001 characters"),
    ("{{ [1] | batch(10 ** 9, 'x') | list }}", "result would be 1,000,000,000"),
    ("{{ ('x' * 1000000) | replace('x', 'x' * 1000) }}", "result would be 1,000,000,000"),
    ("{{ range(100000) | join('x' * 1000) }}", "result would be 99,999,000 characters"),
    ("{{ range(100000) | map('string') | join('x' * 1000) }}", "result would be 100,487,890"),
    ("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
     "{% endfor %}", "result would be 16,777,216 characters"),
    ("{% for i in range(10 ** 10) %}{% endfor %}", "range() of 10,000,000,000 items; "
                                                    "templates are limited to 100,000"),
    ("{% for i in range(100000) %}{% set s = 'x' * 1000000 %}{% endfor %}",
     "the template builds more than 100,000,000 characters in all"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recursion too deep"),
]


@pytest.mark.parametrize(("source", "message"), COSTLY)
def test_costly_templates_fail_fast_with_a_located_message(source, message):
    where = Location("wf.yml", 7, 9)
    assert undeclared_names(source) is not None  # validate computes nothing (no folding)
    with pytest.raises(TemplateError) as caught:
        render_text(source, {}, location=where)
    assert str(caught.value).startswith("wf.yml:7:9: template ")
    assert message in str(caught.value)


def test_loops_and_macro_calls_count_against_the_rendering_budget(monkeypatch):
    monkeypatch.setattr(templating, "MAX_STEPS", 20_000)
    nested = "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}"
    listed = ("{% set l = range(300) | list %}{% for a in l %}{% for b in l if b < 0 %}"
              "{% endfor %}{% endfor %}")
    branching = ("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}"
                 "{% endmacro %}{{ f(20) }}")
    for source in (nested, listed, branching):
        with pytest.raises(TemplateError, match="the template runs more than 20,000 loop "
                                                "iterations, macro calls and range"):
            render_text(source, {})
    with pytest.raises(TemplateError, match="more than 20,000 loop"):
        evaluate("range(30000) | list", {})
    # each rendering has its own budget
    for _ in range(3):
        assert render_text("{% for i in range(5000) %}{% endfor %}ok", {}) == "ok"


def test_the_rendered_text_is_capped(monkeypatch):
    monkeypatch.setattr(templating, "MAX_LENGTH", 1000)
    with pytest.raises(TemplateError, match="the rendered text would be more than 1,000 "
                                            "characters"):
        render_text("{% for i in range(200) %}{{ 'abcdefgh' }}{% endfor %}", {})


def test_everyday_templates_still_work():
    assert render_text("{{ 2 ** 10 }} {{ 'ab' * 3 }} {{ 3 * 'c' }} {{ '%05d' % 42 }} "
                       "{{ '%s-%s' | format('a', 1) }} {{ '{:>4}'.format('a') }} "
                       "{{ [1, 2] | join(',') }} {{ 'x'.ljust(3) }}| {{ range(4) | sum }} "
                       "{{ 'a' ~ 'b' }} {{ [1] + [2] }} {{ 7 % 3 }}"
                       "{% for i in range(4) if i %}{{ i }}{% endfor %}", {}) == (
        "1024 ababab ccc 00042 a-1    a 1,2 x  | 6 ab [1, 2] 1123")
    assert evaluate("10 ** 4000 > 0 and 2 ** -2 == 0.25", {}) is True
    assert evaluate("items | map('upper') | list", {"items": ["a"]}) == ["A"]


def test_other_exceptions_in_a_template_are_template_errors():
    for source, message in (("{{ 'abcdef' | truncate(1) }}", "AssertionError"),
                            ("{{ 'a' is match('(') }}", "missing ), unterminated subpattern"),
                            ("{{ 1 / 0 }}", "ZeroDivisionError")):
        with pytest.raises(TemplateError, match=re.escape(message)):
            render_text(source, {}, location=Location("wf.yml", 1, 1))


def test_validate_and_check_run_of_a_costly_workflow(cli, write_workflow, local_inventory,
                                                     tmp_path):
    workflow = write_workflow("""
        name: costly
        steps:
          - {name: power, task: command, with: {cmd: "echo {{ 9 ** (9 ** 9) }}"}}
          - {name: loop, task: command, with: {cmd: "{% for i in range(10 ** 10) %}{% endfor %}"}}
        always:
          - {name: tidy, task: command, with: {cmd: "echo tidy"}}
    """)
    started = time.monotonic()
    code, out, err = cli("validate", str(workflow))
    assert code == 0, err  # nothing is computed at validate time
    code, out, err = cli("run", str(workflow), "-i", str(local_inventory(("h1",))), "--check",
                         "--output", "json", "--state-dir", str(tmp_path / "state"))
    assert time.monotonic() - started < 20
    assert code == 2, err
    assert "Traceback" not in out + err
    steps = {s["name"]: s for s in json.loads(out)["hosts"]["h1"]["steps"]}
    assert steps["power"]["status"] == "failed"
    assert f"{workflow}:4:" in steps["power"]["msg"]
    assert "exponent too large: 9 ** 387420489" in steps["power"]["msg"]
    assert steps["tidy"]["status"] != "failed"


def test_validate_of_a_literal_too_long_for_str_is_a_located_error(cli, write_workflow):
    workflow = write_workflow('name: big\nsteps:\n  - {name: s, task: command, with: '
                              '{cmd: "echo {{ ' + "9" * 5000 + ' }}"}}\n')
    code, out, err = cli("validate", str(workflow))
    assert code == 1
    assert f"{workflow}:3:" in err and "template error: ValueError: Exceeds the limit" in err
    assert "Traceback" not in out + err


def test_a_template_is_compiled_once_and_rendered_afresh_each_time() -> None:
    from opsrunner import templating

    templating._compiled_text.cache_clear()
    templating._compiled_expression.cache_clear()
    for n in range(3):
        assert templating.render_text("n={{ n }}", {"n": n}) == f"n={n}"
        assert templating.evaluate("n * 2", {"n": n}) == n * 2
    assert templating._compiled_text.cache_info().misses == 1
    assert templating._compiled_expression.cache_info().misses == 1
    with pytest.raises(TemplateError, match="range"):  # the budget is per rendering, not cached
        templating.render_text("{% for i in range(10**6) %}{% endfor %}", {})
    assert templating.render_text("{% for i in range(3) %}{{ i }}{% endfor %}", {}) == "012"
