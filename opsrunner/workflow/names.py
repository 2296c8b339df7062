"""Static check of the variables a workflow's templates read (``opsrunner validate -i``).

A step sees the names passed in as ``known`` (inventory and ``-e`` variables), the workflow
``vars`` (each one those before it), the runner's names (``host``, ...), the Jinja2 globals and
the ``register`` names of the steps before it; an always-step also sees every main step's.
``until`` also sees the step's own result (``result`` and its ``register`` name). A name only
tested with ``is defined``/``is undefined`` or given a ``default`` filter is not reported.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
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
    """The names a value may read, and why some others are not there yet.

    ``names`` is shared by the steps in turn (each step's names are added after it), so one
    check costs the size of the value, not of the workflow.
    """

    names: set[str]
    outside: set[str]  # those of ``names`` that come from the inventory and -e
    note: Callable[[str], str | None] = lambda _name: None
    own: frozenset[str] = frozenset()  # an ``until``'s extra names

    def knows(self, name: str) -> bool:
        return name in self.names or name in self.own


def check_names(workflow: Workflow, known: Collection[str], *,
                extra_by_step: Callable[[Step], Iterable[str]] | None = None) -> list[Problem]:
    """Every template name no variable defines, located at the value that reads it.

    Time linear in the size of the workflow.

    :param known: variables every host has (inventory data, ``-e`` vars).
    :param extra_by_step: names a step defines for the steps after it beyond its
        ``register`` (e.g. a task that sets variables).
    """
    outside = set(known) - RUNTIME_NAMES
    names = outside | RUNTIME_NAMES
    problems: list[Problem] = []
    for name, value in workflow.vars.items():
        _check(value, False, _Scope(names, outside), workflow.positions.value(("vars", name)),
               problems)
        names.add(name)
    outside = outside - set(workflow.vars)
    for steps in (workflow.steps, workflow.always):
        registrars = _Registrars(steps)
        for index, step in enumerate(steps):
            _check_step(step, _Scope(names, outside, registrars.note_for(index)), problems)
            names.update([step.register] if step.register else [])
            names.update(extra_by_step(step) if extra_by_step is not None else [])
    return problems


class _Registrars:
    """Which steps of one list register each name, to say why a name is not there yet."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = steps
        self.at: dict[str, list[int]] = {}
        for index, step in enumerate(steps):
            if step.register:
                self.at.setdefault(step.register, []).append(index)

    def note_for(self, index: int) -> Callable[[str], str | None]:
        """The note on ``name`` as step ``index`` reads it: its own register, or the first
        later step registering it."""
        def note(name: str) -> str | None:
            if self.steps[index].register == name:
                return ("this step registers it when done; only its 'until' and later steps "
                        "can read it")
            indices = self.at.get(name, [])
            later = bisect.bisect_right(indices, index)
            if later < len(indices):
                return f"registered by a later step ({self.steps[indices[later]].location})"
            return None
        return note


def _check_step(step: Step, scope: _Scope, problems: list[Problem]) -> None:
    for name, value in step.args.items():
        _check(value, False, scope, step.arg_locations.get(name, step.location), problems)
    if isinstance(step.when, str):
        where = step.field_locations.get("when", step.location)
        _check(step.when, True, scope, where, problems)
    if step.until is not None:
        own = frozenset({"result", *([step.register] if step.register else [])})
        until_scope = _Scope(scope.names, scope.outside, scope.note, own)
        where = step.field_locations.get("until", step.location)
        _check(step.until, True, until_scope, where, problems)


def _check(value: Any, expression: bool, scope: _Scope, where: Location,
           problems: list[Problem]) -> None:
    try:
        names = undeclared_names(value, expression=expression) - _guarded(value, expression)
    except TemplateError as exc:
        problems.append((where, exc.message))
        return
    globals_ = environment().globals
    for name in sorted(n for n in names if not scope.knows(n) and n not in globals_):
        problems.append((where, _message(name, scope)))


def _message(name: str, scope: _Scope) -> str:
    note = scope.note(name)
    if note is not None:
        return f"undefined variable {name!r}: {note}"
    visible = scope.names | scope.own
    return f"undefined variable {name!r}{suggest(name, visible)} (defined here: {_listing(scope)})"


def _listing(scope: _Scope) -> str:
    """The workflow's own names, and how many come from the inventory and -e."""
    visible = scope.names | scope.own
    listing = ", ".join(sorted(visible - scope.outside))
    count = len(visible & scope.outside)
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
