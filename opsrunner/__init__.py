"""opsrunner: operations workflows for Oracle Linux Virtualization Manager (oVirt 4.5).

The public facade: everything a plugin needs is importable from here, and only from here
(internal module paths may move between releases). Names load on first use, so importing
``opsrunner`` costs nothing before a command needs them. The task contract and a complete
plugin are in :mod:`opsrunner.hookspecs`::

    from opsrunner import Registry, Result, Task, hookimpl

    @hookimpl
    def opsrunner_register_tasks(registry: Registry) -> None:
        registry.add_task(my_task)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsrunner.connection import Connection, ConnectOptions
    from opsrunner.connection.remote_shell import check_env_names
    from opsrunner.engine import EngineSession
    from opsrunner.engine.wait import FAILURE_STATUSES, GONE, enum_text, status_value
    from opsrunner.errors import (
        EngineCheckModeError,
        EngineError,
        EngineTimeout,
        HostConnectionError,
        HostKeyError,
        OpsrunnerError,
        PluginError,
        TaskFailed,
        TemplateError,
        UsageError,
    )
    from opsrunner.hookspecs import hookimpl
    from opsrunner.host import Host
    from opsrunner.registry import Registry
    from opsrunner.result import CommandResult, Result
    from opsrunner.secrets import is_secret_ref, read_secret
    from opsrunner.task import Task
    from opsrunner.taskspec import Idempotence
    from opsrunner.templating import evaluate, render_text

# public name -> the module that defines it
_HOMES = {
    "ConnectOptions": "opsrunner.connection", "Connection": "opsrunner.connection",
    "check_env_names": "opsrunner.connection.remote_shell",
    "EngineSession": "opsrunner.engine",
    "FAILURE_STATUSES": "opsrunner.engine.wait", "GONE": "opsrunner.engine.wait",
    "enum_text": "opsrunner.engine.wait", "status_value": "opsrunner.engine.wait",
    **{name: "opsrunner.errors" for name in (
        "EngineCheckModeError", "EngineError", "EngineTimeout", "HostConnectionError",
        "HostKeyError", "OpsrunnerError", "PluginError", "TaskFailed", "TemplateError",
        "UsageError")},
    "hookimpl": "opsrunner.hookspecs",
    "Host": "opsrunner.host",
    "Registry": "opsrunner.registry",
    "CommandResult": "opsrunner.result", "Result": "opsrunner.result",
    "is_secret_ref": "opsrunner.secrets", "read_secret": "opsrunner.secrets",
    "Task": "opsrunner.task",
    "Idempotence": "opsrunner.taskspec",
    "evaluate": "opsrunner.templating", "render_text": "opsrunner.templating",
}

__all__ = [
    "FAILURE_STATUSES",
    "GONE",
    "CommandResult",
    "ConnectOptions",
    "Connection",
    "EngineCheckModeError",
    "EngineError",
    "EngineSession",
    "EngineTimeout",
    "Host",
    "HostConnectionError",
    "HostKeyError",
    "Idempotence",
    "OpsrunnerError",
    "PluginError",
    "Registry",
    "Result",
    "Task",
    "TaskFailed",
    "TemplateError",
    "UsageError",
    "__version__",
    "check_env_names",
    "enum_text",
    "evaluate",
    "hookimpl",
    "is_secret_ref",
    "read_secret",
    "render_text",
    "status_value",
]


def __getattr__(name: str) -> Any:
    """Import a facade name's module on first use (PEP 562) and keep the value."""
    if name == "__version__":
        from importlib.metadata import version

        value: Any = version("opsrunner")
    elif name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
    else:
        raise AttributeError(f"module 'opsrunner' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
