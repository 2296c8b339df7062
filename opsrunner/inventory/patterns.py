"""Host patterns (``--limit`` and a workflow's ``hosts:``): parsing and matching.

Syntax: host or group names, shell globs (``kvm*``, matched against host names and group
names), ``all``, ``a | b`` union, ``a & b`` intersection, ``!a`` negation (all hosts but
``a``), parentheses, and ``a,b`` / ``a:b`` as union. Precedence: ``!`` > ``&`` > ``|``.
Mistakes raise :class:`UsageError` naming the pattern and the column (counted from 1).

Any number of terms may be joined (unions and intersections are n-ary nodes, a run of ``!``
is one negation or none); parentheses nest at most :data:`MAX_NESTING` deep, so parsing and
matching take time linear in the pattern and bounded stack depth.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from opsrunner.errors import UsageError, suggest

MAX_NESTING = 50
"""The deepest nesting of parentheses a host pattern may have."""
_OPERATORS = "|&!(),:"
_UNION = "|,:"
_GLOB_CHARS = "*?["
_SHOWN = 80  # a longer pattern is quoted in messages as an excerpt around the column


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
    """The intersection of two or more operands."""

    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """The union of two or more operands."""

    operands: tuple[Node, ...]


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


def pattern_error(text: str, column: int, problem: str) -> UsageError:
    """The UsageError ``host pattern '...', column N: problem``; a long pattern is quoted as
    the excerpt around ``column``."""
    if len(text) <= _SHOWN:
        shown = repr(text)
    else:
        start = max(0, column - 1 - _SHOWN // 2)
        excerpt = text[start:start + _SHOWN]
        shown = (f"{'...' if start else ''}{excerpt!r}{'...' if start + _SHOWN < len(text) else ''}"
                 f" ({len(text)} characters)")
    return UsageError(f"host pattern {shown}, column {column}: {problem}")


class _Parser:
    """Recursive descent, one level of recursion per open parenthesis (at most MAX_NESTING)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.depth = 0

    def error(self, column: int, problem: str) -> UsageError:
        return pattern_error(self.text, column, problem)

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
        operands = [self.intersection()]
        while self.peek().kind in _UNION:
            self.take()
            operands.append(self.intersection())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def intersection(self) -> Node:
        operands = [self.unary()]
        while self.peek().kind == "&":
            self.take()
            operands.append(self.unary())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def unary(self) -> Node:
        negations = 0
        while self.peek().kind == "!":
            self.take()
            negations += 1
        node = self.primary()
        return Not(node) if negations % 2 else node  # !!a is a: a is within all hosts

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "name":
            return Name(token.text, token.column)
        if token.kind == "(":
            if self.depth == MAX_NESTING:
                raise self.error(token.column, f"parentheses nest deeper than {MAX_NESTING} "
                                               f"levels (the limit)")
            self.depth += 1
            node = self.union()
            self.depth -= 1
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
    """Parse a host pattern; :class:`UsageError` with the column on a syntax error or
    parentheses nested deeper than :data:`MAX_NESTING`."""
    return Limit(text, _Parser(text).parse())


def match(limit: Limit, membership: Mapping[str, Collection[str]],
          groups: Collection[str]) -> list[str]:
    """The host names ``limit`` selects, in the order of ``membership``.

    :param membership: every host name -> every group it belongs to, ancestors included.
    :param groups: every group name of the inventory.
    :raises UsageError: for a name (not a glob) that is neither a host nor a group.
    """
    chosen = _Matcher(limit, membership, groups).evaluate(limit.root)
    return [name for name in membership if name in chosen]


class _Matcher:
    """Evaluates one pattern over one inventory; each distinct name is looked up once."""

    def __init__(self, limit: Limit, membership: Mapping[str, Collection[str]],
                 groups: Collection[str]) -> None:
        self.limit = limit
        self.membership = membership
        self.groups = set(groups)
        self.everyone = frozenset(membership)
        self.members: dict[str, set[str]] = {}  # host or group name -> its hosts
        for host, member_of in membership.items():
            self.members.setdefault(host, set()).add(host)
            for group in member_of:
                self.members.setdefault(group, set()).add(host)
        self.named: dict[str, frozenset[str]] = {}

    def evaluate(self, node: Node) -> frozenset[str]:
        """The hosts ``node`` selects. A union or intersection takes its negated operands
        together (``!a & !b`` is all but ``a | b``), so no operand costs a complement."""
        if isinstance(node, Not):
            return self.everyone - self.evaluate(node.operand)
        if isinstance(node, Name):
            if node.text not in self.named:
                self.named[node.text] = self.hosts_named(node)
            return self.named[node.text]
        values = [(isinstance(item, Not),
                   self.evaluate(item.operand if isinstance(item, Not) else item))
                  for item in node.operands]  # in order: the first unknown name is reported
        plain = _distinct(hosts for negative, hosts in values if not negative)
        negated = _distinct(hosts for negative, hosts in values if negative)
        if isinstance(node, Or):  # a | !b | !c = a | !(b & c)
            chosen = frozenset().union(*plain)
            return chosen | (self.everyone - _intersection(negated)) if negated else chosen
        chosen = _intersection(plain) if plain else self.everyone  # a & !b & !c = a - (b | c)
        return chosen.difference(*negated) if chosen else chosen

    def hosts_named(self, name: Name) -> frozenset[str]:
        if name.text == "all":
            return self.everyone
        if name.is_glob:
            matching_groups = {g for g in self.groups if fnmatchcase(g, name.text)}
            return frozenset(host for host, member_of in self.membership.items()
                             if fnmatchcase(host, name.text)
                             or matching_groups.intersection(member_of))
        if name.text not in self.membership and name.text not in self.groups:
            raise pattern_error(self.limit.text, name.column,
                                _unknown(name.text, [*self.membership, *self.groups]))
        return frozenset(self.members.get(name.text, ()))


def _distinct(sets: Iterable[frozenset[str]]) -> list[frozenset[str]]:
    """``sets`` without repeats of one object (a name used again is looked up once)."""
    return list({id(each): each for each in sets}.values())


def _intersection(sets: list[frozenset[str]]) -> frozenset[str]:
    """The hosts in every one of ``sets`` (not empty), the smallest set first."""
    ordered = sorted(sets, key=len)
    chosen = ordered[0]
    for each in ordered[1:]:
        if not chosen:
            break
        chosen = chosen & each
    return chosen


def _unknown(name: str, known: list[str]) -> str:
    return f"no host or group is called {name!r}{suggest(name, known)}"
