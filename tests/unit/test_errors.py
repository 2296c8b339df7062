"""The one error hierarchy: its classes, and the one "did you mean" of every message."""

from __future__ import annotations

import importlib
import pkgutil

import opsrunner
from opsrunner import errors
from opsrunner.errors import (
    Location,
    OpsrunnerError,
    WorkflowError,
    WorkflowErrors,
    suggest,
    unknown_name_message,
)


def test_suggest_names_the_closest_known_name() -> None:
    assert suggest("comand", ["ping", "command", "login"]) == "; did you mean 'command'?"


def test_suggest_is_empty_when_nothing_is_close() -> None:
    assert suggest("xyz", ["command", "ping"]) == ""
    assert suggest("anything", []) == ""


def test_a_name_differing_only_in_case_wins_over_a_closer_spelling() -> None:
    # "WEB1" is no close match of "web1" by difflib (case counts there) ...
    assert suggest("WEB1", ["web1"]) == "; did you mean 'web1'?"
    # ... and is preferred to a name difflib would find closer.
    assert suggest("Web1", ["Web12", "web1"]) == "; did you mean 'web1'?"


def test_ties_between_case_variants_go_to_the_first_in_sorted_order() -> None:
    assert suggest("WEB", ["web", "Web"]) == "; did you mean 'Web'?"
    assert suggest("WEB", ["Web", "web"]) == "; did you mean 'Web'?"


def test_suggest_takes_any_iterable_of_names() -> None:
    assert suggest("regsiter", {"register": 1, "name": 2}) == "; did you mean 'register'?"
    assert suggest("dump_dri", {"dump_dir", "tmp"}) == "; did you mean 'dump_dir'?"


def test_unknown_name_message_lists_the_known_names_sorted() -> None:
    assert unknown_name_message("task", "comand", {"ping": 1, "command": 2}) == (
        "unknown task 'comand'; did you mean 'command'? (known: command, ping)")


def test_unknown_name_message_lists_thirty_names_at_most() -> None:
    names = [f"t{i:02}" for i in range(31)]
    message = unknown_name_message("task", "zzz", names)
    assert message.endswith(", t29, ...)") and "t30" not in message


def test_workflow_errors_list_every_problem_sorted_and_are_opsrunner_errors() -> None:
    late, early = Location("wf.yml", 9, 1), Location("wf.yml", 2, 5)
    error = WorkflowErrors([(late, "b"), (early, "a")])
    assert isinstance(error, WorkflowError) and isinstance(error, OpsrunnerError)
    assert str(error) == "wf.yml:2:5: a\nwf.yml:9:1: b"
    assert error.location == early and WorkflowErrors([]).location is None


def test_every_public_exception_class_of_opsrunner_is_defined_in_errors() -> None:
    strays = []
    for info in pkgutil.walk_packages(opsrunner.__path__, "opsrunner."):
        if info.name == errors.__name__ or info.name.rsplit(".", 1)[-1] == "__main__":
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (isinstance(value, type) and issubclass(value, BaseException)
                    and value.__module__ == info.name and not name.startswith("_")):
                strays.append(f"{info.name}.{name}")
    assert strays == []
    assert all(issubclass(value, OpsrunnerError) for value in vars(errors).values()
               if isinstance(value, type) and issubclass(value, BaseException))
