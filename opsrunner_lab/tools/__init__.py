"""The lab's OLVM command-line tools (``engine-backup``, ``dnf``, ``engine-vacuum.sh``, ...).

Each is installed on a lab host as a short ``#!<this Python>`` script (:func:`tool_script`)
calling its implementation here as ``function(__file__, sys.argv[1:])``; the installers are
:mod:`opsrunner_lab.db_tools`, :mod:`opsrunner_lab.engine_tools` and
:mod:`opsrunner_lab.host_tools`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

# A tool's implementation: (the script's path, its arguments) -> its exit status.
ToolMain = Callable[[str, list[str]], int]


def tool_script(relpath: str, function: ToolMain) -> str:
    """The script text installed at ``relpath`` that exits with ``function``'s status (its
    import path is the function's own ``__module__`` and ``__name__``)."""
    name = Path(relpath).name
    module = function.__module__
    return (f"#!{sys.executable}\n"
            f"# {name} of the opsrunner lab (written by `opsrunner lab up`): {module}\n"
            f"import sys\n\n"
            f"from {module} import {function.__name__}\n\n"
            f"sys.exit({function.__name__}(__file__, sys.argv[1:]))\n")
