"""The engine's database tools in the lab: ``engine-psql.sh``, ``engine-vacuum.sh`` and
``dwh-vacuum.sh``, with the real options, output lines and exit codes.

Each is installed at its real path in the engine sysroot as a short ``#!<this Python>``
script calling its implementation in :mod:`opsrunner_lab.tools`. Python rather than bash: the
secret handling (a 0600 pgpass file in a private folder, removed in ``finally``; the password
never in argv or an environment variable) and the getopts parsing are typed, linted and
unit-tested with the rest of opsrunner. A script finds its sysroot from its own path, so it
runs over SSH as is.
"""

from __future__ import annotations

from pathlib import Path

from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.tools import ToolMain, tool_script
from opsrunner_lab.tools.common import DWH_VACUUM, ENGINE_PSQL, ENGINE_VACUUM
from opsrunner_lab.tools.engine_psql import main as engine_psql_main
from opsrunner_lab.tools.vacuum import dwh_main, engine_main

# install path -> the function the script there calls
ENTRY_POINTS: dict[str, ToolMain] = {
    ENGINE_PSQL: engine_psql_main,
    ENGINE_VACUUM: engine_main,
    DWH_VACUUM: dwh_main,
}


def install_db_tools(layout: LabLayout) -> list[Path]:
    """Write the tools into the engine sysroot (mode 0755); idempotent. Returns their paths."""
    sysroot = layout.sysroot(ENGINE)
    installed = []
    for relpath, function in ENTRY_POINTS.items():
        path = sysroot / relpath
        text = tool_script(relpath, function)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
        path.chmod(0o755)
        installed.append(path)
    return installed
