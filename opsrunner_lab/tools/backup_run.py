"""One run of the lab's ``engine-backup``: its options, engine host, log file and temp folder.

Output lines go to stdout and, as ``OUTPUT: <line>``, to the log; every log line starts with
the date and the process id, as the real tool writes them. Failures raise ToolError; the
message is the tool's ``FATAL:`` line.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from opsrunner_lab.engine_db import DWH_DB, ENGINE_DB, DbConf, DbConfError, DbProduct, read_db_conf
from opsrunner_lab.layout import ENGINE, LabLayout
from opsrunner_lab.shell_conf import ShellConfError, conf_dir_files, read_shell_confs
from opsrunner_lab.sysroot_files import fqdn
from opsrunner_lab.tools.backup_options import BackupOptions
from opsrunner_lab.tools.common import ToolError


class BackupLog:
    """The ``--log`` file: ``YYYY-mm-dd HH:MM:SS PID: message`` lines and raw tool output."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def line(self, message: str) -> None:
        self.raw(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {os.getpid()}: {message}\n")

    def raw(self, text: str) -> None:
        with self.path.open("a") as out:
            out.write(text)


@dataclass
class BackupRun:
    """What every step of a run needs. ``prog`` is how the tool was called (``$0``)."""

    options: BackupOptions
    layout: LabLayout
    log: BackupLog
    temp: Path
    prog: str

    @property
    def sysroot(self) -> Path:
        return self.layout.sysroot(ENGINE)

    def output(self, message: str) -> None:
        """Print ``message`` and log it as ``OUTPUT: message``."""
        print(message, flush=True)
        self.log.line(f"OUTPUT: {message}")

    def db_conf(self, product: DbProduct) -> DbConf | None:
        """``product``'s database settings from the engine's conf files, or None when the
        product is not set up (no conf file or no user, as after engine-cleanup)."""
        if not conf_dir_files(self.sysroot / product.conf_dir):
            return None
        try:
            return read_db_conf(self.sysroot, product)
        except DbConfError as exc:
            self.log.line(f"{product.prefix}_DB_* settings not usable: {exc}")
            return None

    def engine_conf(self) -> DbConf | None:
        return self.db_conf(ENGINE_DB)

    def dwh_conf(self) -> DbConf | None:
        return self.db_conf(DWH_DB)

    def engine_fqdn(self) -> str:
        """``ENGINE_FQDN`` of the engine's conf files, else the lab engine's name."""
        try:
            values = read_shell_confs(conf_dir_files(self.sysroot / ENGINE_DB.conf_dir))
        except ShellConfError:
            values = {}
        return values.get("ENGINE_FQDN") or fqdn(ENGINE)


def error_line(stderr: str) -> str:
    """The line of a client's stderr that says what went wrong: the first one with
    ``error:`` (libpq's details such as "password retrieved from file" follow it), else the
    last non-blank line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if "error:" in line.lower():
            return line
    return lines[-1] if lines else "(no error output)"


def fail(message: str, *, cause: str = "") -> ToolError:
    """A ToolError with the real tool's ``message`` and, when known, its cause."""
    return ToolError(f"{message}: {cause}" if cause else message)
