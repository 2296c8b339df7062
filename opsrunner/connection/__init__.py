"""The connection protocol every connection type implements.

A connection belongs to one host for one run and is reused for every command and file
transfer of that run. Implementations: ``ssh`` (:mod:`opsrunner.connection.ssh`, paramiko) and
``local`` (:mod:`opsrunner.connection.local`).

Optional capability (not part of the protocol, so third-party connection types need not have
it): ``hold(command, *, sudo=False) -> HeldCommand`` starts a long-lived command whose standard
input stays open until ``HeldCommand.close()`` (the host lock of a run lives in one). Both
built-in types have it; test for it with :func:`opsrunner.connection.hold.holder_of`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from opsrunner.result import CommandResult

FETCH_CHUNK = 1 << 20  # bytes a fetch moves at a time


@dataclass(frozen=True)
class ConnectOptions:
    """Run-wide connection settings chosen on the command line."""

    accept_new_host_keys: bool = False
    connect_timeout: float = 10.0


class ByteSink(Protocol):
    """Where ``fetch`` writes: an open binary file, or anything with its ``write``."""

    def write(self, data: bytes, /) -> int: ...


@runtime_checkable
class Connection(Protocol):
    """Runs commands and moves files on one host.

    Contracts shared by every implementation:

    * ``run`` passes ``command`` to ``sh -c`` on the host. ``env`` values reach the command's
      environment without appearing in any process's argv (so ``ps`` never shows them).
      With ``sudo`` the command runs as root through ``sudo``. When ``timeout`` (seconds)
      passes, the command is killed and the result has ``rc == -1`` and a ``stderr`` saying
      so. ``stdin`` bytes are fed to the command's standard input.
    * ``put`` writes bytes to a path atomically enough for config files (temp file + rename),
      then applies ``mode`` when given; ``get`` reads a whole file; ``fetch`` copies one into a
      binary stream of the control node in chunks (for archives too large for memory).
      An existing file keeps its mode and owner unless ``mode`` is given; a new one gets 0644.
    * Every method raises :class:`opsrunner.errors.HostConnectionError` when the host cannot
      be reached, and never for a command's non-zero exit status. File errors on the host
      raise ``OSError`` (``FileNotFoundError`` for a missing file).
    """

    def run(self, command: str, *, env: Mapping[str, str] | None = None, sudo: bool = False,
            timeout: float | None = None, stdin: bytes | None = None) -> CommandResult: ...

    def put(self, data: bytes, path: str, *, mode: int | None = None, sudo: bool = False) -> None: ...

    def get(self, path: str, *, sudo: bool = False) -> bytes: ...

    def fetch(self, path: str, out: ByteSink, *, sudo: bool = False) -> None: ...

    def close(self) -> None: ...
