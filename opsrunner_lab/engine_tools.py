"""Install the engine's maintenance tools into the engine host's ``bin/``.

``engine-backup``, ``engine-cleanup`` and ``engine-setup`` live in ``/usr/bin`` on a real
engine; the lab puts them in ``<lab>/hosts/engine/bin``, which is first on the engine's PATH
in SSH sessions. Each is a short ``#!<this Python>`` script calling its implementation in
:mod:`opsrunner_lab.tools`; it finds its lab from its own path (see ``tools.engine_host``).
"""

from __future__ import annotations

from pathlib import Path

from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.tools import ToolMain, tool_script
from opsrunner_lab.tools.engine_backup import main as engine_backup_main
from opsrunner_lab.tools.engine_cleanup import main as engine_cleanup_main
from opsrunner_lab.tools.engine_setup import main as engine_setup_main

# tool name -> the function its script calls
ENGINE_TOOLS: dict[str, ToolMain] = {
    "engine-backup": engine_backup_main,
    "engine-cleanup": engine_cleanup_main,
    "engine-setup": engine_setup_main,
}


def install_engine_tools(layout: LabLayout) -> list[Path]:
    """Write the tools (mode 0755) into the engine's bin folder; idempotent. Their paths."""
    folder = layout.bin_dir(ENGINE)
    folder.mkdir(parents=True, exist_ok=True)
    installed = []
    for name, function in ENGINE_TOOLS.items():
        path = folder / name
        text = tool_script(f"usr/bin/{name}", function)
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
        path.chmod(0o755)
        installed.append(path)
    return installed
