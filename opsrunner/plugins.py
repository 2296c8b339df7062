"""The plugin manager: loads plugins, checks their hooks, fills a Registry, relays run events.

Plugins come from the ``opsrunner`` entry-point group (first-party ones included, so they
load exactly like third-party ones), from ``--plugin-dir`` folders (every ``*.py`` file in
them but those whose name starts with ``_``: helpers the plugin files import), and from
objects passed in by code. ``OPSRUNNER_DISABLE_PLUGINS=name,...`` blocks entry-point plugins
by name.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

import pluggy

from opsrunner import hookspecs
from opsrunner.errors import OpsrunnerError, PluginError, UsageError
from opsrunner.registry import Registry

ENTRY_POINT_GROUP = "opsrunner"
DISABLE_ENV = "OPSRUNNER_DISABLE_PLUGINS"


def disabled_plugins() -> set[str]:
    """Names listed in ``OPSRUNNER_DISABLE_PLUGINS``."""
    return {n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}


class PluginManager:
    """pluggy's manager with opsrunner's loading rules."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.NAME)
        self.pm.add_hookspecs(hookspecs)

    @property
    def hook(self) -> pluggy.HookRelay:
        """The hook relay: ``manager.hook.opsrunner_run_started(...)`` calls every plugin."""
        return self.pm.hook

    def load_entry_points(self) -> None:
        """Import and register every entry point of the ``opsrunner`` group not disabled."""
        blocked = disabled_plugins()
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in blocked or self.pm.is_blocked(ep.name):
                self.pm.set_blocked(ep.name)
                continue
            if self.pm.get_plugin(ep.name) is not None:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                dist = f" (from {ep.dist.name})" if ep.dist else ""
                raise PluginError(
                    f"plugin {ep.name!r}{dist} failed to load from {ep.value}: "
                    f"{type(exc).__name__}: {exc}; set {DISABLE_ENV}={ep.name} to skip it") from exc
            self.register(plugin, ep.name)

    def load_plugin_dir(self, folder: str | Path) -> None:
        """Register every ``*.py`` module of ``folder`` as a plugin named after its file.

        Files whose name starts with ``_`` are helpers, not plugins: the folder is put on
        ``sys.path`` so plugin files can ``import _helpers``. A folder without any plugin
        file is an error that says so.
        """
        path = Path(folder)
        if not path.is_dir():
            raise UsageError(f"plugin folder {str(path)!r} does not exist or is not a folder")
        files = sorted(path.glob("*.py"))
        plugins = [f for f in files if not f.name.startswith("_")]
        if not plugins:
            helpers = f" (only helpers: {', '.join(f.name for f in files)})" if files else ""
            raise UsageError(f"plugin folder {str(path)!r} holds no plugin{helpers}: every *.py "
                             "file is loaded as a plugin except those starting with '_', "
                             "which are helpers the plugin files import")
        for file in files:  # importing a FIFO would block for ever
            if not file.is_file():
                raise UsageError(f"plugin file {file} is not a regular file; the *.py files of "
                                 "a plugin folder are Python source files")
        if str(path.resolve()) not in sys.path:
            sys.path.insert(0, str(path.resolve()))
        for file in plugins:
            name = f"opsrunner_local_{file.stem}"
            self.register(_import_file(name, file), file.stem)

    def register(self, plugin: object, name: str) -> None:
        """Register ``plugin`` under ``name``; hook signature mistakes name the plugin."""
        try:
            self.pm.register(plugin, name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {name!r} is invalid: {exc}") from exc

    def check_pending(self) -> None:
        """Fail on ``opsrunner_*`` hook implementations that match no hookspec (misspelt)."""
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            name = self.pm.get_name(exc.plugin) or repr(exc.plugin)
            raise PluginError(f"plugin {name!r}: {exc}") from exc

    def build_registry(self) -> Registry:
        """Call every registration hook, plugin by plugin, into a fresh Registry."""
        self.check_pending()
        registry = Registry()
        hooks = (self.pm.hook.opsrunner_register_connections,
                 self.pm.hook.opsrunner_register_inventory_sources,
                 self.pm.hook.opsrunner_register_tasks)
        for hook in hooks:
            for impl in hook.get_hookimpls():  # registration order
                registry.current_plugin = impl.plugin_name
                try:
                    impl.function(registry)
                except OpsrunnerError:
                    raise
                except Exception as exc:
                    raise PluginError(f"plugin {impl.plugin_name!r} failed in {hook.name}: "
                                      f"{type(exc).__name__}: {exc}") from exc
        registry.current_plugin = ""
        return registry


def _import_file(module_name: str, file: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise PluginError(f"plugin file {file} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise PluginError(f"plugin file {file} failed to load: {type(exc).__name__}: {exc}") from exc
    return module


def load_plugins(plugin_dirs: Iterable[str | Path] = (),
                 extra: Iterable[object] = ()) -> tuple[PluginManager, Registry]:
    """The usual way in: entry points, plugin folders, extra plugin objects -> the manager
    (for the run-event hooks) and the Registry its plugins filled."""
    manager = PluginManager()
    manager.load_entry_points()
    for folder in plugin_dirs:
        manager.load_plugin_dir(folder)
    for i, plugin in enumerate(extra):
        manager.register(plugin, getattr(plugin, "__name__", f"extra{i}"))
    return manager, manager.build_registry()


def load_registry(plugin_dirs: Iterable[str | Path] = (), extra: Iterable[object] = ()) -> Registry:
    """:func:`load_plugins`, for callers that need only the Registry."""
    return load_plugins(plugin_dirs, extra)[1]
