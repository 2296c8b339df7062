"""The otopi tools' command line and answer files, and the lab's fault files."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner_lab.layout import LabLayout
from opsrunner_lab.tools.common import ToolError
from opsrunner_lab.tools.faults import fault_path, take_fault
from opsrunner_lab.tools.otopi_env import (
    answer_file_text,
    parse_environment,
    parse_otopi_args,
    read_answer_file,
    write_answer_file,
)

ANSWERS = """# OTOPI answer file
[environment:default]
OVESETUP_CORE/remove=bool:True
OVESETUP_DB/port=int:5432
OVESETUP_CONFIG/fqdn=str:engine.lab.local
OVESETUP_DB/filter=none:None
OVESETUP_REMOVE/removeGroups=multi-str:a,b
[other:section]
IGNORED/key=bool:True
"""


def test_answer_files_give_typed_values(tmp_path: Path) -> None:
    path = tmp_path / "answers.conf"
    path.write_text(ANSWERS)
    assert read_answer_file(path) == {
        "OVESETUP_CORE/remove": True, "OVESETUP_DB/port": 5432,
        "OVESETUP_CONFIG/fqdn": "engine.lab.local", "OVESETUP_DB/filter": None,
        "OVESETUP_REMOVE/removeGroups": ["a", "b"]}


def test_written_answer_files_read_back_and_are_private(tmp_path: Path) -> None:
    answers = read_answer_file(_write(tmp_path, ANSWERS))
    target = tmp_path / "out" / "generated.conf"
    write_answer_file(target, answers)
    assert target.stat().st_mode & 0o777 == 0o600
    assert read_answer_file(target) == answers
    assert answer_file_text({"A/b": False}).endswith("[environment:default]\nA/b=bool:False\n")


@pytest.mark.parametrize(("text", "message"), [
    ("OVESETUP_CORE/remove=bool:True\n", ":1: KEY=type:value before any [environment:default]"),
    ("[environment:default]\nremove=bool:True\n", ":2: expected KEY=type:value"),
    ("[environment:default]\nA/b=yes\n", ":2: A/b: the value needs a type prefix, one of bool:"),
    ("[environment:default]\nA/b=bool:maybe\n", ":2: A/b: bool: needs True or False"),
    ("[environment:default]\nA/b=int:x\n", ":2: A/b: int: needs a whole number"),
])
def test_bad_answer_files_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ToolError) as caught:
        read_answer_file(path)
    assert str(caught.value).startswith(f"{path}{message}")


def test_a_secret_in_a_bad_line_is_not_echoed(tmp_path: Path) -> None:
    path = _write(tmp_path, "[environment:default]\nOVESETUP_CONFIG/adminPassword=s3cret\n")
    with pytest.raises(ToolError) as caught:
        read_answer_file(path)
    assert "s3cret" not in str(caught.value)


def test_the_command_line_wins_over_files_and_flags_are_kept(tmp_path: Path) -> None:
    path = _write(tmp_path, ANSWERS)
    parsed = parse_otopi_args([f"--config-append={path}", "--offline", "--accept-defaults",
                               "--otopi-environment=OVESETUP_CORE/remove=bool:False "
                               "'X/y=str:two words'", "--log=/l.log",
                               "--generate-answer=/a.conf"],
                              ["--offline", "--accept-defaults"])
    assert parsed is not None
    assert parsed.answers["OVESETUP_CORE/remove"] is False
    assert parsed.answers["X/y"] == "two words"
    assert parsed.accept_defaults
    assert parsed.flags == {"--offline", "--accept-defaults"}
    assert parsed.config_files == [str(path)]
    assert (parsed.log, parsed.generate_answer) == ("/l.log", "/a.conf")


def test_unknown_options_and_help() -> None:
    assert parse_otopi_args(["--help"]) is None
    for word in ("--accept-defaults", "--config-append", "--otopi-environment"):
        with pytest.raises(ToolError, match=f"^Invalid option '{word}'$"):
            parse_otopi_args([word])
    with pytest.raises(ToolError, match=r"^Cannot read configuration file '/no/such': "):
        parse_otopi_args(["--config-append=/no/such"])


def test_environment_strings_take_the_append_prefix() -> None:
    assert parse_environment("APPEND:CORE/x=str:a OVESETUP_CORE/remove=bool:true") == {
        "CORE/x": "a", "OVESETUP_CORE/remove": True}
    with pytest.raises(ToolError, match=r"^--otopi-environment: No closing quotation$"):
        parse_environment("'A/b=str:x")


def test_faults_fail_the_given_number_of_runs(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path)
    assert take_fault(layout, "engine-setup", "default") is None
    path = fault_path(layout, "engine-setup")
    path.parent.mkdir()
    path.write_text("")
    assert take_fault(layout, "engine-setup", "default") == "default"
    assert take_fault(layout, "engine-setup", "default") == "default"  # no limit: stays
    path.write_text("message=disk on fire\ntimes=2\n")
    assert take_fault(layout, "engine-setup", "default") == "disk on fire"
    assert path.read_text() == "message=disk on fire\ntimes=1\n"
    assert take_fault(layout, "engine-setup", "default") == "disk on fire"
    assert not path.exists()
    assert take_fault(layout, "engine-setup", "default") is None


def test_a_bad_fault_file_says_what_it_expects(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path)
    path = fault_path(layout, "pg_dump")
    path.parent.mkdir()
    path.write_text("fail please\n")
    with pytest.raises(ToolError, match=r":1: expected message=TEXT or times=N$"):
        take_fault(layout, "pg_dump", "x")
    path.write_text("times=many\n")
    with pytest.raises(ToolError, match="times must be a whole number"):
        take_fault(layout, "pg_dump", "x")


def _write(folder: Path, text: str) -> Path:
    path = folder / "answers.conf"
    path.write_text(text)
    return path
