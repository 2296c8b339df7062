"""Renamed tasks: a former name still resolves, validates and runs, with one note naming the new."""

from __future__ import annotations

import textwrap

import pytest

import opsrunner_plugins.engine
from opsrunner import Result, Task
from opsrunner.errors import PluginError, UsageError
from opsrunner.plugins import load_registry
from opsrunner.registry import Registry
from opsrunner.workflow import load_workflow


def greet(task: Task, *, who: str = "world") -> Result:
    """Say hello."""
    return Result(msg=f"hello {who}")


def test_a_former_name_resolves_to_the_task_and_is_not_listed():
    registry = Registry()
    spec = registry.add_task(greet, name="greet", aliases=("hello", "say_hello"))
    assert registry.task("hello") is spec and registry.task("say_hello") is spec
    assert registry.new_name("hello") == "greet" and registry.new_name("greet") is None
    assert list(registry.tasks) == ["greet"]
    with pytest.raises(UsageError, match="unknown task 'helo'"):
        registry.task("helo")


@pytest.mark.parametrize(("name", "aliases", "message"), [
    ("greet", (), "task 'greet' registered twice"),
    ("other", ("greet",), "task 'greet' registered twice"),
    ("hello", (), "'hello' .* is taken: it is the former name of 'greet'"),
    ("other", ("hello",), "'hello' .* is taken: it is the former name of 'greet'"),
    ("other", ("old", "old"), "a name is given twice"),
])
def test_a_name_is_taken_once_as_task_or_alias(name, aliases, message):
    registry = Registry()
    registry.add_task(greet, name="greet", aliases=("hello",))
    with pytest.raises(PluginError, match=message):
        registry.add_task(greet, name=name, aliases=aliases)


def test_every_engine_api_task_keeps_its_engine_name_for_one_release():
    registry = load_registry()
    for name in opsrunner_plugins.engine.TASKS:
        assert name.startswith("api."), name
        former = "engine." + name.removeprefix("api.")
        assert registry.task(former) is registry.tasks[name]
        assert former not in registry.tasks


def test_the_workflow_notes_each_former_name_once_at_its_first_use(write_workflow):
    path = write_workflow("""
        name: old names
        steps:
          - {name: one, task: engine.event, with: {description: a}}
          - {name: two, task: engine.event, with: {description: b}}
          - {name: three, task: api.event, with: {description: c}}
        always:
          - {name: four, task: engine.vm_power, with: {vm: v, state: up}}
    """)
    workflow = load_workflow(path, load_registry())
    assert workflow.notes == [
        f"{path}:4:23: task 'engine.event' is now called 'api.event'; the old name works in "
        "this release only",
        f"{path}:8:24: task 'engine.vm_power' is now called 'api.vm_power'; the old name works "
        "in this release only"]
    assert [s.task for s in workflow.steps] == ["engine.event", "engine.event", "api.event"]


def test_validate_prints_the_note(cli, write_workflow):
    path = write_workflow("""
        name: old name
        steps:
          - {name: log, task: engine.event, with: {description: hello}}
    """)
    code, out, err = cli("validate", str(path))
    assert code == 0, err
    assert "ok (1 step(s)" in out
    assert err.count("note:") == 1 and "is now called 'api.event'" in err


def test_a_former_name_runs_and_the_report_carries_the_note(tmp_path, cli, run_json,
                                                            write_workflow, local_inventory):
    plugin = tmp_path / "plugins" / "renamed.py"
    plugin.parent.mkdir()
    plugin.write_text(textwrap.dedent("""
        from opsrunner import Result, Task, hookimpl

        def greet(task: Task, *, who: str = "world") -> Result:
            \"\"\"Say hello.\"\"\"
            return Result(changed=True, msg=f"hello {who}")

        @hookimpl
        def opsrunner_register_tasks(registry):
            registry.add_task(greet, name="greet", aliases=("hello",))
    """))
    path = write_workflow("""
        name: old name
        steps:
          - {name: greet, task: hello, with: {who: admin}}
          - {name: again, task: hello}
    """)
    code, doc = run_json(path, local_inventory(("h1",)), "--plugin-dir", str(plugin.parent))
    assert code == 0, doc
    assert [(s["status"], s["msg"]) for s in doc["hosts"]["h1"]["steps"]] == [
        ("changed", "hello admin"), ("changed", "hello world")]
    assert doc["notes"] == [f"{path}:4:25: task 'hello' is now called 'greet'; the old name "
                            "works in this release only"]
    code, out, _ = cli("plugins", "--plugin-dir", str(plugin.parent), "--output", "json")
    assert code == 0 and "greet" in out and '"hello"' not in out


def test_the_loaded_names_are_what_plugins_lists(cli):
    code, out, _ = cli("plugins")
    assert code == 0
    assert "api.vm_power" in out and "engine.vm_power" not in out
