"""check_names is linear in the number of steps (counted in lines run, not timed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner.registry import Registry
from opsrunner.result import Result
from opsrunner.task import Task
from opsrunner.workflow import check_names, load_workflow
from opsrunner.workflow import names as names_module
from tests.unit.opcount import growth, lines_run


def command(task: Task, *, cmd: str) -> Result:
    return Result()


def workflow_text(steps: int) -> str:
    body = "".join(f"  - name: s{i}\n    task: command\n    register: r{i}\n"
                   f"    with: {{cmd: \"echo {{{{ r{max(i - 1, 0)} }}}}\"}}\n"
                   f"    until: r{i}.rc == 0\n" for i in range(steps))
    return f"name: t\nvars: {{a: 1}}\nsteps:\n{body}always:\n{body}"


@pytest.fixture
def registry() -> Registry:
    reg = Registry()
    reg.add_task(command)
    return reg


def test_check_names_is_linear(tmp_path: Path, registry: Registry,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    # Template parsing is per value and not under test: a constant answer.
    monkeypatch.setattr(names_module, "undeclared_names", lambda value, expression=False: {"a"})
    monkeypatch.setattr(names_module, "_guarded", lambda value, expression: set())

    def count(steps: int) -> int:
        path = tmp_path / f"wf{steps}.yml"
        path.write_text(workflow_text(steps))
        workflow = load_workflow(path, registry)
        return lines_run(lambda: check_names(workflow, {"x"}), under="opsrunner/workflow/")

    assert growth(count, 300) < 2.2


def test_a_later_registrar_is_still_named(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "wf.yml"
    path.write_text("name: t\nsteps:\n"
                    "  - {name: a, task: command, with: {cmd: '{{ later.rc }}'}}\n"
                    "  - {name: b, task: command, with: {cmd: x}, register: other}\n"
                    "  - {name: c, task: command, with: {cmd: x}, register: later}\n"
                    "  - {name: d, task: command, with: {cmd: x}, register: later}\n")
    (problem,) = check_names(load_workflow(path, registry), set())
    assert problem[1] == f"undefined variable 'later': registered by a later step ({path}:5:5)"
