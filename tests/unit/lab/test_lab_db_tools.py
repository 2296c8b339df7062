"""The option parsing and install layout of the lab's engine DB tools (no server needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from opsrunner_lab.tools import tool_script
from opsrunner_lab.tools.common import ENGINE_VACUUM, ToolError, sysroot_of
from opsrunner_lab.tools.engine_psql import scan_args
from opsrunner_lab.tools.vacuum import MIXED_PARAMS, VacuumOptions, engine_main, getopts, parse_options


def test_getopts_reads_like_the_shell() -> None:
    assert list(getopts("aAft:v", ["-fv", "-t", "audit_log", "-tjob", "-x", "--", "-a"])) == [
        ("f", ""), ("v", ""), ("t", "audit_log"), ("t", "job"), ("?", "x")]
    assert list(getopts("aAft:v", ["-a", "operand", "-f"])) == [("a", "")]
    assert list(getopts("aAft:v", ["-a", "-"])) == [("a", "")]
    assert list(getopts("aAft:v", ["-vt"])) == [("v", ""), (":", "t")]


@pytest.mark.parametrize(("args", "flags"), [
    ([], []),
    (["-a"], ["-z"]),
    (["-A"], ["-Z"]),
    (["-a", "-A"], ["-Z"]),
    (["-f", "-v"], ["-f", "-v", "-e"]),
    (["-af", "-t", "audit_log", "-t", "job"], ["-z", "-f", "-t", "audit_log", "-t", "job"]),
])
def test_options_map_to_vacuumdb_flags(args: list[str], flags: list[str]) -> None:
    options = parse_options(args)
    assert isinstance(options, VacuumOptions)
    assert options.vacuumdb_flags() == flags


@pytest.mark.parametrize("args", [["-A", "-f"], ["-f", "-A"], ["-fA"]])
def test_analyze_only_and_full_do_not_mix(args: list[str]) -> None:
    with pytest.raises(ToolError, match=f"^{MIXED_PARAMS}$"):
        parse_options(args)


def test_help_unknown_options_and_a_missing_argument() -> None:
    assert parse_options(["-h"]) is None
    assert parse_options(["-f", "--help"]) is None
    with pytest.raises(ToolError, match=r"^-t requires an argument$"):
        parse_options(["-t"])


def test_engine_psql_finds_the_file_and_help() -> None:
    assert scan_args(["-c", "select 1"]) == (None, False)
    assert scan_args(["-f", "a.sql", "--file=b.sql"]) == ("b.sql", False)
    assert scan_args(["--file", "c.sql", "-t"]) == ("c.sql", False)
    assert scan_args(["-f", "--help"]) == ("--help", False)
    assert scan_args(["-c", "x", "--help"]) == (None, True)


def test_sysroot_from_the_script_path(tmp_path: Path) -> None:
    script = tmp_path / "root" / ENGINE_VACUUM
    script.parent.mkdir(parents=True)
    script.touch()
    link = tmp_path / "engine-vacuum"
    link.symlink_to(script)
    assert sysroot_of(str(script), ENGINE_VACUUM) == tmp_path / "root"
    assert sysroot_of(str(link), ENGINE_VACUUM) == tmp_path / "root"
    with pytest.raises(ToolError, match=r"is not installed as <sysroot>/usr/share/ovirt-engine/"):
        sysroot_of(str(tmp_path / "elsewhere.sh"), ENGINE_VACUUM)


def test_the_installed_script_calls_the_implementation() -> None:
    text = tool_script(ENGINE_VACUUM, engine_main)
    assert text.startswith(f"#!{sys.executable}\n")
    assert "from opsrunner_lab.tools.vacuum import engine_main\n" in text
    assert text.endswith("sys.exit(engine_main(__file__, sys.argv[1:]))\n")
    compile(text, "engine-vacuum.sh", "exec")
