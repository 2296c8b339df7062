"""Documents to the engine's XML and JSON, and request bodies from XML.

The mapping is the engine's own (see :mod:`opsrunner_lab.engine_api.model`): ``href``, ``id``
and ``rel`` are attributes, a list repeats its element, a timestamp (int, epoch ms) is written
``2019-08-20T12:57:43.049+03:00`` in XML and as the number in JSON. An empty string is written
``<x></x>`` as the engine does (ovirtsdk4 reads that as ``''``, and ``<x/>`` as None); an element
with neither text nor children (a reference) is written ``<x .../>``. A
:class:`~opsrunner_lab.engine_api.model.Number` is text in XML and a number in JSON.
"""

from __future__ import annotations

import datetime
import json
import xml.etree.ElementTree as ET
from typing import Any

from opsrunner_lab.engine_api.faults import ApiFault
from opsrunner_lab.engine_api.model import Document, Number

ATTRIBUTES = ("href", "id", "rel")
XML_TYPE = "application/xml;charset=UTF-8"
JSON_TYPE = "application/json"
_HEADER = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# Stands for the text of an empty-string element while serializing (a private-use character).
_EMPTY = "\ue000"


def iso_time(epoch_ms: int) -> str:
    """Epoch milliseconds as the engine writes a date: local time, ms, numeric offset."""
    moment = datetime.datetime.fromtimestamp(epoch_ms / 1000).astimezone()
    return moment.isoformat(timespec="milliseconds")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return iso_time(value)
    return str(value)


def _fill(element: ET.Element, doc: Document) -> None:
    for key in ATTRIBUTES:
        value = doc.get(key)
        if isinstance(value, str):
            element.set(key, value)
    for key, value in doc.items():
        if key.startswith("_") or value is None or (key in ATTRIBUTES and isinstance(value, str)):
            continue
        for item in value if isinstance(value, list) else [value]:
            child = ET.SubElement(element, key)
            if isinstance(item, dict):
                _fill(child, item)
            else:
                child.text = _text(item) or _EMPTY


def to_xml(tag: str, doc: Document) -> bytes:
    """The XML body (with the engine's declaration, 4-space indent) of ``doc`` as ``<tag>``."""
    root = ET.Element(tag)
    _fill(root, doc)
    ET.indent(root, "    ")
    text = ET.tostring(root, encoding="unicode").replace(f">{_EMPTY}</", "></")
    return (_HEADER + text).encode()


def _public(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not k.startswith("_") and v is not None}
    if isinstance(value, list):
        return [_public(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Number):
        return value.as_number()
    return value


def to_json(doc: Document) -> bytes:
    """The JSON body of ``doc`` (the root element's name is not part of the engine's JSON)."""
    return (json.dumps(_public(doc), indent=2) + "\n").encode()


def parse_body(body: bytes, content_type: str | None) -> ET.Element:
    """The XML element of a request body; a 400 fault for another content type or bad XML."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in ("application/xml", "text/xml"):
        raise ApiFault(400, f"Unsupported Content-Type '{content_type or ''}': the API accepts "
                            "application/xml request bodies", reason="Bad Request")
    if not body.strip():
        raise ApiFault(400, "The request body is empty, an XML document was expected",
                       reason="Bad Request")
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise ApiFault(400, f"Cannot parse the request body as XML: {exc}",
                       reason="Bad Request") from None


def child_text(element: ET.Element, path: str) -> str | None:
    """The stripped text of ``path`` under ``element``; None when absent."""
    found = element.find(path)
    if found is None:
        return None
    return (found.text or "").strip()
