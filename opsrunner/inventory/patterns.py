"""Host patterns (``--limit`` and a workflow's ``hosts:``): parsing and matching.

Syntax: host or group names, shell globs (``kvm*``, matched against host names and group
names), ``all``, ``a | b`` union, ``a & b`` intersection, ``!a`` negation (all hosts but
``a``), parentheses, and ``a,b`` / ``a:b`` as union. Precedence: ``!`` > ``&`` > ``|``.
Mistakes raise :class:`UsageError` naming the pattern and the column (counted from 1).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from opsrunner.errors import UsageError, suggest

_OPERATORS = "|&!(),:"
_UNION = "|,:"
_GLOB_CHARS = "*?["


@dataclass(frozen=True)
class Name:
    """A host name, group name, glob or ``all``, at ``column`` of the pattern."""

    text: str
    column: int

    @property
    def is_glob(self) -> bool:
        return any(c in self.text for c in _GLOB_CHARS)


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


Node = Name | Not | And | Or


@dataclass(frozen=True)
class Limit:
    """A parsed host pattern: its text and its syntax tree."""

    text: str
    root: Node


@dataclass(frozen=True)
class _Token:
    kind: str  # an operator character, "name", or "end"
    text: str
    column: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in _OPERATORS:
            tokens.append(_Token(char, char, i + 1))
            i += 1
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in _OPERATORS:
                i += 1
            tokens.append(_Token("name", text[start:i], start + 1))
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def error(self, column: int, problem: str) -> UsageError:
        return UsageError(f"host pattern {self.text!r}, column {column}: {problem}")

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error(1, "the pattern is empty; give host or group names, e.g. 'web1' "
                                "or 'kvm*'")
        node = self.union()
        token = self.peek()
        if token.kind == ")":
            raise self.error(token.column, "')' without a matching '('")
        if token.kind != "end":
            raise self.error(token.column, f"expected '|', '&', ',' or ':' before {token.text!r}")
        return node

    def union(self) -> Node:
        node = self.intersection()
        while self.peek().kind in _UNION:
            self.take()
            node = Or(node, self.intersection())
        return node

    def intersection(self) -> Node:
        node = self.unary()
        while self.peek().kind == "&":
            self.take()
            node = And(node, self.unary())
        return node

    def unary(self) -> Node:
        token = self.take()
        if token.kind == "!":
            return Not(self.unary())
        if token.kind == "name":
            return Name(token.text, token.column)
        if token.kind == "(":
            node = self.union()
            if self.peek().kind != ")":
                raise self.error(token.column, "'(' is never closed")
            self.take()
            return node
        found = "the end of the pattern" if token.kind == "end" else repr(token.text)
        hint = ""
        previous = self.tokens[self.pos - 2] if self.pos >= 2 else None
        if token.kind in "&!" and previous is not None and previous.kind in ",:":
            hint = " (Ansible's ':&' and ':!' are written 'a & b' and 'a & !b' here)"
        raise self.error(token.column,
                         f"expected a host or group name, '!' or '(', found {found}{hint}")


def parse_limit(text: str) -> Limit:
    """Parse a host pattern; :class:`UsageError` with the column on a syntax error."""
    return Limit(text, _Parser(text).parse())


def match(limit: Limit, membership: Mapping[str, Collection[str]],
          groups: Collection[str]) -> list[str]:
    """The host names ``limit`` selects, in the order of ``membership``.

    :param membership: every host name -> every group it belongs to, ancestors included.
    :param groups: every group name of the inventory.
    :raises UsageError: for a name (not a glob) that is neither a host nor a group.
    """
    chosen = _evaluate(limit, limit.root, membership, groups)
    return [name for name in membership if name in chosen]


def _evaluate(limit: Limit, node: Node, membership: Mapping[str, Collection[str]],
              groups: Collection[str]) -> set[str]:
    if isinstance(node, Or):
        return (_evaluate(limit, node.left, membership, groups)
                | _evaluate(limit, node.right, membership, groups))
    if isinstance(node, And):
        return (_evaluate(limit, node.left, membership, groups)
                & _evaluate(limit, node.right, membership, groups))
    if isinstance(node, Not):
        return set(membership) - _evaluate(limit, node.operand, membership, groups)
    return _hosts_named(limit, node, membership, groups)


def _hosts_named(limit: Limit, name: Name, membership: Mapping[str, Collection[str]],
                 groups: Collection[str]) -> set[str]:
    if name.text == "all":
        return set(membership)
    if name.is_glob:
        matching_groups = {g for g in groups if fnmatchcase(g, name.text)}
        return {host for host, member_of in membership.items()
                if fnmatchcase(host, name.text) or matching_groups.intersection(member_of)}
    if name.text not in membership and name.text not in groups:
        raise UsageError(f"host pattern {limit.text!r}, column {name.column}: "
                         f"{_unknown(name.text, [*membership, *groups])}")
    return {host for host, member_of in membership.items()
            if host == name.text or name.text in member_of}


def _unknown(name: str, known: list[str]) -> str:
    return f"no host or group is called {name!r}{suggest(name, known)}"
