"""Structural HSTS edits of the three vendor Python files (the OLVM Administration Guide,
"Administration Tasks", section "Enabling HTTP Strict Transport Security" ("HTTP Strict Transport
Securityの有効化"): its edits for ovirt-imageio, ovirt-provider-ovn and ovirt-websocket-proxy).

Each :class:`PyPatch` finds, with :mod:`ast`, the exact statement the guide describes and edits
only that text; a file that does not have it raises :class:`PatchMismatch` (say another
version of the package). Edits are idempotent: applying the same ``max-age`` twice returns the
source unchanged, another ``max-age`` updates the value in place, and :meth:`PyPatch.remove`
gives back the source as it was before the patch.
"""

from __future__ import annotations

import ast
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

HEADER = "Strict-Transport-Security"
OVN_COMMENT = "# Oracle Bug-33308887: added below header for security scans"
_MAX_AGE = re.compile(r"^max-age=(\d+)(?:;.*)?$")


class PatchMismatch(ValueError):
    """The file does not have the place the guide's edit needs (nothing was changed)."""


@dataclass(frozen=True)
class Found:
    """Where a patch goes in one source: the anchor statement and the patch, if present."""

    anchor: ast.AST
    patch: ast.AST | None  # the HSTS entry/statement already there
    value: ast.Constant | None  # its header value constant


class PyPatch(ABC):
    """One of the guide's edits; subclasses implement :meth:`find` and the text of a new patch."""

    where = ""  # the place, for messages: "class Response, method __init__"

    @abstractmethod
    def find(self, tree: ast.Module) -> Found:
        """The place of the patch in ``tree`` (PatchMismatch when it is not as expected)."""

    @abstractmethod
    def insert(self, source: str, found: Found, value: str) -> str:
        """``source`` with a new patch of header ``value`` at ``found``."""

    @abstractmethod
    def delete(self, source: str, found: Found) -> str:
        """``source`` without the patch at ``found``."""

    def locate(self, source: str) -> Found:
        """The place of the patch; PatchMismatch when the source is not as expected."""
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            raise PatchMismatch(f"not valid Python (line {exc.lineno}: {exc.msg})") from None
        return self.find(tree)

    def max_age(self, source: str) -> int | None:
        """The patched ``max-age`` (None: not patched); PatchMismatch as :meth:`locate`."""
        found = self.locate(source)
        if found.value is None:
            return None
        match = _MAX_AGE.match(str(found.value.value))
        return int(match.group(1)) if match else -1

    def apply(self, source: str, max_age: int) -> str:
        """``source`` with the header ``max-age=<max_age>`` (unchanged when already so)."""
        found = self.locate(source)
        wanted = f"max-age={max_age}"
        if found.value is None:
            return self.insert(source, found, wanted)
        if found.value.value == wanted:
            return source
        quote = _quote_of(source, found.value)
        return replace_node(source, found.value, f"{quote}{wanted}{quote}")

    def remove(self, source: str) -> str:
        """``source`` without the patch (unchanged when it has none)."""
        found = self.locate(source)
        return source if found.patch is None else self.delete(source, found)


def find_method(tree: ast.Module, cls: str, method: str) -> ast.FunctionDef:
    """The top-level ``class cls`` method ``method``; PatchMismatch when absent."""
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == method:
                    return item
            raise PatchMismatch(f"class {cls} has no method {method}")
    raise PatchMismatch(f"no top-level class {cls}")


def self_call(node: ast.AST, *attrs: str) -> ast.Call | None:
    """``node`` as the call ``self.<attrs[0]>.<attrs[1]>...(...)``, else None."""
    if not isinstance(node, ast.Expr) or not isinstance(node.value, ast.Call):
        return None
    func: ast.expr = node.value.func
    for name in reversed(attrs):
        if not isinstance(func, ast.Attribute) or func.attr != name:
            return None
        func = func.value
    return node.value if isinstance(func, ast.Name) and func.id == "self" else None


def is_self_attr(node: ast.AST, name: str) -> bool:
    """True for the expression ``self.<name>``."""
    return (isinstance(node, ast.Attribute) and node.attr == name
            and isinstance(node.value, ast.Name) and node.value.id == "self")


def string_const(node: ast.AST | None) -> ast.Constant | None:
    """``node`` when it is a string constant."""
    return node if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _index(lines: Sequence[str], lineno: int, col: int) -> int:
    """Character index in the joined ``lines`` of (1-based line, UTF-8 byte column)."""
    line = lines[lineno - 1]
    return sum(len(x) for x in lines[:lineno - 1]) + len(line.encode()[:col].decode())


def replace_node(source: str, node: ast.AST, text: str) -> str:
    """``source`` with the text of ``node`` replaced by ``text``."""
    lines = source.splitlines(keepends=True)
    start = _index(lines, node.lineno, node.col_offset)  # type: ignore[attr-defined]
    end = _index(lines, node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
    return source[:start] + text + source[end:]


def segment(source: str, node: ast.AST) -> str:
    """The source text of ``node``."""
    text = ast.get_source_segment(source, node)
    if text is None:  # pragma: no cover - parsed nodes have positions
        raise PatchMismatch("cannot read the source of a statement")
    return text


def statement_lines(source: str, stmt: ast.stmt) -> tuple[list[str], str]:
    """The source lines and the indentation of ``stmt`` (alone on its lines, else mismatch)."""
    lines = source.splitlines(keepends=True)
    first = lines[stmt.lineno - 1]
    indent = first[:len(first) - len(first.lstrip())]
    if first.strip() and not first.lstrip().startswith(segment(source, stmt).split("\n")[0]):
        raise PatchMismatch(f"line {stmt.lineno} holds more than one statement")
    return lines, indent


def insert_after(source: str, stmt: ast.stmt, new: Sequence[str]) -> str:
    """``source`` with the lines ``new`` after ``stmt``, at its indentation."""
    lines, indent = statement_lines(source, stmt)
    end = stmt.end_lineno or stmt.lineno
    if not lines[end - 1].endswith("\n"):
        lines[end - 1] += "\n"
    added = [f"{indent}{text}\n" for text in new]
    return "".join(lines[:end] + added + lines[end:])


def delete_statement(source: str, stmt: ast.stmt, comment: str | None = None) -> str:
    """``source`` without the lines of ``stmt`` (and the line before, when it is ``comment``)."""
    lines, _ = statement_lines(source, stmt)
    start, end = stmt.lineno - 1, stmt.end_lineno or stmt.lineno
    if comment is not None and start > 0 and lines[start - 1].strip() == comment:
        start -= 1
    return "".join(lines[:start] + lines[end:])


def _quote_of(source: str, const: ast.Constant) -> str:
    return "'" if segment(source, const).startswith("'") else '"'
