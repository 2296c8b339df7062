"""``engine-vacuum.sh`` and ``dwh-vacuum.sh``: the real ``vacuumdb`` with the real options.

getopts ``aAft:v``: ``-a`` analyze (vacuumdb ``-z``), ``-A`` analyze only (``-Z``), ``-f``
full (``-f``), ``-t TABLE`` (repeatable, ``-t``), ``-v`` verbose (``-v -e``); ``-h`` or an
unknown option prints the usage and exits 0; ``-A`` with ``-f`` fails with
``FATAL: Can not mix -A and -f, use only one of them`` (exit 1). Runs
``vacuumdb [flags] -h HOST -p PORT -U USER -d DB -w`` with a pgpass file and exits with
vacuumdb's status.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from opsrunner.errors import OpsrunnerError
from opsrunner_lab.engine_db import (
    DWH_DB,
    ENGINE_DB,
    DbConfError,
    DbProduct,
    pg_bin,
    pgpass_env,
    read_db_conf,
)
from opsrunner_lab.tools.common import DWH_VACUUM, ENGINE_VACUUM, ToolError, fatal, sysroot_of

MIXED_PARAMS = "Can not mix -A and -f, use only one of them"
USAGE = """Usage {script}:

    -a          - vacuum, then analyze (update the optimizer statistics)
    -A          - analyze only (update the optimizer statistics, no vacuum)
    -f          - full vacuum (rewrite the tables, give the space back)
    -t          - vacuum this table only (repeatable: -t TABLE)
    -v          - verbose output

    -h --help   - this help message
"""
REMOTE_HINT = """If the errors say 'permission denied for schema pg_temp_NN' (temporary schemas
left behind), drop those schemas as the database administrator on the database host, then run
the vacuum again."""


@dataclass
class VacuumOptions:
    analyze: bool = False
    analyze_only: bool = False
    full: bool = False
    verbose: bool = False
    tables: list[str] = field(default_factory=list)

    def vacuumdb_flags(self) -> list[str]:
        flags = ["-z"] if self.analyze else []
        flags += ["-Z"] if self.analyze_only else []
        flags += ["-f"] if self.full else []
        flags += ["-v", "-e"] if self.verbose else []
        return flags + [arg for table in self.tables for arg in ("-t", table)]


def getopts(spec: str, args: Sequence[str]) -> Iterator[tuple[str, str]]:
    """Options as the shell's silent ``getopts ":<spec>"`` reads them: (letter, argument),
    ("?", letter) for an unknown option, (":", letter) for a missing argument. Stops at the
    first operand, ``-`` or ``--``."""
    index = 0
    while index < len(args) and args[index].startswith("-") and args[index] != "-":
        word = args[index]
        index += 1
        if word == "--":
            return
        position = 1
        while position < len(word):
            letter = word[position]
            position += 1
            at = spec.find(letter)
            if at < 0 or letter == ":":
                yield "?", letter
            elif spec[at + 1:at + 2] != ":":
                yield letter, ""
            elif position < len(word):
                yield letter, word[position:]
                break
            elif index < len(args):
                yield letter, args[index]
                index += 1
                break
            else:
                yield ":", letter


def parse_options(args: Sequence[str]) -> VacuumOptions | None:
    """The options, or None when the usage was asked for. ToolError as the real script."""
    options = VacuumOptions()
    for letter, value in getopts("aAft:v", args):
        if letter == "a":
            options.analyze = True
        elif letter == "A":
            options.analyze, options.analyze_only = False, True
            if options.full:
                raise ToolError(MIXED_PARAMS)
        elif letter == "f":
            options.full = True
            if options.analyze_only:
                raise ToolError(MIXED_PARAMS)
        elif letter == "t":
            options.tables.append(value)
        elif letter == "v":
            options.verbose = True
        elif letter == ":":
            raise ToolError(f"-{value} requires an argument")
        else:
            return None
    return options


def engine_main(script: str, args: list[str]) -> int:
    """``engine-vacuum.sh``: vacuum the engine database."""
    return vacuum_main(ENGINE_DB, ENGINE_VACUUM, script, args)


def dwh_main(script: str, args: list[str]) -> int:
    """``dwh-vacuum.sh``: vacuum the DWH (ovirt_engine_history) database."""
    return vacuum_main(DWH_DB, DWH_VACUUM, script, args)


def vacuum_main(product: DbProduct, relpath: str, script: str, args: list[str]) -> int:
    """Run vacuumdb on ``product``'s database; vacuumdb's status, or 1 on a FATAL error."""
    try:
        sysroot = sysroot_of(script, relpath)
        try:
            conf = read_db_conf(sysroot, product)
        except DbConfError:
            raise ToolError("Can't parse the connection details") from None
        options = parse_options(args)
        if options is None:
            print(USAGE.format(script=script), end="")
            return 0
        argv = [pg_bin("vacuumdb"), *options.vacuumdb_flags(), "-h", conf.host,
                "-p", str(conf.port), "-U", conf.user, "-d", conf.database, "-w"]
    except OpsrunnerError as exc:
        return fatal(str(exc))
    sys.stdout.flush()
    secrets = pgpass_env([conf]) if conf.password else contextlib.nullcontext(dict(os.environ))
    with secrets as env:
        status = subprocess.run(argv, env=env, check=False).returncode
    if status != 0 and options.full and conf.host != "localhost":
        print(REMOTE_HINT)
    return status
