"""Jinja2 rendering for workflows: sandboxed, StrictUndefined, values kept native.

A string that is exactly one ``{{ expression }}`` renders to the expression's native value
(a list stays a list, a number a number); any other string renders to text. Mappings and
lists are rendered item by item. Every failure raises :class:`TemplateError`.

Template work is bounded (:data:`MAX_LENGTH`, :data:`MAX_INT_DIGITS`, :data:`MAX_STEPS`,
:data:`MAX_WORK`): ``*``, ``**``, ``+``, ``%``, ``~``, ``str.format`` and the filters and
string methods that can multiply their input are checked before they build anything, loops,
macro calls and ``range()`` count against a per-rendering budget, and nothing is folded at
compile time (so ``validate`` never computes a template).
"""

from __future__ import annotations

import contextvars
import functools
import math
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.exceptions import FilterArgumentError, SecurityError
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.visitor import NodeTransformer
from markupsafe import EscapeFormatter, Markup

from opsrunner.booleans import parse_bool
from opsrunner.errors import Location, TemplateError

_SINGLE_EXPR = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}).)*)\}\}\s*$", re.S)
_MARKERS = ("{{", "{%", "{#")

MAX_LENGTH = 10_000_000
"""Characters of a string (items of a list) one template operation may build, and of a
rendered text."""
MAX_INT_DIGITS = 4300
"""Decimal digits of an integer a template may compute (Python's own str() limit)."""
MAX_STEPS = 500_000
"""Loop iterations, macro calls and ``range()`` items in one rendering."""
MAX_WORK = 100_000_000
"""Characters (or list items) built in all by one rendering."""

_MAX_INT_BITS = int(MAX_INT_DIGITS * math.log2(10))
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([a-zA-Z%])")


class _LimitError(jinja2.TemplateError):
    """A template would do more work than :data:`MAX_LENGTH` and its siblings allow."""


class _Budget:
    """What one rendering has spent so far."""

    def __init__(self) -> None:
        self.steps = 0
        self.work = 0

    def step(self, count: int = 1) -> None:
        self.steps += count
        if self.steps > MAX_STEPS:
            raise _LimitError(
                f"the template runs more than {MAX_STEPS:,} loop iterations, macro calls and "
                f"range() items; templates are limited to {MAX_STEPS:,}")

    def build(self, size: int) -> None:
        self.work += size
        if self.work > MAX_WORK:
            raise _LimitError(
                f"the template builds more than {MAX_WORK:,} characters in all; templates are "
                f"limited to {MAX_WORK:,}")


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "opsrunner_template_budget", default=None)


def _spend(size: int) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.build(size)


def _tick() -> bool:
    """Counts one loop iteration or macro call (the guard inserted into every template)."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.step()
    return True


def _refuse_length(size: int, what: str = "characters") -> None:
    if size > MAX_LENGTH:
        raise _LimitError(f"result would be {size:,} {what}; templates are limited to "
                                 f"{MAX_LENGTH:,}")


def _sized(value: Any) -> Any:
    """``value``, after checking its length (strings, lists) and charging it to the budget."""
    if isinstance(value, str | bytes | list | tuple):
        _refuse_length(len(value), "characters" if isinstance(value, str | bytes) else "items")
        _spend(len(value))
    return value


def _refuse_bits(bits: int, what: str) -> None:
    if bits > _MAX_INT_BITS:
        digits = int(bits / math.log2(10))
        raise _LimitError(f"{what}: the result would have about {digits:,} digits; "
                                 f"templates are limited to {MAX_INT_DIGITS:,} digits")


def _mul(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int):
        _refuse_bits(left.bit_length() + right.bit_length(), "number too large")
    elif isinstance(right, int) and isinstance(left, str | bytes | list | tuple):
        _refuse_length(len(left) * max(right, 0), _unit(left))
    elif isinstance(left, int) and isinstance(right, str | bytes | list | tuple):
        _refuse_length(len(right) * max(left, 0), _unit(right))
    return _sized(left * right)


def _pow(left: Any, right: Any) -> Any:
    if (isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1
            and right * math.log2(abs(left)) > _MAX_INT_BITS):
            raise _LimitError(
                f"exponent too large: {left} ** {right} would have about "
                f"{int(right * math.log10(abs(left))):,} digits; templates are limited to "
                f"{MAX_INT_DIGITS:,} digits")
    return left ** right


def _add(left: Any, right: Any) -> Any:
    if isinstance(left, str | bytes | list | tuple) and isinstance(right, str | bytes | list | tuple):
        _refuse_length(len(left) + len(right), _unit(left))
    return _sized(left + right)


def _mod(left: Any, right: Any) -> Any:
    if isinstance(left, str | bytes):
        _check_percent(left if isinstance(left, str) else left.decode("latin-1"), right)
    return _sized(left % right)


def _unit(value: Any) -> str:
    return "characters" if isinstance(value, str | bytes) else "items"


def _check_percent(fmt: str, args: Any) -> None:
    """Refuse ``%``-format widths and precisions above :data:`MAX_LENGTH`."""
    for match in _PERCENT_SPEC.finditer(fmt):
        for number in match.group(1, 2):
            if number == "*":
                values = args if isinstance(args, tuple) else (args,)
                for value in values:
                    if isinstance(value, int) and abs(value) > MAX_LENGTH:
                        _refuse_length(abs(value))
            elif number is not None:
                _refuse_length(int(number))


def _check_format_spec(spec: str) -> None:
    for number in re.findall(r"\d+", spec):
        _refuse_length(int(number))


class _BoundedFormatter(SandboxedFormatter):
    """``str.format`` in the sandbox, refusing widths and precisions above MAX_LENGTH."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_format_spec(format_spec)
        return super().format_field(value, format_spec)


class _BoundedEscapeFormatter(_BoundedFormatter, EscapeFormatter):
    pass


def _expected_replace(text: Any, old: Any, new: Any, count: Any = -1) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        hits = len(text) + 1 if not old else text.count(old)
        if isinstance(count, int) and count >= 0:
            hits = min(hits, count)
        _refuse_length(len(text) + hits * (len(new) - len(old)))


def _joined(separator: str, items: list[Any]) -> None:
    _refuse_length(sum(len(x) for x in items if isinstance(x, str))
                   + len(separator) * max(len(items) - 1, 0))


_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


class _Environment(ImmutableSandboxedEnvironment):
    """The sandbox plus the bounds of this module."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    _binops: Mapping[str, Callable[[Any, Any], Any]] = {
        "*": _mul, "**": _pow, "+": _add, "%": _mod}

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any,
                   right: Any) -> Any:
        return self._binops[operator](left, right)

    def call(__self, __context: jinja2.runtime.Context, __obj: Any,
             *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(owner, str) and args:
            if name in _PADDING_METHODS and isinstance(args[0], int):
                _refuse_length(args[0])
            elif name == "expandtabs" and isinstance(args[0], int):
                _refuse_length(len(owner) + owner.count("\t") * args[0])
            elif name == "replace":
                _expected_replace(owner, *args[:3])
            elif name == "join":
                items = list(args[0])
                _joined(owner, items)
                args = (items, *args[1:])
        return _sized(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        if super().wrap_str_format(value) is None:
            return None
        f_self: str = value.__self__
        formatter: SandboxedFormatter
        if isinstance(f_self, Markup):
            formatter = _BoundedEscapeFormatter(self, escape=f_self.escape)
        else:
            formatter = _BoundedFormatter(self)
        is_format_map = value.__name__ == "format_map"

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                kwargs, args = args[0], ()
            return _sized(type(f_self)(formatter.vformat(f_self, args, kwargs)))  # type: ignore[no-any-return]

        return functools.update_wrapper(wrapper, value)

    def _generate(self, source: nodes.Template, name: str | None, filename: str | None,
                  defer_init: bool = False) -> str:
        return super()._generate(_Guard().visit(source), name, filename, defer_init)


def _guard_call(lineno: int, *args: nodes.Expr, guard: str = "_tick") -> nodes.Call:
    return nodes.Call(nodes.ImportedName(f"{__name__}.{guard}", lineno=lineno), list(args), [],
                      None, None, lineno=lineno)


class _Guard(NodeTransformer):
    """Counts every loop iteration and macro call, and checks the size of every ``~``."""

    def visit_For(self, node: nodes.For) -> nodes.For:
        self.generic_visit(node)
        node.body.insert(0, nodes.ExprStmt(_guard_call(node.lineno), lineno=node.lineno))
        if node.test is not None:
            node.test = nodes.And(_guard_call(node.lineno), node.test, lineno=node.lineno)
        return node

    def visit_Macro(self, node: nodes.Macro) -> nodes.Macro:
        self.generic_visit(node)
        node.body.insert(0, nodes.ExprStmt(_guard_call(node.lineno), lineno=node.lineno))
        return node

    def visit_CallBlock(self, node: nodes.CallBlock) -> nodes.CallBlock:
        self.generic_visit(node)
        node.body.insert(0, nodes.ExprStmt(_guard_call(node.lineno), lineno=node.lineno))
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Call:
        self.generic_visit(node)
        return _guard_call(node.lineno, node, guard="_sized")


def _range(*args: int) -> range:
    """``range()`` of at most the sandbox's MAX_RANGE items, counted against the budget."""
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise _LimitError(f"range() of {len(result):,} items; templates are limited to "
                                 f"{MAX_RANGE:,}")
    budget = _BUDGET.get()
    if budget is not None:
        budget.step(len(result))
    return result


def _bounded_filter(name: str, func: Callable[..., Any],
                    check: Callable[..., None] | None) -> Callable[..., Any]:
    """``func`` with ``check`` run on its arguments first and its result's size checked."""
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0
    materialize = name in ("join", "sum")

    @functools.wraps(func)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if materialize and len(args) > skip and not isinstance(args[skip], str | list | tuple):
            args = (*args[:skip], list(args[skip]), *args[skip + 1:])
        if check is not None:
            check(*args[skip:], **kwargs)
        return _sized(func(*args, **kwargs))

    return bounded


def _width_check(position: int, keyword: str) -> Callable[..., None]:
    def check(*args: Any, **kwargs: Any) -> None:
        value = kwargs.get(keyword, args[position] if len(args) > position else None)
        if isinstance(value, int):
            _refuse_length(abs(value))
    return check


def _indent_check(text: Any, width: Any = 4, *args: Any, **kwargs: Any) -> None:
    width = kwargs.get("width", width)
    if isinstance(text, str) and isinstance(width, int):
        _refuse_length(len(text) + (text.count("\n") + 1) * abs(width))


def _join_check(value: Any, d: Any = "", attribute: Any = None) -> None:
    if isinstance(value, list | tuple) and isinstance(d, str):
        _refuse_length(sum(len(x) for x in value if isinstance(x, str))
                       + len(d) * max(len(value) - 1, 0))


def _sum_check(iterable: Any, attribute: Any = None, start: Any = 0) -> None:
    if isinstance(start, str | list | tuple) and isinstance(iterable, list | tuple):
        _refuse_length(len(start) + sum(len(x) for x in iterable
                                         if isinstance(x, str | list | tuple)), "items")


def _format_filter(value: Any, *args: Any, **kwargs: Any) -> str:
    """``"%s-%s" | format(a, b)``, bounded like the ``%`` operator."""
    if args and kwargs:
        raise FilterArgumentError("can't handle positional and keyword arguments "
                                         "at the same time")
    return _mod(str(value), kwargs or args)  # type: ignore[no-any-return]


_FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "center": _width_check(1, "width"), "batch": _width_check(1, "linecount"),
    "slice": _width_check(1, "slices"), "tojson": _width_check(1, "indent"),
    "indent": _indent_check, "replace": _expected_replace, "join": _join_check,
    "sum": _sum_check}


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    """The one sandboxed environment (StrictUndefined, no autoescape, keeps trailing newline,
    no compile-time folding, bounded work)."""
    env = _Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                       autoescape=False, optimized=False)
    env.filters["bool"] = _to_bool
    env.filters["quote"] = _quote
    env.filters["format"] = _format_filter
    for name, func in list(env.filters.items()):
        env.filters[name] = _bounded_filter(name, func, _FILTER_CHECKS.get(name))
    env.tests["match"] = _match
    env.tests["search"] = _search
    env.globals["range"] = _range
    del env.globals["lipsum"]
    return env


@lru_cache(maxsize=4096)
def _compiled_text(source: str) -> jinja2.Template:
    """``source`` compiled once per run (templates keep no state: the budget is per call)."""
    return environment().from_string(source)


@lru_cache(maxsize=4096)
def _compiled_expression(expression: str) -> Callable[..., Any]:
    """``expression`` compiled once per run, as :func:`_compiled_text`."""
    return environment().compile_expression(expression, undefined_to_none=False)


def is_template(value: object) -> bool:
    """True when ``value`` is a string holding Jinja2 markup."""
    return isinstance(value, str) and any(m in value for m in _MARKERS)


def render_text(source: str, context: Mapping[str, Any], *,
                location: Location | None = None) -> str:
    """Render ``source`` as a text template."""
    token = _BUDGET.set(_Budget())
    try:
        parts: list[str] = []
        size = 0
        for chunk in _compiled_text(source).generate(dict(context)):
            size += len(chunk)
            if size > MAX_LENGTH:
                raise _LimitError(f"the rendered text would be more than {MAX_LENGTH:,} "
                                         f"characters; templates are limited to {MAX_LENGTH:,}")
            parts.append(chunk)
        return "".join(parts)
    except Exception as exc:
        raise _error(exc, location) from None
    finally:
        _BUDGET.reset(token)


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
    token = _BUDGET.set(_Budget())
    try:
        result = _compiled_expression(expression.strip())(**dict(context))
        if isinstance(result, jinja2.Undefined):
            str(result)  # StrictUndefined raises here
        return result
    except Exception as exc:
        raise _error(exc, location) from None
    finally:
        _BUDGET.reset(token)


def undeclared_names(value: Any, *, expression: bool = False) -> set[str]:
    """Top-level names a template (or a bare expression) reads; raises TemplateError on syntax."""
    names: set[str] = set()
    if isinstance(value, str):
        if expression:
            value = "{{ " + value + " }}"
        elif not is_template(value):
            return names
        try:
            names |= _find_undeclared(environment().parse(value))
        except Exception as exc:
            raise _error(exc, None) from None
    elif isinstance(value, Mapping):
        for v in value.values():
            names |= undeclared_names(v)
    elif isinstance(value, list | tuple):
        for v in value:
            names |= undeclared_names(v)
    return names


def _find_undeclared(tree: nodes.Template) -> set[str]:
    """``jinja2.meta.find_undeclared_variables`` without constant folding (which would
    compute ``9 ** 9 ** 9`` at validate time)."""
    codegen = meta.TrackingCodeGenerator(tree.environment)  # type: ignore[arg-type]
    codegen.optimizer = None
    codegen.visit(tree)
    return codegen.undeclared_identifiers


def _error(exc: Exception, location: Location | None) -> TemplateError:
    if isinstance(exc, jinja2.UndefinedError):
        message = f"undefined variable: {exc.message}"
    elif isinstance(exc, jinja2.TemplateSyntaxError):
        message = f"template syntax error: {exc.message}"
    elif isinstance(exc, SecurityError):
        message = f"not allowed in the template sandbox: {exc}"
    elif isinstance(exc, _LimitError):
        message = f"template too costly: {exc}"
    elif isinstance(exc, MemoryError):
        message = "template error: the template needs more memory than there is"
    elif isinstance(exc, RecursionError):
        message = "template error: recursion too deep (a macro that calls itself?)"
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
