"""The engine's ``?search=`` language over a collection (grammar: :mod:`.search_syntax`; fields
and cross-entity objects: :mod:`.search_fields`).

Values match case-insensitively unless the request says ``case_sensitive=true`` (as real
engines answer: the API model documents ``true`` as the default, yet a request without the
parameter matches regardless of case); ``*`` is a wildcard. ``severity`` compares by rank
(``severity>normal``), numbers as numbers, ``time`` and ``creationdate`` as the engine's dates
(:mod:`.search_dates`: ``time>2026-12-03``, ``time>"12/03/2026 10:00"``, epoch milliseconds,
``time>yesterday``; ``=`` the whole day). Free text (a lone ``web*``) matches an entity one of
whose text fields contains it. A field reaching related entities matches if any of them does
(``!=``: if none is equal). ``sortby FIELD [asc|desc]`` orders the matches;
``page N`` answers the N-th page of ``max`` entities (without ``max``: page 1 is everything).

A query that breaks the grammar, or names a field or object the collection lacks, is a 400
``Operation Failed`` fault, as ovirt-engine's source answers it: ``SearchQuery`` sets as the
query's exception string the searched text (the REST layer's type prefix, ``VMs : ``, then the
query) with the offending part between ``$`` marks, or, when that part ends the query, the name
of the checker's ``SyntaxError`` kind; ``backendFailure`` hands that string to the
ErrorTranslator, which, as it is no message key, lower-cases it with ``_`` as spaces (a text
starting ``$word `` is kept as it is), and since it is no ``EngineMessage`` either its status
falls to ``handleError``'s 400. So ``name=`` on hosts answers ``invalid condition value`` and
``colour=red and name=x`` ``hosts : $colour$=red and name=x``. Not emulated: the engine's
checker marks a span found character by character (where the text stops completing a known
word); here the span is the offending token.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TypeVar

from opsrunner_lab.engine_api.faults import ApiFault
from opsrunner_lab.engine_api.model import Document
from opsrunner_lab.engine_api.search_dates import DATE_FIELDS, absolute_millis, date_matches
from opsrunner_lab.engine_api.search_fields import FIELDS, OBJECTS, Relations, entity_collection
from opsrunner_lab.engine_api.search_syntax import FREE_TEXT, Condition, SyntaxFault, parse

SEVERITY_RANK = {"normal": 0, "warning": 1, "error": 2, "alert": 3}
# Search names of fields whose document key differs (used when a collection has no table).
ALIASES = {"datacenter": "data_center", "storage": "storage_domain", "message": "description",
           "type": "code"}
_NOT_FREE_TEXT = frozenset({"id", "status", "severity", "type", "format", "content_type",
                            "disk_type", "shareable", "wipe_after_delete", "external_status"})
_TIME_FIELDS = frozenset({"time", "creation_time", "start_time", "creationdate", "uptime"})
_Ordered = TypeVar("_Ordered", int, str)
NameOf = Callable[[Document], str | None]
Values = Callable[[Document, str | None, str], list[object] | None]


# The REST layer's prefix of each collection's search text (QueryHelper's return types).
RETURN_TYPES = {"vms": "VMs", "hosts": "Hosts", "clusters": "Clusters",
                "datacenters": "Datacenter", "storagedomains": "Storage",
                "templates": "Template", "users": "Users", "events": "Events",
                "disks": "Disks", "jobs": "Jobs"}
_VARIABLE = re.compile(r"\$[^{}\s]+ .*", re.DOTALL)


def translated(text: str) -> str:
    """What the engine's ErrorTranslator answers for a text that is no message key."""
    return text if _VARIABLE.fullmatch(text) else text.lower().replace("_", " ")


def syntax_fault(text: str, kind: str, start: int, end: int, collection: str = "") -> ApiFault:
    """The engine's 400 for ``text`` (searched in ``collection``) failing with ``kind`` at
    ``start:end``."""
    if start < end < len(text.rstrip()):
        prefix = f"{RETURN_TYPES[collection]} : " if collection in RETURN_TYPES else ""
        return ApiFault(400, translated(f"{prefix}{text[:start]}${text[start:end]}$"
                                        f"{text[end:]}"))
    return ApiFault(400, translated(kind))


def _compare(key: str, actual: str, op: str, wanted: str, case_sensitive: bool) -> bool:
    if key in DATE_FIELDS:
        dated = date_matches(actual, op, wanted)
        if dated is not None:
            return dated
    if op in ("=", "!="):
        pattern = ".*".join(re.escape(part) for part in wanted.split("*"))
        flags = re.DOTALL if case_sensitive else re.IGNORECASE | re.DOTALL
        return re.fullmatch(pattern, actual, flags) is not None
    if key == "severity" and actual in SEVERITY_RANK and wanted.lower() in SEVERITY_RANK:
        return _ordered(op, SEVERITY_RANK[actual], SEVERITY_RANK[wanted.lower()])
    if key in _TIME_FIELDS:
        left, right = absolute_millis(actual), absolute_millis(wanted)
        if left is not None and right is not None:
            return _ordered(op, left, right)
    if actual.lstrip("-").isdigit() and wanted.lstrip("-").isdigit():
        return _ordered(op, int(actual), int(wanted))
    return _ordered(op, actual.lower(), wanted.lower())


def _ordered(op: str, left: _Ordered, right: _Ordered) -> bool:
    return {">": left > right, "<": left < right, ">=": left >= right,
            "<=": left <= right}[op]


def _path(doc: Document, path: str) -> object:
    value: object = doc
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _sort_key(value: object, key: str) -> tuple[int, int, str]:
    text = "" if value is None else str(value)
    if key == "severity" and text in SEVERITY_RANK:
        return (0, SEVERITY_RANK[text], "")
    millis = absolute_millis(text) if key in _TIME_FIELDS else None
    if millis is not None:
        return (0, millis, "")
    if text.lstrip("-").isdigit():
        return (0, int(text), "")
    return (1, 0, text.lower())


def _free_text_reader(source: str) -> Callable[[Document], list[object]]:
    """The text values free text matches: the entity's own text fields (not its id and
    enumerations; every top-level text of a collection without a field table)."""
    paths = [path for name, path in FIELDS.get(source, {}).items()
             if not path.startswith("@") and name not in _NOT_FREE_TEXT]

    def read(doc: Document) -> list[object]:
        values = ([_path(doc, path) for path in paths] if paths else list(doc.values()))
        return [value for value in values if isinstance(value, str)]
    return read


class Search:
    """A parsed query; a 400 fault when ``text`` breaks the grammar."""

    def __init__(self, text: str, case_sensitive: bool = False, collection: str = "") -> None:
        self.text = text
        self.case_sensitive = case_sensitive
        self.collection = collection
        source = FIELDS.get(entity_collection(collection)) if collection else None
        names = frozenset(source or {name for table in FIELDS.values() for name in table})
        try:
            self.query = parse(text, names)
        except SyntaxFault as fault:
            raise self._fault(fault.kind, fault.start, fault.end) from None

    def _fault(self, kind: str, start: int, end: int) -> ApiFault:
        return syntax_fault(self.text, kind, start, end, self.collection)

    @property
    def conditions(self) -> list[Condition]:
        """Every ``FIELD OP VALUE`` of the query, in order."""
        return [term for group in self.query.groups for term in group]

    # -- plain documents (no estate): fields are document keys, references named by name_of

    def check_fields(self, known: Iterable[str], collection: str) -> None:
        """A 400 fault for a field none of ``known`` document keys is."""
        names = set(known)
        for term in self.conditions:
            if term.fld == FREE_TEXT and term.obj is None:
                continue
            if term.obj is not None or ALIASES.get(term.fld, term.fld) not in names:
                raise self._fault("INVALID_CONDITION_FILED_OR_SORTBY", *term.span)

    def matches(self, doc: Document, name_of: NameOf) -> bool:
        """Whether the document ``doc`` matches, reading its own keys only."""
        def values(one: Document, obj: str | None, fld: str) -> list[object] | None:
            if fld == FREE_TEXT:
                return [value for value in one.values() if isinstance(value, str)]
            raw = one.get(ALIASES.get(fld, fld))
            if isinstance(raw, dict):
                return [] if name_of(raw) is None else [name_of(raw)]
            return [] if raw is None or isinstance(raw, list) else [raw]
        return self._matches(doc, values)

    def _matches(self, doc: Document, values: Values) -> bool:
        return any(all(self._term(doc, term, values) for term in group)
                   for group in self.query.groups) or not self.query.groups

    def _term(self, doc: Document, term: Condition, values: Values) -> bool:
        found = values(doc, term.obj, term.fld) or []
        key = ALIASES.get(term.fld, term.fld)
        hits = [_compare(key, str(value), term.op, term.value, self.case_sensitive)
                for value in found]
        if term.op == "!=":
            return not any(hits)
        return any(hits)

    # -- a collection of the estate

    def select(self, docs: list[Document], collection_key: str, relations: Relations,
               max_count: int) -> list[Document]:
        """The entities of ``docs`` (of ``collection_key``) matching, sorted and paged.

        A 400 fault for an object prefix, field or sort field the collection lacks.
        """
        source = entity_collection(collection_key)
        if self.query.prefix is not None and OBJECTS.get(self.query.prefix) != source:
            raise self._fault("INVALID_SEARCH_OBJECT", *self.query.prefix_span)
        known = {key for doc in docs for key in doc}

        def resolve(obj: str | None, fld: str, span: tuple[int, int]
                    ) -> Callable[[Document], list[object]]:
            getter = self._getter(source, obj, fld, known, relations)
            if getter is None:
                if not docs:
                    return lambda doc: []
                raise self._fault("INVALID_CONDITION_FILED_OR_SORTBY", *span)
            return getter

        getters = {(term.obj, term.fld): resolve(term.obj, term.fld, term.span)
                   for term in self.conditions}
        chosen = [doc for doc in docs
                  if self._matches(doc, lambda one, obj, fld: getters[(obj, fld)](one))]
        if self.query.sort is not None:
            obj, fld, descending = self.query.sort
            getter = self._getter(source, obj, fld, known, relations)
            if getter is None:
                if not docs:
                    return chosen
                raise self._fault("INVALID_SORT_FIELD", *self.query.sort_span)
            sort_key = FIELDS.get(source, {}).get(fld, fld)

            def order(doc: Document, read: Callable[[Document], list[object]] = getter
                      ) -> tuple[int, int, str]:
                found = read(doc)
                return _sort_key(found[0] if found else None, sort_key)
            chosen.sort(key=order, reverse=descending)
        if self.query.page is not None:
            if max_count >= 0:
                start = (self.query.page - 1) * max_count
                chosen = chosen[start:start + max_count]
            elif self.query.page > 1:
                chosen = []
        return chosen

    def _getter(self, source: str, obj: str | None, fld: str, known: set[str],
                relations: Relations) -> Callable[[Document], list[object]] | None:
        """How to read field ``fld`` (of related ``obj`` entities) of ``source``'s entities."""
        if fld == FREE_TEXT and obj is None:
            return _free_text_reader(source)
        if obj is not None:
            target = OBJECTS.get(obj)
            if target is None:
                return None
            if target == source:
                return self._getter(source, None, fld, known, relations)
            inner = self._getter(target, None, fld, set(), relations)
            if inner is None:
                return None
            other_collection: str = target
            return lambda doc: [value for other in relations.related(doc, source,
                                                                     other_collection)
                                for value in inner(other)]
        path = FIELDS.get(source, {}).get(fld)
        if path is None:
            key = ALIASES.get(fld, fld) if source not in FIELDS else fld
            if key not in known:
                return None
            path = key
        if path.startswith("@"):
            target = path[1:]
            return lambda doc: [other.get("name", other.get("user_name"))
                                for other in relations.related(doc, source, target)]

        def read(doc: Document, dotted: str = path) -> list[object]:
            value = _path(doc, dotted)
            if isinstance(value, dict):
                name = relations.name_of(value)
                return [] if name is None else [name]
            return [] if value is None or isinstance(value, list) else [value]
        return read
