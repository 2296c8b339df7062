"""The plugin manager: entry points, plugin folders, disabling, broken plugins, hook checks."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from opsrunner import Result, Task, hookimpl
from opsrunner.errors import PluginError, UsageError
from opsrunner.plugins import PluginManager, load_registry


def test_first_party_plugins_load_through_entry_points():
    registry = load_registry()
    assert registry.tasks["command"].plugin == "command"
    assert {"ssh", "local"} <= set(registry.connections)
    assert {"simple", "ansible"} <= set(registry.inventory_sources)


def test_disable_plugins_env(monkeypatch):
    monkeypatch.setenv("OPSRUNNER_DISABLE_PLUGINS", "service, checks")
    registry = load_registry()
    assert "service" not in registry.tasks
    assert "wait_for" not in registry.tasks
    assert "command" in registry.tasks


def write_plugin(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return path


def test_plugin_dir_adds_tasks(tmp_path):
    write_plugin(tmp_path / "p", "greet", """
        from opsrunner import Result, Task, hookimpl

        def greet(task: Task, *, who: str = "world") -> Result:
            '''Say hello.'''
            return Result(msg=f"hello {who}")

        @hookimpl
        def opsrunner_register_tasks(registry):
            registry.add_task(greet)
    """)
    registry = load_registry([tmp_path / "p"])
    spec = registry.tasks["greet"]
    assert spec.plugin == "greet" and spec.summary == "Say hello."
    assert spec.params["who"].default == "world"


def test_broken_plugin_file_is_named(tmp_path):
    write_plugin(tmp_path / "p", "broken", "import does_not_exist_anywhere\n")
    with pytest.raises(PluginError, match=r"broken\.py failed to load: ModuleNotFoundError"):
        load_registry([tmp_path / "p"])


def test_misspelt_hook_is_caught(tmp_path):
    write_plugin(tmp_path / "p", "typo", """
        from opsrunner import hookimpl

        @hookimpl
        def opsrunner_register_taks(registry):
            pass
    """)
    with pytest.raises(PluginError, match="opsrunner_register_taks"):
        load_registry([tmp_path / "p"])


def test_duplicate_task_names_both_plugins(tmp_path):
    write_plugin(tmp_path / "p", "dup", """
        from opsrunner import Result, Task, hookimpl

        def command(task: Task, *, cmd: str) -> Result:
            '''Shadow.'''
            return Result()

        @hookimpl
        def opsrunner_register_tasks(registry):
            registry.add_task(command)
    """)
    with pytest.raises(PluginError, match="'command' registered twice: by command and by dup"):
        load_registry([tmp_path / "p"])


def test_task_signature_rules():
    def positional(task: Task, cmd: str) -> Result:
        return Result()

    class Plugin:
        @hookimpl
        def opsrunner_register_tasks(self, registry):
            registry.add_task(positional)

    manager = PluginManager()
    manager.register(Plugin(), "bad")
    with pytest.raises(PluginError, match="'cmd' must be keyword-only"):
        manager.build_registry()


def test_plugin_raising_in_hook_is_named():
    class Plugin:
        @hookimpl
        def opsrunner_register_tasks(self, registry):
            raise RuntimeError("boom")

    manager = PluginManager()
    manager.register(Plugin(), "exploding")
    with pytest.raises(PluginError, match="'exploding' failed in opsrunner_register_tasks"):
        manager.build_registry()


def test_missing_plugin_dir(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_registry([tmp_path / "nope"])


def test_unknown_task_did_you_mean():
    registry = load_registry()
    with pytest.raises(UsageError, match="did you mean 'command'"):
        registry.task("comand")


def test_a_plugin_dir_with_only_helpers_says_what_it_loads(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "_shared.py").write_text("X = 1\n")
    with pytest.raises(UsageError, match=r"holds no plugin \(only helpers: _shared.py\): every "
                                         r"\*.py file is loaded as a plugin except those "
                                         r"starting with '_'"):
        load_registry([folder])


def test_plugin_files_import_the_helpers_beside_them(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "_opsr_unit_helper.py").write_text("GREETING = 'hi'\n")
    (folder / "hello.py").write_text(
        "from _opsr_unit_helper import GREETING\n"
        "from opsrunner import Result, Task, hookimpl\n\n"
        "def hello(task: Task) -> Result:\n"
        "    return Result(stdout=GREETING)\n\n"
        "@hookimpl\n"
        "def opsrunner_register_tasks(registry):\n"
        "    registry.add_task(hello)\n")
    registry = load_registry([folder])
    assert registry.task("hello").plugin == "hello"
