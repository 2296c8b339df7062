"""Build the shell line that runs a command with secret environment and optional sudo.

Environment values must never appear in a process's argv (``ps`` shows argv to every user
of the host). So the wrapper reads them from the first line of standard input: one line of
base64 text that decodes to ``export NAME='value'`` lines, which the shell evaluates with
built-ins only. The command's own standard input follows that line.
"""

from __future__ import annotations

import base64
import re
import shlex
from collections.abc import Mapping

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# $1 is the user's command; it is taken out of the positional parameters before it runs, so
# the command sees none, as under `sh -c COMMAND`.
RUN_FIRST_ARGUMENT = '__opsrunner_cmd=$1; shift; eval "$__opsrunner_cmd"'
# `read` takes exactly one line from stdin (POSIX: byte by byte on a pipe), so the rest of
# stdin stays for the command. printf and eval are shell built-ins.
_ENV_WRAPPER = (
    'IFS= read -r __opsrunner_env || exit 97; '
    'eval "$(printf %s "$__opsrunner_env" | base64 -d)" || exit 97; '
    'unset __opsrunner_env; ' + RUN_FIRST_ARGUMENT
)


def script_body(*, env: bool) -> str:
    """The shell script that runs its first argument, reading the env preamble first when
    ``env`` (the caller sends :func:`env_preamble` on stdin)."""
    return _ENV_WRAPPER if env else RUN_FIRST_ARGUMENT


def check_env_names(env: Mapping[str, str]) -> None:
    """Raise ValueError for a name that is not a valid environment variable name."""
    for name in env:
        if not _NAME.match(name):
            raise ValueError(f"invalid environment variable name {name!r}")


def env_preamble(env: Mapping[str, str]) -> bytes:
    """The stdin line that carries ``env`` to the wrapper."""
    check_env_names(env)
    script = "".join(f"export {k}={shlex.quote(str(v))}\n" for k, v in env.items())
    return base64.b64encode(script.encode()) + b"\n"


def wrap(command: str, *, env: Mapping[str, str] | None = None, sudo: bool = False) -> str:
    """The argv-safe shell line for ``command``.

    With ``env``, the caller must send :func:`env_preamble` first on stdin. With ``sudo``,
    the command runs as root through ``sudo -n`` (no password; the SSH connection answers a
    sudo password prompt itself, see :mod:`opsrunner.connection.ssh.channel`).
    """
    if env:
        inner = f"sh -c {shlex.quote(_ENV_WRAPPER)} opsrunner {shlex.quote(command)}"
    else:
        inner = f"sh -c {shlex.quote(command)}"
    if sudo:
        return f"sudo -n -- {inner}"
    return inner
