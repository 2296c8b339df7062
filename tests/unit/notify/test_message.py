"""The run-finished message made from reports built here: subject, text, HTML, redaction."""

from __future__ import annotations

import re
from datetime import datetime
from email.message import EmailMessage

import pytest

from opsrunner.notify.message import build_message, compose, has_problems, outcome
from opsrunner.notify.settings import EmailSettings
from opsrunner.report import CheckRecord, HostReport, RunReport, StepRecord
from opsrunner.secrets import MASK, Redactor

RUN_ID = "20261206T000012Z-4242-ab12"
SIGNATURE = "-- "  # the signature separator, with its blank
SECRET = "pg-Secret-42"
WINDOW = {"name": "sunday-night", "opens": "2026-12-06T01:00:00+01:00",
          "closes": "2026-12-06T05:00:00+01:00", "cut": "2026-12-06T05:05:00+01:00",
          "timezone": "Europe/Paris"}
SETTINGS = EmailSettings(server="smtp.example.com", port=587, sender="opsrunner@example.com",
                         to=("olvm-admins@example.com", "oncall@example.com"))


def window_report() -> RunReport:
    """Two hosts done, one deferred by a predicted overrun of its window."""
    report = RunReport(run_id=RUN_ID, workflow="vacuum", workflow_file="workflows/vacuum.yml",
                       window=dict(WINDOW), duration=3723.4,
                       started=datetime.fromisoformat("2026-12-06T01:00:12+01:00").timestamp())
    report.hosts["engine01"] = HostReport("engine01", "ok", [
        StepRecord("stop engine", "service", "changed", index=0),
        StepRecord("vacuum", "vacuum", "changed", index=1, note="3 tables were vacuumed"),
        StepRecord("start engine", "service", "changed", always=True, index=0)],
        [CheckRecord("test_engine_up", "checks/engine.py", "passed")])
    report.hosts["dwh01"] = HostReport("dwh01", "ok", [StepRecord("vacuum", "vacuum", "ok")])
    report.hosts["kvm02"] = HostReport("kvm02", "deferred", [
        StepRecord("vacuum full", "vacuum", "deferred", index=1, estimate=2700.0)])
    report.notes.append("kvm02 waits for the next window")
    return report


def failed_report() -> RunReport:
    """A run where one host failed a step whose output and message hold a secret."""
    report = RunReport(run_id=RUN_ID, workflow="engine backup",
                       workflow_file="workflows/backup.yml", started=1_765_000_000.0,
                       duration=42.4)
    report.hosts["engine01"] = HostReport("engine01", "failed", [
        StepRecord("backup", "engine_backup", "failed", rc=1, index=0,
                   msg=f"engine-backup failed: password {SECRET} refused",
                   stderr="line 1\nline 2\nline 3\nline 4\nline 5\n"
                          f"FATAL: password authentication failed ({SECRET})\n"),
        StepRecord("cleanup", "file", "ok", always=True)],
        [CheckRecord("test_backup_exists", "checks/backup.py", "failed",
                     message="AssertionError: no backup\nassert False")])
    report.hosts["kvm01"] = HostReport("kvm01", "ok", [
        StepRecord("probe", "command", "failed", rc=3, ignored=True, msg="probe said no")])
    report.notes.append(f"the dump used {SECRET}")
    return report


EXPECTED_TEXT = f"""\
vacuum: OK (2 ok, 1 deferred) in window sunday-night

Run:      {RUN_ID}
Workflow: vacuum (workflows/vacuum.yml)
Window:   sunday-night, opens 2026-12-06 01:00, closes 05:00 (Europe/Paris, +0100)
Started:  2026-12-06 01:00:12 +0100
Duration: 1h 02m 03s

Hosts:
  engine01  ok        3 steps, 3 changed, 1 check passed
    - note from step 'vacuum': 3 tables were vacuumed
  dwh01     ok        1 step, 0 changed
  kvm02     deferred  0 steps, 0 changed, 1 deferred
    - predicted overrun: step vacuum full on host kvm02 would take ~45 min, the window \
closes at 05:00: it waits for the next window

Notes:
  - kvm02 waits for the next window

{SIGNATURE}
Sent by opsrunner on ctl01.
"""


class TestWindowRun:
    def test_subject(self) -> None:
        composed = compose(window_report(), control_host="ctl01")
        assert composed.subject == "[opsrunner] vacuum: OK (2 ok, 1 deferred) in window sunday-night"

    def test_text(self) -> None:
        composed = compose(window_report(), control_host="ctl01")
        assert composed.text == EXPECTED_TEXT
        assert composed.html is None

    def test_no_resume_advice_for_an_ok_run(self) -> None:
        assert "--resume" not in compose(window_report()).text

    @pytest.mark.parametrize(("estimate", "said"), [(2700.0, "~45 min"), (2701.0, "~46 min"),
                                                    (20.0, "~1 min"), (None, "would not end")])
    def test_estimates_in_minutes(self, estimate: float | None, said: str) -> None:
        report = window_report()
        report.hosts["kvm02"].steps[0].estimate = estimate
        assert said in compose(report).text

    def test_a_deferred_host_without_a_deferred_step(self) -> None:
        report = window_report()
        report.hosts["kvm02"].steps.clear()
        assert "its next step waits for the next maintenance window" in compose(report).text

    def test_a_run_outside_its_window(self) -> None:
        report = window_report()
        assert report.window is not None
        report.window["outside_reason"] = "started with --outside-window"
        composed = compose(report)
        assert composed.subject.endswith("outside window sunday-night")
        assert "the run ran outside it: started with --outside-window" in composed.text

    def test_without_a_window(self) -> None:
        report = window_report()
        report.window = None
        report.hosts["kvm02"].steps[0].status = "skipped"
        report.hosts["kvm02"].status = "skipped"
        composed = compose(report)
        assert composed.subject == "[opsrunner] vacuum: OK (2 ok, 1 skipped)"
        assert "Window:" not in composed.text
        started = re.search(r"^Started:  (.*)$", composed.text, re.M)
        assert started is not None
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}", started.group(1))

    def test_html_alternative(self) -> None:
        composed = compose(window_report(), html=True, control_host="ctl01")
        assert composed.html is not None
        assert composed.html.startswith("<!DOCTYPE html>")
        assert "<h2>vacuum: OK (2 ok, 1 deferred) in window sunday-night</h2>" in composed.html
        assert ("predicted overrun: step vacuum full on host kvm02 would take ~45 min, the "
                "window closes at 05:00: it waits for the next window") in composed.html
        assert composed.text == EXPECTED_TEXT


class TestFailedRun:
    def test_subject_and_resume(self) -> None:
        composed = compose(failed_report())
        assert composed.subject == "[opsrunner] engine backup: FAILED (1 ok, 1 failed)"
        assert composed.text.rstrip().splitlines()[-4] == (
            "To finish this run (hosts and steps that finished are not run again): "
            f"opsrunner run --resume {RUN_ID}")

    def test_failed_steps_checks_and_output(self) -> None:
        text = compose(failed_report(), Redactor([SECRET])).text
        assert (f"    - step 'backup' failed (rc 1): engine-backup failed: password {MASK} "
                "refused\n") in text
        assert ("        | line 2\n        | line 3\n        | line 4\n        | line 5\n"
                f"        | FATAL: password authentication failed ({MASK})\n") in text
        assert "| line 1" not in text  # the last five lines only
        assert ("    - check 'test_backup_exists' (checks/backup.py) failed: "
                "AssertionError: no backup\n") in text
        assert "    - step 'probe' failed (rc 3) (ignored: on_error continue): probe said no" in text
        assert "  engine01  failed  2 steps, 0 changed, 1 of 1 check failed" in text
        assert "Duration: 42s" in text

    def test_every_text_is_redacted(self) -> None:
        report = failed_report()
        report.workflow = f"backup with {SECRET}"
        report.hosts["engine01"].steps[1].note = f"kept {SECRET}"
        composed = compose(report, Redactor([SECRET]), html=True)
        assert composed.html is not None
        for text in (composed.subject, composed.text, composed.html):
            assert SECRET not in text
            assert MASK in text
        unredacted = compose(report, html=True)
        assert SECRET in unredacted.text  # the test above can fail

    def test_html_is_escaped(self) -> None:
        report = failed_report()
        report.notes.append("<script>alert(1)</script> & more")
        composed = compose(report, html=True)
        assert composed.html is not None
        assert "<script>" not in composed.html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in composed.html

    @pytest.mark.parametrize(("change", "word"), [
        ({"interrupted": True}, "INTERRUPTED"), ({"halted": "the journal's disk is full"}, "HALTED")])
    def test_interrupted_and_halted(self, change: dict[str, object], word: str) -> None:
        report = window_report()
        for key, value in change.items():
            setattr(report, key, value)
        composed = compose(report)
        assert outcome(report) == word
        assert composed.subject.startswith(f"[opsrunner] vacuum: {word} (")
        assert f"opsrunner run --resume {RUN_ID}" in composed.text

    def test_a_check_run_has_no_resume_advice(self) -> None:
        report = failed_report()
        report.check = True
        composed = compose(report)
        assert composed.subject.startswith("[opsrunner] engine backup (check mode): FAILED")
        assert "--resume" not in composed.text
        assert "Mode:     check mode: nothing was changed" in composed.text

    def test_the_parent_run(self) -> None:
        report = failed_report()
        report.parent = "20261205T000000Z-1111-aaaa"
        assert "Resumes:  20261205T000000Z-1111-aaaa" in compose(report).text

    def test_a_newline_in_a_name_stays_out_of_the_subject(self) -> None:
        report = failed_report()
        report.workflow = "two\nlines"
        subject = compose(report).subject
        assert "\n" not in subject and subject.startswith("[opsrunner] two lines: FAILED")


class TestHasProblems:
    def test_all_ok_has_none(self) -> None:
        report = window_report()
        del report.hosts["kvm02"]
        assert not has_problems(report)

    def test_deferred_hosts_or_steps(self) -> None:
        assert has_problems(window_report())
        report = window_report()
        report.hosts["kvm02"].status = "ok"
        assert has_problems(report)  # its step is still deferred

    def test_failed_interrupted_halted(self) -> None:
        assert has_problems(failed_report())
        for change in ({"interrupted": True}, {"halted": "disk full"}):
            report = window_report()
            del report.hosts["kvm02"]
            for key, value in change.items():
                setattr(report, key, value)
            assert has_problems(report)


class TestBuildMessage:
    def test_headers_and_parts(self) -> None:
        settings = EmailSettings(**{**SETTINGS.__dict__, "html": True})
        message = build_message(window_report(), settings, control_host="ctl01")
        assert isinstance(message, EmailMessage)
        assert message["Subject"] == ("[opsrunner] vacuum: OK (2 ok, 1 deferred) in window "
                                      "sunday-night")
        assert message["From"] == "opsrunner@example.com"
        assert message["To"] == "olvm-admins@example.com, oncall@example.com"
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["X-Opsrunner-Run-Id"] == RUN_ID
        assert message["Message-ID"].endswith("@example.com>")
        assert message.get_content_type() == "multipart/alternative"
        text = message.get_body(("plain",))
        page = message.get_body(("html",))
        assert text is not None and page is not None
        assert isinstance(text, EmailMessage) and isinstance(page, EmailMessage)
        assert text.get_content() == EXPECTED_TEXT
        assert "<h2>" in page.get_content()

    def test_plain_text_only(self) -> None:
        message = build_message(failed_report(), SETTINGS, Redactor([SECRET]))
        assert message.get_content_type() == "text/plain"
        assert SECRET not in message.as_string()
        assert f"opsrunner run --resume {RUN_ID}" in message.get_content()
