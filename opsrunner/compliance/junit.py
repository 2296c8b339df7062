"""A compliance run as JUnit XML, as GitLab and Jenkins load it: one suite a host.

``<testsuites>`` (name: the profile) holds one ``<testsuite>`` per host (the Ant JUnit
attributes: name, hostname, timestamp, id, package, tests, failures, errors, skipped, time;
``<properties>`` profile, run_id, inventory; an empty ``<system-out>`` and ``<system-err>``
as the Ant schema requires). Each control that applies to the host is a
``<testcase>`` named ``<ID>: <title>`` of class ``<profile>.<host>``: ``failed`` carries a
``<failure>``, ``error`` an ``<error>``, ``skipped`` a ``<skipped>``, ``waived`` a
``<skipped>`` saying until when and why, with the test case property ``waived=true``. The
evidence the check recorded is in the case's ``<system-out>``, one ``name = value`` a line.
Characters XML 1.0 cannot carry are dropped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from opsrunner.compliance.json_report import report_controls, result_index, started_at
from opsrunner.compliance.model import (
    ERROR,
    FAILED,
    SKIPPED,
    WAIVED,
    ComplianceReport,
    Control,
    ControlResult,
)
from opsrunner.report.output_file import write_output_file

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
COUNTED = {FAILED: "failures", ERROR: "errors", SKIPPED: "skipped", WAIVED: "skipped"}
"""Which suite counter each status adds to (passed adds only to ``tests``)."""


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 does not allow (control characters...)."""
    return _NOT_XML.sub("", text)


def to_junit(report: ComplianceReport, base: Path | None = None) -> ET.ElementTree[ET.Element]:
    """The JUnit tree of ``report`` (see the module docstring).

    :param base: the folder the test cases' ``file`` is relative to (the current folder by
        default); a check file outside it gets no ``file``.
    """
    root = ET.Element("testsuites", name=xml_text(report.profile.name))
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for index, host in enumerate(report.hosts):
        suite = _suite(report, host, index, base or Path.cwd())
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{report.duration:.3f}")
    return ET.ElementTree(root)


def write_junit(report: ComplianceReport, path: str | Path, base: Path | None = None) -> None:
    """Write :func:`to_junit` to ``path`` (UTF-8, with an XML declaration)."""
    tree = to_junit(report, base)
    ET.indent(tree)
    write_output_file(path, ET.tostring(tree.getroot(), encoding="utf-8", xml_declaration=True))


def junit_timestamp(report: ComplianceReport) -> str:
    """When the run started, UTC, as the Ant schema wants it: ``YYYY-MM-DDTHH:MM:SS``."""
    return started_at(report).strftime("%Y-%m-%dT%H:%M:%S")


def _suite(report: ComplianceReport, host: str, index: int, base: Path) -> ET.Element:
    profile = report.profile.name
    suite = ET.Element("testsuite", name=xml_text(f"{profile} on {host}"),
                       hostname=xml_text(host), timestamp=junit_timestamp(report),
                       id=str(index), package=xml_text(profile))
    properties = ET.SubElement(suite, "properties")
    for name, value in (("profile", profile), ("run_id", report.run_id),
                        ("inventory", report.inventory)):
        ET.SubElement(properties, "property", name=name, value=xml_text(value))
    counts = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    total = 0.0
    found = result_index(report)
    for control in report_controls(report):
        result = found.get((control.id, host))
        if result is None:
            continue
        suite.append(_case(control, result, f"{profile}.{host}", base))
        counts["tests"] += 1
        if result.status in COUNTED:
            counts[COUNTED[result.status]] += 1
        total += result.duration
    ET.SubElement(suite, "system-out")
    ET.SubElement(suite, "system-err")
    for key, count in counts.items():
        suite.set(key, str(count))
    suite.set("time", f"{total:.3f}")
    return suite


def _case(control: Control, result: ControlResult, classname: str, base: Path) -> ET.Element:
    case = ET.Element("testcase", name=xml_text(f"{control.id}: {control.title}"),
                      classname=xml_text(classname), time=f"{result.duration:.3f}")
    file = check_file(control, base)
    if file is not None:
        case.set("file", xml_text(file))
    message = xml_text(result.message)
    first = message.strip().splitlines()[0] if message.strip() else result.status
    if result.status in (FAILED, ERROR):
        tag = "failure" if result.status == FAILED else "error"
        ET.SubElement(case, tag, message=first, type=xml_text(control.id)).text = message
    elif result.status == SKIPPED:
        ET.SubElement(case, "skipped", message=first).text = \
            message if message.strip() != first else None
    elif result.status == WAIVED:
        _waived(case, result, message)
    if result.evidence:
        ET.SubElement(case, "system-out").text = "\n".join(
            xml_text(f"{name} = {value}") for name, value in result.evidence.items())
    return case


def _waived(case: ET.Element, result: ControlResult, message: str) -> None:
    properties = ET.SubElement(case, "properties")
    ET.SubElement(properties, "property", name="waived", value="true")
    waiver = result.waiver
    why = "waived" if waiver is None else \
        f"waived until {waiver.expires.isoformat()}: {waiver.justification}"
    ET.SubElement(case, "skipped", message=xml_text(why)).text = message or None


def check_file(control: Control, base: Path) -> str | None:
    """The control's check file relative to ``base`` (``/`` separated); a relative path is
    taken as it is; None for a file outside ``base``."""
    check = control.check
    if not check.is_absolute():
        return check.as_posix()
    try:
        return check.relative_to(base.resolve()).as_posix()
    except ValueError:
        return None
