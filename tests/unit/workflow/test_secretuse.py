"""Warnings for a secret a template changes before a step parameter or a variable gets it."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner.registry import Registry
from opsrunner.result import Result
from opsrunner.task import Task
from opsrunner.workflow import load_workflow
from opsrunner.workflow.secretuse import secret_paths, secret_warnings

SECRETS = {("tok",), ("db", "password")}


def command(task: Task, *, cmd: str, env: dict[str, str] | None = None) -> Result:
    return Result()


@pytest.fixture
def registry() -> Registry:
    reg = Registry()
    reg.add_task(command)
    return reg


def warnings_for(tmp_path: Path, registry: Registry, cmd: str, vars_: str = "{}") -> list[str]:
    path = tmp_path / "wf.yml"
    path.write_text(f"name: t\nvars: {vars_}\nsteps:\n  - name: s\n    task: command\n"
                    f"    with:\n      cmd: \"{cmd}\"\n")
    return [w.removeprefix(f"{path}:") for w in secret_warnings(load_workflow(path, registry),
                                                                 SECRETS)]


@pytest.mark.parametrize(("cmd", "change"), [
    ("{{ tok | upper }}", "the secret 'tok' is changed by the filter 'upper'"),
    ("x {{ tok | default('') | lower }}", "the secret 'tok' is changed by the filter 'lower'"),
    ("{{ tok | replace('a', 'b') }}", "the secret 'tok' is changed by the filter 'replace'"),
    ("{{ tok[:4] }}", "the secret 'tok' has a part taken (an index or a slice)"),
    ("{{ tok[0] }}", "the secret 'tok' has a part taken (tok[0])"),
    ("{{ tok.upper() }}", "the secret 'tok' is changed by its method 'upper'"),
    ("{% for c in tok %}{{ c }}{% endfor %}", "the secret 'tok' is taken apart by a for loop"),
    ("{% filter upper %}{{ tok }}{% endfilter %}",
     "the secret 'tok' is changed by the filter block 'upper'"),
    ("{{ db.password | urlencode }}", "the secret 'db.password' is changed by the filter "
                                      "'urlencode'"),
    ("{{ db['password'] | title }}", "the secret 'db.password' is changed by the filter 'title'"),
    ("{{ db | tojson }}", "'db', which holds the secret 'db.password', is changed by the filter "
                          "'tojson'"),
    ("{{ ('Bearer ' ~ tok) | upper }}", "the secret 'tok' is changed by the filter 'upper'"),
    ("{% set t = tok %}{{ t | upper }}", "the secret 't' is changed by the filter 'upper'"),
    ("{{ [tok] | map('upper') | join(',') }}", "the secret 'tok' is changed by the filter 'map'"),
])
def test_a_changed_secret_is_warned_of_at_the_parameter(tmp_path: Path, registry: Registry,
                                                        cmd: str, change: str) -> None:
    assert warnings_for(tmp_path, registry, cmd) == [
        f"7:12: warning: {change} before it reaches parameter 'cmd'; only a secret's exact "
        f"value is masked in output, reports and the journal, so the changed text would show"]


@pytest.mark.parametrize("cmd", [
    "{{ tok }}", "Bearer {{ tok }}", "{{ 'x' ~ tok ~ 'y' }}", "{{ tok | default('') }}",
    "{{ tok | length }}", "{{ tok is defined }}", "{{ [tok, 'a'] | join(' ') }}",
    "{{ db.user | upper }}", "{{ other | upper }}", "{{ tok == 'x' }}", "no template",
])
def test_an_unchanged_or_other_value_is_not_warned_of(tmp_path: Path, registry: Registry,
                                                      cmd: str) -> None:
    assert warnings_for(tmp_path, registry, cmd) == []


def test_a_variable_holding_a_secret_is_a_secret(tmp_path: Path, registry: Registry) -> None:
    found = warnings_for(tmp_path, registry, "{{ auth | lower }}",
                         "{auth: 'Bearer {{ tok }}', shout: '{{ tok | upper }}'}")
    assert [w.split(" before")[0] for w in found] == [
        "2:41: warning: the secret 'tok' is changed by the filter 'upper'",
        "7:12: warning: the secret 'auth' is changed by the filter 'lower'"]
    assert "reaches variable 'shout'" in found[0]


def test_secret_paths_are_found_by_value() -> None:
    data = [{"tok": "s3cret", "db": {"user": "app", "password": "pw"}, "n": 1},
            {"list": ["a", "pw"], "copy": "s3cret"}]
    assert secret_paths(data, {"s3cret", "pw"}) == {("tok",), ("db", "password"),
                                                    ("list", 1), ("copy",)}
    assert secret_paths(data, set()) == set()
