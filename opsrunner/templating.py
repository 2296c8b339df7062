"""Jinja2 rendering for workflows: sandboxed, StrictUndefined, values kept native.

A string that is exactly one ``{{ expression }}`` renders to the expression's native value
(a list stays a list, a number a number); any other string renders to text. Mappings and
lists are rendered item by item. Every failure raises :class:`TemplateError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from opsrunner.booleans import parse_bool
from opsrunner.errors import Location, TemplateError

_SINGLE_EXPR = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}).)*)\}\}\s*$", re.S)
_MARKERS = ("{{", "{%", "{#")


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    """The one sandboxed environment (StrictUndefined, no autoescape, keeps trailing newline)."""
    env = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined,
                                        keep_trailing_newline=True, autoescape=False)
    env.filters["bool"] = _to_bool
    env.filters["quote"] = _quote
    env.tests["match"] = _match
    env.tests["search"] = _search
    return env


def is_template(value: object) -> bool:
    """True when ``value`` is a string holding Jinja2 markup."""
    return isinstance(value, str) and any(m in value for m in _MARKERS)


def render_text(source: str, context: Mapping[str, Any], *,
                location: Location | None = None) -> str:
    """Render ``source`` as a text template."""
    try:
        return environment().from_string(source).render(dict(context))
    except jinja2.TemplateError as exc:
        raise _error(exc, location) from None
    except (TypeError, ValueError, ArithmeticError, AttributeError, LookupError) as exc:
        raise _error(exc, location) from None


def render_value(value: Any, context: Mapping[str, Any], *,
                 location: Location | None = None) -> Any:
    """Render strings inside ``value`` (recursively); a lone ``{{ expr }}`` keeps its type."""
    if isinstance(value, str):
        if not is_template(value):
            return value
        match = _SINGLE_EXPR.match(value)
        if match and "{%" not in value and "{#" not in value:
            return evaluate(match.group("expr"), context, location=location)
        return render_text(value, context, location=location)
    if isinstance(value, Mapping):
        return {k: render_value(v, context, location=location) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render_value(v, context, location=location) for v in value]
    return value


def evaluate(expression: str, context: Mapping[str, Any], *,
             location: Location | None = None) -> Any:
    """Evaluate a bare Jinja2 expression (as in ``when:``) to its native value."""
    try:
        compiled = environment().compile_expression(expression.strip(),
                                                    undefined_to_none=False)
        result = compiled(**dict(context))
        if isinstance(result, jinja2.Undefined):
            str(result)  # StrictUndefined raises here
        return result
    except jinja2.TemplateError as exc:
        raise _error(exc, location) from None
    except (TypeError, ValueError, ArithmeticError, AttributeError, LookupError) as exc:
        raise _error(exc, location) from None


def undeclared_names(value: Any, *, expression: bool = False) -> set[str]:
    """Top-level names a template (or a bare expression) reads; raises TemplateError on syntax."""
    names: set[str] = set()
    if isinstance(value, str):
        if expression:
            value = "{{ " + value + " }}"
        elif not is_template(value):
            return names
        try:
            names |= meta.find_undeclared_variables(environment().parse(value))
        except jinja2.TemplateSyntaxError as exc:
            raise _error(exc, None) from None
    elif isinstance(value, Mapping):
        for v in value.values():
            names |= undeclared_names(v)
    elif isinstance(value, list | tuple):
        for v in value:
            names |= undeclared_names(v)
    return names


def _error(exc: Exception, location: Location | None) -> TemplateError:
    if isinstance(exc, jinja2.UndefinedError):
        message = f"undefined variable: {exc.message}"
    elif isinstance(exc, jinja2.TemplateSyntaxError):
        message = f"template syntax error: {exc.message}"
    elif isinstance(exc, SecurityError):
        message = f"not allowed in the template sandbox: {exc}"
    else:
        message = f"template error: {type(exc).__name__}: {exc}"
    return TemplateError(message, location)


def _to_bool(value: Any) -> bool:
    """``x | bool``: a string is true only when a true word (``""`` is false); others by truth."""
    if isinstance(value, str):
        return parse_bool(value) is True
    return bool(value)


def _match(value: Any, pattern: str) -> bool:
    """``x is match('^re')``: the regular expression matches at the start of ``x``."""
    return re.match(pattern, str(value)) is not None


def _search(value: Any, pattern: str) -> bool:
    """``x is search('re')``: the regular expression matches anywhere in ``x``."""
    return re.search(pattern, str(value)) is not None


def _quote(value: Any) -> str:
    import shlex

    return shlex.quote(str(value))
