"""The text display draws lines at a bounded rate and loses none."""

from __future__ import annotations

import io

from rich.console import Console

from opsrunner.report import RunReport, StepRecord
from opsrunner.report.display import ProgressDisplay


def display() -> tuple[ProgressDisplay, io.StringIO, RunReport]:
    out = io.StringIO()
    shown = ProgressDisplay(Console(file=out, width=120, color_system=None))
    report = RunReport("r1", "demo", "demo.yml")
    shown.opsrunner_run_started(report, [f"h{i}" for i in range(50)], 2)
    return shown, out, report


def test_lines_arriving_together_are_printed_in_one_go_in_their_order() -> None:
    shown, out, _ = display()
    printed = []
    original = shown.console.print

    def counting(*args: object, **kwargs: object) -> None:
        printed.append(args)
        original(*args, **kwargs)  # type: ignore[arg-type]

    shown.console.print = counting  # type: ignore[method-assign]
    for i in range(50):
        shown.opsrunner_step_finished(f"h{i}", StepRecord("edit", "copy", "changed"))
    shown.opsrunner_host_log("h7", "retrying")
    timer = shown._timer
    assert timer is not None and "h0 " not in out.getvalue()  # waiting to be drawn together
    timer.join()
    assert len(printed) == 1
    lines = [line.strip() for line in out.getvalue().splitlines() if line.strip()]
    assert [line.split()[0] for line in lines[1:]] == [f"h{i}" for i in range(50)] + ["h7"]
    assert lines[-1] == "h7               retrying"


def test_every_line_is_printed_by_the_end_of_the_run() -> None:
    shown, out, report = display()
    shown.opsrunner_step_finished("h1", StepRecord("edit", "copy", "failed", msg="no space"))
    shown.opsrunner_run_finished(report)
    text = out.getvalue()
    assert text.index("h1               failed   edit") < text.index("demo: OK")
    assert "no space" in text and shown._timer is None
