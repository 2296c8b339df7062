"""The engine's database tools in the lab: ``engine-psql.sh``, ``engine-vacuum.sh`` and
``dwh-vacuum.sh``, with the real options, output lines and exit codes.

Each is installed at its real path in the engine sysroot as a short ``#!<this Python>``
script calling its implementation here. Python rather than bash: the secret handling (a 0600
pgpass file in a private folder, removed in ``finally``; the password never in argv or an
environment variable) and the getopts parsing are typed, linted and unit-tested with the rest
of opsrunner. A script finds its sysroot from its own path, so it runs over SSH as is.
"""

from __future__ import annotations

import sys
from pathlib import Path

from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.tools.common import DWH_VACUUM, ENGINE_PSQL, ENGINE_VACUUM

# install path -> (module, function called as function(__file__, sys.argv[1:]))
ENTRY_POINTS = {
    ENGINE_PSQL: ("opsrunner_lab.tools.engine_psql", "main"),
    ENGINE_VACUUM: ("opsrunner_lab.tools.vacuum", "engine_main"),
    DWH_VACUUM: ("opsrunner_lab.tools.vacuum", "dwh_main"),
}


def install_db_tools(layout: LabLayout) -> list[Path]:
    """Write the tools into the engine sysroot (mode 0755); idempotent. Returns their paths."""
    sysroot = layout.sysroot(ENGINE)
    installed = []
    for relpath, (module, function) in ENTRY_POINTS.items():
        path = sysroot / relpath
        text = tool_script(relpath, module, function)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
        path.chmod(0o755)
        installed.append(path)
    return installed


def tool_script(relpath: str, module: str, function: str) -> str:
    """The script text installed at ``relpath``."""
    name = Path(relpath).name
    return (f"#!{sys.executable}\n"
            f"# {name} of the opsrunner lab (written by `opsrunner lab up`): {module}\n"
            f"import sys\n\n"
            f"from {module} import {function}\n\n"
            f"sys.exit({function}(__file__, sys.argv[1:]))\n")
