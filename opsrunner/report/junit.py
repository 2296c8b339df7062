"""Write a run report as JUnit XML: one test suite per host, one test case per step/check."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from opsrunner.hookspecs import hookimpl
from opsrunner.report import RunReport
from opsrunner.report.output_file import write_output_file


def to_junit(report: RunReport) -> ET.ElementTree[ET.Element]:
    """Steps become cases of class ``<workflow>``; checks of class ``verify``."""
    suites = ET.Element("testsuites", name=report.workflow)
    for host, hr in report.hosts.items():
        suite = ET.SubElement(suites, "testsuite", name=host)
        counts = {"tests": 0, "failures": 0, "skipped": 0, "errors": 0}
        total = 0.0
        for step in hr.steps:
            name = f"always: {step.name}" if step.always else step.name
            case = ET.SubElement(suite, "testcase", classname=f"{report.workflow}.{host}",
                                 name=name, time=f"{step.duration:.3f}")
            counts["tests"] += 1
            total += step.duration
            if step.status == "failed" and not step.ignored:
                counts["failures"] += 1
                fail = ET.SubElement(case, "failure", message=step.msg or f"rc={step.rc}")
                fail.text = "\n".join(x for x in (step.stdout, step.stderr) if x)
            elif step.status in ("skipped", "deferred"):
                counts["skipped"] += 1
                message = f"deferred: {step.msg}" if step.status == "deferred" else step.msg
                ET.SubElement(case, "skipped", message=message)
            elif step.stdout:
                ET.SubElement(case, "system-out").text = step.stdout
        for check in hr.verify:
            case = ET.SubElement(suite, "testcase", classname=f"verify.{host}",
                                 name=check.name, time=f"{check.duration:.3f}")
            counts["tests"] += 1
            total += check.duration
            if check.status in ("failed", "error"):
                key = "failures" if check.status == "failed" else "errors"
                counts[key] += 1
                ET.SubElement(case, "failure" if key == "failures" else "error",
                              message=check.message[:500]).text = check.message
            elif check.status == "skipped":
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=check.message)
        for key, value in counts.items():
            suite.set(key, str(value))
        suite.set("time", f"{total:.3f}")
    return ET.ElementTree(suites)


def write_junit(report: RunReport, path: str | Path) -> None:
    """Write the report's JUnit XML to ``path``."""
    tree = to_junit(report)
    ET.indent(tree)
    write_output_file(path, ET.tostring(tree.getroot(), encoding="utf-8", xml_declaration=True))


class JunitReport:
    """A run-event plugin writing the report's JUnit XML to ``path`` when the run ends.

    The CLI checks the path before the run starts; should the write still fail (the disk
    filled up meanwhile), one ``error:`` line says so on stderr and the run's outcome and exit
    code stay what the journal recorded.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = path

    @hookimpl
    def opsrunner_run_finished(self, report: RunReport) -> None:
        try:
            write_junit(report, self.path)
        except OSError as exc:
            print(f"error: cannot write the JUnit report {self.path}: {exc.strerror or exc}",
                  file=sys.stderr)
