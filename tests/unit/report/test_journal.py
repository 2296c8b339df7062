"""The journal writer: format, modes, redaction, sync points, a full disk, torn lines."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from opsrunner.errors import UsageError
from opsrunner.report import RunReport, StepRecord
from opsrunner.report.journal import SCHEMA, Journal
from opsrunner.secrets import Redactor
from opsrunner.state.journal_read import read_journal


def _journal(folder: Path, errors: list[str] | None = None) -> Journal:
    journal = Journal(folder, "20261203T000000Z-1-abcd", Redactor({"hunter2-secret"}),
                      on_error=None if errors is None else errors.append)
    journal.begin({"run_id": "20261203T000000Z-1-abcd", "schema": SCHEMA, "hosts": ["h1"]})
    return journal


def test_lines_carry_version_sequence_and_time_and_are_redacted(tmp_path):
    journal = _journal(tmp_path / "runs")
    journal.opsrunner_step_started("h1", "first", False, 0)
    record = StepRecord("first", "command", "changed", rc=0, stdout="pw=hunter2-secret",
                        index=0, registered={"stdout": "pw=hunter2-secret"})
    journal.opsrunner_step_finished("h1", record)
    journal.opsrunner_run_finished(RunReport("r", "wf", "wf.yml"))
    journal.close()
    assert oct(journal.path.stat().st_mode & 0o777) == "0o600"
    assert oct(journal.path.parent.stat().st_mode & 0o777) == "0o700"
    text = journal.path.read_text()
    assert "hunter2-secret" not in text
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["seq"] for r in records] == [1, 2, 3, 4]
    assert {r["v"] for r in records} == {1}
    assert [r["event"] for r in records] == ["run_started", "step_started", "step_finished",
                                             "run_finished"]
    finished = records[2]
    assert (finished["step"], finished["index"], finished["changed"], finished["rc"]) == (
        "first", 0, True, 0)
    assert finished["registered"] == {"stdout": "pw=********"}
    assert records[0]["ts"].endswith("Z") and len(records[0]["ts"]) == 24


def test_an_unwritable_folder_is_refused_before_the_run(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UsageError, match=r"cannot create the run journal in .*file/runs"):
        _journal(blocker / "runs")


def test_a_full_disk_is_reported_once_and_stops_the_writes_cleanly(tmp_path):
    errors: list[str] = []
    journal = _journal(tmp_path / "runs", errors)
    good = journal.path.read_bytes()
    assert journal._fd is not None
    os.close(journal._fd)
    journal._fd = os.open("/dev/full", os.O_WRONLY)  # the kernel answers ENOSPC
    assert not journal.write("log", host="h1", message="x")
    assert not journal.write("log", host="h1", message="y")
    assert len(errors) == 1
    assert "cannot write the run journal in" in errors[0]
    assert "No space left on device" in errors[0] and "--state-dir" in errors[0]
    journal.close()
    assert journal.path.read_bytes() == good


def test_a_torn_last_line_is_skipped_with_a_note(tmp_path):
    journal = _journal(tmp_path / "runs")
    journal.write("log", host="h1", message="complete")
    journal.close()
    with journal.path.open("ab") as fh:
        fh.write(b'{"v": 1, "seq": 3, "event": "step_fin')
    read = read_journal(journal.path)
    assert [r["event"] for r in read.records] == ["run_started", "log"]
    assert len(read.notes) == 1 and "the last line is torn" in read.notes[0]
    assert read.header["hosts"] == ["h1"] and read.end is None


def test_a_bad_middle_line_is_skipped_and_named(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"event": "run_started"}\nnot json\n{"event": "run_finished"}\n')
    read = read_journal(path)
    assert [r["event"] for r in read.records] == ["run_started", "run_finished"]
    assert read.notes == [f"{path}:2: a line does not parse (the run was cut off while "
                          f"writing it); skipped"]
    assert read.end == {"event": "run_finished"}
