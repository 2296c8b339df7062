"""File transfer helpers of the ssh connection: SFTP staging and the sudo shell helpers.

A staged file is always written inside a new 0700 folder, so that no other user can open
it while it is incomplete or before its final mode is set.
"""

from __future__ import annotations

import contextlib
import errno
import posixpath
import secrets
from collections.abc import Iterator

import paramiko

MISSING = 66  # exit status of the sudo file helpers for "no such file or folder"
SUDO_GET = 'if [ ! -e "$OPSRUNNER_PATH" ]; then exit 66; fi; exec cat -- "$OPSRUNNER_PATH"'
SUDO_PUT = """set -e
dst=$OPSRUNNER_PATH; dir=$(dirname -- "$dst")
[ -d "$dir" ] || exit 66
tmp="$dir/.$(basename -- "$dst").opsrunner-$$"
trap 'rm -f -- "$tmp"' EXIT
cp -- "$OPSRUNNER_SOURCE" "$tmp"
if [ -e "$dst" ]; then
  chown --reference="$dst" -- "$tmp"; chmod --reference="$dst" -- "$tmp"
else
  chmod 0644 -- "$tmp"
fi
[ -z "$OPSRUNNER_MODE" ] || chmod -- "$OPSRUNNER_MODE" "$tmp"
mv -f -- "$tmp" "$dst"
trap - EXIT"""


def sftp_put(sftp: paramiko.SFTPClient, data: bytes, path: str, mode: int | None) -> None:
    """Stage beside ``path``, copy the old owner and mode (or apply ``mode``; new: 0644),
    then rename into place."""
    try:
        old: paramiko.SFTPAttributes | None = sftp.stat(path)
    except FileNotFoundError:
        old = None
    with staged_privately(sftp, data, posixpath.dirname(path) or ".") as staged:
        if old is not None and old.st_uid is not None and old.st_gid is not None:
            new = sftp.stat(staged)
            if (new.st_uid, new.st_gid) != (old.st_uid, old.st_gid):
                sftp.chown(staged, old.st_uid, old.st_gid)
        if mode is None:
            mode = (old.st_mode or 0o644) & 0o7777 if old is not None else 0o644
        sftp.chmod(staged, mode)
        sftp.posix_rename(staged, path)


@contextlib.contextmanager
def staged_privately(sftp: paramiko.SFTPClient, data: bytes, parent: str) -> Iterator[str]:
    """Write ``data`` to a file in a new 0700 folder in ``parent``; yield the file's path;
    remove what is left of both afterwards."""
    folder = f"{parent.rstrip('/')}/.opsrunner-{secrets.token_hex(8)}"
    try:
        sftp.mkdir(folder, 0o700)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "no such folder", parent) from None
    staged = f"{folder}/data"
    try:
        with sftp.open(staged, "wxb") as fh:
            fh.write(data)
        yield staged
    finally:
        with contextlib.suppress(OSError):
            sftp.remove(staged)  # gone already when it was renamed into place
        with contextlib.suppress(OSError):
            sftp.rmdir(folder)


def sudo_put_env(path: str, staged: str, mode: int | None) -> dict[str, str]:
    """The environment :data:`SUDO_PUT` reads."""
    return {"OPSRUNNER_PATH": path, "OPSRUNNER_SOURCE": staged,
            "OPSRUNNER_MODE": "" if mode is None else f"0{mode:o}"}


def check_sudo_helper(rc: int, stderr: str, path: str) -> None:
    """Turn a failed :data:`SUDO_GET` / :data:`SUDO_PUT` into the matching ``OSError``."""
    if rc == 0:
        return
    if rc == MISSING:
        raise FileNotFoundError(errno.ENOENT, "no such file or folder", path)
    message = stderr.strip() or f"exit status {rc}"
    if message.startswith("sudo:"):
        raise PermissionError(errno.EACCES, message, path)
    raise OSError(errno.EIO, message, path)
