"""``engine-psql.sh``: the real ``psql`` as the engine's database user, logged.

Connects with the ``ENGINE_DB_*`` settings of the engine's conf files (the password through a
temporary pgpass file), passes every argument to psql, prints psql's stdout and stderr, and
appends the command, the ``-f`` file's content and the output to
``/var/log/ovirt-engine/db-manual/<YYYYmmddHHMMSS>-engine-psql.log``. Like the real script it
exits 0 even when psql fails (the log's ``result:`` line has psql's status).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from opsrunner.errors import OpsrunnerError
from opsrunner_lab.engine_db import ENGINE_DB, pg_bin, pgpass_env, read_db_conf
from opsrunner_lab.tools.common import ENGINE_PSQL, ToolError, fatal, sysroot_of

LOG_DIR = "var/log/ovirt-engine/db-manual"


class ManualLog:
    """The db-manual log of one run: ``<date> : <message>`` lines and raw output."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def line(self, message: str) -> None:
        stamp = time.strftime("%a %b %e %H:%M:%S %Z %Y")
        self.raw(f"{stamp} : {message}\n".encode())

    def raw(self, data: bytes) -> None:
        with self.path.open("ab") as out:
            out.write(data)


def main(script: str, args: list[str]) -> int:
    """Run psql with ``args``; 0 whatever psql did, 1 on a FATAL error before it ran."""
    try:
        return _run(script, args)
    except OpsrunnerError as exc:
        return fatal(str(exc))


def scan_args(args: Sequence[str]) -> tuple[str | None, bool]:
    """The ``-f``/``--file``/``--file=`` file (the last one) and whether help was asked."""
    sql_file = None
    index = 0
    while index < len(args):
        word = args[index]
        index += 1
        if word.startswith("--file="):
            sql_file = word.removeprefix("--file=")
        elif word in ("-f", "--file"):
            sql_file = args[index] if index < len(args) else ""
            index += 1
        elif word in ("-help", "--help"):
            return sql_file, True
    return sql_file, False


def _run(script: str, args: list[str]) -> int:
    sysroot = sysroot_of(script, ENGINE_PSQL)
    sql_file, wants_help = scan_args(args)
    if wants_help:
        done = subprocess.run([pg_bin("psql"), "--help"], capture_output=True, text=True,
                              check=False)
        print(done.stdout.replace("psql", Path(script).name), end="")
        return 0
    conf = read_db_conf(sysroot, ENGINE_DB)
    folder = sysroot / LOG_DIR
    folder.mkdir(parents=True, exist_ok=True)
    log = ManualLog(folder / f"{time.strftime('%Y%m%d%H%M%S')}-engine-psql.log")
    log.line(f"Executing command : {script} {' '.join(args)}")
    if sql_file is not None:
        try:
            content = Path(sql_file).read_bytes()
        except OSError:
            raise ToolError(f"{sql_file} is unreadable.") from None
        log.line("file content is:")
        log.raw(content)
    log.line("Output:")
    argv = [pg_bin("psql"), "-w", "-U", conf.user, "-h", conf.host, "-p", str(conf.port),
            "-d", conf.database, *args]
    with pgpass_env([conf]) as env:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        assert proc.stdout is not None
        while chunk := os.read(proc.stdout.fileno(), 65536):
            sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            log.raw(chunk)
        status = proc.wait()
    log.line(f"result: {status}")
    return 0
