"""opsrunner: operations workflows for Oracle Linux Virtualization Manager (oVirt 4.5).

The public facade for plugin authors::

    from opsrunner import Task, Result, hookimpl

    @hookimpl
    def opsrunner_register_tasks(registry):
        registry.add_task(my_task)
"""

from __future__ import annotations

import pluggy

from opsrunner.errors import (
    HostConnectionError,
    HostKeyError,
    OpsrunnerError,
    PluginError,
    TaskFailed,
    UsageError,
)
from opsrunner.host import Host
from opsrunner.result import CommandResult, Result
from opsrunner.task import Task

hookimpl = pluggy.HookimplMarker("opsrunner")

__version__ = "0.1.0"

__all__ = [
    "CommandResult",
    "Host",
    "HostConnectionError",
    "HostKeyError",
    "OpsrunnerError",
    "PluginError",
    "Result",
    "Task",
    "TaskFailed",
    "UsageError",
    "__version__",
    "hookimpl",
]
