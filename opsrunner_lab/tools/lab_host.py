"""Where a lab tool installed in a host's ``bin/`` acts, and how it writes files there.

The host tools (``dnf``, ``rpm``, ``update-ca-trust``, ``hosted-engine``) are installed in
``<lab>/hosts/<name>/bin``, first on that host's PATH; each finds its host's sysroot from its
own location, so the same script runs over SSH and from a test.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from opsrunner_lab.layout import LabLayout
from opsrunner_lab.sysroot_files import ensure_dir
from opsrunner_lab.tools.common import ToolError

# The PATH of a lab host's SSH sessions after its bin/ (as opsrunner_lab.sshd sets it).
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class ToolHost:
    """The lab host a tool runs for: its name, ``bin/`` folder and sysroot."""

    name: str
    bin_dir: Path
    sysroot: Path

    def host_path(self, path: Path) -> str:
        """``path`` (inside the sysroot) as the host sees it: ``/etc/...``."""
        return "/" + path.relative_to(self.sysroot).as_posix()

    def in_sysroot(self, host_path: str) -> Path:
        """The sysroot file of the host's absolute ``host_path``."""
        return self.sysroot / host_path.lstrip("/")


def tool_host(script: str) -> ToolHost:
    """The host of a tool installed as ``<lab>/hosts/<name>/bin/<tool>`` (the file name is
    kept as is: ``yum`` is a link to ``dnf``). ToolError when it is installed elsewhere."""
    bin_dir = Path(script).absolute().parent.resolve()
    name = bin_dir.parent.name
    layout = LabLayout(bin_dir.parent.parent.parent)
    if layout.bin_dir(name) != bin_dir or not layout.sysroot(name).is_dir():
        raise ToolError(f"{script} is not installed in a lab host's bin folder "
                        f"(<lab>/hosts/<name>/bin beside a sysroot); cannot find its sysroot")
    return ToolHost(name, bin_dir, layout.sysroot(name))


def write_if_changed(path: Path, data: bytes, mode: int = 0o644) -> bool:
    """Atomically make ``path`` a regular file holding ``data`` with ``mode`` (a symlink there
    is replaced); missing parents are made 0755. False (and nothing touched) when it already
    holds ``data``."""
    if not path.is_symlink() and path.is_file() and path.read_bytes() == data:
        return False
    ensure_dir(path.parent)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return True
