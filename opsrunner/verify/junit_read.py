"""Read test cases back from a JUnit XML file written by pytest."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Case:
    """One test case: ``status`` is passed, failed, skipped or error; ``properties``: its
    ``<property>`` elements (name, value) in order."""

    name: str
    file: str
    status: str
    message: str
    time: float
    properties: tuple[tuple[str, str], ...] = ()


def read_cases(path: Path) -> list[Case]:
    """Every ``<testcase>`` of the file, in order."""
    root = ET.parse(path).getroot()
    cases: list[Case] = []
    for tc in root.iter("testcase"):
        status, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            child = tc.find(tag)
            if child is not None:
                status = {"failure": "failed"}.get(tag, tag)
                message = (child.get("message") or child.text or "").strip()
                break
        classname = tc.get("classname", "")
        properties = tuple((prop.get("name", ""), prop.get("value", ""))
                           for prop in tc.iterfind("properties/property"))
        cases.append(Case(tc.get("name", ""), tc.get("file") or classname, status,
                          message[:2000], float(tc.get("time") or 0.0), properties))
    return cases
