"""Task signatures as parameter schemas, and value coercion."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import pytest

from opsrunner import Result, Task
from opsrunner.taskspec import TaskSpec, coerce, type_name


def sample(task: Task, *, cmd: str, rc: list[int] | None = None, env: dict[str, str] | None = None,
           mode: Literal["a", "b"] = "a", full: bool = True, n: int | None = None,
           ratio: float = 1.0, anything: Any = None) -> Result:
    """Sample task.

    More text.
    """
    return Result()


def test_params_from_signature():
    spec = TaskSpec.from_function(sample, plugin="p")
    assert list(spec.params) == ["cmd", "rc", "env", "mode", "full", "n", "ratio", "anything"]
    assert spec.params["cmd"].required and not spec.params["rc"].required
    assert spec.summary == "Sample task."
    assert spec.params["rc"].type_name == "list[int] | None"
    assert spec.params["env"].type_name == "dict[str, str] | None"
    assert spec.params["mode"].type_name == "'a' | 'b'"


@pytest.mark.parametrize("value, annotation, expected", [
    ("yes", bool, True), ("False", bool, False), (True, bool, True), (" ON ", bool, True),
    ("off", bool, False),
    ("42", int, 42), (7, int, 7), ("0o644", int, 0o644), ("1.5", float, 1.5), (3, str, "3"),
    (["1", 2], list[int], [1, 2]), (None, int | None, None), ("5", int | None, 5),
    ({"a": 1}, dict[str, str], {"a": "1"}), ("b", Literal["a", "b"], "b"),
])
def test_coerce_ok(value, annotation, expected):
    assert coerce(value, annotation) == expected


@pytest.mark.parametrize("value, annotation, message", [
    ("maybe", bool, "expected a boolean"), ("", bool, "expected a boolean"),
    (" ", bool, "expected a boolean"), (0, bool, "expected a boolean"),
    ("x", int, "expected an integer"),
    (True, int, "expected an integer"), ("abc", list[str], "expected a list"),
    ("c", Literal["a", "b"], "expected one of 'a', 'b'"), ([1], str, "expected a string"),
    ("x", dict[str, str], "expected a mapping"),
])
def test_coerce_errors(value, annotation, message):
    with pytest.raises(ValueError, match=message):
        coerce(value, annotation)


def test_type_name_any():
    assert type_name(Any) == "any"


@pytest.mark.parametrize("value, annotation, expected", [
    (3, str | int, 3), ("3", str | int, "3"), ("3", int | float, 3), ("1.5", int | float, 1.5),
    ((1, "2"), list[int], [1, 2]), ([1], list, [1]), ({1: [2]}, dict[str, Any], {"1": [2]}),
    ("0x1f", int, 31), (" 7 ", int, 7), (2, float, 2.0), (1.5, str, "1.5"),
    (Path("/x"), Path, Path("/x")), ("as is", "SomeForwardRef", "as is"), (object, Any, object),
])
def test_coerce_each_kind(value, annotation, expected):
    got = coerce(value, annotation)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("value, annotation, message", [
    ("x", int | None, "expected int | None, got str 'x'"),
    (None, int, "expected an integer, got null"),
    (True, float, "expected a finite number, got bool True"),
    ("1,5", float, "expected a finite number"), ("inf", float, "got str 'inf'"),
    (float("nan"), float, "expected a finite number"),
    (10 ** 400, float, "expected a finite number, got int of about 401 digits"),
    (True, str, "expected a string, got bool True"), (b"ab", list[int], "expected a list"),
    ("/x", Path, "expected Path, got str '/x'"),
])
def test_coerce_each_kind_refuses(value, annotation, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        coerce(value, annotation)
