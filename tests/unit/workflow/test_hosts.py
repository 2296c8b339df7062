"""A workflow's ``hosts:`` pattern: any number of terms; too deep nesting is a located error."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsrunner.errors import WorkflowErrors
from opsrunner.inventory.patterns import MAX_NESTING
from opsrunner.registry import Registry
from opsrunner.result import Result
from opsrunner.task import Task
from opsrunner.workflow import load_workflow


def ping(task: Task) -> Result:
    return Result()


def workflow(tmp_path: Path, hosts: str) -> Path:
    path = tmp_path / "wf.yml"
    path.write_text(f"name: t\nhosts: '{hosts}'\nsteps:\n  - {{name: s, task: ping}}\n")
    return path


@pytest.fixture
def registry() -> Registry:
    reg = Registry()
    reg.add_task(ping)
    return reg


@pytest.mark.parametrize("hosts", [
    " | ".join(f"h{i}" for i in range(10_000)),
    " & ".join(f"h{i}" for i in range(10_000)),
    ",".join(f"h{i}" for i in range(10_000)),
    "!" * 10_000 + "h1",
    "(" * MAX_NESTING + "h1" + ")" * MAX_NESTING,
])
def test_long_patterns_load(tmp_path: Path, registry: Registry, hosts: str) -> None:
    assert load_workflow(workflow(tmp_path, hosts), registry).hosts == hosts


def test_deep_nesting_is_located(tmp_path: Path, registry: Registry) -> None:
    path = workflow(tmp_path, "(" * 330 + "h1" + ")" * 330)
    with pytest.raises(WorkflowErrors) as caught:
        load_workflow(path, registry)
    (message,) = str(caught.value).splitlines()
    assert message.startswith(f"{path}:2:8: 'hosts': host pattern ")
    assert message.endswith(f", column {MAX_NESTING + 1}: parentheses nest deeper than "
                            f"{MAX_NESTING} levels (the limit)")
