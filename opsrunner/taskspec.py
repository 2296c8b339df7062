"""A task's parameter schema, read from its typed signature.

A task is a plain function ``def name(task: Task, *, param: type = default, ...) -> Result``.
Its keyword-only parameters are the keys a workflow step may give under ``with:``; their
annotations are the allowed types, checked and coerced by :meth:`TaskSpec.coerce`.
Supported annotations: ``str``, ``int``, ``float``, ``bool``, ``list[X]``, ``dict[str, X]``,
``X | None``, ``Literal[...]`` and ``Any``.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import types
import typing
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from opsrunner.booleans import parse_bool
from opsrunner.errors import PluginError, shown_value
from opsrunner.result import Result

TaskFunc = Callable[..., Result]
Idempotence = bool | Callable[[Mapping[str, Any]], bool]
"""Whether running a task again after it failed or was cut short is safe: a bool, or a
function of the step's ``with:`` arguments (as written, before templating)."""
_MISSING = inspect.Parameter.empty


@dataclass(frozen=True)
class Param:
    """One parameter of a task."""

    name: str
    annotation: Any
    default: Any = _MISSING

    @property
    def required(self) -> bool:
        return self.default is _MISSING

    @property
    def type_name(self) -> str:
        return type_name(self.annotation)


@dataclass(frozen=True)
class TaskSpec:
    """A registered task: its name, function, parameters and docstring."""

    name: str
    func: TaskFunc
    params: dict[str, Param]
    plugin: str = ""
    idempotent: Idempotence = False
    reserve: float = 0.0
    """Seconds a failed run of the task needs for its own rollback (restoring files,
    restarting services); a maintenance window keeps them free after the step's estimate."""

    def rerun_safe(self, args: Mapping[str, Any]) -> bool:
        """Whether ``--resume`` may run a step of this task again after it failed or was
        interrupted (``args``: the step's ``with:`` as written)."""
        if callable(self.idempotent):
            return bool(self.idempotent(args))
        return self.idempotent

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.func.__doc__ or "").strip()

    @property
    def summary(self) -> str:
        return self.doc.splitlines()[0] if self.doc else ""

    @classmethod
    def from_function(cls, func: TaskFunc, name: str | None = None, plugin: str = "",
                      idempotent: Idempotence = False, reserve: float = 0.0) -> TaskSpec:
        """Read the schema of ``func``; raise PluginError if its signature is not a task's."""
        task_name = name or func.__name__
        try:
            hints = typing.get_type_hints(func)
        except Exception as exc:
            raise PluginError(f"task {task_name!r} ({plugin}): cannot read annotations: {exc}") from exc
        sig = inspect.signature(func)
        items = list(sig.parameters.values())
        if not items or items[0].kind not in (items[0].POSITIONAL_ONLY, items[0].POSITIONAL_OR_KEYWORD):
            raise PluginError(f"task {task_name!r} ({plugin}): first parameter must be the Task")
        params: dict[str, Param] = {}
        for p in items[1:]:
            if p.kind is not p.KEYWORD_ONLY:
                raise PluginError(
                    f"task {task_name!r} ({plugin}): parameter {p.name!r} must be keyword-only")
            params[p.name] = Param(p.name, hints.get(p.name, Any), p.default)
        return cls(task_name, func, params, plugin, idempotent, reserve)

    def coerce(self, name: str, value: Any) -> Any:
        """Return ``value`` converted to parameter ``name``'s type; ValueError says why not."""
        return coerce(value, self.params[name].annotation)


def type_name(annotation: Any) -> str:
    """A short readable name for an annotation (``list[str]``, ``int | None``, ...)."""
    if annotation is Any:
        return "any"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is not None:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(type_name(a) for a in args)}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def coerce(value: Any, annotation: Any) -> Any:
    """Convert ``value`` to ``annotation``, accepting the strings Jinja2 renders.

    Dispatches on the annotation's origin (``X | Y``, ``Literal``, ``list``, ``dict``), else on
    the annotation itself (``bool``, ``int``, ``float``, ``str``), else checks the instance of
    a class; anything else passes unchanged. ValueError ("expected ..., got ...") otherwise.
    """
    if annotation is Any or annotation is inspect.Parameter.empty:
        return value
    origin = typing.get_origin(annotation)
    convert = _BY_ORIGIN.get(origin) if origin is not None else None
    if convert is None and isinstance(annotation, Hashable):
        convert = _BY_TYPE.get(annotation)
    if convert is not None:
        return convert(value, annotation)
    if isinstance(annotation, type):
        return _to_instance(value, annotation)
    return value


def _to_union(value: Any, annotation: Any) -> Any:
    args = typing.get_args(annotation)
    if value is None and type(None) in args:
        return None
    if any(isinstance(arg, type) and type(value) is arg for arg in args):
        return value  # an exact type match wins (an int stays an int in str | int)
    for arg in args:
        if arg is not type(None):
            with contextlib.suppress(ValueError):
                return coerce(value, arg)
    raise ValueError(f"expected {type_name(annotation)}, got {shown_value(value)}")


def _to_literal(value: Any, annotation: Any) -> Any:
    args = typing.get_args(annotation)
    if value in args:
        return value
    raise ValueError(f"expected one of {', '.join(repr(a) for a in args)}, got {shown_value(value)}")


def _to_list(value: Any, annotation: Any) -> list[Any]:
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
        raise ValueError(f"expected a list, got {shown_value(value)}")
    args = typing.get_args(annotation)
    inner = args[0] if args else Any
    return [coerce(v, inner) for v in value]


def _to_dict(value: Any, annotation: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping, got {shown_value(value)}")
    args = typing.get_args(annotation)
    inner = args[1] if len(args) == 2 else Any
    return {str(k): coerce(v, inner) for k, v in value.items()}


def _to_bool(value: Any, _annotation: Any) -> bool:
    flag = parse_bool(value)
    if flag is not None:
        return flag
    raise ValueError(f"expected a boolean (true/false), got {shown_value(value)}")


def _to_int(value: Any, _annotation: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value.strip(), 0)
    raise ValueError(f"expected an integer, got {shown_value(value)}")


def _to_float(value: Any, _annotation: Any) -> float:
    """A finite number: inf, nan and integers beyond a float's range are refused."""
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError):
            number = float(value)
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            number = float(value.strip())
    if number is not None and math.isfinite(number):
        return number
    raise ValueError(f"expected a finite number, got {shown_value(value)}")


def _to_str(value: Any, _annotation: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected a string, got {shown_value(value)}")


def _to_instance(value: Any, annotation: type) -> Any:
    if isinstance(value, annotation):
        return value
    raise ValueError(f"expected {type_name(annotation)}, got {shown_value(value)}")


_Converter = Callable[[Any, Any], Any]
_BY_ORIGIN: dict[Any, _Converter] = {typing.Union: _to_union, types.UnionType: _to_union,
                                     typing.Literal: _to_literal, list: _to_list, dict: _to_dict}
_BY_TYPE: dict[Any, _Converter] = {bool: _to_bool, int: _to_int, float: _to_float, str: _to_str}
