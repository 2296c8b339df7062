"""Report files named on the command line (``--junit``, ``--html``): checked before the run
changes anything, and written whole or not at all.

:func:`check_output_file` proves the file can be created: its folder exists, is a folder, and
takes a new file (a probe file is created there and removed, so a read-only mount, ``/proc``
or a full disk is found out too). :func:`write_output_file` writes through a temporary file in
the same folder renamed over the target, so a reader never sees half a report and a failed
write leaves an earlier report in place.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from opsrunner.errors import UsageError


def check_output_file(path: str | Path, option: str) -> Path:
    """``path`` as a Path once a file can be written there; UsageError naming ``option``
    (``"--junit"``) and what is wrong otherwise."""
    target = Path(path)
    where = f"{option} {path}"
    if target.is_dir():
        raise UsageError(f"{where}: is a folder; give a file name")
    folder = target.parent
    if not folder.exists():
        raise UsageError(f"{where}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise UsageError(f"{where}: {folder} is not a folder")
    if target.exists() and not target.is_file():
        raise UsageError(f"{where}: is not a regular file")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=folder)
    except OSError as exc:
        raise UsageError(f"{where}: cannot create a file in {folder}: "
                         f"{exc.strerror or exc}") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return target


def write_output_file(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (mode 0644, or the old file's mode);
    OSError when it cannot, with the old file untouched."""
    target = Path(path)
    mode = 0o644
    with contextlib.suppress(OSError):
        mode = target.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
