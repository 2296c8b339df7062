"""Every workflow and step key, given a value of the wrong type, is a located problem
``file:line:col: 'key' must be <allowed>, got <given>``, never a traceback: strings vs lists
vs mappings, bool vs int, non-ASCII digits, huge numbers, paths that cannot name a file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opsrunner.errors import WorkflowErrors
from opsrunner.registry import Registry
from opsrunner.result import Result
from opsrunner.task import Task
from opsrunner.workflow import load_workflow
from opsrunner.workflow.load import STEP_KEYS, TOP_KEYS


def command(task: Task, *, cmd: str, count: int = 1, wait: float = 1.0, flag: bool = False,
            names: list[str] | None = None) -> Result:
    return Result()


LIST, MAPPING, BOOL, NULL = "[r]", "{a: 1}", "true", "null"
HUGE = "1" + "0" * 400
ANY = [LIST, MAPPING, BOOL, "0", "-1", HUGE, ".inf", ".nan", "1e300", "'²'", "'²%'", "'\u0662'",
       "''", "' '", NULL, "2020-01-01", "'" + "a" * 300 + "'", '"a\\0b"', "'{{'", "!!binary aGk="]
"""Values every key is tried with: each is accepted or a located problem."""
SCALAR_TOP = ("name", "hosts", "strategy", "batch", "max_fail_percentage", "window", "profile")
SCALAR_STEP = ("name", "task", "when", "register", "retries", "delay", "until", "timeout",
               "estimate", "on_error", "run_once")
LOCATED = re.compile(r"^(?P<file>.+):(?P<line>\d+):(?P<column>\d+): (?P<message>.+)$")


@pytest.fixture
def registry() -> Registry:
    reg = Registry()
    reg.add_task(command)
    return reg


def workflow(tmp_path: Path, top: str = "", **step: str) -> Path:
    """``name``, ``strategy: rolling``, then ``top`` lines, then one step whose keys
    ``step`` overrides or adds (its ``with`` at line 6, a new key at line 7)."""
    keys = {"name": "s", "task": "command", "with": "{cmd: x}", **step}
    lines = "".join(f"    {key}: {value}\n" for key, value in keys.items())
    path = tmp_path / "wf.yml"
    path.write_text(f"name: t\nstrategy: rolling\n{top}steps:\n  - {lines[4:]}")
    return path


def located_problems(path: Path, registry: Registry) -> list[tuple[int, str]] | None:
    """None when the workflow loads; else each problem's (line, message), all located."""
    try:
        load_workflow(path, registry)
    except WorkflowErrors as exc:
        found = []
        for line in str(exc).splitlines():
            match = LOCATED.match(line)
            assert match and match["file"] == str(path), line
            found.append((int(match["line"]), match["message"]))
        return found
    return None


def test_the_key_lists_cover_the_schema() -> None:
    assert {*SCALAR_TOP, "vars", "steps", "always", "verify"} == set(TOP_KEYS)
    assert {*SCALAR_STEP, "with"} == set(STEP_KEYS)


@pytest.mark.parametrize("value", ANY)
@pytest.mark.parametrize("key", TOP_KEYS)
def test_top_level_key(tmp_path: Path, registry: Registry, key: str, value: str) -> None:
    path = workflow(tmp_path, f"{key}: {value}\n")
    if key == "steps":
        path.write_text(f"name: t\nsteps: {value}\n")
    problems = located_problems(path, registry)
    if key in SCALAR_TOP and value in (LIST, MAPPING):
        assert problems and f"'{key}'" in problems[0][1] and problems[0][0] == 3


@pytest.mark.parametrize("value", ANY)
@pytest.mark.parametrize("key", STEP_KEYS)
def test_step_key(tmp_path: Path, registry: Registry, key: str, value: str) -> None:
    problems = located_problems(workflow(tmp_path, **{key: value}), registry)
    if key in SCALAR_STEP and value in (LIST, MAPPING):
        assert problems and any(f"'{key}'" in message for _, message in problems), problems


@pytest.mark.parametrize("value", ANY)
@pytest.mark.parametrize("param", ["cmd", "count", "wait", "flag", "names"])
def test_task_parameter(tmp_path: Path, registry: Registry, param: str, value: str) -> None:
    given = f"{{cmd: {value}}}" if param == "cmd" else f"{{cmd: x, {param}: {value}}}"
    problems = located_problems(workflow(tmp_path, **{"with": given}), registry)
    if value in (LIST, MAPPING) and param != "names":
        assert problems and f"parameter {param!r}" in problems[0][1]


@pytest.mark.parametrize(("top", "step", "where", "expected"), [
    ('batch: "²%"\n', {}, "3:8", "'batch' must be an integer >= 1 or a percentage \"1%\"..\"100%\", "
                                  "got str '²%'"),
    ('batch: "\u0665\u0660%"\n', {}, "3:8", "'batch' must be an integer >= 1 or a percentage"),
    ("", {"register": "{a: 1}"}, "7:15", "'register' must be a variable name (letters, digits, "
                                         "_); got dict {'a': 1}"),
    ("", {"register": "[r]"}, "7:15", "'register' must be a variable name (letters, digits, _); "
                                      "got list ['r']"),
    ("verify: ['" + "a" * 300 + "']\n", {}, "3:10", "a verify entry must be a file path, got "
                                                   "str 'aaaa"),
    ("profile: '" + "a" * 300 + "'\n", {}, "3:10", "'profile' must be a profile name or "
                                                  "folder, got str 'aaaa"),
    ("", {"estimate": "1.0e+300"}, "7:15", "'estimate' must be a number >= 0 and <= 2592000, "
                                           "got float 1e+300"),
    ("", {"timeout": HUGE}, "7:14", "'timeout' must be a number > 0 and <= 2592000, got int of "
                                    "about 401 digits"),
    ("", {"estimate": "31d"}, "7:15", "'estimate' must be a number >= 0 and <= 2592000"),
    ("", {"with": "{cmd: x, wait: " + HUGE + "}"}, "6:26", "parameter 'wait' of task 'command': "
                                                         "expected float, got int of about 401 "
                                                         "digits"),
    ("", {"with": "{cmd: x, count: '²'}"}, "6:27", "parameter 'count' of task 'command': "
                                                  "expected int, got str '²'"),
])
def test_the_reported_cases(tmp_path: Path, registry: Registry, top: str,
                            step: dict[str, str], where: str, expected: str) -> None:
    path = workflow(tmp_path, top, **step)
    with pytest.raises(WorkflowErrors) as caught:
        load_workflow(path, registry)
    assert f"{path}:{where}: {expected}" in str(caught.value)


def test_a_long_verify_name_says_why(tmp_path: Path, registry: Registry) -> None:
    problems = located_problems(workflow(tmp_path, "verify: ['" + "a" * 300 + "']\n"), registry)
    assert problems is not None
    assert problems[0][1].endswith("which has a name of 300 bytes (names are limited to 255 "
                                   "bytes)")


@pytest.mark.parametrize("batch", ["50%", " 50 %", "100%", "1%", 7])
def test_batch_accepts_ascii_percentages_and_integers(tmp_path: Path, registry: Registry,
                                                      batch: str | int) -> None:
    loaded = load_workflow(workflow(tmp_path, f"batch: {batch!r}\n" if isinstance(batch, str)
                                    else f"batch: {batch}\n"), registry)
    assert loaded.batch == (batch.replace(" ", "") if isinstance(batch, str) else batch)
