"""Checking a parsed workflow: typed readers that collect every problem with its location.

A :class:`Checker` reads values out of the plain data :func:`opsrunner.yamlsrc.load_yaml`
returns. Each reader reports a wrong value (at the value) or an unknown key (at the key) and
returns a safe default, so one pass finds all problems; :meth:`Checker.raise_if_any` then
raises one :class:`~opsrunner.errors.WorkflowErrors` listing them, sorted by position.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from opsrunner.errors import (
    Location,
    Problem,
    TemplateError,
    WorkflowErrors,
    shown_value,
    suggest,
)
from opsrunner.hoststate import RUNTIME_NAMES
from opsrunner.taskspec import TaskSpec
from opsrunner.templating import is_template, undeclared_names
from opsrunner.yamlsrc import KeyPath, Positions

_SINGLE_EXPR = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}).)*)\}\}\s*$", re.S)
_SECRET_WORDS = ("password", "passwd", "secret", "token", "passphrase", "private_key")

class Checker:
    """Typed access to one YAML document, recording problems instead of raising."""

    def __init__(self, positions: Positions) -> None:
        self.positions = positions
        self.problems: list[Problem] = []

    def report(self, location: Location, message: str) -> None:
        self.problems.append((location, message))

    def raise_if_any(self) -> None:
        if self.problems:
            raise WorkflowErrors(self.problems)

    def mapping(self, value: Any, path: KeyPath, what: str, allowed: Sequence[str],
                hints: Mapping[str, str] | None = None) -> dict[str, Any] | None:
        """``value`` as a mapping holding only ``allowed`` keys (unknown keys are reported)."""
        if not isinstance(value, dict):
            self.report(self.positions.value(path),
                        f"{what} must be a mapping with keys: {', '.join(allowed)}; "
                        f"got {describe(value)}")
            return None
        known: dict[str, Any] = {}
        for key, item in value.items():
            if key in allowed:
                known[key] = item
                continue
            hint = (hints or {}).get(str(key)) or suggest(str(key), allowed)
            self.report(self.positions.key((*path, key)),
                        f"unknown key {key!r} in {what}{hint} (allowed: {', '.join(allowed)})")
        return known

    def require(self, data: Mapping[str, Any], path: KeyPath, key: str, what: str) -> bool:
        """Report ``key`` missing from ``data`` (at the mapping); True when present."""
        if data.get(key) is not None:
            return True
        self.report(self.positions.value(path), f"{what}: missing required key {key!r}")
        return False

    def string(self, data: Mapping[str, Any], path: KeyPath, key: str,
               default: str | None = None) -> str | None:
        value = data.get(key, default)
        if value is None or (isinstance(value, str) and value.strip()):
            return value
        self._wrong(path, key, "a non-empty string", value)
        return default

    def integer(self, data: Mapping[str, Any], path: KeyPath, key: str, *, default: int,
                minimum: int) -> int:
        value = data.get(key, default)
        if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
            return value
        self._wrong(path, key, f"an integer >= {minimum}", value)
        return default

    def number(self, data: Mapping[str, Any], path: KeyPath, key: str, *, default: float | None,
               minimum: float, maximum: float | None = None,
               exclusive: bool = False) -> float | None:
        value = data.get(key, default)
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool) and _finite(value):
            low_ok = value > minimum if exclusive else value >= minimum
            if low_ok and (maximum is None or value <= maximum):
                return float(value)
        low = f"> {minimum:g}" if exclusive else f">= {minimum:g}"
        allowed = f"a number {low}" + (f" and <= {maximum:.15g}" if maximum is not None else "")
        self._wrong(path, key, allowed, value)
        return default

    def boolean(self, data: Mapping[str, Any], path: KeyPath, key: str, *,
                default: bool) -> bool:
        value = data.get(key, default)
        if isinstance(value, bool):
            return value
        self._wrong(path, key, "true or false", value)
        return default

    def choice(self, data: Mapping[str, Any], path: KeyPath, key: str, choices: Sequence[str],
               ) -> str:
        value = data.get(key, choices[0])
        if value in choices:
            return str(value)
        allowed = " or ".join(repr(c) for c in choices)
        self._wrong(path, key, f"{allowed} (default {choices[0]!r})", value)
        return choices[0]

    def identifier(self, data: Mapping[str, Any], path: KeyPath, key: str) -> str | None:
        """An optional variable name (``register``) that templates can read."""
        value = data.get(key)
        if value is None:
            return None
        reserved = isinstance(value, str) and value in RUNTIME_NAMES
        if is_variable_name(value) and not reserved:
            return str(value)
        why = (f"{value!r} is reserved (set by the runner: {', '.join(sorted(RUNTIME_NAMES))})"
               if reserved else f"got {describe(value)}")
        self.report(self.positions.value((*path, key)),
                    f"{key!r} must be a variable name (letters, digits, _); {why}")
        return None

    def expression(self, data: Mapping[str, Any], path: KeyPath, key: str, *,
                   allow_bool: bool) -> str | None:
        """A Jinja2 expression (``when``, ``until``); a lone ``{{ expr }}`` is unwrapped.

        ``allow_bool`` only words the message: the caller takes booleans itself.
        """
        value = data.get(key)
        where = self.positions.value((*path, key))
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            form = "an expression or true/false" if allow_bool else "an expression"
            self.report(where, f"{key!r} must be {form} (without {{{{ }}}}), got {describe(value)}")
            return None
        text = value.strip()
        if is_template(text):
            match = _SINGLE_EXPR.match(text)
            if not match:
                self.report(where, f"{key!r} is one expression, written without {{{{ }}}}: "
                                   f"got {value!r}")
                return None
            text = match.group("expr").strip()
        try:
            undeclared_names(text, expression=True)
        except TemplateError as exc:
            self.report(where, f"{key!r}: {exc.message}")
            return None
        return text

    def templates(self, value: Any, path: KeyPath) -> None:
        """Report Jinja2 syntax errors in every string inside ``value``."""
        if isinstance(value, str):
            try:
                undeclared_names(value)
            except TemplateError as exc:
                self.report(self.positions.value(path), exc.message)
        elif isinstance(value, dict):
            for key, item in value.items():
                self.templates(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.templates(item, (*path, index))

    def _wrong(self, path: KeyPath, key: str, allowed: str, value: Any) -> None:
        self.report(self.positions.value((*path, key)),
                    f"{key!r} must be {allowed}, got {describe(value)}")


def coerce_param(spec: TaskSpec, name: str, value: Any) -> Any:
    """``value`` coerced to parameter ``name`` of ``spec``; ValueError with the full message."""
    param = spec.params[name]
    try:
        return spec.coerce(name, value)
    except ValueError as exc:
        shown = describe(value, secret=looks_secret(name))
        detail = "" if shown in str(exc) or looks_secret(name) else f" ({exc})"
        raise ValueError(f"parameter {name!r} of task {spec.name!r}: expected "
                         f"{param.type_name}, got {shown}{detail}") from None


def _finite(number: float) -> bool:
    """True for a number a float holds that is neither inf nor nan (not a 400-digit int)."""
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


def has_template(value: Any) -> bool:
    """True when any string inside ``value`` holds Jinja2 markup."""
    if isinstance(value, dict):
        return any(has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(has_template(v) for v in value)
    return is_template(value)


def is_variable_name(value: Any) -> bool:
    """True for a name a Jinja2 template can read (not a keyword nor true/false/none)."""
    return (isinstance(value, str) and value.isidentifier() and not keyword.iskeyword(value)
            and value.lower() not in {"true", "false", "none"})


def looks_secret(name: str) -> bool:
    """Parameters whose values never appear in messages."""
    return any(word in name.lower() for word in _SECRET_WORDS)


def describe(value: Any, *, secret: bool = False) -> str:
    """``str 'abc'``, ``int 3``, ``null``: a value as shown in messages."""
    if secret and value is not None:
        return f"{type(value).__name__} (value hidden)"
    return shown_value(value)
