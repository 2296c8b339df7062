"""What the lab's engine database tools share: their install paths, finding the sysroot from
the script's own path, and ``FATAL:`` errors as the oVirt scripts print them."""

from __future__ import annotations

import sys
from pathlib import Path

from opsrunner.errors import OpsrunnerError

ENGINE_PSQL = "usr/share/ovirt-engine/dbscripts/engine-psql.sh"
ENGINE_VACUUM = "usr/share/ovirt-engine/bin/engine-vacuum.sh"
DWH_VACUUM = "usr/share/ovirt-engine-dwh/bin/dwh-vacuum.sh"


class ToolError(OpsrunnerError):
    """A tool gives up: it prints ``FATAL: <message>`` on stderr and exits 1."""


def sysroot_of(script: str, relpath: str) -> Path:
    """The sysroot of a tool installed at ``<sysroot>/<relpath>`` (symlinks resolved, as
    ``readlink -f "$0"`` does in the real scripts)."""
    path = Path(script).resolve()
    parts = Path(relpath).parts
    if path.parts[-len(parts):] != parts:
        raise ToolError(f"{path} is not installed as <sysroot>/{relpath}; cannot find its "
                        f"sysroot")
    return Path(*path.parts[:-len(parts)])


def fatal(message: str) -> int:
    """Print ``FATAL: message`` on stderr; return the exit status 1."""
    sys.stdout.flush()
    print(f"FATAL: {message}", file=sys.stderr)
    return 1
