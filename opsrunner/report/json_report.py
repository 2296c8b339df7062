"""``--output json``: the run report as one JSON document on standard output.

The document is :meth:`opsrunner.report.RunReport.as_json`; its shape is in the README.
"""

from __future__ import annotations

import json
import sys
from typing import TextIO

from opsrunner.hookspecs import hookimpl
from opsrunner.report import RunReport


class JsonReport:
    """A run-event plugin writing the report as indented JSON to ``stream`` when the run ends."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    @hookimpl
    def opsrunner_run_finished(self, report: RunReport) -> None:
        stream = self.stream or sys.stdout
        stream.write(json.dumps(report.as_json(), indent=2) + "\n")  # one write, not thousands
