"""The engine's search grammar, parsed: ``[Object:] COND {and|or COND} [sortby FIELD [asc|desc]]
[page N]`` where ``COND`` is ``FIELD OP VALUE``, ``FIELD`` is ``name`` or ``Object.name``, ``OP``
one of ``= != < > <= >=``, ``VALUE`` a word (``*`` a wildcard) or a ``"quoted value"``; or
``COND`` is free text, a lone word or quoted value that is no field name (``web*``): it matches
an entity one of whose text fields contains it, as the engine's ``buildFreeTextConditionSql``
(``ILIKE '%text%'`` over the entity's string columns). Keywords and field names ignore case;
``and`` binds tighter than ``or``.

A query the grammar refuses raises :class:`SyntaxFault` naming the engine's ``SyntaxError``
kind (``INVALID_CONDITION_RELATION`` ...) and the span of the offending token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r'\s*(?:(?P<quoted>"[^"]*")|(?P<op>!=|>=|<=|=|>|<)|(?P<word>[^\s"=<>!]+))')
_PREFIX = re.compile(r"\s*(?P<object>[A-Za-z]+)\s*:")
KEYWORDS = frozenset({"and", "or", "sortby", "page"})
FREE_TEXT = ""  # the ``fld`` of a free-text condition


class SyntaxFault(Exception):
    """The query breaks the grammar: ``kind`` is the engine's error name, ``start``/``end`` the
    offending characters of the query text."""

    def __init__(self, kind: str, start: int, end: int) -> None:
        super().__init__(kind)
        self.kind = kind
        self.start = start
        self.end = end


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int
    kind: str  # "word", "quoted" or "op"

    @property
    def value(self) -> str:
        return self.text[1:-1] if self.kind == "quoted" else self.text

    def keyword(self) -> str | None:
        lowered = self.text.lower()
        return lowered if self.kind == "word" and lowered in KEYWORDS else None


@dataclass(frozen=True)
class Condition:
    """``FIELD OP VALUE``; ``obj`` is the cross-entity object (``Storage`` of ``Storage.name``)
    lowered, or None; ``fld`` is the field name lowered (:data:`FREE_TEXT` for free text, whose
    ``value`` is then the ``*text*`` pattern)."""

    obj: str | None
    fld: str
    op: str
    value: str
    span: tuple[int, int]  # the field's characters in the query text


@dataclass
class Query:
    """The parsed query: ``groups`` are or-ed, the conditions of each and-ed."""

    prefix: str | None = None
    prefix_span: tuple[int, int] = (0, 0)
    groups: list[list[Condition]] = field(default_factory=list)
    sort: tuple[str | None, str, bool] | None = None  # (object, field, descending)
    sort_span: tuple[int, int] = (0, 0)
    page: int | None = None


def tokens(text: str, offset: int) -> list[Token]:
    """The tokens of ``text`` from ``offset``; an unpaired quote or a lone ``!`` is
    ``INVALID_CHARECTER``."""
    found: list[Token] = []
    position = offset
    while text[position:].strip():
        match = _TOKEN.match(text, position)
        if match is None:
            start = len(text) - len(text[position:].lstrip())
            raise SyntaxFault("INVALID_CHARECTER", start, start + 1)
        kind = match.lastgroup or "word"
        found.append(Token(match.group(kind), match.start(kind), match.end(kind), kind))
        position = match.end()
    return found


def _field(token: Token) -> tuple[str | None, str]:
    obj, dot, name = token.text.lower().rpartition(".")
    if dot and (not obj or not name or "." in obj):
        raise SyntaxFault("DOT_NOT_NEXT_TO_CROSS_REF_OBJ", token.start, token.end)
    return (obj or None), name


def _condition(name: Token, op: Token | None, value: Token | None, end: int) -> Condition:
    """``FIELD OP VALUE`` from its tokens (:class:`SyntaxFault` at the first one missing)."""
    obj, fld = _field(name)
    if op is None or op.kind != "op":
        raise (SyntaxFault("INVALID_CONDITION_RELATION", end, end) if op is None else
               SyntaxFault("INVALID_CONDITION_RELATION", op.start, op.end))
    if value is None or value.kind == "op":
        raise (SyntaxFault("INVALID_CONDITION_VALUE", end, end) if value is None else
               SyntaxFault("INVALID_CONDITION_VALUE", value.start, value.end))
    return Condition(obj, fld, op.text, value.value, (name.start, name.end))


def _free_text(token: Token, following: Token | None, fields: frozenset[str]) -> bool:
    """Whether ``token`` is free text: a lone word (no field name) or quoted value."""
    ends = following is None or following.keyword() is not None
    if not ends or token.keyword():
        return False
    return token.kind == "quoted" or (token.kind == "word" and "." not in token.text
                                      and token.text.lower() not in fields)


def parse(text: str, fields: frozenset[str] = frozenset()) -> Query:
    """The query ``text`` parsed, ``fields`` being the names that are no free text;
    :class:`SyntaxFault` if it breaks the grammar."""
    query = Query()
    prefix = _PREFIX.match(text)
    offset = 0
    if prefix is not None:
        query.prefix = prefix.group("object").lower()
        query.prefix_span = (prefix.start("object"), prefix.end("object"))
        offset = prefix.end()
    stream = tokens(text, offset)
    at = 0

    def peek() -> Token | None:
        return stream[at] if at < len(stream) else None

    def end_fault(kind: str) -> SyntaxFault:
        return SyntaxFault(kind, len(text), len(text))

    expect_condition = bool(stream) and stream[0].keyword() not in ("sortby", "page")
    group: list[Condition] = []
    while expect_condition:
        name = peek()
        if name is None:
            raise end_fault("INVALID_POST_OR_AND_PHRASE")
        following = stream[at + 1] if at + 1 < len(stream) else None
        if _free_text(name, following, fields):
            at += 1
            group.append(Condition(None, FREE_TEXT, "=", f"*{name.value}*",
                                   (name.start, name.end)))
        elif name.kind != "word" or name.keyword():
            raise SyntaxFault("INVALID_CONDITION_FILED_OR_SORTBY", name.start, name.end)
        else:
            at += 1
            group.append(_condition(name, peek(), stream[at + 1] if at + 1 < len(stream)
                                    else None, len(text)))
            at += 2
        following = peek()
        conjunction = following.keyword() if following is not None else None
        if conjunction in ("and", "or"):
            at += 1
            if conjunction == "or":
                query.groups.append(group)
                group = []
        elif following is not None and conjunction is None:
            raise SyntaxFault("INVALID_POST_CONDITION_VALUE_PHRASE", following.start,
                              following.end)
        else:
            expect_condition = False
    if group:
        query.groups.append(group)
    token = peek()
    if token is not None and token.keyword() == "sortby":
        at += 1
        sort_field = peek()
        if sort_field is None or sort_field.kind != "word" or sort_field.keyword():
            raise (end_fault("INVALID_SORT_FIELD") if sort_field is None else
                   SyntaxFault("INVALID_SORT_FIELD", sort_field.start, sort_field.end))
        obj, fld = _field(sort_field)
        at += 1
        descending = False
        direction = peek()
        if direction is not None and direction.text.lower() in ("asc", "desc"):
            descending = direction.text.lower() == "desc"
            at += 1
        query.sort = (obj, fld, descending)
        query.sort_span = (sort_field.start, sort_field.end)
        token = peek()
        if token is not None and token.keyword() != "page":
            raise SyntaxFault("INVALID_SORT_DIRECTION", token.start, token.end)
    if token is not None and token.keyword() == "page":
        at += 1
        number = peek()
        if number is None or not number.text.isdigit() or int(number.text) < 1:
            raise (end_fault("INVALID_PAGE_FEILD") if number is None else
                   SyntaxFault("INVALID_PAGE_FEILD", number.start, number.end))
        query.page = int(number.text)
        at += 1
        token = peek()
    if token is not None:
        raise SyntaxFault("NOTHING_COMES_AFTER_PAGE_VALUE" if query.page else
                          "INVALID_POST_CONDITION_VALUE_PHRASE", token.start, token.end)
    return query
