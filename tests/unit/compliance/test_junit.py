"""The JUnit report: the Ant/Jenkins structure, one suite a host, and read_cases reading it back."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

from opsrunner.compliance.junit import to_junit, write_junit
from opsrunner.compliance.model import ControlResult
from opsrunner.verify.junit_read import read_cases
from tests.unit.compliance.sample import (
    HOSTS,
    IN_FORCE_JUSTIFICATION,
    PKI_ERROR,
    RUN_ID,
    SSH_MESSAGE,
    TLS_MESSAGE,
    sample_report,
)

# What GitLab and Jenkins read: the Ant JUnit schema (testsuites > testsuite with name,
# hostname, timestamp, id, package, tests, failures, errors, time; properties; system-out and
# system-err) with the additions Jenkins' JUnit plugin and GitLab accept and pytest writes:
# ``skipped`` counts, ``file`` on a test case, test case ``properties`` and ``system-out``.
# element: (allowed attributes, required attributes, allowed children)
ALLOWED: dict[str, tuple[set[str], set[str], set[str]]] = {
    "testsuites": ({"name", "tests", "failures", "errors", "skipped", "time"},
                   {"name", "tests", "failures", "errors", "skipped", "time"}, {"testsuite"}),
    "testsuite": ({"name", "hostname", "timestamp", "id", "package", "tests", "failures",
                   "errors", "skipped", "time"},
                  {"name", "hostname", "timestamp", "id", "package", "tests", "failures",
                   "errors", "time"},
                  {"properties", "testcase", "system-out", "system-err"}),
    "properties": (set(), set(), {"property"}),
    "property": ({"name", "value"}, {"name", "value"}, set()),
    "testcase": ({"name", "classname", "time", "file"}, {"name", "classname", "time"},
                 {"properties", "failure", "error", "skipped", "system-out", "system-err"}),
    "failure": ({"message", "type"}, {"message", "type"}, set()),
    "error": ({"message", "type"}, {"message", "type"}, set()),
    "skipped": ({"message"}, {"message"}, set()),
    "system-out": (set(), set(), set()),
    "system-err": (set(), set(), set()),
}
TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")
"""Ant's ISO8601_DATETIME_PATTERN: no fraction, no timezone."""
COUNTERS = ("tests", "failures", "errors", "skipped")


def _check_structure(element: ET.Element) -> None:
    allowed, required, children = ALLOWED[element.tag]
    assert set(element.attrib) <= allowed, (element.tag, element.attrib)
    assert required <= set(element.attrib), (element.tag, element.attrib)
    for child in element:
        assert child.tag in children, (element.tag, child.tag)
        _check_structure(child)
    if element.tag == "testcase":
        outcomes = [c.tag for c in element if c.tag in ("failure", "error", "skipped")]
        assert len(outcomes) <= 1
        tags = [c.tag for c in element]
        if "properties" in tags:
            assert tags.index("properties") == 0


def _written(tmp_path: Path, report=None) -> ET.Element:
    path = tmp_path / "compliance.xml"
    write_junit(report or sample_report(), path)
    assert path.read_bytes().startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.parse(path).getroot()


def _case(root: ET.Element, host: str, cid: str) -> ET.Element:
    suite = next(s for s in root if s.get("hostname") == host)
    return next(c for c in suite.iter("testcase") if c.get("name", "").startswith(f"{cid}:"))


def test_the_document_has_only_the_elements_and_attributes_jenkins_and_ant_know(tmp_path):
    root = _written(tmp_path)
    assert root.tag == "testsuites"
    _check_structure(root)
    for element in root.iter():
        for name in set(element.attrib) & {"tests", "failures", "errors", "skipped", "id"}:
            assert element.get(name, "").isdigit()
        if "time" in element.attrib:
            float(element.get("time", ""))


def test_one_suite_per_host_with_its_counts_timestamp_and_properties(tmp_path):
    root = _written(tmp_path)
    assert root.get("name") == "olvm-baseline"
    suites = list(root)
    assert [s.get("hostname") for s in suites] == HOSTS
    assert [s.get("id") for s in suites] == ["0", "1", "2", "3"]
    for suite in suites:
        assert suite.get("name") == f"olvm-baseline on {suite.get('hostname')}"
        assert suite.get("package") == "olvm-baseline"
        assert TIMESTAMP.fullmatch(suite.get("timestamp", ""))
        assert suite.get("timestamp") == "2026-03-02T08:15:00"
        properties = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
        assert properties == {"profile": "olvm-baseline", "run_id": RUN_ID,
                              "inventory": "inventories/prod/hosts.yaml"}
        cases = suite.findall("testcase")
        assert suite.get("tests") == str(len(cases))
        assert suite.get("failures") == str(sum(c.find("failure") is not None for c in cases))
        assert suite.get("errors") == str(sum(c.find("error") is not None for c in cases))
        assert suite.get("skipped") == str(sum(c.find("skipped") is not None for c in cases))
    counts = {s.get("hostname"): [s.get(k) for k in COUNTERS] for s in suites}
    assert counts == {"engine": ["4", "1", "0", "0"], "kvm01": ["3", "0", "0", "1"],
                      "kvm02": ["3", "1", "1", "0"], "guest01": ["3", "0", "0", "1"]}
    assert [root.get(k) for k in COUNTERS] == ["13", "2", "1", "2"]
    assert root.get("time") == "12.345"


def test_a_case_per_control_that_applies_with_its_outcome(tmp_path):
    root = _written(tmp_path)
    engine = next(s for s in root if s.get("hostname") == "engine")
    assert [c.get("name") for c in engine.iter("testcase")] == [
        "OLVM-TLS-001: HSTS on every engine port",
        "OLVM-PKI-003: Engine CA and host certificates valid for 30 days or more",
        "OLVM-DB-004: PostgreSQL autovacuum on for the engine database",
        "OLVM-NTP-005: Clock synchronized with chronyd"]
    tls = _case(root, "engine", "OLVM-TLS-001")
    assert tls.get("classname") == "olvm-baseline.engine"
    assert tls.get("file") == "profiles/olvm-baseline/controls/engine_tls.py"
    assert tls.get("time") == "0.420"
    failure = tls.find("failure")
    assert failure is not None
    assert (failure.get("message"), failure.get("type"), failure.text) == (
        TLS_MESSAGE, "OLVM-TLS-001", TLS_MESSAGE)
    assert tls.findtext("system-out") == "hsts.443 = absent\nhsts.6100 = max-age=31536000"
    error = _case(root, "kvm02", "OLVM-PKI-003").find("error")
    assert error is not None and error.get("message") == PKI_ERROR
    skipped = _case(root, "guest01", "OLVM-GA-006").find("skipped")
    assert skipped is not None and skipped.get("message", "").startswith("no qemu-guest-agent")
    passed = _case(root, "engine", "OLVM-DB-004")
    assert [c.tag for c in passed] == ["system-out"]


def test_a_waived_control_is_skipped_with_its_waiver_and_a_property(tmp_path):
    case = _case(_written(tmp_path), "kvm01", "OLVM-SSH-002")
    skipped = case.find("skipped")
    assert skipped is not None
    assert skipped.get("message") == f"waived until 2026-06-30: {IN_FORCE_JUSTIFICATION}"
    assert skipped.text == SSH_MESSAGE
    assert [(p.get("name"), p.get("value")) for p in case.findall("properties/property")] == [
        ("waived", "true")]


def test_it_reads_back_with_read_cases(tmp_path):
    report = sample_report()
    path = tmp_path / "compliance.xml"
    write_junit(report, path)
    cases = read_cases(path)
    assert len(cases) == len(report.results)
    by_key = {(c.name.split(":")[0], c.file, c.status) for c in cases}
    assert ("OLVM-TLS-001", "profiles/olvm-baseline/controls/engine_tls.py", "failed") in by_key
    statuses = sorted(c.status for c in cases)
    assert statuses == sorted({"waived": "skipped"}.get(r.status, r.status)
                              for r in report.results)
    waived = [c for c in cases if c.properties]
    assert len(waived) == 1 and waived[0].properties == (("waived", "true"),)
    assert waived[0].status == "skipped" and waived[0].message.startswith("waived until 2026-06-30")
    error = next(c for c in cases if c.status == "error")
    assert error.message == PKI_ERROR and error.time == 3.0


def test_a_multi_line_message_gives_its_first_line_and_the_whole_text(tmp_path):
    report = sample_report()
    result = report.result("OLVM-TLS-001", "engine")
    assert result is not None
    result.message = "\nport 443: no header\nport 6100: max-age=60 is below 31536000\n"
    failure = _case(_written(tmp_path, report), "engine", "OLVM-TLS-001").find("failure")
    assert failure is not None and failure.get("message") == "port 443: no header"
    assert "port 6100: max-age=60" in (failure.text or "")


def test_characters_xml_cannot_carry_are_dropped(tmp_path):
    report = sample_report()
    report.results.append(ControlResult("OLVM-DB-004", "kvm01", "failed",
                                        "bad\x00 byte\x1b[1m and\x07 bell\ufffe",
                                        {"raw\x01": "v\x0b"}))
    path = tmp_path / "compliance.xml"
    write_junit(report, path)
    raw = path.read_text(encoding="utf-8")
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe]", raw)
    case = _case(ET.parse(path).getroot(), "kvm01", "OLVM-DB-004")
    failure = case.find("failure")
    assert failure is not None and failure.get("message") == "bad byte[1m and bell"
    assert case.findtext("system-out") == "raw = v"


def test_host_names_keep_their_dots_and_the_timestamp_is_utc(tmp_path):
    report = sample_report()
    report.hosts = ["engine.example.com"]
    report.results = [replace(r, host="engine.example.com") for r in report.results
                      if r.host == "engine"]
    report.started = "2026-03-02T09:15:00+01:00"
    root = _written(tmp_path, report)
    suite = root[0]
    assert suite.get("hostname") == "engine.example.com"
    assert suite.get("timestamp") == "2026-03-02T08:15:00"
    assert {c.get("classname") for c in suite.iter("testcase")} == {
        "olvm-baseline.engine.example.com"}


def test_the_file_is_relative_to_the_base_folder_or_absent(tmp_path):
    report = sample_report()
    profile = report.profile
    controls = {cid: replace(c, check=tmp_path / "repo" / c.check)
                for cid, c in profile.controls.items()}
    report.profile = replace(profile, controls=controls)
    inside = to_junit(report, tmp_path / "repo").getroot()
    assert _case(inside, "engine", "OLVM-TLS-001").get("file") == \
        "profiles/olvm-baseline/controls/engine_tls.py"
    outside = to_junit(report, tmp_path / "elsewhere").getroot()
    assert all("file" not in c.attrib for c in outside.iter("testcase"))
