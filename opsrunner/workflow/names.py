"""Static check of the variables a workflow's templates read (``opsrunner validate -i``).

A step sees the names passed in as ``known`` (inventory and ``-e`` variables), the workflow
``vars`` (each one those before it), the runner's names (``host``, ...), the Jinja2 globals and
the ``register`` names of the steps before it; an always-step also sees every main step's.
``until`` also sees the step's own result (``result`` and its ``register`` name). A name only
tested with ``is defined``/``is undefined`` or given a ``default`` filter is not reported.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2 import nodes

from opsrunner.errors import Location, Problem, TemplateError, suggest
from opsrunner.hoststate import RUNTIME_NAMES
from opsrunner.templating import environment, is_template, undeclared_names

if TYPE_CHECKING:
    from opsrunner.workflow.model import Step, Workflow

_GUARD_TESTS = frozenset({"defined", "undefined"})
_GUARD_FILTERS = frozenset({"default", "d"})


@dataclass
class _Scope:
    """The names a value may read, and why some others are not there yet."""

    names: set[str]
    outside: set[str]  # those of ``names`` that come from the inventory and -e
    notes: dict[str, str] = field(default_factory=dict)


def check_names(workflow: Workflow, known: Collection[str], *,
                extra_by_step: Callable[[Step], Iterable[str]] | None = None) -> list[Problem]:
    """Every template name no variable defines, located at the value that reads it.

    :param known: variables every host has (inventory data, ``-e`` vars).
    :param extra_by_step: names a step defines for the steps after it beyond its
        ``register`` (e.g. a task that sets variables).
    """
    outside = set(known) - RUNTIME_NAMES
    names = outside | RUNTIME_NAMES
    problems: list[Problem] = []
    for name, value in workflow.vars.items():
        scope = _Scope(set(names), outside)
        _check(value, False, scope, workflow.positions.value(("vars", name)), problems)
        names.add(name)
    outside = outside - set(workflow.vars)
    for steps in (workflow.steps, workflow.always):
        for index, step in enumerate(steps):
            notes = {s.register: f"registered by a later step ({s.location})"
                     for s in reversed(steps[index + 1:]) if s.register}
            if step.register:
                notes[step.register] = ("this step registers it when done; only its 'until' "
                                        "and later steps can read it")
            _check_step(step, _Scope(set(names), outside, notes), problems)
            names.update([step.register] if step.register else [])
            names.update(extra_by_step(step) if extra_by_step is not None else [])
    return problems


def _check_step(step: Step, scope: _Scope, problems: list[Problem]) -> None:
    for name, value in step.args.items():
        _check(value, False, scope, step.arg_locations.get(name, step.location), problems)
    if isinstance(step.when, str):
        where = step.field_locations.get("when", step.location)
        _check(step.when, True, scope, where, problems)
    if step.until is not None:
        own = {"result", *([step.register] if step.register else [])}
        until_scope = _Scope(scope.names | own, scope.outside, scope.notes)
        where = step.field_locations.get("until", step.location)
        _check(step.until, True, until_scope, where, problems)


def _check(value: Any, expression: bool, scope: _Scope, where: Location,
           problems: list[Problem]) -> None:
    try:
        names = undeclared_names(value, expression=expression) - _guarded(value, expression)
    except TemplateError as exc:
        problems.append((where, exc.message))
        return
    for name in sorted(names - scope.names - set(environment().globals)):
        problems.append((where, _message(name, scope)))


def _message(name: str, scope: _Scope) -> str:
    if name in scope.notes:
        return f"undefined variable {name!r}: {scope.notes[name]}"
    return f"undefined variable {name!r}{suggest(name, scope.names)} (defined here: {_listing(scope)})"


def _listing(scope: _Scope) -> str:
    """The workflow's own names, and how many come from the inventory and -e."""
    listing = ", ".join(sorted(scope.names - scope.outside))
    count = len(scope.names & scope.outside)
    if count:
        listing += f" and {count} inventory/-e variable" + ("s" if count > 1 else "")
    return listing


def _guarded(value: Any, expression: bool) -> set[str]:
    """Names read only through ``is defined``/``is undefined``/``| default``."""
    guarded: set[str] = set()
    if isinstance(value, dict):
        for item in value.values():
            guarded |= _guarded(item, False)
    elif isinstance(value, list):
        for item in value:
            guarded |= _guarded(item, False)
    elif isinstance(value, str) and (expression or is_template(value)):
        source = "{{ " + value + " }}" if expression else value
        try:
            tree = environment().parse(source)
        except jinja2.TemplateSyntaxError:
            return guarded
        for test in tree.find_all(nodes.Test):
            if test.name in _GUARD_TESTS and isinstance(test.node, nodes.Name):
                guarded.add(test.node.name)
        for flt in tree.find_all(nodes.Filter):
            if flt.name in _GUARD_FILTERS and isinstance(flt.node, nodes.Name):
                guarded.add(flt.node.name)
    return guarded
