"""Import paths the lab writes into commands, scripts and messages, derived from the objects
they name: a module that moves or is renamed fails in the unit tests, not on a lab host.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType


def dotted(obj: Callable[..., object]) -> str:
    """The import path ``module.qualname`` of a function or class."""
    return f"{obj.__module__}.{obj.__qualname__}"


def sibling(module_name: str, name: str) -> str:
    """The import path of module ``name`` in the package of the module named ``module_name``
    (a ``__name__``): for a module that cannot be imported there without an import cycle."""
    package = module_name.rpartition(".")[0]
    return f"{package}.{name}" if package else name


def python_m(module: ModuleType | str) -> list[str]:
    """The command that runs ``module`` (a module, or its import path) with this Python:
    ``[sys.executable, "-m", name]``."""
    name = module if isinstance(module, str) else module.__name__
    return [sys.executable, "-m", name]
