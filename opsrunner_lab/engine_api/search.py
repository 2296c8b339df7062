"""The engine's ``?search=`` language, the part clients use: ``field OP value`` terms joined by
``and``/``or`` (``and`` binds tighter), an optional ``Vms:`` prefix, quoted values, ``*``
wildcards. Values match case-insensitively unless the request says ``case_sensitive=true`` (as
real engines answer: the API model documents ``true`` as the default, yet a request without the
parameter matches regardless of case). Field names and ``and``/``or`` ignore case. A field that
names a reference (``cluster=Default``, ``host=kvm1``) matches the referenced entity's name;
``severity`` compares by rank (``severity>normal``); numbers compare as numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from opsrunner_lab.engine_api.faults import bad_request
from opsrunner_lab.engine_api.model import Document

SEVERITY_RANK = {"normal": 0, "warning": 1, "error": 2, "alert": 3}
# Search names of fields whose document key differs.
ALIASES = {"datacenter": "data_center", "storage": "storage_domain", "message": "description",
           "type": "code"}
_PREFIX = re.compile(r"^\s*[A-Za-z]+\s*:")
_TOKEN = re.compile(r'\s*(?:(?P<conj>and|or)\b|(?P<field>[A-Za-z_][\w.]*)\s*'
                    r'(?P<op>!=|>=|<=|=|>|<)\s*(?P<value>"[^"]*"|[^\s"]+))', re.IGNORECASE)

_Ordered = TypeVar("_Ordered", int, str)
NameOf = Callable[[Document], str | None]


@dataclass(frozen=True)
class Term:
    field: str
    op: str
    value: str

    def key(self) -> str:
        return ALIASES.get(self.field, self.field)

    def matches(self, doc: Document, name_of: NameOf, case_sensitive: bool) -> bool:
        raw = doc.get(self.key())
        actual = name_of(raw) if isinstance(raw, dict) else raw
        if actual is None or isinstance(actual, dict | list):
            return self.op == "!=" and self.value != "*"
        return _compare(self.key(), str(actual), self.op, self.value, case_sensitive)


def _compare(key: str, actual: str, op: str, wanted: str, case_sensitive: bool) -> bool:
    if op in ("=", "!="):
        pattern = ".*".join(re.escape(part) for part in wanted.split("*"))
        flags = re.DOTALL if case_sensitive else re.IGNORECASE | re.DOTALL
        equal = re.fullmatch(pattern, actual, flags) is not None
        return equal if op == "=" else not equal
    if key == "severity" and actual in SEVERITY_RANK and wanted.lower() in SEVERITY_RANK:
        return _ordered(op, SEVERITY_RANK[actual], SEVERITY_RANK[wanted.lower()])
    if actual.lstrip("-").isdigit() and wanted.lstrip("-").isdigit():
        return _ordered(op, int(actual), int(wanted))
    return _ordered(op, actual.lower(), wanted.lower())


def _ordered(op: str, left: _Ordered, right: _Ordered) -> bool:
    return {">": left > right, "<": left < right, ">=": left >= right,
            "<=": left <= right}[op]


class Search:
    """A parsed query; a 400 fault names the part that cannot be parsed."""

    def __init__(self, text: str, case_sensitive: bool = False) -> None:
        self.text = text
        self.case_sensitive = case_sensitive
        self.groups: list[list[Term]] = [[]]
        rest = _PREFIX.sub("", text, count=1)
        position = 0
        expect_term = True
        while rest[position:].strip():
            match = _TOKEN.match(rest, position)
            if match is None or (match.group("conj") is None) != expect_term:
                raise bad_request(f"Cannot search: the query '{text}' is invalid near "
                                  f"'{rest[position:].strip()}'")
            if match.group("conj"):
                if match.group("conj").lower() == "or":
                    self.groups.append([])
            else:
                value = match.group("value").strip('"')
                self.groups[-1].append(Term(match.group("field").lower(), match.group("op"),
                                            value))
            expect_term = not expect_term
            position = match.end()
        if expect_term and position > 0:
            raise bad_request(f"Cannot search: the query '{text}' ends with a conjunction")

    def check_fields(self, known: Iterable[str], collection: str) -> None:
        """A 400 fault for a field no entity of ``collection`` has."""
        names = set(known)
        for group in self.groups:
            for term in group:
                if term.key() not in names:
                    raise bad_request(f"Cannot search: '{term.field}' is not a searchable "
                                      f"field of {collection}")

    def matches(self, doc: Document, name_of: NameOf) -> bool:
        """Whether ``doc`` matches; ``name_of`` names a referenced entity (or None)."""
        return any(all(term.matches(doc, name_of, self.case_sensitive) for term in group)
                   for group in self.groups)
